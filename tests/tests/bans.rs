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
/// no login delay, bans after 3 failed logins within a minute, for 2 s;
/// the tests' own addresses (127.0.0.0/24, where the guard's readiness
/// check comes from) safelisted.
fn banning(users: &TempDir, extra: &[&str]) -> Options {
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
        "2",
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

fn log_count(d: &Daemon, want: &str) -> usize {
    d.stderr().lines().filter(|l| l.contains(want)).count()
}

fn wait_logged(d: &Daemon, want: &str, times: usize, within: Duration) {
    let logged = wait_until(within, || log_count(d, want) >= times);
    assert!(logged, "{want:?} not logged {times} times:\n{}", d.stderr());
}

#[test]
fn a_spray_from_many_addresses_is_banned_and_the_safelist_is_not() {
    let users = TempDir::new("users");
    let d = Daemon::with(banning(&users, &["--max-login-failures", "2"]));
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
        let line = format!("{from}: banned for 2 s after 3 failed logins within 60 s");
        assert_eq!(log_count(&d, &line), 1, "{}", d.stderr());
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
    assert_eq!(log_count(&d, "127.0.0.2: banned"), 0);

    // Bans survive SIGHUP.
    d.signal("HUP");
    wait_logged(&d, "SIGHUP: settings re-read", 1, Duration::from_secs(5));
    assert_eq!(first_words(attackers[1], d.port), BANNED);

    // The ban ends (a line), then a repeat offender's lasts twice as long.
    wait_logged(
        &d,
        &format!("{}: ban over", attackers[0]),
        1,
        Duration::from_secs(10),
    );
    let mut c = client(&d, attackers[0]);
    c.cmd_ok("USER alice", 331);
    c.cmd_ok("PASS pw", 230);
    let mut c = client(&d, attackers[0]);
    fail_login(&mut c, "alice");
    fail_login(&mut c, "alice");
    fail_login(&mut client(&d, attackers[0]), "alice");
    let again = format!(
        "{}: banned for 4 s after 3 failed logins within 60 s, ban 2 of this address",
        attackers[0]
    );
    wait_logged(&d, &again, 1, Duration::from_secs(5));
    assert_eq!(first_words(attackers[0], d.port), BANNED);
    let banned_at = Instant::now();
    wait_logged(
        &d,
        &format!("{}: ban over", attackers[0]),
        2,
        Duration::from_secs(15),
    );
    assert!(
        banned_at.elapsed() >= Duration::from_secs(3),
        "the second ban was not longer"
    );
}

#[test]
fn failed_tls_handshakes_count_and_a_banned_client_gets_no_handshake() {
    let Some(cert) = tls::cert() else {
        return;
    };
    let users = TempDir::new("users");
    let tls_port = free_port();
    let mut opts = banning(&users, &["--listen-tls", &format!("127.0.0.1:{tls_port}")]);
    opts.extra.extend(
        [
            "--tls-cert",
            cert.cert.to_str().unwrap(),
            "--tls-key",
            cert.key.to_str().unwrap(),
        ]
        .map(String::from),
    );
    let d = Daemon::with(opts);
    tls::assert_listening(&d, tls_port);
    let scanner = address(20);
    for _ in 0..3 {
        // Not a TLS ClientHello: rustls refuses it, with an alert.
        let mut s = connect_from(scanner, (Ipv4Addr::LOCALHOST, tls_port).into()).unwrap();
        s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = s.read_to_end(&mut Vec::new());
    }
    wait_logged(&d, "127.0.1.20:", 3, Duration::from_secs(5));
    assert_eq!(log_count(&d, "TLS handshake failed"), 3, "{}", d.stderr());
    wait_logged(
        &d,
        "127.0.1.20: banned for 2 s after 3 failed logins",
        1,
        Duration::from_secs(5),
    );
    // Banned: the 421 in clear at once, on either listener, no TLS.
    assert_eq!(first_words(scanner, tls_port), BANNED);
    assert_eq!(first_words(scanner, d.port), BANNED);
}
