//! What the user the daemon serves as (after `--run-as`) will not be able
//! to do, said at start-up and on every SIGHUP rather than found out at
//! the first upload: read the root; write each folder a writing role
//! writes to — the root for an anonymous `super` or `upload` role, the
//! home of each `super` or `upload` account (the root without one) — with
//! the command that fixes it; and, at start-up, read again the files
//! SIGHUP re-reads. (`mkdir -p /srv/ftp/inbox` as root makes a folder the
//! `ftp` user cannot write: a drop box answered every upload `550
//! Permission denied`, and nothing said why.)

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use log::warn;
use pocketftp_core::Access;

use crate::auth::users::Users;
use crate::startup::options::Options;
use crate::startup::privileges::current_user;

/// At start-up, once the daemon runs as the user it serves as: what that
/// user cannot read or write, and the files it cannot re-read on SIGHUP.
pub fn check_at_start(options: &Options, users: Option<&Users>) {
    let user = current_user();
    if readable(&options.root) {
        check_writable_folders(&user, &options.root, options, users);
    } else {
        warn!(
            "{user} cannot read {}: every listing and download will fail",
            options.root.display()
        );
    }
    let reread = [&options.users, &options.tls_cert, &options.tls_key];
    for file in reread.into_iter().flatten() {
        if access(file, libc::R_OK).is_err() {
            warn!(
                "{user} cannot read {}: SIGHUP will keep the old one (make it readable by {user}'s group, mode 640)",
                file.display()
            );
        }
    }
}

/// On SIGHUP: the folders the reloaded roles write to, below `root` (the
/// one served, whatever the options now say).
pub fn check_on_reload(root: &Path, options: &Options, users: Option<&Users>) {
    check_writable_folders(&current_user(), root, options, users);
}

/// Warns, for each folder below `root` a writing role writes to, that
/// `user` cannot write it, naming who writes there and what to run.
fn check_writable_folders(user: &str, root: &Path, options: &Options, users: Option<&Users>) {
    for (folder, writers) in writing_folders(root, options, users) {
        let who = writers.join(", ");
        let shown = folder.display();
        match access(&folder, libc::W_OK | libc::X_OK) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EROFS) => warn!(
                "{shown} is on a read-only file system: uploads and new folders will fail for {who}"
            ),
            Err(_) => warn!(
                "{user} cannot write to {shown}: uploads and new folders will fail for {who} (run: chown {user}: {shown})"
            ),
        }
    }
}

/// Whether any role may write: an anonymous or account `super` or
/// `upload` (a server nobody may upload to skips the start-up sweep).
pub fn anyone_writes(options: &Options, users: Option<&Users>) -> bool {
    !writing_folders(&options.root, options, users).is_empty()
}

/// Each folder a writing role writes to, with who writes there
/// (`anonymous (role upload)`, `"ann" (role super)`), in order.
fn writing_folders(
    root: &Path,
    options: &Options,
    users: Option<&Users>,
) -> BTreeMap<PathBuf, Vec<String>> {
    let mut folders: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    let anonymous = users.is_none() || options.anonymous;
    if anonymous && options.anonymous_access != Access::ReadOnly {
        let role = options.anonymous_access.role();
        let who = format!("anonymous (role {role})");
        folders.entry(root.to_path_buf()).or_default().push(who);
    }
    let accounts = users.into_iter().flat_map(Users::accounts);
    let mut writers: Vec<_> = accounts
        .filter(|(_, account)| account.access != Access::ReadOnly)
        .collect();
    writers.sort_by_key(|(name, _)| *name);
    for (name, account) in writers {
        let folder = match &account.home {
            Some(home) => root.join(home.as_str().trim_start_matches('/')),
            None => root.to_path_buf(),
        };
        let who = format!("{name:?} (role {})", account.access.role());
        folders.entry(folder).or_default().push(who);
    }
    folders
}

fn readable(folder: &Path) -> bool {
    access(folder, libc::R_OK | libc::X_OK).is_ok()
}

/// access(2) as the current (real = effective, after the switch) user.
fn access(path: &Path, mode: libc::c_int) -> io::Result<()> {
    let path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a NUL-terminated path; access reads nothing else.
    match unsafe { libc::access(path.as_ptr(), mode) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::startup::command_line::tests::run;

    #[test]
    fn writing_roles_write_to_the_root_or_their_homes() {
        let hash = crate::auth::hashing::hash_password("pw").unwrap();
        let text = format!(
            "ann:{hash}:super:/home/ann\nbob:{hash}:user:/home/bob\ncam:{hash}:upload:/inbox\nroot:{hash}:super\n"
        );
        let dir = crate::storage::testing::TempDir::new("access-users");
        std::fs::write(dir.0.join("users"), text).unwrap();
        let users = Users::load(&dir.0.join("users")).unwrap();
        let root = Path::new("/srv/ftp");
        let folders = |args: &[&str], users: Option<&Users>| {
            let options = run(args).unwrap();
            let found = writing_folders(root, &options, users);
            found
                .into_iter()
                .map(|(folder, who)| format!("{}: {}", folder.display(), who.join(", ")))
                .collect::<Vec<_>>()
        };
        assert_eq!(folders(&[], None), Vec::<String>::new());
        assert_eq!(
            folders(&["--anonymous-role", "upload"], None),
            ["/srv/ftp: anonymous (role upload)"]
        );
        // With accounts, anonymous writes only with --anonymous.
        assert_eq!(
            folders(&["--write", "--users", "u"], Some(&users)),
            [
                "/srv/ftp: \"root\" (role super)",
                "/srv/ftp/home/ann: \"ann\" (role super)",
                "/srv/ftp/inbox: \"cam\" (role upload)",
            ]
        );
        assert_eq!(
            folders(&["--write", "--users", "u", "--anonymous"], Some(&users))[0],
            "/srv/ftp: anonymous (role super), \"root\" (role super)"
        );
    }
}
