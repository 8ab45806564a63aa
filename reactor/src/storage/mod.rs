//! The storage seam: every operation the reactor performs on served files
//! goes through this module, and nothing above it sees a descriptor, a
//! host path or an errno.
//!
//! Its first (and for now only) back-end is the local folder, the
//! [`Jail`]: every [`VirtualPath`] resolved beneath the served root (or a
//! user's home, [`Jail::home`]) by the kernel. It answers the file actions
//! (`stat`, `rename`, `delete`, `make_dir`, `remove_dir`, `set_mode`,
//! `set_modified`), sweeps the uploads a crash left at start-up, and opens
//! what a transfer moves as a handle, so that the transfer steps and the
//! scheduler never see the jail:
//!
//! - a `Source` (`source.rs`), a download: "send this range to this
//!   socket" (`send_to`: here `sendfile(2)`, no copy of ours) or "give me
//!   bytes" (`read`, for TYPE A and TLS);
//! - a `Sink` (`sink.rs`), an upload: "take these bytes", "commit" (a STOR
//!   replaces its target only then), and, dropped before that, "discard";
//! - `Entries` (`entries.rs`), a folder being listed, an entry at a time;
//! - a `Folder` (`sink.rs`), where STOU creates a name that must be new.
//!
//! What a reply promises is on the disk (`--sync`) is made durable by
//! `durable.rs` (the order of the syncs and the rename) on the sync
//! worker's threads (`sync.rs`), off the event loop.
//!
//! Errors leave it as `io::Error`s whose only meaning upstream is their
//! [`ErrorKind`](pocketftp_core::ErrorKind) ([`error_kind`]): a reply that
//! depends on the back-end is a kind, and the core never learns which
//! back-end serves it.
//!
//! A second back-end, an S3 bucket over HTTP in the same loop (`s3/`),
//! fits behind these types without the scheduler changing: its operations
//! answer through the answer queue later instead of at once, as a password
//! check does; its source's bytes arrive on a socket of its own, whose
//! readiness wakes the transfer as the data socket's does; its sink sends
//! parts.

mod dir;
pub mod durable;
mod entries;
pub mod error_kind;
pub mod faults;
pub mod jail;
pub mod node;
mod owner;
mod refusal;
mod resolve;
pub mod s3;
mod sink;
mod source;
pub mod space;
pub mod sync;
mod sys;
mod temps;
#[cfg(test)]
pub(crate) mod testing;

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use pocketftp_core::VirtualPath;

pub(crate) use entries::Entries;
use jail::{Jail, FOLDER_FLAGS};
use refusal::Doing;
pub(crate) use sink::{Folder, Sink};
pub(crate) use source::Source;
use space::{MinFree, SpaceGuard};
use sys::NEW_FILE_MODE;
pub(crate) use temps::Replace;
use temps::TempFile;

/// What transfers move: each opened as the handle its transfer steps use.
impl Jail {
    /// RETR: the file from `offset` (REST's) up to its size now, which the
    /// `150` announces; an offset beyond it is `BadOffset`.
    pub(crate) fn open_source(&self, path: &VirtualPath, offset: u64) -> io::Result<Source> {
        let (file, size) =
            (self.open_read(path)).map_err(|e| self.refused(Doing::Read, path, e))?;
        Source::new(file, size, offset)
    }

    /// STOR: a hidden file in the folder of `path`, renamed over it only
    /// once the whole upload arrived (atomic: a broken upload leaves the
    /// old file as it was). A file there that `replace` does not allow to
    /// replace is `AlreadyExists`, now and at the commit.
    /// `folder`: its folder, if the admission opened it already.
    pub(crate) fn upload_to(
        &self,
        path: &VirtualPath,
        replace: Replace,
        folder: Option<OwnedFd>,
    ) -> io::Result<Sink> {
        let entry = self.entry_in(path, folder)?;
        let (temp, file) = TempFile::create(entry, replace, &self.node().id)
            .map_err(|e| self.refused(Doing::Upload, path, e))?;
        Ok(Sink::staged(temp, file))
    }

    /// APPE: `path` written at its end, created if need be (so its
    /// folder is synced too at a durable commit).
    pub(crate) fn append_to(&self, path: &VirtualPath) -> io::Result<Sink> {
        let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT;
        let (file, _) = (self.open_file(path, flags, NEW_FILE_MODE))
            .map_err(|e| self.refused(Doing::Write, path, e))?;
        Ok(Sink::appending(file)?.in_folder(self.entry(path)?.dir))
    }

    /// REST+STOR: `path` written in place from `offset`.
    pub(crate) fn write_at(&self, path: &VirtualPath, offset: u64) -> io::Result<Sink> {
        let (file, size) = (self.open_file(path, libc::O_WRONLY, 0))
            .map_err(|e| self.refused(Doing::Write, path, e))?;
        Sink::at(file, size, offset)
    }

    /// An upload into the folder `folder` may begin: its file system's free
    /// space is not below `min_free` (`StorageFull` if it is). Asked before
    /// the upload's file is made, so a refusal leaves nothing behind. The
    /// guard for a file made in `folder` (`Sink::keep_free`) comes with it,
    /// and the folder, if it was opened to ask, for the file to be made in
    /// without resolving it again.
    pub(crate) fn admit_upload(
        &self,
        folder: &VirtualPath,
        min_free: MinFree,
    ) -> io::Result<(SpaceGuard, Option<OwnedFd>)> {
        if min_free == MinFree::Off {
            return Ok((SpaceGuard::new(min_free), None));
        }
        let fd = self.open_path(folder, FOLDER_FLAGS, 0)?;
        Ok((space::admit_upload(fd.as_raw_fd(), min_free)?, Some(fd)))
    }

    /// STOU: the folder `path` (or `opened`, its admission's), to create a
    /// new name in.
    pub(crate) fn folder(&self, path: &VirtualPath, opened: Option<OwnedFd>) -> io::Result<Folder> {
        match opened {
            Some(fd) => Ok(Folder(fd)),
            None => Ok(Folder(self.open_path(path, FOLDER_FLAGS, 0)?)),
        }
    }

    /// LIST, NLST, MLSD: the entries of the folder `path` (`NotADirectory`
    /// for a file). A folder removed while it is open (the served root,
    /// deleted) is `NotFound`, not an empty listing.
    pub(crate) fn entries(&self, path: &VirtualPath) -> io::Result<Entries> {
        let fd = (self.open_path(path, libc::O_RDONLY | libc::O_DIRECTORY, 0))
            .map_err(|e| self.refused(Doing::List, path, e))?;
        if sys::fstat(fd.as_raw_fd())?.links == 0 {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        Ok(Entries(dir::DirStream::new(fd)?))
    }
}
