//! The defects of issue 13 that a hostile client, a crash or a changing
//! file system exposed, one test per behaviour: restart offsets in TYPE A
//! and on REST+STOR, files that shrink under RETR, STOU in crowded folders,
//! what STOR keeps of the old file, and temporary files a crash left behind.

use pocketftpd_tests::*;
use std::io::Read;

#[test]
fn rest_in_type_a_skips_file_bytes() {
    let d = Daemon::start();
    d.put("lines.txt", b"one\ntwo\nthree\nfour\n");
    let mut c = d.login();
    c.cmd_ok("TYPE A", 200);
    // Offset 6 counts file bytes (as vsftpd does): "o\nthree\nfour\n" is
    // left, and its LFs go out as CRLF.
    let got = c.download_rest(Some(6), "RETR lines.txt");
    assert_eq!(got, b"o\r\nthree\r\nfour\r\n");
}

#[test]
fn rest_stor_without_a_data_connection_leaves_the_file_alone() {
    let d = Daemon::with(Options {
        data_timeout: Some(1),
        ..Options::write()
    });
    let path = d.put("f", &[b'x'; 100]);
    let mut c = d.login();
    c.cmd_ok("TYPE I", 200);
    let _never_connected = c.pasv();
    c.cmd_ok("REST 5", 350);
    c.send("STOR f");
    c.expect_reply(425);
    assert_bytes_eq(
        "after the 425",
        &std::fs::read(&path).unwrap(),
        &[b'x'; 100],
    );
    // Once a transfer does start, it cuts the file at the offset.
    c.upload_rest(Some(5), "STOR f", b"abc");
    assert_eq!(std::fs::read(&path).unwrap(), b"xxxxxabc");
}

#[test]
fn a_file_that_shrinks_during_retr_gets_451() {
    let d = Daemon::start();
    for type_line in ["TYPE A", "TYPE I"] {
        let path = d.put("big", &vec![b'x'; 16 << 20]);
        let mut c = d.login();
        c.cmd_ok(type_line, 200);
        let pending = c.pasv();
        c.send("RETR big");
        let mut data = pending.open();
        c.expect_one_of(&[125, 150]);
        let mut first = [0u8; 64 << 10];
        data.read_exact(&mut first).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
        let mut rest = Vec::new();
        // The daemon may reset the data connection when it gives up.
        let _ = data.read_to_end(&mut rest);
        let r = c.reply();
        assert_eq!(
            r.code,
            451,
            "{type_line}: {} bytes, then {:?}",
            first.len() + rest.len(),
            r.lines
        );
    }
}

#[test]
fn stou_in_a_folder_full_of_upload_names_succeeds() {
    let d = Daemon::start_write();
    let crowded = d.root().join("crowded");
    std::fs::create_dir(&crowded).unwrap();
    for n in 1..=100_000 {
        std::fs::File::create(crowded.join(format!("upload.{n}"))).unwrap();
    }
    let mut c = d.login();
    c.cmd_ok("CWD crowded", 250);
    c.cmd_ok("TYPE I", 200);
    let pending = c.pasv();
    c.send("STOU");
    let mut data = pending.open();
    let r = c.expect_one_of(&[125, 150]);
    let name = r
        .text()
        .strip_prefix("FILE: ")
        .unwrap_or_else(|| panic!("no FILE: name in {:?}", r.lines))
        .to_owned();
    std::io::Write::write_all(&mut data, b"unique").unwrap();
    drop(data);
    c.expect_reply(226);
    assert_eq!(std::fs::read(crowded.join(&name)).unwrap(), b"unique");
}

/// The permission bits (and, for root, the owner) of a file in the root.
fn mode_and_owner(path: &std::path::Path) -> (u32, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).unwrap();
    (m.mode() & 0o7777, m.uid(), m.gid())
}

/// The umask this test (and so the daemon it starts) runs with.
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .unwrap();
    u32::from_str_radix(field.trim(), 8).unwrap()
}

#[test]
fn stor_keeps_the_replaced_files_mode_and_owner() {
    use std::os::unix::fs::PermissionsExt;
    let d = Daemon::start_write();
    let secret = d.put("secret", b"old");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let read_only = d.put("read-only", b"old");
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o444)).unwrap();
    // Set-id bits are never carried over to uploaded content.
    let setuid = d.put("setuid", b"old");
    std::fs::set_permissions(&setuid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let (_, me, _) = mode_and_owner(&secret);
    if me == 0 {
        std::os::unix::fs::chown(&secret, Some(1234), Some(4321)).unwrap();
    }
    let before = mode_and_owner(&secret);
    let mut c = d.login();
    c.cmd_ok("TYPE I", 200);
    for name in ["secret", "read-only", "setuid", "fresh"] {
        c.upload(&format!("STOR {name}"), b"new");
        assert_eq!(
            std::fs::read(d.root().join(name)).unwrap(),
            b"new",
            "{name}"
        );
    }
    assert_eq!(mode_and_owner(&secret), before);
    assert_eq!(mode_and_owner(&read_only).0, 0o444);
    assert_eq!(mode_and_owner(&setuid).0, 0o755);
    // A new file still gets 0644 less the umask.
    assert_eq!(mode_and_owner(&d.root().join("fresh")).0, 0o644 & !umask());
}

/// The daemon's hidden upload files in a folder.
fn temps(folder: &std::path::Path) -> Vec<String> {
    dir_names(folder)
        .into_iter()
        .filter(|n| n.starts_with(".pocketftpd-upload-"))
        .collect()
}

/// Starts `STOR path` and sends `len` bytes without finishing; returns once
/// the daemon wrote them all into its temporary file in `folder`.
fn half_upload(d: &Daemon, path: &str, folder: &str, len: usize) -> (Ctrl, std::net::TcpStream) {
    let mut c = d.login();
    let mut data = c.begin_transfer(&format!("STOR {path}"));
    std::io::Write::write_all(&mut data, &vec![b'u'; len]).unwrap();
    let folder = d.root().join(folder);
    let arrived = wait_until(READ_TIMEOUT, || {
        temps(&folder)
            .iter()
            .any(|t| std::fs::metadata(folder.join(t)).is_ok_and(|m| m.len() == len as u64))
    });
    assert!(arrived, "no temporary file of {len} bytes in {folder:?}");
    (c, data)
}

/// Another daemon on the same root, as after a restart.
fn daemon_on(root: &std::path::Path) -> Daemon {
    Daemon::with(Options {
        root: Some(root.to_path_buf()),
        ..Options::write()
    })
}

#[test]
fn a_crashed_uploads_temp_file_is_swept_at_start_and_before_rmd() {
    let mut crashed = Daemon::start_write();
    let root = crashed.root().to_path_buf();
    std::fs::create_dir(root.join("at-start")).unwrap();
    std::fs::create_dir(root.join("at-rmd")).unwrap();
    let upload = half_upload(&crashed, "at-start/f", "at-start", 3 << 20);
    crashed.signal("KILL");
    crashed.wait_exit(READ_TIMEOUT);
    drop(upload);
    assert_eq!(temps(&root.join("at-start")).len(), 1);

    // A restart sweeps it before it serves.
    let d = daemon_on(&root);
    assert_eq!(dir_names(&root.join("at-start")), Vec::<String>::new());
    let mut c = d.login();
    c.cmd_ok("RMD at-start", 250);

    // A daemon that crashes while another serves the same folder: RMD
    // there sweeps the folder first.
    let mut second = daemon_on(&root);
    let upload = half_upload(&second, "at-rmd/f", "at-rmd", 1 << 20);
    second.signal("KILL");
    second.wait_exit(READ_TIMEOUT);
    drop(upload);
    assert_eq!(temps(&root.join("at-rmd")).len(), 1);
    c.cmd_ok("RMD at-rmd", 250);
    assert!(!root.join("at-rmd").exists());
}

#[test]
fn a_live_uploads_temp_file_is_not_swept_by_another_daemon() {
    let d = Daemon::start_write();
    let root = d.root().to_path_buf();
    std::fs::create_dir(root.join("busy")).unwrap();
    let (mut c, mut data) = half_upload(&d, "busy/f", "busy", 1 << 20);

    // Another daemon starting on the same root leaves it alone, and so
    // does its RMD: the folder is not empty while the upload runs.
    let other = daemon_on(&root);
    assert_eq!(temps(&root.join("busy")).len(), 1);
    let mut o = other.login();
    o.cmd_ok("RMD busy", 550);
    assert_eq!(temps(&root.join("busy")).len(), 1);

    std::io::Write::write_all(&mut data, b"end").unwrap();
    drop(data);
    c.expect_reply(226);
    assert_eq!(
        std::fs::metadata(root.join("busy/f")).unwrap().len(),
        (1 << 20) + 3
    );
    assert_eq!(dir_names(&root.join("busy")), ["f"]);
}

/// A server nobody may upload to does not sweep at start-up: it deletes
/// nothing (a read-only share of a big tree also starts at once).
#[test]
fn a_read_only_server_does_not_sweep() {
    let dir = TempDir::new("no-sweep");
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    // What a daemon of node "here" (below) leaves when killed mid-upload.
    let stale = root.join("sub/.pocketftpd-upload-here@1-2-3");
    std::fs::write(&stale, b"half an upload").unwrap();
    let d = Daemon::with(Options {
        root: Some(root.clone()),
        extra: vec!["--log-level".into(), "debug".into()],
        ..Options::default()
    });
    assert!(
        wait_until(READ_TIMEOUT, || d
            .stderr()
            .contains("nobody may upload: no sweep for stale upload files")),
        "{}",
        d.stderr()
    );
    assert!(stale.exists());
    drop(d);
    // One that takes uploads does.
    let _d = Daemon::with(Options {
        root: Some(root.clone()),
        extra: vec!["--node-id".into(), "here".into()],
        ..Options::write()
    });
    assert!(!stale.exists());
}
