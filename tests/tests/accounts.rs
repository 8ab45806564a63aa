//! Users-file roles and home folders (issue 15): the `upload` drop box, the
//! read-only `user`, a home its user cannot leave (not through `..`, not
//! through a symlink), and the start-up check of every home.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use pocketftpd_tests::*;

/// A root with `/secret.txt`, `/homes/cam/old.pdf` and `/homes/ann/...`,
/// and a users file for them.
struct Site {
    root: TempDir,
    users: TempDir,
}

impl Site {
    fn new(lines: &[(&str, &str)]) -> Site {
        let root = TempDir::new("accounts");
        std::fs::write(root.join("secret.txt"), b"top secret").unwrap();
        std::fs::create_dir_all(root.join("homes/cam")).unwrap();
        std::fs::create_dir_all(root.join("homes/ann/docs")).unwrap();
        std::fs::write(root.join("homes/cam/old.pdf"), b"old scan").unwrap();
        std::fs::write(root.join("homes/ann/docs/a.txt"), b"ann's").unwrap();
        let users = TempDir::new("users");
        let hash = password_hash("pw");
        let text: String = lines
            .iter()
            .map(|(name, rest)| format!("{name}:{hash}:{rest}\n"))
            .collect();
        std::fs::write(users.join("users"), text).unwrap();
        Site { root, users }
    }

    fn args(&self) -> Vec<String> {
        let users = self.users.join("users");
        vec![
            "--users".into(),
            users.to_str().unwrap().into(),
            "--login-delay".into(),
            "0".into(),
        ]
    }

    fn start(&self) -> Daemon {
        Daemon::with(Options {
            root: Some(self.root.path().to_path_buf()),
            extra: self.args(),
            ..Options::default()
        })
    }
}

fn login(d: &Daemon, user: &str) -> Ctrl {
    let mut c = d.connect();
    c.cmd_ok(&format!("USER {user}"), 331);
    c.cmd_ok("PASS pw", 230);
    c
}

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
    let home = site.root.join("homes/ann");
    symlink("../../secret.txt", home.join("up.txt")).unwrap();
    symlink(site.root.join("secret.txt"), home.join("abs.txt")).unwrap();
    symlink("docs/a.txt", home.join("inside.txt")).unwrap();
    let d = site.start();
    let mut c = login(&d, "ann");
    let pwd = c.cmd_ok("PWD", 257);
    assert!(pwd.text().contains("\"/\""), "{}", pwd.full());
    c.cmd_ok("CWD ../..", 250);
    c.cmd_ok("SIZE docs/a.txt", 213);
    for outside in [
        "../secret.txt",
        "/secret.txt",
        "../../secret.txt",
        "up.txt",
        "abs.txt",
    ] {
        let r = c.cmd(&format!("SIZE {outside}"));
        assert_eq!(r.code, 550, "SIZE {outside}: {}", r.full());
    }
    assert_eq!(c.download("RETR inside.txt"), b"ann's");
    assert_eq!(c.transfer_reply("RETR up.txt").code, 550);
    let names = String::from_utf8(c.download("NLST /")).unwrap();
    assert!(
        !names.contains("secret") && !names.contains("homes"),
        "{names}"
    );
    // A user without a home sees the whole root.
    let mut admin = login(&d, "root");
    admin.cmd_ok("SIZE secret.txt", 213);
    admin.cmd_ok("SIZE homes/ann/docs/a.txt", 213);
}

/// A home that does not exist stops the daemon at start-up, naming the
/// users file and the line.
#[test]
fn a_missing_home_is_a_start_up_error() {
    let site = Site::new(&[("ann", "user:/homes/ann"), ("bob", "user:/homes/bob")]);
    let run = run_bounded(
        daemon_command()
            .arg("--root")
            .arg(site.root.path())
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", free_port()))
            .args(site.args()),
        b"",
        Duration::from_secs(20),
    );
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
