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

/// `--upload-list-empty`: the drop box lists nothing (a scanner that lists
/// before it uploads still works); a `super` account sees every file.
#[test]
fn upload_list_empty_hides_the_drop_box() {
    let site = Site::new(&[("cam", "upload:/homes/cam"), ("boss", "super")]);
    let mut options = site.options();
    options.extra.push("--upload-list-empty".into());
    let d = Daemon::with(options);
    let mut cam = login(&d, "cam");
    assert!(cam.download("LIST").is_empty());
    assert!(cam.download("NLST").is_empty());
    assert!(cam.download("MLSD").is_empty());
    cam.upload("STOR new.pdf", b"new scan");
    assert!(cam.download("NLST").is_empty());
    let listing = cam.cmd_ok("STAT .", 213);
    assert_eq!(listing.lines.len(), 2, "{listing:?}");
    let mut boss = login(&d, "boss");
    let names = sorted_lines(&boss.download("NLST homes/cam"));
    assert_eq!(names, ["new.pdf", "old.pdf"]);
}

/// A client that uploads `x.part` and renames it when done: allowed for a
/// name the `upload` session created, never over an existing file.
#[test]
fn an_upload_user_renames_its_part_file() {
    let site = Site::new(&[("cam", "upload:/homes/cam")]);
    let d = site.start();
    let mut c = login(&d, "cam");
    c.upload("STOR scan.pdf.part", b"new scan");
    c.cmd_ok("RNFR scan.pdf.part", 350);
    c.cmd_ok("RNTO scan.pdf", 250);
    let home = site.root.join("homes/cam");
    assert_eq!(std::fs::read(home.join("scan.pdf")).unwrap(), b"new scan");
    c.upload("STOR again.part", b"again");
    c.cmd_ok("RNFR again.part", 350);
    c.cmd_ok("RNTO old.pdf", 550);
    c.cmd_ok("RNFR old.pdf", 550);
    assert_eq!(std::fs::read(home.join("old.pdf")).unwrap(), b"old scan");
}

/// `--upload-replace-own`: a camera account replaces its own
/// `snapshot.jpg` every time (by STOR, or by renaming its `.part`), but not
/// a file another account uploaded nor one the admin put there.
#[test]
fn an_upload_account_replaces_its_own_snapshot() {
    let site = Site::new(&[("cam", "upload:/homes/cam"), ("cam2", "upload:/homes/cam")]);
    let mut options = site.options();
    options.extra.push("--upload-replace-own".into());
    let d = Daemon::with(options);
    let home = site.root.join("homes/cam");
    let mut cam = login(&d, "cam");
    cam.upload("STOR snapshot.jpg", b"first");
    cam.upload("STOR snapshot.jpg", b"second");
    assert_eq!(std::fs::read(home.join("snapshot.jpg")).unwrap(), b"second");
    cam.upload("STOR snapshot.jpg.part", b"third");
    cam.cmd_ok("RNFR snapshot.jpg.part", 350);
    cam.cmd_ok("RNTO snapshot.jpg", 250);
    assert_eq!(std::fs::read(home.join("snapshot.jpg")).unwrap(), b"third");
    assert_eq!(cam.transfer_reply("STOR old.pdf").code, 550, "the admin's");
    let mut other = login(&d, "cam2");
    assert_eq!(other.transfer_reply("STOR snapshot.jpg").code, 550);
    assert_eq!(std::fs::read(home.join("snapshot.jpg")).unwrap(), b"third");
    assert_eq!(std::fs::read(home.join("old.pdf")).unwrap(), b"old scan");
}

/// `--max-sessions-per-user 2` (issue 27, 5): a third session of one
/// account gets `421` at `PASS` and is closed; other accounts are not
/// counted with it, and a session that ends frees its place.
#[test]
fn an_account_has_at_most_its_sessions() {
    let site = Site::new(&[("cam", "upload:/homes/cam"), ("ann", "user:homes/ann")]);
    let mut options = site.options();
    options
        .extra
        .extend(["--max-sessions-per-user".into(), "2".into()]);
    let d = Daemon::with(options);
    let first = login(&d, "cam");
    let _second = login(&d, "cam");
    let mut third = d.connect();
    third.cmd_ok("USER cam", 331);
    let r = third.cmd_ok("PASS pw", 421);
    assert_eq!(
        r.text(),
        "Too many sessions for this user; try again later."
    );
    third.expect_closed();
    let _ann = login(&d, "ann");
    let mut wrong = d.connect();
    wrong.cmd_ok("USER cam", 331);
    wrong.cmd_ok("PASS wrong", 530);
    drop(first);
    assert!(wait_until(Duration::from_secs(5), || {
        let mut again = d.connect();
        again.cmd_ok("USER cam", 331);
        again.cmd("PASS pw").code == 230
    }));
    assert!(d
        .stderr()
        .contains("login as \"cam\" refused: it has as many sessions as it may"));
}
