//! The admin listener's bearer token (`--admin-token-file`): read once at
//! start, compared in constant time so the time an answer takes says
//! nothing about how much of a guess was right.

use std::path::Path;

use crate::small_file;

/// The shortest token taken: 16 bytes of a random base64 string are 96
/// bits, out of reach of guessing over a network.
const MIN_TOKEN: usize = 16;

/// A bearer token.
pub struct Secret(Vec<u8>);

impl Secret {
    /// The first line of `path`, without the blanks around it.
    pub fn load(path: &Path) -> Result<Secret, String> {
        let text = small_file::read_to_string(path)
            .map_err(|e| format!("--admin-token-file {}: {e}", path.display()))?;
        let token = text.lines().next().unwrap_or_default().trim();
        Secret::new(token.as_bytes())
            .ok_or_else(|| format!("--admin-token-file {}: the token (its first line) must be at least {MIN_TOKEN} visible ASCII characters, such as `openssl rand -base64 24` prints", path.display()))
    }

    /// A token of visible ASCII, at least [`MIN_TOKEN`] long.
    pub fn new(token: &[u8]) -> Option<Secret> {
        let visible = token.iter().all(u8::is_ascii_graphic);
        (visible && token.len() >= MIN_TOKEN).then(|| Secret(token.to_vec()))
    }

    /// Whether an `Authorization` header's value is `Bearer` and this token.
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let given = authorization
            .and_then(|value| strip_prefix_ignore_case(value, b"bearer "))
            .unwrap_or_default();
        same_bytes(&self.0, given)
    }

    /// The token, for `pocketftpd who` to send.
    pub fn as_str(&self) -> &str {
        // Checked visible ASCII when made.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

fn strip_prefix_ignore_case<'a>(value: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| value[prefix.len()..].trim_ascii_start())
}

/// Compares in a time that depends on `expected`'s length alone: every
/// byte is looked at whatever the first difference, and a `given` of
/// another length still costs the same loop.
fn same_bytes(expected: &[u8], given: &[u8]) -> bool {
    let mut differ = u8::from(expected.len() != given.len());
    for (i, e) in expected.iter().enumerate() {
        differ |= e ^ given.get(i).copied().unwrap_or(!e);
    }
    std::hint::black_box(differ) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_checked_whole() {
        let secret = Secret::new(b"0123456789abcdefXYZ").unwrap();
        assert!(secret.admits(Some(b"Bearer 0123456789abcdefXYZ")));
        assert!(secret.admits(Some(b"bearer  0123456789abcdefXYZ")));
        for wrong in [
            &b"Bearer 0123456789abcdefXY"[..],
            b"Bearer 0123456789abcdefXYZW",
            b"Bearer 0123456789abcdefXYz",
            b"Basic 0123456789abcdefXYZ",
            b"0123456789abcdefXYZ",
            b"Bearer ",
            b"",
        ] {
            assert!(!secret.admits(Some(wrong)), "{wrong:?}");
        }
        assert!(!secret.admits(None));
    }

    #[test]
    fn short_or_blank_tokens_are_refused() {
        assert!(Secret::new(b"short").is_none());
        assert!(Secret::new(b"0123456789 abcdef").is_none());
        assert!(Secret::new(&[0xff; 20]).is_none());
    }

    #[test]
    fn a_zero_byte_never_matches_a_missing_one() {
        assert!(!same_bytes(b"a\0", b"a"));
        assert!(!same_bytes(b"a", b"a\0"));
        assert!(same_bytes(b"", b""));
    }
}
