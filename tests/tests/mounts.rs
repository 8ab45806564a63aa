//! The daemon on FUSE file systems, which are not local disks: an `rclone
//! mount`, whose missing hard links and `RENAME_NOREPLACE` the upload
//! commit must get past.

use std::fs;
use std::process::Command;

use pocketftpd_tests::*;

/// On an `rclone mount` (here of a local folder), `renameat2` with
/// `RENAME_NOREPLACE` fails with `EINVAL` and `linkat` with `EIO`: an
/// upload role's commit falls back to a check and a plain rename, so its
/// STOR works (it was `451` while only `EPERM` moved on), and still never
/// replaces a file, there before (`550` at STOR) or made while the upload
/// ran (`451` at the commit, as on a local disk).
#[test]
fn an_upload_roles_commit_gets_past_an_rclone_mount() {
    if !need_fuse() || !need_program("rclone") {
        return;
    }
    let dir = TempDir::new("rclone-mount");
    let store = dir.join("store");
    fs::create_dir(&store).unwrap();
    let mut rclone = Command::new("rclone");
    rclone
        .env("RCLONE_CONFIG", dir.join("rclone.conf"))
        .arg("mount")
        .args([&store, &dir.join("mnt")])
        .args(["--vfs-cache-mode", "off"]);
    let mount = Mount::start(
        rclone,
        &dir.join("mnt"),
        "fuse.rclone",
        &dir.join("rclone.log"),
    );
    let drop_box = Daemon::with(Options {
        root: Some(mount.point().to_path_buf()),
        extra: vec!["--anonymous-role".into(), "upload".into()],
        ..Options::default()
    });
    let mut c = drop_box.login();
    c.cmd_ok("TYPE I", 200);
    c.upload("STOR new.txt", b"first");
    assert_eq!(fs::read(store.join("new.txt")).unwrap(), b"first");
    assert_eq!(c.transfer_reply("STOR new.txt").code, 550);

    // A file made (through the mount) while an upload runs is kept.
    let mut data = c.begin_transfer("STOR late.txt");
    std::io::Write::write_all(&mut data, b"mine").unwrap();
    fs::write(mount.join("late.txt"), b"theirs").unwrap();
    drop(data);
    c.expect_reply(451);
    assert_eq!(fs::read(store.join("late.txt")).unwrap(), b"theirs");
    assert_eq!(dir_names(&store), ["late.txt", "new.txt"]);
    assert_eq!(fs::read(store.join("new.txt")).unwrap(), b"first");
}
