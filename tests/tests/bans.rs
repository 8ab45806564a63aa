//! Bans (issue 28): failed logins counted per address across sessions
//! (wrong passwords, unknown users, failed TLS handshakes), the ban's `421`
//! right after accept, the safelist, longer bans for repeat offenders,
//! bans kept across SIGHUP. The spray comes from other loopback addresses
//! (`127.0.1.x`: all of 127.0.0.0/8 is this machine's).

use pocketftpd_tests::*;
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const BANNED: &[u8] = b"421 Too many failed logins from your address; try again later.\r\n";

/// A users file (alice, password `pw`) and the daemon's options with it:
/// no login delay, bans after 3 failed logins within a minute, for
/// `seconds`; the tests' own addresses (127.0.0.0/24, where the guard's
/// readiness check comes from) safelisted.
fn banning(users: &TempDir, seconds: &str, extra: &[&str]) -> Options {
    let file = users.join("users");
    std::fs::write(&file, format!("alice:{}:user\n", password_hash("pw"))).unwrap();
    let file = file.to_string_lossy().into_owned();
    let args = [
        "--users",
        &file,
        "--login-delay",
        "0",
        "--ban-after",
        "3",
        "--ban-window",
        "60",
        "--ban-time",
        seconds,
        "--ban-safelist",
        "127.0.0.0/24",
    ];
    Options {
        extra: args.iter().chain(extra).map(|s| s.to_string()).collect(),
        ..Options::default()
    }
}

fn address(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 1, n)
}

/// A control connection from `from`, welcome read.
fn client(d: &Daemon, from: Ipv4Addr) -> Ctrl {
    let mut c = Ctrl::over(connect_from(from, d.addr()).expect("connect"));
    c.expect_reply(220);
    c
}

fn fail_login(c: &mut Ctrl, user: &str) {
    c.cmd_ok(&format!("USER {user}"), 331);
    c.cmd_ok("PASS wrong", 530);
}

/// Everything a connection from `from` to `port` says before it closes.
fn first_words(from: Ipv4Addr, port: u16) -> Vec<u8> {
    let mut s = connect_from(from, (Ipv4Addr::LOCALHOST, port).into()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    got
}

/// `opts` with FTPS on, with `cert` (which must outlive the daemon).
fn with_certificate(mut opts: Options, cert: &tls::Cert) -> Options {
    let (cert, key) = (cert.cert.to_string_lossy(), cert.key.to_string_lossy());
    opts.extra
        .extend(["--tls-cert", &cert, "--tls-key", &key].map(String::from));
    opts
}

#[test]
fn a_spray_from_many_addresses_is_banned_and_the_safelist_is_not() {
    let users = TempDir::new("users");
    let d = Daemon::with(banning(&users, "600", &["--max-login-failures", "2"]));
    let attackers: Vec<Ipv4Addr> = (1..=6).map(address).collect();
    for &from in &attackers {
        // An unknown user and a wrong password; the session's own limit
        // ends it, not the attacker.
        let mut c = client(&d, from);
        fail_login(&mut c, "mallory");
        c.cmd_ok("USER alice", 331);
        c.cmd_ok("PASS wrong", 530);
        c.expect_reply(421);
        // Its next session's first failure is the third from the address.
        fail_login(&mut client(&d, from), "root");
        assert_eq!(first_words(from, d.port), BANNED, "{from}");
    }
    for from in &attackers {
        let line = format!("{from}: banned for 600 s after 3 failed logins within 60 s");
        assert_eq!(d.log_count(&line), 1, "{}", d.stderr());
    }
    // A banned connection costs a 421 and nothing else: no session, not a
    // line in the log.
    let lines = d.stderr().lines().count();
    for _ in 0..20 {
        assert_eq!(first_words(attackers[0], d.port), BANNED);
    }
    assert_eq!(d.stderr().lines().count(), lines, "{}", d.stderr());
    // The safelist fails as often as it likes.
    let safe = Ipv4Addr::new(127, 0, 0, 2);
    for _ in 0..3 {
        let mut c = client(&d, safe);
        fail_login(&mut c, "alice");
        fail_login(&mut c, "alice");
    }
    client(&d, safe).cmd_ok("USER alice", 331);
    assert_eq!(d.log_count("127.0.0.2: banned"), 0);

    // Bans survive SIGHUP.
    d.signal("HUP");
    d.wait_logged("SIGHUP: settings re-read", 1, Duration::from_secs(5));
    assert_eq!(first_words(attackers[1], d.port), BANNED);
}

#[test]
fn a_ban_ends_and_a_repeat_offenders_lasts_twice_as_long() {
    let users = TempDir::new("users");
    let d = Daemon::with(banning(&users, "1", &[]));
    let attacker = address(30);
    let ban = |c: &mut Ctrl| {
        fail_login(c, "alice");
        fail_login(c, "alice");
        fail_login(c, "alice");
    };
    ban(&mut client(&d, attacker));
    d.wait_logged(
        "127.0.1.30: banned for 1 s after 3 failed logins",
        1,
        Duration::from_secs(5),
    );
    // The ban ends (a line), and the address may log in again.
    d.wait_logged("127.0.1.30: ban over", 1, Duration::from_secs(10));
    let mut c = client(&d, attacker);
    c.cmd_ok("USER alice", 331);
    c.cmd_ok("PASS pw", 230);
    ban(&mut client(&d, attacker));
    let again =
        "127.0.1.30: banned for 2 s after 3 failed logins within 60 s, ban 2 of this address";
    d.wait_logged(again, 1, Duration::from_secs(5));
    let banned_at = Instant::now();
    d.wait_logged("127.0.1.30: ban over", 2, Duration::from_secs(15));
    let lasted = banned_at.elapsed();
    assert!(
        lasted >= Duration::from_millis(1500),
        "the second ban lasted {lasted:?}"
    );
}

#[test]
fn failed_tls_handshakes_count_and_a_banned_client_gets_no_handshake() {
    let Some(cert) = tls::cert() else {
        return;
    };
    let users = TempDir::new("users");
    let tls_port = free_port();
    let tls_listener = format!("127.0.0.1:{tls_port}");
    let d = Daemon::with(with_certificate(
        banning(&users, "600", &["--listen-tls", &tls_listener]),
        &cert,
    ));
    tls::assert_listening(&d, tls_port);
    let scanner = address(20);
    for _ in 0..3 {
        // Not a TLS ClientHello: rustls refuses it, with an alert.
        let mut s = connect_from(scanner, (Ipv4Addr::LOCALHOST, tls_port).into()).unwrap();
        s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = s.read_to_end(&mut Vec::new());
    }
    d.wait_logged("127.0.1.20:", 3, Duration::from_secs(5));
    assert_eq!(d.log_count("TLS handshake failed"), 3, "{}", d.stderr());
    d.wait_logged(
        "127.0.1.20: banned for 600 s after 3 failed logins",
        1,
        Duration::from_secs(5),
    );
    // Banned: the 421 in clear at once, on either listener, no TLS.
    assert_eq!(first_words(scanner, tls_port), BANNED);
    assert_eq!(first_words(scanner, d.port), BANNED);
}

/// `dist/fail2ban/` of this repository.
fn fail2ban_dist() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/fail2ban")
}

/// Debian's fail2ban-regex, run on the lines a daemon wrote: the filter
/// counts each failed login and failed handshake once, for the address
/// that failed, and none of the other lines, whatever a client chose as
/// its user name.
#[test]
fn fail2bans_filter_counts_the_failed_logins_the_daemon_logged() {
    let Some(cert) = tls::cert() else {
        return;
    };
    if !need_program("fail2ban-regex") {
        return;
    }
    let users = TempDir::new("users");
    let d = Daemon::with(with_certificate(
        banning(&users, "600", &["--ban-after", "0"]),
        &cert,
    ));
    for _ in 0..4 {
        fail_login(&mut client(&d, address(1)), "root");
    }
    let mut c = client(&d, address(2));
    fail_login(&mut c, "alice");
    // A user name made to look like another address's failure.
    fail_login(&mut c, r#"x" 6.6.6.6:1: failed login as "y"#);
    let mut good = d.connect();
    good.cmd_ok("USER alice", 331);
    good.cmd_ok("PASS pw", 230);
    // A TLS handshake that fails after AUTH TLS.
    let mut c = client(&d, address(3));
    c.cmd_ok("AUTH TLS", 234);
    c.send_raw(b"GET / HTTP/1.0\r\n\r\n");
    let _ = c.stream().read_to_end(&mut Vec::new()); // a TLS alert, then the end
    d.wait_logged("TLS handshake failed", 1, Duration::from_secs(5));

    let dir = TempDir::new("fail2ban");
    let log = dir.join("pocketftpd.log");
    std::fs::write(&log, d.stderr()).unwrap();
    let filter = fail2ban_dist().join("filter.d/pocketftpd.conf");
    let run = run_bounded(
        std::process::Command::new("fail2ban-regex")
            .arg("-v")
            .arg(&log)
            .arg(&filter),
        b"",
        Duration::from_secs(60),
    );
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(run.success(), "fail2ban-regex failed: {}{out}", run.stderr);
    let lines = d.stderr().lines().count();
    let summary = format!(
        "Lines: {lines} lines, 0 ignored, 7 matched, {} missed",
        lines - 7
    );
    assert!(out.contains(&summary), "{summary:?} in\n{out}");
    // Each match, with the address fail2ban would ban (-v lists them).
    let hits = |ip: &str| {
        out.lines()
            .filter(|l| {
                l.trim_start_matches(['|', ' '])
                    .starts_with(&format!("{ip}  "))
            })
            .count()
    };
    assert_eq!(
        (hits("127.0.1.1"), hits("127.0.1.2"), hits("127.0.1.3")),
        (4, 2, 1),
        "{out}"
    );
    assert_eq!(hits("6.6.6.6"), 0, "{out}");
}

/// The jail example, with the filter, is a configuration fail2ban takes.
#[test]
fn fail2bans_jail_example_passes_its_configuration_test() {
    if !need_program("fail2ban-client") {
        return;
    }
    let dir = TempDir::new("fail2ban-conf");
    let conf = dir.join("fail2ban");
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg("/etc/fail2ban")
        .arg(&conf)
        .status();
    assert!(copied.is_ok_and(|s| s.success()), "cp -r /etc/fail2ban");
    // Our jail alone: Debian's own enables sshd, whose log is not here.
    std::fs::remove_dir_all(conf.join("jail.d")).unwrap();
    std::fs::create_dir(conf.join("jail.d")).unwrap();
    for file in ["filter.d/pocketftpd.conf", "jail.d/pocketftpd.conf"] {
        std::fs::copy(fail2ban_dist().join(file), conf.join(file)).unwrap();
    }
    let fail2ban_client = |what: &str| {
        let mut cmd = std::process::Command::new("fail2ban-client");
        cmd.arg("-c").arg(&conf).arg(what);
        run_bounded(&mut cmd, b"", Duration::from_secs(60))
    };
    // -t: the configuration test; -d: the configuration as the server gets it.
    let run = fail2ban_client("-t");
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.success(), "{}{out}", run.stderr);
    let dump = fail2ban_client("-d");
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("['add', 'pocketftpd', 'systemd']"), "{dump}");
    assert!(
        dump.contains("'_SYSTEMD_UNIT=pocketftpd.service'"),
        "{dump}"
    );
}
