//! RETR from a bucket, sans-IO: the object as a series of ranged GETs of
//! [`CHUNK`] bytes, each read whole into a bounded buffer and handed out
//! to the transfer, the next asked for as soon as the last has arrived:
//! one GET is under way while a chunk is handed out, so the store's time
//! to answer hides behind the client's (one at a time, SeaweedFS's answer
//! time left a single RETR at ~170 MB/s against rclone's ~300 here). The
//! size `150` announces is the HEAD's; an object that shrinks meanwhile
//! fails the transfer (`451`) rather than end it short as if complete.
//!
//! A chunk per request keeps every read bounded (the HTTP client reads a
//! response whole; a 512 MiB GET would have to be paused mid-body), and
//! each chunk is a point a failed request can be asked again from.

use std::io;

use pocketftp_core::VirtualPath;

use super::reply::refused;
use super::request::Store;
use super::signed::S3Request;
use crate::http::ResponseHead;
use crate::storage::error_kind::{bad_offset, file_shrank};

/// Bytes per GET. A download holds two at most (one handed out, the next
/// arrived): 32 downloads hold 64 MiB.
pub const CHUNK: usize = 1 << 20;

/// What a read of a download gives.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    Bytes(usize),
    /// Nothing until the next chunk arrives.
    Waiting,
    /// Every byte was handed out.
    Done,
}

/// An object being downloaded.
#[derive(Debug)]
pub struct Download {
    path: VirtualPath,
    /// The next byte to ask for.
    next: u64,
    /// The object's size, as `150` announced it.
    end: u64,
    chunk: Vec<u8>,
    /// Bytes of `chunk` handed out.
    at: usize,
    /// The chunk after `chunk`, arrived while it was handed out (empty
    /// when none has).
    ahead: Vec<u8>,
    /// A GET is on its way: the request, as errors name it.
    asked: Option<String>,
    /// A GET failed: the transfer fails at its next read.
    failed: Option<io::Error>,
}

impl Download {
    /// `path` from `offset` (REST's) to `size`; past it is [`bad_offset`].
    pub fn new(path: VirtualPath, offset: u64, size: u64) -> io::Result<Download> {
        if offset > size {
            return Err(bad_offset());
        }
        Ok(Download {
            path,
            next: offset,
            end: size,
            chunk: Vec::new(),
            at: 0,
            ahead: Vec::new(),
            asked: None,
            failed: None,
        })
    }

    pub fn size(&self) -> u64 {
        self.end
    }

    /// The next chunk's GET, if one is due: none on its way, none arrived
    /// ahead, bytes left to ask for.
    pub fn next_request(&mut self, store: &Store) -> Option<io::Result<S3Request>> {
        let due = self.asked.is_none() && self.ahead.is_empty() && self.next < self.end;
        if !due || self.failed.is_some() {
            return None;
        }
        let last = self.next.saturating_add(CHUNK as u64).min(self.end) - 1;
        let request = store.get_range(&self.path, self.next, last);
        if let Ok(request) = &request {
            self.asked = Some(request.describe());
        }
        Some(request)
    }

    /// The answer to the GET on its way.
    pub fn arrived(&mut self, head: &ResponseHead, body: Vec<u8>) {
        let asked = self.asked.take().unwrap_or_default();
        let wanted = (self.end - self.next).min(CHUNK as u64);
        if !matches!(head.status, 200 | 206) {
            self.failed = Some(refused(asked, head.status, &body));
        } else if body.len() as u64 != wanted {
            // Shorter than asked (the object shrank) or longer (a store
            // that ignored the Range): not the bytes announced.
            self.failed = Some(file_shrank());
        } else {
            self.next += wanted;
            if self.at == self.chunk.len() {
                self.chunk = body;
                self.at = 0;
            } else {
                self.ahead = body;
            }
        }
    }

    /// The GET on its way failed before its answer.
    pub fn broke(&mut self, why: io::Error) {
        self.asked = None;
        self.failed = Some(why);
    }

    /// Why the download failed, if it did (for the log line).
    pub fn failure(&self) -> Option<&io::Error> {
        self.failed.as_ref()
    }

    /// Copies the next bytes into `buf`.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<Read> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let left = &self.chunk[self.at..];
        if left.is_empty() {
            return Ok(if self.next >= self.end {
                Read::Done
            } else {
                Read::Waiting
            });
        }
        let n = left.len().min(buf.len());
        buf[..n].copy_from_slice(&left[..n]);
        self.at += n;
        if self.at == self.chunk.len() {
            // The chunk's memory goes now; the one ahead, if any, is next.
            self.chunk = std::mem::take(&mut self.ahead);
            self.at = 0;
        }
        Ok(Read::Bytes(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::error_kind::kind_of;
    use crate::storage::s3::reply::tests::head_of;
    use crate::storage::s3::request::tests::store;
    use crate::storage::testing::vp;
    use pocketftp_core::ErrorKind;

    #[test]
    fn chunks_are_asked_one_ahead_and_handed_out_in_order() {
        let store = store("");
        let size = 2 * CHUNK as u64 + 3;
        let partial = || head_of(b"HTTP/1.1 206 Partial\r\n\r\n");
        let mut download = Download::new(vp("/f"), 0, size).unwrap();
        let first = download.next_request(&store).unwrap().unwrap();
        assert!(first
            .headers
            .contains(&("Range", format!("bytes=0-{}", CHUNK - 1))));
        assert!(download.next_request(&store).is_none(), "one on its way");
        let mut buf = [0u8; 10];
        assert_eq!(download.read(&mut buf).unwrap(), Read::Waiting);
        download.arrived(&partial(), vec![1; CHUNK]);
        assert_eq!(download.read(&mut buf).unwrap(), Read::Bytes(10));
        assert_eq!(buf, [1; 10]);
        // The next GET goes while the first chunk is handed out.
        let second = download.next_request(&store).unwrap().unwrap();
        let range = format!("bytes={CHUNK}-{}", 2 * CHUNK - 1);
        assert!(second.headers.contains(&("Range", range)));
        download.arrived(&partial(), vec![2; CHUNK]);
        assert!(
            download.next_request(&store).is_none(),
            "two chunks held: none is asked for"
        );
        let mut rest = vec![0u8; CHUNK];
        assert_eq!(download.read(&mut rest).unwrap(), Read::Bytes(CHUNK - 10));
        assert!(rest[..CHUNK - 10].iter().all(|&b| b == 1));
        let third = download.next_request(&store).unwrap().unwrap();
        let range = format!("bytes={}-{}", 2 * CHUNK, 2 * CHUNK + 2);
        assert!(third.headers.contains(&("Range", range)));
        assert_eq!(download.read(&mut rest).unwrap(), Read::Bytes(CHUNK));
        assert!(rest.iter().all(|&b| b == 2));
        assert_eq!(download.read(&mut buf).unwrap(), Read::Waiting);
        download.arrived(&partial(), vec![3; 3]);
        assert_eq!(download.read(&mut buf).unwrap(), Read::Bytes(3));
        assert_eq!(download.read(&mut buf).unwrap(), Read::Done);
    }

    #[test]
    fn short_chunks_and_refusals_fail_the_transfer() {
        let store = store("");
        let mut download = Download::new(vp("/f"), 5, 10).unwrap();
        download.next_request(&store).unwrap().unwrap();
        download.arrived(&head_of(b"HTTP/1.1 206 Partial\r\n\r\n"), vec![0; 4]);
        assert_eq!(
            kind_of(&download.read(&mut [0; 8]).unwrap_err()),
            ErrorKind::Other
        );
        let mut refused = Download::new(vp("/f"), 0, 10).unwrap();
        refused.next_request(&store).unwrap().unwrap();
        refused.arrived(&head_of(b"HTTP/1.1 403 Forbidden\r\n\r\n"), Vec::new());
        let error = refused.read(&mut [0; 8]).unwrap_err();
        assert_eq!(kind_of(&error), ErrorKind::PermissionDenied);
        assert!(Download::new(vp("/f"), 11, 10).is_err());
        let mut empty = Download::new(vp("/f"), 0, 0).unwrap();
        assert!(empty.next_request(&store).is_none());
        assert_eq!(empty.read(&mut [0; 8]).unwrap(), Read::Done);
    }
}
