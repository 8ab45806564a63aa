//! New clients: accepting them (within `--max-clients` and `--max-per-ip`,
//! pausing when the daemon is out of descriptors), and the listening
//! sockets they come through. An IPv6 listener is bound dual-stack (`IPV6_V6ONLY`
//! off), whatever `net.ipv6.bindv6only` says: `[::]:21` alone then serves
//! IPv4 clients too (as `::ffff:a.b.c.d`, which the core compares as IPv4),
//! so one `listen = [::]:21` line is the whole setup for both families.

use std::collections::HashMap;
use std::io::{self, Write};
use std::mem::size_of;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{debug, error, warn};
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Poll};
use pocketftp_core::{
    canonical_addr, canonical_ip, Session, BANNED, TOO_MANY_CONNECTIONS, TOO_MANY_FROM_ADDRESS,
};

use super::answers::Tag;
use super::token::{token, Source, MAX_KEY};
use super::{Listeners, Server};
use crate::conn::{Connection, Control};
use crate::net::sockopt;
use crate::net::tls::ControlTls;

/// Connections waiting to be accepted, as mio's own `bind` sets it.
const BACKLOG: libc::c_int = 1024;
/// How long accepting pauses when the daemon is out of descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

impl Server {
    pub(super) fn accept_clients(&mut self, index: usize, now: Instant) {
        while self.accept_paused_until.is_none() {
            let Some((listener, kind)) = self.listeners.get(index) else {
                return;
            };
            let kind = *kind;
            match listener.accept() {
                Ok((stream, peer)) if kind.proxy_protocol => {
                    self.await_header(stream, peer, kind.implicit_tls, now)
                }
                Ok((stream, peer)) => {
                    self.admit(stream, peer, kind.implicit_tls, now);
                    // A client that left at once (its welcome's drive read
                    // its end) frees its slot before the next is counted.
                    self.deliver_answers(now);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_out_of_resources(&e) => {
                    // The connections wait in the backlog; no new edge will
                    // tell us when descriptors are free again: retry on a timer.
                    warn!(
                        "cannot accept: {e}; retrying in {} ms",
                        ACCEPT_BACKOFF.as_millis()
                    );
                    self.accept_paused_until = Some(now + ACCEPT_BACKOFF);
                }
                Err(e) => return error!("accept failed: {e}"),
            }
        }
    }

    pub(super) fn resume_accepting(&mut self, now: Instant) {
        if self.accept_paused_until.is_some_and(|at| at <= now) {
            self.accept_paused_until = None;
            for index in 0..self.listeners.len() {
                self.accept_clients(index, now);
            }
        }
    }

    /// A new client, from `peer` (its own address, also behind a PROXY
    /// protocol listener).
    pub(super) fn admit(
        &mut self,
        mut stream: TcpStream,
        peer: SocketAddr,
        implicit_tls: bool,
        now: Instant,
    ) {
        // An IPv4 client of a dual-stack listener is its IPv4 address from
        // here on: in the session, its limits and every log line.
        let peer = canonical_addr(peer);
        if self.bans.refuses(peer.ip(), now) {
            // No session, no handshake, no log line: see bans.rs.
            let _ = stream.write(BANNED);
            return;
        }
        if let Some(refusal) = self.over_limit(peer) {
            warn!("{peer}: refused: {}", refusal.why);
            let _ = stream.write(refusal.reply);
            return;
        }
        let local = match stream.local_addr() {
            Ok(local) => local,
            Err(e) => return warn!("{peer}: {e}"),
        };
        if let Err(e) = sockopt::set_oob_inline(&stream).and_then(|()| stream.set_nodelay(true)) {
            return warn!("{peer}: cannot set socket options: {e}");
        }
        if let Some(keepalive) = self.settings.limits.keepalive {
            // Without it the session lasts until the idle timeout, as before.
            if let Err(e) = sockopt::set_keepalive(&stream, keepalive) {
                debug!("{peer}: cannot turn TCP keepalive on: {e}");
            }
        }
        self.check_root();
        let Some((session, control_tls)) = self.new_session(local, peer, implicit_tls, now) else {
            return;
        };
        let entry = self.connections.vacant_entry();
        let key = entry.key();
        let control_token = token(key, Source::Control);
        if let Err(e) =
            (self.poll.registry()).register(&mut stream, control_token, Interest::READABLE)
        {
            return warn!("{peer}: cannot register: {e}");
        }
        let tag = Tag {
            key,
            generation: self.next_generation,
            epoch: 0,
        };
        self.next_generation = self.next_generation.wrapping_add(1);
        let control = Control::new(stream, control_tls);
        entry.insert(Connection::new(tag, session, control, now));
        self.stats.sessions = self.stats.sessions.saturating_add(1);
        self.per_ip.add(peer.ip());
        self.drive(key, now);
    }

    /// Which connection limit a new client from `peer` is beyond, if any.
    fn over_limit(&self, peer: SocketAddr) -> Option<Refusal> {
        let limits = &self.settings.limits;
        let max_clients = limits.max_clients.min(MAX_KEY);
        let sessions = self.connections.len() - self.closed.len();
        let from_peer = self.per_ip.count(peer.ip());
        if sessions >= max_clients {
            Some(Refusal {
                why: format!(
                    "the server is full ({sessions} sessions, --max-clients {max_clients})"
                ),
                reply: TOO_MANY_CONNECTIONS,
            })
        } else if from_peer >= limits.max_per_ip {
            let max = limits.max_per_ip;
            Some(Refusal {
                why: format!(
                    "{} from this address (--max-per-ip {max})",
                    crate::count(from_peer, "session")
                ),
                reply: TOO_MANY_FROM_ADDRESS,
            })
        } else {
            None
        }
    }

    /// The session of a new client. Implicit FTPS: the handshake first;
    /// the 220 waits inside TLS. `None` (logged) when TLS cannot start.
    fn new_session(
        &self,
        local: SocketAddr,
        peer: SocketAddr,
        implicit_tls: bool,
        now: Instant,
    ) -> Option<(Session, Option<ControlTls>)> {
        let config = Arc::clone(&self.settings.config);
        if !implicit_tls {
            return Some((Session::new(config, now, local, peer), None));
        }
        let Some(configs) = self.settings.tls.as_ref() else {
            warn!("{peer}: refused: the implicit FTPS listener has no certificate");
            return None;
        };
        match configs.start_session(&[]) {
            Ok(tls) => {
                let session = Session::new_implicit_tls(config, now, local, peer);
                Some((session, Some(tls)))
            }
            Err(e) => {
                warn!("{peer}: cannot start TLS: {e}");
                None
            }
        }
    }
}

/// A client turned away: why (for the log) and its whole answer.
struct Refusal {
    why: String,
    reply: &'static [u8],
}

/// Sessions per client address, for `--max-per-ip` (IPv4 clients of a
/// dual-stack listener count as the IPv4 addresses they are).
#[derive(Default)]
pub(super) struct PerIp(HashMap<IpAddr, usize>);

impl PerIp {
    fn count(&self, ip: IpAddr) -> usize {
        self.0.get(&canonical_ip(ip)).copied().unwrap_or(0)
    }

    fn add(&mut self, ip: IpAddr) {
        *self.0.entry(canonical_ip(ip)).or_insert(0) += 1;
    }

    /// A session of `ip` ended: its client no longer counts against the limits.
    pub fn release(&mut self, ip: IpAddr) {
        let ip = canonical_ip(ip);
        if let Some(count) = self.0.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                self.0.remove(&ip);
            }
        }
    }
}

/// What a listener's connections start with.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ListenerKind {
    /// TLS, from the first byte (implicit FTPS).
    pub implicit_tls: bool,
    /// A PROXY protocol header, before anything else (`proxied.rs`).
    pub proxy_protocol: bool,
}

/// Binds the listening sockets (or takes those systemd bound) and registers
/// them, each with what its connections start with.
pub(super) fn listen(
    poll: &Poll,
    addresses: Listeners,
) -> io::Result<Vec<(TcpListener, ListenerKind)>> {
    let mut bound = Vec::new();
    let plain = addresses.plain.iter().map(|addr| (addr, false));
    let implicit = addresses.implicit_tls.iter().map(|addr| (addr, true));
    for (addr, implicit_tls) in plain.chain(implicit) {
        let listener = bind(*addr).map_err(|e| {
            let advice = bind_advice(*addr, &e);
            io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}{advice}"))
        })?;
        bound.push((listener, implicit_tls));
    }
    let inherited = (addresses.inherited.into_iter())
        .map(|i| (TcpListener::from_std(i.listener), i.implicit_tls));
    let mut listeners = Vec::new();
    for (index, (mut listener, implicit_tls)) in inherited.chain(bound).enumerate() {
        let listener_token = token(index, Source::Daemon);
        (poll.registry()).register(&mut listener, listener_token, Interest::READABLE)?;
        let local = listener.local_addr()?;
        let kind = ListenerKind {
            implicit_tls,
            proxy_protocol: addresses.proxy_protocol.contains(&local),
        };
        listeners.push((listener, kind));
    }
    Ok(listeners)
}

/// What to do about the usual reasons a listening socket cannot be bound,
/// after `: `; nothing for the others.
fn bind_advice(addr: SocketAddr, e: &io::Error) -> String {
    let port = addr.port();
    match e.raw_os_error() {
        Some(libc::EACCES) if port < 1024 => {
            let exe = std::env::current_exe();
            let exe = exe.as_deref().unwrap_or(std::path::Path::new("pocketftpd"));
            format!(
                ": ports below 1024 need privileges: start pocketftpd as root with --run-as ftp, \
                 give it CAP_NET_BIND_SERVICE (sudo setcap cap_net_bind_service=+ep {}, or \
                 AmbientCapabilities= in its systemd unit), let systemd pass it the socket \
                 (dist/pocketftpd.socket), or listen on a port of 1024 or more (--listen {})",
                exe.display(),
                SocketAddr::new(addr.ip(), 2121)
            )
        }
        Some(libc::EADDRINUSE) => format!(
            ": another program listens there (another FTP server? `ss -ltnp 'sport = :{port}'` \
             names it): stop it, or listen on another port"
        ),
        Some(libc::EADDRNOTAVAIL) => format!(
            ": no network interface of this machine has the address {} (`ip -br addr` lists \
             them): listen on one of those, or on 0.0.0.0 or [::] for all",
            addr.ip()
        ),
        _ => String::new(),
    }
}

/// Out of descriptors or memory for sockets: worth retrying later.
fn is_out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Binds and listens on `addr`; IPv6 addresses dual-stack.
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    match addr {
        SocketAddr::V4(_) => TcpListener::bind(addr),
        SocketAddr::V6(v6) => bind_dual_stack(v6).map(TcpListener::from_std),
    }
}

fn bind_dual_stack(addr: SocketAddrV6) -> io::Result<std::net::TcpListener> {
    let kind = libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;
    // SAFETY: socket(2) returns a new descriptor or -1.
    let fd = unsafe { libc::socket(libc::AF_INET6, kind, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nothing else owns; closed on error.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    sockopt::set(&socket, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    sockopt::set(&socket, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 0)?;
    // SAFETY: all-zero bytes are a valid sockaddr_in6, filled in below.
    let mut raw: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    raw.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    raw.sin6_port = addr.port().to_be();
    raw.sin6_flowinfo = addr.flowinfo();
    raw.sin6_addr.s6_addr = addr.ip().octets();
    raw.sin6_scope_id = addr.scope_id();
    let len = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    // SAFETY: a valid socket and a sockaddr_in6 of the length passed.
    let bound = unsafe { libc::bind(fd, (&raw as *const libc::sockaddr_in6).cast(), len) };
    // SAFETY: listen(2) on the socket just bound.
    if bound < 0 || unsafe { libc::listen(fd, BACKLOG) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(std::net::TcpListener::from(socket))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr, TcpStream};

    #[test]
    fn an_ipv6_wildcard_listener_takes_ipv4_clients() {
        let listener = match bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))) {
            Ok(listener) => listener,
            // Under CI a missing prerequisite is a failure, not a pass.
            Err(e) if std::env::var_os("CI").is_none() => {
                return eprintln!("skipped: no IPv6 here: {e}");
            }
            Err(e) => panic!("no IPv6 here (CI is set): {e}"),
        };
        let port = listener.local_addr().unwrap().port();
        let client = TcpStream::connect((Ipv4Addr::LOCALHOST, port));
        assert!(
            client.is_ok(),
            "an IPv4 client could not connect: {client:?}"
        );
        // And the same port for IPv4 is then taken.
        assert!(bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))).is_err());
    }
}
