//! Permission modes (issue 15): `--umask` for new uploads and folders,
//! `SITE CHMOD`, the `UNIX.mode` fact, and lftp mirroring with modes both
//! ways (lftp `mirror -R` sends `SITE CHMOD` after its uploads, and
//! `mirror` gives downloads the modes MLSD reports).

use pocketftpd_tests::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

fn mode(p: &Path) -> u32 {
    let meta = fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    meta.permissions().mode() & 0o7777
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

fn writable_with(extra: &[&str]) -> Daemon {
    Daemon::with(Options {
        write: true,
        extra: extra.iter().map(|s| s.to_string()).collect(),
        ..Options::default()
    })
}

/// The test process's umask (Linux 4.7+), without changing it.
fn own_umask() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
}

#[test]
fn umask_077_gives_private_uploads_and_folders() {
    let d = writable_with(&["--umask", "077"]);
    let kept = d.put("kept.txt", b"old");
    chmod(&kept, 0o644);
    let mut c = d.login();
    c.upload("STOR new.bin", b"x");
    c.upload("APPE appended.bin", b"y");
    c.cmd_ok("MKD dir", 257);
    c.upload("STOR dir/inner.bin", b"z");
    c.upload("STOR kept.txt", b"new");
    let root = d.root();
    for (name, want) in [
        ("new.bin", 0o600),
        ("appended.bin", 0o600),
        ("dir", 0o700),
        ("dir/inner.bin", 0o600),
        // An upload that replaces a file keeps that file's mode.
        ("kept.txt", 0o644),
    ] {
        assert_eq!(mode(&root.join(name)), want, "{name}");
    }
    assert_eq!(fs::read(root.join("kept.txt")).unwrap(), b"new");
}

#[test]
fn the_default_umask_is_022() {
    let d = Daemon::start_write();
    let mut c = d.login();
    c.upload("STOR new.bin", b"x");
    c.cmd_ok("MKD dir", 257);
    assert_eq!(mode(&d.root().join("new.bin")), 0o644);
    assert_eq!(mode(&d.root().join("dir")), 0o755);
}

#[test]
fn sighup_rereads_the_umask() {
    let dir = TempDir::new("umask-reload");
    let config = dir.join("pocketftpd.conf");
    fs::write(&config, "umask = 077\n").unwrap();
    let d = writable_with(&["--config", config.to_str().unwrap()]);
    d.login().upload("STOR before.bin", b"x");
    assert_eq!(mode(&d.root().join("before.bin")), 0o600);
    fs::write(&config, "umask = 027\n").unwrap();
    d.signal("HUP");
    assert!(
        wait_until(Duration::from_secs(10), || d
            .stderr()
            .contains("SIGHUP: settings re-read")),
        "{}",
        d.stderr()
    );
    d.login().upload("STOR after.bin", b"x");
    assert_eq!(mode(&d.root().join("after.bin")), 0o640);
}

#[test]
fn a_bad_umask_is_refused_at_start_up_naming_the_option() {
    let run = run_bounded(
        daemon_command().args(["--umask", "0888"]),
        b"",
        Duration::from_secs(10),
    );
    assert!(!run.success());
    assert!(
        run.stderr
            .contains("--umask: \"0888\" is not an octal umask"),
        "{}",
        run.stderr
    );
}

#[test]
fn site_chmod_changes_modes_inside_the_root_only() {
    let d = Daemon::start_write();
    let file = d.put("f.txt", b"x");
    chmod(&file, 0o644);
    fs::create_dir(d.root().join("d")).unwrap();
    let secret = d.scratch().join("secret");
    fs::write(&secret, b"outside").unwrap();
    chmod(&secret, 0o600);
    std::os::unix::fs::symlink(&secret, d.root().join("out")).unwrap();
    std::os::unix::fs::symlink("f.txt", d.root().join("in")).unwrap();

    let mut c = d.login();
    assert_eq!(
        c.cmd_ok("SITE CHMOD 640 f.txt", 200).text(),
        "SITE CHMOD command ok."
    );
    assert_eq!(mode(&file), 0o640);
    c.cmd_ok("SITE CHMOD 0750 d", 200);
    assert_eq!(mode(&d.root().join("d")), 0o750);
    c.cmd_ok("SITE CHMOD 604 in", 200);
    assert_eq!(mode(&file), 0o604);
    c.cmd_ok("SITE CHMOD 777 out", 550);
    c.cmd_ok("SITE CHMOD 777 ../scratch/secret", 550);
    assert_eq!(mode(&secret), 0o600);
    for refused in [
        "SITE CHMOD 4755 f.txt",
        "SITE CHMOD u+x f.txt",
        "SITE CHMOD 644",
    ] {
        c.cmd_ok(refused, 501);
    }
    assert_eq!(mode(&file), 0o604);
    c.cmd_ok("SITE CHMOD 644 missing", 550);
    c.cmd_ok("SITE UMASK 022", 502);
    let help = c.cmd_ok("SITE HELP", 214);
    assert!(
        help.is_multiline() && help.full().contains("CHMOD"),
        "{help:?}"
    );
    let facts = c.cmd_ok("MLST f.txt", 250).full();
    assert!(facts.contains(";UNIX.mode=0604; "), "{facts}");

    // A session that may not write may not change modes either.
    let ro = Daemon::start();
    let file = ro.put("f.txt", b"x");
    chmod(&file, 0o644);
    ro.login().cmd_ok("SITE CHMOD 600 f.txt", 550);
    assert_eq!(mode(&file), 0o644);
}

fn lftp(d: &Daemon, script: &str) -> Run {
    clients::lftp(d.port, "set ftp:ssl-allow no;", script)
}

/// A folder of 0755, another of 0700, files of 0755, 0644 and 0600.
fn make_moded_tree(top: &Path) {
    let files = [
        ("run.sh", 0o755),
        ("a.txt", 0o644),
        ("key.pem", 0o600),
        ("private/notes.txt", 0o640),
    ];
    for (rel, file_mode) in files {
        let p = top.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, rel.as_bytes()).unwrap();
        chmod(&p, file_mode);
    }
    chmod(&top.join("private"), 0o700);
    chmod(top, 0o755);
}

fn assert_modes(got: &Path, want: &Path, mask: u32) {
    for rel in [
        "",
        "run.sh",
        "a.txt",
        "key.pem",
        "private",
        "private/notes.txt",
    ] {
        assert_eq!(
            mode(&got.join(rel)),
            mode(&want.join(rel)) & !mask,
            "mode of {rel:?} in {}",
            got.display()
        );
    }
}

#[test]
fn lftp_mirror_upload_exits_zero_and_sets_modes() {
    if !need_program("lftp") {
        return;
    }
    let d = Daemon::start_write();
    let local = TempDir::new("lftp-modes-up");
    make_moded_tree(&local.join("tree"));
    let run = lftp(
        &d,
        &format!("mirror -R {} /tree", local.join("tree").display()),
    );
    assert!(!run.stderr.contains("chmod"), "{}", run.stderr);
    assert_modes(&d.root().join("tree"), &local.join("tree"), 0);
    assert_eq!(fs::read(d.root().join("tree/key.pem")).unwrap(), b"key.pem");
}

#[test]
fn lftp_mirror_download_keeps_modes() {
    if !need_program("lftp") {
        return;
    }
    let d = Daemon::start();
    make_moded_tree(&d.root().join("tree"));
    let local = TempDir::new("lftp-modes-down");
    lftp(
        &d,
        &format!("mirror /tree {}", local.join("tree").display()),
    );
    // lftp applies its own umask to the modes it was told, as cp does.
    assert_modes(&local.join("tree"), &d.root().join("tree"), own_umask());
    // What issue 15 saw: read-only copies the user could not delete.
    assert_ne!(mode(&local.join("tree/a.txt")) & 0o200, 0);
}
