//! Globs in LIST, NLST and STAT (issue 15): `mget *.jpg` in tnftp, the
//! classic `ftp` client, sends `NLST *.jpg` and fetches the names it gets.

use pocketftpd_tests::*;
use std::fs;
use std::process::Command;
use std::time::Duration;

fn lines(bytes: Vec<u8>) -> Vec<String> {
    let mut lines: Vec<String> = String::from_utf8(bytes)
        .unwrap()
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

fn pictures() -> Daemon {
    let d = Daemon::start();
    for (name, body) in [
        ("pub/a.jpg", &b"1"[..]),
        ("pub/b.jpg", b"22"),
        ("pub/c.png", b""),
        ("pub/odd[1].jpg", b""),
        ("pub/odd1.jpg", b""),
        ("top.jpg", b"top"),
    ] {
        d.put(name, body);
    }
    d
}

#[test]
fn nlst_list_and_stat_expand_a_glob_in_the_last_component() {
    let d = pictures();
    let mut c = d.login();
    assert_eq!(
        lines(c.download("NLST pub/*.jpg")),
        ["pub/a.jpg", "pub/b.jpg", "pub/odd1.jpg", "pub/odd[1].jpg"]
    );
    assert_eq!(
        lines(c.download("NLST /pub/[ab].jp?")),
        ["/pub/a.jpg", "/pub/b.jpg"]
    );
    let long = lines(c.download("LIST -l pub/[!ao]*"));
    assert_eq!(long.len(), 2, "{long:?}");
    assert!(long.iter().all(|l| l.starts_with("-rw")), "{long:?}");
    for name in [" b.jpg", " c.png"] {
        assert!(long.iter().any(|l| l.ends_with(name)), "{name}: {long:?}");
    }
    // Names that exist are listed as they are, wildcards or not.
    assert_eq!(lines(c.download("NLST pub/odd[1].jpg")), ["odd[1].jpg"]);
    d.put("x*/in.txt", b"");
    assert_eq!(lines(c.download("NLST x*")), ["in.txt"]);
    let status = c.cmd_ok("STAT pub/*.png", 213);
    assert!(status.is_multiline(), "{status:?}");
    assert!(status.full().contains(" c.png"), "{status:?}");
    c.cmd_ok("CWD pub", 250);
    assert_eq!(lines(c.download("NLST *.png")), ["c.png"]);
    assert_eq!(lines(c.download("NLST ../*.jpg")), ["../top.jpg"]);
}

/// No match is an empty listing (150, 226, no lines), never an error; a
/// glob in a folder that does not exist is 550, like the folder.
#[test]
fn a_glob_that_matches_nothing_lists_nothing() {
    let d = pictures();
    let mut c = d.login();
    assert!(c.download("NLST pub/*.gif").is_empty());
    assert!(c.download("LIST pub/*.gif").is_empty());
    let status = c.cmd_ok("STAT pub/*.gif", 213);
    assert_eq!(status.lines.len(), 2, "{status:?}");
    assert_eq!(c.transfer_reply("NLST nowhere/*.gif").code, 550);
    // Without wildcards a missing name is 550, as it always was.
    assert_eq!(c.transfer_reply("NLST pub/d.gif").code, 550);
    c.cmd_ok("NOOP", 200);
}

/// A folder far larger than a listing batch, with one match at the end.
#[test]
fn a_glob_over_a_big_folder_finds_its_match() {
    let d = Daemon::start();
    let folder = d.root().join("many");
    fs::create_dir(&folder).unwrap();
    for i in 0..3000 {
        fs::write(folder.join(format!("f{i:04}.txt")), b"").unwrap();
    }
    fs::write(folder.join("zz.jpg"), b"").unwrap();
    let mut c = d.login();
    assert_eq!(lines(c.download("NLST many/*.jpg")), ["many/zz.jpg"]);
    assert!(c.download("NLST many/*.gif").is_empty());
    assert_eq!(lines(c.download("NLST many/f299?.txt")).len(), 10);
}

#[test]
fn tnftp_mget_fetches_the_files_a_glob_names() {
    if !need_program("tnftp") {
        return;
    }
    let d = pictures();
    let local = TempDir::new("tnftp-mget");
    let script = format!(
        "user anonymous x\nbinary\nlcd {}\ncd pub\nmget *.jpg\nquit\n",
        local.path().display()
    );
    let run = run_bounded(
        Command::new("tnftp")
            .args(["-n", "-i", "-p", "127.0.0.1"])
            .arg(d.port.to_string()),
        script.as_bytes(),
        Duration::from_secs(60),
    );
    assert!(
        run.success(),
        "tnftp failed ({}):\n{}",
        run.status,
        run.stderr
    );
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(!out.contains("No such file"), "{out}");
    assert_eq!(
        dir_names(local.path()),
        ["a.jpg", "b.jpg", "odd1.jpg", "odd[1].jpg"],
        "{out}"
    );
    assert_eq!(fs::read(local.join("b.jpg")).unwrap(), b"22");
}
