//! Globs in LIST, NLST and STAT (issue 15): `mget *.jpg` in tnftp, the
//! classic `ftp` client, sends `NLST *.jpg` and fetches the names it gets.

use pocketftpd_tests::*;
use std::fs;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

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

/// Issue 23 (3): a class of 250 members (`*[!bbb…]b`) cost ~35 µs a name
/// when each member was compared in turn, and a listing that matched
/// nothing held the loop until the folder's end: eight anonymous sessions
/// listing a 20,000-name folder with it delayed another client's `NOOP` by
/// 5.6 s. Classes now test membership in O(1) (ASCII) or O(log n), and a
/// listing step that reads its share of names yields to the loop.
#[test]
fn hostile_globs_on_a_crowded_folder_keep_the_loop_responsive() {
    let d = Daemon::start();
    let folder = d.root().join("crowd");
    fs::create_dir(&folder).unwrap();
    for i in 0..20_000 {
        fs::write(folder.join(format!("photo-{i:05}.jpg")), b"").unwrap();
    }
    let pattern = format!("NLST crowd/*[!{}]b", "b".repeat(250));
    let stop = Arc::new(AtomicBool::new(false));
    let listed = Arc::new(AtomicUsize::new(0));
    let listers: Vec<_> = (0..8)
        .map(|_| {
            let (stop, listed, pattern) = (stop.clone(), listed.clone(), pattern.clone());
            let mut c = d.login();
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    assert!(c.download(&pattern).is_empty());
                    listed.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut probe = d.login();
    thread::sleep(Duration::from_millis(300)); // every lister under way
    let mut latencies = Vec::new();
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until || latencies.len() < 20 {
        let sent = Instant::now();
        probe.cmd_ok("NOOP", 200);
        latencies.push(sent.elapsed());
        thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    for lister in listers {
        lister.join().expect("a lister failed");
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    let listings = listed.load(Ordering::Relaxed);
    eprintln!(
        "NOOP latency during 8 hostile glob listings of 20,000 names: \
         p50 {:?}, p99 {:?}, p100 {:?} ({} NOOPs; {listings} listings done)",
        at(0.5),
        at(0.99),
        at(1.0),
        latencies.len()
    );
    assert!(listings >= 8, "the listings made no progress: {listings}");
    assert!(
        at(1.0) < Duration::from_millis(500),
        "a NOOP waited {:?} behind the listings",
        at(1.0)
    );
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
