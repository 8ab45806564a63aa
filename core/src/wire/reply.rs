//! Reply formatting: `NNN text` lines, multi-line `NNN-` replies, and the
//! quoting of path names in `257` replies.

/// The whole answer to a connection beyond `--max-clients`: the caller
/// sends it instead of starting a session.
pub const TOO_MANY_CONNECTIONS: &[u8] =
    b"421 Too many connections to this server; try again later.\r\n";

/// The whole answer to a connection beyond `--max-per-ip`: the client's
/// own address holds every session it may (a client that leaks
/// connections learns it is the one to blame, not the server).
pub const TOO_MANY_FROM_ADDRESS: &[u8] =
    b"421 Too many connections from your address; close some and try again.\r\n";

/// Appends a single-line reply. CR and LF in `text` (which can come from
/// client-chosen path names) are replaced, so a reply is always one line.
pub(crate) fn push(out: &mut Vec<u8>, code: u16, text: &str) {
    push_line(out, code, b' ', text);
}

/// Appends a multi-line reply: `NNN-first`, each of `lines` indented by one
/// space (so none can be mistaken for a reply code), then `NNN last`.
pub(crate) fn push_multi<'a>(
    out: &mut Vec<u8>,
    code: u16,
    first: &str,
    lines: impl IntoIterator<Item = &'a str>,
    last: &str,
) {
    push_line(out, code, b'-', first);
    for line in lines {
        out.push(b' ');
        push_text(out, line);
        out.extend_from_slice(b"\r\n");
    }
    push(out, code, last);
}

/// `"path"` with every `"` doubled (RFC 959, appendix II), as `257` needs.
pub(crate) fn quote_path(path: &str) -> String {
    format!("\"{}\"", path.replace('"', "\"\""))
}

fn push_line(out: &mut Vec<u8>, code: u16, separator: u8, text: &str) {
    debug_assert!((100..600).contains(&code));
    out.extend_from_slice(code.to_string().as_bytes());
    out.push(separator);
    push_text(out, text);
    out.extend_from_slice(b"\r\n");
}

fn push_text(out: &mut Vec<u8>, text: &str) {
    out.extend(
        text.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
}

/// The whole answer to a connection from a banned address (too many
/// failed logins): the caller sends it instead of starting a session.
pub const BANNED: &[u8] = b"421 Too many failed logins from your address; try again later.\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_multi_and_quoting() {
        let mut out = Vec::new();
        push(&mut out, 200, "ok\r\n500 injected");
        push_multi(&mut out, 211, "Features:", ["EPSV", "UTF8"], "End");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "200 ok  500 injected\r\n211-Features:\r\n EPSV\r\n UTF8\r\n211 End\r\n"
        );
        assert_eq!(quote_path("/a \"b\""), "\"/a \"\"b\"\"\"");
    }
}
