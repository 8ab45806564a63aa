//! Reading a folder with `readdir(3)`, one entry at a time, so that callers
//! (listings, the sweep for stale upload files) can stop or pause whenever
//! their budget runs out.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;

#[cfg(not(target_env = "gnu"))]
use libc::readdir;
/// `readdir` with 64-bit offsets and inode numbers: on a 32-bit glibc board
/// the plain one fails with EOVERFLOW on btrfs, XFS or NFS (musl's is
/// always 64-bit).
#[cfg(target_env = "gnu")]
use libc::readdir64 as readdir;

/// A folder open for `readdir(3)`.
pub struct DirStream {
    dir: NonNull<libc::DIR>,
    /// Why reading stopped early, if it did: not the end of the folder.
    error: Option<io::Error>,
}

impl DirStream {
    /// Takes over `fd`, a folder opened for reading.
    pub fn new(fd: OwnedFd) -> io::Result<DirStream> {
        let raw = fd.into_raw_fd();
        // SAFETY: fdopendir takes ownership of a valid directory fd.
        match NonNull::new(unsafe { libc::fdopendir(raw) }) {
            Some(dir) => Ok(DirStream { dir, error: None }),
            None => {
                let error = io::Error::last_os_error();
                // SAFETY: fdopendir failed, so the fd is still ours to close.
                drop(unsafe { OwnedFd::from_raw_fd(raw) });
                Err(error)
            }
        }
    }

    /// The folder's descriptor, for the `*at` calls on its entries.
    pub fn fd(&self) -> RawFd {
        // SAFETY: `dir` is valid; dirfd returns its descriptor.
        unsafe { libc::dirfd(self.dir.as_ptr()) }
    }

    /// Why the last `None` was not the end of the folder, if it was not
    /// (a listing that stopped short must fail, not look complete).
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    /// The next name other than `.` and `..`, with its `d_type` (which may
    /// be `DT_UNKNOWN` on some file systems); `None` at the end, or on an
    /// error kept for [`take_error`](Self::take_error).
    pub fn next_name(&mut self) -> Option<(CString, u8)> {
        loop {
            // SAFETY: errno is this thread's; readdir sets it only on error.
            unsafe { *libc::__errno_location() = 0 };
            // SAFETY: `dir` is a valid, open DIR stream owned by self.
            let entry = unsafe { readdir(self.dir.as_ptr()) };
            if entry.is_null() {
                let error = io::Error::last_os_error();
                self.error = (error.raw_os_error() != Some(0)).then_some(error);
                return None;
            }
            // SAFETY: readdir returned a valid dirent whose d_name is NUL-terminated;
            // we copy the name before the next readdir call.
            let (name, kind) = unsafe {
                (
                    CStr::from_ptr((*entry).d_name.as_ptr()).to_owned(),
                    (*entry).d_type,
                )
            };
            if !matches!(name.to_bytes(), b"." | b"..") {
                return Some((name, kind));
            }
        }
    }
}

impl Drop for DirStream {
    fn drop(&mut self) {
        // SAFETY: the stream is open and closed exactly once, here.
        unsafe { libc::closedir(self.dir.as_ptr()) };
    }
}
