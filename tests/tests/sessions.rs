//! Session-level options: connection limits, the users file (roles, failed
//! logins, the login delay that never slows other sessions), the banner,
//! the passive port range, STOU.

use pocketftpd_tests::*;
use std::fs;
use std::io::Read;
use std::time::{Duration, Instant};

fn opts(extra: &[&str]) -> Options {
    Options {
        extra: extra.iter().map(|s| s.to_string()).collect(),
        ..Options::default()
    }
}

#[test]
fn banner_option_sets_the_welcome() {
    let d = Daemon::with(opts(&["--banner", "hello from e2e"]));
    let mut c = Ctrl::connect(d.addr());
    assert_eq!(c.expect_reply(220).lines[0], "220 hello from e2e");
}

#[test]
fn max_clients_refuses_with_421_and_frees_the_slot() {
    let d = Daemon::with(opts(&["--max-clients", "2"]));
    let a = d.login();
    let mut b = d.login();
    let mut c = Ctrl::connect(d.addr());
    let refused = c.expect_reply(421);
    assert!(refused.text().contains("to this server"), "{refused:?}");
    c.expect_closed();
    b.cmd_ok("NOOP", 200);
    let want = "refused: the server is full (2 sessions, --max-clients 2)";
    assert!(
        wait_until(Duration::from_secs(5), || d.stderr().contains(want)),
        "{}",
        d.stderr()
    );
    drop(a);
    // The slot is freed once the daemon saw the close (bounded poll).
    let ok = wait_until(Duration::from_secs(5), || {
        let mut c = Ctrl::connect(d.addr());
        c.reply().code == 220
    });
    assert!(ok, "a closed session's slot was never freed");
}

#[test]
fn max_per_ip_refuses_with_421() {
    let d = Daemon::with(opts(&["--max-per-ip", "1"]));
    let mut a = d.login();
    let mut c = Ctrl::connect(d.addr());
    let refused = c.expect_reply(421);
    assert!(refused.text().contains("from your address"), "{refused:?}");
    c.expect_closed();
    a.cmd_ok("NOOP", 200);
    let want = "refused: 1 session from this address (--max-per-ip 1)";
    assert!(
        wait_until(Duration::from_secs(5), || d.stderr().contains(want)),
        "{}",
        d.stderr()
    );
}

#[test]
fn passive_ports_come_from_the_range() {
    // Find a small range of free ports (bounded search).
    let lo = (0..50)
        .map(|_| free_port())
        .find(|&p| {
            p < 65000 && (1..4).all(|i| std::net::TcpListener::bind(("127.0.0.1", p + i)).is_ok())
        })
        .expect("no free port range");
    let range = format!("{lo}-{}", lo + 3);
    let d = Daemon::with(opts(&["--pasv-ports", &range]));
    d.put("f", b"data");
    let mut c = d.login();
    for _ in 0..6 {
        let r = c.cmd_ok("PASV", 227);
        let (_, port) = parse_227(r.text()).unwrap();
        assert!(
            (lo..=lo + 3).contains(&port),
            "227 port {port} outside {range}"
        );
        let r = c.cmd_ok("EPSV", 229);
        let port = parse_229(r.text()).unwrap();
        assert!(
            (lo..=lo + 3).contains(&port),
            "229 port {port} outside {range}"
        );
    }
    assert_eq!(c.download("RETR f"), b"data");
}

/// A `--pasv-ports` range whose every port is taken: the `425` and the
/// log line say so (not a bare "Address in use").
#[test]
fn an_exhausted_passive_range_says_so() {
    let port = free_port();
    let d = Daemon::with(opts(&["--pasv-ports", &format!("{port}-{port}")]));
    let mut first = d.login();
    first.cmd_ok("PASV", 227);
    let mut second = d.login();
    let reply = second.cmd_ok("EPSV", 425);
    assert!(
        reply
            .text()
            .contains("Every passive port of this server is in use"),
        "{reply:?}"
    );
    let want = format!("every port of --pasv-ports {port}-{port} is in use (1 port)");
    assert!(
        wait_until(Duration::from_secs(5), || d.stderr().contains(&want)),
        "{}",
        d.stderr()
    );
    // Once the first session's listener is gone, the port serves again.
    first.cmd_ok("QUIT", 221);
    assert!(wait_until(Duration::from_secs(5), || second
        .cmd("PASV")
        .code
        == 227));
}

#[test]
fn stou_stores_under_a_new_name() {
    let d = Daemon::start_write();
    d.put("existing", b"old");
    let mut c = d.login();
    c.cmd_ok("TYPE I", 200);
    for body in [&b"first"[..], b"second"] {
        let p = c.pasv();
        c.send("STOU");
        let mut data = p.open();
        c.expect_one_of(&[125, 150]);
        std::io::Write::write_all(&mut data, body).unwrap();
        drop(data);
        c.expect_reply(226);
    }
    let names = d.names("");
    assert_eq!(names.len(), 3, "{names:?}");
    let mut bodies: Vec<Vec<u8>> = names
        .iter()
        .map(|n| fs::read(d.root().join(n)).unwrap())
        .collect();
    bodies.sort();
    assert_eq!(
        bodies,
        [b"first".to_vec(), b"old".to_vec(), b"second".to_vec()]
    );
}

fn users_daemon(extra: &[&str]) -> (Daemon, TempDir) {
    let dir = TempDir::new("users");
    let file = dir.join("users");
    fs::write(
        &file,
        format!(
            "# accounts\n\nalice:{}:super\nbob:{}:user\n",
            password_hash("alice pass"),
            password_hash("bob pass")
        ),
    )
    .unwrap();
    let mut args = vec!["--users", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    (Daemon::with(opts(&args)), dir)
}

fn login_as(d: &Daemon, user: &str, pass: &str) -> (Ctrl, Reply) {
    let mut c = d.connect();
    c.cmd_ok(&format!("USER {user}"), 331);
    let r = c.cmd(&format!("PASS {pass}"));
    (c, r)
}

#[test]
fn users_file_roles_and_failed_logins() {
    let (d, _dir) = users_daemon(&["--login-delay", "10", "--max-login-failures", "2"]);
    let (mut alice, r) = login_as(&d, "alice", "alice pass");
    assert_eq!(r.code, 230, "{:?}", r.lines);
    alice.upload("STOR by-alice.txt", b"alice");
    assert_eq!(fs::read(d.root().join("by-alice.txt")).unwrap(), b"alice");
    let (mut bob, r) = login_as(&d, "bob", "bob pass");
    assert_eq!(r.code, 230, "{:?}", r.lines);
    assert_eq!(bob.download("RETR by-alice.txt"), b"alice");
    let r = bob.transfer_reply("STOR by-bob.txt");
    assert_eq!(r.code, 550, "a read-only user uploads: {:?}", r.lines);
    bob.cmd_ok("DELE by-alice.txt", 550);
    // Anonymous is off with --users; unknown user and wrong password look the same.
    let (_, r) = login_as(&d, "anonymous", "x");
    assert_eq!(r.code, 530, "{:?}", r.lines);
    let (_, r1) = login_as(&d, "alice", "wrong");
    let (_, r2) = login_as(&d, "nobody", "alice pass");
    assert_eq!((r1.code, r2.code), (530, 530));
    assert_eq!(r1.text(), r2.text(), "no user enumeration");
    // After --max-login-failures: 421 and closed.
    let mut c = d.connect();
    c.cmd_ok("USER alice", 331);
    c.cmd_ok("PASS bad1", 530);
    c.cmd_ok("USER alice", 331);
    // The last failure is answered 421 itself, or 530 and then 421.
    if c.cmd_any("PASS bad2", &[530, 421]).code == 530 {
        c.expect_reply(421);
    }
    c.expect_closed();
}

#[test]
fn login_delay_never_slows_other_sessions() {
    let (d, _dir) = users_daemon(&["--login-delay", "3000", "--anonymous"]);
    let mut other = d.login();
    let mut c = d.connect();
    c.cmd_ok("USER alice", 331);
    let start = Instant::now();
    c.send("PASS wrong");
    // Meanwhile another session is answered at once.
    let t = Instant::now();
    other.cmd_ok("NOOP", 200);
    assert_eq!(other.download("NLST"), b"");
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "another session waited {:?} during a login delay",
        t.elapsed()
    );
    c.expect_reply(530);
    assert!(
        start.elapsed() >= Duration::from_millis(2500),
        "the failed PASS was answered after {:?}, before --login-delay 3000",
        start.elapsed()
    );
}

/// `option` names a file `name` holding `text`: the daemon must refuse to
/// start, and listen nowhere. Returns its error.
fn start_fails_with_file(option: &str, name: &str, text: &str) -> String {
    let dir = TempDir::new("badfile");
    let file = dir.join(name);
    fs::write(&file, text).unwrap();
    start_fails(&[std::ffi::OsStr::new(option), file.as_os_str()])
}

#[test]
fn malformed_users_file_stops_start_up_naming_the_line() {
    let users = "# ok\nalice:nothash:super\nbroken line\n";
    let err = start_fails_with_file("--users", "users", users);
    assert!(
        err.contains(":2")
            || err.contains("line 2")
            || err.contains(":3")
            || err.contains("line 3"),
        "the error must name the line: {err}"
    );
}

#[test]
fn abor_after_the_transfer_finished_is_225() {
    let d = Daemon::start();
    d.put("small", b"tiny");
    let mut c = d.login();
    let p = c.pasv();
    c.send("RETR small");
    let mut data = p.open();
    c.expect_one_of(&[125, 150]);
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    c.expect_reply(226);
    c.cmd_ok("ABOR", 225);
    assert_eq!(got, b"tiny");
}

#[test]
fn config_file_options_and_flags_override_it() {
    let cfg_dir = TempDir::new("config");
    let cfg = cfg_dir.join("pocketftpd.conf");
    fs::write(&cfg, "# comment\n\nbanner = from the file\nwrite = true\n").unwrap();
    let cfg_s = cfg.to_str().unwrap();
    let d = Daemon::with(opts(&["--config", cfg_s]));
    let mut c = Ctrl::connect(d.addr());
    assert_eq!(c.expect_reply(220).lines[0], "220 from the file");
    c.cmd_ok("USER anonymous", 331);
    c.cmd_ok("PASS x", 230);
    c.upload("STOR w.txt", b"written");
    assert_eq!(fs::read(d.root().join("w.txt")).unwrap(), b"written");
    let d2 = Daemon::with(opts(&["--config", cfg_s, "--banner", "from the flag"]));
    let mut c = Ctrl::connect(d2.addr());
    assert_eq!(c.expect_reply(220).lines[0], "220 from the flag");
}

#[test]
fn config_file_with_an_unknown_key_stops_start_up_naming_the_line() {
    let config = "banner = ok\nno-such-option = 1\n";
    let err = start_fails_with_file("--config", "bad.conf", config);
    assert!(
        err.contains("bad.conf") && err.contains('2'),
        "the error must name the file and line: {err}"
    );
}

#[test]
fn pasv_address_is_announced_and_the_listener_still_answers_locally() {
    // A loopback client is on a local network: it is told the address it
    // reached, whatever --pasv-address says (that is for the internet);
    // a --pasv-address-map entry for its network says otherwise.
    let d = Daemon::with(opts(&["--pasv-address", "10.1.2.3"]));
    let mut c = d.login();
    let r = c.cmd_ok("PASV", 227);
    let (ip, _) = parse_227(r.text()).expect("227 format");
    assert_eq!(ip.to_string(), "127.0.0.1", "{:?}", r.lines);
    let d = Daemon::with(opts(&[
        "--pasv-address",
        "203.0.113.7",
        "--pasv-address-map",
        "127.0.0.0/8=10.1.2.3",
    ]));
    d.put("f", b"via nat");
    let mut c = d.login();
    let r = c.cmd_ok("PASV", 227);
    let (ip, port) = parse_227(r.text()).expect("227 format");
    assert_eq!(ip.to_string(), "10.1.2.3", "{:?}", r.lines);
    // Clients ignore the 227 address and use the control connection's.
    let p = DataPlan::Passive(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    assert_eq!(c.download_via(p, "RETR f"), b"via nat");
    // EPSV carries no address and works as always.
    let p = c.epsv();
    assert_eq!(c.download_via(p, "RETR f"), b"via nat");
}
