//! The daemon driven by curl: passive (EPSV and PASV), active (EPRT and
//! PORT), upload, resume both ways, listings and quote commands.

use pocketftpd_tests::*;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn curl(args: &[&str]) -> Run {
    let out = run_bounded(
        Command::new("curl")
            .args(["-s", "-S", "--max-time", "60"])
            .args(args),
        b"",
        Duration::from_secs(90),
    );
    eprintln!("curl {args:?} -> {}\nstderr: {}", out.status, out.stderr);
    out
}

fn curl_ok(args: &[&str]) -> Vec<u8> {
    let out = curl(args);
    assert!(
        out.status.success(),
        "curl {args:?} failed ({}): {}",
        out.status,
        out.stderr
    );
    out.stdout
}

fn url(d: &Daemon, path: &str) -> String {
    format!("ftp://127.0.0.1:{}/{path}", d.port)
}

fn download_with(flags: &[&str], seed: u64) {
    let d = Daemon::start();
    let mut rng = Rng::new(seed);
    let bytes = rng.bytes((1 << 20) + 777);
    let name = format!("{}.bin", rng.name(12));
    d.put(&format!("dir/{name}"), &bytes);
    let u = url(&d, &format!("dir/{name}"));
    let mut args: Vec<&str> = flags.to_vec();
    args.push(&u);
    let got = curl_ok(&args);
    assert_bytes_eq(&format!("curl {flags:?}"), &got, &bytes);
    // An empty file too.
    d.put("empty", b"");
    let u = url(&d, "empty");
    let mut args: Vec<&str> = flags.to_vec();
    args.push(&u);
    assert!(curl_ok(&args).is_empty());
}

#[test]
fn download_passive_epsv() {
    download_with(&[], 21);
}

#[test]
fn download_passive_pasv() {
    download_with(&["--disable-epsv"], 22);
}

#[test]
fn download_active_eprt() {
    download_with(&["-P", "-"], 23);
}

#[test]
fn download_active_port() {
    download_with(&["--disable-eprt", "-P", "-"], 24);
}

#[test]
fn download_missing_file_fails() {
    let d = Daemon::start();
    let out = curl(&[&url(&d, "missing.bin")]);
    // curl: 78 = remote file not found (550 on RETR / SIZE).
    assert_eq!(out.status.code(), Some(78), "{out:?}");
}

fn upload_with(flags: &[&str], seed: u64) {
    let d = Daemon::start_write();
    let mut rng = Rng::new(seed);
    let bytes = rng.bytes((2 << 20) + 99);
    let local = d.scratch().join("up.bin");
    fs::write(&local, &bytes).unwrap();
    let l = local.to_str().unwrap();
    let u = url(&d, "uploaded.bin");
    let mut args: Vec<&str> = flags.to_vec();
    args.extend(["-T", l, &u]);
    curl_ok(&args);
    assert_bytes_eq(
        "uploaded",
        &fs::read(d.root().join("uploaded.bin")).unwrap(),
        &bytes,
    );
    assert_eq!(d.names(""), ["uploaded.bin"]);
    // Into a new folder.
    let u = url(&d, "new/folder/x.bin");
    let mut args: Vec<&str> = flags.to_vec();
    args.extend(["--ftp-create-dirs", "-T", l, &u]);
    curl_ok(&args);
    assert_bytes_eq(
        "uploaded into new folders",
        &fs::read(d.root().join("new/folder/x.bin")).unwrap(),
        &bytes,
    );
}

#[test]
fn upload_passive() {
    upload_with(&[], 31);
}

#[test]
fn upload_active() {
    upload_with(&["-P", "-"], 32);
}

#[test]
fn upload_read_only_is_refused() {
    let d = Daemon::start();
    let local = d.scratch().join("up.bin");
    fs::write(&local, b"data").unwrap();
    let out = curl(&["-T", local.to_str().unwrap(), &url(&d, "x.bin")]);
    // curl: 25 = upload failed (the STOR was refused).
    assert_eq!(out.status.code(), Some(25), "{out:?}");
    assert!(out.stderr.contains("550"), "{}", out.stderr);
    assert!(d.names("").is_empty(), "{:?}", d.names(""));
}

#[test]
fn resume_download() {
    let d = Daemon::start();
    let mut rng = Rng::new(41);
    let bytes = rng.bytes(1_500_000);
    d.put("r.bin", &bytes);
    let part = d.scratch().join("r.part");
    fs::write(&part, &bytes[..600_000]).unwrap();
    curl_ok(&["-C", "-", "-o", part.to_str().unwrap(), &url(&d, "r.bin")]);
    assert_bytes_eq("resumed download", &fs::read(&part).unwrap(), &bytes);
}

#[test]
fn resume_upload() {
    let d = Daemon::start_write();
    let mut rng = Rng::new(42);
    let bytes = rng.bytes(1_500_000);
    d.put("u.bin", &bytes[..700_001]);
    let local = d.scratch().join("u.bin");
    fs::write(&local, &bytes).unwrap();
    curl_ok(&["-C", "-", "-T", local.to_str().unwrap(), &url(&d, "u.bin")]);
    assert_bytes_eq(
        "resumed upload",
        &fs::read(d.root().join("u.bin")).unwrap(),
        &bytes,
    );
}

#[test]
fn list_only_and_list() {
    let d = Daemon::start();
    d.put("a.txt", b"a");
    d.put("b c.txt", b"bc");
    fs::create_dir(d.root().join("sub")).unwrap();
    let names = String::from_utf8(curl_ok(&["--list-only", &url(&d, "")])).unwrap();
    let mut names: Vec<&str> = names.lines().map(|l| l.trim_end_matches('\r')).collect();
    names.sort();
    assert_eq!(names, ["a.txt", "b c.txt", "sub"]);
    let list = String::from_utf8(curl_ok(&[&url(&d, "")])).unwrap();
    let lines: Vec<&str> = list.lines().filter(|l| !l.starts_with("total")).collect();
    assert_eq!(lines.len(), 3, "{list:?}");
    for l in lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        assert!(f.len() >= 9, "{l:?}");
        assert!(f[1].parse::<u32>().is_ok(), "link count column: {l:?}");
    }
}

#[test]
fn quote_rename_and_delete() {
    let d = Daemon::start_write();
    d.put("q.txt", b"quoted");
    d.put("gone.txt", b"bye");
    curl_ok(&[
        "-Q",
        "RNFR q.txt",
        "-Q",
        "RNTO r.txt",
        "-Q",
        "DELE gone.txt",
        "-Q",
        "MKD made",
        "--list-only",
        &url(&d, ""),
    ]);
    assert_eq!(d.names(""), ["made", "r.txt"]);
    assert!(d.root().join("made").is_dir());
    assert_eq!(fs::read(d.root().join("r.txt")).unwrap(), b"quoted");
    // A quote command that fails makes curl fail (exit 21: quote error).
    let out = curl(&["-Q", "DELE missing.txt", &url(&d, "")]);
    assert_eq!(out.status.code(), Some(21), "{out:?}");
}

#[test]
fn utf8_name_round_trip() {
    let d = Daemon::start_write();
    let local = d.scratch().join("u.txt");
    fs::write(&local, "ünïcødé body").unwrap();
    // curl sends the URL path percent-decoded.
    let u = url(&d, "%C3%BCn%C3%AFc%C3%B8d%C3%A9.txt");
    curl_ok(&["-T", local.to_str().unwrap(), &u]);
    assert!(
        Path::new(&d.root().join("ünïcødé.txt")).is_file(),
        "{:?}",
        d.names("")
    );
    assert_eq!(curl_ok(&[&u]), "ünïcødé body".as_bytes());
}

#[test]
fn byte_ranges() {
    let d = Daemon::start();
    let bytes = Rng::new(29).bytes(300_000);
    d.put("r.bin", &bytes);
    // curl sends REST, then closes the data connection once it has the range.
    assert_bytes_eq(
        "-r 100-199",
        &curl_ok(&["-r", "100-199", &url(&d, "r.bin")]),
        &bytes[100..200],
    );
    assert_bytes_eq(
        "-r 299000-",
        &curl_ok(&["-r", "299000-", &url(&d, "r.bin")]),
        &bytes[299_000..],
    );
    let mut d = d;
    d.assert_alive();
}
