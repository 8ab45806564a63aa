//! STOR to a bucket, sans-IO: the client's bytes cut into parts
//! ([`Parts`]), and the requests that store them, one at a time: a single
//! PUT for a file that ends within a part, else CreateMultipartUpload,
//! each part, and CompleteMultipartUpload once the client's bytes ended
//! and the session commits. The object appears only then (atomic, as a
//! disk's hidden temp file); the upload role's new-only rule is
//! `If-None-Match: *` on the request that makes it appear.

use std::io;

use pocketftp_core::VirtualPath;

use super::reply::{complete_body, refused, upload_id};
use super::request::Store;
use super::signed::S3Request;
use super::upload::{Finish, Parts, Step, PART_SIZE};
use super::xml::first;
use crate::http::ResponseHead;

/// What the request on its way is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    Create,
    Part,
    /// The request that makes the object appear (PUT or Complete).
    Last,
}

/// An upload to the bucket.
#[derive(Debug)]
pub struct Upload {
    /// Where a broken upload's abort goes when the upload is dropped.
    store: Store,
    path: VirtualPath,
    new_only: bool,
    parts: Parts,
    id: Option<String>,
    /// Parts handed out and not yet sent, numbered from 1: two at most
    /// (one waiting for the upload's id, and the last), with the one
    /// filling never more than two in memory.
    ready: Vec<(u16, Vec<u8>)>,
    /// The client's bytes ended: what is left to send.
    single: Option<Vec<u8>>,
    finishing: bool,
    asked: Option<(String, Asked)>,
    failed: Option<io::Error>,
    done: bool,
}

impl Upload {
    pub fn new(store: &Store, path: VirtualPath, new_only: bool) -> Upload {
        Upload {
            store: store.clone(),
            path,
            new_only,
            parts: Parts::default(),
            id: None,
            ready: Vec::new(),
            single: None,
            finishing: false,
            asked: None,
            failed: None,
            done: false,
        }
    }

    /// Bytes [`write`](Self::write) takes now: 0 while two parts are held.
    pub fn room(&self) -> usize {
        match self.parts.room() {
            0 if self.parts.can_hand_out() => PART_SIZE,
            room => room,
        }
    }

    /// Takes the client's bytes (no more than [`room`](Self::room) said).
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut taken = 0;
        loop {
            taken += self.parts.take(&bytes[taken..]);
            if taken == bytes.len() {
                return Ok(());
            }
            match self.parts.step()? {
                Step::Send { number, bytes } => self.ready.push((number, bytes)),
                _ => return Err(io::Error::other("an upload written past its room")),
            }
        }
    }

    /// The client's bytes ended: the rest goes, then the object appears.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Step::Send { number, bytes } = self.parts.step()? {
            self.ready.push((number, bytes));
        }
        match self.parts.finish()? {
            Finish::Single(bytes) => self.single = Some(bytes),
            Finish::Last { number, bytes } if number > 0 => self.ready.push((number, bytes)),
            Finish::Last { .. } => {}
        }
        self.finishing = true;
        Ok(())
    }

    /// The next request and its body, if one is due now.
    pub fn next_request(&mut self, store: &Store) -> Option<io::Result<(S3Request, Vec<u8>)>> {
        if self.asked.is_some() || self.failed.is_some() || self.done {
            return None;
        }
        let (request, body, asked) = if let Some(bytes) = self.single.take() {
            (store.put(&self.path, self.new_only), bytes, Asked::Last)
        } else if !self.ready.is_empty() && self.id.is_none() {
            (
                store.create_multipart(&self.path),
                Vec::new(),
                Asked::Create,
            )
        } else if let (false, Some(id)) = (self.ready.is_empty(), &self.id) {
            let (number, bytes) = self.ready.remove(0);
            (
                store.upload_part(&self.path, id, number),
                bytes,
                Asked::Part,
            )
        } else if let (true, true, Some(id)) = (self.finishing, self.parts.all_stored(), &self.id) {
            let body = complete_body(self.parts.etags()).into_bytes();
            (
                store.complete(&self.path, id, self.new_only),
                body,
                Asked::Last,
            )
        } else {
            return None;
        };
        Some(request.map(|request| {
            self.asked = Some((request.describe(), asked));
            (request, body)
        }))
    }

    /// The answer to the request on its way.
    pub fn arrived(&mut self, head: &ResponseHead, body: &[u8]) {
        let Some((name, asked)) = self.asked.take() else {
            return;
        };
        // A Complete may fail after its 200, in its body.
        let error_body = asked == Asked::Last && first(body, "Code").ok().flatten().is_some();
        if head.status != 200 || error_body {
            let status = if error_body { 500 } else { head.status };
            self.failed = Some(refused(name, status, body));
            return;
        }
        match asked {
            Asked::Create => match upload_id(body) {
                Ok(id) => self.id = Some(id),
                Err(e) => self.failed = Some(e),
            },
            Asked::Part => match head.header("etag") {
                Some(etag) => self.parts.sent(String::from_utf8_lossy(etag).into_owned()),
                None => self.failed = Some(io::Error::other(format!("{name}: no ETag"))),
            },
            Asked::Last => self.done = true,
        }
    }

    /// The request on its way failed before its answer.
    pub fn broke(&mut self, why: io::Error) {
        self.asked = None;
        self.failed = Some(why);
    }

    /// The object is in place.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Why the upload failed, once (then it is over).
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.failed.take()
    }
}

/// An upload dropped before its object appeared (it failed, its client
/// went, its session ended): its parts go with it.
impl Drop for Upload {
    fn drop(&mut self) {
        if let (false, Some(id)) = (self.done, &self.id) {
            self.store.abandon(&self.path, id);
        }
    }
}
