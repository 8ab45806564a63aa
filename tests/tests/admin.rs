//! The admin listener (issue 29): `/metrics` read by Prometheus' own
//! Python parser, `/healthz`, the status page in a real browser (Debian's
//! chromium, headless: its DOM asserted, a screenshot kept), the bearer
//! token, hostile HTTP (oversized, slowloris, pipelined, bad methods,
//! `/../`, non-UTF-8), kicks (idle, mid-upload, mid-download) and
//! `pocketftpd who`.

use pocketftpd_tests::*;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

#[path = "shared/admin.rs"]
mod shared;
use shared::*;

/// The IDs in `/sessions.json`, in order.
fn session_ids(admin: SocketAddr) -> Vec<u32> {
    let (status, json) = get(admin, "/sessions.json");
    assert_eq!(status, 200, "{json}");
    json.split("{\"id\":")
        .skip(1)
        .map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().expect("a session id")
        })
        .collect()
}

/// The IDs once there are `n` sessions (the start-up probe's session may
/// still be ending).
fn settled_ids(admin: SocketAddr, n: usize) -> Vec<u32> {
    let mut ids = Vec::new();
    let settled = wait_until(Duration::from_secs(5), || {
        ids = session_ids(admin);
        ids.len() == n
    });
    assert!(settled, "sessions {ids:?}, not {n}");
    ids
}

fn kick(admin: SocketAddr, id: u32) -> (u16, String) {
    request(
        admin,
        "POST",
        &format!("/sessions/{id}/kick"),
        "X-Pocketftpd-Kick: 1\r\nContent-Length: 0\r\n",
    )
}

#[test]
fn metrics_parse_and_move_by_what_a_session_did() {
    let Some(python) = prometheus_python() else {
        return;
    };
    let users = TempDir::new("admin-users");
    let users_file = users.join("users");
    fs::write(
        &users_file,
        format!("alice:{}:user\n", password_hash("right horse")),
    )
    .unwrap();
    let users_path = users_file.to_str().unwrap();
    let (d, admin) = admin_daemon(&["--users", users_path, "--anonymous", "--login-delay", "0"]);
    d.put("down.bin", &[7u8; 1000]);
    let before = parsed_metrics(&python, admin);
    for line in before.iter().filter(|l| l.starts_with("# family")) {
        let words: Vec<&str> = line.split(' ').collect();
        assert!(words.len() > 4, "a family without help: {line}");
        let (name, kind) = (words[2], words[3]);
        assert!(name.starts_with("pocketftpd_"), "{line}");
        assert!(["counter", "gauge"].contains(&kind), "{line}");
        let samples = before
            .iter()
            .filter(|l| l.starts_with(&format!("{name}_total{{")));
        assert_eq!(
            kind == "counter",
            samples.count() > 0,
            "a counter is NAME_total: {line}"
        );
    }
    assert!(sample(&before, "pocketftpd_resident_memory_bytes") > 0.0);
    assert!(sample(&before, "pocketftpd_filesystem_free_bytes") > 0.0);

    let mut refused = d.connect();
    refused.cmd_ok("USER alice", 331);
    refused.cmd_ok("PASS wrong horse", 530);
    let mut c = d.login();
    assert_eq!(c.download("RETR down.bin"), vec![7u8; 1000]);
    c.upload("STOR up.bin", &[1u8; 3000]);
    let clear = |l: &[String]| sample(l, "pocketftpd_sessions_open{security=\"clear\"}");
    settled_ids(admin, 2);
    let during = parsed_metrics(&python, admin);
    assert_eq!(clear(&during), 2.0, "two sessions open in clear");
    assert_eq!(
        sample(&during, "pocketftpd_sessions_logged_in{role=\"anonymous\"}"),
        1.0
    );
    c.cmd_ok("QUIT", 221);
    refused.cmd_ok("QUIT", 221);

    let after = parsed_metrics(&python, admin);
    let moved = |name: &str| sample(&after, name) - sample(&before, name);
    assert_eq!(moved("pocketftpd_sessions_total"), 2.0);
    assert_eq!(moved("pocketftpd_logins_total{result=\"ok\"}"), 1.0);
    assert_eq!(moved("pocketftpd_logins_total{result=\"failed\"}"), 1.0);
    assert_eq!(moved("pocketftpd_sent_bytes_total"), 1000.0);
    assert_eq!(moved("pocketftpd_received_bytes_total"), 3000.0);
    let transfers = |dir: &str, result: &str| {
        moved(&format!(
            "pocketftpd_transfers_total{{direction=\"{dir}\",result=\"{result}\"}}"
        ))
    };
    assert_eq!(transfers("download", "complete"), 1.0);
    assert_eq!(transfers("upload", "complete"), 1.0);
    assert_eq!(transfers("upload", "broken"), 0.0);
    assert!(moved("pocketftpd_loop_busy_seconds_total") > 0.0);
    assert!(wait_until(Duration::from_secs(5), || {
        clear(&parsed_metrics(&python, admin)) == 0.0
    }));
}

#[test]
fn healthz_says_when_the_served_folder_is_gone() {
    let (d, admin) = admin_daemon(&[]);
    assert_eq!(get(admin, "/healthz"), (200, "ok\n".to_owned()));
    let (status, _) = request(admin, "HEAD", "/healthz", "");
    assert_eq!(status, 200);
    fs::remove_dir_all(d.root()).unwrap();
    let (status, why) = get(admin, "/healthz");
    assert_eq!(status, 503);
    assert!(why.contains("deleted"), "{why}");
}

#[test]
fn with_a_token_every_request_needs_it() {
    let dir = TempDir::new("admin-token");
    let token_file = dir.join("token");
    fs::write(&token_file, "s3cret-token-0123456789\n").unwrap();
    let token_path = token_file.to_str().unwrap();
    let (_d, admin) = admin_daemon(&["--admin-token-file", token_path]);
    let (status, _) = get(admin, "/metrics");
    assert_eq!(status, 401, "no token");
    let answer = exchange(
        admin,
        b"GET /metrics HTTP/1.1\r\nConnection: close\r\nAuthorization: Bearer s3cret-token-012345678\r\n\r\n",
    );
    assert_eq!(status_of(&answer), 401, "a token one byte short");
    assert!(answer.contains("WWW-Authenticate: Bearer"), "{answer}");
    let (status, _) = request(
        admin,
        "GET",
        "/metrics",
        "Authorization: Basic czNjcmV0LXRva2VuLTAxMjM0NTY3ODk=\r\n",
    );
    assert_eq!(status, 401, "not a bearer token");
    let (status, _) = request(
        admin,
        "GET",
        "/metrics",
        "Authorization: Bearer s3cret-token-0123456789\r\n",
    );
    assert_eq!(status, 200, "the right token");
    // `who` reads the same file.
    let run = run_bounded(
        daemon_command().args([
            "who",
            "--admin",
            &admin.to_string(),
            "--token-file",
            token_path,
        ]),
        b"",
        Duration::from_secs(30),
    );
    assert!(run.success(), "{}", run.stderr);
}

#[test]
fn an_admin_listener_off_loopback_needs_a_token_to_start() {
    let why = start_fails(&["--admin-listen", "0.0.0.0:1"]);
    assert!(
        why.contains("not a loopback address") && why.contains("--admin-token-file"),
        "{why}"
    );
    let dir = TempDir::new("admin-short-token");
    fs::write(dir.join("token"), "short\n").unwrap();
    let token = dir.join("token");
    let why = start_fails(&[
        "--admin-listen",
        "0.0.0.0:1",
        "--admin-token-file",
        token.to_str().unwrap(),
    ]);
    assert!(why.contains("at least 16"), "{why}");
}

#[test]
fn hostile_requests_get_a_clear_answer_and_the_loop_goes_on() {
    let (mut d, admin) = admin_daemon(&[]);
    let long_target = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(20_000));
    let many_headers = format!(
        "GET / HTTP/1.1\r\n{}\r\n",
        (0..70).map(|i| format!("X-{i}: y\r\n")).collect::<String>()
    );
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (long_target.into_bytes(), 431),
        (many_headers.into_bytes(), 431),
        (b"BREW /metrics HTTP/1.1\r\n\r\n".to_vec(), 405),
        (b"GET /../metrics HTTP/1.1\r\n\r\n".to_vec(), 404),
        (
            b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n\r\n".to_vec(),
            404,
        ),
        (b"GET /metrics/../healthz HTTP/1.1\r\n\r\n".to_vec(), 404),
        (b"GET /\xff\xfe HTTP/1.1\r\n\r\n".to_vec(), 400),
        (b"GET / HTTP/1.1\r\nX: \xff\x01\r\n\r\n".to_vec(), 400),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), 505),
        (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n".to_vec(),
            400,
        ),
        (
            b"POST /sessions/1/kick HTTP/1.1\r\nContent-Length: 5000\r\n\r\n".to_vec(),
            413,
        ),
        (
            b"POST /sessions/1/kick HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
            411,
        ),
        (b"DELETE /sessions/1/kick HTTP/1.1\r\n\r\n".to_vec(), 405),
        (b"GET /sessions/1/kick HTTP/1.1\r\n\r\n".to_vec(), 405),
    ];
    for (raw, want) in cases {
        let answer = exchange(admin, &raw);
        let shown = String::from_utf8_lossy(&raw[..raw.len().min(60)]).into_owned();
        assert_eq!(status_of(&answer), want, "{shown:?}: {answer}");
    }
    // Pipelined: three requests in one write, answered in order.
    let answer = exchange(
        admin,
        b"GET /healthz HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\nGET /sessions.txt HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    let statuses: Vec<&str> = answer.matches("HTTP/1.1 ").collect();
    assert_eq!(statuses.len(), 3, "{answer}");
    let order: Vec<usize> = ["200 OK", "404 Not Found", "USER"]
        .iter()
        .map(|s| answer.find(s).unwrap_or_else(|| panic!("{s} in {answer}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{answer}");
    d.assert_alive();
}

#[test]
fn a_slow_request_is_cut_off_and_never_stalls_the_loop() {
    let (mut d, admin) = admin_daemon(&[]);
    let mut slow = TcpStream::connect(admin).unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\n").unwrap();
    // The admin listener's connections, all taken by idle clients.
    let idle: Vec<TcpStream> = (0..20)
        .filter_map(|_| TcpStream::connect(admin).ok())
        .collect();
    let started = Instant::now();
    let mut c = d.login();
    c.cmd_ok("NOOP", 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the FTP side waited"
    );
    drop(idle);
    // A byte a second, each well within the time a request may take.
    let mut closed = false;
    for _ in 0..20 {
        thread::sleep(Duration::from_millis(1000));
        if slow.write_all(b"X").is_err() {
            closed = true;
            break;
        }
        slow.set_nonblocking(true).unwrap();
        let mut byte = [0; 1];
        let read = slow.read(&mut byte);
        if matches!(&read, Ok(0)) || read.is_err_and(|e| e.kind() != std::io::ErrorKind::WouldBlock)
        {
            closed = true;
            break;
        }
        slow.set_nonblocking(false).unwrap();
        assert_eq!(
            get(admin, "/healthz").0,
            200,
            "answered beside the slow one"
        );
    }
    assert!(closed, "the slow request was not cut off");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(14), "cut off after {took:?}");
    c.cmd_ok("NOOP", 200);
    d.assert_alive();
}

#[test]
fn a_kicked_idle_session_gets_421() {
    let (d, admin) = admin_daemon(&[]);
    let mut c = d.login();
    let id = settled_ids(admin, 1)[0];
    let (status, why) = request(admin, "POST", &format!("/sessions/{id}/kick"), "");
    assert_eq!(status, 403, "no kick header: {why}");
    c.cmd_ok("NOOP", 200);
    assert_eq!(kick(admin, id + 1000).0, 404);
    assert_eq!(kick(admin, id), (200, format!("session {id} ended\n")));
    c.expect_reply(421);
    c.expect_closed();
    assert!(wait_until(Duration::from_secs(5), || session_ids(admin).is_empty()));
    let (_, text) = get(admin, "/metrics");
    assert!(text.contains("pocketftpd_kicks_total 1\n"), "{text}");
}

#[test]
fn a_kicked_upload_is_broken_and_the_old_file_kept() {
    let (d, admin) = admin_daemon(&[]);
    d.put("keep.txt", b"the old content");
    let mut c = d.login();
    let mut data = c.begin_transfer("STOR keep.txt");
    data.write_all(&[b'n'; 100_000]).unwrap();
    let id = settled_ids(admin, 1)[0];
    // The bytes sent are in before the kick.
    assert!(wait_until(Duration::from_secs(5), || {
        get(admin, "/sessions.json").1.contains("\"bytes\":100000")
    }));
    assert_eq!(kick(admin, id).0, 200);
    c.expect_reply(426);
    c.expect_reply(421);
    c.expect_closed();
    assert_eq!(
        fs::read(d.root().join("keep.txt")).unwrap(),
        b"the old content"
    );
    assert!(wait_until(Duration::from_secs(5), || d.names("") == ["keep.txt"]));
    let (_, json) = get(admin, "/sessions.json");
    assert!(
        json.contains(
            "\"path\":\"/keep.txt\",\"direction\":\"upload\",\"complete\":false,\"bytes\":100000,"
        ),
        "{json}"
    );
}

#[test]
fn a_kicked_download_is_aborted() {
    let (d, admin) = admin_daemon(&["--max-rate-down", "64K"]);
    d.put("big.bin", &vec![3u8; 4 << 20]);
    let mut c = d.login();
    let mut data = c.begin_transfer("RETR big.bin");
    let mut first = [0; 1024];
    data.read_exact(&mut first).unwrap();
    let id = settled_ids(admin, 1)[0];
    assert_eq!(kick(admin, id).0, 200);
    c.expect_reply(426);
    c.expect_reply(421);
    c.expect_closed();
    data.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut rest = Vec::new();
    let _ = data.read_to_end(&mut rest);
    assert!(rest.len() < (4 << 20) - 1024, "the download went on");
}

#[test]
fn who_lists_the_sessions_and_kicks_one() {
    let (d, admin) = admin_daemon(&[]);
    let mut c = d.login();
    let who = |args: &[&str]| {
        let mut cmd = daemon_command();
        cmd.args(["who", "--admin", &format!("http://{admin}/")])
            .args(args);
        run_bounded(&mut cmd, b"", Duration::from_secs(30))
    };
    let run = who(&[]);
    assert!(run.success(), "{}", run.stderr);
    let table = String::from_utf8(run.stdout).unwrap();
    let id = settled_ids(admin, 1)[0];
    let row = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(&id.to_string()))
        .unwrap_or_else(|| panic!("no row for session {id}:\n{table}"));
    assert!(
        row.contains("anonymous") && row.contains("127.0.0.1:") && row.contains("idle"),
        "{row}"
    );
    assert!(table.contains("1 session open"), "{table}");
    let run = who(&["--kick", &id.to_string()]);
    assert!(run.success(), "{}", run.stderr);
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        format!("session {id} ended\n")
    );
    c.expect_reply(421);
    let run = who(&["--kick", &id.to_string()]);
    assert!(!run.success());
    assert!(run.stderr.contains("404"), "{}", run.stderr);
}

/// Where test artifacts go (the status page's screenshot).
fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("admin");
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_status_page_in_a_real_browser() {
    if !need_program("chromium") {
        return;
    }
    let users = TempDir::new("admin-page-users");
    let users_file = users.join("users");
    fs::write(&users_file, format!("alice:{}:user\n", password_hash("pw"))).unwrap();
    let (d, admin) = admin_daemon(&[
        "--users",
        users_file.to_str().unwrap(),
        "--anonymous",
        "--login-delay",
        "0",
        "--max-rate-down",
        "32K",
        "--ban-after",
        "1",
        "--ban-safelist",
        "127.0.0.0/24",
    ]);
    // One address banned, for the page's Bans table.
    let banned = std::net::Ipv4Addr::new(127, 0, 1, 9);
    let mut guesser = Ctrl::over(connect_from(banned, d.addr()).expect("connect"));
    guesser.expect_reply(220);
    guesser.cmd_ok("USER alice", 331);
    guesser.cmd_ok("PASS wrong", 530);
    d.wait_logged(&format!("{banned}: banned for"), 1, Duration::from_secs(5));
    drop(guesser);
    let hostile = "<img src=x onerror=alert(1)>.bin";
    d.put(hostile, &vec![5u8; 1 << 20]);
    let _idle = d.login();
    let mut c = d.login();
    let mut data = c.begin_transfer(&format!("RETR {hostile}"));
    let reader = thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = data.read_to_end(&mut sink);
    });
    settled_ids(admin, 2);
    thread::sleep(Duration::from_millis(1500));
    let profile = TempDir::new("chromium");
    let chromium = |args: &[String]| {
        let mut cmd = Command::new("chromium");
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("http://{admin}/"));
        run_bounded(&mut cmd, b"", Duration::from_secs(90))
    };
    let dom = chromium(&["--dump-dom".to_owned()]);
    assert!(dom.success(), "chromium failed: {}", dom.stderr);
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert_eq!(dom.matches("<tr class=\"session\"").count(), 2, "{dom}");
    assert!(
        dom.contains("&lt;img src=x onerror=alert(1)&gt;.bin"),
        "the hostile name as text: {dom}"
    );
    assert!(
        !dom.contains("<img"),
        "the hostile name became an element: {dom}"
    );
    let progress = dom
        .split("<progress value=\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no progress bar: {dom}"));
    let value: u64 = progress.split('"').next().unwrap().parse().unwrap();
    assert!(progress.contains("max=\"1048576\""), "{progress}");
    assert!(value > 0 && value < 1 << 20, "progress {value}");
    assert!(dom.contains("downloading"), "{dom}");
    let ban = dom
        .split("<tr class=\"ban\">")
        .nth(1)
        .unwrap_or_else(|| panic!("no ban row: {dom}"));
    assert!(
        ban.starts_with(&format!(
            "<td data-label=\"Address\" class=\"address\">{banned}</td>"
        )),
        "{ban}"
    );
    assert!(!dom.contains("Nobody is banned"), "{dom}");
    let shot = artifacts().join("status-page.png");
    let _ = fs::remove_file(&shot);
    let run = chromium(&[
        format!("--screenshot={}", shot.display()),
        "--window-size=412,915".to_owned(),
    ]);
    assert!(run.success(), "chromium failed: {}", run.stderr);
    let png = fs::read(&shot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    eprintln!("status page screenshot: {}", shot.display());
    drop(c);
    let _ = reader.join();
}
