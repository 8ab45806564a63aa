//! Networks a test makes for itself, for clients that are not on loopback
//! (a LAN's, or one standing for the internet): two network namespaces,
//! the server's and the client's, joined by a veth pair whose ends get
//! the addresses the test names, each with a route to the other. Nothing
//! touches the machine's own network. [`NetPair`] removes both namespaces
//! when dropped, whatever happened to the test (and, when made, those a
//! killed test process left behind). A daemon runs in the server's
//! namespace through [`Options::netns`](crate::Options); the test's
//! connections come from the client's ([`NetPair::connect`], a thread
//! that enters it: a socket stays in the namespace it was made in).
//!
//! Needs root and iproute2 (`ip`); where they are missing the test is
//! skipped, and under `CI`, which runs as root, it fails.

use std::fs::File;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::ctrl::READ_TIMEOUT;
use crate::programs::{have_program, skip};

/// Every namespace a test makes is named `pftpd<pid>n<count><s|c>`.
const PREFIX: &str = "pftpd";

/// One end: its namespace and address.
#[derive(Debug)]
pub struct End {
    pub namespace: String,
    pub ip: IpAddr,
}

/// The server's namespace and the client's, joined.
#[derive(Debug)]
pub struct NetPair {
    pub server: End,
    pub client: End,
}

impl NetPair {
    /// The two namespaces, the server's end at `server` and the client's at
    /// `client` (each `ADDRESS/PREFIX`, such as `192.168.77.1/24`); `None`
    /// (the test is skipped) where namespaces cannot be made.
    pub fn new(server: &str, client: &str) -> Option<NetPair> {
        // SAFETY: geteuid(2) only reads the process's user id.
        if unsafe { libc::geteuid() } != 0 || !have_program("ip") {
            skip("network namespaces need root and iproute2's ip (CI runs as root)");
            return None;
        }
        remove_leftovers();
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let name = |side: &str| format!("{PREFIX}{}n{n}{side}", std::process::id());
        let end = |side, address: &str| End {
            namespace: name(side),
            ip: address
                .split('/')
                .next()
                .and_then(|a| a.parse().ok())
                .expect("ADDRESS/PREFIX"),
        };
        let pair = NetPair {
            server: end("s", server),
            client: end("c", client),
        };
        pair.set_up(server, client);
        Some(pair)
    }

    /// Both namespaces, the veth pair, the addresses, up, and a route
    /// from each end to the other's address (they may be on different
    /// networks: a public client and a server on a LAN behind a router).
    fn set_up(&self, server: &str, client: &str) {
        let (s, c) = (&self.server.namespace, &self.client.namespace);
        ip(&["netns", "add", s]);
        ip(&["netns", "add", c]);
        ip(&[
            "-n", s, "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", c,
        ]);
        for (end, address, other) in [(s, server, &self.client.ip), (c, client, &self.server.ip)] {
            ip(&["-n", end, "address", "add", address, "dev", "veth0"]);
            ip(&["-n", end, "link", "set", "lo", "up"]);
            ip(&["-n", end, "link", "set", "veth0", "up"]);
            ip(&[
                "-n",
                end,
                "route",
                "replace",
                &other.to_string(),
                "dev",
                "veth0",
            ]);
        }
    }

    /// The words that run a command in the server's namespace.
    pub fn in_server(&self) -> Vec<String> {
        ["ip", "netns", "exec", &self.server.namespace]
            .map(String::from)
            .to_vec()
    }

    /// A connection to `to` from the client's namespace, made within the
    /// tests' read timeout.
    pub fn connect(&self, to: SocketAddr) -> io::Result<TcpStream> {
        self.connect_within(to, READ_TIMEOUT)
    }

    /// A connection to `to` from the client's namespace, made within `limit`.
    pub fn connect_within(&self, to: SocketAddr, limit: Duration) -> io::Result<TcpStream> {
        let netns = File::open(format!("/run/netns/{}", self.client.namespace))?;
        std::thread::scope(|scope| {
            let thread = scope.spawn(|| {
                // SAFETY: setns(2) moves this thread alone into the
                // namespace the open descriptor names.
                if unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                TcpStream::connect_timeout(&to, limit)
            });
            thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("connect thread panicked")))
        })
    }

    /// From now on, every packet to or from the client's end is dropped
    /// (nft in its namespace): a client behind a NAT mapping that died.
    pub fn drop_client_packets(&self) {
        let rules = "add table inet cut; \
            add chain inet cut in { type filter hook input priority 0; policy drop; }; \
            add chain inet cut out { type filter hook output priority 0; policy drop; }";
        run(Command::new("ip").args(["netns", "exec", &self.client.namespace, "nft", rules]));
    }
}

impl Drop for NetPair {
    fn drop(&mut self) {
        for end in [&self.server, &self.client] {
            let _ = quiet(Command::new("ip").args(["netns", "delete", &end.namespace]));
        }
    }
}

/// `ip ARGS`, which must succeed.
fn ip(args: &[&str]) {
    run(Command::new("ip").args(args));
}

fn run(cmd: &mut Command) {
    let out = quiet(cmd).unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn quiet(cmd: &mut Command) -> io::Result<std::process::Output> {
    cmd.stdin(Stdio::null()).output()
}

/// Namespaces of test processes that were killed before they could
/// remove theirs.
fn remove_leftovers() {
    let Ok(out) = quiet(Command::new("ip").args(["netns", "list"])) else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let pid = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('n').next());
        let dead = pid.is_some_and(|pid| {
            pid.parse::<u32>().is_ok() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        });
        if dead {
            let _ = quiet(Command::new("ip").args(["netns", "delete", name]));
        }
    }
}

/// A connection to `to` from `source`, another loopback address of this
/// machine (`127.0.0.0/8` is all loopback): a client from elsewhere, with
/// no namespace. IPv4 only.
pub fn connect_from(source: std::net::Ipv4Addr, to: SocketAddr) -> io::Result<TcpStream> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let SocketAddr::V4(to) = to else {
        return Err(io::Error::other("connect_from is IPv4 only"));
    };
    let address = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let length = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: socket(2) returns a new descriptor or -1.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nothing else owns (closed on error).
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let (from, to) = (address(source, 0), address(*to.ip(), to.port()));
    // SAFETY: bind(2) and connect(2) with sockaddr_in values of the length given.
    let failed = unsafe {
        libc::bind(fd, (&from as *const libc::sockaddr_in).cast(), length) < 0
            || libc::connect(fd, (&to as *const libc::sockaddr_in).cast(), length) < 0
    };
    if failed {
        return Err(io::Error::last_os_error());
    }
    let stream = TcpStream::from(socket);
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    Ok(stream)
}
