//! FTPS for the end-to-end tests (ftps.rs): self-signed certificates made
//! with the `openssl` CLI, daemons that serve them (and start-ups that must
//! fail), the TLS clients pointed at them (tests/py/ftps_client.py with the
//! checks of what its scenarios moved; curl, lftp, rclone) and raw sockets
//! for hostile clients.
//!
//! Certificates are made per test for `localhost` and `127.0.0.1` (SAN),
//! and the clients verify them against that very file, host name checks on
//! (rclone is the exception: its FTP backend takes no CA file).

use std::fs;
use std::io::{self, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{
    assert_bytes_eq, clients, free_port, need_program, run_bounded, start_fails, wait_until, Ctrl,
    Daemon, Options, Rng, Run, TempDir,
};

// ---------------------------------------------------------------------------
// Certificates and daemons
// ---------------------------------------------------------------------------

/// The key types the spec names.
#[derive(Clone, Copy, Debug)]
pub enum KeyType {
    EcP256,
    Rsa2048,
    Ed25519,
}

/// A self-signed certificate and its key, in their own folder (removed on
/// drop: declare it before the daemon that reads it).
pub struct Cert {
    pub dir: TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Cert {
    /// A certificate for `CN=<cn>`, SAN `DNS:localhost, IP:127.0.0.1`, valid
    /// two days. `None` when `openssl` is missing (and not under CI).
    pub fn make(kind: KeyType, cn: &str) -> Option<Cert> {
        if !need_program("openssl") {
            return None;
        }
        let dir = TempDir::new("cert");
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        let mut cmd = Command::new("openssl");
        cmd.args(["req", "-x509", "-newkey"]);
        match kind {
            KeyType::EcP256 => cmd.args(["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
            KeyType::Rsa2048 => cmd.arg("rsa:2048"),
            KeyType::Ed25519 => cmd.arg("ed25519"),
        };
        cmd.args(["-nodes", "-days", "2", "-subj", &format!("/CN={cn}")])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert);
        let run = run_bounded(&mut cmd, b"", Duration::from_secs(60));
        assert!(
            run.success() && cert.is_file() && key.is_file(),
            "openssl req ({kind:?}) failed ({}): {}",
            run.status,
            run.stderr
        );
        Some(Cert { dir, cert, key })
    }

    /// The certificate in DER, as a TLS peer sees it.
    pub fn der(&self) -> Vec<u8> {
        let run = run_bounded(
            Command::new("openssl")
                .args(["x509", "-outform", "DER", "-in"])
                .arg(&self.cert),
            b"",
            Duration::from_secs(30),
        );
        assert!(run.success(), "openssl x509 -outform DER: {}", run.stderr);
        run.stdout
    }
}

/// The first test-wide certificate: ECDSA P-256, `CN=localhost`.
pub fn cert() -> Option<Cert> {
    Cert::make(KeyType::EcP256, "localhost")
}

/// `--tls-cert`/`--tls-key` options, then `extra`.
pub fn tls_opts(cert: &Path, key: &Path, write: bool, extra: &[&str]) -> Options {
    let mut all = vec![
        "--tls-cert".to_string(),
        cert.display().to_string(),
        "--tls-key".to_string(),
        key.display().to_string(),
    ];
    all.extend(extra.iter().map(|s| s.to_string()));
    Options {
        write,
        extra: all,
        ..Options::default()
    }
}

/// A daemon with FTPS on (`cert` must outlive it).
pub fn tls_daemon(cert: &Cert, write: bool, extra: &[&str]) -> Daemon {
    Daemon::with(tls_opts(&cert.cert, &cert.key, write, extra))
}

/// A daemon with FTPS on and an implicit listener; returns it and that
/// listener's port.
pub fn implicit_daemon(cert: &Cert, write: bool) -> (Daemon, u16) {
    let tls_port = free_port();
    let d = tls_daemon(
        cert,
        write,
        &["--listen-tls", &format!("127.0.0.1:{tls_port}")],
    );
    assert_listening(&d, tls_port);
    (d, tls_port)
}

/// Waits (bounded) until `d` accepts on its `--listen-tls` port `port`.
pub fn assert_listening(d: &Daemon, port: u16) {
    assert!(
        wait_until(Duration::from_secs(5), || TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()),
        "nothing listens on --listen-tls 127.0.0.1:{port}; stderr:\n{}",
        d.stderr()
    );
}

/// The daemon, given `--tls-cert cert --tls-key key`, must refuse to start
/// (see [`start_fails`]) with an error that names `named`.
#[track_caller]
pub fn assert_start_fails_naming(cert: &Path, key: &Path, named: &Path) {
    let err = start_fails(&[Path::new("--tls-cert"), cert, Path::new("--tls-key"), key]);
    let shown = named.display().to_string();
    assert!(err.contains(&shown), "the error must name {shown}: {err}");
}

// ---------------------------------------------------------------------------
// tests/py/ftps_client.py
// ---------------------------------------------------------------------------

/// Runs tests/py/ftps_client.py; does not judge the outcome.
pub fn ftps_py_run(port: u16, scenario: &str, mode: &str, local: &Path, cafile: &Path) -> Run {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("py/ftps_client.py");
    run_bounded(
        Command::new("python3")
            .arg(&script)
            .arg("127.0.0.1")
            .arg(port.to_string())
            .arg(scenario)
            .arg(mode)
            .arg(local)
            .arg(cafile),
        b"",
        clients::CLIENT_LIMIT,
    )
}

/// Runs tests/py/ftps_client.py and asserts it succeeded.
pub fn ftps_py(port: u16, scenario: &str, mode: &str, local: &Path, cafile: &Path) {
    let out = ftps_py_run(port, scenario, mode, local, cafile);
    assert!(
        out.success(),
        "ftps_client.py {scenario} {mode} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        out.stderr
    );
}

/// [`ftps_py`] against `d`'s explicit listener, from a fresh local folder,
/// for the scenarios that check what they do themselves.
pub fn ftps_scenario(d: &Daemon, cert: &Cert, scenario: &str, mode: &str) {
    let local = TempDir::new("ftps");
    ftps_py(d.port, scenario, mode, local.path(), &cert.cert);
}

/// Files as (name, bytes).
pub type Files = Vec<(String, Vec<u8>)>;

/// Few-MB random files for the Python transfers: empty, one byte, 100 kB
/// and 3 MiB, under random names.
pub fn upload_set(seed: u64) -> Files {
    let mut rng = Rng::new(seed);
    let mut files = Vec::new();
    for size in [0usize, 1, 100_000, (3 << 20) + 4321] {
        let name = format!("{}-{size}.bin", rng.name(8));
        files.push((name, rng.bytes(size)));
    }
    files
}

/// A local folder for an upload scenario: `up/` holds `files`, `down/` is
/// where a scenario that fetches them again puts them.
pub fn uploads_folder(files: &[(String, Vec<u8>)]) -> TempDir {
    let local = TempDir::new("ftps");
    for sub in ["up", "down"] {
        fs::create_dir(local.join(sub)).unwrap();
    }
    for (name, body) in files {
        fs::write(local.join("up").join(name), body).unwrap();
    }
    local
}

/// `scenario` (passive) uploads every one of `files` from its `up/` folder
/// to a fresh writable FTPS daemon: each must arrive whole.
pub fn assert_uploads_arrive(scenario: &str, files: &[(String, Vec<u8>)]) {
    upload_scenario(scenario, "passive", files, |_, _| {});
}

/// `scenario` (in `mode`) uploads [`upload_set`]`(seed)` to a fresh
/// writable FTPS daemon and downloads it again: each file must arrive whole
/// both ways, and the root hold nothing else (no temporaries).
pub fn assert_round_trip(scenario: &str, mode: &str, seed: u64) {
    let files = upload_set(seed);
    upload_scenario(scenario, mode, &files, |d, local| {
        assert_downloaded(local, &files, scenario);
        assert_holds_only(d, &files);
    });
}

/// Runs `scenario` in `mode` from an [`uploads_folder`] of `files` against
/// a fresh writable FTPS daemon, asserts the files arrived whole, then
/// hands the daemon and the local folder to `then`.
fn upload_scenario(
    scenario: &str,
    mode: &str,
    files: &[(String, Vec<u8>)],
    then: impl FnOnce(&Daemon, &Path),
) {
    let Some(cert) = cert() else { return };
    let d = tls_daemon(&cert, true, &[]);
    let local = uploads_folder(files);
    ftps_py(d.port, scenario, mode, local.path(), &cert.cert);
    assert_uploaded(&d, files, scenario);
    then(&d, local.path());
}

/// `files` are put in `d`'s root and named in the local `expect/` folder;
/// `scenario` (passive, at `port`) fetches each into `down/`, where it must
/// arrive whole.
pub fn assert_downloads_arrive(
    d: &Daemon,
    port: u16,
    cert: &Cert,
    scenario: &str,
    files: &[(String, Vec<u8>)],
) {
    let local = TempDir::new("ftps");
    for sub in ["expect", "down"] {
        fs::create_dir(local.join(sub)).unwrap();
    }
    for (name, body) in files {
        d.put(name, body);
        fs::write(local.join("expect").join(name), b"").unwrap();
    }
    ftps_py(port, scenario, "passive", local.path(), &cert.cert);
    assert_downloaded(local.path(), files, scenario);
}

/// Each of `files` is in `d`'s root, whole.
pub fn assert_uploaded(d: &Daemon, files: &[(String, Vec<u8>)], how: &str) {
    for (name, body) in files {
        let on_disk = fs::read(d.root().join(name)).unwrap();
        assert_bytes_eq(&format!("{name} stored ({how})"), &on_disk, body);
    }
}

/// Each of `files` is in `local/down`, whole.
pub fn assert_downloaded(local: &Path, files: &[(String, Vec<u8>)], how: &str) {
    for (name, body) in files {
        let down = fs::read(local.join("down").join(name)).unwrap();
        assert_bytes_eq(&format!("{name} retrieved ({how})"), &down, body);
    }
}

/// `d`'s root holds the uploaded `files` and nothing else (no temporaries).
pub fn assert_holds_only<'a>(d: &Daemon, files: impl IntoIterator<Item = &'a (String, Vec<u8>)>) {
    let mut want: Vec<&str> = files.into_iter().map(|f| f.0.as_str()).collect();
    want.sort();
    assert_eq!(d.names(""), want, "only the uploaded files, no temporaries");
}

/// The certificate (DER) a new session's `AUTH TLS` gets, verified against
/// `cafile`.
pub fn peer_cert(port: u16, cafile: &Path) -> Result<Vec<u8>, String> {
    let local = TempDir::new("peer");
    let run = ftps_py_run(port, "peercert", "passive", local.path(), cafile);
    if !run.success() {
        return Err(run.stderr);
    }
    Ok(fs::read(local.join("peer.der")).expect("peer.der"))
}

// ---------------------------------------------------------------------------
// curl, lftp and rclone
// ---------------------------------------------------------------------------

/// curl with `--cacert` (verification on) and `-v` (the dialogue goes to
/// stderr); does not judge the outcome.
pub fn curl_tls(cert: &Cert, args: &[&str]) -> Run {
    let out = run_bounded(
        Command::new("curl")
            .args(["-s", "-S", "-v", "--max-time", "60", "--cacert"])
            .arg(&cert.cert)
            .args(args),
        b"",
        Duration::from_secs(90),
    );
    eprintln!("curl {args:?} -> {}", out.status);
    out
}

/// [`curl_tls`], which must succeed.
pub fn curl_tls_ok(cert: &Cert, args: &[&str]) -> Run {
    let out = curl_tls(cert, args);
    assert!(
        out.success(),
        "curl {args:?} failed ({}):\n{}",
        out.status,
        out.stderr
    );
    out
}

/// curl uploads `body` with `args` then `-T file url`, where `url` ends in
/// `/up.bin`; it must succeed and `up.bin` arrive whole in `d`'s root.
pub fn curl_tls_upload(cert: &Cert, d: &Daemon, args: &[&str], url: &str, body: &[u8]) -> Run {
    let local = TempDir::new("curl");
    let up = local.join("up.bin");
    fs::write(&up, body).unwrap();
    let up = up.display().to_string();
    let run = curl_tls_ok(cert, &[args, &["-T", &up, url]].concat());
    assert_bytes_eq(
        &format!("curl {args:?} -T {url}"),
        &fs::read(d.root().join("up.bin")).unwrap(),
        body,
    );
    run
}

/// curl's `-v` log shows PBSZ/PROT P were accepted and the data connection
/// had its own TLS handshake.
pub fn assert_curl_protected(run: &Run) {
    let log = &run.stderr;
    assert!(
        log.contains("> PBSZ 0") && log.contains("< 200 PBSZ=0"),
        "curl did not get 200 PBSZ=0:\n{log}"
    );
    assert!(log.contains("> PROT P"), "curl did not send PROT P:\n{log}");
    let handshakes = log.matches("SSL connection using").count();
    assert!(
        handshakes >= 2,
        "curl shows {handshakes} TLS handshake(s); the data connection needs its own:\n{log}"
    );
}

/// [`clients::lftp`] over explicit FTPS, data protected, `cert` verified.
pub fn lftp_tls(cert: &Cert, port: u16, script: &str) -> Run {
    // lftp (GnuTLS) verifies the self-signed certificate against
    // ssl:ca-file, host name included: GnuTLS matches the IP address
    // 127.0.0.1 against the certificate's IP SAN.
    let settings = format!(
        "set ftp:ssl-force true; set ftp:ssl-protect-data true; \
         set ssl:ca-file {}; set ssl:verify-certificate yes;",
        cert.cert.display()
    );
    clients::lftp(port, &settings, script)
}

/// [`clients::rclone`] over explicit FTPS; `REMOTE:` in `args` stands for
/// the daemon's root.
pub fn rclone_tls(port: u16, conf_dir: &Path, args: &[String]) -> Run {
    // rclone's FTP backend has no CA-file option: no_check_certificate.
    let remote = format!(
        ":ftp,host=127.0.0.1,port={port},user=anonymous,pass={},explicit_tls=true,no_check_certificate=true:",
        clients::rclone_obscured("x")
    );
    let args: Vec<String> = args.iter().map(|a| a.replace("REMOTE:", &remote)).collect();
    clients::rclone(conf_dir, &[], &args)
}

// ---------------------------------------------------------------------------
// Raw sockets
// ---------------------------------------------------------------------------

/// Reads until the peer closes (EOF or reset). `Ok(bytes)` if it closed
/// within `within`, `Err(bytes)` if it was still open then.
pub fn read_until_closed(s: &TcpStream, within: Duration) -> Result<Vec<u8>, Vec<u8>> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let mut s = s;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(got);
        }
        s.set_read_timeout(Some(left.min(Duration::from_millis(200))))
            .unwrap();
        match s.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                assert!(got.len() < 1 << 20, "endless bytes from the daemon");
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(got),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("reading a closing connection: {e}"),
        }
    }
}

/// The daemon must close `s` within 10 s, sending at most a TLS alert
/// (see [`assert_alert_or_nothing`]); `what` the client did, for failures.
#[track_caller]
pub fn assert_dropped(s: &TcpStream, what: &str) {
    let got = read_until_closed(s, Duration::from_secs(10))
        .unwrap_or_else(|got| panic!("{what}: still open 10 s later; got {got:?}"));
    assert_alert_or_nothing(&got, what);
}

/// After `234` the daemon may answer a broken handshake with a TLS alert
/// record, but never with a plaintext FTP reply.
#[track_caller]
pub fn assert_alert_or_nothing(got: &[u8], what: &str) {
    assert!(
        got.is_empty() || (got[0] == 0x15 && got.get(1) == Some(&0x03)),
        "{what}: the daemon sent {:?}, not a TLS alert (or nothing)",
        String::from_utf8_lossy(&got[..got.len().min(200)])
    );
}

/// A fresh connection that got `234` for `AUTH TLS`.
pub fn after_234(d: &Daemon) -> Ctrl {
    let mut c = d.connect();
    c.cmd_ok("AUTH TLS", 234);
    c
}

/// The start of a TLS 1.2/1.3 ClientHello: a record header announcing 512
/// bytes, the handshake header and the first fields.
pub fn half_client_hello() -> Vec<u8> {
    let mut v = vec![
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    v.extend(Rng::new(77).bytes(32)); // random
    v.push(32); // legacy session id
    v.extend(Rng::new(78).bytes(32));
    v.extend([0x00, 0x06, 0x13, 0x01, 0x13, 0x02, 0xc0, 0x2b]); // suites
    v
}

/// Wait (bounded) until the daemon holds no more descriptors than `fds`.
pub fn assert_fds_back_to(d: &Daemon, fds: usize) {
    assert!(
        wait_until(Duration::from_secs(10), || d.fd_count() <= fds),
        "the daemon holds {} descriptors, {fds} before the hostile clients",
        d.fd_count()
    );
}
