//! The body of the `http_head` fuzz target (`fuzz/fuzz_targets/http_head.rs`),
//! here so that ordinary `cargo test` runs it too, over the seed corpus.
//!
//! Invariants: no panic; a head takes no more bytes than it was given and
//! no more than its bounds allow; its header lines iterate as counted, with
//! token names and values free of CR, LF and NUL; a head one byte short is
//! still incomplete; a request written back from what was parsed parses to
//! the same thing; a body decodes to the same bytes whole and a byte at a
//! time.

use super::body::{Decoder, Framing};
use super::head::{parse_request, parse_response, Headers, MAX_HEAD, MAX_HEADERS};
use super::write::request_head;

/// Arbitrary bytes as a response, then as a request, each with its body.
pub fn head(data: &[u8]) {
    if let Ok(Some((response, len))) = parse_response(data) {
        assert!(len <= data.len() && len <= MAX_HEAD);
        check_headers(&response.headers);
        assert_eq!(parse_response(&data[..len - 1]), Ok(None));
        if let Ok(framing) = Framing::of_response(response.status, &response.headers, false) {
            check_body(framing, &data[len..]);
        }
    }
    if let Ok(Some((request, len))) = parse_request(data) {
        assert!(len <= data.len() && len <= 2 * MAX_HEAD);
        check_headers(&request.headers);
        let fields: Vec<(&str, &str)> = request
            .headers
            .iter()
            .filter_map(|h| Some((h.name, std::str::from_utf8(h.value).ok()?)))
            .collect();
        let mut written = Vec::new();
        if request_head(&mut written, request.method, request.target, &fields).is_ok() {
            let (again, _) = parse_request(&written).unwrap().unwrap();
            assert_eq!(
                (again.method, again.target),
                (request.method, request.target)
            );
            assert!(again
                .headers
                .iter()
                .eq(fields.iter().map(|&(n, v)| super::head::Header {
                    name: n,
                    value: v.as_bytes(),
                })));
        }
        if let Ok(framing) = Framing::of_request(&request.headers) {
            check_body(framing, &data[len..]);
        }
    }
}

fn check_headers(headers: &Headers) {
    assert!(headers.len() <= MAX_HEADERS);
    assert_eq!(headers.iter().count(), headers.len());
    for header in headers.iter() {
        assert!(!header.name.is_empty());
        assert!(!header.value.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)));
    }
}

/// Whole and a byte at a time, the same body bytes, the same end.
fn check_body(framing: Framing, input: &[u8]) {
    let whole = decode(framing, input, input.len().max(1));
    let bytewise = decode(framing, input, 1);
    assert_eq!(whole, bytewise);
    let mut in_place = input.to_vec();
    let mut decoder = Decoder::new(framing);
    if let (Ok((taken, data)), Ok((out, used, _))) =
        (decoder.decode_in_place(&mut in_place), &whole)
    {
        assert_eq!((&in_place[..data], taken), (out.as_slice(), *used));
    }
}

fn decode(
    framing: Framing,
    input: &[u8],
    step: usize,
) -> Result<(Vec<u8>, usize, bool), super::body::BodyError> {
    let mut decoder = Decoder::new(framing);
    let (mut out, mut used) = (Vec::new(), 0);
    for piece in input.chunks(step) {
        let mut piece = piece;
        while !piece.is_empty() && !decoder.is_done() {
            let (n, data) = decoder.decode(piece)?;
            assert!(n <= piece.len() && data.len() <= n);
            out.extend_from_slice(data);
            piece = &piece[n..];
            used += n;
        }
        if decoder.is_done() {
            break;
        }
    }
    Ok((out, used, decoder.is_done()))
}

#[cfg(test)]
mod tests {
    /// Every seed of the corpus and every crash ever found, on stable Rust.
    #[test]
    fn replay_corpus_and_regressions() {
        let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let mut replayed = 0;
        for folder in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(fuzz.join(folder).join("http_head")) else {
                continue;
            };
            for entry in entries.flatten() {
                let data = std::fs::read(entry.path()).unwrap();
                let result = std::panic::catch_unwind(|| super::head(&data));
                assert!(result.is_ok(), "{} failed", entry.path().display());
                replayed += 1;
            }
        }
        assert!(replayed >= 5, "only {replayed} seeds for http_head");
    }
}
