//! The PROXY protocol, versions 1 and 2 (HAProxy's): the header a TCP load
//! balancer sends first on each connection it passes on, saying whose
//! connection it is. Sans-IO and bounded: [`parse`] looks at the bytes
//! received so far and says whether they hold a whole header, the start of
//! one, or none; it never needs more than [`MAX_HEADER`] bytes, however
//! they were split.
//!
//! What is checked: version 1 is one line of at most [`V1_MAX`] bytes
//! (CRLF included), `PROXY TCP4|TCP6 SRC DST SPORT DPORT` with addresses
//! of the family named, or `PROXY UNKNOWN ...`; version 2 is its 12-byte
//! signature, version 2, a known command and family, and a length of at
//! most [`V2_MAX_BODY`] that holds the family's addresses (type-length-value
//! fields after them are skipped).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A version 1 header's longest line, CRLF included (the specification's
/// bound: `PROXY TCP6` with two full IPv6 addresses and ports).
pub const V1_MAX: usize = 107;
/// The version 2 signature, which no version 1 line and no FTP client's
/// first bytes can start with.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// A version 2 header's fixed part: the signature, the version and
/// command, the family, the length.
const V2_FIXED: usize = 16;
/// The longest version 2 body taken (addresses and TLVs). Load balancers
/// send the 12 or 36 bytes of addresses and a few small TLVs (HAProxy's
/// unique id is at most 128 bytes, a cloud's endpoint id less); the
/// field allows 65,535, which nobody needs to hold for them.
pub const V2_MAX_BODY: usize = 2048;
/// The most bytes a header can take.
pub const MAX_HEADER: usize = V2_FIXED + V2_MAX_BODY;

/// Whose connection it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProxyHeader {
    /// A client's: `source` is the client, `destination` the address it
    /// connected to (the load balancer's).
    Proxied {
        source: SocketAddr,
        destination: SocketAddr,
    },
    /// The load balancer's own (a health check: v2 `LOCAL`), or one whose
    /// addresses are not TCP's (v1 `UNKNOWN`, v2 `UNSPEC`, UDP, UNIX
    /// sockets): the connection's own addresses stand.
    Local,
}

/// What the bytes received so far hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Parsed {
    /// The start of a header: read more (at most [`MAX_HEADER`] in all).
    Incomplete,
    /// A whole header of `length` bytes; what follows it is the client's.
    Complete { header: ProxyHeader, length: usize },
    /// Not a PROXY protocol header, and no more bytes can make it one.
    Invalid(&'static str),
}

/// Looks at the first bytes of a connection.
pub fn parse(bytes: &[u8]) -> Parsed {
    let v1 = b"PROXY ";
    let seen = bytes.len().min(v1.len());
    if bytes[..seen] == v1[..seen] {
        return parse_v1(bytes);
    }
    let seen = bytes.len().min(V2_SIGNATURE.len());
    if bytes[..seen] == V2_SIGNATURE[..seen] {
        return parse_v2(bytes);
    }
    Parsed::Invalid("not a PROXY protocol header")
}

/// Version 1: one text line.
fn parse_v1(bytes: &[u8]) -> Parsed {
    let window = &bytes[..bytes.len().min(V1_MAX)];
    let Some(lf) = window.iter().position(|b| *b == b'\n') else {
        if bytes.len() >= V1_MAX {
            return Parsed::Invalid("a version 1 header without its CRLF in 107 bytes");
        }
        return Parsed::Incomplete;
    };
    let Some(line) = window[..lf].strip_suffix(b"\r") else {
        return Parsed::Invalid("a version 1 header ending in LF without CR");
    };
    let Ok(line) = std::str::from_utf8(line) else {
        return Parsed::Invalid("a version 1 header that is not text");
    };
    let length = lf + 1;
    let mut words = line.split(' ');
    let (_proxy, family) = (words.next(), words.next());
    if family == Some("UNKNOWN") {
        // The proxy could not tell: the rest of the line is to be ignored.
        let header = ProxyHeader::Local;
        return Parsed::Complete { header, length };
    }
    let fields: Vec<&str> = words.collect();
    let (source, destination) = match (family, fields.as_slice()) {
        (Some("TCP4"), &[src, dst, sport, dport]) => (
            v1_address::<Ipv4Addr>(src, sport),
            v1_address::<Ipv4Addr>(dst, dport),
        ),
        (Some("TCP6"), &[src, dst, sport, dport]) => (
            v1_address::<Ipv6Addr>(src, sport),
            v1_address::<Ipv6Addr>(dst, dport),
        ),
        _ => return Parsed::Invalid("a version 1 header that is not TCP4, TCP6 or UNKNOWN"),
    };
    match (source, destination) {
        (Some(source), Some(destination)) => Parsed::Complete {
            header: ProxyHeader::Proxied {
                source,
                destination,
            },
            length,
        },
        _ => Parsed::Invalid("a version 1 header with a malformed address or port"),
    }
}

/// An address of family `A` and a port in decimal digits (no sign).
fn v1_address<A>(address: &str, port: &str) -> Option<SocketAddr>
where
    A: std::str::FromStr + Into<IpAddr>,
{
    let digits = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    let port: u16 = port.parse().ok().filter(|_| digits)?;
    let address: A = address.parse().ok()?;
    Some(SocketAddr::new(address.into(), port))
}

/// Version 2: binary, with its length up front.
fn parse_v2(bytes: &[u8]) -> Parsed {
    if let Some(version_command) = bytes.get(12) {
        if version_command >> 4 != 2 {
            return Parsed::Invalid("a version 2 signature with another version");
        }
        if version_command & 0x0f > 1 {
            return Parsed::Invalid("a version 2 header with an unknown command");
        }
    }
    if bytes.len() < V2_FIXED {
        return Parsed::Incomplete;
    }
    let body_length = usize::from(u16::from_be_bytes([bytes[14], bytes[15]]));
    if body_length > V2_MAX_BODY {
        return Parsed::Invalid("a version 2 header longer than 2064 bytes");
    }
    let length = V2_FIXED + body_length;
    let Some(body) = bytes.get(V2_FIXED..length) else {
        return Parsed::Incomplete;
    };
    let local = bytes[12] & 0x0f == 0;
    let header = match (local, bytes[13]) {
        // LOCAL: the proxy's own connection, whatever the family says.
        (true, _) => Some(ProxyHeader::Local),
        (false, 0x11) => v2_addresses(body, 4).map(|(s, d)| proxied(s, d)),
        (false, 0x21) => v2_addresses(body, 16).map(|(s, d)| proxied(s, d)),
        // UNSPEC, and UDP or UNIX sockets: valid, but no TCP client.
        (false, 0x00 | 0x12 | 0x22 | 0x31 | 0x32) => Some(ProxyHeader::Local),
        (false, _) => return Parsed::Invalid("a version 2 header with an unknown family"),
    };
    match header {
        Some(header) => Parsed::Complete { header, length },
        None => Parsed::Invalid("a version 2 header too short for its addresses"),
    }
}

fn proxied(source: SocketAddr, destination: SocketAddr) -> ProxyHeader {
    ProxyHeader::Proxied {
        source,
        destination,
    }
}

/// The source and destination of a version 2 body whose addresses are
/// `size` bytes each (4 or 16), then the two ports.
fn v2_addresses(body: &[u8], size: usize) -> Option<(SocketAddr, SocketAddr)> {
    let block = body.get(..2 * size + 4)?;
    let (addresses, ports) = block.split_at(2 * size);
    let ip = |bytes: &[u8]| -> Option<IpAddr> {
        match size {
            4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
            _ => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        }
    };
    let (source, destination) = addresses.split_at(size);
    let source = SocketAddr::new(ip(source)?, u16::from_be_bytes([ports[0], ports[1]]));
    let destination = SocketAddr::new(ip(destination)?, u16::from_be_bytes([ports[2], ports[3]]));
    Some((source, destination))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    fn proxied_from(source: &str, destination: &str) -> ProxyHeader {
        proxied(addr(source), addr(destination))
    }

    /// `bytes` parsed whole and fed one byte at a time: every shorter
    /// prefix is `Incomplete` (or already `Invalid`), and the whole agrees.
    fn parse_bytewise(bytes: &[u8]) -> Parsed {
        for end in 0..bytes.len() {
            match parse(&bytes[..end]) {
                Parsed::Incomplete => {}
                Parsed::Complete { length, .. } => {
                    assert!(length <= end);
                    return parse(&bytes[..end]);
                }
                invalid @ Parsed::Invalid(_) => {
                    assert_eq!(parse(bytes), invalid, "a longer input turned valid");
                    return invalid;
                }
            }
        }
        parse(bytes)
    }

    fn v2(command: u8, family: u8, body: &[u8]) -> Vec<u8> {
        let mut header = V2_SIGNATURE.to_vec();
        header.extend([0x20 | command, family]);
        header.extend((body.len() as u16).to_be_bytes());
        header.extend(body);
        header
    }

    #[test]
    fn version_1_lines() {
        let line = b"PROXY TCP4 203.0.113.9 198.51.100.7 40000 21\r\nUSER x\r\n";
        let header = proxied_from("203.0.113.9:40000", "198.51.100.7:21");
        let length = line.len() - b"USER x\r\n".len();
        assert_eq!(parse_bytewise(line), Parsed::Complete { header, length });
        let line = b"PROXY TCP6 2001:db8::9 2001:db8::7 65535 990\r\n";
        let header = proxied_from("[2001:db8::9]:65535", "[2001:db8::7]:990");
        let length = line.len();
        assert_eq!(parse_bytewise(line), Parsed::Complete { header, length });
        let line = b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
        let (header, length) = (ProxyHeader::Local, line.len());
        assert_eq!(parse_bytewise(line), Parsed::Complete { header, length });
        // The longest lines the specification allows fit: 104 bytes for
        // TCP6, and 107, the bound, for UNKNOWN with the same fields.
        let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        for (family, want) in [("TCP6", 104), ("UNKNOWN", V1_MAX)] {
            let longest = format!("PROXY {family} {full} {full} 65535 65535\r\n");
            assert_eq!(longest.len(), want);
            let parsed = parse_bytewise(longest.as_bytes());
            assert!(matches!(parsed, Parsed::Complete { length, .. } if length == want));
        }
    }

    #[test]
    fn bad_version_1_lines() {
        for (line, why) in [
            (
                &b"PROXY TCP4 203.0.113.9 198.51.100.7 40000 21\n"[..],
                "without CR",
            ),
            (
                b"PROXY TCP4 2001:db8::9 198.51.100.7 40000 21\r\n",
                "malformed address",
            ),
            (
                b"PROXY TCP6 203.0.113.9 2001:db8::7 40000 21\r\n",
                "malformed address",
            ),
            (
                b"PROXY TCP4 203.0.113.9 198.51.100.7 +4000 21\r\n",
                "malformed address",
            ),
            (
                b"PROXY TCP4 203.0.113.9 198.51.100.7 65536 21\r\n",
                "malformed address",
            ),
            (
                b"PROXY TCP4 203.0.113.9  198.51.100.7 40000 21\r\n",
                "not TCP4, TCP6",
            ),
            (
                b"PROXY TCP4 203.0.113.9 198.51.100.7 40000\r\n",
                "not TCP4, TCP6",
            ),
            (
                b"PROXY UDP4 203.0.113.9 198.51.100.7 40000 21\r\n",
                "not TCP4, TCP6",
            ),
            (
                b"PROXY TCP4 \xff.0.113.9 198.51.100.7 40000 21\r\n",
                "not text",
            ),
            (b"USER anonymous\r\n", "not a PROXY protocol header"),
            (b"proxy TCP4", "not a PROXY protocol header"),
        ] {
            match parse_bytewise(line) {
                Parsed::Invalid(got) => assert!(got.contains(why), "{got}"),
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(line)),
            }
        }
        let endless = [b"PROXY ".to_vec(), vec![b'1'; 200]].concat();
        assert_eq!(parse(&endless[..V1_MAX - 1]), Parsed::Incomplete);
        assert_eq!(
            parse_bytewise(&endless),
            Parsed::Invalid("a version 1 header without its CRLF in 107 bytes")
        );
    }

    #[test]
    fn version_2_headers() {
        let mut body = vec![203, 0, 113, 9, 198, 51, 100, 7];
        body.extend(40000u16.to_be_bytes());
        body.extend(21u16.to_be_bytes());
        // A TLV after the addresses (PP2_TYPE_UNIQUE_ID) is skipped.
        body.extend([0x05, 0x00, 0x03, b'a', b'b', b'c']);
        let header = v2(1, 0x11, &body);
        let whole = [header.clone(), b"USER x\r\n".to_vec()].concat();
        let (header, length) = (
            proxied_from("203.0.113.9:40000", "198.51.100.7:21"),
            header.len(),
        );
        assert_eq!(parse_bytewise(&whole), Parsed::Complete { header, length });

        let mut body = "2001:db8::9".parse::<Ipv6Addr>().unwrap().octets().to_vec();
        body.extend("2001:db8::7".parse::<Ipv6Addr>().unwrap().octets());
        body.extend([0x9c, 0x40, 0x00, 0x15]);
        let header = proxied_from("[2001:db8::9]:40000", "[2001:db8::7]:21");
        let length = V2_FIXED + body.len();
        assert_eq!(
            parse_bytewise(&v2(1, 0x21, &body)),
            Parsed::Complete { header, length }
        );

        // A health check of the load balancer's, and families without TCP
        // addresses: the connection's own addresses stand.
        for (command, family, body) in [(0, 0x11, &[][..]), (0, 0x00, &[]), (1, 0x00, &[1, 2])] {
            let bytes = v2(command, family, body);
            let (header, length) = (ProxyHeader::Local, bytes.len());
            assert_eq!(parse_bytewise(&bytes), Parsed::Complete { header, length });
        }
        let unix = v2(1, 0x31, &[0; 216]);
        assert!(matches!(
            parse_bytewise(&unix),
            Parsed::Complete {
                header: ProxyHeader::Local,
                ..
            }
        ));
    }

    #[test]
    fn bad_version_2_headers() {
        let mut wrong_version = v2(1, 0x11, &[0; 12]);
        wrong_version[12] = 0x11;
        let mut too_long = v2(1, 0x11, &[0; 12]);
        too_long[14..16].copy_from_slice(&(V2_MAX_BODY as u16 + 1).to_be_bytes());
        for (bytes, why) in [
            (wrong_version, "another version"),
            (v2(2, 0x11, &[0; 12]), "unknown command"),
            (v2(1, 0x41, &[0; 12]), "unknown family"),
            (v2(1, 0x11, &[0; 11]), "too short for its addresses"),
            (v2(1, 0x21, &[0; 35]), "too short for its addresses"),
            (too_long, "longer than 2064 bytes"),
        ] {
            match parse_bytewise(&bytes) {
                Parsed::Invalid(got) => assert!(got.contains(why), "{got}"),
                other => panic!("{why}: {other:?}"),
            }
        }
        // The longest body taken is taken, whole or a byte at a time.
        let longest = v2(1, 0x11, &[0; V2_MAX_BODY]);
        assert_eq!(longest.len(), MAX_HEADER);
        assert!(matches!(
            parse_bytewise(&longest),
            Parsed::Complete {
                length: MAX_HEADER,
                ..
            }
        ));
    }
}
