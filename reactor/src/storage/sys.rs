//! The system calls the storage makes on a name in a folder (the `*at`
//! family, which never follow the name out of the folder), and `stat` as
//! the core wants it.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use pocketftp_core::{FileKind, Metadata};

/// The mode of a new file, before the process umask (`--umask`, 022 by
/// default: 0644) takes bits away.
pub(super) const NEW_FILE_MODE: libc::mode_t = 0o666;
/// The mode of a new folder, before the umask (by default: 0755).
pub(super) const NEW_FOLDER_MODE: libc::mode_t = 0o777;

/// A folder and one name in it: what the `*at` calls act on.
pub(super) struct NameAt {
    pub(super) dir: OwnedFd,
    pub(super) name: CString,
}

/// Creates `name` in `dir` with mode [`NEW_FILE_MODE`] less the umask;
/// never follows a symlink and never replaces.
pub(super) fn create_at(dir: RawFd, name: &CStr) -> io::Result<File> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: a valid directory fd and a NUL-terminated name.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), flags, NEW_FILE_MODE as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor owned by nobody else.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

pub(super) fn unlink_at(dir: RawFd, name: &CStr, flags: i32) -> io::Result<()> {
    // SAFETY: a valid directory fd and a NUL-terminated name.
    check(unsafe { libc::unlinkat(dir, name.as_ptr(), flags) })
}

pub(super) fn rename_at(from: &NameAt, to_dir: &OwnedFd, to_name: &CStr) -> io::Result<()> {
    // SAFETY: valid directory fds and NUL-terminated names.
    check(unsafe {
        libc::renameat(
            from.dir.as_raw_fd(),
            from.name.as_ptr(),
            to_dir.as_raw_fd(),
            to_name.as_ptr(),
        )
    })
}

/// Starts the disk writing what `fd` holds that it is not writing yet,
/// and returns without waiting for it (`sync_file_range(2)`).
pub(super) fn start_write_back(fd: RawFd) -> io::Result<()> {
    // SAFETY: a plain call on a descriptor; offset 0 and length 0 mean
    // the whole file.
    check(unsafe { libc::sync_file_range(fd, 0, 0, libc::SYNC_FILE_RANGE_WRITE) })
}

/// Metadata of an open descriptor.
pub(super) fn fstat(fd: RawFd) -> io::Result<Metadata> {
    fstat_at(fd, c"")
}

/// Metadata of `name` in `dir` without following a final symlink (an empty
/// name means `dir` itself).
pub(super) fn fstat_at(dir: RawFd, name: &CStr) -> io::Result<Metadata> {
    let st = stat_at(dir, name)?;
    // time_t and nlink_t are 32 bits on armv7 boards, 64 here.
    #[allow(clippy::useless_conversion)]
    let (modified, links) = (i64::from(st.st_mtime), u64::from(st.st_nlink));
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => FileKind::File,
        libc::S_IFDIR => FileKind::Dir,
        libc::S_IFLNK => FileKind::Symlink,
        _ => FileKind::Other,
    };
    Ok(Metadata {
        kind,
        size: st.st_size.max(0) as u64,
        modified,
        mode: st.st_mode & 0o7777,
        links,
    })
}

/// The raw `stat` of `name` in `dir`, as [`fstat_at`] takes it.
pub(super) fn stat_at(dir: RawFd, name: &CStr) -> io::Result<libc::stat64> {
    let flags = if name.is_empty() {
        libc::AT_EMPTY_PATH
    } else {
        libc::AT_SYMLINK_NOFOLLOW
    };
    // The 64-bit-offset call, so that 32-bit boards see files over 2 GiB.
    let mut st = std::mem::MaybeUninit::<libc::stat64>::uninit();
    // SAFETY: valid fd and name; fstatat64 fills `st` completely on success.
    check(unsafe { libc::fstatat64(dir, name.as_ptr(), st.as_mut_ptr(), flags) })?;
    // SAFETY: initialised by the successful call above.
    Ok(unsafe { st.assume_init() })
}

/// A system call's `-1` as the `io::Error` of its `errno`.
pub(super) fn check(result: libc::c_int) -> io::Result<()> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
