//! What a bare start serves (issue 24): names starting with a dot are
//! neither listed, read, written nor entered unless `--dotfiles`, and the
//! start-up says who may log in and do what with which folder.

use pocketftpd_tests::*;
use std::fs;
use std::process::Command;
use std::time::Duration;

/// A served folder such as a home: a key, an `.env`, a hidden file in a
/// folder, and ordinary files.
fn home_like(d: &Daemon) {
    d.put(".ssh/id_rsa", b"-----BEGIN OPENSSH PRIVATE KEY-----");
    d.put(".env", b"PASSWORD=hunter2");
    d.put("pub/.hidden", b"h");
    d.put("pub/notes.txt", b"notes");
    d.put("a.txt", b"a");
}

fn curl(d: &Daemon, path: &str) -> Run {
    let url = format!("ftp://127.0.0.1:{}/{path}", d.port);
    run_bounded(
        Command::new("curl").args(["-s", "-S", "--max-time", "30", &url]),
        b"",
        Duration::from_secs(60),
    )
}

#[test]
fn dot_names_are_not_served_by_default() {
    if !need_program("curl") {
        return;
    }
    let d = Daemon::start_write();
    home_like(&d);
    // The fake key of the issue: curl downloaded it from a bare start.
    let key = curl(&d, ".ssh/id_rsa");
    assert!(!key.success(), "{:?}", String::from_utf8_lossy(&key.stdout));
    let listing = curl(&d, "");
    assert!(listing.success(), "{}", listing.stderr);
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains("a.txt") && listing.contains("pub"),
        "{listing}"
    );
    assert!(
        !listing.contains(".ssh") && !listing.contains(".env"),
        "{listing}"
    );

    let mut c = d.login();
    for refused in [
        "RETR .env",
        "CWD .ssh",
        "SIZE pub/.hidden",
        "DELE .env",
        "MKD .config",
        "RMD .ssh",
        "SITE CHMOD 777 .env",
    ] {
        let reply = c.cmd(refused);
        assert_eq!(
            reply.lines,
            ["550 Names starting with a dot are not served."],
            "{refused}"
        );
    }
    assert_eq!(c.transfer_reply("STOR .env").code, 550);
    assert_eq!(c.transfer_reply("STOR pub/.hidden").code, 550);
    c.cmd_ok("RNFR a.txt", 350);
    c.cmd_ok("RNTO .a.txt", 550);
    let names = sorted_lines(&c.download("NLST pub"));
    assert_eq!(names, ["notes.txt"]);
    let all = sorted_lines(&c.download("NLST *"));
    assert_eq!(all, ["a.txt", "pub"]);
    assert_eq!(
        fs::read(d.root().join(".env")).unwrap(),
        b"PASSWORD=hunter2"
    );
    assert!(!d.root().join(".config").exists());
    c.cmd_ok("QUIT", 221);
    assert!(
        wait_until(Duration::from_secs(5), || d.stderr().contains(
            "refused /.env: names starting with a dot are not served"
        )),
        "{}",
        d.stderr()
    );
}

#[test]
fn dotfiles_serves_them() {
    let d = Daemon::with(Options {
        extra: vec!["--dotfiles".into()],
        ..Options::write()
    });
    home_like(&d);
    let mut c = d.login();
    assert_eq!(c.download("RETR .env"), b"PASSWORD=hunter2");
    c.cmd_ok("CWD .ssh", 250);
    c.cmd_ok("CDUP", 250);
    c.upload("STOR .profile", b"p");
    let names = sorted_lines(&c.download("NLST"));
    assert_eq!(names, [".env", ".profile", ".ssh", "a.txt", "pub"]);
}

/// The start-up names what is served to whom, and whether anyone may
/// write (a warning when other machines can connect; these tests listen
/// on loopback only, so here it is information).
#[test]
fn the_start_up_says_who_may_do_what_with_which_folder() {
    let d = Daemon::start_write();
    let root = fs::canonicalize(d.root()).unwrap();
    let want = format!(
        "anyone who reaches 127.0.0.1:{} (this machine only) may log in with any name and password and read, upload, change and delete everything in {}; names starting with a dot are hidden (--dotfiles serves them)",
        d.port,
        root.display()
    );
    assert!(
        wait_until(Duration::from_secs(5), || d.stderr().contains(&want)),
        "{}",
        d.stderr()
    );
}
