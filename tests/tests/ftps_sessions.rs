//! Protected data connections belong to their session (issue 23, 1): by
//! default (`--tls-session-reuse required`) a `PROT P` data connection must
//! resume a TLS session of its control connection's (or of another session
//! of the same user from the same address, as rclone's connections share
//! one session cache). Another client at the same address, holding a TLS
//! session of its own, gets neither a download's bytes nor a say in an
//! upload, nor, from a refused handshake there, a ticket of the victim's
//! session. A data connection that offers the session of a newer control
//! connection that has not logged in yet waits for that login (rclone's
//! race). Python's own `FTP_TLS`, which never resumes on data
//! connections, gets a `425` that says what to do, and the README's
//! subclass works. curl, lftp and rclone resume (`ftps.rs` drives them with
//! the default; rclone with many connections is driven here); Node's
//! basic-ftp is driven here.

use pocketftpd_tests::tls::*;
use pocketftpd_tests::*;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// A writable FTPS daemon with anonymous login and the account `alice`
/// (password `pw`); `extra` options after those. The users file lives in
/// `dir`.
fn accounts_daemon(cert: &Cert, dir: &TempDir, extra: &[&str]) -> Daemon {
    let users = dir.join("users");
    fs::write(&users, format!("alice:{}:super\n", password_hash("pw"))).unwrap();
    let users = users.display().to_string();
    let mut args = vec!["--users", &users, "--anonymous", "--login-delay", "0"];
    args.extend(extra);
    tls_daemon(cert, true, &args)
}

/// The attack of issue 23, under TLS 1.3 or 1.2 (see the scenario in
/// tests/py/ftps_client.py): the attacker receives nothing, the victim's
/// upload target keeps its bytes, both sessions go on, and the log says
/// why the victim's transfers were refused.
fn hijack(scenario: &str) {
    let Some(cert) = cert() else { return };
    let dir = TempDir::new("hijack");
    let d = accounts_daemon(&cert, &dir, &[]);
    d.put("secret.bin", b"victim's secret\n");
    d.put("target.txt", b"the original\n");
    ftps_scenario(&d, &cert, scenario, "passive");
    assert_eq!(
        fs::read(d.root().join("target.txt")).unwrap(),
        b"the original\n"
    );
    assert_eq!(d.names(""), ["secret.bin", "target.txt"]);
    let refusals = d
        .stderr()
        .lines()
        .filter(|l| l.contains("\"alice\"") && l.contains(": 425 Session reuse required"))
        .count();
    assert!(
        refusals >= 2,
        "no log line for the refusals:\n{}",
        d.stderr()
    );
}

#[test]
fn another_client_at_the_same_address_cannot_take_a_data_connection_tls13() {
    hijack("hijack13");
}

#[test]
fn another_client_at_the_same_address_cannot_take_a_data_connection_tls12() {
    hijack("hijack12");
}

/// A client that made a full handshake on the victim's data connection
/// (refused) got no ticket or session ID there that resumes the victim's
/// session on its next data connection.
fn stolen(scenario: &str) {
    let Some(cert) = cert() else { return };
    let dir = TempDir::new("stolen");
    let d = accounts_daemon(&cert, &dir, &[]);
    d.put("secret.bin", b"victim's secret\n");
    ftps_scenario(&d, &cert, scenario, "passive");
}

#[test]
fn a_refused_data_connection_gets_no_ticket_of_the_victims_tls13() {
    stolen("stolen13");
}

#[test]
fn a_refused_data_connection_gets_no_ticket_of_the_victims_tls12() {
    stolen("stolen12");
}

/// rclone's race, played step by step (see `newest13` in
/// tests/py/ftps_client.py): a data connection that resumed the session of
/// a control connection that has not logged in yet waits for that login;
/// it goes on if that is alice's, and is refused (425) if it is
/// anonymous, if that connection ends, or after `--data-timeout`.
fn newest(scenario: &str) {
    let Some(cert) = cert() else { return };
    let dir = TempDir::new("newest");
    let d = accounts_daemon(&cert, &dir, &["--data-timeout", "3"]);
    d.put("secret.bin", b"victim's secret\n");
    ftps_scenario(&d, &cert, scenario, "passive");
    let log = d.stderr();
    let downloads = |outcome: &str| {
        (log.lines())
            .filter(|l| l.contains("\"alice\" download /secret.bin") && l.contains(outcome))
            .count()
    };
    assert_eq!(downloads(" complete: "), 1, "{log}");
    assert_eq!(downloads(": 425 Session reuse required"), 3, "{log}");
}

#[test]
fn a_data_connection_waits_for_the_login_of_the_session_it_resumed_tls13() {
    newest("newest13");
}

#[test]
fn a_data_connection_waits_for_the_login_of_the_session_it_resumed_tls12() {
    newest("newest12");
}

/// rclone, with its default `--transfers 4 --checkers 8` given outright,
/// keeps one TLS session for all its control connections, the newest
/// one's, which may not have logged in yet when another connection's data
/// connection offers it: a few runs of a copy of twenty files, each
/// checked.
#[test]
fn rclone_with_many_connections_copies_over_tls() {
    if !need_program("rclone") {
        return;
    }
    let Some(cert) = cert() else { return };
    let d = tls_daemon(&cert, true, &[]);
    let local = TempDir::new("rclone-many");
    let mut rng = Rng::new(0xf7_0030);
    for i in 0..20 {
        let file = local.join(format!("src/d{}/f{i:02}.bin", i % 3));
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(file, rng.bytes(1000 + i * 3000)).unwrap();
    }
    let src = local.join("src").display().to_string();
    let parallel = ["--transfers", "4", "--checkers", "8"].map(String::from);
    for run in 0..3 {
        for verb in ["copy", "check"] {
            let mut args = vec![verb.to_owned(), src.clone(), format!("REMOTE:up{run}")];
            args.extend(parallel.iter().cloned());
            rclone_tls(d.port, local.path(), &args);
        }
        assert_same_tree(&d.root().join(format!("up{run}")), &local.join("src"));
    }
    assert!(!d.stderr().contains(": 425 "), "{}", d.stderr());
}

/// Python's stock `FTP_TLS` starts each data connection with a new TLS
/// session: `425` with the reason and the way out, the session goes on.
#[test]
fn a_data_connection_that_does_not_resume_is_refused_with_what_to_do() {
    let Some(cert) = cert() else { return };
    let d = tls_daemon(&cert, false, &[]);
    d.put("hello.txt", b"hello over TLS\n");
    ftps_scenario(&d, &cert, "stock_refused", "passive");
    ftps_scenario(&d, &cert, "stock_refused", "active");
}

/// `--tls-session-reuse off` lets such a client through.
#[test]
fn tls_session_reuse_off_lets_any_data_connection_through() {
    let Some(cert) = cert() else { return };
    let d = tls_daemon(&cert, false, &["--tls-session-reuse", "off"]);
    d.put("hello.txt", b"hello over TLS\n");
    ftps_scenario(&d, &cert, "stock_allowed", "passive");
}

/// The README gives Python users a subclass that resumes; the suite's own
/// client uses that very class, word for word.
#[test]
fn the_readmes_python_subclass_is_the_one_the_suite_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let client = fs::read_to_string(root.join("tests/py/ftps_client.py")).unwrap();
    let between = |text: &str, start: &str, end: &str| -> String {
        let from = text.find(start).unwrap_or_else(|| panic!("no {start:?}")) + start.len();
        let len = text[from..]
            .find(end)
            .unwrap_or_else(|| panic!("no {end:?}"));
        text[from..from + len].trim().to_owned()
    };
    let in_client = between(&client, "# --- README: ReusingFTP_TLS ---", "# --- end ---");
    let block = between(&readme, "```python\n", "```");
    assert!(
        block.contains(&in_client),
        "README.md's Python block differs from tests/py/ftps_client.py's class:\n{block}\n---\n{in_client}"
    );
}

// ---------------------------------------------------------------------------
// Node's basic-ftp
// ---------------------------------------------------------------------------

/// tests/js/node_modules holds basic-ftp (`npm ci --prefix tests/js`,
/// which .ci/run does).
fn basic_ftp_installed() -> bool {
    if !need_program("node") {
        return false;
    }
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    if js.join("node_modules/basic-ftp").is_dir() {
        return true;
    }
    skip("basic-ftp is not installed: npm ci --prefix tests/js");
    false
}

/// basic-ftp over explicit FTPS, certificate verified: uploads (ending
/// with `close_notify`, so they count), lists, downloads, under the
/// default rules. Not an empty file: basic-ftp 5.0.5 ends an empty upload
/// with a bare TCP end, before its data connection's handshake is over
/// about a quarter of the time (a failed handshake, with or without the
/// rules) and without `close_notify` otherwise (docs/ftp.md).
#[test]
fn basic_ftp_uploads_lists_and_downloads_over_tls() {
    if !basic_ftp_installed() {
        return;
    }
    let Some(cert) = cert() else { return };
    let d = tls_daemon(&cert, true, &[]);
    let mut files = upload_set(0xf7_0020);
    files.retain(|(_, body)| !body.is_empty());
    let local = uploads_folder(&files);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("js/basic_ftp_client.js");
    let run = run_bounded(
        Command::new("node")
            .arg(&script)
            .arg(d.port.to_string())
            .arg(local.path())
            .arg(&cert.cert),
        b"",
        Duration::from_secs(120),
    );
    assert!(
        run.success(),
        "basic-ftp failed ({}):\n{}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stdout),
        run.stderr
    );
    assert_uploaded(&d, &files, "basic-ftp");
    assert_downloaded(local.path(), &files, "basic-ftp");
    assert_holds_only(&d, &files);
    let protected = d
        .stderr()
        .lines()
        .filter(|l| l.contains(" complete: ") && l.ends_with("data in TLS"))
        .count();
    assert!(protected >= 2 * files.len(), "{}", d.stderr());
}
