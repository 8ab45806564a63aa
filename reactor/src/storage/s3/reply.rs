//! What S3's answers mean here: a status (and the `<Code>` of an error's
//! body) as an `io::Error` of the kind the core replies with, an object's
//! metadata from a `HEAD`,
//! and the two pieces of XML a multipart upload needs.

use std::fmt;
use std::io;

use jiff::fmt::rfc2822;
use pocketftp_core::{FileKind, Metadata};

use super::listing::metadata;
use super::xml::{first, BadXml};
use crate::http::ResponseHead;
use crate::storage::error_kind::bad_offset;

/// A request S3 refused, as log lines and replies name it:
/// `PUT /photos/a.txt: 503 SlowDown`.
#[derive(Debug)]
pub struct Refused {
    pub request: String,
    pub status: u16,
    pub code: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} {}", self.request, self.status, self.code)
    }
}

impl std::error::Error for Refused {}

/// The error for `status` and its `body` (an `<Error>` document, or
/// nothing for a `HEAD`), for the request `request` describes.
pub fn refused(request: String, status: u16, body: &[u8]) -> io::Error {
    let code = first(body, "Code").ok().flatten().unwrap_or_default();
    if status == 416 || code == "InvalidRange" {
        return bad_offset();
    }
    let kind = match (status, code.as_str()) {
        (404, _) => io::ErrorKind::NotFound,
        (403, _) => io::ErrorKind::PermissionDenied,
        // If-None-Match: * met an object: the upload role's new-only rule.
        (412, _) | (409, "OperationAborted") => io::ErrorKind::AlreadyExists,
        (507, _) | (_, "EntityTooLarge") => io::ErrorKind::StorageFull,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(
        kind,
        Refused {
            request,
            status,
            code,
        },
    )
}

/// A `HEAD`'s answer as a file's metadata.
pub fn object_metadata(head: &ResponseHead) -> io::Result<Metadata> {
    let size = head
        .header("content-length")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| invalid("a HEAD without a Content-Length"))?;
    // An HTTP date (RFC 7231's IMF-fixdate is RFC 2822's form with GMT).
    let modified = head
        .header("last-modified")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| rfc2822::parse(v.trim()).ok())
        .map_or(0, |t| t.timestamp().as_second());
    Ok(metadata(FileKind::File, size, modified))
}

/// The upload id in CreateMultipartUpload's answer.
pub fn upload_id(xml: &[u8]) -> io::Result<String> {
    match first(xml, "UploadId") {
        Ok(Some(id)) if !id.is_empty() => Ok(id),
        Ok(_) => Err(invalid("no UploadId in CreateMultipartUpload's answer")),
        Err(BadXml(why)) => Err(invalid(&why)),
    }
}

/// CompleteMultipartUpload's body: every part's number and ETag, in order.
pub fn complete_body(etags: &[String]) -> String {
    let mut body = String::from("<CompleteMultipartUpload>");
    for (i, etag) in etags.iter().enumerate() {
        let etag = etag.replace('&', "&amp;").replace('<', "&lt;");
        body.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><ETag>{etag}</ETag></Part>",
            i + 1
        ));
    }
    body.push_str("</CompleteMultipartUpload>");
    body
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("S3: {why}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::http::client::{Exchange, Request};
    use crate::storage::error_kind::kind_of;
    use pocketftp_core::ErrorKind;

    #[test]
    fn statuses_become_the_kinds_the_core_replies_with() {
        let error = b"<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>";
        let cases: [(u16, &[u8], ErrorKind); 6] = [
            (404, error, ErrorKind::NotFound),
            (403, b"", ErrorKind::PermissionDenied),
            (412, b"", ErrorKind::AlreadyExists),
            (416, b"", ErrorKind::BadOffset),
            (
                503,
                b"<Error><Code>SlowDown</Code></Error>",
                ErrorKind::Other,
            ),
            (400, b"<Error><Code>X</Code></Error>", ErrorKind::Other),
        ];
        for (status, body, kind) in cases {
            assert_eq!(kind_of(&refused("GET /b/k".into(), status, body)), kind);
        }
        let named = refused(
            "PUT /b/k".into(),
            503,
            b"<Error><Code>SlowDown</Code></Error>",
        );
        assert_eq!(named.to_string(), "PUT /b/k: 503 SlowDown");
    }

    /// The head of `reply`, as the client keeps it, for a HEAD request.
    pub(crate) fn head_of(reply: &[u8]) -> ResponseHead {
        let request = Request {
            method: "HEAD",
            target: "/",
            host: "s3",
            headers: &[],
            body: b"",
        };
        let mut exchange = Exchange::new(&request, 0).unwrap();
        exchange.receive(reply).unwrap();
        exchange.into_response().unwrap().0
    }

    #[test]
    fn heads_give_size_and_time() {
        let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\
                      Last-Modified: Mon, 07 Dec 2026 17:36:31 GMT\r\n\r\n";
        let meta = object_metadata(&head_of(reply)).unwrap();
        assert_eq!((meta.size, meta.modified), (42, 1_796_664_991));
        assert!(object_metadata(&head_of(b"HTTP/1.1 200 OK\r\n\r\n")).is_err());
    }

    #[test]
    fn multipart_xml_both_ways() {
        let created = b"<InitiateMultipartUploadResult><Bucket>b</Bucket>\
                        <UploadId>id&amp;1</UploadId></InitiateMultipartUploadResult>";
        assert_eq!(upload_id(created).unwrap(), "id&1");
        assert!(upload_id(b"<X/>").is_err());
        let body = complete_body(&["\"a\"".into(), "\"b\"".into()]);
        assert_eq!(
            body,
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag></Part>\
             <Part><PartNumber>2</PartNumber><ETag>\"b\"</ETag></Part></CompleteMultipartUpload>"
        );
    }
}
