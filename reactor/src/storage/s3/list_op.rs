//! LIST, NLST, MLSD of a bucket's folder, sans-IO: ListObjectsV2 pages
//! asked one after the other until the last, their entries kept for the
//! listing to format (a bounded batch at a time, as a disk folder's).
//!
//! The pages are fetched before the `150`, not streamed while it runs: a
//! listing then never stalls mid-way on a slow store, and the memory is
//! bounded by [`MAX_LISTED`] entries (about 100 bytes each: some 10 MB for
//! the largest folder; 10,000 objects take about 1 MB). Past it the
//! listing fails rather than show part of a folder as all of it.
//!
//! With a glob (`LIST *.jpg`) and no folder of that name, the folder the
//! glob is in is listed instead, and the listing applies the glob.

use std::io;

use pocketftp_core::{Metadata, VirtualPath};

use super::listing;
use super::reply::refused;
use super::request::{Store, LIST_PAGE_KEYS};
use super::signed::S3Request;
use crate::http::ResponseHead;

/// The most entries one listing holds.
pub const MAX_LISTED: usize = 100_000;

/// What comes after a page.
#[derive(Debug)]
pub enum ListNext {
    Send(S3Request),
    /// Every entry of the folder.
    Done(Vec<(String, Metadata)>),
    Failed(io::Error),
}

/// A listing being fetched.
#[derive(Debug)]
pub struct ListOp {
    path: VirtualPath,
    /// A glob is in the last name: an empty answer means "list its folder".
    glob: bool,
    entries: Vec<(String, Metadata)>,
    asked: String,
}

impl ListOp {
    /// The first page's request of `path`.
    pub fn start(store: &Store, path: &VirtualPath, glob: bool) -> io::Result<(ListOp, S3Request)> {
        let request = store.list(path, None, LIST_PAGE_KEYS)?;
        let op = ListOp {
            path: path.clone(),
            glob,
            entries: Vec::new(),
            asked: request.describe(),
        };
        Ok((op, request))
    }

    /// Takes a page.
    pub fn answer(&mut self, store: &Store, head: &ResponseHead, body: &[u8]) -> ListNext {
        match self.next(store, head, body) {
            Ok(Some(request)) => {
                self.asked = request.describe();
                ListNext::Send(request)
            }
            Ok(None) => ListNext::Done(std::mem::take(&mut self.entries)),
            Err(e) => ListNext::Failed(e),
        }
    }

    fn next(
        &mut self,
        store: &Store,
        head: &ResponseHead,
        body: &[u8],
    ) -> io::Result<Option<S3Request>> {
        if head.status != 200 {
            return Err(refused(self.asked.clone(), head.status, body));
        }
        let folder = store.prefix().folder_at(&self.path);
        let page = listing::parse(body, &folder).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("S3 listing: {}", e.0))
        })?;
        if self.entries.len().saturating_add(page.entries.len()) > MAX_LISTED {
            return Err(io::Error::other(format!(
                "{}: more than {MAX_LISTED} entries",
                self.path
            )));
        }
        self.entries.extend(page.entries);
        if let Some(token) = page.next {
            return store
                .list(&self.path, Some(&token), LIST_PAGE_KEYS)
                .map(Some);
        }
        if self.entries.is_empty() && std::mem::take(&mut self.glob) {
            self.path = self.path.parent();
            return store.list(&self.path, None, LIST_PAGE_KEYS).map(Some);
        }
        Ok(None)
    }
}
