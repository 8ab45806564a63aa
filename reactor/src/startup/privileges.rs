//! `--run-as USER`: started as root to bind port 21, the daemon becomes an
//! ordinary user before it serves anyone.

use std::ffi::{CStr, CString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use log::warn;
use pocketftp_core::Access;

use crate::startup::options::Options;

/// Switches the process to `user` (its uid, its primary gid, no
/// supplementary groups) and checks root cannot be regained.
pub fn run_as(user: &str) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("--run-as needs the daemon to be started as root".to_owned());
    }
    let (uid, gid) = lookup(user)?;
    let fail = |what: &str| {
        format!(
            "cannot switch to user {user:?}: {what}: {}",
            io::Error::last_os_error()
        )
    };
    // SAFETY: plain system calls on integers; the group list is empty.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(fail("setgroups"));
        }
        if libc::setgid(gid) != 0 {
            return Err(fail("setgid"));
        }
        if libc::setuid(uid) != 0 {
            return Err(fail("setuid"));
        }
        if uid != 0 && libc::setuid(0) == 0 {
            return Err(format!("switched to {user:?}, but root could be regained"));
        }
    }
    Ok(())
}

/// The uid and gid of `user` from the password database.
fn lookup(user: &str) -> Result<(libc::uid_t, libc::gid_t), String> {
    let name = CString::new(user).map_err(|_| format!("invalid user name {user:?}"))?;
    let mut entry = std::mem::MaybeUninit::<libc::passwd>::uninit();
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwnam_r writes into `entry` and `buffer` (of the length
    // passed) and sets `found` to `entry` or null.
    let status = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            entry.as_mut_ptr(),
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if status != 0 || found.is_null() {
        return Err(format!("no such user {user:?}"));
    }
    // SAFETY: `found` is non-null, so `entry` was filled in.
    let entry = unsafe { entry.assume_init() };
    // SAFETY: pw_name points into `buffer`, NUL-terminated.
    debug_assert_eq!(
        unsafe { CStr::from_ptr(entry.pw_name) }.to_bytes(),
        user.as_bytes()
    );
    Ok((entry.pw_uid, entry.pw_gid))
}

/// After the switch to `user`: warns plainly of what will not work as that
/// user — a root it cannot read (or write, when writes are allowed), and
/// files SIGHUP re-reads that it cannot read (readable by root at start-up
/// is not enough).
pub fn check_access(user: &str, options: &Options) {
    let root = &options.root;
    let writes = options.anonymous_access != Access::ReadOnly || options.users.is_some();
    let reread = [&options.users, &options.tls_cert, &options.tls_key];
    if !accessible(root, libc::R_OK | libc::X_OK) {
        warn!(
            "{user} cannot read {}: every listing and download will fail",
            root.display()
        );
    } else if writes && !accessible(root, libc::W_OK) {
        warn!(
            "{user} cannot write to {}: uploads and new folders will fail (chown {user} it)",
            root.display()
        );
    }
    let reread = reread.into_iter().flatten();
    for file in reread.filter(|file| !accessible(file, libc::R_OK)) {
        warn!(
            "{user} cannot read {}: SIGHUP will keep the old one (make it readable by {user}'s group, mode 640)",
            file.display()
        );
    }
}

/// access(2) as the current (real = effective, after the switch) user.
fn accessible(path: &Path, mode: libc::c_int) -> bool {
    let Ok(path) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a NUL-terminated path; access reads nothing else.
    unsafe { libc::access(path.as_ptr(), mode) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_users() {
        assert_eq!(lookup("root"), Ok((0, 0)));
        assert!(lookup("no-such-user-here")
            .unwrap_err()
            .contains("no such user"));
        assert!(lookup("nul\0name").is_err());
    }
}
