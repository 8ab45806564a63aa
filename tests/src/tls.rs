//! FTPS for the end-to-end tests (ftps.rs): self-signed certificates made
//! with the `openssl` CLI, daemons that serve them, the TLS clients pointed
//! at them (tests/py/ftps_client.py, curl, lftp, rclone) and raw sockets
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
    assert_bytes_eq, clients, free_port, need_program, run_bounded, wait_until, Ctrl, Daemon,
    Options, Rng, Run, TempDir,
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
    let listen = format!("127.0.0.1:{tls_port}");
    let d = tls_daemon(cert, write, &["--listen-tls", &listen]);
    assert!(
        wait_until(Duration::from_secs(5), || TcpStream::connect((
            "127.0.0.1",
            tls_port
        ))
        .is_ok()),
        "nothing listens on --listen-tls {listen}; stderr:\n{}",
        d.stderr()
    );
    (d, tls_port)
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

/// Files as (name, bytes).
pub type Files = Vec<(String, Vec<u8>)>;

/// Few-MB random files for the Python transfers, in `local/up`.
pub fn upload_set(local: &TempDir, seed: u64) -> Files {
    for sub in ["up", "down"] {
        fs::create_dir(local.join(sub)).unwrap();
    }
    let mut rng = Rng::new(seed);
    let mut files = Vec::new();
    for size in [0usize, 1, 100_000, (3 << 20) + 4321] {
        let name = format!("{}-{size}.bin", rng.name(8));
        let body = rng.bytes(size);
        fs::write(local.join("up").join(&name), &body).unwrap();
        files.push((name, body));
    }
    files
}

/// Each of `files` is in the daemon's root and in `local/down`, whole, and
/// the root holds nothing else.
pub fn assert_transferred(d: &Daemon, local: &TempDir, files: &[(String, Vec<u8>)]) {
    for (name, body) in files {
        let on_disk = fs::read(d.root().join(name)).unwrap();
        assert_bytes_eq(&format!("{name} stored over TLS"), &on_disk, body);
        let down = fs::read(local.join("down").join(name)).unwrap();
        assert_bytes_eq(&format!("{name} retrieved over TLS"), &down, body);
    }
    let mut want: Vec<String> = files.iter().map(|f| f.0.clone()).collect();
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

/// A start-up error must name the file it is about.
#[track_caller]
pub fn assert_names(stderr: &str, file: &Path) {
    let shown = file.display().to_string();
    assert!(
        stderr.contains(&shown),
        "the error must name {shown}: {stderr}"
    );
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
