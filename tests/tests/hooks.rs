//! Upload hooks (issue 27): `--on-upload` runs a real shell script that
//! writes what it got (argv and its whole environment) to a file, and
//! `--on-upload-url` POSTs to a real HTTP(S) endpoint
//! (`tests/py/webhook_server.py`, recording each request, failing the
//! first N).

use pocketftpd_tests::tls::Cert;
use pocketftpd_tests::*;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Writes an executable shell script.
fn script(path: &Path, body: &str) {
    fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// What a run of the recording hook saw: argv[1] and its environment.
struct Seen {
    arg: String,
    env: BTreeMap<String, String>,
}

/// The recording hook's files in `out`, once there are `n` (bounded wait).
fn seen(out: &Path, n: usize) -> Vec<Seen> {
    let files = || -> Vec<PathBuf> {
        let mut files: Vec<_> = fs::read_dir(out)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "env"))
            .collect();
        files.sort();
        files
    };
    assert!(
        wait_until(Duration::from_secs(10), || files().len() >= n),
        "{} hook runs recorded, {n} expected",
        files().len()
    );
    files()
        .iter()
        .map(|file| {
            let raw = fs::read(file).unwrap();
            let mut fields = raw
                .split(|&b| b == 0)
                .map(|f| String::from_utf8_lossy(f).into_owned());
            let arg = fields.next().unwrap();
            let env = fields
                .filter_map(|f| f.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
                .collect();
            Seen { arg, env }
        })
        .collect()
}

fn assert_logged(d: &Daemon, want: &str) {
    assert!(
        wait_until(Duration::from_secs(10), || d.stderr().contains(want)),
        "no log line contains {want:?}; stderr:\n{}",
        d.stderr()
    );
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn completed_uploads_run_the_hook_with_the_event_as_data() {
    let dir = TempDir::new("hook");
    let (hook, out) = (dir.join("hook"), dir.join("out"));
    fs::create_dir(&out).unwrap();
    // argv[1] and every variable, NUL-separated: names may hold anything.
    script(
        &hook,
        &format!(
            "f={out}/$(date +%s%N).$$\nprintf '%s\\0' \"$1\" > \"$f.tmp\"\nenv -0 >> \"$f.tmp\"\nmv \"$f.tmp\" \"$f.env\"\n",
            out = out.display()
        ),
    );
    // FTP cannot carry a newline in a name (CR and LF end the command,
    // and RFC 959's NUL for it is refused), but the served folder's own
    // name can hold one: it reaches the hook in POCKETFTPD_PATH.
    let root = dir.join("served\n$(touch pwned) folder");
    fs::create_dir(&root).unwrap();
    let d = Daemon::with(Options {
        write: true,
        extra: strings(&["--on-upload", hook.to_str().unwrap()]),
        env: vec![("DAEMON_SECRET".to_owned(), "not for hooks".to_owned())],
        root: Some(root),
        ..Options::default()
    });
    let mut c = d.login();
    let hostile = "a \"q\" 'p' $(touch pwned) `touch pwned2`; x\ty.txt";
    c.upload(&format!("STOR {hostile}"), b"12345");
    let runs = seen(&out, 1);
    c.upload("APPE plain.txt", b"abc");
    seen(&out, 2);
    c.upload("STOU", b"unique!");
    let runs: Vec<Seen> = runs
        .into_iter()
        .chain(seen(&out, 3).into_iter().skip(1))
        .collect();
    let root = fs::canonicalize(d.root()).unwrap();
    let want = [
        (format!("/{hostile}"), "5", "upload"),
        ("/plain.txt".to_owned(), "3", "append"),
    ];
    for (run, (path, size, kind)) in runs.iter().zip(&want) {
        assert_eq!(&run.arg, path);
        let env = |k: &str| run.env.get(k).map(String::as_str);
        assert_eq!(env("POCKETFTPD_VIRTUAL_PATH"), Some(path.as_str()));
        let real = root.join(&path[1..]);
        assert_eq!(env("POCKETFTPD_PATH"), real.to_str());
        assert_eq!(env("POCKETFTPD_SIZE"), Some(*size));
        assert_eq!(env("POCKETFTPD_KIND"), Some(*kind));
        assert_eq!(env("POCKETFTPD_USER"), Some("anonymous"));
        assert_eq!(env("POCKETFTPD_CLIENT_IP"), Some("127.0.0.1"));
        assert_eq!(env("POCKETFTPD_TLS"), Some("no"));
    }
    let unique = &runs[2];
    assert_eq!(
        unique.env.get("POCKETFTPD_KIND").map(String::as_str),
        Some("unique")
    );
    assert!(d.root().join(&unique.arg[1..]).is_file(), "{}", unique.arg);
    // A clean environment: the event, PATH, and what sh itself sets.
    for run in &runs {
        for key in run.env.keys() {
            let allowed = key.starts_with("POCKETFTPD_")
                || ["PATH", "PWD", "SHLVL", "_"].contains(&key.as_str());
            assert!(allowed, "the hook got {key}");
        }
    }
    assert!(!d.root().join("pwned").exists() && !d.root().join("pwned2").exists());
    assert!(!dir.join("pwned").exists() && !out.join("pwned").exists());
    assert_logged(&d, "upload hook for /plain.txt: exit status 0");
}

#[test]
fn failing_and_hanging_hooks_are_logged_and_killed() {
    let dir = TempDir::new("hook-bad");
    let hook = dir.join("hook");
    let marker = dir.join("survived");
    // A hang forks a child that would outlive it: the group is killed.
    script(
        &hook,
        &format!(
            "case \"$1\" in\n*hang*) (sleep 3; touch {marker}) & sleep 30 ;;\n\
             *) echo \"it broke: $1\" >&2; echo second line >&2; exit 3 ;;\nesac\n",
            marker = marker.display()
        ),
    );
    let mut d = Daemon::with(Options {
        write: true,
        extra: strings(&["--on-upload", hook.to_str().unwrap(), "--hook-timeout", "1"]),
        ..Options::default()
    });
    let mut c = d.login();
    c.upload("STOR hang.bin", b"x");
    c.upload("STOR fail.bin", b"y");
    // The hang does not hold up the other hook (two workers) nor the loop.
    assert_logged(
        &d,
        "upload hook for /fail.bin: exit status 3: it broke: /fail.bin",
    );
    c.cmd_ok("NOOP", 200);
    assert_logged(&d, "upload hook for /hang.bin: killed after 1s");
    std::thread::sleep(Duration::from_secs(3));
    assert!(!marker.exists(), "the hook's own child outlived the kill");
    assert!(!d.stderr().contains("second line"));
    d.assert_alive();
}

#[test]
fn a_missing_or_unexecutable_hook_stops_start_up() {
    let err = start_fails(&["--on-upload", "/nonexistent/hook"]);
    assert!(err.contains("on-upload: /nonexistent/hook"), "{err}");
    let dir = TempDir::new("hook-mode");
    let hook = dir.join("hook");
    fs::write(&hook, "#!/bin/sh\n").unwrap();
    let err = start_fails(&["--on-upload", hook.to_str().unwrap()]);
    assert!(err.contains("is not an executable file"), "{err}");
    let err = start_fails(&["--on-upload-url", "ftp://example.org/"]);
    assert!(err.contains("on-upload-url"), "{err}");
}

/// `tests/py/webhook_server.py`, killed (by its pid) on drop.
struct Endpoint {
    child: Child,
    port: u16,
    record: PathBuf,
    _dir: TempDir,
}

impl Endpoint {
    /// Fails the first `fail` requests (`"2"`: with a 500; `"2:cut"`: with
    /// a response cut short), then answers 200.
    fn start(fail: &str, tls: Option<&Cert>) -> Endpoint {
        let dir = TempDir::new("webhook");
        let (port_file, record) = (dir.join("port"), dir.join("record"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("py/webhook_server.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script).arg(&port_file).arg(&record).arg(fail);
        if let Some(cert) = tls {
            cmd.arg(&cert.cert).arg(&cert.key);
        }
        let child = cmd.stdin(Stdio::null()).spawn().expect("python3");
        assert!(wait_until(Duration::from_secs(10), || port_file.exists()));
        let port = fs::read_to_string(&port_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        Endpoint {
            child,
            port,
            record,
            _dir: dir,
        }
    }

    /// The requests recorded, once there are `n` (bounded wait).
    fn requests(&self, n: usize) -> Vec<String> {
        let lines = || fs::read_to_string(&self.record).unwrap_or_default();
        assert!(
            wait_until(Duration::from_secs(20), || lines().lines().count() >= n),
            "requests: {:?}",
            lines()
        );
        lines().lines().map(str::to_owned).collect()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_webhook_posts_each_upload_retrying_after_failures() {
    let endpoint = Endpoint::start("2", None);
    let dir = TempDir::new("webhook-header");
    let header = dir.join("header");
    fs::write(&header, "Authorization: Bearer s3cret\n").unwrap();
    let url = format!("http://127.0.0.1:{}/hook?x=1", endpoint.port);
    let d = Daemon::with(Options {
        write: true,
        extra: strings(&[
            "--on-upload-url",
            &url,
            "--on-upload-header-file",
            header.to_str().unwrap(),
        ]),
        ..Options::default()
    });
    let mut c = d.login();
    c.upload("STOR \"cam\" 1.jpg", b"jpeg!");
    // Two 500s, then after 1 s and 2 s of backoff, the 200.
    let requests = endpoint.requests(3);
    assert_eq!(requests.len(), 3, "{requests:?}");
    for request in &requests {
        assert!(request.contains(r#""path": "/hook?x=1""#), "{request}");
        assert!(
            request.contains(r#""authorization": "Bearer s3cret""#),
            "{request}"
        );
        assert!(
            request.contains(r#""content-type": "application/json""#),
            "{request}"
        );
        assert!(
            request.contains(r#"\"path\":\"/\\\"cam\\\" 1.jpg\",\"size\":5,\"user\":\"anonymous\",\"client\":\"127.0.0.1\""#),
            "{request}"
        );
    }
    assert!(requests[2].contains(r#""status": 200"#));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(endpoint.requests(3).len(), 3, "sent again after its 200");
}

/// A self-signed certificate for `localhost` that is no CA: webpki refuses
/// a CA's certificate as a server's (`CaUsedAsEndEntity`), and `openssl
/// req -x509` makes one unless told.
fn leaf_cert() -> Option<Cert> {
    if !need_program("openssl") {
        return None;
    }
    let dir = TempDir::new("leaf-cert");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let run = run_bounded(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
        b"",
        Duration::from_secs(60),
    );
    assert!(run.success(), "openssl req: {}", run.stderr);
    Some(Cert { dir, cert, key })
}

#[test]
fn the_webhook_speaks_https_with_a_given_ca() {
    let Some(cert) = leaf_cert() else { return };
    let endpoint = Endpoint::start("0", Some(&cert));
    let url = format!("https://localhost:{}/up", endpoint.port);
    let d = Daemon::with(Options {
        write: true,
        extra: strings(&[
            "--on-upload-url",
            &url,
            "--on-upload-ca",
            cert.cert.to_str().unwrap(),
        ]),
        ..Options::default()
    });
    let mut c = d.login();
    c.upload("STOR over-tls.txt", b"secret");
    let requests = endpoint.requests(1);
    assert!(
        requests[0].contains(r#"\"path\":\"/over-tls.txt\""#),
        "{requests:?}"
    );
    // The system's certificates do not vouch for this one: refused, and
    // dropped after its attempts (the first failure is enough to see).
    let d2 = Daemon::with(Options {
        write: true,
        extra: strings(&["--on-upload-url", &url, "--log-level", "debug"]),
        ..Options::default()
    });
    let mut c = d2.login();
    c.upload("STOR untrusted.txt", b"x");
    assert_logged(
        &d2,
        "webhook: event for /untrusted.txt failed (TLS: invalid peer certificate",
    );
    assert_eq!(endpoint.requests(1).len(), 1);
}

#[test]
fn a_response_cut_short_is_retried_and_a_dead_endpoint_given_up() {
    let endpoint = Endpoint::start("1:cut", None);
    let url = format!("http://127.0.0.1:{}/", endpoint.port);
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://127.0.0.1:{}/", unused.local_addr().unwrap().port());
    drop(unused);
    let d = Daemon::with(Options {
        write: true,
        extra: strings(&["--on-upload-url", &url]),
        ..Options::default()
    });
    let mut d_dead = Daemon::with(Options {
        write: true,
        extra: strings(&["--on-upload-url", &dead]),
        ..Options::default()
    });
    d.login().upload("STOR cut.txt", b"x");
    d_dead.login().upload("STOR lost.txt", b"y");
    let requests = endpoint.requests(2);
    assert!(requests[0].contains(r#""status": 500"#) && requests[1].contains(r#""status": 200"#));
    // Five attempts, 1 + 2 + 4 + 8 s apart, then one line; uploads go on.
    d_dead.login().upload("STOR meanwhile.txt", b"z");
    let gave_up = "webhook: event for /lost.txt dropped after 5 attempts: Connection refused";
    assert!(
        wait_until(Duration::from_secs(30), || d_dead
            .stderr()
            .contains(gave_up)),
        "{}",
        d_dead.stderr()
    );
    d_dead.assert_alive();
}

#[test]
fn a_broken_upload_runs_no_hook() {
    let dir = TempDir::new("hook-broken");
    let (hook, out) = (dir.join("hook"), dir.join("out"));
    fs::create_dir(&out).unwrap();
    script(
        &hook,
        &format!("printf '%s\\0' \"$1\" > {}/\"$$.env\"\n", out.display()),
    );
    let d = Daemon::with(Options {
        write: true,
        extra: strings(&["--on-upload", hook.to_str().unwrap()]),
        ..Options::default()
    });
    let mut c = d.login();
    let plan = c.pasv();
    c.send("STOR broken.bin");
    let mut data = plan.open();
    c.expect_one_of(&[125, 150]);
    std::io::Write::write_all(&mut data, &[7; 100_000]).unwrap();
    set_linger_zero(&data);
    drop(data); // a reset: the upload is broken
    c.expect_one_of(&[426, 451]);
    c.upload("STOR whole.bin", b"whole");
    let runs = seen(&out, 1);
    std::thread::sleep(Duration::from_millis(500));
    let runs_after: Vec<String> = seen(&out, 1).into_iter().map(|s| s.arg).collect();
    assert_eq!(runs_after, ["/whole.bin"], "{:?}", runs.len());
}
