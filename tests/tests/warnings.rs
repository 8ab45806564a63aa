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
    let _ = daemon_command(); // built first: its build is not the daemon's time
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

#[test]
fn options_that_do_nothing_together_are_named() {
    let site = accounts::Site::new(&[("ann", "user")]);
    let users = site.users.join("users").display().to_string();
    let mut cases = vec![
        (
            vec!["--write", "--users", &users],
            "--write does nothing: with --users anonymous login is off (add --anonymous",
        ),
        (
            vec!["--write", "--anonymous-role", "user"],
            "--write and --anonymous-role user disagree (--write is --anonymous-role super): the last one given counts, so anonymous sessions have the role user",
        ),
    ];
    if need_root() {
        cases.push((
            vec!["--run-as", "root"],
            "--run-as root keeps every right of root: name an unprivileged user",
        ));
    }
    for (args, want) in cases {
        let d = Daemon::with(Options {
            extra: args.iter().map(|a| a.to_string()).collect(),
            ..Options::default()
        });
        assert!(
            wait_until(Duration::from_secs(5), || d.stderr().contains(want)),
            "{args:?}: {}",
            d.stderr()
        );
    }
}

#[test]
fn a_taken_port_says_what_to_do_and_no_listening_line_comes_before_a_fatal_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let err = start_fails(&["--listen", &format!("127.0.0.1:{port}")]);
    // The C library words the error (glibc "Address already in use", musl
    // "Address in use"); the daemon's own words around it are ours.
    for want in [
        format!("cannot listen on 127.0.0.1:{port}: Address "),
        format!("in use (os error 98): another program listens there (another FTP server? `ss -ltnp 'sport = :{port}'` names it): stop it, or listen on another port"),
    ] {
        assert!(err.contains(&want), "{want}: {err}");
    }
    // An error after the ports are bound: no line may claim the daemon
    // listens (it logged `listening on` before dying).
    let err = start_fails(&["--xferlog", "/nonexistent/folder/xferlog"]);
    assert!(err.contains("cannot open the transfer log"), "{err}");
    assert!(!err.contains("listening on"), "{err}");
}

#[test]
fn a_port_below_1024_as_an_ordinary_user_says_what_to_do() {
    let lowest = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start");
    if lowest.is_ok_and(|l| l.trim().parse::<u16>().is_ok_and(|l| l <= 21)) {
        return skip("ordinary users may bind port 21 here");
    }
    // setpriv becomes an ordinary user, which only root may do.
    if !need_root() || !need_program("setpriv") {
        return;
    }
    let root = TempDir::new("low-port");
    let run = run_bounded(
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(daemon_argv())
            .arg("--root")
            .arg(root.path())
            .args(["--listen", "127.0.0.1:21"]),
        b"",
        Duration::from_secs(10),
    );
    assert!(!run.success(), "{}", run.stderr);
    for want in [
        "cannot listen on 127.0.0.1:21: Permission denied (os error 13): ports below 1024 need privileges: start pocketftpd as root with --run-as ftp",
        "give it CAP_NET_BIND_SERVICE (sudo setcap cap_net_bind_service=+ep ",
        "let systemd pass it the socket (dist/pocketftpd.socket)",
        "or listen on a port of 1024 or more (--listen 127.0.0.1:2121)",
    ] {
        assert!(run.stderr.contains(want), "{want}: {}", run.stderr);
    }
    assert!(!run.stderr.contains("listening on"), "{}", run.stderr);
}
