//! Message heads: a request line or a status line, then header lines, up
//! to the empty line. Parsed with memchr, borrowing from the input, and
//! bounded: a head longer than [`MAX_HEAD`] or with more than
//! [`MAX_HEADERS`] header lines is an error, whatever the peer meant.
//!
//! Incomplete input is `Ok(None)`, not an error (httparse's `Partial`): the
//! caller reads more and asks again. A line may end in CRLF or a bare LF
//! (RFC 9112 §2.2 lets a recipient take either); a header folded onto the
//! next line (obs-fold) is refused, as are control bytes in a value.

use memchr::memchr;

/// The longest head read, its empty line included: S3's responses carry
/// under 2 KiB of headers; a peer sending more is broken or hostile.
pub const MAX_HEAD: usize = 16 * 1024;

/// Header lines a head may carry.
pub const MAX_HEADERS: usize = 64;

/// Why a head is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// No empty line within [`MAX_HEAD`] bytes.
    TooLarge,
    /// More than [`MAX_HEADERS`] header lines.
    TooManyHeaders,
    /// The request line or the status line is malformed.
    BadStartLine,
    /// Not HTTP/1.0 or HTTP/1.1.
    BadVersion,
    /// A header line is malformed (no colon, a bad name, a control byte in
    /// its value, a folded line).
    BadHeader,
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HeadError::TooLarge => "HTTP head too large",
            HeadError::TooManyHeaders => "too many HTTP header lines",
            HeadError::BadStartLine => "malformed HTTP start line",
            HeadError::BadVersion => "not HTTP/1.0 or HTTP/1.1",
            HeadError::BadHeader => "malformed HTTP header line",
        })
    }
}

impl std::error::Error for HeadError {}

/// A response head: `HTTP/1.1 200 OK` and its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'a> {
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub status: u16,
    pub reason: &'a [u8],
    pub headers: Headers<'a>,
}

/// A request head: `GET /path HTTP/1.1` and its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub minor_version: u8,
    pub headers: Headers<'a>,
}

/// The header lines of a parsed head, checked once by the parser and read
/// again on demand (no table is allocated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headers<'a> {
    /// Every header line, each ending in LF.
    block: &'a [u8],
    count: usize,
}

/// One header line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: &'a str,
    /// Without the whitespace around it.
    pub value: &'a [u8],
}

/// A response head at the start of `buf`, and the bytes it took; `None`
/// while it is incomplete.
pub fn parse_response(buf: &[u8]) -> Result<Option<(Response<'_>, usize)>, HeadError> {
    let Some(Split {
        start,
        headers,
        len,
    }) = split(buf)?
    else {
        return Ok(None);
    };
    let (version, rest) = split_at_space(start).ok_or(HeadError::BadStartLine)?;
    let minor_version = version_of(version)?;
    let (code, reason) = match split_at_space(rest) {
        Some((code, reason)) => (code, reason),
        None => (rest, &b""[..]),
    };
    let status = status_of(code).ok_or(HeadError::BadStartLine)?;
    if reason.iter().any(|&b| is_ctl(b)) {
        return Err(HeadError::BadStartLine);
    }
    let response = Response {
        minor_version,
        status,
        reason,
        headers,
    };
    Ok(Some((response, len)))
}

/// A request head at the start of `buf` (empty lines before it skipped,
/// as RFC 9112 §2.2 asks of a server), and the bytes it took; `None`
/// while it is incomplete.
pub fn parse_request(buf: &[u8]) -> Result<Option<(Request<'_>, usize)>, HeadError> {
    let skipped = leading_empty_lines(buf);
    if skipped >= MAX_HEAD {
        return Err(HeadError::TooLarge);
    }
    let Some(Split {
        start,
        headers,
        len,
    }) = split(&buf[skipped..])?
    else {
        return Ok(None);
    };
    let (method, rest) = split_at_space(start).ok_or(HeadError::BadStartLine)?;
    let (target, version) = split_at_space(rest).ok_or(HeadError::BadStartLine)?;
    let minor_version = version_of(version)?;
    let visible = |s: &[u8]| !s.is_empty() && s.iter().all(|b| b.is_ascii_graphic());
    if !is_token(method) || !visible(target) {
        return Err(HeadError::BadStartLine);
    }
    // Both checked ASCII just above.
    let (Ok(method), Ok(target)) = (std::str::from_utf8(method), std::str::from_utf8(target))
    else {
        return Err(HeadError::BadStartLine);
    };
    let request = Request {
        method,
        target,
        minor_version,
        headers,
    };
    Ok(Some((request, skipped + len)))
}

impl<'a> Headers<'a> {
    /// How many header lines there are.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Every header line, in order.
    pub fn iter(&self) -> impl Iterator<Item = Header<'a>> + 'a {
        let mut rest = self.block;
        std::iter::from_fn(move || {
            let end = memchr(b'\n', rest)?;
            let line = trim_cr(&rest[..end]);
            rest = &rest[end + 1..];
            header_of(line).ok()
        })
    }

    /// The value of the first header named `name` (in any case).
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// The values of every header named `name` (in any case), in order.
    pub fn get_all<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + 'n
    where
        'a: 'n,
    {
        self.iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }
}

/// A head split into its start line and checked header lines.
struct Split<'a> {
    start: &'a [u8],
    headers: Headers<'a>,
    /// The bytes the head took, its empty line included.
    len: usize,
}

/// Splits a complete head off the front of `buf`; `Ok(None)` until one is.
fn split(buf: &[u8]) -> Result<Option<Split<'_>>, HeadError> {
    let window = &buf[..buf.len().min(MAX_HEAD)];
    let incomplete = || {
        if buf.len() >= MAX_HEAD {
            Err(HeadError::TooLarge)
        } else {
            Ok(None)
        }
    };
    let Some(first_end) = memchr(b'\n', window) else {
        return incomplete();
    };
    let start = trim_cr(&window[..first_end]);
    let block_start = first_end + 1;
    let mut at = block_start;
    let mut count = 0;
    loop {
        let Some(end) = memchr(b'\n', &window[at..]).map(|i| at + i) else {
            return incomplete();
        };
        let line = trim_cr(&window[at..end]);
        if line.is_empty() {
            let headers = Headers {
                block: &window[block_start..at],
                count,
            };
            return Ok(Some(Split {
                start,
                headers,
                len: end + 1,
            }));
        }
        if count == MAX_HEADERS {
            return Err(HeadError::TooManyHeaders);
        }
        header_of(line)?;
        count += 1;
        at = end + 1;
    }
}

/// A header line, checked: a token, a colon, a value without control bytes.
fn header_of(line: &[u8]) -> Result<Header<'_>, HeadError> {
    let colon = memchr(b':', line).ok_or(HeadError::BadHeader)?;
    let (name, value) = (&line[..colon], trim_ows(&line[colon + 1..]));
    // A name must be a token: no whitespace before the colon (RFC 9112
    // §5.1), and a line starting with whitespace (obs-fold) has none.
    if !is_token(name) || value.iter().any(|&b| is_ctl(b) && b != b'\t') {
        return Err(HeadError::BadHeader);
    }
    let name = std::str::from_utf8(name).map_err(|_| HeadError::BadHeader)?;
    Ok(Header { name, value })
}

/// The bytes of CRLFs (or bare LFs) at the start of `buf`.
fn leading_empty_lines(buf: &[u8]) -> usize {
    let mut at = 0;
    while at < buf.len().min(MAX_HEAD) {
        match buf[at..] {
            [b'\r', b'\n', ..] => at += 2,
            [b'\n', ..] => at += 1,
            _ => break,
        }
    }
    at
}

fn split_at_space(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let space = memchr(b' ', s)?;
    Some((&s[..space], &s[space + 1..]))
}

fn version_of(version: &[u8]) -> Result<u8, HeadError> {
    match version {
        b"HTTP/1.1" => Ok(1),
        b"HTTP/1.0" => Ok(0),
        _ => Err(HeadError::BadVersion),
    }
}

/// Three digits, 100 to 999.
fn status_of(code: &[u8]) -> Option<u16> {
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) || code[0] == b'0' {
        return None;
    }
    let digit = |i: usize| u16::from(code[i] - b'0');
    Some(digit(0) * 100 + digit(1) * 10 + digit(2))
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Without the optional whitespace (spaces, tabs) around it.
pub(super) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn is_ctl(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// A token (RFC 9110 §5.6.2): a method, a header name.
pub(super) fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_head_and_its_headers() {
        let raw = b"HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\n\
                    content-range:  bytes 0-4/10 \r\nX-A: 1\r\nx-a: 2\r\n\r\nhello";
        let (head, len) = parse_response(raw).unwrap().unwrap();
        assert_eq!(len, raw.len() - 5);
        assert_eq!((head.status, head.minor_version), (206, 1));
        assert_eq!(head.reason, b"Partial Content");
        assert_eq!(head.headers.len(), 4);
        assert_eq!(
            head.headers.get("CONTENT-RANGE"),
            Some(&b"bytes 0-4/10"[..])
        );
        let all: Vec<_> = head.headers.get_all("x-a").collect();
        assert_eq!(all, [&b"1"[..], b"2"]);
        assert_eq!(head.headers.get("missing"), None);
    }

    #[test]
    fn incomplete_heads_ask_for_more_at_every_split() {
        let raw = b"HTTP/1.1 200 OK\r\nETag: \"x\"\r\n\r\n";
        for cut in 0..raw.len() {
            assert_eq!(parse_response(&raw[..cut]), Ok(None), "cut at {cut}");
        }
        assert!(parse_response(raw).unwrap().is_some());
    }

    /// Table of status lines: bare LFs, empty reasons, and what is refused.
    #[test]
    fn status_lines() {
        let cases: &[(&[u8], Result<u16, HeadError>)] = &[
            (b"HTTP/1.1 204\n\n", Ok(204)),
            (b"HTTP/1.0 404 Not Found\n\n", Ok(404)),
            (b"HTTP/1.1 200 \r\n\r\n", Ok(200)),
            (b"HTTP/2 200 OK\r\n\r\n", Err(HeadError::BadVersion)),
            (b"HTTP/1.1 20 OK\r\n\r\n", Err(HeadError::BadStartLine)),
            (b"HTTP/1.1 099 OK\r\n\r\n", Err(HeadError::BadStartLine)),
            (b"HTTP/1.1 2x0 OK\r\n\r\n", Err(HeadError::BadStartLine)),
            (b"HTTP/1.1 200 O\x01K\r\n\r\n", Err(HeadError::BadStartLine)),
            (
                b"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
                Err(HeadError::BadHeader),
            ),
            (
                b"HTTP/1.1 200 OK\r\nA : b\r\n\r\n",
                Err(HeadError::BadHeader),
            ),
            (
                b"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
                Err(HeadError::BadHeader),
            ),
            (
                b"HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n",
                Err(HeadError::BadHeader),
            ),
            (b"HTTP/1.1 200 OK\r\nA:\tb\tc\t\r\n\r\n", Ok(200)),
        ];
        for (raw, want) in cases {
            let got = parse_response(raw).map(|r| r.unwrap().0.status);
            assert_eq!(&got, want, "{:?}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn request_heads() {
        let raw = b"\r\nGET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
        let (head, len) = parse_request(raw).unwrap().unwrap();
        assert_eq!(len, raw.len());
        assert_eq!((head.method, head.target), ("GET", "/metrics?x=1"));
        assert_eq!(head.headers.get("host"), Some(&b"a"[..]));
        for bad in [
            &b"GET  / HTTP/1.1\r\n\r\n"[..],
            b"GET / HTTP/1.1 extra\r\n\r\n",
            b"G(T / HTTP/1.1\r\n\r\n",
            b"GET /\x7f HTTP/1.1\r\n\r\n",
            b"GET /\r\n\r\n",
        ] {
            assert!(
                parse_request(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn heads_are_bounded() {
        let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("H{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(parse_response(&many), Err(HeadError::TooManyHeaders));
        let mut long = b"HTTP/1.1 200 OK\r\nBig: ".to_vec();
        long.resize(MAX_HEAD, b'a');
        assert_eq!(parse_response(&long), Err(HeadError::TooLarge));
        // Just under the bound it is still a partial head.
        assert_eq!(parse_response(&long[..MAX_HEAD - 1]), Ok(None));
        let blank = vec![b'\n'; MAX_HEAD + 10];
        assert_eq!(parse_request(&blank), Err(HeadError::TooLarge));
        assert_eq!(parse_request(&blank[..10]), Ok(None));
    }
}
