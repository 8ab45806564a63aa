//! RETR from a bucket, sans-IO: the rest of the object as one GET
//! (`Range: bytes=N-LAST`, LAST the last byte the `150` announced), its
//! body read on while the download has room and handed out to the
//! transfer from a buffer of [`HELD`] bytes: the store's answer streams at
//! the pace of the slower side, and its memory stays one buffer whatever
//! the object's size. The size `150` announces is the HEAD's; an object
//! that shrinks meanwhile fails the transfer (`451`) rather than end it
//! short as if complete.
//!
//! One GET rather than a range per chunk: `weed mini` spent 2.3-2.5 CPU
//! seconds on CPU 0 answering 512 MiB as 1 MiB ranges, 0.6-0.7 s as one
//! GET (curl on CPU 1, /tmp/s3retr/curlw.sh), and a pinned RETR of 512 MiB
//! was 134-166 MB/s, CPU 0 busy all along, against rclone's 229-286.
//!
//! A GET cut mid-body (or silent for the request timeout) is asked again
//! from the first byte that did not arrive ([`Download::cut`]): the bytes
//! held were counted as they arrived, so nothing is fetched twice nor
//! skipped (`retry.rs` says when).

use std::io;

use pocketftp_core::VirtualPath;

use super::reply::refused;
use super::request::Store;
use super::signed::S3Request;
use crate::http::client::is_success;
use crate::http::ResponseHead;
use crate::storage::error_kind::{bad_offset, file_shrank};

/// Bytes a download holds at most: arrived from the store and not yet
/// handed out to the transfer.
pub const HELD: usize = 1 << 20;

/// Bytes of the GET's body read from its socket at a time (the HTTP
/// exchange's buffer, drained into the download's at once): the GET is
/// read on only while the download has room for a piece. A download holds
/// `HELD + PIECE` at most: 32 downloads hold 40 MiB.
pub const PIECE: usize = 256 << 10;

/// What a read of a download gives.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    Bytes(usize),
    /// Nothing until more of the object arrives.
    Waiting,
    /// Every byte was handed out.
    Done,
}

/// An object being downloaded.
#[derive(Debug)]
pub struct Download {
    path: VirtualPath,
    /// The next byte to arrive: where a GET asked again starts.
    next: u64,
    /// The object's size, as `150` announced it.
    end: u64,
    /// Bytes arrived and not yet handed out: `held[at..]`, [`HELD`] at most.
    held: Vec<u8>,
    at: usize,
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
            held: Vec::new(),
            at: 0,
            asked: None,
            failed: None,
        })
    }

    pub fn size(&self) -> u64 {
        self.end
    }

    /// The GET of the rest of the object, if one is due: none on its way,
    /// bytes left to ask for, no failure.
    pub fn next_request(&mut self, store: &Store) -> Option<io::Result<S3Request>> {
        if self.asked.is_some() || self.next >= self.end || self.failed.is_some() {
            return None;
        }
        let request = store.get_range(&self.path, self.next, self.end - 1);
        if let Ok(request) = &request {
            self.asked = Some(request.describe());
        }
        Some(request)
    }

    /// Bytes it may take now.
    pub fn room(&self) -> usize {
        HELD - (self.held.len() - self.at)
    }

    /// Body bytes of the GET's successful answer `head`, as they come (as
    /// many as [`room`](Self::room) at most).
    pub fn arrived(&mut self, head: &ResponseHead, bytes: &[u8]) {
        if self.failed.is_some() || bytes.is_empty() {
            return;
        }
        // A 200 is the whole object: the bytes asked for only from the
        // first (a store that ignored the Range otherwise).
        let whole = head.status == 200 && self.next == 0;
        let left = self.end - self.next;
        if !(head.status == 206 || whole) || bytes.len() as u64 > left {
            self.failed = Some(file_shrank());
            return;
        }
        if self.at == self.held.len() {
            self.held.clear();
            self.at = 0;
        } else if self.held.len() + bytes.len() > self.held.capacity() {
            // Room at the front, where bytes were handed out.
            self.held.drain(..self.at);
            self.at = 0;
        }
        if self.held.capacity() == 0 {
            self.held.reserve_exact(HELD);
        }
        self.held.extend_from_slice(bytes);
        self.next += bytes.len() as u64;
    }

    /// The GET's answer is whole: `body`, its bytes not yet taken by
    /// [`arrived`](Self::arrived). Short of the size announced, the object
    /// shrank; a refusal fails the transfer with the store's reason.
    pub fn ended(&mut self, head: &ResponseHead, body: &[u8]) {
        let asked = self.asked.take().unwrap_or_default();
        if !is_success(head.status) {
            self.failed = Some(refused(asked, head.status, body));
            return;
        }
        self.arrived(head, body);
        if self.next < self.end && self.failed.is_none() {
            self.failed = Some(file_shrank());
        }
    }

    /// The GET on its way broke and is asked again, from the first byte
    /// that did not arrive ([`next_request`](Self::next_request)).
    pub fn cut(&mut self) {
        self.asked = None;
    }

    /// The GET on its way failed for good.
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
        let left = &self.held[self.at..];
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
        if self.next >= self.end && self.at == self.held.len() {
            // The last bytes went: the buffer's memory goes now.
            self.held = Vec::new();
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

    fn partial() -> ResponseHead {
        head_of(b"HTTP/1.1 206 Partial\r\n\r\n")
    }

    fn range_of(request: &S3Request) -> String {
        let (_, range) = (request.headers.iter())
            .find(|(name, _)| *name == "Range")
            .unwrap();
        range.clone()
    }

    #[test]
    fn the_rest_is_one_get_read_through_a_bounded_buffer() {
        let store = store("");
        let size = 2 * HELD as u64 + 3;
        let mut download = Download::new(vp("/f"), 0, size).unwrap();
        let get = download.next_request(&store).unwrap().unwrap();
        assert_eq!(range_of(&get), format!("bytes=0-{}", size - 1));
        assert!(download.next_request(&store).is_none(), "one on its way");
        let mut buf = vec![0u8; HELD];
        assert_eq!(download.read(&mut buf).unwrap(), Read::Waiting);
        download.arrived(&partial(), &vec![1; HELD]);
        assert_eq!(download.room(), 0);
        assert_eq!(download.read(&mut buf[..10]).unwrap(), Read::Bytes(10));
        assert_eq!(download.room(), 10);
        // Room made at the front is used: the buffer does not grow.
        download.arrived(&partial(), &[2; 10]);
        assert_eq!(download.held.capacity(), HELD);
        assert_eq!(download.read(&mut buf).unwrap(), Read::Bytes(HELD));
        assert!(buf[..HELD - 10].iter().all(|&b| b == 1));
        assert!(buf[HELD - 10..].iter().all(|&b| b == 2));
        assert_eq!(download.read(&mut buf).unwrap(), Read::Waiting);
        download.arrived(&partial(), &vec![3; HELD - 10]);
        download.ended(&partial(), &[4; 3]);
        assert!(download.next_request(&store).is_none(), "all arrived");
        assert_eq!(download.read(&mut buf).unwrap(), Read::Bytes(HELD - 7));
        assert_eq!(&buf[HELD - 10..HELD - 7], [4; 3]);
        assert_eq!(download.read(&mut buf).unwrap(), Read::Done);
        assert_eq!(download.held.capacity(), 0, "its memory went");
    }

    #[test]
    fn a_cut_get_is_asked_again_from_the_first_byte_that_did_not_arrive() {
        let store = store("");
        let mut download = Download::new(vp("/f"), 100, 1000).unwrap();
        let get = download.next_request(&store).unwrap().unwrap();
        assert_eq!(range_of(&get), "bytes=100-999");
        download.arrived(&partial(), &[1; 300]);
        download.cut();
        let again = download.next_request(&store).unwrap().unwrap();
        assert_eq!(range_of(&again), "bytes=400-999");
        download.ended(&partial(), &[2; 600]);
        let mut buf = [0u8; 1000];
        assert_eq!(download.read(&mut buf).unwrap(), Read::Bytes(900));
        assert_eq!(download.read(&mut buf).unwrap(), Read::Done);
    }

    #[test]
    fn short_answers_ignored_ranges_and_refusals_fail_the_transfer() {
        let store = store("");
        let mut short = Download::new(vp("/f"), 5, 10).unwrap();
        short.next_request(&store).unwrap().unwrap();
        short.ended(&partial(), &[0; 4]);
        assert_eq!(
            kind_of(&short.read(&mut [0; 8]).unwrap_err()),
            ErrorKind::Other
        );
        let mut whole = Download::new(vp("/f"), 5, 10).unwrap();
        whole.next_request(&store).unwrap().unwrap();
        whole.arrived(&head_of(b"HTTP/1.1 200 OK\r\n\r\n"), &[0; 5]);
        assert!(
            whole.read(&mut [0; 8]).is_err(),
            "a 200 from the object's start"
        );
        let mut refused = Download::new(vp("/f"), 0, 10).unwrap();
        refused.next_request(&store).unwrap().unwrap();
        refused.ended(&head_of(b"HTTP/1.1 403 Forbidden\r\n\r\n"), &[]);
        let error = refused.read(&mut [0; 8]).unwrap_err();
        assert_eq!(kind_of(&error), ErrorKind::PermissionDenied);
        assert!(Download::new(vp("/f"), 11, 10).is_err());
        let mut empty = Download::new(vp("/f"), 0, 0).unwrap();
        assert!(empty.next_request(&store).is_none());
        assert_eq!(empty.read(&mut [0; 8]).unwrap(), Read::Done);
    }
}
