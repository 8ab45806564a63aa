//! Why the file system said no, in a log line an admin can act on.
//!
//! A client gets `550` whether its role forbids a change (the core logs
//! "may not write: refused"), the served files' permissions forbid it to
//! the user the daemon runs as (`EACCES`), or the disk is read-only
//! (`EROFS`, which also stands for systemd's sandbox: outside its
//! `ReadWritePaths=` every path is read-only). The last two are the
//! admin's to fix, so the storage names them with the real path (the core
//! knows only the client's) and what to change. A read the permissions
//! forbid is news (`info`); a write the file system refuses is a server
//! that cannot do what its roles allow (`warn`).

use std::io;
use std::path::Path;

use log::{info, warn, Level};

use crate::startup::privileges::current_user;

/// What the storage was doing when it was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Doing {
    LookUp,
    Read,
    List,
    Upload,
    Write,
    MakeFolder,
    RemoveFolder,
    Delete,
    Rename,
    ChangeMode,
    SetTime,
}

impl Doing {
    fn verb(self) -> &'static str {
        match self {
            Doing::LookUp => "look up",
            Doing::Read => "read",
            Doing::List => "list",
            Doing::Upload => "upload",
            Doing::Write => "write",
            Doing::MakeFolder => "make the folder",
            Doing::RemoveFolder => "remove the folder",
            Doing::Delete => "delete",
            Doing::Rename => "rename",
            Doing::ChangeMode => "change the mode of",
            Doing::SetTime => "set the time of",
        }
    }

    fn writes(self) -> bool {
        !matches!(self, Doing::LookUp | Doing::Read | Doing::List)
    }
}

/// Logs why `doing` at `host` (a real path) failed, when the cause is the
/// admin's to fix; gives the error back unchanged.
pub(super) fn note(doing: Doing, host: &Path, error: io::Error) -> io::Error {
    if let Some(errno) = error.raw_os_error() {
        match explain(doing, host, errno, &current_user()) {
            Some((Level::Warn, line)) => warn!("{line}"),
            Some((_, line)) => info!("{line}"),
            None => {}
        }
    }
    error
}

/// The log line for a refusal by the file system (`None` for other
/// errors, which the core's line says enough about) and its level.
fn explain(doing: Doing, host: &Path, errno: i32, user: &str) -> Option<(Level, String)> {
    let (host, verb) = (host.display(), doing.verb());
    match errno {
        libc::EROFS => Some((
            Level::Warn,
            format!(
                "cannot {verb} {host}: read-only file system (EROFS): the disk is mounted read-only (or the kernel made it so after disk errors: see dmesg; writes work again once it is writable), or systemd's sandbox makes the path so (pocketftpd.service writes only below its ReadWritePaths=)"
            ),
        )),
        libc::EACCES | libc::EPERM if doing.writes() => Some((
            Level::Warn,
            format!(
                "cannot {verb} {host}: permission denied to {user}, the user the daemon runs as ({}): its folder must be writable by {user}",
                errno_name(errno)
            ),
        )),
        libc::EACCES | libc::EPERM => Some((
            Level::Info,
            format!(
                "cannot {verb} {host}: permission denied to {user}, the user the daemon runs as ({})",
                errno_name(errno)
            ),
        )),
        _ => None,
    }
}

fn errno_name(errno: i32) -> &'static str {
    if errno == libc::EPERM {
        "EPERM"
    } else {
        "EACCES"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_has_its_line() {
        let host = Path::new("/srv/ftp/inbox/x.jpg");
        let (level, line) = explain(Doing::Upload, host, libc::EROFS, "ftp").unwrap();
        assert_eq!(level, Level::Warn);
        assert!(
            line.starts_with("cannot upload /srv/ftp/inbox/x.jpg: read-only file system (EROFS)"),
            "{line}"
        );
        assert!(line.contains("ReadWritePaths="), "{line}");
        let (level, line) = explain(Doing::Upload, host, libc::EACCES, "ftp").unwrap();
        assert_eq!(level, Level::Warn);
        assert_eq!(
            line,
            "cannot upload /srv/ftp/inbox/x.jpg: permission denied to ftp, the user the daemon runs as (EACCES): its folder must be writable by ftp"
        );
        let (level, line) = explain(Doing::Read, host, libc::EACCES, "ftp").unwrap();
        assert_eq!(level, Level::Info);
        assert!(line.ends_with("runs as (EACCES)"), "{line}");
        assert_eq!(explain(Doing::Read, host, libc::ENOENT, "ftp"), None);
    }
}
