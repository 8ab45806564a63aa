//! What the daemon refuses or warns about at start-up, in words that say
//! what to do (issues 23 and 24): the files it reads, folders its writing
//! roles cannot write, options that do nothing together, ports it cannot
//! bind.

use pocketftpd_tests::accounts;
use pocketftpd_tests::tls::cert;
use pocketftpd_tests::*;
use std::path::Path;
use std::time::{Duration, Instant};

#[test]
fn a_certificate_that_is_a_device_is_refused_at_once() {
    // `/dev/zero` was read whole: a 2 GiB allocation, then an abort.
    let Some(cert) = cert() else { return };
    let start = Instant::now();
    let err = start_fails(&[
        Path::new("--tls-cert"),
        Path::new("/dev/zero"),
        Path::new("--tls-key"),
        &cert.key,
    ]);
    assert!(
        err.contains(
            "cannot read the TLS certificate /dev/zero: a character device, not a regular file"
        ),
        "{err}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let big = cert.dir.join("big.pem");
    std::fs::write(&big, vec![b'#'; 2 << 20]).unwrap();
    let err = start_fails(&[
        Path::new("--tls-cert"),
        &cert.cert,
        Path::new("--tls-key"),
        &big,
    ]);
    assert!(
        err.contains(&format!(
            "cannot read the TLS key {}: 2097152 bytes, more than the 1024 KiB",
            big.display()
        )),
        "{err}"
    );
}

#[test]
fn folders_a_writing_role_cannot_write_are_named_with_the_fix() {
    // The drop box recipe: `mkdir -p /srv/ftp/inbox` as root made a folder
    // the `ftp` user cannot write: every upload 550, and nothing said why.
    if !need_root() {
        return;
    }
    let site = accounts::Site::new(&[
        ("cam", "upload:homes/cam"),
        ("ann", "super:homes/ann"),
        ("bob", "user"),
    ]);
    let mut options = site.options();
    options.extra.extend(["--run-as".into(), "nobody".into()]);
    let d = Daemon::with(options);
    assert!(wait_until(Duration::from_secs(5), || d
        .stderr()
        .contains("serving ")));
    let root = site.root.path().display().to_string();
    let warning = |home: &str, who: &str| {
        format!(
            "nobody cannot write to {root}/{home}: uploads and new folders will fail for {who} (run: chown nobody: {root}/{home})"
        )
    };
    let stderr = d.stderr();
    assert!(
        stderr.contains(&warning("homes/cam", "\"cam\" (role upload)")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&warning("homes/ann", "\"ann\" (role super)")),
        "{stderr}"
    );
    // Nobody writes to the root itself: bob only reads.
    assert!(
        !stderr.contains(&format!("cannot write to {root}:")),
        "{stderr}"
    );

    // Done as told, and a new upload account: SIGHUP checks again.
    std::os::unix::fs::chown(site.root.join("homes/cam"), Some(65534), None).unwrap();
    std::fs::create_dir(site.root.join("scans")).unwrap();
    let users = site.users.join("users");
    let mut text = std::fs::read_to_string(&users).unwrap();
    let hash = text.lines().next().unwrap().split(':').nth(1).unwrap();
    text += &format!("scanner:{hash}:upload:/scans\n");
    std::fs::write(&users, text).unwrap();
    let before = d.stderr().len();
    d.signal("HUP");
    assert!(wait_until(Duration::from_secs(10), || d.stderr()[before..]
        .contains("settings re-read")));
    let reloaded = d.stderr()[before..].to_owned();
    assert!(
        reloaded.contains(&warning("scans", "\"scanner\" (role upload)")),
        "{reloaded}"
    );
    assert!(!reloaded.contains("homes/cam"), "{reloaded}");
    let mut cam = accounts::login(&d, "cam");
    cam.upload("STOR scan.pdf", b"scanned");
    assert_eq!(
        std::fs::read(site.root.join("homes/cam/scan.pdf")).unwrap(),
        b"scanned"
    );
}
