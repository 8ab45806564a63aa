//! The path-traversal cases of `errors.rs`, `edges.rs` and `accounts.rs`
//! against a daemon that resolves paths without `openat2(2)`, one
//! component at a time (issue 16: kernels before 5.6, qemu-user, seccomp
//! filters). `POCKETFTPD_FORCE_FALLBACK_RESOLVER=1`, a test-only switch,
//! makes the daemon take that path on any kernel; every reply must be the
//! one the `openat2` path gives. A few cases beyond those files (`..` and
//! absolute targets inside the root) run against both resolvers.
//!
//! The whole suite can run on the fallback too: set the variable for
//! `cargo test`, and every daemon inherits it.

use pocketftpd_tests::accounts::Site;
use pocketftpd_tests::*;
use std::os::unix::fs::symlink;

const FORCE: &str = "POCKETFTPD_FORCE_FALLBACK_RESOLVER";

/// A daemon on the fallback resolver, which it says in its log.
fn fallback(opts: Options) -> Daemon {
    let mut env = opts.env.clone();
    env.push((FORCE.to_owned(), "1".to_owned()));
    let d = Daemon::with(Options { env, ..opts });
    let log = d.stderr();
    assert!(
        log.contains("paths resolved with openat(2), one component at a time"),
        "{log}"
    );
    d
}

/// A daemon on whatever resolver the kernel offers (`openat2` here).
fn probed(opts: Options) -> Daemon {
    let mut env = opts.env.clone();
    env.push((FORCE.to_owned(), "0".to_owned()));
    Daemon::with(Options { env, ..opts })
}

/// As `errors::paths_never_leave_the_root`.
#[test]
fn paths_never_leave_the_root() {
    traversal::paths_never_leave_the_root(&fallback(Options::default()));
}

/// As `errors::symlinks_out_of_the_root_are_refused`.
#[test]
fn symlinks_out_of_the_root_are_refused() {
    traversal::symlinks_out_of_the_root_are_refused(&fallback(Options::default()));
}

/// As `edges::symlinks_out_of_the_root_are_refused_for_writes`.
#[test]
fn symlinks_out_of_the_root_are_refused_for_writes() {
    traversal::symlinks_out_of_the_root_are_refused_for_writes(&mut fallback(Options::write()));
}

/// As `edges::symlinks_inside_the_root_are_followed`.
#[test]
fn symlinks_inside_the_root_are_followed() {
    traversal::symlinks_inside_the_root_are_followed(&fallback(Options::default()));
}

/// As `accounts::a_home_cannot_be_left`: a home is the user's `/`.
#[test]
fn a_home_cannot_be_left() {
    let site = Site::new(&[("ann", "user:homes/ann"), ("root", "super")]);
    traversal::a_home_cannot_be_left(&fallback(site.options()));
}

/// Links that climb with `..` and come back are followed, and so is a chain
/// of 40; one that climbs out, an absolute one (even naming a file inside
/// the root), a loop and a chain of 41 are refused: the same replies from
/// both resolvers.
#[test]
fn links_with_dot_dot_absolute_targets_and_loops_answer_alike() {
    for start in [fallback as fn(Options) -> Daemon, probed] {
        let d = start(Options::default());
        d.put("real/deeper/file.txt", b"deep body");
        let root = d.root();
        symlink("../real/deeper/file.txt", root.join("real/back")).unwrap();
        symlink("../../real/back", root.join("real/deeper/twice")).unwrap();
        symlink("../..", root.join("real/deeper/above")).unwrap();
        symlink("../../..", root.join("real/deeper/out")).unwrap();
        symlink(root.join("real/deeper/file.txt"), root.join("absolute")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        symlink("real/deeper/file.txt", root.join("l0")).unwrap();
        for n in 1..=40 {
            symlink(format!("l{}", n - 1), root.join(format!("l{n}"))).unwrap();
        }
        let mut c = d.login();
        for path in ["real/back", "real/deeper/twice", "l39"] {
            assert_eq!(c.cmd_ok(&format!("SIZE {path}"), 213).lines[0], "213 9");
        }
        assert_eq!(c.download("RETR real/deeper/twice"), b"deep body");
        c.cmd_ok("CWD real/deeper/above/real", 250);
        for path in ["/real/deeper/out", "/absolute", "/loop", "/l40"] {
            c.cmd_ok(&format!("SIZE {path}"), 550);
            assert_eq!(
                c.transfer_reply(&format!("RETR {path}")).code,
                550,
                "{path}"
            );
        }
    }
}
