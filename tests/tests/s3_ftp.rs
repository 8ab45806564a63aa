//! The daemon serving a bucket (`--storage s3://...`) of a real SeaweedFS
//! (`weed mini`), driven over FTP: what each command does to the bucket,
//! and what start-up says of a bucket it cannot serve.

use std::process::Command;
use std::time::Duration;

use pocketftpd::storage::s3::Store;
use pocketftpd_tests::tls::{cert, curl_tls_ok};
use pocketftpd_tests::*;

#[path = "shared/store.rs"]
mod store;
use store::{get, put};

#[path = "shared/admin.rs"]
mod admin;

/// How long one curl may take.
const CURL_TIMEOUT: Duration = Duration::from_secs(60);

fn serve(weed: &Weed, location: &str) -> Daemon {
    Daemon::with(serve_options(weed, location))
}

/// A daemon's options to serve `location` of `weed`, with write access.
fn serve_options(weed: &Weed, location: &str) -> Options {
    store::serve_options(&weed.s3_endpoint, location)
}

/// The bucket as the tests' own client sees it.
fn bucket(weed: &Weed, location: &str) -> Store {
    store::open(weed, WEED_SECRET, location)
}

#[test]
fn file_commands_act_on_the_bucket() {
    let Some(weed) = Weed::s3_only() else { return };
    let location = format!("s3://{WEED_BUCKET}/ftp");
    let store = bucket(&weed, &location);
    put(&store, "/a.txt", b"hello world");
    let daemon = serve(&weed, &location);
    let mut c = daemon.login();

    assert_eq!(c.cmd_ok("SIZE /a.txt", 213).text(), "11");
    c.cmd_ok("MDTM /a.txt", 213);
    c.cmd_ok("SIZE /none", 550);
    c.cmd_ok("MKD /d", 257);
    c.cmd_ok("MKD /d", 550);
    c.cmd_ok("CWD /d", 250);
    c.cmd_ok("RNFR /a.txt", 350);
    c.cmd_ok("RNTO /d/b.txt", 250);
    c.cmd_ok("SIZE /a.txt", 550);
    c.cmd_ok("SIZE b.txt", 213);
    c.cmd_ok("RMD /d", 550);
    c.cmd_ok("DELE b.txt", 250);
    c.cmd_ok("DELE b.txt", 550);
    c.cmd_ok("CWD /", 250);
    c.cmd_ok("RMD /d", 250);
    c.cmd_ok("CWD /d", 550);
    // A bucket keeps no modes or times of its own, and has no object to
    // write in place: each refusal says so (504), not "permission denied".
    put(&store, "/t.txt", b"t");
    let unsupported = "Not supported on this storage.";
    assert_eq!(c.cmd_ok("SITE CHMOD 600 /t.txt", 504).text(), unsupported);
    assert_eq!(
        c.cmd_ok("MFMT 20200101000000 /t.txt", 504).text(),
        unsupported
    );
    c.cmd_ok("TYPE I", 200);
    for (rest, command) in [
        (None, "APPE /t.txt"),
        (Some(1), "STOR /t.txt"),
        (None, "STOU"),
    ] {
        let plan = c.pasv();
        if let Some(offset) = rest {
            c.cmd_ok(&format!("REST {offset}"), 350);
        }
        c.send(command);
        let data = plan.try_open();
        assert_eq!(c.expect_one_of(&[504]).text(), unsupported, "{command}");
        drop(data);
    }
    // curl resuming an upload (SIZE, then APPE of the rest) is told so.
    let dir = TempDir::new("s3-resume");
    let local = dir.path().join("t.txt");
    std::fs::write(&local, b"tail").unwrap();
    let url = format!("ftp://127.0.0.1:{}/t.txt", daemon.port);
    let resume = run_bounded(
        Command::new("curl")
            .args(["-sS", "-C", "-", "-T"])
            .arg(&local)
            .arg(&url),
        b"",
        CURL_TIMEOUT,
    );
    assert!(
        !resume.success() && resume.stderr.contains("504"),
        "{}",
        resume.stderr
    );
    assert_eq!(get(&store, "/t.txt").as_deref(), Some(&b"t"[..]));
    c.cmd_ok("QUIT", 221);
    assert!(daemon
        .stderr()
        .contains("serving s3://photos/ftp/ at http://127.0.0.1:"));
}

/// curl's output for `url` (and `args`), bounded in time.
fn curl(args: &[&str], url: &str) -> Vec<u8> {
    let run = run_bounded(
        Command::new("curl").arg("-sS").args(args).arg(url),
        b"",
        CURL_TIMEOUT,
    );
    assert!(run.success(), "curl {args:?} {url}: {}", run.stderr);
    run.stdout
}

#[test]
fn listings_show_the_bucket_by_folder() {
    let Some(weed) = Weed::s3_only() else { return };
    let location = format!("s3://{WEED_BUCKET}/ftp");
    let store = bucket(&weed, &location);
    for (path, bytes) in [
        ("/a.txt", &b"hello"[..]),
        ("/b c.jpg", b"x"),
        ("/sub/d.txt", b"d"),
    ] {
        put(&store, path, bytes);
    }
    put(
        &bucket(&weed, &format!("s3://{WEED_BUCKET}")),
        "/outside.txt",
        b"no",
    );
    let daemon = serve(&weed, &location);
    let url = format!("ftp://127.0.0.1:{}/", daemon.port);

    let names = curl(&["--list-only"], &url);
    assert_eq!(sorted_lines(&names), ["a.txt", "b c.jpg", "sub"]);
    let long = String::from_utf8(curl(&[], &url)).unwrap();
    let file = long
        .lines()
        .find(|l| l.ends_with(" a.txt"))
        .expect("a.txt listed");
    assert!(
        file.starts_with("-rw-r--r--") && file.contains(" 5 "),
        "{long}"
    );
    let folder = long
        .lines()
        .find(|l| l.ends_with(" sub"))
        .expect("sub listed");
    assert!(folder.starts_with("drwxr-xr-x"), "{long}");
    let sub = curl(&["--list-only"], &format!("{url}sub/"));
    assert_eq!(sorted_lines(&sub), ["d.txt"]);
}

/// A folder of more keys than one ListObjectsV2 page holds (1,000), with
/// names long enough that the first page is some 150 KB: the listing reads
/// every page whole (a 64 KiB bound once failed it with a 451).
#[test]
fn listings_page_through_thousands_of_objects() {
    let Some(weed) = Weed::s3_only() else { return };
    let location = format!("s3://{WEED_BUCKET}/ftp");
    let store = bucket(&weed, &location);
    let names: Vec<String> = (0..1001)
        .map(|i| format!("photo-from-the-garden-camera-{i:05}.jpg"))
        .collect();
    for name in &names {
        put(&store, &format!("/many/{name}"), b"");
    }
    let daemon = serve(&weed, &location);
    let listed = curl(
        &["--list-only"],
        &format!("ftp://127.0.0.1:{}/many/", daemon.port),
    );
    assert_eq!(sorted_lines(&listed), names);
}

#[test]
fn downloads_stream_through_a_bounded_buffer() {
    let Some(weed) = Weed::s3_only() else { return };
    let location = format!("s3://{WEED_BUCKET}/ftp");
    let store = bucket(&weed, &location);
    // Twice and a half what a download holds at once
    // (pocketftpd::storage::s3::download::HELD).
    let object = Rng::new(7).bytes(5 << 19);
    put(&store, "/big.bin", &object);
    put(&store, "/empty", b"");
    let daemon = serve(&weed, &location);
    let url = format!("ftp://127.0.0.1:{}/", daemon.port);

    let whole = curl(&[], &format!("{url}big.bin"));
    assert_bytes_eq("RETR big.bin", &whole, &object);
    let rest = curl(&["-C", "1234567"], &format!("{url}big.bin"));
    assert_bytes_eq("REST 1234567 + RETR", &rest, &object[1_234_567..]);
    assert!(curl(&[], &format!("{url}empty")).is_empty());
    let mut c = daemon.login();
    c.cmd_ok("TYPE I", 200);
    assert_eq!(c.download("RETR big.bin"), object);
    let r = c.transfer_reply_rest(Some(99999999), "RETR big.bin");
    assert_eq!(r.code, 554, "REST past the end then RETR: {:?}", r.lines);
    let p = c.pasv();
    c.cmd_ok("RETR none", 550);
    drop(p);
}

/// Over FTPS (the download handed out through TLS records, not sent
/// from a file): whole, and from a REST offset.
#[test]
fn ftps_downloads_stream_from_the_bucket() {
    let Some(weed) = Weed::s3_only() else { return };
    let Some(cert) = cert() else { return };
    let location = format!("s3://{WEED_BUCKET}/ftp");
    let store = bucket(&weed, &location);
    let object = Rng::new(9).bytes(5 << 19);
    put(&store, "/big.bin", &object);
    let mut options = serve_options(&weed, &location);
    let tls = ["--tls-cert", "--tls-key"]
        .into_iter()
        .zip([&cert.cert, &cert.key]);
    for (name, path) in tls {
        options
            .extra
            .extend([name.to_owned(), path.display().to_string()]);
    }
    let daemon = Daemon::with(options);
    let url = format!("ftp://127.0.0.1:{}/big.bin", daemon.port);
    let whole = curl_tls_ok(&cert, &["--ssl-reqd", &url]);
    assert_bytes_eq("FTPS RETR big.bin", &whole.stdout, &object);
    let rest = curl_tls_ok(&cert, &["--ssl-reqd", "-C", "1234567", &url]);
    assert_bytes_eq("FTPS REST + RETR", &rest.stdout, &object[1_234_567..]);
}

#[test]
fn uploads_appear_whole() {
    let Some(weed) = Weed::s3_only() else { return };
    let location = format!("s3://{WEED_BUCKET}/ftp");
    let daemon = serve(&weed, &location);
    let mut c = daemon.login();
    c.cmd_ok("TYPE I", 200);

    c.upload("STOR small.txt", b"small");
    assert_eq!(c.download("RETR small.txt"), b"small");
    c.upload("STOR small.txt", b"replaced");
    assert_eq!(c.download("RETR small.txt"), b"replaced");
    // Two parts and a bit (pocketftpd::storage::s3::upload::PART_SIZE):
    // a multipart upload, whole when it appears.
    let big = Rng::new(11).bytes(17 << 20);
    c.upload("STOR big.bin", &big);
    assert_bytes_eq("STOR then RETR big.bin", &c.download("RETR big.bin"), &big);
    assert_eq!(c.cmd_ok("SIZE big.bin", 213).text(), (17 << 20).to_string());
    c.upload("STOR empty", b"");
    assert_eq!(c.cmd_ok("SIZE empty", 213).text(), "0");
    // SIZE in TYPE A would read the whole object: refused (RFC 3659 4.1).
    c.cmd_ok("TYPE A", 200);
    c.cmd_ok("SIZE small.txt", 550);
    c.cmd_ok("TYPE I", 200);
    c.cmd_ok("QUIT", 221);

    // The upload role: new names only (If-None-Match: *), old ones kept.
    let mut options = serve_options(&weed, &location);
    options.write = false;
    options
        .extra
        .extend(["--anonymous-role".into(), "upload".into()]);
    let dropbox = Daemon::with(options);
    let mut c = dropbox.login();
    c.cmd_ok("TYPE I", 200);
    c.upload("STOR new.txt", b"new");
    let p = c.pasv();
    c.send("STOR small.txt");
    let data = p.try_open();
    if let Some(mut data) = data {
        let _ = std::io::Write::write_all(&mut data, b"overwrite");
    }
    let r = c.expect_one_of(&[150, 553, 550]);
    if r.code == 150 {
        c.expect_one_of(&[553, 550, 451]);
    }
    c.cmd_ok("QUIT", 221);
    let mut check = daemon.login();
    check.cmd_ok("TYPE I", 200);
    assert_eq!(check.download("RETR small.txt"), b"replaced");
    assert_eq!(check.download("RETR new.txt"), b"new");
}

#[test]
fn start_up_refuses_a_bucket_it_cannot_serve() {
    let Some(weed) = Weed::s3_only() else { return };
    let dir = TempDir::new("s3-keys");
    let keys = |secret: &str| {
        let path = dir.path().join(format!("keys-{secret}"));
        let text =
            format!("[default]\naws_access_key_id={WEED_KEY}\naws_secret_access_key={secret}\n");
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let endpoint = weed.s3_endpoint.as_str();
    let (good, wrong) = (keys(WEED_SECRET), keys("wrong"));
    let cases: [(&[&str], &str); 4] = [
        (&["--storage", "s3://photos"], "needs --s3-endpoint"),
        (
            &[
                "--storage",
                "s3://photos",
                "--s3-endpoint",
                endpoint,
                "--s3-path-style",
            ],
            "needs AWS_ACCESS_KEY_ID",
        ),
        (
            &[
                "--storage",
                "s3://nothere",
                "--s3-endpoint",
                endpoint,
                "--s3-path-style",
                "--s3-credentials",
                &good,
            ],
            "cannot serve bucket nothere",
        ),
        (
            &[
                "--storage",
                "s3://photos",
                "--s3-endpoint",
                endpoint,
                "--s3-path-style",
                "--s3-credentials",
                &wrong,
            ],
            "access denied: check the keys",
        ),
    ];
    for (args, says) in cases {
        let stderr = start_fails(args);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// The upload hook's `POCKETFTPD_PATH` is the object's address, a form
/// `aws s3 cp`, `rclone` and `mc` take: `s3://BUCKET/KEY`.
#[test]
fn the_upload_hook_is_told_the_object() {
    let Some(weed) = Weed::s3_only() else { return };
    let dir = TempDir::new("s3-hook");
    let (hook, out) = (dir.join("hook"), dir.join("out"));
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nprintf '%s' \"$POCKETFTPD_PATH\" > {out}.tmp && mv {out}.tmp {out}\n",
            out = out.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let location = format!("s3://{WEED_BUCKET}/ftp");
    let mut options = serve_options(&weed, &location);
    options
        .extra
        .extend(["--on-upload".into(), hook.display().to_string()]);
    let daemon = Daemon::with(options);
    let mut c = daemon.login();
    c.cmd_ok("MKD /cam", 257);
    c.upload("STOR /cam/a b.jpg", b"jpeg");
    let told = wait_until(Duration::from_secs(10), || out.exists());
    assert!(told, "the hook did not run: {}", daemon.stderr());
    let path = std::fs::read_to_string(&out).unwrap();
    assert_eq!(path, "s3://photos/ftp/cam/a b.jpg");
}

/// Requests share kept-alive connections to the store: 100 small RETRs
/// (each a HEAD and a GET) open a handful of connections, not 200
/// (`pocketftpd_store_connections_total`).
#[test]
fn small_retrs_share_kept_alive_connections() {
    let Some(weed) = Weed::s3_only() else { return };
    let location = format!("s3://{WEED_BUCKET}/ftp");
    let store = bucket(&weed, &location);
    put(&store, "/small.txt", b"small");
    let admin = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut options = serve_options(&weed, &location);
    options
        .extra
        .extend(["--admin-listen".to_owned(), admin.to_string()]);
    let daemon = Daemon::with(options);
    let connections = || {
        let (status, text) = admin::get(admin, "/metrics");
        assert_eq!(status, 200);
        let line = (text.lines())
            .find_map(|l| l.strip_prefix("pocketftpd_store_connections_total "))
            .map(str::to_owned);
        line.and_then(|v| v.parse::<f64>().ok())
            .expect("the connections counter")
    };
    let before = connections();
    let mut c = daemon.login();
    c.cmd_ok("TYPE I", 200);
    for _ in 0..100 {
        assert_eq!(c.download("RETR small.txt"), b"small");
    }
    c.cmd_ok("QUIT", 221);
    let opened = connections() - before;
    eprintln!("100 RETRs of 5 bytes: {opened} connections to the store");
    assert!(opened <= 10.0, "{opened} connections for 200 requests");
}
