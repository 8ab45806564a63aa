//! `--min-free` (issue 27, 3) on a tmpfs of 4 MiB that really fills: an
//! upload is refused with `452` when the free space is below the floor,
//! one that would cross it is cut with `452`, and a cut leaves neither a
//! temporary nor a partial file, and the old file as it was.

use std::io::Write;
use std::net::Shutdown;

use pocketftpd_tests::*;

const MIB: usize = 1024 * 1024;

/// A daemon that may write, serving `fs` with `--min-free 1M`.
fn serve(fs: &SmallFs) -> Daemon {
    Daemon::with(Options {
        root: Some(fs.path().to_owned()),
        extra: vec!["--min-free".into(), "1M".into()],
        ..Options::write()
    })
}

/// Uploads `bytes` with `line` as far as the daemon takes them; returns
/// the final reply (the write may fail once the daemon cut the upload).
fn upload_until_cut(c: &mut Ctrl, line: &str, bytes: &[u8]) -> Reply {
    let mut data = c.begin_transfer(line);
    let _ = data.write_all(bytes);
    let _ = data.shutdown(Shutdown::Write);
    drop(data);
    c.reply()
}

#[test]
fn uploads_that_would_cross_min_free_are_cut_and_leave_nothing() {
    let Some(fs) = SmallFs::mount("min-free", 4096) else {
        return;
    };
    let d = serve(&fs);
    let old = vec![b'o'; 100 * 1024];
    d.put("old.bin", &old);
    let mut c = d.login();
    c.upload("STOR a.bin", &vec![b'a'; 2 * MIB]);
    // About 1.9 MiB free, 1 MiB of it kept: 1.5 MiB more crosses the floor.
    let big = vec![b'b'; 3 * MIB / 2];
    for line in ["STOR old.bin", "APPE old.bin", "STOU", "STOR new.bin"] {
        let r = upload_until_cut(&mut c, line, &big);
        assert_eq!(r.code, 452, "{line}: {}", r.full());
        assert_eq!(r.text(), "Insufficient storage space; transfer aborted.");
        assert_eq!(d.names(""), ["a.bin", "old.bin"], "{line} left a file");
        assert_eq!(
            std::fs::read(d.root().join("old.bin")).unwrap(),
            old,
            "{line}"
        );
    }
    // What stays within the floor still goes in.
    c.upload("APPE old.bin", b"tail");
    assert_eq!(
        std::fs::metadata(d.root().join("old.bin")).unwrap().len(),
        100 * 1024 + 4
    );
    // Below the floor already: refused before the 150, nothing made.
    std::fs::write(d.root().join("filler"), vec![0u8; 3 * MIB / 2]).unwrap();
    for line in ["STOR small.txt", "APPE small.txt", "STOU"] {
        let r = c.transfer_reply(line);
        assert_eq!(
            (r.code, r.text()),
            (452, "Insufficient storage space."),
            "{line}"
        );
    }
    assert_eq!(d.names(""), ["a.bin", "filler", "old.bin"]);
    std::fs::remove_file(d.root().join("filler")).unwrap();
    c.upload("STOR small.txt", b"fits again");
    assert!(d.stderr().contains("upload cut, nothing of it kept: the file system's free space would fall below --min-free 1048576 bytes"), "{}", d.stderr());
}

/// `--min-free 0` turns the guard off: the file system's own end (ENOSPC)
/// still answers `452`, and still leaves no partial file.
#[test]
fn without_min_free_a_full_disk_still_leaves_no_partial_file() {
    let Some(fs) = SmallFs::mount("min-free-off", 2048) else {
        return;
    };
    let d = Daemon::with(Options {
        root: Some(fs.path().to_owned()),
        extra: vec!["--min-free".into(), "0".into()],
        ..Options::write()
    });
    d.put("old.bin", b"old");
    let mut c = d.login();
    c.upload("STOR most.bin", &vec![b'm'; MIB]);
    for line in ["APPE old.bin", "STOR old.bin", "STOU"] {
        let r = upload_until_cut(&mut c, line, &vec![b'x'; 2 * MIB]);
        assert_eq!(r.code, 452, "{line}: {}", r.full());
        assert_eq!(d.names(""), ["most.bin", "old.bin"], "{line}");
        assert_eq!(std::fs::read(d.root().join("old.bin")).unwrap(), b"old");
    }
}
