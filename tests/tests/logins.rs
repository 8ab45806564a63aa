//! Password checks: argon2's 19 MiB per check must not stay with the
//! daemon after a login (issue 24, 2).

use pocketftpd_tests::accounts::Site;

/// Issue 24 (2): each argon2id check (m = 19 MiB) left its block in the
/// checking thread's malloc arena, ~19.5 MiB more resident memory per
/// login up to ~217 MB. After 50 failed and 50 good logins the daemon is
/// within a few MiB of where it was after its first (the baseline: under
/// an emulator its own memory moves at the first login).
#[test]
fn memory_after_a_hundred_logins_stays_where_it_was() {
    let site = Site::new(&[("ann", "user")]);
    let d = site.start();
    let before_any = d.rss_kib();
    let mut first = d.connect();
    first.cmd_ok("USER ann", 331);
    first.cmd_ok("PASS pw", 230);
    first.cmd_ok("QUIT", 221);
    let baseline = d.rss_kib();
    let mut most = baseline;
    for i in 0..100 {
        let mut c = d.connect();
        c.cmd_ok("USER ann", 331);
        if i % 2 == 0 {
            c.cmd_ok("PASS wrong", 530);
        } else {
            c.cmd_ok("PASS pw", 230);
        }
        c.cmd_ok("QUIT", 221);
        most = most.max(d.rss_kib());
    }
    let after = d.rss_kib();
    eprintln!(
        "RSS: {before_any} KiB before any login, {baseline} KiB after the first, \
         {after} KiB after 50 failed and 50 good logins (most {most} KiB)"
    );
    assert!(
        after <= baseline + 4 * 1024 && most <= baseline + 8 * 1024,
        "the daemon grew from {baseline} KiB to {after} KiB (most {most} KiB) over 100 logins"
    );
}
