//! Quotas (issue 27): `quota=BYTES[,FILES]` in the users file, counted per
//! home (users who share one share its count) at start-up and on SIGHUP,
//! kept by the daemon's own uploads, deletes and renames, shown by `SITE
//! QUOTA`; over it, `552` on STOR, APPE, STOU and MKD, and an upload that
//! would cross it is cut without leaving a trace.

use std::io::Write;
use std::net::Shutdown;
use std::time::Duration;

use pocketftpd_tests::accounts::{login, Site};
use pocketftpd_tests::*;

const WAIT: Duration = Duration::from_secs(20);

/// Two cameras share `/homes/cam` (100 bytes, 5 files); `boss` has the
/// whole root and no quota. The home starts with `old.pdf` (8 bytes).
fn site() -> (Site, Daemon) {
    let site = Site::new(&[
        ("cam", "super:/homes/cam quota=100,5"),
        ("cam2", "upload:/homes/cam quota=100,5"),
        ("boss", "super"),
    ]);
    let d = site.start();
    d.wait_logged("quota of /homes/cam: 8 bytes in 1 file", 1, WAIT);
    (site, d)
}

fn quota(c: &mut Ctrl) -> String {
    c.cmd_ok("SITE QUOTA", 200).text().to_owned()
}

#[test]
fn uploads_appends_deletes_and_renames_are_counted() {
    let (site, d) = site();
    let (mut cam, mut cam2, mut boss) = (login(&d, "cam"), login(&d, "cam2"), login(&d, "boss"));
    assert_eq!(quota(&mut cam), "Quota: 8 of 100 bytes, 1 of 5 files.");
    cam.upload("STOR a.txt", &[b'a'; 20]);
    assert_eq!(quota(&mut cam2), "Quota: 28 of 100 bytes, 2 of 5 files.");
    cam.upload("APPE a.txt", &[b'b'; 10]);
    assert_eq!(quota(&mut cam2), "Quota: 38 of 100 bytes, 2 of 5 files.");
    cam.upload("STOR a.txt", b"short");
    assert_eq!(quota(&mut cam), "Quota: 13 of 100 bytes, 2 of 5 files.");
    // Out of the home, by a user without one: the quota is freed.
    boss.cmd_ok("RNFR /homes/cam/a.txt", 350);
    boss.cmd_ok("RNTO /out.txt", 250);
    assert_eq!(quota(&mut cam), "Quota: 8 of 100 bytes, 1 of 5 files.");
    // Into it: counted.
    boss.upload("STOR /in.txt", &[b'i'; 30]);
    boss.cmd_ok("RNFR /in.txt", 350);
    boss.cmd_ok("RNTO /homes/cam/in.txt", 250);
    assert_eq!(quota(&mut cam), "Quota: 38 of 100 bytes, 2 of 5 files.");
    // A folder moved in is counted again (a walk).
    std::fs::create_dir(site.root.join("batch")).unwrap();
    std::fs::write(site.root.join("batch/x"), [0u8; 12]).unwrap();
    boss.cmd_ok("RNFR /batch", 350);
    boss.cmd_ok("RNTO /homes/cam/batch", 250);
    let moved = "Quota: 50 of 100 bytes, 3 of 5 files.";
    assert!(
        wait_until(WAIT, || quota(&mut cam) == moved),
        "{}",
        quota(&mut cam)
    );
    cam.cmd_ok("DELE in.txt", 250);
    cam.cmd_ok("DELE batch/x", 250);
    assert_eq!(quota(&mut cam), "Quota: 8 of 100 bytes, 1 of 5 files.");
    // STOU and a rename inside the home change nothing but the count's file.
    cam.upload("STOU", b"u");
    cam.cmd_ok("RNFR old.pdf", 350);
    cam.cmd_ok("RNTO renamed.pdf", 250);
    assert_eq!(quota(&mut cam), "Quota: 9 of 100 bytes, 2 of 5 files.");
    assert_eq!(quota(&mut boss), "No quota for this account.");
    let help = cam.cmd_ok("SITE HELP", 214).full();
    assert!(help.contains("QUOTA"), "{help}");
}

/// The upload that would cross the quota is cut with `552`: no temp file,
/// no partial file, the file it would have replaced whole. Used up, the
/// quota refuses STOR, APPE, STOU and MKD before any byte moves.
#[test]
fn crossing_uploads_are_cut_and_a_full_quota_refuses() {
    let (site, d) = site();
    let home = site.root.join("homes/cam");
    let mut cam = login(&d, "cam");
    for line in ["STOR big.bin", "STOR old.pdf", "APPE old.pdf"] {
        let mut data = cam.begin_transfer(line);
        // Written in pieces: the cut comes midway, wherever it falls.
        for _ in 0..10 {
            if data.write_all(&[b'x'; 20]).is_err() {
                break;
            }
        }
        data.shutdown(Shutdown::Write).ok();
        drop(data);
        let cut = cam.expect_reply(552);
        assert!(cut.text().contains("Quota exceeded"), "{}", cut.text());
        let mut names = d.names("homes/cam");
        names.sort_unstable();
        assert_eq!(names, ["old.pdf"], "{line}");
        assert_eq!(std::fs::read(home.join("old.pdf")).unwrap(), b"old scan");
    }
    assert_eq!(quota(&mut cam), "Quota: 8 of 100 bytes, 1 of 5 files.");
    cam.upload("STOR fill.bin", &[b'f'; 92]);
    assert_eq!(quota(&mut cam), "Quota: 100 of 100 bytes, 2 of 5 files.");
    for line in ["STOR more.bin", "APPE fill.bin", "STOU"] {
        let refused = cam.transfer_reply(line);
        assert_eq!(refused.code, 552, "{line}: {}", refused.text());
    }
    cam.cmd_ok("MKD folder", 552);
    cam.cmd_ok("DELE fill.bin", 250);
    cam.cmd_ok("MKD folder", 257);
    assert!(d
        .stderr()
        .contains("the quota of /homes/cam (100 bytes or 5 files) is reached"));
}

/// The file limit counts too: a sixth file is refused.
#[test]
fn the_file_limit_refuses() {
    let (_site, d) = site();
    let mut cam = login(&d, "cam");
    for n in 0..4 {
        cam.upload(&format!("STOR f{n}"), b"1");
    }
    assert_eq!(quota(&mut cam), "Quota: 12 of 100 bytes, 5 of 5 files.");
    assert_eq!(cam.transfer_reply("STOR f5").code, 552);
}

/// SIGHUP counts every home again: files changed behind the daemon's back
/// are found, and a new limit applies.
#[test]
fn sighup_recounts() {
    let (site, d) = site();
    let home = site.root.join("homes/cam");
    std::fs::write(home.join("behind.bin"), [0u8; 40]).unwrap();
    std::fs::remove_file(home.join("old.pdf")).unwrap();
    let mut cam = login(&d, "cam");
    assert_eq!(
        quota(&mut cam),
        "Quota: 8 of 100 bytes, 1 of 5 files.",
        "not seen yet"
    );
    d.signal("HUP");
    d.wait_logged("quota of /homes/cam: 40 bytes in 1 file", 1, WAIT);
    assert_eq!(quota(&mut cam), "Quota: 40 of 100 bytes, 1 of 5 files.");
}

/// A quota with a bucket for storage is a start-up error that says why.
#[test]
fn quotas_need_local_storage() {
    let site = Site::new(&[("cam", "upload quota=1M")]);
    let mut args = site.args();
    args.extend(
        [
            "--storage",
            "s3://bucket",
            "--s3-endpoint",
            "http://127.0.0.1:9",
        ]
        .map(String::from),
    );
    let err = start_fails(&args);
    assert!(err.contains("quotas need local storage"), "{err}");
}
