//! Splitting the control stream into command lines: bounded, TELNET-aware,
//! strict about CRLF, and independent of how the bytes were chunked.

/// Longest command line accepted, CRLF included; longer lines get `500`.
pub const MAX_LINE: usize = 4096;

/// How many unprocessed control bytes a session holds at most: one full line
/// plus room for pipelined commands behind it.
const INPUT_CAP: usize = 2 * MAX_LINE;

const IAC: u8 = 255;
const WILL: u8 = 251;
const DONT: u8 = 254;

/// What the next line of input is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A command line, CRLF and TELNET sequences removed.
    Command(Vec<u8>),
    /// Longer than [`MAX_LINE`]: answered `500`, the rest of it discarded.
    TooLong,
    /// Ended with a bare LF, or held a CR: answered `500`.
    NotCrlf,
    /// The tail of a too-long line: dropped without a reply.
    Discard,
}

/// A line found by [`LineReader::peek`], not yet consumed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Peeked {
    pub line: Line,
    consumed: usize,
    discard_after: bool,
}

/// Unprocessed control bytes, waiting to become lines.
#[derive(Debug, Default)]
pub(crate) struct LineReader {
    buf: Vec<u8>,
    /// In the middle of a too-long line: drop bytes up to the next LF.
    discarding: bool,
}

impl LineReader {
    /// How many more bytes fit.
    pub fn room(&self) -> usize {
        INPUT_CAP - self.buf.len()
    }

    /// Appends control bytes; what does not fit in [`room`](Self::room) is dropped.
    pub fn push(&mut self, data: &[u8]) {
        let take = data.len().min(self.room());
        self.buf.extend_from_slice(&data[..take]);
    }

    /// The next line, if one is complete (or already known to be too long).
    /// Does not change the reader; see [`consume`](Self::consume).
    pub fn peek(&self) -> Option<Peeked> {
        let lf = memchr::memchr(b'\n', &self.buf);
        let (line, consumed, discard_after) = match lf {
            Some(i) if self.discarding => (Line::Discard, i + 1, false),
            None if self.discarding && !self.buf.is_empty() => {
                (Line::Discard, self.buf.len(), true)
            }
            Some(i) if i + 1 > MAX_LINE => (Line::TooLong, i + 1, false),
            None if self.buf.len() >= MAX_LINE => (Line::TooLong, self.buf.len(), true),
            Some(i) => (command_line(&self.buf[..i]), i + 1, false),
            None => return None,
        };
        Some(Peeked {
            line,
            consumed,
            discard_after,
        })
    }

    /// Takes every byte not yet consumed: after `AUTH TLS` they belong to
    /// the TLS handshake, not to a command line.
    pub fn take_unread(&mut self) -> Vec<u8> {
        self.discarding = false;
        std::mem::take(&mut self.buf)
    }

    /// Removes a line returned by [`peek`](Self::peek).
    pub fn consume(&mut self, peeked: &Peeked) {
        self.buf.drain(..peeked.consumed);
        self.discarding = peeked.discard_after;
        if self.buf.is_empty() && self.buf.capacity() > 256 {
            // Idle sessions should not keep a large buffer alive.
            self.buf = Vec::new();
        }
    }
}

/// The bytes before an LF: TELNET commands removed, the final CR required.
fn command_line(raw: &[u8]) -> Line {
    let text = strip_telnet(raw);
    match text.split_last() {
        Some((b'\r', body)) if !body.contains(&b'\r') => Line::Command(body.to_vec()),
        _ => Line::NotCrlf,
    }
}

/// Removes TELNET commands (`IAC IP`, `IAC DM`, option negotiation) that
/// clients send around ABOR; `IAC IAC` stands for a literal 255.
fn strip_telnet(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != IAC {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        match raw.get(i + 1) {
            Some(&IAC) => {
                out.push(IAC);
                i += 2;
            }
            Some(&(WILL..=DONT)) => i += 3,
            _ => i += 2,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> Vec<Line> {
        let mut reader = LineReader::default();
        let mut out = Vec::new();
        for chunk in chunks {
            reader.push(chunk);
            while let Some(p) = reader.peek() {
                reader.consume(&p);
                out.push(p.line);
            }
        }
        out
    }

    fn cmd(s: &str) -> Line {
        Line::Command(s.as_bytes().to_vec())
    }

    #[test]
    fn crlf_bare_lf_and_cr() {
        assert_eq!(
            lines(&[b"NOOP\r\nUSER a\nPWD\r\nA\rB\r\n\r\n"]),
            vec![
                cmd("NOOP"),
                Line::NotCrlf,
                cmd("PWD"),
                Line::NotCrlf,
                cmd("")
            ]
        );
    }

    #[test]
    fn telnet_sequences_are_removed() {
        assert_eq!(
            lines(&[b"\xff\xf4\xff\xf2ABOR\r\n", b"\xff\xfb\x01NO\xff\xffOP\r\n"]),
            vec![cmd("ABOR"), Line::Command(b"NO\xffOP".to_vec())]
        );
    }

    #[test]
    fn too_long_lines_are_reported_once_and_discarded() {
        let long = vec![b'x'; 3 * MAX_LINE];
        let mut chunks: Vec<&[u8]> = long.chunks(1000).collect();
        chunks.push(b"tail\r\nNOOP\r\n");
        let replied: Vec<Line> = lines(&chunks)
            .into_iter()
            .filter(|l| *l != Line::Discard)
            .collect();
        assert_eq!(replied, vec![Line::TooLong, cmd("NOOP")]);
    }

    #[test]
    fn line_length_limit_counts_crlf() {
        let mut fits = vec![b'x'; MAX_LINE - 2];
        fits.extend_from_slice(b"\r\n");
        assert!(matches!(&lines(&[&fits])[..], [Line::Command(c)] if c.len() == MAX_LINE - 2));
        let mut over = vec![b'x'; MAX_LINE - 1];
        over.extend_from_slice(b"\r\n");
        assert_eq!(lines(&[&over]), vec![Line::TooLong]);
    }

    #[test]
    fn room_is_bounded() {
        let mut reader = LineReader::default();
        reader.push(&vec![b'a'; 3 * INPUT_CAP]);
        assert_eq!(reader.room(), 0);
    }
}
