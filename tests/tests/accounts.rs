//! Users-file roles and home folders (issue 15): the `upload` drop box, the
//! read-only `user`, a home its user cannot leave (not through `..`, not
//! through a symlink), and the start-up check of every home.

use std::path::Path;
use std::time::Duration;

use pocketftpd_tests::accounts::{login, Site};
use pocketftpd_tests::*;

/// The "scanner uploads here" set-up: new files yes, anything else no.
#[test]
fn an_upload_user_is_a_drop_box() {
    let site = Site::new(&[("cam", "upload:/homes/cam")]);
    let d = site.start();
    let mut c = login(&d, "cam");
    c.cmd_ok("PWD", 257);
    c.upload("STOR new.pdf", b"new scan");
    let home = site.root.join("homes/cam");
    assert_eq!(std::fs::read(home.join("new.pdf")).unwrap(), b"new scan");
    assert_eq!(c.transfer_reply("STOR old.pdf").code, 550);
    assert_eq!(c.transfer_reply("RETR new.pdf").code, 550);
    assert_eq!(c.transfer_reply("APPE old.pdf").code, 550);
    c.cmd_ok("DELE old.pdf", 550);
    c.cmd_ok("RNFR old.pdf", 550);
    c.cmd_ok("MKD batch", 257);
    let names = String::from_utf8(c.download("NLST")).unwrap();
    let mut names: Vec<&str> = names.lines().collect();
    names.sort_unstable();
    assert_eq!(names, ["batch", "new.pdf", "old.pdf"]);
    assert_eq!(std::fs::read(home.join("old.pdf")).unwrap(), b"old scan");
}

/// A home is the user's `/`: `..`, absolute paths and symlinks that point
/// out of it all stay inside; other users' files are out of reach.
#[test]
fn a_home_cannot_be_left() {
    let site = Site::new(&[("ann", "user:homes/ann"), ("root", "super")]);
    traversal::a_home_cannot_be_left(&site.start());
}

/// A home that does not exist stops the daemon at start-up, naming the
/// users file and the line.
#[test]
fn a_missing_home_is_a_start_up_error() {
    let site = Site::new(&[("ann", "user:/homes/ann"), ("bob", "user:/homes/bob")]);
    let (run, _) = run_daemon(site.root.path(), &site.args(), Duration::from_secs(20));
    assert!(!run.success(), "started with a missing home");
    let users = site.users.join("users");
    let want = format!("{}:2: the home /homes/bob of \"bob\"", users.display());
    assert!(run.stderr.contains(&want), "{}", run.stderr);
    assert!(Path::new(&users).exists());
}

/// `--anonymous-role upload` turns anonymous sessions into a drop box.
#[test]
fn anonymous_role_upload() {
    let d = Daemon::with(Options {
        extra: vec!["--anonymous-role".into(), "upload".into()],
        ..Options::default()
    });
    d.put("there.txt", b"x");
    let mut c = d.login();
    c.upload("STOR in.txt", b"dropped");
    assert_eq!(std::fs::read(d.root().join("in.txt")).unwrap(), b"dropped");
    assert_eq!(c.transfer_reply("RETR there.txt").code, 550);
    assert_eq!(c.transfer_reply("STOR there.txt").code, 550);
}
