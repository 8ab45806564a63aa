//! Clients that push on the event loop itself (issue 13): replies nobody
//! reads, pipelines without end, a client killed mid-upload, a daemon out
//! of descriptors, the end of the shutdown grace, a root deleted under it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use pocketftpd_tests::*;

/// Defect 1: `STAT dir` a thousand times in one write, replies never read.
/// The daemon holds a bounded reply buffer (it stops taking commands), and
/// answers every one once the client reads.
#[test]
fn unread_large_replies_stay_bounded() {
    let d = Daemon::start();
    let dir = d.root().join("dir");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..3000 {
        std::fs::write(
            dir.join(format!("a-file-with-a-long-name-{i:05}.txt")),
            b"x",
        )
        .unwrap();
    }
    let before = d.rss_kib();
    let mut flood = d.login();
    flood.stream().set_nonblocking(false).unwrap();
    flood.send_raw(&b"STAT dir\r\n".repeat(1024));
    // Another session is served meanwhile; by its answer the loop has done
    // all it will for the flood.
    let mut other = d.login();
    for _ in 0..20 {
        other.cmd_ok("NOOP", 200);
    }
    let grown = d.rss_kib().saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "RSS grew {grown} KiB for one client's unread replies"
    );
    for i in 0..1024 {
        let r = flood.reply();
        assert_eq!(r.code, 213, "reply {i}: {}", r.full());
    }
    flood.cmd_ok("NOOP", 200);
}

/// Defect 2: twenty thousand pipelined NOOPs, replies read as they come:
/// every one is answered, in order, long before any timeout.
#[test]
fn every_pipelined_command_is_answered() {
    const COUNT: usize = 20_000;
    let d = Daemon::start();
    let mut ctrl = d.login();
    let mut writer = ctrl.stream().try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let mut flood = b"NOOP\r\n".repeat(COUNT);
        flood.extend_from_slice(b"PWD\r\n");
        writer.write_all(&flood).unwrap();
    });
    for i in 0..COUNT {
        let r = ctrl.reply();
        assert_eq!(r.code, 200, "reply {i} of {COUNT}");
    }
    ctrl.expect_reply(257);
    sender.join().unwrap();
}

/// Defect 4: a client killed (SIGKILL) in the middle of `STOR` never
/// replaces the old file, whichever of its two connections the daemon sees
/// close first, and leaves no temporary file.
#[test]
fn a_client_killed_mid_upload_keeps_the_old_file() {
    let d = Daemon::start_write();
    let old = Rng::new(4).bytes(10_000);
    d.put("doc.bin", &old);
    let script = r#"
import os, re, socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = c.makefile("rb")
def reply():
    line = f.readline()
    while line[3:4] == b"-":
        line = f.readline()
    return line
reply()
for cmd in [b"USER ftp", b"PASS x", b"TYPE I"]:
    c.sendall(cmd + b"\r\n"); reply()
c.sendall(b"PASV\r\n")
nums = re.search(rb"\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", reply()).groups()
data = socket.create_connection(("127.0.0.1", int(nums[4]) * 256 + int(nums[5])))
c.sendall(b"STOR doc.bin\r\n"); reply()
data.sendall(b"x" * (1 << 20))
os.kill(os.getpid(), 9)
"#;
    for round in 0..10 {
        let status = Command::new("python3")
            .args(["-c", script, &d.port.to_string()])
            .status()
            .expect("run python3");
        assert!(
            !status.success(),
            "round {round}: the client was not killed"
        );
        let settled = wait_until(Duration::from_secs(10), || {
            d.names("").iter().all(|n| n == "doc.bin")
                && dir_names(d.root()).iter().all(|n| n == "doc.bin")
        });
        assert!(settled, "round {round}: {:?}", dir_names(d.root()));
        let now = std::fs::read(d.root().join("doc.bin")).unwrap();
        assert_bytes_eq(&format!("round {round}: doc.bin"), &now, &old);
    }
}

/// Defect 8: out of descriptors, waiting connections are served as soon as
/// descriptors are free again, with no new connection to wake the loop.
#[test]
fn accepting_resumes_after_running_out_of_descriptors() {
    if !need_program("prlimit") {
        return;
    }
    let d = Daemon::with(Options {
        extra: vec!["--max-per-ip".into(), "200".into()],
        ..Options::default()
    });
    let limit = d.fd_count() + 20;
    let set = Command::new("prlimit")
        .args(["--pid", &d.pid().to_string()])
        .arg(format!("--nofile={limit}:{limit}"))
        .status()
        .expect("run prlimit");
    assert!(set.success());
    let mut first: Vec<Ctrl> = (0..20).map(|_| d.login()).collect();
    // These wait in the backlog: the daemon has no descriptor to take them.
    let mut waiting: Vec<BufReader<TcpStream>> = (0..10)
        .map(|_| {
            let s = TcpStream::connect(d.addr()).unwrap();
            s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
            BufReader::new(s)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    for ctrl in &mut first {
        ctrl.cmd_ok("NOOP", 200); // existing sessions keep working
    }
    first.truncate(5);
    for (i, conn) in waiting.iter_mut().enumerate() {
        let mut line = String::new();
        conn.read_line(&mut line).unwrap();
        assert!(line.starts_with("220 "), "waiting connection {i}: {line:?}");
    }
    assert!(d.stderr().contains("cannot accept"), "{}", d.stderr());
}

/// Defect 13: after the grace period of a SIGTERM, an upload still running
/// gets its final reply (426) before the 421, and the old file stays.
#[test]
fn grace_over_gives_a_cut_upload_its_final_reply() {
    let mut d = Daemon::with(Options {
        write: true,
        extra: vec!["--shutdown-grace".into(), "1".into()],
        ..Options::default()
    });
    d.put("keep.bin", b"old");
    let mut ctrl = d.login();
    let mut data = ctrl.begin_transfer("STOR keep.bin");
    data.write_all(b"partial").unwrap();
    d.signal("TERM");
    ctrl.expect_reply(426);
    ctrl.expect_reply(421);
    let mut rest = Vec::new();
    let _ = data.read_to_end(&mut rest);
    d.wait_exit(Duration::from_secs(10));
    assert_eq!(std::fs::read(d.root().join("keep.bin")).unwrap(), b"old");
}

/// Defect 13: a root removed while served is reported, not served silently.
#[test]
fn a_deleted_root_is_reported() {
    let d = Daemon::start();
    std::fs::remove_dir(d.root()).unwrap();
    let mut ctrl = d.login();
    ctrl.cmd_any("SIZE x", &[550]);
    assert!(
        d.stderr().contains("the served folder was deleted"),
        "{}",
        d.stderr()
    );
}

/// Issue 15: `timeout 1 curl -T big ftp://.../doc.bin` — curl ended by a
/// signal mid-upload — keeps the old `doc.bin`, leaves no temporary file,
/// and the transfer log says the upload was incomplete.
#[test]
fn curl_killed_mid_upload_keeps_the_old_file() {
    if !need_program("curl") {
        return;
    }
    let xferlog = TempDir::new("xferlog");
    let log = xferlog.join("xferlog");
    let d = Daemon::with(Options {
        write: true,
        extra: vec!["--xferlog".into(), log.to_str().unwrap().into()],
        ..Options::default()
    });
    d.put("doc.bin", b"the old document");
    let big = d.scratch().join("big.iso");
    std::fs::write(&big, Rng::new(15).bytes(4 << 20)).unwrap();
    let url = format!("ftp://127.0.0.1:{}/doc.bin", d.port);
    let status = Command::new("timeout")
        .args(["1", "curl", "-sS", "--limit-rate", "500K", "-T"])
        .arg(&big)
        .arg(&url)
        .status()
        .expect("run timeout curl");
    assert_eq!(
        status.code(),
        Some(124),
        "curl was not cut off by the signal"
    );
    let settled = wait_until(Duration::from_secs(10), || {
        dir_names(d.root()) == ["doc.bin"]
            && std::fs::read_to_string(&log).is_ok_and(|l| !l.is_empty())
    });
    assert!(settled, "{:?}", dir_names(d.root()));
    assert_eq!(
        std::fs::read(d.root().join("doc.bin")).unwrap(),
        b"the old document"
    );
    let line = std::fs::read_to_string(&log).unwrap();
    assert!(
        line.trim_end().ends_with(" i"),
        "not logged incomplete: {line}"
    );
}
