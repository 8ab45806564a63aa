//! An upload's sink: where its bytes go, and how it is put in place.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, OwnedFd};

use super::error_kind::bad_offset;
use super::sys::create_at;
use super::temps::TempFile;

/// What an upload writes to. Dropped before [`commit`](Self::commit), it
/// is discarded: a STOR's hidden file goes, and the old file stays whole.
pub struct Sink {
    file: File,
    /// STOR: the hidden file that takes the target's place at the commit.
    temp: Option<TempFile>,
    /// REST+STOR's offset: the file is cut there only when the transfer
    /// starts, so a data connection that never comes leaves it whole.
    restart: Option<u64>,
}

impl Sink {
    /// A file written where it is (APPE, STOU).
    pub(super) fn in_place(file: File) -> Sink {
        Sink {
            file,
            temp: None,
            restart: None,
        }
    }

    /// A STOR: a hidden file until the commit.
    pub(super) fn staged(temp: TempFile, file: File) -> Sink {
        Sink {
            file,
            temp: Some(temp),
            restart: None,
        }
    }

    /// REST+STOR: `file` (`size` bytes long when opened) written from
    /// `offset` on, which must not be past its end now (nor when the
    /// transfer starts).
    pub(super) fn at(file: File, size: u64, offset: u64) -> io::Result<Sink> {
        if offset > size {
            return Err(bad_offset());
        }
        Ok(Sink {
            file,
            temp: None,
            restart: Some(offset),
        })
    }

    /// The transfer starts: REST+STOR drops what follows its offset (once).
    pub fn start(&mut self) -> io::Result<()> {
        match self.restart.take() {
            Some(offset) => cut_at(&mut self.file, offset),
            None => Ok(()),
        }
    }

    /// Takes these bytes.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)
    }

    /// Puts the upload in place: a STOR replaces its target only now.
    pub fn commit(&mut self) -> io::Result<()> {
        match self.temp.take() {
            Some(temp) => temp.commit(),
            None => Ok(()),
        }
    }
}

/// REST+STOR: drops what follows `offset` and writes from there; the file
/// may have shrunk since it was opened, and a hole of zeros is no restart.
fn cut_at(file: &mut File, offset: u64) -> io::Result<()> {
    if offset > file.metadata()?.len() {
        return Err(bad_offset());
    }
    file.set_len(offset)?;
    file.seek(SeekFrom::Start(offset))?;
    Ok(())
}

/// A folder (resolved beneath the root) to create new files in: STOU's,
/// which tries names until one is free.
pub struct Folder(pub(super) OwnedFd);

impl Folder {
    /// Creates `name`, a name that must be new (`AlreadyExists` if it is
    /// not; never through a symlink), as an upload's sink.
    pub fn create_new(&self, name: &str) -> io::Result<Sink> {
        let name = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        create_at(self.0.as_raw_fd(), &name).map(Sink::in_place)
    }
}
