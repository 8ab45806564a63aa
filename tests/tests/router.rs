//! Behind a home router and on the open internet (issue 28): the address
//! a 227 announces, the warnings that explain a passive connection that
//! cannot work, bans, keepalive, the PROXY protocol. The tests that need
//! a client on another network make network namespaces of their own
//! (`tests/src/netns.rs`); the rest run on loopback.

use pocketftpd_tests::*;
use std::fs;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn a_passive_port_nobody_reaches_is_explained_once_an_hour() {
    let d = Daemon::with(Options {
        data_timeout: Some(1),
        ..Options::default()
    });
    let mut c = d.login();
    for _ in 0..2 {
        c.cmd_ok("PASV", 227);
        c.send("LIST");
        c.expect_reply(425);
    }
    c.cmd_ok("EPSV", 229);
    c.send("NLST");
    c.expect_reply(425);
    let line = d.logged_line("was told to open its data connection to 127.0.0.1 port ");
    for part in [
        "[WARN]",
        "(PASV) and did not within 1 s",
        "set --pasv-ports (such as 50000-50100) and forward exactly that range",
        "next warning for 127.0.0.1 in an hour",
    ] {
        assert!(line.contains(part), "{part:?} in {line}");
    }
    c.cmd_ok("QUIT", 221);
    assert_eq!(d.log_count("in an hour"), 1, "{}", d.stderr());
}

/// A Pi on a LAN (192.168.77.1) and a client on the internet
/// (198.51.100.9), whose connections a router forwards to the Pi.
fn internet_client() -> Option<Arc<NetPair>> {
    NetPair::new("192.168.77.1/24", "198.51.100.9/24").map(Arc::new)
}

fn options(extra: &[&str], netns: &Option<Arc<NetPair>>) -> Options {
    Options {
        extra: extra.iter().map(|s| s.to_string()).collect(),
        netns: netns.clone(),
        ..Options::default()
    }
}

/// The address in a 227 reply to PASV.
fn pasv_address(c: &mut Ctrl) -> String {
    let reply = c.cmd_ok("PASV", 227);
    let (ip, _) = parse_227(reply.text()).expect("227 format");
    ip.to_string()
}

#[test]
fn a_public_client_told_a_private_address_is_explained_once() {
    let Some(net) = internet_client() else {
        return;
    };
    let d = Daemon::with(options(&[], &Some(net)));
    let want = "198.51.100.9:";
    for _ in 0..2 {
        let mut c = d.login();
        // The reply stays what it was: the only address the server knows.
        assert_eq!(pasv_address(&mut c), "192.168.77.1");
        c.cmd_ok("QUIT", 221);
    }
    let said = "a client on the internet is told to open its data connections to 192.168.77.1";
    let line = d.logged_line(said);
    assert!(
        line.contains(want) && line.contains("set --pasv-address") && line.contains("said once")
    );
    // And at start-up: a listener a router could forward to, and no range.
    let start = format!("listening on 192.168.77.1:{} without --pasv-ports", d.port);
    assert_eq!(d.log_count(&start), 1, "{}", d.stderr());
    let ranged = Daemon::with(options(
        &["--pasv-ports", "50000-50010"],
        &internet_client(),
    ));
    assert_eq!(
        ranged.log_count("without --pasv-ports"),
        0,
        "{}",
        ranged.stderr()
    );
    assert_eq!(
        Daemon::start().log_count("without --pasv-ports"),
        0,
        "loopback"
    );
}

/// A resolver the test controls, in the daemon's own mount namespace:
/// `/etc/hosts` is the test's, and `/etc/resolv.conf` names a DNS server
/// on loopback where none listens, so a name not in the hosts file fails
/// at once, asking no network.
struct Resolver {
    dir: TempDir,
}

impl Resolver {
    fn new(hosts: &str) -> Option<Resolver> {
        if !need_program("unshare") {
            return None;
        }
        let dir = TempDir::new("resolver");
        fs::write(
            dir.join("resolv.conf"),
            "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
        )
        .unwrap();
        let resolver = Resolver { dir };
        resolver.set(hosts);
        Some(resolver)
    }

    /// `unshare` and the bind mounts, before the daemon's command.
    fn wrapper(&self) -> Vec<String> {
        let mounts = r#"mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@""#;
        let hosts = self.dir.join("hosts");
        let resolv = self.dir.join("resolv.conf");
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            mounts,
            "sh",
        ]
        .map(String::from)
        .into_iter()
        .chain([hosts, resolv].map(|p| p.to_string_lossy().into_owned()))
        .collect()
    }

    /// New hosts-file lines, written in place (the mount shows the file,
    /// not its name).
    fn set(&self, hosts: &str) {
        fs::write(
            self.dir.join("hosts"),
            format!("127.0.0.1 localhost\n{hosts}"),
        )
        .unwrap();
    }
}

#[test]
fn a_pasv_address_name_is_followed_and_a_failed_lookup_keeps_the_last_address() {
    let (Some(net), Some(resolver)) = (
        internet_client(),
        Resolver::new("192.0.2.10 myhome.ddns.test\n"),
    ) else {
        return;
    };
    let d = Daemon::with(Options {
        wrapper: resolver.wrapper(),
        ..options(
            &[
                "--pasv-address",
                "myhome.ddns.test",
                "--pasv-address-refresh",
                "1",
            ],
            &Some(net),
        )
    });
    assert_eq!(
        d.log_count("--pasv-address myhome.ddns.test is 192.0.2.10; looked up again every 1 s"),
        1
    );
    let mut before = d.login();
    assert_eq!(pasv_address(&mut before), "192.0.2.10");

    // The router's address changes: new sessions are told the new one.
    resolver.set("192.0.2.11 myhome.ddns.test\n");
    d.logged_line("--pasv-address myhome.ddns.test is now 192.0.2.11 (was 192.0.2.10)");
    assert_eq!(pasv_address(&mut d.login()), "192.0.2.11");
    // One that started before keeps what it was told (its connection
    // through the router's old address would be gone).
    assert_eq!(pasv_address(&mut before), "192.0.2.10");

    // The name stops resolving: the last address stays, said once.
    resolver.set("");
    let failed = "--pasv-address stays 192.0.2.11 until it resolves";
    d.logged_line(failed);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(d.log_count(failed), 1, "{}", d.stderr());
    assert_eq!(
        d.log_count("cannot look up \"myhome.ddns.test\""),
        1,
        "{}",
        d.stderr()
    );
    assert_eq!(pasv_address(&mut d.login()), "192.0.2.11");

    resolver.set("192.0.2.12 myhome.ddns.test\n");
    d.logged_line("--pasv-address myhome.ddns.test resolves again, to 192.0.2.12");
    assert_eq!(pasv_address(&mut d.login()), "192.0.2.12");
}

#[test]
fn a_pasv_address_name_that_does_not_resolve_stops_the_start() {
    let Some(resolver) = Resolver::new("::1 v6only.test\n") else {
        return;
    };
    let dir = TempDir::new("start");
    for (name, why) in [
        (
            "nothere.test",
            "--pasv-address: cannot look up \"nothere.test\": ",
        ),
        (
            "v6only.test",
            "--pasv-address: \"v6only.test\" has no IPv4 address, only IPv6 ones such as ::1",
        ),
    ] {
        let port = free_port().to_string();
        let argv: Vec<std::ffi::OsString> = (resolver.wrapper().into_iter().map(Into::into))
            .chain(daemon_argv())
            .collect();
        let run = run_bounded(
            std::process::Command::new(&argv[0]).args(&argv[1..]).args([
                "--root".as_ref(),
                dir.path().as_os_str(),
                "--listen".as_ref(),
                format!("127.0.0.1:{port}").as_ref(),
                "--pasv-address".as_ref(),
                name.as_ref(),
            ]),
            b"",
            Duration::from_secs(20),
        );
        assert!(!run.success(), "{}", run.stderr);
        assert!(run.stderr.contains(why), "{why:?} in {}", run.stderr);
    }
    let err = start_fails(&["--pasv-address", "my_home.example"]);
    assert!(
        err.contains(
            "--pasv-address: \"my_home.example\" is neither an IPv4 address nor a host name"
        ),
        "{err}"
    );
}

#[test]
fn sighup_follows_a_new_pasv_address_name_or_address() {
    let hosts = "192.0.2.10 first.ddns.test\n192.0.2.20 second.ddns.test\n";
    let (Some(net), Some(resolver)) = (internet_client(), Resolver::new(hosts)) else {
        return;
    };
    let config = resolver.dir.join("pocketftpd.conf");
    fs::write(&config, "pasv-address = first.ddns.test\n").unwrap();
    let config_path = config.to_string_lossy().into_owned();
    let d = Daemon::with(Options {
        wrapper: resolver.wrapper(),
        ..options(&["--config", &config_path], &Some(net))
    });
    assert_eq!(pasv_address(&mut d.login()), "192.0.2.10");
    let reread = |config_text: &str, want: &str| {
        let reloads = d.log_count("SIGHUP: settings re-read");
        fs::write(&config, config_text).unwrap();
        d.signal("HUP");
        let reloaded = wait_until(Duration::from_secs(10), || {
            d.log_count("SIGHUP: settings re-read") > reloads
        });
        assert!(reloaded, "{}", d.stderr());
        let told = wait_until(Duration::from_secs(10), || {
            pasv_address(&mut d.login()) == want
        });
        assert!(told, "not told {want}: {}", d.stderr());
    };
    // A new name is looked up at once.
    reread("pasv-address = second.ddns.test\n", "192.0.2.20");
    assert_eq!(
        d.log_count("SIGHUP: looking up --pasv-address second.ddns.test"),
        1
    );
    assert_eq!(
        d.log_count("is now 192.0.2.20 (was 192.0.2.10)"),
        1,
        "{}",
        d.stderr()
    );
    // An address: no more lookups; then a name again.
    reread("pasv-address = 203.0.113.5\n", "203.0.113.5");
    reread("pasv-address = first.ddns.test\n", "192.0.2.10");
}

/// A client whose packets stop (a NAT mapping that died) is closed within
/// the keepalive time: 2 s of quiet, then 4 probes 1 s apart; without
/// keepalive its session waits for the idle timeout (300 s here).
#[test]
fn keepalive_closes_a_client_whose_packets_are_dropped() {
    let Some(net) = NetPair::new("192.168.77.1/24", "192.168.77.2/24").map(Arc::new) else {
        return;
    };
    if !need_program("nft") {
        return;
    }
    let probing = Daemon::with(options(&["--tcp-keepalive", "2"], &Some(Arc::clone(&net))));
    let waiting = Daemon::with(options(
        &["--tcp-keepalive", "off"],
        &Some(Arc::clone(&net)),
    ));
    let mut clients = [probing.login(), waiting.login()];
    for c in &mut clients {
        c.cmd_ok("NOOP", 200);
    }
    // Let the last ACKs through: only then is the connection idle.
    std::thread::sleep(Duration::from_millis(300));
    net.drop_client_packets();
    let dropped = std::time::Instant::now();
    let lost = "192.168.77.2:";
    let closed = |d: &Daemon| {
        (d.stderr().lines()).any(|l| l.contains(lost) && l.contains("control connection lost"))
    };
    assert!(
        wait_until(Duration::from_secs(20), || closed(&probing)),
        "not closed: {}",
        probing.stderr()
    );
    let took = dropped.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(12),
        "closed after {took:?}"
    );
    // The idle one's session goes on (only the readiness check's ended).
    let still = clients[1].stream().local_addr().unwrap();
    assert!(!closed(&waiting), "{}", waiting.stderr());
    let ended = format!("{still}: session end");
    assert_eq!(waiting.log_count(&ended), 0, "{}", waiting.stderr());
}
