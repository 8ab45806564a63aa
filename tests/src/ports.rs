//! Ports on 127.0.0.1: a free one for each daemon, and whether anything
//! listens on one (for failure messages).

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::trees::Rng;

/// For failure messages: does a socket listen on `port` (any address) now,
/// from /proc/net/tcp and tcp6?
pub fn port_state(port: u16) -> &'static str {
    const LISTEN: &str = "0A";
    let wanted = format!("{port:04X}");
    let mut readable = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        readable = true;
        let listening = text.lines().skip(1).any(|row| {
            let mut fields = row.split_whitespace();
            let local = fields.nth(1).unwrap_or("");
            let state = fields.nth(1).unwrap_or("");
            local.rsplit(':').next() == Some(wanted.as_str()) && state == LISTEN
        });
        if listening {
            return "listening";
        }
    }
    if readable {
        "NOT listening"
    } else {
        "listening or not: /proc/net/tcp unreadable"
    }
}

/// A free TCP port on 127.0.0.1 (bound, checked, released).
///
/// Chosen at random below the kernel's ephemeral range when there is room,
/// so that the passive and active data ports of tests running in parallel
/// (which come from the ephemeral range) cannot take it before the daemon
/// binds it.
pub fn free_port() -> u16 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let ephemeral_low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    if ephemeral_low > 12_000 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut rng = Rng((u64::from(std::process::id()) << 32)
            ^ u64::from(nanos)
            ^ COUNTER
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            | 1);
        let span = u64::from(ephemeral_low - 10_000);
        for _ in 0..200 {
            let port = 10_000 + rng.below(span) as u16;
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return port;
            }
        }
    }
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind :0");
    l.local_addr().expect("local_addr").port()
}
