//! Edge cases that real clients and hostile ones hit: split and pipelined
//! input, QUIT during a transfer, stalled transfers, TYPE A across buffer
//! boundaries, symlinks on write paths, foreign data connections, big
//! listings and concurrent transfers.

use pocketftpd_tests::*;
use std::fs;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::process::Command;
use std::time::{Duration, Instant};

/// The end of the connection right behind a command, in the same segment
/// or a moment later, is seen: a read that empties the socket does not
/// wait for a `WouldBlock` before the next poll, so the end must come as an
/// edge of its own or with the one that brought the command.
#[test]
fn an_end_right_behind_a_command_is_seen() {
    let d = Daemon::start();
    for round in 0..60 {
        let mut c = d.connect();
        c.set_read_timeout(Duration::from_secs(5));
        match round % 3 {
            0 => c.send_raw(b"NOOP\r\n"),
            1 => {
                c.send_raw(b"NOOP\r\n");
                std::thread::sleep(Duration::from_micros(50));
            }
            _ => {
                c.cmd_ok("NOOP", 200);
                c.send_raw(b"NOOP\r\n");
            }
        }
        c.stream().shutdown(Shutdown::Write).unwrap();
        c.expect_reply(200);
        c.expect_closed();
    }
}

#[test]
fn commands_split_across_writes() {
    let d = Daemon::start();
    let mut c = d.connect();
    for b in b"USER anonymous\r\n" {
        c.send_raw(&[*b]);
    }
    c.expect_reply(331);
    c.send_raw(b"PASS x\r");
    c.send_raw(b"\n");
    c.expect_reply(230);
    c.send_raw(b"NO");
    c.send_raw(b"OP\r\nSY");
    c.expect_reply(200);
    c.send_raw(b"ST\r\n");
    c.expect_reply(215);
}

#[test]
fn pipelined_pasv_rest_retr() {
    let d = Daemon::start();
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 241) as u8).collect();
    d.put("p.bin", &body);
    let mut c = d.login();
    c.send_raw(b"TYPE I\r\nPASV\r\nREST 1000\r\nRETR p.bin\r\nNOOP\r\n");
    c.expect_reply(200);
    let r = c.expect_reply(227);
    let (_, port) = parse_227(r.text()).unwrap();
    c.expect_reply(350);
    let mut data = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    data.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    c.expect_one_of(&[125, 150]);
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    c.expect_reply(226);
    c.expect_reply(200);
    assert_bytes_eq("pipelined REST 1000 RETR", &got, &body[1000..]);
}

#[test]
fn quit_during_a_transfer_waits_for_it() {
    let d = Daemon::start();
    let body: Vec<u8> = (0..(4usize << 20)).map(|i| (i % 239) as u8).collect();
    d.put("q.bin", &body);
    let mut c = d.login();
    let mut data = c.begin_transfer("RETR q.bin");
    c.send("QUIT");
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_bytes_eq("RETR with QUIT sent during it", &got, &body);
    c.expect_reply(226);
    c.expect_reply(221);
    c.expect_closed();
}

#[test]
fn stalled_upload_fails_after_data_timeout_and_keeps_the_old_file() {
    let mut d = Daemon::with(Options {
        write: true,
        data_timeout: Some(1),
        ..Options::default()
    });
    d.put("s.bin", b"old");
    let mut c = d.login();
    let mut data = c.begin_transfer("STOR s.bin");
    data.write_all(b"partial").unwrap();
    // Then nothing: the daemon gives up after about a second.
    let start = Instant::now();
    let r = c.reply();
    assert!(matches!(r.code, 426 | 451), "stalled upload: {:?}", r.lines);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(fs::read(d.root().join("s.bin")).unwrap(), b"old");
    assert!(
        wait_until(Duration::from_secs(5), || d.names("") == ["s.bin"]),
        "temporary files left behind: {:?}",
        d.names("")
    );
    c.cmd_ok("NOOP", 200);
    d.assert_alive();
}

#[test]
fn stalled_download_fails_after_data_timeout() {
    let mut d = Daemon::with(Options {
        data_timeout: Some(1),
        ..Options::default()
    });
    d.put("big.bin", &vec![0x11u8; 32 << 20]);
    let mut c = d.login();
    let data = c.begin_transfer("RETR big.bin");
    // Never read: the socket buffers fill and progress stops.
    let r = c.reply();
    assert!(
        matches!(r.code, 426 | 451),
        "stalled download: {:?}",
        r.lines
    );
    drop(data);
    c.cmd_ok("NOOP", 200);
    d.assert_alive();
}

#[test]
fn type_a_conversion_across_buffer_boundaries() {
    let d = Daemon::start_write();
    // Lines of varying length so CRLF pairs straddle every chunk boundary.
    let mut unix = Vec::new();
    let mut wire = Vec::new();
    let mut rng = Rng::new(91);
    while unix.len() < (3 << 20) {
        let n = rng.below(300) as usize;
        let line: Vec<u8> = (0..n).map(|_| b'a' + rng.below(26) as u8).collect();
        unix.extend_from_slice(&line);
        unix.push(b'\n');
        wire.extend_from_slice(&line);
        wire.extend_from_slice(b"\r\n");
    }
    d.put("unix.txt", &unix);
    let mut c = d.login();
    c.cmd_ok("TYPE A", 200);
    assert_bytes_eq("TYPE A RETR", &c.download("RETR unix.txt"), &wire);
    c.upload("STOR back.txt", &wire);
    assert_bytes_eq(
        "TYPE A STOR",
        &fs::read(d.root().join("back.txt")).unwrap(),
        &unix,
    );
    // In TYPE I nothing changes.
    c.cmd_ok("TYPE I", 200);
    c.upload("STOR raw.txt", &wire);
    assert_bytes_eq(
        "TYPE I STOR",
        &fs::read(d.root().join("raw.txt")).unwrap(),
        &wire,
    );
}

#[test]
fn symlinks_out_of_the_root_are_refused_for_writes() {
    traversal::symlinks_out_of_the_root_are_refused_for_writes(&mut Daemon::start_write());
}

#[test]
fn passive_connection_from_another_address_is_refused() {
    let d = Daemon::start();
    d.put("f", b"secret data");
    let mut c = d.login();
    let r = c.cmd_ok("PASV", 227);
    let (_, port) = parse_227(r.text()).unwrap();
    // An intruder from 127.0.0.2 connects first and leaves (std cannot
    // bind a source address, so python does it). The kernel queues it
    // before our own connection, so the daemon sees it first.
    let intruder = format!(
        "import socket\n\
         s = socket.socket()\n\
         s.settimeout(5)\n\
         s.bind(('127.0.0.2', 0))\n\
         s.connect(('127.0.0.1', {port}))\n\
         s.close()\n\
         print('connected')\n"
    );
    let run = run_bounded(
        Command::new("python3").arg("-c").arg(&intruder),
        b"",
        Duration::from_secs(30),
    );
    assert!(run.success(), "intruder script: {}", run.stderr);
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "connected");
    // The real transfer still goes to the control peer's connection.
    c.send("RETR f");
    let mut data = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    data.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    c.expect_one_of(&[125, 150]);
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    c.expect_reply(226);
    assert_eq!(got, b"secret data");
}

#[test]
fn big_listings_are_complete() {
    let d = Daemon::start();
    let n = 3000;
    for i in 0..n {
        fs::write(
            d.root().join(format!("file-{i:05}-{}.txt", "x".repeat(40))),
            b"x",
        )
        .unwrap();
    }
    let mut c = d.login();
    let nlst = String::from_utf8(c.download("NLST")).unwrap();
    assert_eq!(nlst.split("\r\n").filter(|l| !l.is_empty()).count(), n);
    let list = String::from_utf8(c.download("LIST")).unwrap();
    assert_eq!(
        list.split("\r\n").filter(|l| l.contains("file-")).count(),
        n
    );
    let mlsd = String::from_utf8(c.download("MLSD")).unwrap();
    assert_eq!(
        mlsd.split("\r\n")
            .filter(|l| l.contains("type=file;"))
            .count(),
        n
    );
}

#[test]
fn concurrent_transfers_are_all_correct() {
    let mut d = Daemon::start_write();
    let mut rng = Rng::new(101);
    let bodies: Vec<Vec<u8>> = (0..8).map(|i| rng.bytes((3 << 20) + i * 1001)).collect();
    for (i, b) in bodies.iter().enumerate() {
        d.put(&format!("down-{i}.bin"), b);
    }
    let addr = d.addr();
    let handles: Vec<_> = bodies
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, body)| {
            std::thread::spawn(move || {
                let mut c = Ctrl::connect(addr);
                c.expect_reply(220);
                c.cmd_ok("USER anonymous", 331);
                c.cmd_ok("PASS x", 230);
                c.cmd_ok("TYPE I", 200);
                let got = c.download(&format!("RETR down-{i}.bin"));
                assert_bytes_eq(&format!("concurrent RETR {i}"), &got, &body);
                c.upload(&format!("STOR up-{i}.bin"), &body);
                c.cmd_ok("QUIT", 221);
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a concurrent session failed");
    }
    for (i, b) in bodies.iter().enumerate() {
        assert_bytes_eq(
            &format!("up-{i}.bin"),
            &fs::read(d.root().join(format!("up-{i}.bin"))).unwrap(),
            b,
        );
    }
    d.assert_alive();
}

#[test]
fn abor_during_an_upload_keeps_the_old_file() {
    let mut d = Daemon::start_write();
    d.put("u.bin", b"old body");
    let mut c = d.login();
    let mut data = c.begin_transfer("STOR u.bin");
    data.write_all(&[9u8; 200_000]).unwrap();
    c.send_raw(b"\xff\xf4\xff\xf2ABOR\r\n");
    // 426 then 226 (aborted while running), or 226 then 225 if the daemon
    // had read everything and the transfer had ended — it has not: the data
    // connection is still open.
    c.expect_reply(426);
    c.expect_reply(226);
    data.shutdown(Shutdown::Both).ok();
    assert_eq!(fs::read(d.root().join("u.bin")).unwrap(), b"old body");
    assert!(
        wait_until(Duration::from_secs(5), || d.names("") == ["u.bin"]),
        "temporary files left behind: {:?}",
        d.names("")
    );
    d.assert_alive();
}

fn mkfifo(path: &std::path::Path) {
    let run = run_bounded(
        Command::new("mkfifo").arg(path),
        b"",
        Duration::from_secs(10),
    );
    assert!(run.success(), "mkfifo: {}", run.stderr);
}

/// A named pipe in the served folder is "not accessible" as a file: a
/// RETR or APPE of it is refused, and — the daemon being one thread — it
/// must never block the daemon in open(2) while other sessions wait.
#[test]
fn a_fifo_in_the_root_never_blocks_the_daemon() {
    let mut d = Daemon::start_write();
    mkfifo(&d.root().join("fifo"));
    d.put("plain.txt", b"plain");
    let mut other = d.login();
    let mut c = d.login();
    c.set_read_timeout(Duration::from_secs(5));
    other.set_read_timeout(Duration::from_secs(5));
    for line in ["RETR fifo", "APPE fifo"] {
        let p = c.pasv();
        c.send(line);
        let data = p.try_open();
        // Another session is answered at once meanwhile.
        let t = Instant::now();
        let r = other.try_cmd("NOOP");
        assert!(
            matches!(&r, Ok(r) if r.code == 200),
            "while {line} was pending another session got {r:?} after {:?}: the daemon is blocked",
            t.elapsed()
        );
        let r = c.reply();
        assert!(
            matches!(r.code, 550 | 451 | 553),
            "{line} of a named pipe: {:?}",
            r.lines
        );
        drop(data);
    }
    assert_eq!(c.download("RETR plain.txt"), b"plain");
    let list = String::from_utf8(c.download("LIST")).unwrap();
    assert!(
        list.contains("fifo") && list.contains("plain.txt"),
        "{list:?}"
    );
    d.assert_alive();
}

#[test]
fn symlinks_inside_the_root_are_followed() {
    traversal::symlinks_inside_the_root_are_followed(&Daemon::start());
}

#[test]
fn no_descriptor_leaks() {
    let mut d = Daemon::start();
    d.put("small", b"s");
    d.put("big.bin", &vec![3u8; 16 << 20]);
    // Settle: one full session first, so lazily opened things exist.
    {
        let mut c = d.login();
        assert_eq!(c.download("RETR small"), b"s");
        c.cmd_ok("QUIT", 221);
        c.expect_closed();
    }
    let baseline = d.fd_count();
    for _ in 0..30 {
        let mut c = d.login();
        assert_eq!(c.download("RETR small"), b"s");
        c.cmd_ok("QUIT", 221);
        c.expect_closed();
    }
    for _ in 0..10 {
        // Dropped mid-download, control and data.
        let mut c = d.login();
        let p = c.pasv();
        c.send("RETR big.bin");
        let mut data = p.open();
        c.expect_one_of(&[125, 150]);
        let mut buf = [0u8; 4096];
        data.read_exact(&mut buf).unwrap();
    }
    {
        // Passive listeners that are never used replace one another.
        let mut c = d.login();
        for _ in 0..100 {
            c.cmd_ok("PASV", 227);
        }
        c.cmd_ok("QUIT", 221);
        c.expect_closed();
    }
    let settled = wait_until(Duration::from_secs(10), || d.fd_count() <= baseline + 2);
    assert!(
        settled,
        "descriptors leak: {baseline} before, {} after 141 finished sessions",
        d.fd_count()
    );
    d.assert_alive();
}

#[test]
fn a_client_that_never_reads_replies_cannot_grow_the_daemon() {
    let mut d = Daemon::start();
    let before = d.rss_kib();
    let c = d.login();
    c.stream()
        .set_write_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let chunk = b"NOOP\r\n".repeat(10_000);
    let mut sent = 0usize;
    let mut s = c.stream().try_clone().unwrap();
    // 60 MB of commands whose replies are never read: the daemon must stop
    // reading (our writes then time out) rather than queue replies forever.
    while sent < 60 << 20 {
        match s.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    eprintln!("sent {sent} bytes before the daemon stopped reading");
    let after = d.rss_kib();
    assert!(
        after < before + 64 * 1024,
        "the daemon grew from {before} KiB to {after} KiB for one client that never reads ({sent} bytes sent)"
    );
    drop(s);
    drop(c);
    d.assert_alive();
}

#[test]
fn stat_during_a_transfer_answers_and_the_transfer_goes_on() {
    let d = Daemon::start();
    let body: Vec<u8> = (0..(16usize << 20)).map(|i| (i % 247) as u8).collect();
    d.put("big.bin", &body);
    let mut c = d.login();
    let mut data = c.begin_transfer("RETR big.bin");
    let mut got = vec![0u8; 4096];
    data.read_exact(&mut got).unwrap();
    // TELNET IP + SYNCH before STAT, as clients send it.
    c.send_raw(b"\xff\xf4\xff\xf2STAT\r\n");
    let r = c.expect_one_of(&[211, 213]);
    assert!(r.is_multiline(), "STAT must be multi-line: {:?}", r.lines);
    data.read_to_end(&mut got).unwrap();
    c.expect_reply(226);
    assert_bytes_eq("RETR with a STAT during it", &got, &body);
}

/// STOR replaces by rename: a download already running keeps reading the
/// old file, complete and unmixed.
#[test]
fn stor_over_a_file_being_downloaded_is_atomic() {
    let d = Daemon::start_write();
    let old = vec![b'o'; 16 << 20];
    let new = vec![b'n'; 1 << 20];
    d.put("f.bin", &old);
    let mut reader = d.login();
    let mut data = reader.begin_transfer("RETR f.bin");
    let mut got = vec![0u8; 65536];
    data.read_exact(&mut got).unwrap();
    let mut writer = d.login();
    writer.cmd_ok("TYPE I", 200);
    writer.upload("STOR f.bin", &new);
    assert_bytes_eq(
        "the new file",
        &fs::read(d.root().join("f.bin")).unwrap(),
        &new,
    );
    data.read_to_end(&mut got).unwrap();
    reader.expect_reply(226);
    assert_bytes_eq("the download that started before the STOR", &got, &old);
}

/// `--data-timeout` is about progress: a slow download that keeps moving
/// must not be cut off however long it takes. (The sleeps pace the reader;
/// they are the scenario, not synchronisation.)
#[test]
fn slow_but_steady_download_outlives_the_data_timeout() {
    let d = Daemon::with(Options {
        data_timeout: Some(1),
        ..Options::default()
    });
    let body: Vec<u8> = (0..(6usize << 20)).map(|i| (i % 233) as u8).collect();
    d.put("slow.bin", &body);
    let mut c = d.login();
    let mut data = c.begin_transfer("RETR slow.bin");
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 128 * 1024];
    loop {
        let n = data.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        std::thread::sleep(Duration::from_millis(60));
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "endless slow read"
        );
    }
    assert!(
        start.elapsed() > Duration::from_secs(2),
        "not slow enough to test anything"
    );
    c.expect_reply(226);
    assert_bytes_eq("slow download", &got, &body);
    c.cmd_ok("NOOP", 200);
}

/// The same for an upload, where no socket buffer hides the pace from the
/// daemon: a session busy receiving a file is not idle either, so neither
/// `--data-timeout 1` nor `--idle-timeout 1` may end it.
#[test]
fn slow_but_steady_upload_outlives_both_timeouts() {
    let d = Daemon::with(Options {
        write: true,
        data_timeout: Some(1),
        idle_timeout: Some(1),
        ..Options::default()
    });
    let mut rng = Rng::new(111);
    let body = rng.bytes(40 * 16 * 1024);
    let mut c = d.login();
    let mut data = c.begin_transfer("STOR slow.bin");
    let start = Instant::now();
    for chunk in body.chunks(16 * 1024) {
        data.write_all(chunk).unwrap();
        std::thread::sleep(Duration::from_millis(75));
    }
    drop(data);
    assert!(
        start.elapsed() > Duration::from_secs(2),
        "not slow enough to test anything"
    );
    c.expect_reply(226);
    c.cmd_ok("NOOP", 200);
    assert_bytes_eq(
        "slow upload",
        &fs::read(d.root().join("slow.bin")).unwrap(),
        &body,
    );
}

/// lftp pipelines PORT, REST and STOR without waiting for replies.
#[test]
fn pipelined_port_rest_stor() {
    let d = Daemon::start_write();
    d.put("r.bin", b"0123456789");
    let mut c = d.login();
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    c.send_raw(
        format!(
            "TYPE I\r\nPORT 127,0,0,1,{},{}\r\nREST 4\r\nSTOR r.bin\r\n",
            port >> 8,
            port & 0xff
        )
        .as_bytes(),
    );
    c.expect_reply(200);
    c.expect_reply(200);
    c.expect_reply(350);
    let mut data = DataPlan::Active(l).open();
    c.expect_one_of(&[125, 150]);
    data.write_all(b"abc").unwrap();
    drop(data);
    c.expect_reply(226);
    // Written in place at offset 4; whether the old tail survives beyond
    // the new data is left open by the RFCs (vsftpd keeps it).
    let got = fs::read(d.root().join("r.bin")).unwrap();
    assert!(
        got == b"0123abc789" || got == b"0123abc",
        "REST 4 + STOR abc over 0123456789 gave {:?}",
        String::from_utf8_lossy(&got)
    );
}

/// A sparse file over 4 GiB: SIZE, and REST near its end, exact — the
/// check that matters on 32-bit boards (run this suite against an armv7
/// binary under qemu to see it there).
#[test]
fn a_file_over_4_gib_is_exact() {
    let d = Daemon::start();
    let size: u64 = (5 << 30) + 7;
    let path = d.root().join("huge.img");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(size).unwrap();
    std::os::unix::fs::FileExt::write_at(&file, b"tail!!!", size - 7).unwrap();
    drop(file);
    let mut c = d.login();
    c.cmd_ok("TYPE I", 200);
    let r = c.cmd_ok("SIZE huge.img", 213);
    assert_eq!(r.text(), size.to_string());
    let got = c.download_rest(Some(size - 10), "RETR huge.img");
    assert_eq!(got, b"\0\0\0tail!!!");
}
