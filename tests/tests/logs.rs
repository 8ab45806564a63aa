//! The log lines an admin looks for (issue 15), read from the daemon's
//! stderr: changes to files and folders, refused writes, the name in a
//! failed login, interrupted downloads (and their incomplete xferlog line),
//! each command at `debug` with passwords masked, our own lines at `trace`.

use pocketftpd_tests::*;
use std::fs;
use std::io::Read;
use std::time::Duration;

fn log_lines(d: &Daemon, want: &str) -> bool {
    d.stderr().lines().any(|l| l.contains(want))
}

/// The xferlog at `path` once it holds `n` lines (waited for, bounded).
fn xferlog_lines(path: &std::path::Path, n: usize) -> String {
    let lines = || fs::read_to_string(path).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(5), || lines().lines().count() == n),
        "the xferlog: {:?}",
        lines()
    );
    lines()
}

fn assert_logged(d: &Daemon, want: &str) {
    assert!(
        wait_until(Duration::from_secs(5), || log_lines(d, want)),
        "no log line contains {want:?}; stderr:\n{}",
        d.stderr()
    );
}

#[test]
fn an_admin_finds_changes_refusals_failed_logins_and_interrupted_downloads() {
    let dir = TempDir::new("logs");
    let users = dir.join("users");
    fs::write(
        &users,
        format!("alice:{}:super\n", password_hash("alice pass")),
    )
    .unwrap();
    let xferlog = dir.join("xferlog");
    let d = Daemon::with(Options {
        extra: [
            "--users",
            users.to_str().unwrap(),
            "--anonymous",
            "--login-delay",
            "10",
            "--log-level",
            "debug",
            "--xferlog",
            xferlog.to_str().unwrap(),
            // Slow downloads, so one is surely cut off mid-way.
            "--max-rate-down",
            "1M",
        ]
        .map(String::from)
        .to_vec(),
        ..Options::default()
    });
    d.put("big.bin", &Rng::new(9).bytes(4 * 1024 * 1024));

    let mut alice = d.connect();
    alice.cmd_ok("USER alice", 331);
    alice.cmd_ok("PASS alice pass", 230);
    alice.cmd_ok("MKD made", 257);
    alice.cmd_ok("RMD made", 250);
    alice.upload("STOR a.txt", b"a");
    alice.cmd_ok("RNFR a.txt", 350);
    alice.cmd_ok("RNTO b.txt", 250);
    alice.cmd_ok("DELE b.txt", 250);
    alice.cmd_ok("QUIT", 221);

    let mut anonymous = d.login();
    anonymous.cmd_ok("DELE big.bin", 550);

    let mut mallory = d.connect();
    mallory.cmd_ok("USER mallory", 331);
    mallory.cmd_ok("PASS guess", 530);

    // A download whose client goes away mid-way.
    let mut data = anonymous.begin_transfer("RETR big.bin");
    let mut first = [0u8; 64 * 1024];
    data.read_exact(&mut first).expect("the first bytes");
    drop(anonymous);
    drop(data);

    assert_logged(&d, "\"alice\" made folder /made");
    assert_logged(&d, "\"alice\" removed folder /made");
    assert_logged(&d, "\"alice\" renamed /a.txt -> /b.txt");
    assert_logged(&d, "\"alice\" deleted /b.txt");
    assert_logged(&d, "\"anonymous\" may not write: refused DELE big.bin");
    assert_logged(&d, "failed login as \"mallory\"");
    assert_logged(&d, "\"anonymous\" download /big.bin interrupted after");
    assert_logged(&d, "<- USER alice");
    assert_logged(&d, "<- PASS ****");
    assert!(!d.stderr().contains("alice pass"), "a password in the log");

    // xferlog: the upload complete (c), the cut-off download incomplete (i).
    let lines = xferlog_lines(&xferlog, 2);
    let ends: Vec<(&str, &str, &str)> = lines
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[8], f[11], f[17])
        })
        .collect();
    assert_eq!(
        ends,
        [("/a.txt", "i", "c"), ("/big.bin", "o", "i")],
        "{lines}"
    );
    // With the bytes that went out before the client left.
    let sent: u64 = lines
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .nth(7)
        .unwrap()
        .parse()
        .unwrap();
    assert!((64 * 1024..4 * 1024 * 1024).contains(&sent), "{lines}");
}

#[test]
fn trace_shows_what_the_sessions_do() {
    let d = Daemon::with(Options {
        extra: vec!["--log-level".into(), "trace".into()],
        ..Options::default()
    });
    let mut c = d.login();
    c.cmd_ok("NOOP", 200);
    c.cmd_ok("QUIT", 221);
    assert_logged(&d, "<- NOOP");
    assert_logged(&d, "-> 200 NOOP ok.");
    assert_logged(&d, "-> 221 Goodbye.");
}

#[test]
fn info_is_the_default_and_shows_no_commands() {
    let d = Daemon::start();
    let mut c = d.login();
    c.cmd_ok("NOOP", 200);
    c.cmd_ok("QUIT", 221);
    assert_logged(&d, "session end");
    assert!(!log_lines(&d, "<- NOOP"), "{}", d.stderr());
}

/// A character a terminal or a line-based reader acts on: C0, DEL, C1,
/// the line and paragraph separators, the bidirectional overrides.
fn acts_on_a_terminal(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Issue 23 (4): file names that hold terminal escape sequences (a window
/// title, a cleared screen, a colour), CR, LF, U+2028 and a bidirectional
/// override reach every log line and the xferlog escaped, as `{:?}` writes
/// them, never as they are.
#[test]
fn control_characters_in_names_reach_the_logs_escaped() {
    let dir = TempDir::new("escapes");
    let xferlog = dir.join("xferlog");
    let d = Daemon::with(Options {
        write: true,
        extra: [
            "--log-level",
            "trace",
            "--xferlog",
            xferlog.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec(),
        ..Options::default()
    });
    let evil = "e\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31mred\u{2028}fake line\u{2029}\u{85}\u{9b}1m\u{202e}txt.exe";
    let escaped = "e\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{1b}[31mred\\u{2028}fake line\\u{2029}\\u{85}\\u{9b}1m\\u{202e}txt.exe";
    let mut c = d.connect();
    c.cmd_ok("USER anonymous\u{1b}[8m", 331);
    c.cmd_ok("PASS x", 230);
    c.cmd_ok(&format!("MKD {evil}"), 257);
    c.cmd_ok(&format!("CWD {evil}"), 250);
    c.upload(&format!("STOR {evil}"), b"payload");
    assert_eq!(c.download(&format!("RETR {evil}")), b"payload");
    c.cmd_ok(&format!("RNFR {evil}"), 350);
    c.cmd_ok("RNTO plain", 250);
    c.cmd_ok("DELE plain", 250);
    // A CR inside a line and a line ended by LF alone: refused, and logged.
    c.send_raw(b"MKD a\rb\r\n");
    c.expect_reply(500);
    c.send_raw(b"NOOP\x1b[2J\n");
    c.expect_reply(500);
    c.cmd_ok("QUIT", 221);
    assert_logged(&d, &format!("made folder /{escaped}"));
    assert_logged(&d, &format!("upload /{escaped}/{escaped} complete"));
    assert_logged(&d, &format!("download /{escaped}/{escaped} complete"));
    let unsafe_lines: Vec<String> = d
        .stderr()
        .lines()
        .filter(|l| l.chars().any(acts_on_a_terminal))
        .map(|l| format!("{l:?}"))
        .collect();
    assert!(
        unsafe_lines.is_empty(),
        "log lines with control characters:\n{}",
        unsafe_lines.join("\n")
    );
    let lines = xferlog_lines(&xferlog, 2);
    for line in lines.lines() {
        assert!(!line.chars().any(acts_on_a_terminal), "xferlog: {line:?}");
        assert!(
            line.contains(&format!("/{escaped}/{escaped}").replace(' ', "_")),
            "xferlog: {line:?}"
        );
    }
}

/// An IPv4 client of a `[::]` listener is logged as the IPv4 address it
/// is, in every line (fail2ban's patterns match `127.0.0.1`, not
/// `::ffff:127.0.0.1`): its session, its failed login, a refused data
/// connection's address.
#[test]
fn ipv4_clients_of_a_dual_stack_listener_are_logged_as_ipv4() {
    if std::net::TcpListener::bind("[::]:0").is_err() {
        return skip("no IPv6 on this machine");
    }
    let dir = TempDir::new("logs-v4");
    let users = dir.join("users");
    fs::write(&users, format!("alice:{}:user\n", password_hash("pw"))).unwrap();
    let port = free_port();
    let d = Daemon::with(Options {
        extra: [
            "--listen".into(),
            format!("[::]:{port}"),
            "--users".into(),
            users.to_str().unwrap().into(),
            "--anonymous".into(),
            "--login-delay".into(),
            "0".into(),
        ]
        .to_vec(),
        ..Options::default()
    });
    let mut c = Ctrl::connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    c.expect_reply(220);
    c.cmd_ok("USER mallory", 331);
    c.cmd_ok("PASS guess", 530);
    c.cmd_ok("USER anonymous", 331);
    c.cmd_ok("PASS x", 230);
    let plan = c.pasv();
    assert!(c.download_via(plan, "LIST").is_empty());
    c.cmd_ok("QUIT", 221);
    assert_logged(&d, "127.0.0.1:");
    assert_logged(&d, "failed login as \"mallory\"");
    assert_logged(&d, "\"anonymous\" listing / complete");
    let stderr = d.stderr();
    assert!(!stderr.contains("::ffff:"), "{stderr}");
    for line in stderr
        .lines()
        .filter(|l| l.contains("mallory") || l.contains("listing /"))
    {
        assert!(line.contains(" 127.0.0.1:"), "{line}");
    }
}

/// The daemon's stderr as systemd hands it over: `JOURNAL_STREAM` names its
/// device and inode. The daemon (any `POCKETFTPD_CMD` wrapper `exec`s it)
/// runs with `args` until `work` is done; returns what it wrote.
fn under_the_journal(args: &[&str], work: impl FnOnce(u16)) -> String {
    let dir = TempDir::new("journal");
    let root = dir.join("root");
    fs::create_dir(&root).unwrap();
    let log = dir.join("stderr");
    let port = free_port();
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(r#"JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$@""#)
        .arg("sh")
        .args(daemon_argv())
        .arg("--root")
        .arg(&root)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(fs::File::create(&log).unwrap());
    let mut child = command.spawn().expect("spawn the daemon");
    let listening = wait_until(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    if listening {
        work(port);
    }
    let _ = child.kill();
    let _ = child.wait();
    let written = fs::read_to_string(&log).unwrap_or_default();
    assert!(listening, "the daemon did not listen:\n{written}");
    written
}

/// Under systemd (`JOURNAL_STREAM` names stderr), every line starts with
/// its sd-daemon priority and carries no time of its own, so that
/// `journalctl -p warning` finds the warnings.
#[test]
fn under_systemd_lines_carry_journal_priorities_and_no_time() {
    let written = under_the_journal(&["--max-per-ip", "1"], |port| {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut first = Ctrl::connect(addr);
        first.expect_reply(220);
        let mut refused = Ctrl::connect(addr);
        refused.expect_reply(421);
        first.cmd_ok("QUIT", 221);
        std::thread::sleep(Duration::from_millis(200));
    });
    let lines: Vec<&str> = written.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<6>listening on 127.0.0.1:")),
        "{written}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<4>127.0.0.1:") && l.contains("refused")),
        "{written}"
    );
    for line in lines {
        assert!(
            ["<3>", "<4>", "<6>", "<7>"]
                .iter()
                .any(|p| line.starts_with(p)),
            "a line without a priority: {line:?}"
        );
        assert!(!line.contains("[INFO]") && !line.contains("Z ["), "{line}");
    }
}

/// A `JOURNAL_STREAM` that names another stream (the service's stderr was
/// redirected): plain lines, with their time.
#[test]
fn a_journal_stream_of_another_file_keeps_plain_lines() {
    let d = Daemon::with(Options {
        env: vec![("JOURNAL_STREAM".into(), "1:1".into())],
        ..Options::default()
    });
    d.login().cmd_ok("QUIT", 221);
    assert_logged(&d, "session end");
    assert!(d.stderr().contains("[INFO] listening on"), "{}", d.stderr());
    assert!(!d.stderr().contains("<6>"), "{}", d.stderr());
}

/// An upload the file system's permissions refuse is logged with its real
/// path, the errno and the user the daemon runs as: not a bare "Permission
/// denied" that reads like a role's refusal.
#[test]
fn a_refusal_by_the_file_system_names_the_path_the_user_and_the_cause() {
    let root_user = running_as_root();
    // As root, permissions bind only once the daemon is `nobody`; as
    // anyone else, a folder without write permission refuses its owner.
    let extra = if root_user {
        vec!["--run-as".into(), "nobody".into()]
    } else {
        Vec::new()
    };
    let d = Daemon::with(Options {
        write: true,
        extra,
        ..Options::default()
    });
    let locked = d.root().join("locked");
    fs::create_dir(&locked).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
    let user = if root_user {
        "nobody".to_owned()
    } else {
        let id = std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap();
        String::from_utf8_lossy(&id.stdout).trim().to_owned()
    };
    let mut c = d.login();
    let refused = c.transfer_reply("STOR locked/x.txt");
    assert_eq!(refused.code, 550, "{refused:?}");
    let host = fs::canonicalize(&locked).unwrap().join("x.txt");
    assert_logged(
        &d,
        &format!(
            "[WARN] cannot upload {}: permission denied to {user}, the user the daemon runs as (EACCES)",
            host.display()
        ),
    );
    assert_logged(
        &d,
        "\"anonymous\" upload /locked/x.txt failed: 550 Permission denied.",
    );
}

/// Whether the tests run as root (whose permissions the kernel never
/// checks).
fn running_as_root() -> bool {
    let id = std::process::Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&id.stdout).trim() == "0"
}
