//! SIGHUP as an admin uses it (issues 23 and 24): what it re-reads, what
//! it says it cannot apply, and that no file it re-reads can freeze the
//! loop, fill its memory or slow the logins that follow.

use pocketftpd_tests::accounts::{login, Site};
use pocketftpd_tests::*;
use std::process::Command;
use std::time::{Duration, Instant};

/// Sends SIGHUP and waits (bounded) until the log has one more line
/// containing `marker` than before.
fn reload(d: &Daemon, marker: &str) {
    let before = d.stderr().matches(marker).count();
    d.signal("HUP");
    assert!(
        wait_until(Duration::from_secs(10), || d
            .stderr()
            .matches(marker)
            .count()
            > before),
        "no new {marker:?} after SIGHUP; stderr:\n{}",
        d.stderr()
    );
}

fn mkfifo(path: &std::path::Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

#[test]
fn a_users_file_that_became_a_fifo_is_refused_and_the_loop_goes_on() {
    let site = Site::new(&[("ann", "user")]);
    let d = site.start();
    let mut session = login(&d, "ann");
    let file = site.users.join("users");
    std::fs::remove_file(&file).unwrap();
    mkfifo(&file);
    d.signal("HUP");
    let refused = wait_until(Duration::from_secs(5), || {
        d.stderr().contains("keeping the old users")
    });
    // The loop answers at once, whatever the SIGHUP found.
    session.set_read_timeout(Duration::from_secs(2));
    let start = Instant::now();
    let noop = session.try_cmd("NOOP").map(|r| r.code);
    assert_eq!(
        noop.ok(),
        Some(200),
        "NOOP after SIGHUP: {:?}",
        start.elapsed()
    );
    assert!(refused, "no refusal logged; stderr:\n{}", d.stderr());
    assert!(
        d.stderr()
            .contains("a FIFO (named pipe), not a regular file"),
        "{}",
        d.stderr()
    );
    // The old accounts stay.
    login(&d, "ann").cmd_ok("QUIT", 221);
}

/// How long `user`'s login with the password `pw` takes to be answered.
fn login_time(d: &Daemon, user: &str) -> Duration {
    let mut c = d.connect();
    c.cmd_ok(&format!("USER {user}"), 331);
    let start = Instant::now();
    c.cmd_ok("PASS pw", if user == "ann" { 230 } else { 530 });
    start.elapsed()
}

#[test]
fn three_hundred_reloads_do_not_slow_the_next_login() {
    // Each reload made a new decoy hash for unknown users on the password
    // worker, queued before the next check: 300 of them, a 6 s login.
    let site = Site::new(&[("ann", "user")]);
    let d = site.start();
    // One argon2 check each, however slow the machine (or its emulator).
    let before: Vec<Duration> = ["ann", "nobody-by-this-name"]
        .map(|user| login_time(&d, user))
        .into();
    for _ in 0..300 {
        reload(&d, "SIGHUP: re-read");
    }
    for (user, before) in ["ann", "nobody-by-this-name"].into_iter().zip(before) {
        let after = login_time(&d, user);
        assert!(
            after < before * 2 + Duration::from_millis(500),
            "{user}: a login after 300 reloads took {after:?}, before them {before:?}"
        );
    }
}

/// A daemon reading `config` (its root and port from the command line).
fn with_config(config: &std::path::Path, extra: &[&str]) -> Daemon {
    let mut args = vec!["--config".to_owned(), config.display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    Daemon::with(Options {
        extra: args,
        ..Options::default()
    })
}

#[test]
fn the_accounts_recipe_setting_users_and_reloading_turns_accounts_on() {
    // The README: create the users file, set `users =` in the config,
    // reload. The path was read only at start: anonymous logins went on,
    // with any password, logged under the name typed.
    let dir = TempDir::new("recipe");
    let (config, users) = (dir.join("pocketftpd.conf"), dir.join("pocketftpd.users"));
    std::fs::write(&config, "login-delay = 0\n").unwrap();
    let d = with_config(&config, &[]);
    let mut before = d.connect();
    before.cmd_ok("USER alice", 331);
    before.cmd_ok("PASS anything", 230);
    let stderr = d.stderr();
    assert!(
        stderr.contains("logged in as \"anonymous\" (typed \"alice\", role user"),
        "{stderr}"
    );
    assert!(!stderr.contains("logged in as \"alice\""), "{stderr}");

    let hash = password_hash("wonderland");
    std::fs::write(&users, format!("alice:{hash}:super\n")).unwrap();
    let line = format!("login-delay = 0\nusers = {}\n", users.display());
    std::fs::write(&config, line).unwrap();
    reload(&d, "SIGHUP: settings re-read");
    let mut anonymous = d.connect();
    anonymous.cmd_ok("USER anonymous", 331);
    anonymous.cmd_ok("PASS x", 530);
    let mut alice = d.connect();
    alice.cmd_ok("USER alice", 331);
    alice.cmd_ok("PASS anything", 530);
    alice.cmd_ok("USER alice", 331);
    alice.cmd_ok("PASS wonderland", 230);
    alice.cmd_ok("MKD made-by-alice", 257);
    assert!(d.stderr().contains("logged in as \"alice\" (role super"));
    // Sessions that started before go on.
    before.cmd_ok("NOOP", 200);

    // And off again: anonymous logins come back.
    std::fs::write(&config, "login-delay = 0\n").unwrap();
    reload(&d, "SIGHUP: settings re-read");
    assert!(d.stderr().contains("SIGHUP: no users file any more"));
    let mut c = d.connect();
    c.cmd_ok("USER anonymous", 331);
    c.cmd_ok("PASS x", 230);
}

#[test]
fn what_needs_a_restart_is_named_and_the_rest_applies() {
    let dir = TempDir::new("restart");
    let (root, elsewhere) = (dir.join("root"), dir.join("elsewhere"));
    std::fs::create_dir(&root).unwrap();
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(root.join("file.txt"), b"hello").unwrap();
    let config = dir.join("pocketftpd.conf");
    let (first, second) = (dir.join("first.xferlog"), dir.join("second.xferlog"));
    let settings = |root: &std::path::Path, banner: &str, xferlog: &std::path::Path| {
        let (root, xferlog) = (root.display(), xferlog.display());
        format!("root = {root}\nbanner = {banner}\nxferlog = {xferlog}\n")
    };
    std::fs::write(&config, settings(&root, "before", &first)).unwrap();
    let d = Daemon::with(Options {
        extra: vec!["--config".into(), config.display().to_string()],
        root: Some(root.clone()),
        root_in_config: true,
        ..Options::default()
    });
    let more = "run-as = nobody\nlisten = 127.0.0.1:1\nnode-id = other\nsweep-foreign-after = 60\n";
    std::fs::write(&config, settings(&elsewhere, "after", &second) + more).unwrap();
    reload(&d, "SIGHUP: settings re-read");
    let stderr = d.stderr();
    for key in ["root", "run-as", "node-id", "sweep-foreign-after"] {
        assert!(
            stderr.contains(&format!("SIGHUP: `{key}` changed: restart to apply")),
            "{key}: {stderr}"
        );
    }
    // The command line's --listen wins over the file's: nothing changed.
    assert!(!stderr.contains("`listen` changed"), "{stderr}");
    // The rest applied: the banner, and the transfer log's new path; the
    // root is the one started with.
    let mut c = Ctrl::connect(d.addr());
    assert_eq!(c.expect_reply(220).text(), "after");
    c.cmd_ok("USER anonymous", 331);
    c.cmd_ok("PASS x", 230);
    assert_eq!(c.download("RETR file.txt"), b"hello");
    assert!(wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(&second).is_ok_and(|log| log.contains("file.txt"))
    }));
    let first_log = std::fs::read_to_string(&first).unwrap_or_default();
    assert!(!first_log.contains("file.txt"), "{first_log}");
}

#[test]
fn under_run_as_a_key_only_root_reads_keeps_the_pair_and_the_rest_applies() {
    // The FTPS recipe under `run-as = ftp`: the key, root's, is read at
    // start-up; every later SIGHUP failed on it, and no setting applied.
    if !need_root() {
        return;
    }
    let Some(cert) = pocketftpd_tests::tls::cert() else {
        return;
    };
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cert.key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let dir = TempDir::new("run-as-tls");
    let config = dir.join("pocketftpd.conf");
    let settings = |banner: &str| {
        let (c, k) = (cert.cert.display(), cert.key.display());
        format!("banner = {banner}\ntls-cert = {c}\ntls-key = {k}\nrun-as = nobody\n")
    };
    std::fs::write(&config, settings("before")).unwrap();
    let d = with_config(&config, &[]);
    std::fs::write(&config, settings("after")).unwrap();
    reload(&d, "SIGHUP: settings re-read");
    let want = format!(
        "SIGHUP: keeping the old TLS certificate and key: cannot read the TLS key {}: Permission denied",
        cert.key.display()
    );
    assert!(d.stderr().contains(&want), "{}", d.stderr());
    let mut c = Ctrl::connect(d.addr());
    assert_eq!(c.expect_reply(220).text(), "after");
    c.cmd_ok("AUTH TLS", 234);
}
