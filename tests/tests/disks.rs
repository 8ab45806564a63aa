//! Full, read-only, failing and vanishing disks (issue 23), on file
//! systems each test mounts itself (as root; see `mounts.rs`): a tmpfs
//! with a size (ENOSPC), an ext4 image on a loop device remounted
//! read-only by the admin or by the kernel after an error (EROFS), a FUSE
//! file system whose reads fail (EIO) or whose server is gone (ENOTCONN).
//! The session goes on after each, the log says what the disk did, and
//! the daemon serves the disk again once it is back, without a restart.

use std::io::Write;
use std::net::Shutdown;
use std::time::Duration;

use pocketftpd_tests::mounts::{need_mounts, Mount};
use pocketftpd_tests::*;

/// A daemon that may write, serving `root`, with no `--min-free` floor:
/// these disks really fill (the floor has its own tests, `space.rs`).
fn serving(root: &std::path::Path) -> Daemon {
    Daemon::with(Options {
        write: true,
        root: Some(root.to_owned()),
        extra: vec!["--min-free".into(), "0".into()],
        ..Options::default()
    })
}

/// Sends `bytes` for a transfer the daemon may cut short: a write that
/// fails is the daemon closing the data connection, which is the point.
fn send_all(mut data: std::net::TcpStream, bytes: &[u8]) {
    for chunk in bytes.chunks(64 * 1024) {
        if data.write_all(chunk).is_err() {
            return;
        }
    }
    let _ = data.shutdown(Shutdown::Write);
}

/// Waits (bounded) for the daemon's log to hold `text`.
fn logged(d: &Daemon, text: &str) {
    let seen = wait_until(Duration::from_secs(10), || d.stderr().contains(text));
    assert!(seen, "no log line with {text:?}:\n{}", d.stderr());
}

/// ENOSPC during an upload: `452`, the hidden file removed, the old file
/// kept, a log line, and the session goes on (a small upload then fits).
#[test]
fn a_full_disk_refuses_the_upload_and_keeps_the_old_file() {
    if !need_mounts() {
        return;
    }
    let disk = Mount::tmpfs("1m");
    let root = disk.path().join("ftp");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("old.bin"), b"old").unwrap();
    let d = serving(&root);
    let mut ctrl = d.login();
    let data = ctrl.begin_transfer("STOR old.bin");
    send_all(data, &vec![7; 2 << 20]);
    let reply = ctrl.expect_reply(452);
    assert!(reply.text().contains("Insufficient storage"), "{reply:?}");
    assert_eq!(std::fs::read(root.join("old.bin")).unwrap(), b"old");
    assert_eq!(dir_names(&root), ["old.bin"], "the hidden file must go");
    logged(&d, "/old.bin: No space left on device");
    ctrl.cmd_ok("NOOP", 200);
    ctrl.upload("STOR small.txt", b"fits");
    assert_eq!(std::fs::read(root.join("small.txt")).unwrap(), b"fits");
}

/// A file system mounted read-only: every write is refused (`550`), with
/// a log line saying so; reads go on; remounted read-write, writes work
/// again at once — the daemon caches nothing about writability, so no
/// SIGHUP and no restart is needed.
#[test]
fn a_read_only_disk_refuses_writes_serves_reads_and_recovers_on_remount() {
    if !need_mounts() {
        return;
    }
    let disk = Mount::ext4(16);
    let root = disk.path().join("ftp");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("keep.txt"), b"kept").unwrap();
    std::fs::create_dir(root.join("dir")).unwrap();
    let d = serving(&root);
    let mut ctrl = d.login();
    disk.remount("ro");
    assert_eq!(ctrl.transfer_reply("STOR new.txt").code, 550);
    assert_eq!(ctrl.transfer_reply("APPE keep.txt").code, 550);
    assert_eq!(ctrl.transfer_reply("STOU").code, 550);
    ctrl.cmd_ok("MKD made", 550);
    ctrl.cmd_ok("RMD dir", 550);
    ctrl.cmd_ok("DELE keep.txt", 550);
    ctrl.cmd_ok("RNFR keep.txt", 350);
    ctrl.cmd_ok("RNTO moved.txt", 550);
    ctrl.cmd_ok("SITE CHMOD 600 keep.txt", 550);
    logged(&d, "read-only file system (EROFS)");
    logged(&d, "cannot upload to /: Read-only file system");
    assert_eq!(ctrl.download("RETR keep.txt"), b"kept");
    assert!(String::from_utf8_lossy(&ctrl.download("NLST")).contains("keep.txt"));

    disk.remount("rw");
    ctrl.upload("STOR new.txt", b"written");
    ctrl.cmd_ok("MKD made", 257);
    assert_eq!(std::fs::read(root.join("new.txt")).unwrap(), b"written");
}

/// The kernel makes the card read-only after an error, mid-upload (ext4's
/// `errors=remount-ro`, its journal aborted): the upload fails, the old
/// file is kept, writes are refused; that file system cannot be made
/// writable again, so the admin mounts the disk again at the same path —
/// a new folder, which the daemon finds at the next session and serves.
#[test]
fn a_disk_the_kernel_made_read_only_is_served_again_once_mounted_again() {
    if !need_mounts() {
        return;
    }
    let mut disk = Mount::ext4(16);
    let root = disk.path().join("ftp");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("photo.jpg"), b"old").unwrap();
    let d = serving(&root);
    let mut ctrl = d.login();
    let mut data = ctrl.begin_transfer("STOR photo.jpg");
    data.write_all(&[1; 64 * 1024]).unwrap();
    disk.fail_ext4();
    send_all(data, &[2; 256 * 1024]);
    let reply = ctrl.reply();
    assert!(matches!(reply.code, 451 | 550), "{reply:?}");
    assert_eq!(ctrl.transfer_reply("STOR other.txt").code, 550);
    logged(&d, "the file system is read-only");
    assert_eq!(std::fs::read(root.join("photo.jpg")).unwrap(), b"old");

    disk.mount_again();
    let mut next = d.login();
    next.upload("STOR photo.jpg", b"new");
    assert_eq!(std::fs::read(root.join("photo.jpg")).unwrap(), b"new");
    logged(&d, "names another folder now");
    // The first session sees the new disk too: it has no home folder.
    ctrl.upload("STOR other.txt", b"other");
    assert_eq!(std::fs::read(root.join("other.txt")).unwrap(), b"other");
}

/// EIO on a read during RETR: `451` after the `150`, one log line with
/// the path, and the session goes on (another file reads fine).
#[test]
fn a_read_error_is_451_with_a_log_line_and_the_session_goes_on() {
    if !need_mounts() {
        return;
    }
    let disk = Mount::failing_fuse();
    let d = Daemon::with(Options {
        root: Some(disk.path().to_owned()),
        ..Options::default()
    });
    let mut ctrl = d.login();
    let mut data = ctrl.begin_transfer("RETR bad.bin");
    let mut got = Vec::new();
    let _ = std::io::Read::read_to_end(&mut data, &mut got);
    ctrl.expect_reply(451);
    // The C library words EIO (glibc "Input/output error", musl "I/O
    // error"); the daemon's own words around it are ours.
    logged(&d, "cannot read /bad.bin: ");
    logged(&d, " (os error 5): the disk is failing, or was unplugged");
    let lines = d.stderr();
    let lines: Vec<_> = lines
        .lines()
        .filter(|l| l.contains("(os error 5)"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    ctrl.cmd_ok("NOOP", 200);
    assert_eq!(ctrl.download("RETR good.txt"), b"these bytes read fine\n");
}

/// A disk that is gone (its FUSE server killed: every access fails, as on
/// an unplugged disk or a dead share): errors for every command, a log
/// line, the session goes on; once a disk is mounted at the path again,
/// it is served, found at the next session.
#[test]
fn a_disk_that_is_gone_gives_errors_and_is_served_again_when_back() {
    if !need_mounts() {
        return;
    }
    let mut disk = Mount::failing_fuse();
    let d = Daemon::with(Options {
        write: true,
        root: Some(disk.path().to_owned()),
        ..Options::default()
    });
    let mut ctrl = d.login();
    disk.kill_server();
    assert_eq!(ctrl.transfer_reply("RETR good.txt").code, 451);
    ctrl.cmd_ok("SIZE good.txt", 451);
    ctrl.cmd_ok("NOOP", 200);
    logged(&d, "the disk or network share is gone");
    logged(&d, "the served folder was deleted or unmounted");

    disk.unmount();
    let fresh = Mount::tmpfs("1m");
    std::fs::write(fresh.path().join("back.txt"), b"back").unwrap();
    pocketftpd_tests::mounts::must(
        "mount",
        &[
            "--bind",
            fresh.path().to_str().unwrap(),
            disk.path().to_str().unwrap(),
        ],
    );
    let mut next = d.login();
    assert_eq!(next.download("RETR back.txt"), b"back");
    ctrl.cmd_ok("SIZE back.txt", 213);
}

/// The served folder deleted: a log line once, `550` for what is in it
/// (an empty listing would look like a folder emptied), the session goes
/// on; made again, it is served again from the next session, or SIGHUP.
#[test]
fn a_deleted_root_is_said_once_and_served_again_when_made_again() {
    let d = Daemon::start_write();
    d.put("a.txt", b"a");
    let mut ctrl = d.login();
    std::fs::remove_dir_all(d.root()).unwrap();
    let mut next = d.login();
    next.cmd_ok("SIZE a.txt", 550);
    assert_eq!(next.transfer_reply("LIST").code, 550);
    assert_eq!(next.transfer_reply("STOR b.txt").code, 550);
    drop(next);
    let _ = d.login();
    let said = d.stderr().matches("the served folder was deleted").count();
    assert_eq!(said, 1, "{}", d.stderr());

    std::fs::create_dir(d.root()).unwrap();
    std::fs::write(d.root().join("again.txt"), b"again").unwrap();
    d.signal("HUP");
    logged(&d, "names another folder now");
    ctrl.cmd_ok("SIZE again.txt", 213);
    ctrl.upload("STOR b.txt", b"b");
    assert_eq!(std::fs::read(d.root().join("b.txt")).unwrap(), b"b");
}
