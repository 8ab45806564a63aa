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
mod entries;
pub mod error_kind;
pub mod jail;
mod resolve;
pub mod s3;
mod sink;
mod source;
mod sys;
mod temps;
#[cfg(test)]
pub(crate) mod testing;

use std::io;

use pocketftp_core::VirtualPath;

pub(crate) use entries::Entries;
use jail::Jail;
pub(crate) use sink::{Folder, Sink};
pub(crate) use source::Source;
use sys::NEW_FILE_MODE;
use temps::TempFile;

/// What transfers move: each opened as the handle its transfer steps use.
impl Jail {
    /// RETR: the file from `offset` (REST's) up to its size now, which the
    /// `150` announces; an offset beyond it is `BadOffset`.
    pub(crate) fn open_source(&self, path: &VirtualPath, offset: u64) -> io::Result<Source> {
        Source::new(self.open_read(path)?, offset)
    }

    /// STOR: a hidden file in the folder of `path`, renamed over it only
    /// once the whole upload arrived (atomic: a broken upload leaves the
    /// old file as it was). Without `replace` (an `upload` user), a file
    /// there is `AlreadyExists`, now and at the commit.
    pub(crate) fn upload_to(&self, path: &VirtualPath, replace: bool) -> io::Result<Sink> {
        let (temp, file) = TempFile::create(self.entry(path)?, replace)?;
        Ok(Sink::staged(temp, file))
    }

    /// APPE: `path` written at its end, created if need be.
    pub(crate) fn append_to(&self, path: &VirtualPath) -> io::Result<Sink> {
        let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT;
        self.open_file(path, flags, NEW_FILE_MODE)
            .map(Sink::in_place)
    }

    /// REST+STOR: `path` written in place from `offset`.
    pub(crate) fn write_at(&self, path: &VirtualPath, offset: u64) -> io::Result<Sink> {
        Sink::at(self.open_file(path, libc::O_WRONLY, 0)?, offset)
    }

    /// STOU: the folder `path`, to create a new name in.
    pub(crate) fn folder(&self, path: &VirtualPath) -> io::Result<Folder> {
        let fd = self.open_path(path, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        Ok(Folder(fd))
    }

    /// LIST, NLST, MLSD: the entries of the folder `path` (`NotADirectory`
    /// for a file).
    pub(crate) fn entries(&self, path: &VirtualPath) -> io::Result<Entries> {
        let fd = self.open_path(path, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
        Ok(Entries(dir::DirStream::new(fd)?))
    }
}
