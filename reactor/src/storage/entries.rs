//! A folder's entries, as a listing reads them: one at a time, so that it
//! can stop whenever its batch is full, and the metadata of an entry only
//! for those it shows.

use std::ffi::CString;
use std::io;

use pocketftp_core::Metadata;

use super::dir::DirStream;
use super::sys::fstat_at;
use super::temps::is_reserved;

/// A folder being read.
pub struct Entries(pub(super) DirStream);

/// One name in it.
pub struct Entry(CString);

impl Entries {
    /// The next entry; `None` at the end (an error that stopped the
    /// reading early is an error, not the end).
    pub fn next(&mut self) -> io::Result<Option<Entry>> {
        match self.0.next_name() {
            Some((name, _)) => Ok(Some(Entry(name))),
            None => self.0.take_error().map_or(Ok(None), Err),
        }
    }

    /// The metadata of `entry` (a symlink as itself): a system call, so
    /// asked only for an entry that is listed.
    pub fn metadata(&self, entry: &Entry) -> Option<Metadata> {
        fstat_at(self.0.fd(), &entry.0).ok()
    }
}

impl Entry {
    pub fn name(&self) -> &[u8] {
        self.0.to_bytes()
    }

    /// One of the daemon's own files (an unfinished upload): no listing
    /// shows it.
    pub fn is_hidden(&self) -> bool {
        is_reserved(self.name())
    }
}
