//! TYPE A: the network form of text is CRLF-terminated lines, the file form
//! LF-terminated. Pure converters the reactor runs over transfer buffers.

/// File to network: every LF becomes CRLF.
pub fn lf_to_crlf(input: &[u8], out: &mut Vec<u8>) {
    let mut rest = input;
    while let Some(i) = memchr::memchr(b'\n', rest) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

/// How many bytes `bytes` take in network form: one more for every LF
/// (what a `TYPE A` download sends, which `SIZE` in `TYPE A` answers).
pub fn network_size(bytes: &[u8]) -> u64 {
    let lines = memchr::memchr_iter(b'\n', bytes).count();
    (bytes.len() as u64).saturating_add(lines as u64)
}

/// Network to file: CRLF becomes LF; a lone CR is kept. Remembers a CR at the
/// end of one chunk, so the result does not depend on how input is split.
#[derive(Clone, Copy, Debug, Default)]
pub struct CrlfToLf {
    pending_cr: bool,
}

impl CrlfToLf {
    /// Converts one chunk of network bytes.
    pub fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            if self.pending_cr {
                self.pending_cr = false;
                if b != b'\n' {
                    out.push(b'\r');
                }
            }
            if b == b'\r' {
                self.pending_cr = true;
            } else {
                out.push(b);
            }
        }
    }

    /// Flushes a CR held back at the very end of the stream.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if std::mem::take(&mut self.pending_cr) {
            out.push(b'\r');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_network() {
        let mut out = Vec::new();
        lf_to_crlf(b"a\nb\n\nc", &mut out);
        assert_eq!(out, b"a\r\nb\r\n\r\nc");
    }

    #[test]
    fn network_size_counts_what_lf_to_crlf_makes() {
        for text in [&b""[..], b"a", b"\n", b"a\nb\n\nc", b"\r\n"] {
            let mut out = Vec::new();
            lf_to_crlf(text, &mut out);
            assert_eq!(network_size(text), out.len() as u64, "{text:?}");
        }
    }

    #[test]
    fn from_network_any_split() {
        let input = b"a\r\nb\rc\r\n\r\r\nend\r";
        for split in 0..=input.len() {
            let mut conv = CrlfToLf::default();
            let mut out = Vec::new();
            conv.convert(&input[..split], &mut out);
            conv.convert(&input[split..], &mut out);
            conv.finish(&mut out);
            assert_eq!(out, b"a\nb\rc\n\r\nend\r", "split at {split}");
        }
    }
}
