//! Which account uploaded a file: what `--upload-replace-own` needs to let
//! an `upload` account (a camera's `snapshot.jpg`) replace its own earlier
//! upload, and nothing anybody else put there.
//!
//! The daemon has one user for every account, so the file's owner cannot
//! say it. The upload's temporary file gets an extended attribute,
//! [`MARK`] = the account's name, before its first byte; a file is an
//! account's own when it is a regular file owned by the user the daemon
//! runs as and carries that account's mark. Nobody but the daemon's user
//! (or root) can set the mark on such a file, and what the admin copies in
//! has none: it is never replaced. Where the file system keeps no extended
//! attributes (FAT, exFAT, NFSv3, tmpfs before Linux 6.6), uploads are
//! unmarked, said once in the log, and never replaced.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use log::warn;

use super::sys::stat_at;

/// The extended attribute that names the account an upload came from
/// (the `user.` namespace: the file's owner may set it).
const MARK: &CStr = c"user.pocketftpd.uploader";

/// Longest account name read back: users-file names are short.
const MAX_MARK: usize = 256;

/// Marks the file open as `fd` as `account`'s upload. A file system that
/// keeps no marks is said once; the upload goes on unmarked.
pub(super) fn mark(fd: RawFd, account: &str) {
    // SAFETY: a valid descriptor, a NUL-terminated name and a value of the
    // length passed.
    let set =
        unsafe { libc::fsetxattr(fd, MARK.as_ptr(), account.as_ptr().cast(), account.len(), 0) };
    if set != 0 {
        static SAID: AtomicBool = AtomicBool::new(false);
        if !SAID.swap(true, Ordering::Relaxed) {
            let e = std::io::Error::last_os_error();
            warn!(
                "cannot mark an upload as its account's ({e}): this file system keeps no extended attributes, so --upload-replace-own replaces nothing here"
            );
        }
    }
}

/// Whether `name` in the folder `dir` is `account`'s own upload: a regular
/// file (not followed if a symlink) owned by the daemon's user, marked as
/// `account`'s.
pub(super) fn is_own(dir: RawFd, name: &CStr, account: &str) -> bool {
    let flags = libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: a valid directory fd and a NUL-terminated name.
    let raw = unsafe { libc::openat(dir, name.as_ptr(), flags) };
    if raw < 0 {
        return false;
    }
    // SAFETY: a fresh descriptor owned by nobody else.
    let file = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: geteuid has no preconditions.
    let ours = |st: libc::stat64| {
        st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_uid == unsafe { libc::geteuid() }
    };
    stat_at(file.as_raw_fd(), c"").is_ok_and(ours)
        && mark_of(&file).is_some_and(|mark| mark == account.as_bytes())
}

/// The mark of the file `file` opened (with `O_PATH`, which `fgetxattr`
/// does not take: read through `/proc/self/fd`, the very inode, as
/// `chmod_fd` does).
fn mark_of(file: &OwnedFd) -> Option<Vec<u8>> {
    let link = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()?;
    let mut value = vec![0u8; MAX_MARK];
    // SAFETY: a NUL-terminated path and name; getxattr writes at most
    // `value.len()` bytes into `value`.
    let n = unsafe {
        libc::getxattr(
            link.as_ptr(),
            MARK.as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    let n = usize::try_from(n).ok()?;
    value.truncate(n);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::testing::TempDir;
    use std::fs::File;

    #[test]
    fn a_marked_file_is_its_accounts_own_and_nobody_elses() {
        let dir = TempDir::new("owner");
        let folder = File::open(&dir.0).unwrap();
        let snapshot = File::create(dir.0.join("snapshot.jpg")).unwrap();
        File::create(dir.0.join("placed.jpg")).unwrap();
        std::os::unix::fs::symlink("snapshot.jpg", dir.0.join("link.jpg")).unwrap();
        mark(snapshot.as_raw_fd(), "cam1");
        let own = |name: &CStr, account| is_own(folder.as_raw_fd(), name, account);
        if mark_of(&OwnedFd::from(snapshot)).is_none() {
            return eprintln!("no extended attributes in {}: skipped", dir.0.display());
        }
        assert!(own(c"snapshot.jpg", "cam1"));
        assert!(!own(c"snapshot.jpg", "cam2"));
        assert!(!own(c"snapshot.jpg", "cam"));
        assert!(!own(c"placed.jpg", "cam1"), "unmarked");
        assert!(!own(c"link.jpg", "cam1"), "a symlink is never followed");
        assert!(!own(c"missing.jpg", "cam1"));
    }
}
