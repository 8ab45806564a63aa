//! Bandwidth limits (`--max-rate-down`, `--max-rate-up`, `--max-rate`),
//! measured with the test's wall clock over a few seconds (10 % tolerance),
//! while another session runs at full speed beside the limited one.
//!
//! The per-session limits apply to every session in their direction, so
//! "another session at full speed" is one moving data the other way.

use pocketftpd_tests::*;
use std::fs;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::thread;
use std::time::{Duration, Instant};

const MIB: usize = 1024 * 1024;

fn write_daemon(extra: &[&str]) -> Daemon {
    Daemon::with(Options {
        write: true,
        extra: extra.iter().map(|s| s.to_string()).collect(),
        ..Options::default()
    })
}

/// RETR `name` in a new session; returns (start, end) of the transfer as
/// the client saw it, from the command to its `226`.
fn timed_download(d: &Daemon, name: &str, len: usize) -> (Instant, Instant) {
    let mut c = d.login();
    c.cmd_ok("TYPE I", 200);
    let start = Instant::now();
    let got = c.download(&format!("RETR {name}"));
    let end = Instant::now();
    assert_eq!(got.len(), len, "RETR {name}: short download");
    (start, end)
}

/// STOR `name` in a new session; (start, end) from the command to its `226`
/// (the daemon reads at its limit, so the `226` comes when it has it all).
fn timed_upload(d: &Daemon, name: &str, bytes: &[u8]) -> (Instant, Instant) {
    let mut c = d.login();
    c.cmd_ok("TYPE I", 200);
    let plan = c.pasv();
    let start = Instant::now();
    c.send(&format!("STOR {name}"));
    let mut data = plan.open();
    c.expect_one_of(&[125, 150]);
    data.write_all(bytes).expect("write the upload");
    data.shutdown(Shutdown::Write).ok();
    drop(data);
    c.expect_reply(226);
    (start, Instant::now())
}

fn seconds((start, end): (Instant, Instant)) -> f64 {
    (end - start).as_secs_f64()
}

/// A transfer of `expected` seconds at its limit: never more than 15 %
/// faster (the limit holds), and at most twice as slow (the limiter does not
/// starve it; a machine busy with other tests may slow the client itself,
/// which a tighter upper bound took for the daemon's fault).
fn assert_at_limit(what: &str, took: f64, expected: f64) {
    eprintln!("{what}: {took:.3} s");
    assert!(
        (expected * 0.85..=expected * 2.0).contains(&took),
        "{what}: took {took:.2} s at its limit, not {expected} s (-15 %, +100 %)"
    );
}

/// 6 MiB at 2 MiB/s: 3 s.
fn assert_three_seconds(what: &str, span: (Instant, Instant)) {
    assert_at_limit(what, seconds(span), 3.0);
}

/// The unlimited transfer ran while the limited one did, and much faster:
/// at least five times the limit.
fn assert_full_speed(what: &str, fast: (Instant, Instant), slow: (Instant, Instant), len: usize) {
    assert!(
        fast.0 > slow.0 && fast.1 < slow.1,
        "{what}: the unlimited transfer did not run beside the limited one"
    );
    let rate = len as f64 / seconds(fast) / MIB as f64;
    eprintln!("{what}: {rate:.1} MiB/s");
    assert!(
        rate > 10.0,
        "{what}: the unlimited transfer ran at {rate:.1} MiB/s beside a 2 MiB/s one"
    );
}

#[test]
fn max_rate_down_limits_each_download_not_uploads() {
    let d = write_daemon(&["--max-rate-down", "2M"]);
    d.put("six.bin", &Rng::new(1).bytes(6 * MIB));
    let upload = Rng::new(2).bytes(16 * MIB);
    thread::scope(|s| {
        let slow = s.spawn(|| timed_download(&d, "six.bin", 6 * MIB));
        thread::sleep(Duration::from_millis(300));
        let fast = timed_upload(&d, "fast.bin", &upload);
        let slow = slow.join().expect("the limited download");
        assert_three_seconds("download", slow);
        assert_full_speed("upload beside a limited download", fast, slow, upload.len());
    });
    assert_eq!(fs::read(d.root().join("fast.bin")).unwrap(), upload);
}

#[test]
fn max_rate_up_limits_each_upload_not_downloads() {
    let d = write_daemon(&["--max-rate-up", "2M"]);
    let big = Rng::new(3).bytes(16 * MIB);
    d.put("big.bin", &big);
    let upload = Rng::new(4).bytes(6 * MIB);
    thread::scope(|s| {
        let slow = s.spawn(|| timed_upload(&d, "six.bin", &upload));
        thread::sleep(Duration::from_millis(300));
        let fast = timed_download(&d, "big.bin", big.len());
        let slow = slow.join().expect("the limited upload");
        assert_three_seconds("upload", slow);
        assert_full_speed("download beside a limited upload", fast, slow, big.len());
    });
    assert_eq!(fs::read(d.root().join("six.bin")).unwrap(), upload);
}

#[test]
fn max_rate_is_shared_by_all_sessions_and_directions() {
    // 3 MiB down and 3 MiB up at once under one 2 MiB/s limit: 3 s for both.
    let d = write_daemon(&["--max-rate", "2M"]);
    d.put("three.bin", &Rng::new(5).bytes(3 * MIB));
    let upload = Rng::new(6).bytes(3 * MIB);
    let start = Instant::now();
    thread::scope(|s| {
        let down = s.spawn(|| timed_download(&d, "three.bin", 3 * MIB));
        let up = timed_upload(&d, "up.bin", &upload);
        let down = down.join().expect("the download");
        let both = (start, down.1.max(up.1));
        assert_three_seconds("download and upload together", both);
    });
}

/// User and system CPU time of a process, from `/proc/PID/stat`.
fn cpu_time(pid: u32) -> Duration {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // Fields after the command name (which may hold spaces) start at state.
    let after = stat.rsplit_once(')').expect("comm in /proc/PID/stat").1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

#[test]
fn a_throttled_transfer_waits_on_a_timer_not_in_a_busy_loop() {
    let d = write_daemon(&["--max-rate-down", "1M"]);
    d.put("two.bin", &Rng::new(7).bytes(2 * MIB));
    let mut c = d.login();
    c.cmd_ok("TYPE I", 200);
    let before = cpu_time(d.pid());
    let start = Instant::now();
    let mut data = c.begin_transfer("RETR two.bin");
    let mut got = Vec::new();
    data.read_to_end(&mut got).expect("read the download");
    c.expect_reply(226);
    let took = start.elapsed().as_secs_f64();
    let cpu = cpu_time(d.pid()) - before;
    assert_eq!(got.len(), 2 * MIB);
    assert!(
        (1.7..=2.2).contains(&took),
        "2 MiB at 1 MiB/s took {took:.2} s"
    );
    assert!(
        cpu < Duration::from_millis(500),
        "the daemon used {cpu:?} of CPU for a {took:.1} s throttled download"
    );
}

#[test]
fn sighup_changes_the_limits_of_new_transfers() {
    let config_dir = TempDir::new("rates-config");
    let config = config_dir.join("pocketftpd.conf");
    fs::write(&config, "max-rate-down = 0\n").unwrap();
    let d = write_daemon(&["--config", config.to_str().unwrap()]);
    d.put("two.bin", &Rng::new(8).bytes(2 * MIB));
    let took = seconds(timed_download(&d, "two.bin", 2 * MIB));
    assert!(took < 0.5, "unlimited: 2 MiB took {took:.2} s");

    fs::write(&config, "max-rate-down = 1M\n").unwrap();
    d.signal("HUP");
    assert!(wait_until(Duration::from_secs(10), || d
        .stderr()
        .contains("settings re-read")));
    let took = seconds(timed_download(&d, "two.bin", 2 * MIB));
    assert_at_limit("after SIGHUP, 2 MiB at 1 MiB/s", took, 2.0);
}

/// Reads a download to its end, noting the longest wait for bytes (from
/// `start`, then between reads); returns (bytes, longest wait).
fn read_noting_gaps(data: &mut std::net::TcpStream, start: Instant) -> (usize, Duration) {
    let (mut total, mut last, mut longest) = (0, start, Duration::ZERO);
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = data.read(&mut buf).expect("read the download");
        let now = Instant::now();
        longest = longest.max(now - last);
        last = now;
        if n == 0 {
            return (total, longest);
        }
        total += n;
    }
}

#[test]
fn max_rate_is_shared_in_turns_and_never_stalls_a_transfer() {
    // Issue 24: under one --max-rate, the first transfer took every refill
    // of the bucket; a second download and a listing waited until it was
    // done, and a short --data-timeout aborted them (426 No progress).
    const KIB: usize = 1024;
    let d = Daemon::with(Options {
        data_timeout: Some(1),
        extra: vec!["--max-rate".into(), "100K".into()],
        ..Options::default()
    });
    d.put("a.bin", &Rng::new(9).bytes(200 * KIB));
    d.put("b.bin", &Rng::new(10).bytes(200 * KIB));
    let start = Instant::now();
    thread::scope(|s| {
        let downloads: Vec<_> = ["a.bin", "b.bin"]
            .into_iter()
            .map(|name| {
                let mut c = d.login();
                let mut data = c.begin_transfer(&format!("RETR {name}"));
                s.spawn(move || {
                    let (bytes, longest) = read_noting_gaps(&mut data, Instant::now());
                    drop(data);
                    let done = c.reply();
                    (name, bytes, longest, done.code, done.text().to_owned())
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(300));
        let mut c = d.login();
        let listed = Instant::now();
        let listing = c.download("LIST");
        let took = listed.elapsed();
        assert!(
            String::from_utf8_lossy(&listing).contains("b.bin"),
            "{listing:?}"
        );
        assert!(
            took < Duration::from_secs(1),
            "a LIST beside two limited downloads took {took:?}"
        );
        for download in downloads {
            let (name, bytes, longest, code, text) = download.join().expect("a download");
            assert_eq!(
                (code, bytes),
                (226, 200 * KIB),
                "RETR {name}: {code} {text} after {bytes} bytes"
            );
            assert!(
                longest < Duration::from_secs(1),
                "RETR {name} waited {longest:?} for bytes"
            );
        }
    });
    // 400 KiB and a listing at 100 KiB/s: about 4 s, less the full bucket
    // the daemon starts with (16 KiB).
    let took = start.elapsed().as_secs_f64();
    assert!(
        took >= 3.6,
        "400 KiB under --max-rate 100K took {took:.2} s"
    );
}

#[test]
fn a_transfer_waiting_longer_than_the_data_timeout_is_not_aborted() {
    // At 1 KiB/s a download waits 4 s for each 4 KiB after its first
    // 16 KiB: waiting for the server's tokens is no stall of the client.
    let d = Daemon::with(Options {
        data_timeout: Some(1),
        extra: vec!["--max-rate-down".into(), "1K".into()],
        ..Options::default()
    });
    let bytes = Rng::new(11).bytes(20 * 1024);
    d.put("small.bin", &bytes);
    let mut c = d.login();
    c.cmd_ok("TYPE I", 200);
    let start = Instant::now();
    assert_eq!(c.download("RETR small.bin"), bytes);
    let took = start.elapsed().as_secs_f64();
    assert!(
        (3.8..=5.0).contains(&took),
        "20 KiB at 1 KiB/s took {took:.2} s"
    );
}
