//! Message bodies: how long a body is (its framing, from the head), and
//! its bytes decoded incrementally, however the input is split.
//!
//! Framing follows RFC 9112 §6.3: a response to HEAD, a 1xx, 204 or 304
//! has none; `Transfer-Encoding: chunked` wins over `Content-Length`; a
//! `Content-Length` must be one number (repeated, it must agree); a
//! response with neither runs until the connection closes, a request with
//! neither has no body. Codings other than chunked are refused: we never
//! ask for them. Chunk-size lines and trailers are bounded
//! ([`MAX_CHUNK_LINE`], [`MAX_TRAILERS`]); chunk extensions and trailer
//! fields are read past, not kept.

use super::head::{trim_ows, Headers};

/// The longest chunk-size line, its extensions included.
pub const MAX_CHUNK_LINE: usize = 1024;

/// Bytes of trailer fields after the last chunk, at most.
pub const MAX_TRAILERS: usize = 8 * 1024;

/// How a body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the peer closes the connection (responses only).
    UntilClose,
}

/// Why a body cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// `Content-Length` is not a number, or its values disagree.
    BadLength,
    /// A transfer coding other than chunked.
    UnsupportedCoding,
    /// A malformed chunk-size line or chunk end.
    BadChunk,
    /// A chunk-size line or the trailers past their bound.
    TooLong,
    /// The connection ended before the body did.
    Truncated,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BodyError::BadLength => "malformed Content-Length",
            BodyError::UnsupportedCoding => "unsupported Transfer-Encoding",
            BodyError::BadChunk => "malformed chunked body",
            BodyError::TooLong => "chunk line or trailers too long",
            BodyError::Truncated => "body cut short",
        })
    }
}

impl std::error::Error for BodyError {}

impl Framing {
    /// A response's framing; `to_head` if it answers a HEAD request.
    pub fn of_response(
        status: u16,
        headers: &Headers,
        to_head: bool,
    ) -> Result<Framing, BodyError> {
        if to_head || status < 200 || status == 204 || status == 304 {
            return Ok(Framing::Empty);
        }
        Ok(framing(headers)?.unwrap_or(Framing::UntilClose))
    }

    /// A request's framing.
    pub fn of_request(headers: &Headers) -> Result<Framing, BodyError> {
        Ok(framing(headers)?.unwrap_or(Framing::Empty))
    }
}

/// What the headers say, if anything.
fn framing(headers: &Headers) -> Result<Option<Framing>, BodyError> {
    let mut codings = headers.get_all("transfer-encoding").peekable();
    if codings.peek().is_some() {
        let last = codings.last().and_then(|v| v.rsplit(|&b| b == b',').next());
        return match last.map(trim_ows) {
            Some(c) if c.eq_ignore_ascii_case(b"chunked") => Ok(Some(Framing::Chunked)),
            _ => Err(BodyError::UnsupportedCoding),
        };
    }
    let mut length = None;
    for value in headers.get_all("content-length") {
        for item in value.split(|&b| b == b',') {
            let n = decimal(trim_ows(item)).ok_or(BodyError::BadLength)?;
            if length.is_some_and(|l| l != n) {
                return Err(BodyError::BadLength);
            }
            length = Some(n);
        }
    }
    Ok(length.map(Framing::Length))
}

/// Digits only, checked for overflow.
pub(super) fn decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        let d = (b as char).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// Reads a body's bytes out of what arrives, in pieces of any size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoder {
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Length(u64),
    UntilClose,
    /// The chunk-size line: the size so far, the line's length, whether
    /// the size ended (extensions or whitespace follow), a CR seen.
    Size {
        size: u64,
        digits: usize,
        line: usize,
        ended: bool,
        cr: bool,
    },
    Data(u64),
    /// The CRLF after a chunk's data: whether its CR was seen.
    DataEnd {
        cr: bool,
    },
    /// Trailer fields: the current line's length and the total so far.
    Trailers {
        line: usize,
        total: usize,
    },
    Done,
}

const SIZE_LINE: State = State::Size {
    size: 0,
    digits: 0,
    line: 0,
    ended: false,
    cr: false,
};

impl Decoder {
    pub fn new(framing: Framing) -> Decoder {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => SIZE_LINE,
            Framing::UntilClose => State::UntilClose,
        };
        Decoder { state }
    }

    /// Every byte of the body has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Body bytes that may be read without looking at framing: those of a
    /// `Content-Length` body or of the current chunk (0 when framing bytes
    /// come next; `u64::MAX` until the close). A reader may read that many
    /// straight into its own buffer.
    pub fn data_ahead(&self) -> u64 {
        match self.state {
            State::Length(n) | State::Data(n) => n,
            State::UntilClose => u64::MAX,
            _ => 0,
        }
    }

    /// Takes bytes from the start of `input`: how many it took, and the
    /// body bytes among them (a slice of `input` ending where it stopped).
    /// It stops after one run of body bytes, or where the body ends (bytes
    /// after that are not the body's); call again with the rest.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, &'a [u8]), BodyError> {
        let mut at = 0;
        while at < input.len() {
            match &mut self.state {
                State::Done => break,
                State::UntilClose => return Ok((input.len(), input)),
                State::Length(left) | State::Data(left) => {
                    let n = usize::try_from(*left)
                        .map_or(input.len() - at, |l| l.min(input.len() - at));
                    *left -= n as u64;
                    if *left == 0 {
                        self.state = match self.state {
                            State::Data(_) => State::DataEnd { cr: false },
                            _ => State::Done,
                        };
                    }
                    return Ok((at + n, &input[at..at + n]));
                }
                _ => {
                    self.framing_byte(input[at])?;
                    at += 1;
                }
            }
        }
        Ok((at, &input[at..at]))
    }

    /// Decodes every byte of `buf` it can in place: the body bytes moved
    /// to its front. Returns how many bytes of `buf` it took and how many
    /// body bytes are now at its front; bytes after the body's end are
    /// left where they are, past those taken.
    pub fn decode_in_place(&mut self, buf: &mut [u8]) -> Result<(usize, usize), BodyError> {
        let (mut taken, mut data) = (0, 0);
        while taken < buf.len() && !self.is_done() {
            let (n, run) = self.decode(&buf[taken..])?;
            let (start, len) = (taken + n - run.len(), run.len());
            buf.copy_within(start..start + len, data);
            data += len;
            taken += n;
        }
        Ok((taken, data))
    }

    /// The peer closed the connection: fine only for a body that runs
    /// until then, or one already complete.
    pub fn finish(&mut self) -> Result<(), BodyError> {
        match self.state {
            State::UntilClose | State::Done => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(BodyError::Truncated),
        }
    }

    /// One byte of chunk framing.
    fn framing_byte(&mut self, b: u8) -> Result<(), BodyError> {
        self.state = match self.state {
            State::Size {
                size,
                digits,
                line,
                ended,
                cr,
            } => size_byte(b, size, digits, line, ended, cr)?,
            State::DataEnd { cr: false } if b == b'\r' => State::DataEnd { cr: true },
            State::DataEnd { .. } if b == b'\n' => SIZE_LINE,
            State::DataEnd { .. } => return Err(BodyError::BadChunk),
            State::Trailers { line, total } => match b {
                b'\n' if line == 0 => State::Done,
                b'\n' => State::Trailers { line: 0, total },
                b'\r' => State::Trailers { line, total },
                _ if total == MAX_TRAILERS => return Err(BodyError::TooLong),
                _ => State::Trailers {
                    line: line + 1,
                    total: total + 1,
                },
            },
            other => other,
        };
        Ok(())
    }
}

/// One byte of a chunk-size line: hex digits, then optional whitespace and
/// `;extensions`, then CRLF (or a bare LF).
fn size_byte(
    b: u8,
    size: u64,
    digits: usize,
    line: usize,
    ended: bool,
    cr: bool,
) -> Result<State, BodyError> {
    if line == MAX_CHUNK_LINE {
        return Err(BodyError::TooLong);
    }
    let line = line + 1;
    let next = |size, digits, ended, cr| State::Size {
        size,
        digits,
        line,
        ended,
        cr,
    };
    match b {
        b'\n' if digits > 0 => Ok(match size {
            0 => State::Trailers { line: 0, total: 0 },
            n => State::Data(n),
        }),
        _ if cr => Err(BodyError::BadChunk),
        b'\r' => Ok(next(size, digits, true, true)),
        _ if ended => match b {
            b'\t' | b' '..=b'~' | 0x80.. => Ok(next(size, digits, true, false)),
            _ => Err(BodyError::BadChunk),
        },
        b';' | b' ' | b'\t' if digits > 0 => Ok(next(size, digits, true, false)),
        _ => {
            let d = (b as char).to_digit(16).ok_or(BodyError::BadChunk)?;
            let size = size
                .checked_mul(16)
                .and_then(|s| s.checked_add(u64::from(d)))
                .ok_or(BodyError::BadChunk)?;
            Ok(next(size, digits + 1, false, false))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::parse_response;

    fn framing_of(raw: &[u8]) -> Result<Framing, BodyError> {
        let (head, _) = parse_response(raw).unwrap().unwrap();
        Framing::of_response(head.status, &head.headers, false)
    }

    #[test]
    fn framing_table() {
        let cases: &[(&[u8], Result<Framing, BodyError>)] = &[
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n",
                Ok(Framing::Length(12)),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\n",
                Ok(Framing::Length(3)),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
                Err(BodyError::BadLength),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                Err(BodyError::BadLength),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
                Err(BodyError::BadLength),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                Ok(Framing::Chunked),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n",
                Ok(Framing::Chunked),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                Err(BodyError::UnsupportedCoding),
            ),
            (b"HTTP/1.1 200 OK\r\n\r\n", Ok(Framing::UntilClose)),
            (
                b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n",
                Ok(Framing::Empty),
            ),
            (b"HTTP/1.1 100 Continue\r\n\r\n", Ok(Framing::Empty)),
        ];
        for (raw, want) in cases {
            assert_eq!(&framing_of(raw), want, "{:?}", String::from_utf8_lossy(raw));
        }
    }

    /// Decodes `body` fed `step` bytes at a time.
    fn decode_split(
        framing: Framing,
        body: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, usize), BodyError> {
        let mut decoder = Decoder::new(framing);
        let (mut out, mut at) = (Vec::new(), 0);
        while at < body.len() && !decoder.is_done() {
            let end = (at + step).min(body.len());
            let mut piece = &body[at..end];
            while !piece.is_empty() && !decoder.is_done() {
                let (n, data) = decoder.decode(piece)?;
                out.extend_from_slice(data);
                piece = &piece[n..];
                at += n;
            }
        }
        if !decoder.is_done() {
            decoder.finish()?;
        }
        Ok((out, at))
    }

    #[test]
    fn chunked_bodies_decode_however_split() {
        let body = b"5;name=\"v\"\r\nhello\r\n1A \r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
        for step in 1..body.len() {
            let (out, used) = decode_split(Framing::Chunked, body, step).unwrap();
            assert_eq!(out, b"helloabcdefghijklmnopqrstuvwxyz", "step {step}");
            assert_eq!(&body[used..], b"NEXT");
        }
        let bare_lf = b"3\nabc\n0\n\n";
        assert_eq!(
            decode_split(Framing::Chunked, bare_lf, 2).unwrap().0,
            b"abc"
        );
    }

    #[test]
    fn broken_chunked_bodies() {
        let cases: &[(&[u8], BodyError)] = &[
            (b"x\r\n", BodyError::BadChunk),
            (b"\r\n", BodyError::BadChunk),
            (b"3\r\nabcX\r\n", BodyError::BadChunk),
            (b"3\rx\n", BodyError::BadChunk),
            (b"11111111111111111\r\n", BodyError::BadChunk),
            (b"3\r\nab", BodyError::Truncated),
        ];
        for (body, want) in cases {
            let got = decode_split(Framing::Chunked, body, 1);
            assert_eq!(
                got.err(),
                Some(*want),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        let long_line = [b"1;".as_slice(), &[b'a'; MAX_CHUNK_LINE]].concat();
        assert_eq!(
            decode_split(Framing::Chunked, &long_line, 7).err(),
            Some(BodyError::TooLong)
        );
        let trailers = [b"0\r\n".as_slice(), &[b'a'; MAX_TRAILERS + 1]].concat();
        assert_eq!(
            decode_split(Framing::Chunked, &trailers, 100).err(),
            Some(BodyError::TooLong)
        );
    }

    #[test]
    fn length_and_close_framing() {
        let (out, used) = decode_split(Framing::Length(5), b"helloEXTRA", 3).unwrap();
        assert_eq!((out.as_slice(), used), (&b"hello"[..], 5));
        assert_eq!(
            decode_split(Framing::Length(5), b"hel", 3).err(),
            Some(BodyError::Truncated)
        );
        let (out, _) = decode_split(Framing::UntilClose, b"all of it", 4).unwrap();
        assert_eq!(out, b"all of it");
        assert!(Decoder::new(Framing::Empty).is_done());
    }

    #[test]
    fn in_place_decoding_moves_data_to_the_front() {
        let mut decoder = Decoder::new(Framing::Chunked);
        let mut buf = b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nrest".to_vec();
        let (taken, data) = decoder.decode_in_place(&mut buf).unwrap();
        assert_eq!((&buf[..data], &buf[taken..]), (&b"abcde"[..], &b"rest"[..]));
        assert!(decoder.is_done());
        let mut decoder = Decoder::new(Framing::Chunked);
        assert_eq!(decoder.data_ahead(), 0);
        decoder.decode(b"10\r\n").unwrap();
        assert_eq!(decoder.data_ahead(), 16);
    }
}
