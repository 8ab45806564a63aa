//! systemd socket activation: with a `pocketftpd.socket` unit, systemd
//! binds the ports (21 needs no root in the daemon at all) and passes the
//! listening sockets as descriptors 3, 4, ... with `LISTEN_FDS` and
//! `LISTEN_PID` (sd_listen_fds(3)). A socket named `ftps` (the unit's
//! `FileDescriptorName=ftps`) is an implicit-FTPS listener.

use std::net::TcpListener;
use std::os::fd::{FromRawFd, RawFd};

use crate::net::sockopt;

/// The first descriptor systemd passes.
const FIRST_FD: RawFd = 3;
/// More would be a misconfiguration (and descriptors we do not own).
const MAX_FDS: usize = 64;

/// A listening socket systemd passed, and whether it is implicit FTPS.
pub struct Inherited {
    pub listener: TcpListener,
    pub implicit_tls: bool,
}

/// The sockets systemd passed to this process, if any; the variables are
/// removed so they cannot be mistaken for ours by anything else. An error
/// for variables that are set but make no sense.
pub fn listeners() -> Result<Vec<Inherited>, String> {
    let (Some(pid), Some(count)) = (var("LISTEN_PID"), var("LISTEN_FDS")) else {
        return Ok(Vec::new());
    };
    let names = var("LISTEN_FDNAMES").unwrap_or_default();
    for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(name);
    }
    if pid.parse::<u32>().ok() != Some(std::process::id()) {
        return Ok(Vec::new()); // meant for another process
    }
    let count: usize = count
        .parse()
        .ok()
        .filter(|&n| n <= MAX_FDS)
        .ok_or_else(|| format!("LISTEN_FDS={count:?} is not a number up to {MAX_FDS}"))?;
    let mut names = names.split(':');
    (0..count)
        .map(|i| {
            let fd = FIRST_FD + i as RawFd;
            check_listening_tcp(fd)?;
            // SAFETY: systemd passed `fd` to us as a listening socket (just
            // checked); nothing else in the process owns it.
            let listener = unsafe { TcpListener::from_raw_fd(fd) };
            listener
                .set_nonblocking(true)
                .map_err(|e| format!("socket activation: descriptor {fd}: {e}"))?;
            let implicit_tls = names.next() == Some("ftps");
            Ok(Inherited {
                listener,
                implicit_tls,
            })
        })
        .collect()
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Refuses a passed descriptor that is not a listening TCP socket.
fn check_listening_tcp(fd: RawFd) -> Result<(), String> {
    let option = |name| sockopt::get(fd, libc::SOL_SOCKET, name).ok();
    match (option(libc::SO_ACCEPTCONN), option(libc::SO_TYPE)) {
        (Some(1), Some(libc::SOCK_STREAM)) => Ok(()),
        _ => Err(format!(
            "socket activation: descriptor {fd} is not a listening TCP socket"
        )),
    }
}
