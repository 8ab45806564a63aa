//! Client networks: CIDR blocks (`--pasv-address-map`, `--ban-safelist`),
//! and which addresses belong to a local network rather than the internet.
//! IPv4 clients of a dual-stack listener (`::ffff:a.b.c.d`) are the IPv4
//! addresses they are, here as everywhere ([`canonical_ip`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// IPv4-mapped IPv6 addresses (from dual-stack sockets) compare as IPv4.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// An address as logs show it: an IPv4 client of a dual-stack listener as
/// the IPv4 address it is (`127.0.0.1:5000`, not `[::ffff:127.0.0.1]:5000`),
/// so one client reads the same on every listener (and fail2ban's patterns
/// match it).
pub fn canonical_addr(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(canonical_ip(addr.ip()), addr.port())
}

/// A network: an address whose first `prefix` bits are its own, and the
/// rest zero (`192.168.1.0/24`, `fd00::/8`; an address alone is a `/32`
/// or `/128`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    base: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The network of `base` and `prefix`, if `prefix` fits the family and
    /// `base` has no bit set past it.
    pub fn new(base: IpAddr, prefix: u8) -> Option<Cidr> {
        let cidr = Cidr {
            base: canonical_ip(base),
            prefix,
        };
        (prefix <= cidr.bits() && cidr.masked(cidr.base) == cidr.base).then_some(cidr)
    }

    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        ip.is_ipv4() == self.base.is_ipv4() && self.masked(ip) == self.base
    }

    /// Whether some address is in both networks (then one holds the other).
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other.base) || other.contains(self.base)
    }

    /// 32 or 128.
    fn bits(&self) -> u8 {
        if self.base.is_ipv4() {
            32
        } else {
            128
        }
    }

    /// `ip` with the bits past the prefix cleared (`ip` of this family).
    fn masked(&self, ip: IpAddr) -> IpAddr {
        let keep = |bits: u32| u128::MAX.checked_shl(bits.saturating_sub(self.prefix.into()));
        match ip {
            IpAddr::V4(v4) => {
                let mask = keep(32).unwrap_or(0) as u32;
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) => {
                let mask = keep(128).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    /// `ADDRESS/PREFIX` or an address alone; the error says what was
    /// expected (and the network meant, for host bits past the prefix).
    fn from_str(text: &str) -> Result<Cidr, String> {
        let bad = || format!("{text:?} is not a network such as 192.168.1.0/24 or fd00::/8");
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let base: IpAddr = address.parse().map_err(|_| bad())?;
        let base = canonical_ip(base);
        let (whole, family) = if base.is_ipv4() { (32, 4) } else { (128, 6) };
        let too_long =
            || format!("{text:?}: the prefix of an IPv{family} network is at most {whole}");
        let prefix = match prefix {
            None => whole,
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                let prefix = digits.parse::<u8>().map_err(|_| too_long())?;
                if prefix > whole {
                    return Err(too_long());
                }
                prefix
            }
            Some(_) => return Err(bad()),
        };
        let widest = Cidr { base, prefix };
        if widest.masked(base) != base {
            let meant = Cidr {
                base: widest.masked(base),
                prefix,
            };
            return Err(format!(
                "{text:?} has bits set past its /{prefix} prefix: the network is {meant}"
            ));
        }
        Ok(widest)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// Whether `ip` is on a local network, not the internet: loopback,
/// private (RFC 1918 and IPv6 unique local), link-local, and the shared
/// space of carrier-grade NAT, `100.64.0.0/10` (Tailscale's addresses
/// too). A client there reaches the server at the control connection's
/// own address, not at a router's public one.
pub fn is_local_network(ip: IpAddr) -> bool {
    match canonical_ip(ip) {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback() || first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_hold_their_addresses() {
        let lan: Cidr = "192.168.1.0/24".parse().unwrap();
        assert!(lan.contains(ip("192.168.1.77")));
        assert!(
            lan.contains(ip("::ffff:192.168.1.77")),
            "a dual-stack client"
        );
        assert!(!lan.contains(ip("192.168.2.1")));
        assert!(!lan.contains(ip("fd00::1")));
        let one: Cidr = "10.0.0.7".parse().unwrap();
        assert_eq!(one.to_string(), "10.0.0.7/32");
        assert!(one.contains(ip("10.0.0.7")) && !one.contains(ip("10.0.0.8")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")) && !all.contains(ip("::1")));
        let ula: Cidr = "fd00::/8".parse().unwrap();
        assert!(ula.contains(ip("fd12:3456::1")) && !ula.contains(ip("fe80::1")));
        let every6: Cidr = "::/0".parse().unwrap();
        assert!(every6.contains(ip("2001:db8::1")));
        assert_eq!(
            Cidr::new(ip("10.1.0.0"), 16),
            Some("10.1.0.0/16".parse().unwrap())
        );
        assert_eq!(Cidr::new(ip("10.1.0.1"), 16), None);
        assert_eq!(Cidr::new(ip("10.1.0.0"), 33), None);
    }

    #[test]
    fn overlaps_are_found_both_ways() {
        let net = |t: &str| t.parse::<Cidr>().unwrap();
        assert!(net("10.0.0.0/8").overlaps(&net("10.9.0.0/16")));
        assert!(net("10.9.0.0/16").overlaps(&net("10.0.0.0/8")));
        assert!(net("10.9.0.0/16").overlaps(&net("10.9.0.0/16")));
        assert!(!net("10.9.0.0/16").overlaps(&net("10.8.0.0/16")));
        assert!(!net("0.0.0.0/0").overlaps(&net("::/0")));
    }

    #[test]
    fn bad_networks_say_what_was_meant() {
        let err = |t: &str| t.parse::<Cidr>().unwrap_err();
        assert!(err("192.168.1.5/24").contains("the network is 192.168.1.0/24"));
        assert!(err("10.0.0.0/33").contains("at most 32"));
        assert!(err("fd00::/129").contains("at most 128"));
        for bad in [
            "",
            "/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "lan",
            "10.0.0/8",
        ] {
            assert!(err(bad).contains("is not a network"), "{bad}: {}", err(bad));
        }
    }

    #[test]
    fn local_networks() {
        for local in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.10",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "::1",
            "fd00::1",
            "fc00::1",
            "fe80::1",
            "::ffff:192.168.1.2",
        ] {
            assert!(is_local_network(ip(local)), "{local}");
        }
        for public in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "100.63.255.255",
            "203.0.113.9",
            "2001:db8::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_local_network(ip(public)), "{public}");
        }
    }
}
