//! Writing heads: a request line or a status line, header lines, the empty
//! line. What goes out is checked as what comes in is: a method or a
//! header name must be a token, and no value may hold a CR, an LF or a NUL
//! (a key or a user's text reaching a header must not split it).

use super::head::is_token;

/// A head that cannot be written as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadField;

impl std::fmt::Display for BadField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an HTTP field that cannot be written (not a token, or a CR, LF or NUL)")
    }
}

impl std::error::Error for BadField {}

/// Appends `METHOD target HTTP/1.1`, the headers and the empty line.
pub fn request_head(
    out: &mut Vec<u8>,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Result<(), BadField> {
    let visible = !target.is_empty() && target.bytes().all(|b| b.is_ascii_graphic());
    if !is_token(method.as_bytes()) || !visible {
        return Err(BadField);
    }
    let start = out.len();
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    fields(out, headers).inspect_err(|_| out.truncate(start))
}

/// Appends `HTTP/1.1 status reason`, the headers and the empty line.
pub fn response_head(
    out: &mut Vec<u8>,
    status: u16,
    reason: &str,
    headers: &[(&str, &str)],
) -> Result<(), BadField> {
    if !(100..=999).contains(&status) || !is_value(reason) {
        return Err(BadField);
    }
    let start = out.len();
    out.extend_from_slice(format!("HTTP/1.1 {status} {reason}\r\n").as_bytes());
    fields(out, headers).inspect_err(|_| out.truncate(start))
}

fn fields(out: &mut Vec<u8>, headers: &[(&str, &str)]) -> Result<(), BadField> {
    for (name, value) in headers {
        if !is_token(name.as_bytes()) || !is_value(value) {
            return Err(BadField);
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

fn is_value(value: &str) -> bool {
    !value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::{parse_request, parse_response};

    #[test]
    fn written_heads_parse_back() {
        let mut out = Vec::new();
        request_head(
            &mut out,
            "PUT",
            "/b/k%20ey?uploads",
            &[("Host", "h:9000"), ("Content-Length", "0")],
        )
        .unwrap();
        let (head, len) = parse_request(&out).unwrap().unwrap();
        assert_eq!(
            (head.method, head.target, len),
            ("PUT", "/b/k%20ey?uploads", out.len())
        );
        assert_eq!(head.headers.get("host"), Some(&b"h:9000"[..]));
        let mut out = Vec::new();
        response_head(&mut out, 503, "Slow Down", &[("Retry-After", "1")]).unwrap();
        let (head, _) = parse_response(&out).unwrap().unwrap();
        assert_eq!((head.status, head.reason), (503, &b"Slow Down"[..]));
    }

    #[test]
    fn fields_that_would_split_a_head_are_refused() {
        let mut out = b"kept".to_vec();
        assert_eq!(request_head(&mut out, "GET", "/a b", &[]), Err(BadField));
        assert_eq!(request_head(&mut out, "G T", "/", &[]), Err(BadField));
        assert_eq!(
            request_head(&mut out, "GET", "/", &[("X", "a\r\nEvil: 1")]),
            Err(BadField)
        );
        assert_eq!(
            request_head(&mut out, "GET", "/", &[("X:", "a")]),
            Err(BadField)
        );
        assert_eq!(response_head(&mut out, 200, "O\nK", &[]), Err(BadField));
        assert_eq!(out, b"kept", "nothing half-written is left behind");
    }
}
