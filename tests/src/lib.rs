//! Helpers for the end-to-end tests: the real `pocketftpd` binary on
//! `127.0.0.1`, a fresh temporary root per test, a raw control-connection
//! client, data-connection helpers and a tiny seeded PRNG.
//!
//! Every test starts its own daemon with [`Daemon::start`]; the guard kills
//! the daemon (by its own pid) and removes the root when dropped, prints the
//! daemon's stderr if the test is failing, and fails a test whose daemon
//! exited or panicked on its own.
//!
//! Test files by topic: `commands.rs` (each command's reply), `errors.rs`
//! (every error case, broken and vanishing clients), `edges.rs` (pipelining,
//! stalls, TYPE A, symlinks, leaks, concurrency), `sessions.rs` (options,
//! users, limits, signals), `ftplib.rs` (Python's ftplib via
//! `tests/py/ftplib_client.py`), `curl.rs`, `clients.rs` (lftp, wget,
//! rclone, tnftp), `hostile.rs` (crashes, files changing under a transfer,
//! restart offsets, crowded folders), `ftps.rs` (FTPS with ftplib, curl,
//! lftp, rclone, raw sockets; `tests/py/ftps_client.py`), `modes.rs`
//! (`--umask`, `SITE CHMOD`, lftp mirroring modes both ways), `globs.rs`
//! (LIST/NLST/STAT globs, tnftp `mget`), `pressure.rs` (unread replies,
//! pipelines, killed clients, descriptors), `accounts.rs` (roles, homes),
//! `fallback.rs` (the resolver without openat2), `rates.rs`
//! (bandwidth limits, timed), `logs.rs` (the log lines an admin looks for),
//! `startup.rs` (hash-password at a terminal, command-line hints, the start
//! line, dual-stack listening).
//!
//! Environment: `POCKETFTPD_BIN` tests another binary instead of building
//! this workspace's; `POCKETFTPD_CMD` replaces the whole daemon command,
//! split on whitespace, with the daemon's options appended — for a binary
//! of another architecture under emulation, e.g.
//! `POCKETFTPD_CMD="qemu-arm -L /usr/arm-linux-gnueabihf target/armv7-unknown-linux-gnueabihf/release/pocketftpd"`
//! (it wins over `POCKETFTPD_BIN`; qemu-user runs the guest in its own
//! process, so the child's pid, signals and `/proc` entries are the
//! daemon's, though its descriptors and memory are the emulator's too; a
//! wrapper script must `exec` for the same reason). Tests that cannot hold
//! under emulation are listed, with why, in `tests/emulation-excludes`;
//! `.ci/run` prints that list and skips them only in its emulated runs (they
//! run natively in the same CI). `POCKETFTPD_SEED` replays the random bytes
//! and names; with `CI` set, a missing client program fails its test instead
//! of skipping it. Needs Linux (`/proc`, `SO_LINGER`), `python3` and `curl`.

pub mod accounts;
pub mod clients;
pub mod traversal;

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long any single read from the daemon may take before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------
// The binary
// ---------------------------------------------------------------------------

/// A `Command` that starts the daemon under test, with no options yet:
/// `POCKETFTPD_CMD` split on whitespace if set (an emulator and the binary
/// of another architecture), else [`daemon_binary`]. Every test starts the
/// daemon through this, never through the path alone.
pub fn daemon_command() -> Command {
    let argv = daemon_argv();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    cmd
}

/// The words that start the daemon, before its options: `POCKETFTPD_CMD`'s,
/// or just [`daemon_binary`]. For a test that must `exec` the daemon itself
/// (socket activation).
pub fn daemon_argv() -> Vec<std::ffi::OsString> {
    match wrapper_command() {
        Some(words) => words.iter().map(Into::into).collect(),
        None => vec![daemon_binary().into()],
    }
}

/// `POCKETFTPD_CMD`'s words, if it is set and not blank.
fn wrapper_command() -> Option<&'static [String]> {
    static WORDS: OnceLock<Vec<String>> = OnceLock::new();
    let words = WORDS.get_or_init(|| {
        std::env::var("POCKETFTPD_CMD")
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    });
    (!words.is_empty()).then_some(words.as_slice())
}

/// Is the daemon started through `POCKETFTPD_CMD` (an emulator, usually)?
/// It then starts and runs many times slower, so start-up gets longer.
pub fn wrapped() -> bool {
    wrapper_command().is_some()
}

/// The path of the native `pocketftpd` binary (unused when
/// `POCKETFTPD_CMD` is set: see [`daemon_command`]).
///
/// `POCKETFTPD_BIN` overrides it. Otherwise the binary is built once per test
/// process with `$CARGO build -p pocketftpd --bin pocketftpd` into the same
/// target folder and profile as the running test binary (cargo releases its
/// build lock before it runs tests, so this does not deadlock), and the path
/// `<target>/<profile>/pocketftpd` is returned.
pub fn daemon_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("POCKETFTPD_BIN") {
            let bin = PathBuf::from(bin);
            assert!(
                bin.is_file(),
                "POCKETFTPD_BIN={} is not a file",
                bin.display()
            );
            return bin;
        }
        build_daemon()
    })
}

fn build_daemon() -> PathBuf {
    // The test binary lives in <target>/<profile>/deps/<name>-<hash>.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary is not in <target>/<profile>/deps")
        .to_path_buf();
    let target_dir = profile_dir.parent().expect("no target dir").to_path_buf();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_string(),
        Some(other) => other.to_string(),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let status = Command::new(cargo)
        .arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .arg("--profile")
        .arg(&profile)
        .args(["-p", "pocketftpd", "--bin", "pocketftpd"])
        .stdin(Stdio::null())
        .status()
        .expect("could not run cargo to build pocketftpd");
    assert!(status.success(), "building pocketftpd failed: {status}");
    let bin = profile_dir.join(format!("pocketftpd{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "cargo built pocketftpd but {} is missing",
        bin.display()
    );
    bin
}

// ---------------------------------------------------------------------------
// Temporary folders
// ---------------------------------------------------------------------------

/// A fresh folder under the system temp dir, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!(
            "pocketftpd-e2e-{label}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        fs::create_dir(&path).expect("create temp dir");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

// ---------------------------------------------------------------------------
// The daemon guard
// ---------------------------------------------------------------------------

/// Options for one daemon.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub write: bool,
    pub data_timeout: Option<u32>,
    pub idle_timeout: Option<u32>,
    pub extra: Vec<String>,
    /// Serve this existing folder instead of a fresh one, e.g. the root of
    /// a daemon that crashed, to start another on it. The caller keeps it
    /// (and so that daemon's guard) alive.
    pub root: Option<PathBuf>,
    /// Environment variables set for the daemon (on top of the tests' own).
    pub env: Vec<(String, String)>,
}

impl Options {
    pub fn write() -> Options {
        Options {
            write: true,
            ..Options::default()
        }
    }
}

/// A running daemon with its own root (or [`Options::root`]) and port;
/// killed on drop.
pub struct Daemon {
    child: Child,
    pub port: u16,
    /// Holds `daemon.stderr` and, unless [`Options::root`] was given, the
    /// served `root/`.
    dir: TempDir,
    root: PathBuf,
    /// Set once the daemon accepted; only then is an exit a failure.
    ready: bool,
}

impl Daemon {
    /// A read-only daemon.
    pub fn start() -> Daemon {
        Daemon::with(Options::default())
    }

    /// A daemon where anonymous sessions may write.
    pub fn start_write() -> Daemon {
        Daemon::with(Options::write())
    }

    pub fn with(opts: Options) -> Daemon {
        // A port can still be taken between the check and the daemon's
        // bind; then start again on another one (bounded).
        for attempt in 1.. {
            match Daemon::try_with(&opts) {
                Ok(d) => return d,
                Err(stderr) if attempt < 5 => eprintln!("retrying start-up: {stderr}"),
                Err(stderr) => panic!("pocketftpd could not listen 5 times: {stderr}"),
            }
        }
        unreachable!()
    }

    /// Start once; `Err(stderr)` if the port was in use.
    fn try_with(opts: &Options) -> Result<Daemon, String> {
        let dir = TempDir::new("daemon");
        let root = match &opts.root {
            Some(existing) => existing.clone(),
            None => {
                let fresh = dir.join("root");
                fs::create_dir(&fresh).expect("create root");
                fresh
            }
        };
        let stderr = fs::File::create(dir.join("daemon.stderr")).expect("stderr file");
        let port = free_port();
        let mut cmd = daemon_command();
        cmd.arg("--root")
            .arg(&root)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"));
        if opts.write {
            cmd.arg("--write");
        }
        if let Some(s) = opts.data_timeout {
            cmd.arg("--data-timeout").arg(s.to_string());
        }
        if let Some(s) = opts.idle_timeout {
            cmd.arg("--idle-timeout").arg(s.to_string());
        }
        cmd.args(&opts.extra);
        cmd.envs(opts.env.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let child = cmd.spawn().expect("spawn pocketftpd");
        let mut daemon = Daemon {
            child,
            port,
            dir,
            root,
            ready: false,
        };
        daemon.wait_ready()?;
        daemon.ready = true;
        Ok(daemon)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        // An emulator translates the daemon's start-up code first.
        let limit = Duration::from_secs(if wrapped() { 30 } else { 5 });
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let stderr = self.stderr();
                if stderr.contains("in use") {
                    return Err(stderr);
                }
                panic!("pocketftpd exited during start-up ({status}); stderr:\n{stderr}");
            }
            if greets(self.addr(), limit) {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "pocketftpd did not accept on port {} within {limit:?}; stderr:\n{}",
                self.port,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The served folder (removed with the guard unless it was
    /// [`Options::root`]).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A scratch folder beside the root (not served).
    pub fn scratch(&self) -> PathBuf {
        let p = self.dir.join("scratch");
        let _ = fs::create_dir(&p);
        p
    }

    /// What the daemon wrote to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.dir.join("daemon.stderr")).unwrap_or_default()
    }

    /// How many file descriptors the daemon holds (Linux `/proc`).
    pub fn fd_count(&self) -> usize {
        fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|d| d.count())
            .expect("read the daemon's /proc/PID/fd")
    }

    /// The daemon's resident memory in KiB (Linux `/proc`).
    pub fn rss_kib(&self) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read the daemon's /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// Is the daemon process still running?
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends the daemon a signal by name (`TERM`, `HUP`, ...).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-s", name, &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {name} {pid} failed");
    }

    /// Waits (bounded) for an exit the test asked for, such as after
    /// SIGTERM; dropping the guard afterwards is then no failure.
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for pocketftpd") {
                self.ready = false;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "pocketftpd did not exit within {within:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A new control connection, welcome (220) already read.
    pub fn connect(&self) -> Ctrl {
        let mut c = Ctrl::connect(self.addr());
        c.expect_reply(220);
        c
    }

    /// A new logged-in control connection.
    pub fn login(&self) -> Ctrl {
        let mut c = self.connect();
        c.cmd_ok("USER anonymous", 331);
        c.cmd_ok("PASS test@example.com", 230);
        c
    }

    /// Panics unless the daemon is alive and a new session works.
    pub fn assert_alive(&mut self) {
        assert!(
            self.is_running(),
            "pocketftpd is no longer running; stderr:\n{}",
            self.stderr()
        );
        let mut c = self.login();
        c.cmd_ok("NOOP", 200);
        c.cmd_ok("PWD", 257);
        c.cmd_ok("QUIT", 221);
    }

    /// Write a file into the root (creating parent folders).
    pub fn put(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.root.join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("create parent");
        }
        fs::write(&p, bytes).expect("write file into root");
        p
    }

    /// Names in a folder of the root, sorted.
    pub fn names(&self, rel: &str) -> Vec<String> {
        dir_names(&self.root.join(rel))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let crashed = match self.child.try_wait() {
            Ok(Some(status)) => Some(status),
            _ => None,
        };
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr = self.stderr();
        let panicked = stderr.contains("panicked at");
        if !self.ready {
            return;
        }
        if std::thread::panicking() || crashed.is_some() || panicked {
            eprintln!(
                "---- pocketftpd stderr (port {} {}, exited early: {:?}) ----\n{stderr}\n---- end ----",
                self.port,
                port_state(self.port),
                crashed,
            );
        }
        // Whatever the test did, the daemon must neither have exited nor
        // panicked (unless the test already failed: no double panic).
        if !std::thread::panicking() {
            assert!(
                crashed.is_none(),
                "pocketftpd exited during the test: {crashed:?}"
            );
            assert!(!panicked, "pocketftpd panicked during the test");
        }
    }
}

/// Runs the daemon in the foreground on `root` and a free port with
/// `args`, for start-ups that must fail: its run (killed after `within`)
/// and the port it was given.
pub fn run_daemon<S: AsRef<std::ffi::OsStr>>(
    root: &Path,
    args: &[S],
    within: Duration,
) -> (Run, u16) {
    let port = free_port();
    let run = run_bounded(
        daemon_command()
            .arg("--root")
            .arg(root)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(args),
        b"",
        within,
    );
    (run, port)
}

/// `pocketftpd hash-password` for `password`.
pub fn password_hash(password: &str) -> String {
    let mut child = daemon_command()
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run hash-password");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{password}").expect("write password");
    drop(stdin);
    let out = child.wait_with_output().expect("hash-password output");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .expect("utf-8 hash")
        .trim()
        .to_owned()
}

/// Does a server answer on `addr` with a reply line (`220`, or `421` when
/// it is full)? A connection alone is not enough: another test's port
/// check may hold the port for a moment before the daemon binds it.
fn greets(addr: SocketAddr, limit: Duration) -> bool {
    let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    if stream.set_read_timeout(Some(limit)).is_err() {
        return false;
    }
    let mut line = String::new();
    let read = BufReader::new(stream).read_line(&mut line);
    read.is_ok() && line.len() >= 4 && line.as_bytes()[..3].iter().all(u8::is_ascii_digit)
}

/// For failure messages: does a socket listen on `port` (any address) now,
/// from /proc/net/tcp and tcp6?
pub fn port_state(port: u16) -> &'static str {
    const LISTEN: &str = "0A";
    let wanted = format!("{port:04X}");
    let mut readable = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        readable = true;
        let listening = text.lines().skip(1).any(|row| {
            let mut fields = row.split_whitespace();
            let local = fields.nth(1).unwrap_or("");
            let state = fields.nth(1).unwrap_or("");
            local.rsplit(':').next() == Some(wanted.as_str()) && state == LISTEN
        });
        if listening {
            return "listening";
        }
    }
    if readable {
        "NOT listening"
    } else {
        "listening or not: /proc/net/tcp unreadable"
    }
}

/// A free TCP port on 127.0.0.1 (bound, checked, released).
///
/// Chosen at random below the kernel's ephemeral range when there is room,
/// so that the passive and active data ports of tests running in parallel
/// (which come from the ephemeral range) cannot take it before the daemon
/// binds it.
pub fn free_port() -> u16 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let ephemeral_low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    if ephemeral_low > 12_000 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut rng = Rng((u64::from(std::process::id()) << 32)
            ^ u64::from(nanos)
            ^ COUNTER
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            | 1);
        let span = u64::from(ephemeral_low - 10_000);
        for _ in 0..200 {
            let port = 10_000 + rng.below(span) as u16;
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return port;
            }
        }
    }
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind :0");
    l.local_addr().expect("local_addr").port()
}

// ---------------------------------------------------------------------------
// Replies and the raw control client
// ---------------------------------------------------------------------------

/// One (possibly multi-line) reply.
#[derive(Clone, Debug)]
pub struct Reply {
    pub code: u16,
    /// Every line, without CRLF.
    pub lines: Vec<String>,
}

impl Reply {
    /// The first line's text after "NNN " / "NNN-".
    pub fn text(&self) -> &str {
        self.lines[0].get(4..).unwrap_or("")
    }

    pub fn is_multiline(&self) -> bool {
        self.lines.len() > 1
    }

    /// All lines joined with '\n'.
    pub fn full(&self) -> String {
        self.lines.join("\n")
    }
}

/// A raw control connection.
pub struct Ctrl {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
    /// Every reply and sent line, for failure messages.
    pub log: Vec<String>,
}

impl Ctrl {
    pub fn connect(addr: SocketAddr) -> Ctrl {
        let stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT).unwrap_or_else(|e| {
            panic!(
                "connect control to {addr}: {e} (port {})",
                port_state(addr.port())
            )
        });
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Ctrl {
            reader,
            stream,
            log: Vec::new(),
        }
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    pub fn set_read_timeout(&self, t: Duration) {
        self.stream.set_read_timeout(Some(t)).unwrap();
    }

    /// Send raw bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.log
            .push(format!("C: {:?}", String::from_utf8_lossy(bytes)));
        self.stream.write_all(bytes).expect("write to control");
    }

    /// Send one command line (CRLF appended).
    pub fn send(&mut self, line: &str) {
        let mut b = line.as_bytes().to_vec();
        b.extend_from_slice(b"\r\n");
        self.send_raw(&b);
    }

    fn read_line(&mut self) -> io::Result<Option<String>> {
        let mut buf = Vec::new();
        let n = self.reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        assert!(
            buf.ends_with(b"\r\n"),
            "reply line not ending in CRLF: {:?}\n{}",
            String::from_utf8_lossy(&buf),
            self.log.join("\n")
        );
        buf.truncate(buf.len() - 2);
        Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
    }

    /// Read one full reply; `Err` on EOF or timeout.
    pub fn try_reply(&mut self) -> io::Result<Reply> {
        let eof = || io::Error::new(io::ErrorKind::UnexpectedEof, "control connection closed");
        let first = self.read_line()?.ok_or_else(eof)?;
        self.log.push(format!("S: {first}"));
        let code = parse_code(&first)
            .unwrap_or_else(|| panic!("malformed reply line {first:?}\n{}", self.log.join("\n")));
        let mut lines = vec![first.clone()];
        if first.as_bytes()[3] == b'-' {
            let end = format!("{code} ");
            let mut count = 0;
            loop {
                count += 1;
                assert!(count < 100_000, "endless multi-line reply");
                let l = self.read_line()?.ok_or_else(eof)?;
                self.log.push(format!("S: {l}"));
                let done = l.starts_with(&end) || l == end.trim_end();
                lines.push(l);
                if done {
                    break;
                }
            }
        }
        Ok(Reply { code, lines })
    }

    /// Read one full reply (panics on EOF/timeout).
    pub fn reply(&mut self) -> Reply {
        match self.try_reply() {
            Ok(r) => r,
            Err(e) => panic!("no reply: {e}\n{}", self.log.join("\n")),
        }
    }

    /// Read one reply and assert its code.
    pub fn expect_reply(&mut self, code: u16) -> Reply {
        let r = self.reply();
        assert_eq!(
            r.code,
            code,
            "expected {code}, got {:?}\n{}",
            r.lines,
            self.log.join("\n")
        );
        r
    }

    /// Read one reply and assert its code is one of `codes`.
    pub fn expect_one_of(&mut self, codes: &[u16]) -> Reply {
        let r = self.reply();
        assert!(
            codes.contains(&r.code),
            "expected one of {codes:?}, got {:?}\n{}",
            r.lines,
            self.log.join("\n")
        );
        r
    }

    /// Send a command and return its reply.
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send(line);
        self.reply()
    }

    /// Send a command and return its reply, or the error if none came.
    pub fn try_cmd(&mut self, line: &str) -> io::Result<Reply> {
        self.send(line);
        self.try_reply()
    }

    /// Send a command and assert the reply code.
    pub fn cmd_ok(&mut self, line: &str, code: u16) -> Reply {
        self.send(line);
        self.expect_reply(code)
    }

    /// Send a command and assert the reply code is one of `codes`.
    pub fn cmd_any(&mut self, line: &str, codes: &[u16]) -> Reply {
        self.send(line);
        self.expect_one_of(codes)
    }

    /// Assert the server closes the control connection (EOF or reset)
    /// within the read timeout, with no further reply.
    pub fn expect_closed(&mut self) {
        match self.read_line() {
            Ok(None) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            Ok(Some(l)) => panic!("expected close, got {l:?}\n{}", self.log.join("\n")),
            Err(e) => panic!("expected close, got error {e}\n{}", self.log.join("\n")),
        }
    }

    /// `PASV`, parse the 227 reply strictly, connect to the port on 127.0.0.1.
    pub fn pasv(&mut self) -> DataPlan {
        let r = self.cmd_ok("PASV", 227);
        let (ip, port) =
            parse_227(r.text()).unwrap_or_else(|| panic!("malformed 227 reply {:?}", r.lines[0]));
        assert_eq!(
            ip,
            Ipv4Addr::LOCALHOST,
            "227 announces {ip}, not the control address"
        );
        DataPlan::Passive(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    /// `EPSV`, parse `(|||port|)`.
    pub fn epsv(&mut self) -> DataPlan {
        let r = self.cmd_ok("EPSV", 229);
        let port =
            parse_229(r.text()).unwrap_or_else(|| panic!("malformed 229 reply {:?}", r.lines[0]));
        DataPlan::Passive(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    /// Listen on 127.0.0.1:0 and send `PORT` for it (expects 200).
    pub fn port(&mut self) -> DataPlan {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind active listener");
        let p = l.local_addr().unwrap().port();
        self.cmd_ok(&format!("PORT 127,0,0,1,{},{}", p >> 8, p & 0xff), 200);
        DataPlan::Active(l)
    }

    /// Listen on 127.0.0.1:0 and send `EPRT` for it (expects 200).
    pub fn eprt(&mut self) -> DataPlan {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind active listener");
        let p = l.local_addr().unwrap().port();
        self.cmd_ok(&format!("EPRT |1|127.0.0.1|{p}|"), 200);
        DataPlan::Active(l)
    }

    /// Send a transfer command over a fresh passive address, connecting the
    /// data socket if the daemon lets us (a refusal may come before or after
    /// the connection), and return the first reply.
    pub fn transfer_reply(&mut self, line: &str) -> Reply {
        let plan = self.pasv();
        self.send(line);
        let data = plan.try_open();
        let r = self.reply();
        drop(data);
        r
    }

    /// `TYPE I`, `PASV`, then `line` (a transfer command): makes the data
    /// connection and reads the 150/125, leaving the transfer under way.
    pub fn begin_transfer(&mut self, line: &str) -> TcpStream {
        self.cmd_ok("TYPE I", 200);
        let plan = self.pasv();
        self.send(line);
        let data = plan.open();
        self.expect_one_of(&[125, 150]);
        data
    }

    /// Run a download-like command (`RETR x`, `LIST`, `NLST`, `MLSD`) over a
    /// fresh passive connection; returns the bytes; asserts 150/125 and 226.
    pub fn download(&mut self, line: &str) -> Vec<u8> {
        self.download_rest(None, line)
    }

    /// Like [`Ctrl::download`], with `REST n` between PASV and the command
    /// (the order ftplib and curl use).
    pub fn download_rest(&mut self, rest: Option<u64>, line: &str) -> Vec<u8> {
        let plan = self.pasv();
        if let Some(n) = rest {
            self.cmd_ok(&format!("REST {n}"), 350);
        }
        self.download_via(plan, line)
    }

    /// Send a download-like command for an already announced data address,
    /// make the connection, assert 150/125, read to the end, assert 226.
    pub fn download_via(&mut self, plan: DataPlan, line: &str) -> Vec<u8> {
        self.send(line);
        let mut data = plan.open();
        self.expect_one_of(&[125, 150]);
        let mut out = Vec::new();
        data.read_to_end(&mut out).expect("read data connection");
        drop(data);
        self.expect_reply(226);
        out
    }

    /// Upload bytes with a command (`STOR x`, `APPE x`) over passive; asserts
    /// 150/125 then 226.
    pub fn upload(&mut self, line: &str, bytes: &[u8]) {
        self.upload_rest(None, line, bytes)
    }

    /// Like [`Ctrl::upload`], with `REST n` between PASV and the command.
    pub fn upload_rest(&mut self, rest: Option<u64>, line: &str, bytes: &[u8]) {
        let plan = self.pasv();
        if let Some(n) = rest {
            self.cmd_ok(&format!("REST {n}"), 350);
        }
        self.send(line);
        let mut data = plan.open();
        self.expect_one_of(&[125, 150]);
        data.write_all(bytes).expect("write data connection");
        data.shutdown(Shutdown::Write).ok();
        drop(data);
        self.expect_reply(226);
    }
}

/// A data connection about to be made.
pub enum DataPlan {
    /// Connect to this address once the command was sent.
    Passive(SocketAddr),
    /// Accept from this listener once the command was sent.
    Active(TcpListener),
}

impl DataPlan {
    /// Try to make the data connection; a passive connect gets 2 s, an
    /// active accept is not attempted (the daemon connects on its own).
    pub fn try_open(self) -> Option<TcpStream> {
        match self {
            DataPlan::Passive(addr) => {
                TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()
            }
            DataPlan::Active(_) => None,
        }
    }

    /// Make the data connection (bounded by [`READ_TIMEOUT`]).
    pub fn open(self) -> TcpStream {
        let s = match self {
            DataPlan::Passive(addr) => {
                TcpStream::connect_timeout(&addr, READ_TIMEOUT).expect("connect data (passive)")
            }
            DataPlan::Active(l) => accept_timeout(&l, READ_TIMEOUT)
                .expect("the daemon did not connect the active data connection"),
        };
        s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        s
    }
}

/// Accept one connection within `timeout` (bounded poll).
pub fn accept_timeout(l: &TcpListener, timeout: Duration) -> io::Result<TcpStream> {
    l.set_nonblocking(true)?;
    let deadline = Instant::now() + timeout;
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false)?;
                return Ok(s);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "accept timed out"));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
}

/// The code of a reply line: three digits then ' ' or '-'.
pub fn parse_code(line: &str) -> Option<u16> {
    let b = line.as_bytes();
    if b.len() < 4 || !b[..3].iter().all(u8::is_ascii_digit) || !(b[3] == b' ' || b[3] == b'-') {
        return None;
    }
    line[..3].parse().ok()
}

/// `Entering Passive Mode (h1,h2,h3,h4,p1,p2).` → address and port.
pub fn parse_227(text: &str) -> Option<(Ipv4Addr, u16)> {
    let open = text.find('(')?;
    let close = text[open..].find(')')? + open;
    let nums: Vec<u8> = text[open + 1..close]
        .split(',')
        .map(|n| n.parse::<u8>())
        .collect::<Result<_, _>>()
        .ok()?;
    if nums.len() != 6 {
        return None;
    }
    let ip = Ipv4Addr::new(nums[0], nums[1], nums[2], nums[3]);
    Some((ip, u16::from(nums[4]) << 8 | u16::from(nums[5])))
}

/// `Entering Extended Passive Mode (|||port|)` → port.
pub fn parse_229(text: &str) -> Option<u16> {
    let open = text.find("(|||")?;
    let rest = &text[open + 4..];
    let end = rest.find("|)")?;
    rest[..end].parse().ok()
}

/// Make a socket send RST (not FIN) when dropped: `SO_LINGER` with timeout 0.
#[cfg(target_os = "linux")]
pub fn set_linger_zero(s: &TcpStream) {
    use std::os::fd::AsRawFd;
    #[repr(C)]
    struct Linger {
        l_onoff: i32,
        l_linger: i32,
    }
    extern "C" {
        fn setsockopt(fd: i32, level: i32, name: i32, val: *const Linger, len: u32) -> i32;
    }
    const SOL_SOCKET: i32 = 1;
    const SO_LINGER: i32 = 13;
    let l = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid fd owned by `s` and a correctly sized `struct linger`.
    let rc = unsafe {
        setsockopt(
            s.as_raw_fd(),
            SOL_SOCKET,
            SO_LINGER,
            &l,
            std::mem::size_of::<Linger>() as u32,
        )
    };
    assert_eq!(rc, 0, "setsockopt(SO_LINGER) failed");
}

// ---------------------------------------------------------------------------
// Polling and randomness
// ---------------------------------------------------------------------------

/// Poll `f` until it returns true or `timeout` passes (bounded).
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A tiny seeded PRNG (xorshift64*), so failures can be replayed.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `POCKETFTPD_SEED` if set, otherwise from `seed`; prints it.
    pub fn new(seed: u64) -> Rng {
        let seed = std::env::var("POCKETFTPD_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(seed);
        eprintln!("rng seed {seed} (set POCKETFTPD_SEED to replay)");
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            v.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        v.truncate(len);
        v
    }

    /// A random file name of safe characters, `len` long.
    pub fn name(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
        (0..len)
            .map(|_| CHARS[self.below(CHARS.len() as u64) as usize] as char)
            .collect()
    }
}

/// The first index where two byte strings differ (for readable failures).
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or(if a.len() == b.len() {
            None
        } else {
            Some(a.len().min(b.len()))
        })
}

/// Assert two byte strings are equal without printing megabytes.
#[track_caller]
pub fn assert_bytes_eq(what: &str, got: &[u8], want: &[u8]) {
    if let Some(i) = first_difference(got, want) {
        panic!(
            "{what}: {} bytes, expected {} bytes; first difference at offset {i}",
            got.len(),
            want.len()
        );
    }
}

/// Names in a real folder, sorted.
pub fn dir_names(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(p)
        .expect("read_dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    v.sort();
    v
}

/// What a client program did.
#[derive(Debug)]
pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

/// Run a client program with stdin from `stdin`, killing it (by its pid) if
/// it takes longer than `timeout`. Output goes through files, so a chatty
/// program cannot block on a full pipe.
pub fn run_bounded(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Run {
    let dir = TempDir::new("run");
    let out_path = dir.join("stdout");
    let err_path = dir.join("stderr");
    let in_path = dir.join("stdin");
    fs::write(&in_path, stdin).unwrap();
    cmd.stdin(fs::File::open(&in_path).unwrap())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (is it installed?)"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} did not finish within {timeout:?}; stderr:\n{}",
                fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        status,
        stdout: fs::read(&out_path).unwrap_or_default(),
        stderr: String::from_utf8_lossy(&fs::read(&err_path).unwrap_or_default()).into_owned(),
    }
}

/// Should a test that needs `program` run? Yes if it is installed; if not,
/// the test is skipped with a note — unless `CI` is set, where a missing
/// client is a failure (.ci/run installs them all).
pub fn need_program(program: &str) -> bool {
    if have_program(program) {
        return true;
    }
    skip(&format!("{program} is not installed (CI must install it)"));
    false
}

/// A test cannot run here for `why`: outside CI it is skipped with a note;
/// under `CI`, which must provide what every test needs, it fails.
pub fn skip(why: &str) {
    assert!(std::env::var_os("CI").is_none(), "under CI: {why}");
    eprintln!("SKIPPED: {why}");
}

/// A small tree: nested folders, an empty file, a > 1 MiB file, a space.
pub fn make_tree(dir: &Path, seed: u64) {
    let mut rng = Rng::new(seed);
    let files: [(&str, usize); 6] = [
        ("a.txt", 100),
        ("empty.bin", 0),
        ("sub/b c.bin", 70_000),
        ("sub/café ö.txt", 12),
        ("sub/deeper/big.bin", (1 << 20) + 3),
        ("sub/deeper/z.txt", 1),
    ];
    for (rel, size) in files {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, rng.bytes(size)).unwrap();
    }
}

/// Every regular file under `dir`, as (relative path, bytes), sorted.
pub fn tree_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in fs::read_dir(dir).expect("read_dir") {
            let e = e.expect("dir entry");
            let p = e.path();
            let ft = e.file_type().expect("file type");
            if ft.is_dir() {
                walk(base, &p, out);
            } else if ft.is_file() {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.push((rel, fs::read(&p).expect("read file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Assert two real trees hold the same files (relative paths and bytes).
#[track_caller]
pub fn assert_same_tree(got: &Path, want: &Path) {
    let got = tree_files(got);
    let want = tree_files(want);
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want), "file names differ");
    for ((name, g), (_, w)) in got.iter().zip(&want) {
        assert_bytes_eq(name, g, w);
    }
}

/// Is `name` an executable file on `PATH`?
pub fn have_program(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            fs::metadata(dir.join(name))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_state_sees_a_listener_come_and_go() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(port_state(port), "listening");
        drop(listener);
        assert_eq!(port_state(port), "NOT listening");
    }

    #[test]
    fn parses_227_and_229() {
        assert_eq!(
            parse_227("Entering Passive Mode (127,0,0,1,195,80)."),
            Some((Ipv4Addr::LOCALHOST, 50000))
        );
        assert_eq!(parse_227("Entering Passive Mode (127,0,0,1,195)."), None);
        assert_eq!(
            parse_229("Entering Extended Passive Mode (|||50000|)"),
            Some(50000)
        );
        assert_eq!(parse_229("Entering Extended Passive Mode (50000)"), None);
    }

    #[test]
    fn parses_codes() {
        assert_eq!(parse_code("220 hi"), Some(220));
        assert_eq!(parse_code("211-Features:"), Some(211));
        assert_eq!(parse_code(" EPSV"), None);
        assert_eq!(parse_code("22"), None);
    }

    #[test]
    fn rng_is_deterministic() {
        let mut a = Rng(7);
        let mut b = Rng(7);
        assert_eq!(a.bytes(33), b.bytes(33));
        assert_eq!(a.name(12).len(), 12);
    }
}
