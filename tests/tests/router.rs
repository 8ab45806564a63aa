//! Behind a home router and on the open internet (issue 28): the address
//! a 227 announces, the warnings that explain a passive connection that
//! cannot work, bans, keepalive, the PROXY protocol. The tests that need
//! a client on another network make network namespaces of their own
//! (`tests/src/netns.rs`); the rest run on loopback.

use pocketftpd_tests::*;
use std::time::Duration;

fn log_count(d: &Daemon, want: &str) -> usize {
    d.stderr().lines().filter(|l| l.contains(want)).count()
}

#[test]
fn a_passive_port_nobody_reaches_is_explained_once_an_hour() {
    let d = Daemon::with(Options {
        data_timeout: Some(1),
        ..Options::default()
    });
    let mut c = d.login();
    for _ in 0..2 {
        c.cmd_ok("PASV", 227);
        c.send("LIST");
        c.expect_reply(425);
    }
    c.cmd_ok("EPSV", 229);
    c.send("NLST");
    c.expect_reply(425);
    let want = "was told to open its data connection to 127.0.0.1 port ";
    assert!(
        wait_until(Duration::from_secs(5), || log_count(&d, want) == 1),
        "one warning: {}",
        d.stderr()
    );
    let line = d
        .stderr()
        .lines()
        .find(|l| l.contains(want))
        .unwrap_or_default()
        .to_owned();
    for part in [
        "[WARN]",
        "(PASV) and did not within 1 s",
        "--pasv-ports: without it passive ports are random",
        "next warning for 127.0.0.1 in an hour",
    ] {
        assert!(line.contains(part), "{part:?} in {line}");
    }
    c.cmd_ok("QUIT", 221);
    assert_eq!(log_count(&d, "in an hour"), 1, "{}", d.stderr());
}
