//! The path-traversal cases, each a function of a running daemon, so that
//! the same assertions run against the `openat2` resolver (errors.rs,
//! edges.rs) and the fallback one (fallback.rs).

use std::fs;
use std::os::unix::fs::symlink;

use crate::accounts::login;
use crate::{dir_names, Daemon};

/// See the test of the same name.
pub fn paths_never_leave_the_root(d: &Daemon) {
    // A decoy inside the root where "/etc/passwd" resolves to.
    d.put("etc/passwd", b"decoy inside the root");
    let mut c = d.login();
    c.cmd_ok("TYPE I", 200);
    for path in [
        "../../etc/passwd",
        "/../../../etc/passwd",
        "../../../../../../etc/passwd",
        "etc/../../etc/passwd",
    ] {
        assert_eq!(
            c.download(&format!("RETR {path}")),
            b"decoy inside the root",
            "RETR {path}"
        );
        assert_eq!(c.cmd_ok(&format!("SIZE {path}"), 213).lines[0], "213 21");
    }
    c.cmd_ok("CWD ../../..", 250);
    assert!(c.cmd_ok("PWD", 257).lines[0].starts_with("257 \"/\""));
    c.cmd_ok("CWD ..", 250);
    assert!(c.cmd_ok("PWD", 257).lines[0].starts_with("257 \"/\""));
    c.cmd_ok("CDUP", 250);
    assert!(c.cmd_ok("PWD", 257).lines[0].starts_with("257 \"/\""));
    c.cmd_ok("CWD etc", 250);
    c.cmd_ok("CWD ../../../..", 250);
    assert!(c.cmd_ok("PWD", 257).lines[0].starts_with("257 \"/\""));
    let listing = String::from_utf8(c.download("NLST")).unwrap();
    assert_eq!(
        listing.trim_end(),
        "etc",
        "the listing after escaping is the root's"
    );
}

/// See the test of the same name.
pub fn symlinks_out_of_the_root_are_refused(d: &Daemon) {
    symlink("/etc", d.root().join("etc-link")).unwrap();
    symlink("/etc/hostname", d.root().join("host-link")).unwrap();
    let outside = d.scratch().join("secret.txt");
    fs::write(&outside, b"secret").unwrap();
    symlink(&outside, d.root().join("secret-link")).unwrap();
    let mut c = d.login();
    c.cmd_ok("CWD etc-link", 550);
    assert!(c.cmd_ok("PWD", 257).lines[0].starts_with("257 \"/\""));
    c.cmd_ok("SIZE secret-link", 550);
    c.cmd_ok("SIZE etc-link/passwd", 550);
    c.cmd_ok("MDTM secret-link", 550);
    for line in [
        "RETR etc-link/passwd",
        "RETR host-link",
        "RETR secret-link",
        "LIST etc-link",
        "NLST etc-link",
        "MLSD etc-link",
    ] {
        let r = c.transfer_reply(line);
        assert_eq!(r.code, 550, "{line}: {:?}", r.lines);
    }
    c.cmd_ok("NOOP", 200);
}

/// See the test of the same name.
pub fn symlinks_out_of_the_root_are_refused_for_writes(d: &mut Daemon) {
    let outside = d.scratch();
    fs::write(outside.join("victim.txt"), b"outside").unwrap();
    symlink(&outside, d.root().join("out-dir")).unwrap();
    symlink(outside.join("victim.txt"), d.root().join("out-file")).unwrap();
    let mut c = d.login();
    c.cmd_ok("TYPE I", 200);
    for line in [
        "STOR out-dir/new.txt",
        "STOR out-dir/victim.txt",
        "APPE out-file",
        "APPE out-dir/victim.txt",
    ] {
        let r = c.transfer_reply(line);
        assert_eq!(r.code, 550, "{line}: {:?}", r.lines);
    }
    c.cmd_ok("DELE out-dir/victim.txt", 550);
    c.cmd_ok("MKD out-dir/sub", 550);
    c.cmd_ok("RNFR out-dir/victim.txt", 550);
    // Renaming the link itself may be refused; if not, it cannot go out.
    if c.cmd_any("RNFR out-file", &[350, 550]).code == 350 {
        c.cmd_any("RNTO out-dir/renamed.txt", &[550, 553]);
    }
    assert_eq!(
        dir_names(&outside),
        ["victim.txt"],
        "something was written outside the root"
    );
    assert_eq!(fs::read(outside.join("victim.txt")).unwrap(), b"outside");
    // Renames and deletes elsewhere cannot reach out either.
    d.put("inside.txt", b"in");
    c.cmd_ok("RNFR inside.txt", 350);
    c.cmd_ok("RNTO ../../../escaped.txt", 250);
    assert_eq!(fs::read(d.root().join("escaped.txt")).unwrap(), b"in");
    d.assert_alive();
}

/// See the test of the same name.
pub fn symlinks_inside_the_root_are_followed(d: &Daemon) {
    d.put("real/file.txt", b"real body");
    symlink("real/file.txt", d.root().join("file-link")).unwrap();
    symlink("real", d.root().join("dir-link")).unwrap();
    let mut c = d.login();
    assert_eq!(c.cmd_ok("SIZE file-link", 213).lines[0], "213 9");
    assert_eq!(c.download("RETR file-link"), b"real body");
    assert_eq!(c.download("RETR dir-link/file.txt"), b"real body");
    c.cmd_ok("CWD dir-link", 250);
    assert_eq!(c.download("RETR file.txt"), b"real body");
}

/// `d` serves an [`accounts::Site`](crate::accounts::Site) where `ann`'s
/// home is `homes/ann` and `root` has none.
pub fn a_home_cannot_be_left(d: &Daemon) {
    let home = d.root().join("homes/ann");
    symlink("../../secret.txt", home.join("up.txt")).unwrap();
    symlink(d.root().join("secret.txt"), home.join("abs.txt")).unwrap();
    symlink("docs/a.txt", home.join("inside.txt")).unwrap();
    let mut c = login(d, "ann");
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
    let mut admin = login(d, "root");
    admin.cmd_ok("SIZE secret.txt", 213);
    admin.cmd_ok("SIZE homes/ann/docs/a.txt", 213);
}
