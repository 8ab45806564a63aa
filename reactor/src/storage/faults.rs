//! Disk faults, said in the log. A disk that is full, failing, read-only
//! or gone fails a client's command with a short reply (`452`, `451`,
//! `550`); the admin needs to hear about the disk: one line for each
//! failure, with the client's path and what to do, at `warn`. Other
//! errors (a missing file, a name not allowed) are the client's business,
//! and the session's own line says enough about them.
//!
//! A fault is also news for the server: the served folder may have been
//! unmounted, or replaced by a disk mounted over it, and the server looks
//! (`server/root.rs`) once the turn is over.
//!
//! A read-only file system that refuses a file action or an open is said
//! by the storage itself, with the real path (`refusal.rs`): for those,
//! [`Faults::note_action`] only takes note. What fails later (a write in
//! the middle of an upload, its commit, its sync) is said here.

use std::io;
use std::net::SocketAddr;

use log::warn;
use pocketftp_core::VirtualPath;

/// Whether a disk fault was seen since the server last looked.
#[derive(Debug, Default)]
pub struct Faults {
    seen: bool,
}

impl Faults {
    /// Logs `error`, met by `peer`'s session while it tried `doing` (a
    /// verb: "read", "upload") `path`, if it is a disk fault.
    pub fn note(&mut self, peer: SocketAddr, doing: &str, path: &VirtualPath, error: &io::Error) {
        if let Some(why) = error.raw_os_error().and_then(explain) {
            warn!("{peer}: cannot {doing} {path}: {error}: {why}");
            self.seen = true;
        }
    }

    /// [`note`](Self::note) for a file action or an open, which the
    /// storage refused: a read-only file system was said there already.
    pub fn note_action(
        &mut self,
        peer: SocketAddr,
        doing: &str,
        path: &VirtualPath,
        error: &io::Error,
    ) {
        if error.raw_os_error() == Some(libc::EROFS) {
            self.seen = true;
        } else {
            self.note(peer, doing, path, error);
        }
    }

    /// Whether a fault was seen since the last call.
    pub fn take_seen(&mut self) -> bool {
        std::mem::take(&mut self.seen)
    }
}

/// What a disk fault's errno means to an admin; `None` for other errors.
fn explain(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::ENOSPC => "the disk is full (452 to the client; the upload is discarded, an old file kept)",
        libc::EDQUOT => "the disk quota is used up (452 to the client; the upload is discarded, an old file kept)",
        libc::EIO => "the disk is failing, or was unplugged",
        libc::EROFS => {
            "the file system is read-only (mounted so, or remounted so by the kernel after disk errors): writes are refused until it is writable again"
        }
        libc::EUCLEAN => "the file system is damaged: unmount it and run fsck",
        libc::ENODEV | libc::ENXIO | libc::ENOTCONN | libc::ESTALE | libc::ESHUTDOWN => {
            "the disk or network share is gone"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_noted_other_errors_not() {
        let mut faults = Faults::default();
        let peer = "127.0.0.1:1".parse().unwrap();
        let path = VirtualPath::root();
        for errno in [libc::ENOENT, libc::EACCES, libc::EEXIST, libc::ECONNRESET] {
            faults.note(peer, "read", &path, &io::Error::from_raw_os_error(errno));
            assert!(!faults.take_seen(), "errno {errno}");
        }
        for errno in [
            libc::ENOSPC,
            libc::EDQUOT,
            libc::EIO,
            libc::EROFS,
            libc::ESTALE,
        ] {
            faults.note(peer, "read", &path, &io::Error::from_raw_os_error(errno));
            assert!(faults.take_seen(), "errno {errno}");
            assert!(!faults.take_seen(), "errno {errno}: taken twice");
        }
        faults.note_action(
            peer,
            "delete",
            &path,
            &io::Error::from_raw_os_error(libc::EROFS),
        );
        assert!(
            faults.take_seen(),
            "EROFS, said by the storage, is seen too"
        );
    }
}
