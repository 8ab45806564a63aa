//! What sessions tell the admin ([`Notice`]), as warnings that say what
//! happened and what to check, each said only as often as it helps: a
//! passive port nobody reached once per client address and hour, a public
//! client told a private address once. "Login works, LIST hangs" is then a
//! log line naming the address and ports to check, not a mystery.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use log::warn;
use pocketftp_core::{canonical_ip, Notice};

/// How long a client's unreached passive port is not warned about again.
const QUIET_FOR: Duration = Duration::from_secs(3600);
/// Client addresses remembered as warned within the hour, at most: past
/// that many (a scan, or a broken router in front of everyone), the admin
/// has the message already.
const MAX_WARNED_CLIENTS: usize = 1024;

/// What was said, and when.
#[derive(Default)]
pub(crate) struct Notices {
    /// Clients warned about a passive port they did not reach.
    unreached: HashMap<IpAddr, Instant>,
    /// A public client was told a private address (said once).
    told_private: bool,
}

impl Notices {
    /// A session's notice, from its client `peer`: logged unless said
    /// recently. `pasv_ports` is the range in force (`--pasv-ports`).
    pub fn hear(
        &mut self,
        peer: SocketAddr,
        notice: Notice,
        now: Instant,
        pasv_ports: Option<&RangeInclusive<u16>>,
    ) {
        let peer = SocketAddr::new(canonical_ip(peer.ip()), peer.port());
        match notice {
            Notice::PassiveNotReached { .. } if !self.first_this_hour(peer.ip(), now) => {}
            Notice::PrivateAddressToPublicClient { .. } if self.told_private => {}
            Notice::PassiveNotReached {
                address,
                port,
                waited,
            } => warn!("{}", unreached(peer, address, port, waited, pasv_ports)),
            Notice::PrivateAddressToPublicClient { address } => {
                self.told_private = true;
                warn!(
                    "{peer}: a client on the internet is told to open its data connections \
                     to {address}, a local address it cannot reach (PASV): set --pasv-address \
                     to the address the internet reaches this server at (the router's public \
                     address, or a dynamic DNS name); said once"
                );
            }
        }
    }

    /// Whether `client` was not warned within the hour (and is now).
    fn first_this_hour(&mut self, client: IpAddr, now: Instant) -> bool {
        let recent = |at: &Instant| now.saturating_duration_since(*at) < QUIET_FOR;
        if self.unreached.get(&client).is_some_and(recent) {
            return false;
        }
        if self.unreached.len() >= MAX_WARNED_CLIENTS {
            self.unreached.retain(|_, at| recent(at));
        }
        if self.unreached.len() >= MAX_WARNED_CLIENTS {
            return false;
        }
        self.unreached.insert(client, now);
        true
    }
}

/// The warning for a passive port `peer` did not reach: what it was told,
/// and what to check.
fn unreached(
    peer: SocketAddr,
    address: Option<std::net::Ipv4Addr>,
    port: u16,
    waited: Duration,
    pasv_ports: Option<&RangeInclusive<u16>>,
) -> String {
    let seconds = waited.as_secs();
    let told = match address {
        Some(address) => format!("to {address} port {port} (PASV)"),
        None => format!("to port {port} of the address it reached this server at (EPSV)"),
    };
    let mut checks = Vec::new();
    if let Some(address) = address {
        checks.push(format!(
            "check that {address} is this server's address as that client sees it \
             (--pasv-address, --pasv-address-map)"
        ));
    }
    checks.push(match pasv_ports {
        Some(range) => format!(
            "check that the router forwards exactly the passive ports {}-{} (--pasv-ports) \
             to this machine and its firewall lets them in",
            range.start(),
            range.end()
        ),
        None => "set --pasv-ports (such as 50000-50100) and forward exactly that range to \
                 this machine: without it passive ports are random, which no router can forward"
            .to_owned(),
    });
    format!(
        "{peer}: was told to open its data connection {told} and did not within {seconds} s \
         (LIST and downloads hang for it): {}; next warning for {} in an hour",
        checks.join("; "),
        peer.ip()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn a_client_is_warned_once_an_hour() {
        let mut notices = Notices::default();
        let start = Instant::now();
        let client = IpAddr::from([203, 0, 113, 9]);
        let mapped: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert!(notices.first_this_hour(client, start));
        assert!(!notices.first_this_hour(client, start + Duration::from_secs(3599)));
        assert!(!notices.first_this_hour(canonical_ip(mapped), start));
        assert!(notices.first_this_hour(IpAddr::from([203, 0, 113, 10]), start));
        assert!(notices.first_this_hour(client, start + QUIET_FOR));
    }

    #[test]
    fn the_warned_clients_are_bounded() {
        let mut notices = Notices::default();
        let start = Instant::now();
        let client = |n: u32| IpAddr::from(Ipv4Addr::from(0x0a00_0000 + n));
        for n in 0..MAX_WARNED_CLIENTS as u32 {
            assert!(notices.first_this_hour(client(n), start));
        }
        let full = MAX_WARNED_CLIENTS as u32;
        assert!(
            !notices.first_this_hour(client(full), start),
            "past the cap"
        );
        assert!(notices.unreached.len() <= MAX_WARNED_CLIENTS);
        // An hour on, the old ones are forgotten and there is room again.
        assert!(notices.first_this_hour(client(full), start + QUIET_FOR));
        assert_eq!(notices.unreached.len(), 1);
    }

    #[test]
    fn the_warning_names_what_to_check() {
        let peer: SocketAddr = "203.0.113.9:40000".parse().unwrap();
        let public = Some(Ipv4Addr::new(198, 51, 100, 7));
        let minute = Duration::from_secs(60);
        let text = unreached(peer, public, 50_012, minute, Some(&(50_000..=50_100)));
        for part in [
            "203.0.113.9:40000: was told to open its data connection to 198.51.100.7 port 50012 (PASV)",
            "within 60 s",
            "check that 198.51.100.7 is this server's address",
            "; check that the router forwards exactly the passive ports 50000-50100 (--pasv-ports)",
            "next warning for 203.0.113.9 in an hour",
        ] {
            assert!(text.contains(part), "{part:?} in {text}");
        }
        let text = unreached(peer, None, 50_012, minute, None);
        assert!(text.contains("port 50012 of the address it reached this server at (EPSV)"));
        let want = "(LIST and downloads hang for it): set --pasv-ports (such as 50000-50100)";
        assert!(text.contains(want), "{text}");
        assert!(!text.contains("--pasv-address"), "{text}");
    }
}
