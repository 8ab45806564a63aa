//! Integer socket options, and the ones the daemon sets.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

/// Unsent bytes a data connection's socket may hold before it stops
/// taking more (`TCP_NOTSENT_LOWAT`). Without it the kernel queues
/// megabytes that the window does not let out yet, and sends them later
/// from the receiving side's ACK processing: on one machine, on the
/// client's CPU, which then reads less. With it the data is queued as it
/// can leave, from the loop's own `sendfile`, and a socket reports room
/// when this little is left. Pinned, 32 downloads over loopback moved
/// 2,200 MB/s without it and 4,600 with it (BENCHMARKS.md); 16 KiB did as
/// well here, 64 KiB wakes the loop a quarter as often on a real link.
pub(crate) const DATA_NOTSENT_LOWAT: libc::c_int = 64 * 1024;

/// `setsockopt` of one `c_int`.
pub(crate) fn set(
    socket: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: a valid socket and a c_int option value of the size passed.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `getsockopt` of one `c_int`, on a raw descriptor (systemd's, say).
pub(crate) fn get(fd: RawFd, level: libc::c_int, name: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes one c_int of the length passed.
    let result = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value)
}

/// A new data connection: see [`DATA_NOTSENT_LOWAT`]. A kernel without the
/// option (before 3.12) still moves the data, as before.
pub(crate) fn tune_data(socket: &impl AsRawFd) {
    let _ = set(
        socket,
        libc::IPPROTO_TCP,
        libc::TCP_NOTSENT_LOWAT,
        DATA_NOTSENT_LOWAT,
    );
}

/// Unanswered keepalive probes after which the kernel gives a control
/// connection up.
pub const KEEPALIVE_PROBES: libc::c_int = 4;

/// TCP keepalive on control connections (`--tcp-keepalive`): after `idle`
/// without a byte either way the kernel probes the client, every quarter
/// of that (a second at least), and [`KEEPALIVE_PROBES`] unanswered probes
/// close the connection, which the session hears as lost. A client behind
/// a NAT mapping that died (a router restarted, a phone that changed
/// networks) then frees its session slot within twice `idle` (two minutes
/// by default: 60 s, then 4 probes 15 s apart) instead of holding it until
/// the idle timeout, and a connection kept idle for longer than a
/// router's NAT timeout stays mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    pub idle: Duration,
}

impl Keepalive {
    /// The longest `idle` taken: two hours, the kernel's own default.
    pub const MAX_IDLE: Duration = Duration::from_secs(7200);

    /// Between probes.
    pub fn interval(&self) -> Duration {
        (self.idle / 4).max(Duration::from_secs(1))
    }
}

/// Turns keepalive on for a control connection, as `keepalive` says.
pub(crate) fn set_keepalive(socket: &impl AsRawFd, keepalive: Keepalive) -> io::Result<()> {
    // At most MAX_IDLE seconds: both fit a c_int.
    let seconds = |d: Duration| d.as_secs().min(Keepalive::MAX_IDLE.as_secs()) as libc::c_int;
    set(socket, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)?;
    set(
        socket,
        libc::IPPROTO_TCP,
        libc::TCP_KEEPIDLE,
        seconds(keepalive.idle),
    )?;
    let interval = seconds(keepalive.interval());
    set(socket, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, interval)?;
    set(
        socket,
        libc::IPPROTO_TCP,
        libc::TCP_KEEPCNT,
        KEEPALIVE_PROBES,
    )
}

/// Python's ftplib sends ABOR's final byte as TCP urgent data: without
/// `SO_OOBINLINE` that byte never reaches the stream and the line never ends.
pub(crate) fn set_oob_inline(socket: &impl AsRawFd) -> io::Result<()> {
    set(socket, libc::SOL_SOCKET, libc::SO_OOBINLINE, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, TcpListener, TcpStream};

    #[test]
    fn data_sockets_keep_little_unsent() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let socket = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        tune_data(&socket);
        let fd = socket.as_raw_fd();
        let lowat = get(fd, libc::IPPROTO_TCP, libc::TCP_NOTSENT_LOWAT).unwrap();
        assert_eq!(lowat, DATA_NOTSENT_LOWAT);
        set_oob_inline(&socket).unwrap();
        assert_eq!(get(fd, libc::SOL_SOCKET, libc::SO_OOBINLINE).unwrap(), 1);
    }

    #[test]
    fn control_sockets_probe_an_idle_client() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let socket = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let fd = socket.as_raw_fd();
        assert_eq!(get(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE).unwrap(), 0);
        for (idle, interval) in [(60, 15), (2, 1), (7, 1), (7200, 1800)] {
            let keepalive = Keepalive {
                idle: Duration::from_secs(idle),
            };
            set_keepalive(&socket, keepalive).unwrap();
            assert_eq!(get(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE).unwrap(), 1);
            let tcp = |name| get(fd, libc::IPPROTO_TCP, name).unwrap();
            assert_eq!(tcp(libc::TCP_KEEPIDLE), idle as libc::c_int);
            assert_eq!(tcp(libc::TCP_KEEPINTVL), interval);
            assert_eq!(tcp(libc::TCP_KEEPCNT), KEEPALIVE_PROBES);
        }
    }
}
