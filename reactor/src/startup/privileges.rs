//! `--run-as USER`: started as root to bind port 21, the daemon becomes an
//! ordinary user before it serves anyone.

use std::ffi::{CStr, CString};
use std::io;

/// Switches the process to `user` (its uid, its primary gid, no
/// supplementary groups) and checks root cannot be regained.
pub fn run_as(user: &str) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(format!(
            "run-as {user}: only a daemon started as root can become another user"
        ));
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
    let entry = password_entry(|entry, buffer, len, found| {
        // SAFETY: as `password_entry` requires, with a NUL-terminated name.
        unsafe { libc::getpwnam_r(name.as_ptr(), entry, buffer, len, found) }
    });
    let (_, uid, gid) = entry.ok_or_else(|| format!("no such user {user:?}"))?;
    Ok((uid, gid))
}

/// The name of the user the daemon runs as now (its uid, if it has none).
pub fn current_user() -> String {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let entry = password_entry(|entry, buffer, len, found| {
        // SAFETY: as `password_entry` requires.
        unsafe { libc::getpwuid_r(uid, entry, buffer, len, found) }
    });
    entry.map_or_else(|| uid.to_string(), |(name, _, _)| name)
}

/// An entry of the password database: its name, uid and gid. `get` is
/// getpwnam_r or getpwuid_r given an entry, a buffer, the buffer's length
/// and where to say whether it found one (it writes into nothing else).
fn password_entry(
    get: impl FnOnce(*mut libc::passwd, *mut libc::c_char, usize, *mut *mut libc::passwd) -> libc::c_int,
) -> Option<(String, libc::uid_t, libc::gid_t)> {
    let mut entry = std::mem::MaybeUninit::<libc::passwd>::uninit();
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let status = get(
        entry.as_mut_ptr(),
        buffer.as_mut_ptr(),
        buffer.len(),
        &mut found,
    );
    if status != 0 || found.is_null() {
        return None;
    }
    // SAFETY: `found` is non-null, so `entry` was filled in.
    let entry = unsafe { entry.assume_init() };
    // SAFETY: pw_name points into `buffer`, NUL-terminated.
    let name = unsafe { CStr::from_ptr(entry.pw_name) };
    Some((
        name.to_string_lossy().into_owned(),
        entry.pw_uid,
        entry.pw_gid,
    ))
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
        // SAFETY: geteuid has no preconditions.
        let expected = if unsafe { libc::geteuid() } == 0 {
            "root"
        } else {
            ""
        };
        if !expected.is_empty() {
            assert_eq!(current_user(), expected);
        }
    }
}
