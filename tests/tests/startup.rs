//! What a new user meets first (issue 15): `hash-password` at a terminal,
//! the hints for `--port` and unbracketed IPv6, the start line, and one
//! `[::]` listener serving IPv4 and IPv6.

use pocketftpd_tests::*;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Runs `command` on a pseudo-terminal, typing each of `typed` at its
/// prompt; returns what the terminal showed, and whether the command
/// succeeded.
fn at_a_terminal(command: &str, typed: &[&str]) -> (String, bool) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("py/tty_run.py");
    let run = run_bounded(
        Command::new("python3").arg(script).arg(command).args(typed),
        b"",
        Duration::from_secs(60),
    );
    (
        String::from_utf8_lossy(&run.stdout).into_owned(),
        run.success(),
    )
}

#[test]
fn hash_password_at_a_terminal_prompts_and_does_not_echo() {
    // The daemon's command as shell words (POCKETFTPD_CMD's are split on
    // whitespace, so joining them back with spaces loses nothing).
    let bin = daemon_argv()
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let command = format!("{bin} hash-password && stty -a");
    let typed = "hunter2 secret\\n";
    let (shown, ok) = at_a_terminal(&command, &[typed, typed]);
    assert!(ok, "{shown}");
    assert!(shown.starts_with("Password: "), "{shown}");
    assert!(shown.contains("Password again: "), "asked once: {shown}");
    assert!(shown.contains("$argon2id$"), "{shown}");
    assert!(
        !shown.contains("hunter2"),
        "the password was echoed: {shown}"
    );
    assert!(shown.contains(" echo "), "echo not restored: {shown}");

    // Ctrl-C at the prompt: the command dies, the terminal echoes again.
    // Two that differ: nothing is hashed, and the terminal echoes again.
    let command = format!("{bin} hash-password; stty -a");
    let (shown, _) = at_a_terminal(&command, &["hunter2 secret\\n", "hunter3 secret\\n"]);
    assert!(shown.contains("the two passwords differ"), "{shown}");
    assert!(!shown.contains("$argon2id$"), "{shown}");
    assert!(shown.contains(" echo "), "echo not restored: {shown}");

    let command = format!("trap '' INT; {bin} hash-password; stty -a");
    let (shown, _) = at_a_terminal(&command, &["\\x03"]);
    assert!(!shown.contains("$argon2id$"), "{shown}");
    assert!(
        shown.contains(" echo "),
        "echo not restored after ^C: {shown}"
    );
}

#[test]
fn hash_password_from_a_pipe_and_its_help() {
    let run = run_bounded(
        daemon_command().arg("hash-password"),
        b"from a pipe\n",
        Duration::from_secs(60),
    );
    assert!(run.success(), "{}", run.stderr);
    assert!(String::from_utf8_lossy(&run.stdout).starts_with("$argon2id$"));
    assert_eq!(run.stderr, "", "no prompt without a terminal");

    let run = run_bounded(
        daemon_command().args(["hash-password", "--help"]),
        b"",
        Duration::from_secs(10),
    );
    assert!(run.success(), "{}", run.stderr);
    let usage = String::from_utf8_lossy(&run.stdout);
    assert!(
        usage.starts_with("Usage: pocketftpd hash-password"),
        "{usage}"
    );
}

#[test]
fn mistakes_on_the_command_line_get_hints() {
    let cases = [
        (&["--port", "2121"][..], "use --listen 0.0.0.0:2121"),
        (
            &["--listen", "::1:2121"],
            "an IPv6 address goes in brackets, [::1]:2121",
        ),
        (&["--max_clients", "5"], "did you mean --max-clients?"),
        (&["--write", "--writ"], "did you mean --write?"),
        (
            &["--pasv-range", "50000-50100"],
            "the passive port range is --pasv-ports LO-HI",
        ),
        (&["--logfile", "x.log"], "the log goes to stderr"),
        (&["--daemon"], "pocketftpd runs in the foreground"),
        (
            &["--listen", "localhost:2130"],
            "host names are not taken: 127.0.0.1:2130",
        ),
        (&["--listen", ":2130"], "give an address too, 0.0.0.0:2130"),
    ];
    for (args, want) in cases {
        let run = run_bounded(daemon_command().args(args), b"", Duration::from_secs(10));
        assert_eq!(run.status.code(), Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
    }
}

/// `--help` shows the users file's lines whole, HOME too.
#[test]
fn help_shows_the_users_file_line_whole() {
    let run = run_bounded(daemon_command().arg("--help"), b"", Duration::from_secs(10));
    assert!(run.success(), "{}", run.stderr);
    let help = String::from_utf8_lossy(&run.stdout);
    assert!(help.contains("NAME:HASH:ROLE[:HOME]"), "{help}");
}

/// The start line is written once the ports are bound, so it may come a
/// moment after the daemon accepts: wait for it (bounded).
fn assert_start_line(d: &Daemon, want: &str) {
    assert!(
        wait_until(Duration::from_secs(5), || d.stderr().contains(want)),
        "{}",
        d.stderr()
    );
}

#[test]
fn the_start_line_says_who_may_do_what() {
    let d = Daemon::start();
    assert_start_line(&d, "(anonymous read-only, no users file)");
    let d = Daemon::start_write();
    assert_start_line(&d, "(anonymous may write, no users file)");
}

#[test]
fn one_ipv6_wildcard_listener_serves_ipv4_too() {
    if TcpListener::bind((Ipv6Addr::UNSPECIFIED, 0)).is_err() {
        return skip("no IPv6 on this machine");
    }
    let port = free_port();
    let d = Daemon::with(Options {
        extra: vec!["--listen".into(), format!("[::]:{port}")],
        ..Options::default()
    });
    d.put("both.txt", b"v4 and v6");
    for ip in [
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
    ] {
        let mut c = Ctrl::connect(ip);
        c.expect_reply(220);
        c.cmd_ok("USER anonymous", 331);
        c.cmd_ok("PASS x", 230);
        c.cmd_ok("TYPE I", 200);
        let reply = c.cmd_ok("EPSV", 229);
        let data_port = parse_229(reply.text()).expect("a 229 port");
        let plan = DataPlan::Passive(SocketAddr::new(ip.ip(), data_port));
        assert_eq!(c.download_via(plan, "RETR both.txt"), b"v4 and v6", "{ip}");
        c.cmd_ok("QUIT", 221);
    }
}

/// Mistakes in the config file are named by its keys, not by flags the
/// admin never typed; a value may carry a comment after it.
#[test]
fn config_file_errors_name_its_keys() {
    let dir = TempDir::new("config-keys");
    let config = dir.join("pocketftpd.conf");
    std::fs::write(
        &config,
        "max-clients = 8   # a Pi Zero\ntls-cert = /etc/pocketftpd/cert.pem\n",
    )
    .unwrap();
    let err = start_fails(&[Path::new("--config"), &config]);
    assert!(err.contains("tls-cert needs tls-key"), "{err}");
    assert!(!err.contains("--tls"), "{err}");
}

/// Under systemd (`INVOCATION_ID` set), a root in /home that cannot be
/// opened gets the hint about the unit's `ProtectHome=`.
#[test]
fn a_root_hidden_by_protect_home_gets_the_hint() {
    let run = run_bounded(
        daemon_command()
            .env("INVOCATION_ID", "0123")
            .args(["--root", "/home/no-such-user-here/share", "--listen"])
            .arg(format!("127.0.0.1:{}", free_port())),
        b"",
        Duration::from_secs(10),
    );
    assert!(!run.success());
    assert!(
        run.stderr.contains("ProtectHome=yes hides /home"),
        "{}",
        run.stderr
    );
}
