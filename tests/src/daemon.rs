//! One daemon per test: the guard that starts it on a free port with its own
//! root, waits until it greets, and on drop kills it (by its own pid), prints
//! its stderr if the test is failing, and fails a test whose daemon exited or
//! panicked on its own. Also: runs of start-ups that must fail,
//! `hash-password`, and `wait_until`, the bounded poll with which tests
//! watch the daemon.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::binary::{daemon_argv, daemon_command, wrapped};
use crate::ctrl::Ctrl;
use crate::netns::NetPair;
use crate::ports::{free_port, port_state};
use crate::programs::{run_bounded, Run};
use crate::trees::{dir_names, TempDir};

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
    /// The root is named by a config file in `extra` (`root =`), not by
    /// `--root`, which would win over it (for changing it on SIGHUP).
    pub root_in_config: bool,
    /// Run in these namespaces' server end, listening on its address;
    /// the guard's connections come from the client's end.
    pub netns: Option<Arc<NetPair>>,
    /// Words before the daemon's command, such as `unshare` giving it a
    /// mount namespace of its own (they must `exec` it, keeping its pid).
    pub wrapper: Vec<String>,
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
    /// Where it listens, and the namespaces it runs in (if any).
    ip: IpAddr,
    netns: Option<Arc<NetPair>>,
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
        let ip = opts
            .netns
            .as_ref()
            .map_or(IpAddr::from(Ipv4Addr::LOCALHOST), |n| n.server.ip);
        let namespace = (opts.netns.iter()).flat_map(|n| n.in_server());
        let mut cmd = command_after(namespace.chain(opts.wrapper.iter().cloned()));
        if !opts.root_in_config {
            cmd.arg("--root").arg(&root);
        }
        cmd.arg("--listen")
            .arg(SocketAddr::new(ip, port).to_string());
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
            ip,
            netns: opts.netns.clone(),
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
            if greets(|| self.open(Duration::from_millis(200)), limit) {
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
        SocketAddr::new(self.ip, self.port)
    }

    /// A TCP connection to the daemon (from the client's namespace, for
    /// one in [`Options::netns`]).
    pub fn open(&self, limit: Duration) -> io::Result<TcpStream> {
        match &self.netns {
            Some(netns) => netns.connect_within(self.addr(), limit),
            None => TcpStream::connect_timeout(&self.addr(), limit),
        }
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

    /// How many lines of its log contain `want`.
    pub fn log_count(&self, want: &str) -> usize {
        self.stderr().lines().filter(|l| l.contains(want)).count()
    }

    /// Waits (bounded) until `times` lines of its log contain `want`.
    pub fn wait_logged(&self, want: &str, times: usize, within: Duration) {
        let logged = wait_until(within, || self.log_count(want) >= times);
        assert!(
            logged,
            "{want:?} not logged {times} times:\n{}",
            self.stderr()
        );
    }

    /// The line of its log that contains `want`, once there is one
    /// (bounded), and only one.
    pub fn logged_line(&self, want: &str) -> String {
        self.wait_logged(want, 1, Duration::from_secs(10));
        assert_eq!(
            self.log_count(want),
            1,
            "{want:?} twice:\n{}",
            self.stderr()
        );
        let lines = self.stderr();
        lines
            .lines()
            .find(|l| l.contains(want))
            .unwrap_or_default()
            .to_owned()
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
        let mut c = match &self.netns {
            Some(netns) => Ctrl::over(netns.connect(self.addr()).expect("connect control")),
            None => Ctrl::connect(self.addr()),
        };
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
pub fn run_daemon<S: AsRef<OsStr>>(root: &Path, args: &[S], within: Duration) -> (Run, u16) {
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

/// Runs the daemon with `args` after `--root` (a fresh folder) and
/// `--listen`: it must exit non-zero within 10 s, listening nowhere.
/// Returns its stderr.
pub fn start_fails<S: AsRef<OsStr>>(args: &[S]) -> String {
    let dir = TempDir::new("start");
    let (run, port) = run_daemon(dir.path(), args, Duration::from_secs(10));
    let shown: Vec<&OsStr> = args.iter().map(AsRef::as_ref).collect();
    assert!(
        !run.success(),
        "the daemon started with {shown:?}:\n{}",
        run.stderr
    );
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    run.stderr
}

/// `pocketftpd hash-password` for `password` (read from a pipe), bounded
/// in time; what it prints is an argon2id PHC string, none of whose fields
/// is the password (a short one may turn up inside the random salt: that
/// is chance, not a leak).
pub fn password_hash(password: &str) -> String {
    let run = run_bounded(
        daemon_command().arg("hash-password"),
        format!("{password}\n").as_bytes(),
        Duration::from_secs(60),
    );
    assert!(run.success(), "hash-password failed: {}", run.stderr);
    let hash = String::from_utf8(run.stdout).expect("utf-8 hash");
    let hash = hash.trim();
    assert!(
        hash.starts_with("$argon2id$") && !hash.split('$').any(|field| field == password),
        "hash-password printed {hash:?}"
    );
    hash.to_owned()
}

/// The daemon's command after `prefix` (namespaces to enter).
fn command_after(prefix: impl Iterator<Item = String>) -> Command {
    let argv: Vec<OsString> = prefix.map(OsString::from).chain(daemon_argv()).collect();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    cmd
}

/// Does a server answer on the connection `open` makes with a reply line
/// (`220`, or `421` when it is full)? A connection alone is not enough:
/// another test's port check may hold the port for a moment before the
/// daemon binds it.
fn greets(open: impl FnOnce() -> io::Result<TcpStream>, limit: Duration) -> bool {
    let Ok(stream) = open() else {
        return false;
    };
    if stream.set_read_timeout(Some(limit)).is_err() {
        return false;
    }
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let read = reader.read_line(&mut line);
    let greeted =
        read.is_ok() && line.len() >= 4 && line.as_bytes()[..3].iter().all(u8::is_ascii_digit);
    if greeted {
        // Leave only once the daemon has closed its end: a session it
        // still counts would take a slot from the test's first client
        // (`--max-per-ip 1`).
        let _ = reader.get_mut().write_all(b"QUIT\r\n");
        let _ = io::copy(&mut reader, &mut io::sink());
    }
    greeted
}

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
