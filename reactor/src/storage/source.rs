//! A download's source: the bytes of a file from the restart offset up to
//! the size it had when it was opened (the size `150` announced), handed
//! over one way or the other.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

use super::error_kind::{bad_offset, file_shrank};

/// The largest count one `sendfile(2)` takes (Linux moves at most this
/// much per call).
const SENDFILE_MAX: usize = 0x7fff_f000;

/// What a download sends: a file from an offset we keep ourselves, so a
/// `WouldBlock` loses nothing.
pub struct Source {
    file: File,
    /// REST's offset at first, counted in file bytes as vsftpd does.
    offset: u64,
    end: u64,
}

impl Source {
    /// From `offset` to the end of `file`, `end` bytes long as it was
    /// opened; an offset beyond it is [`bad_offset`].
    pub(super) fn new(file: File, end: u64, offset: u64) -> io::Result<Source> {
        if offset > end {
            return Err(bad_offset());
        }
        Ok(Source { file, offset, end })
    }

    /// The file's size when it was opened.
    pub fn size(&self) -> u64 {
        self.end
    }

    /// Every byte is sent (or read).
    pub fn is_done(&self) -> bool {
        self.offset >= self.end
    }

    /// Sends up to `max` of the next bytes to `socket` with `sendfile(2)`:
    /// the kernel moves them from the page cache, through no buffer of
    /// ours. How many went; `WouldBlock` when the socket is full.
    pub fn send_to(&mut self, socket: &impl AsRawFd, max: usize) -> io::Result<usize> {
        // On a 32-bit board more than 4 GiB may be left: no `as usize` here.
        let left = usize::try_from(self.end.saturating_sub(self.offset)).unwrap_or(usize::MAX);
        let count = left.min(max).min(SENDFILE_MAX);
        let mut off = libc::off64_t::try_from(self.offset).map_err(|_| bad_offset())?;
        // SAFETY: valid socket and file descriptors; `off` is a valid offset
        // that sendfile64 (64-bit even on 32-bit boards) advances.
        let n =
            unsafe { libc::sendfile64(socket.as_raw_fd(), self.file.as_raw_fd(), &mut off, count) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            return Err(file_shrank());
        }
        self.offset += n as u64;
        Ok(n as usize)
    }

    /// Reads the next bytes into `buf`, as many as fit; 0 once every byte
    /// is read.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end.saturating_sub(self.offset)).unwrap_or(usize::MAX);
        let len = left.min(buf.len());
        if len == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..len], self.offset)?;
        if n == 0 {
            return Err(file_shrank());
        }
        self.offset += n as u64;
        Ok(n)
    }
}
