//! Listeners marked --proxy-protocol (issue 28): a load balancer (the test,
//! on loopback) sends a PROXY protocol header, v1 or v2, before the
//! client's bytes; the client's address is then the session's for the
//! log, per-IP limits, bans and the passive connection's check. A
//! connection without a valid header is closed, including one that sends
//! nothing; a header split byte by byte is read as it comes.

use pocketftpd_tests::*;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A daemon with a second listener, one that takes the PROXY protocol
/// (the guard's own, which it checks for a greeting, stays plain), and
/// that listener's address.
fn proxied(extra: &[&str]) -> (Daemon, SocketAddr) {
    let proxy = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
    let mut args = [
        "--listen",
        &proxy.to_string(),
        "--proxy-protocol",
        &proxy.to_string(),
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    let d = Daemon::with(Options {
        extra: args,
        ..Options::default()
    });
    (d, proxy)
}

fn v1(client: &str) -> Vec<u8> {
    let client: SocketAddr = client.parse().unwrap();
    let family = if client.is_ipv4() { "TCP4 " } else { "TCP6 " };
    let to = if client.is_ipv4() {
        "198.51.100.7"
    } else {
        "2001:db8::7"
    };
    format!(
        "PROXY {family}{} {to} {} 21\r\n",
        client.ip(),
        client.port()
    )
    .into_bytes()
}

fn v2(client: &str) -> Vec<u8> {
    let client: SocketAddr = client.parse().unwrap();
    let mut header = b"\r\n\r\n\0\r\nQUIT\n\x21".to_vec();
    let (family, mut body) = match client.ip() {
        std::net::IpAddr::V4(ip) => (0x11, [ip.octets(), [198, 51, 100, 7]].concat()),
        std::net::IpAddr::V6(ip) => (0x21, [ip.octets(), [0x20; 16]].concat()),
    };
    body.extend(client.port().to_be_bytes());
    body.extend(21u16.to_be_bytes());
    header.push(family);
    header.extend((body.len() as u16).to_be_bytes());
    header.extend(body);
    header
}

/// A connection to the proxy listener that sends `header` (in one write,
/// with `then` behind it), the welcome read.
fn through(proxy: SocketAddr, header: &[u8], then: &[u8]) -> Ctrl {
    let mut stream = TcpStream::connect(proxy).unwrap();
    stream.write_all(&[header, then].concat()).unwrap();
    let mut c = Ctrl::over(stream);
    c.expect_reply(220);
    c
}

fn wait_logged(d: &Daemon, want: &str) {
    d.wait_logged(want, 1, Duration::from_secs(10));
}

/// What the daemon says to a connection that sends `bytes` to the proxy
/// listener, before it closes it (bounded: `within`).
fn answer_to(proxy: SocketAddr, bytes: &[u8], within: Duration) -> Vec<u8> {
    let mut s = TcpStream::connect(proxy).unwrap();
    s.write_all(bytes).unwrap();
    until_closed(&mut s, within)
}

/// What the daemon says to a connection before closing it (bounded).
fn until_closed(s: &mut TcpStream, within: Duration) -> Vec<u8> {
    s.set_read_timeout(Some(within)).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    got
}

#[test]
fn the_client_is_who_the_header_says_in_the_log_and_the_limits() {
    let (d, proxy) = proxied(&["--max-per-ip", "1"]);
    let mut one = through(proxy, &v1("203.0.113.9:40001"), b"USER anonymous\r\n");
    // The command behind the header, in the same packet, is the session's.
    one.expect_reply(331);
    one.cmd_ok("PASS x", 230);
    wait_logged(&d, "203.0.113.9:40001: logged in as \"anonymous\"");
    // Another connection of that client: refused, --max-per-ip 1; another
    // client through the same balancer: welcome.
    let refused = answer_to(proxy, &v2("203.0.113.9:40002"), Duration::from_secs(5));
    assert!(
        refused.starts_with(b"421 "),
        "{:?}",
        String::from_utf8_lossy(&refused)
    );
    let mut other = through(proxy, &v2("[2001:db8::9]:40003"), b"");
    other.cmd_ok("USER anonymous", 331);
    wait_logged(&d, "[2001:db8::9]:40003: session start");
    // A health check (v2 LOCAL) is the balancer's own connection.
    let balancer = |d: &Daemon| d.log_count("[INFO] 127.0.0.1:");
    let before = balancer(&d);
    let local = b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00";
    through(proxy, local, b"").cmd_ok("QUIT", 221);
    assert!(
        wait_until(Duration::from_secs(5), || balancer(&d) > before),
        "{}",
        d.stderr()
    );
}

#[test]
fn an_implicit_ftps_listener_takes_the_header_before_tls() {
    let Some(cert) = tls::cert() else {
        return;
    };
    let port = free_port();
    let tls_listener = format!("127.0.0.1:{port}");
    let d = tls::tls_daemon(
        &cert,
        false,
        &[
            "--listen-tls",
            &tls_listener,
            "--proxy-protocol",
            &tls_listener,
        ],
    );
    let header = String::from_utf8(v1("203.0.113.9:40001")).unwrap();
    let script = r#"
import socket, ssl, sys
port, header, cafile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=15)
s.sendall(header.encode())
t = ssl.create_default_context(cafile=cafile).wrap_socket(s, server_hostname="localhost")
print(t.recv(100).decode(), end="")
"#;
    let run = run_bounded(
        std::process::Command::new("python3")
            .args(["-c", script, &port.to_string(), &header])
            .arg(&cert.cert),
        b"",
        Duration::from_secs(30),
    );
    assert!(run.success(), "{}", run.stderr);
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "220 pocketftpd ready.\r\n"
    );
    wait_logged(&d, "203.0.113.9:40001: session start (implicit TLS)");
}

#[test]
fn a_header_split_byte_by_byte_is_read_as_it_comes() {
    let (mut d, proxy) = proxied(&[]);
    for header in [v1("203.0.113.9:40001"), v2("203.0.113.10:40002")] {
        let mut s = TcpStream::connect(proxy).unwrap();
        s.set_nodelay(true).unwrap();
        for byte in &header {
            s.write_all(&[*byte]).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut c = Ctrl::over(s);
        c.expect_reply(220);
        c.cmd_ok("USER anonymous", 331);
    }
    wait_logged(&d, "203.0.113.9:40001: session start");
    wait_logged(&d, "203.0.113.10:40002: session start");
    d.assert_alive();
}

#[test]
fn a_connection_without_a_valid_header_is_closed() {
    let (mut d, proxy) = proxied(&[]);
    for (sent, why) in [
        (&b"USER anonymous\r\n"[..], "not a PROXY protocol header"),
        (
            b"PROXY TCP4 203.0.113.9 198.51.100.7 40000\r\n",
            "not TCP4, TCP6 or UNKNOWN",
        ),
        (
            b"\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff",
            "longer than 2064 bytes",
        ),
    ] {
        assert_eq!(answer_to(proxy, sent, Duration::from_secs(5)), b"", "{why}");
        wait_logged(&d, why);
    }
    // Nothing at all, or an endless line: closed, the loop never waits.
    let started = Instant::now();
    let mut silent = TcpStream::connect(proxy).unwrap();
    let endless = [b"PROXY ".as_slice(), &[b'1'; 200]].concat();
    assert_eq!(answer_to(proxy, &endless, Duration::from_secs(5)), b"");
    wait_logged(&d, "without its CRLF in 107 bytes");
    d.assert_alive();
    assert_eq!(until_closed(&mut silent, Duration::from_secs(15)), b"");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(4) && waited < Duration::from_secs(12),
        "{waited:?}"
    );
    wait_logged(&d, "no PROXY protocol header within 5 s");
    // No session came of them: the two are the guard's check's and
    // assert_alive's, on the plain listener.
    assert_eq!(d.log_count("session start"), 2, "{}", d.stderr());
}

#[test]
fn bans_and_the_passive_connection_check_go_by_the_real_client() {
    let users = TempDir::new("users");
    let file = users.join("users");
    std::fs::write(&file, format!("alice:{}:user\n", password_hash("pw"))).unwrap();
    let file = file.to_string_lossy().into_owned();
    let (d, proxy) = proxied(&[
        "--users",
        &file,
        "--anonymous",
        "--login-delay",
        "0",
        "--ban-after",
        "2",
        "--ban-safelist",
        "127.0.0.1",
    ]);
    d.put("f.txt", b"via the balancer");
    // The client at 127.0.0.5, as the header says; its data connection
    // comes from there (a balancer forwards the control port only).
    let mut c = through(proxy, &v1("127.0.0.5:40001"), b"");
    c.cmd_ok("USER anonymous", 331);
    c.cmd_ok("PASS x", 230);
    let reply = c.cmd_ok("PASV", 227);
    let (_, port) = parse_227(reply.text()).expect("227 format");
    // The balancer's own address is not the client's: refused.
    let foreign = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    let mut data = connect_from(
        Ipv4Addr::new(127, 0, 0, 5),
        (Ipv4Addr::LOCALHOST, port).into(),
    )
    .expect("data connection");
    c.send("RETR f.txt");
    c.expect_reply(150);
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"via the balancer");
    c.expect_reply(226);
    wait_logged(
        &d,
        "127.0.0.5:40001: refused a data connection from 127.0.0.1:",
    );
    drop(foreign);

    // Failed logins ban the client, not the balancer.
    for _ in 0..2 {
        let mut c = through(proxy, &v1("203.0.113.66:40005"), b"");
        c.cmd_ok("USER alice", 331);
        c.cmd_ok("PASS wrong", 530);
    }
    wait_logged(&d, "203.0.113.66: banned for 600 s after 2 failed logins");
    let got = answer_to(proxy, &v2("203.0.113.66:40006"), Duration::from_secs(5));
    assert_eq!(
        got,
        b"421 Too many failed logins from your address; try again later.\r\n"
    );
    through(proxy, &v2("203.0.113.67:40007"), b"").cmd_ok("QUIT", 221);
}

#[test]
fn proxy_protocol_names_a_listener() {
    let err = start_fails(&["--proxy-protocol", "127.0.0.1:1"]);
    assert!(
        err.contains("--proxy-protocol: 127.0.0.1:1 is not an address the daemon listens on"),
        "{err}"
    );
    let err = start_fails(&["--proxy-protocol", "2121"]);
    assert!(
        err.contains("--proxy-protocol: \"2121\" is not ADDR:PORT"),
        "{err}"
    );
}
