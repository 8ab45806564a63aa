//! Listening sockets. An IPv6 listener is bound dual-stack (`IPV6_V6ONLY`
//! off), whatever `net.ipv6.bindv6only` says: `[::]:21` alone then serves
//! IPv4 clients too (as `::ffff:a.b.c.d`, which the core compares as IPv4),
//! so one `listen = [::]:21` line is the whole setup for both families.

use std::io;
use std::mem::size_of;
use std::net::{SocketAddr, SocketAddrV6};
use std::os::fd::{FromRawFd, OwnedFd};

use mio::net::TcpListener;

use crate::net::sockopt;

/// Connections waiting to be accepted, as mio's own `bind` sets it.
const BACKLOG: libc::c_int = 1024;

/// Binds and listens on `addr`; IPv6 addresses dual-stack.
pub(super) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
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
