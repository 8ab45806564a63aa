//! The S3 back-end when its store misbehaves (issue 26, Part 2, faults):
//! a [`FaultProxy`] between the daemon and `weed mini` answers `503
//! SlowDown`, cuts answers mid-body, holds requests back or goes down.
//! Requests the store did not take are asked again with backoff; a GET
//! cut mid-body is asked again for what did not arrive; what fails for good fails
//! the transfer with `451`/`426` and one log line naming the request;
//! other sessions never wait; a broken upload leaves no parts behind and
//! the old object in place.

use std::io::Read;
use std::net::Shutdown;
use std::time::{Duration, Instant};

use pocketftpd::storage::s3::Store;
use pocketftpd_tests::*;

#[path = "shared/store.rs"]
mod store;
use store::{get, multipart_stor_under_way, pending_uploads, put, serve_options};

#[path = "shared/admin.rs"]
mod admin;

const LOCATION: &str = "s3://photos/ftp";

/// A store, a proxy before it, and a daemon serving the bucket through
/// the proxy; `None` (skipped) without `weed`.
fn setup() -> Option<(Weed, FaultProxy, Store, Daemon)> {
    let weed = Weed::s3_only()?;
    let proxy = FaultProxy::start(&weed.s3_endpoint);
    let store = store::open(&weed, WEED_SECRET, LOCATION);
    let daemon = Daemon::with(serve_options(&proxy.endpoint(), LOCATION));
    Some((weed, proxy, store, daemon))
}

/// `/obj.bin` of `size` random bytes in the store, and a client logged in
/// for binary transfers.
fn with_object(store: &Store, daemon: &Daemon, size: usize) -> (Ctrl, Vec<u8>) {
    let object = Rng::new(size as u64).bytes(size);
    put(store, "/obj.bin", &object);
    let mut c = daemon.login();
    c.cmd_ok("TYPE I", 200);
    (c, object)
}

/// The daemon logged one warning that holds `what`.
fn assert_warned_once(daemon: &Daemon, what: &str) {
    let log = daemon.stderr();
    let warned = (log.lines())
        .filter(|l| l.contains("[WARN]") && l.contains(what))
        .count();
    assert_eq!(warned, 1, "{what}: {log}");
}

#[test]
fn transfers_go_through_503_slow_downs() {
    // A download of twice what it holds at once and a bit
    // (pocketftpd::storage::s3::download::HELD).
    let Some((_weed, proxy, store, daemon)) = setup() else {
        return;
    };
    let (mut c, object) = with_object(&store, &daemon, (2 << 20) + 5);
    proxy.slow_down(3);
    assert_bytes_eq("RETR across 503s", &c.download("RETR obj.bin"), &object);
    proxy.slow_down(3);
    c.upload("STOR small.txt", b"small");
    assert_eq!(get(&store, "/small.txt").as_deref(), Some(&b"small"[..]));
    // Multipart (two parts and a bit, PART_SIZE 8 MiB): its Create, parts
    // and Complete each may meet a 503.
    let big = Rng::new(4).bytes(17 << 20);
    for _ in 0..3 {
        proxy.slow_down(2);
        c.upload("STOR big.bin", &big);
    }
    assert_bytes_eq("STOR across 503s", &get(&store, "/big.bin").unwrap(), &big);
    assert!(pending_uploads(&store).is_empty());
    assert!(
        daemon.log_count("503; asked again in") >= 3,
        "{}",
        daemon.stderr()
    );
    c.cmd_ok("QUIT", 221);
}

#[test]
fn a_get_cut_mid_body_is_asked_again_from_where_it_stopped() {
    let Some((_weed, proxy, store, daemon)) = setup() else {
        return;
    };
    let size = (3 << 20) + 7;
    let (mut c, object) = with_object(&store, &daemon, size);
    // The download's GET (after the HEAD for the 150) cut after 300 KB of
    // its answer.
    proxy.cut_next("GET", 300_000);
    assert_bytes_eq("RETR cut mid-GET", &c.download("RETR obj.bin"), &object);
    let gets: Vec<_> = (proxy.requests().into_iter())
        .filter(|r| r.starts_with("GET /photos/ftp/obj.bin"))
        .collect();
    assert_eq!(gets.len(), 2, "one GET and one asked again: {gets:?}");
    assert_eq!(daemon.log_count("asked again in"), 1, "{}", daemon.stderr());
    // Asked again from the first byte that did not arrive: past the start,
    // short of the 300 KB the cut let through (its head included).
    let ranges = proxy.ranges();
    assert_eq!(ranges[0], format!("bytes=0-{}", size - 1));
    let resumed_at: u64 = (ranges[1].strip_prefix("bytes="))
        .and_then(|r| r.split('-').next()?.parse().ok())
        .unwrap();
    assert!((1..300_000).contains(&resumed_at), "{ranges:?}");
    assert_eq!(ranges[1], format!("bytes={resumed_at}-{}", size - 1));
    // A REST offset resumes the same way.
    proxy.cut_next("GET", 1000);
    let tail = c.download_rest(Some(1 << 20), "RETR obj.bin");
    assert_bytes_eq("REST then RETR cut", &tail, &object[1 << 20..]);
    c.cmd_ok("QUIT", 221);
}

#[test]
fn a_store_gone_fails_transfers_and_commands_quickly_and_other_sessions_never_wait() {
    let Some((_weed, proxy, store, daemon)) = setup() else {
        return;
    };
    put(&store, "/a.txt", b"hello");
    // Larger than what the sockets between the store and the client may
    // hold while the client reads nothing: the download is one GET,
    // streamed at the client's pace.
    let big = Rng::new(8).bytes(32 << 20);
    put(&store, "/big.bin", &big);
    let mut slow = daemon.login();
    let mut other = daemon.login();
    // A slow store: one session's SIZE waits on it, another's NOOP not.
    proxy.delay(Duration::from_secs(3));
    slow.send("SIZE a.txt");
    let asked = Instant::now();
    other.cmd_ok("NOOP", 200);
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(slow.expect_reply(213).text(), "5");
    assert!(asked.elapsed() >= Duration::from_secs(3));
    proxy.delay(Duration::ZERO);
    // The store gone mid-RETR: its GET cut, the bytes not yet fetched
    // cannot be, and the transfer ends with 451 after the bytes that went.
    let mut data = slow.begin_transfer("RETR big.bin");
    let mut first = vec![0; 100_000];
    data.read_exact(&mut first).unwrap();
    proxy.go_down();
    let mut rest = Vec::new();
    let _ = data.read_to_end(&mut rest);
    let reply = slow.expect_one_of(&[451, 426]);
    assert_eq!(reply.code, 451, "{:?}", reply.lines);
    assert!(first.len() + rest.len() < big.len());
    assert_eq!(first[..], big[..first.len()]);
    assert_warned_once(&daemon, "download failed: GET /photos/ftp/big.bin: ");
    // The store down: every attempt refused, the backoff bounded.
    let started = Instant::now();
    let plan = slow.pasv();
    slow.send("RETR a.txt");
    let asked = Instant::now();
    other.cmd_ok("NOOP", 200);
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    let data = plan.try_open();
    let reply = slow.expect_one_of(&[451, 426]);
    drop(data);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(reply.code, 451, "{:?}", reply.lines);
    // One warning names the request and why; the attempts before it are
    // told at info.
    assert_warned_once(&daemon, "HEAD /photos/ftp/a.txt: ");
    slow.cmd_ok("SIZE a.txt", 451);
    other.cmd_ok("NOOP", 200);
}

#[test]
fn a_stor_the_client_breaks_leaves_the_old_object_and_no_parts() {
    let Some((_weed, _proxy, store, daemon)) = setup() else {
        return;
    };
    put(&store, "/big.bin", b"the old object");
    let mut c = daemon.login();
    // A multipart upload under way, its first part sent; then the client
    // is gone, data and control.
    let data = multipart_stor_under_way(&store, &mut c, "big.bin");
    set_linger_zero(&data);
    drop(data);
    c.stream().shutdown(Shutdown::Both).ok();
    drop(c);
    let gone = wait_until(Duration::from_secs(30), || {
        pending_uploads(&store).is_empty()
    });
    assert!(gone, "parts left: {:?}", pending_uploads(&store));
    daemon.wait_logged("aborted", 1, Duration::from_secs(10));
    assert_eq!(
        get(&store, "/big.bin").as_deref(),
        Some(&b"the old object"[..])
    );
    daemon.login().cmd_ok("QUIT", 221);
}

/// `/healthz` asks the bucket (its verdict kept about a second) and says
/// when it is unreachable; `/metrics` counts the requests that failed for
/// good, by kind, and the attempts asked again (issue 29).
#[test]
fn healthz_and_metrics_say_when_the_bucket_is_unreachable() {
    let Some(weed) = Weed::s3_only() else {
        return;
    };
    let proxy = FaultProxy::start(&weed.s3_endpoint);
    let admin = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut options = serve_options(&proxy.endpoint(), LOCATION);
    options
        .extra
        .extend(["--admin-listen".to_owned(), admin.to_string()]);
    let daemon = Daemon::with(options);
    assert_eq!(admin::get(admin, "/healthz"), (200, "ok\n".to_owned()));
    let metrics = |admin| match admin::prometheus_python() {
        Some(python) => admin::parsed_metrics(&python, admin),
        None => admin::get(admin, "/metrics")
            .1
            .lines()
            .map(str::to_owned)
            .collect(),
    };
    let refused = r#"pocketftpd_store_request_errors_total{kind="refused"}"#;
    let before = metrics(admin);
    assert_eq!(admin::sample(&before, refused), 0.0);

    proxy.go_down();
    let mut last = (0, String::new());
    let down = wait_until(Duration::from_secs(10), || {
        last = admin::get(admin, "/healthz");
        last.0 == 503
    });
    assert!(down, "{last:?}");
    assert!(
        last.1
            .starts_with("the bucket is unreachable: HEAD /photos"),
        "{last:?}"
    );
    // A request of a session fails for good after its attempts: counted.
    daemon.login().cmd_ok("SIZE a.txt", 451);
    let after = metrics(admin);
    assert!(admin::sample(&after, refused) >= 2.0, "{after:#?}");
    let retries = admin::sample(&after, "pocketftpd_store_request_retries_total");
    assert!(retries >= 4.0, "{after:#?}");
    for kind in ["status_5xx", "cut", "timeout"] {
        let name = format!(r#"pocketftpd_store_request_errors_total{{kind="{kind}"}}"#);
        assert_eq!(admin::sample(&after, &name), 0.0, "{kind}");
    }
}
