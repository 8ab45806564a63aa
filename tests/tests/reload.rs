//! SIGHUP as an admin uses it (issues 23 and 24): what it re-reads, what
//! it says it cannot apply, and that no file it re-reads can freeze the
//! loop, fill its memory or slow the logins that follow.

use pocketftpd_tests::accounts::{login, Site};
use pocketftpd_tests::*;
use std::process::Command;
use std::time::{Duration, Instant};

/// Sends SIGHUP and waits (bounded) until the log has one more line
/// containing `marker` than before.
fn reload(d: &Daemon, marker: &str) {
    let before = d.stderr().matches(marker).count();
    d.signal("HUP");
    assert!(
        wait_until(Duration::from_secs(10), || d
            .stderr()
            .matches(marker)
            .count()
            > before),
        "no new {marker:?} after SIGHUP; stderr:\n{}",
        d.stderr()
    );
}

fn mkfifo(path: &std::path::Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

#[test]
fn a_users_file_that_became_a_fifo_is_refused_and_the_loop_goes_on() {
    let site = Site::new(&[("ann", "user")]);
    let d = site.start();
    let mut session = login(&d, "ann");
    let file = site.users.join("users");
    std::fs::remove_file(&file).unwrap();
    mkfifo(&file);
    d.signal("HUP");
    let refused = wait_until(Duration::from_secs(5), || {
        d.stderr().contains("keeping the old users")
    });
    // The loop answers at once, whatever the SIGHUP found.
    session.set_read_timeout(Duration::from_secs(2));
    let start = Instant::now();
    let noop = session.try_cmd("NOOP").map(|r| r.code);
    assert_eq!(
        noop.ok(),
        Some(200),
        "NOOP after SIGHUP: {:?}",
        start.elapsed()
    );
    assert!(refused, "no refusal logged; stderr:\n{}", d.stderr());
    assert!(
        d.stderr()
            .contains("a FIFO (named pipe), not a regular file"),
        "{}",
        d.stderr()
    );
    // The old accounts stay.
    login(&d, "ann").cmd_ok("QUIT", 221);
}

#[test]
fn three_hundred_reloads_do_not_slow_the_next_login() {
    // Each reload made a new decoy hash for unknown users on the password
    // worker, queued before the next check: 300 of them, a 6 s login.
    let site = Site::new(&[("ann", "user")]);
    let d = site.start();
    for _ in 0..300 {
        reload(&d, "SIGHUP: re-read");
    }
    for user in ["ann", "nobody-by-this-name"] {
        let mut c = d.connect();
        c.cmd_ok(&format!("USER {user}"), 331);
        let start = Instant::now();
        c.cmd_ok("PASS pw", if user == "ann" { 230 } else { 530 });
        let took = start.elapsed();
        assert!(
            took < Duration::from_millis(1500),
            "a login after 300 reloads took {took:?}"
        );
    }
}
