//! Durable changes: what `226` (and, with `--sync all`, the `2xx` of MKD,
//! RMD, DELE and RNTO) promises is on the disk, not in its cache, so it
//! survives a power cut — a Pi's SD card loses power more often than any
//! server's disk.
//!
//! A file's bytes are durable once `fsync(2)` on it returns; its name is
//! durable once `fsync(2)` on the folder that holds the name returns. So an
//! upload is committed in three steps, in this order:
//!
//! 1. `fsync` the file: its bytes and size are on the disk (`fdatasync`
//!    would save nothing: every upload changes the size, so the inode is
//!    written either way, and a replaced file's owner and mode, set on its
//!    fresh inode, must be there too);
//! 2. for a STOR, rename its hidden file over the target (a rename that
//!    reached the disk before the bytes would put an empty or partial file
//!    in place after a power cut: ext4 guards against that for renames
//!    over a file only, other file systems not at all);
//! 3. `fsync` the folder: the new name is on the disk.
//!
//! APPE and STOU write in place: their file is synced, and the folder too,
//! since they may have made the name. REST+STOR rewrites a file that
//! exists: its file alone. Step 1 may run early, once the upload's last
//! byte is in ([`Job::File`]), while its session waits to know whether
//! its client is still there (the settle, a few ms): the commit then
//! starts at step 2. These steps run off the event loop
//! (`sync.rs`): a [`Job`] holds every descriptor they need, opened on the
//! loop, so the worker resolves no path.

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pocketftp_core::VirtualPath;

use super::jail::Jail;
use super::sink::Sink;
use super::temps::TempFile;

/// `--sync`: what a reply waits for the disk to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Nothing is synced: the kernel writes in its own time (up to about
    /// 30 s later), and a power cut may lose what was answered.
    Off,
    /// The default: an upload's `226` waits for its file and its name.
    Uploads,
    /// Also the `2xx` of MKD, RMD, DELE and RNTO waits for the folder
    /// whose entry changed.
    All,
}

impl Durability {
    /// `--sync`'s words.
    pub fn parse(value: &str) -> Option<Durability> {
        match value.to_ascii_lowercase().as_str() {
            "off" => Some(Durability::Off),
            "uploads" => Some(Durability::Uploads),
            "all" => Some(Durability::All),
            _ => None,
        }
    }

    /// Are uploads synced before their `226`?
    pub fn uploads(self) -> bool {
        self != Durability::Off
    }

    /// Are folders synced before the reply to a change of their entries?
    pub fn folders(self) -> bool {
        self == Durability::All
    }
}

/// Work for the sync worker: every descriptor it needs, opened on the loop.
pub(crate) enum Job {
    /// An upload, put in place durably.
    Commit(Commit),
    /// A received upload's file, synced before its commit is asked for
    /// (step 1 alone); its sink comes back with the answer.
    File(Box<Sink>),
    /// Folders whose entries changed (MKD, RMD, DELE, RNTO).
    Folders(Vec<File>),
}

/// What came of a [`Job`].
pub(crate) struct Ran {
    pub result: io::Result<()>,
    /// A [`Job::File`]'s sink, given back to the loop (which alone puts it
    /// in place or drops it: file closed first, then the hidden file gone).
    pub sink: Option<Box<Sink>>,
}

impl Job {
    /// Carries the job out (on the worker: every call may wait for the disk).
    pub fn run(self) -> Ran {
        let (result, sink) = match self {
            Job::Commit(commit) => (commit.run(), None),
            Job::File(mut sink) => (sink.sync(), Some(sink)),
            Job::Folders(folders) => (folders.iter().try_for_each(File::sync_all), None),
        };
        Ran { result, sink }
    }
}

/// An upload's durable commit (the steps in the module's guide).
pub struct Commit {
    file: File,
    /// `file` was synced already (step 1 ran early).
    synced: bool,
    /// A STOR's hidden file, renamed over its target once `file` is synced.
    temp: Option<TempFile>,
    /// The folder that holds the upload's name, when the upload made or
    /// replaced it.
    folder: Option<File>,
    /// Set when nobody waits for the commit any more (`ABOR`, the session
    /// gone): a STOR not yet renamed is then discarded, the old file kept.
    abandoned: Arc<AtomicBool>,
}

/// The loop's hold on a commit it handed over: dropped, the commit is
/// abandoned (see [`Commit::abandoned`]).
#[derive(Debug)]
pub struct Pending(Arc<AtomicBool>);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

impl Commit {
    /// A commit of `file` (unless `synced` already; and of `temp`, a
    /// STOR's hidden file), syncing `folder` after (see [`reopen_folder`]);
    /// with the loop's hold on it.
    pub(super) fn new(
        file: File,
        synced: bool,
        temp: Option<TempFile>,
        folder: Option<File>,
    ) -> (Commit, Pending) {
        let abandoned = Arc::new(AtomicBool::new(false));
        let commit = Commit {
            file,
            synced,
            temp,
            folder,
            abandoned: Arc::clone(&abandoned),
        };
        (commit, Pending(abandoned))
    }

    fn run(self) -> io::Result<()> {
        // The file is closed before its hidden name is renamed or removed:
        // some FUSE mounts (rclone's without a cache) refuse to unlink an
        // open file, and one brought it back as a visible leftover.
        let synced = match self.synced {
            true => Ok(()),
            false => self.file.sync_all(),
        };
        drop(self.file);
        synced?;
        if let Some(mut temp) = self.temp {
            if self.abandoned.load(Ordering::Acquire) {
                // Dropped, the hidden file is removed: the old one stays.
                return Err(io::ErrorKind::Interrupted.into());
            }
            temp.commit()?;
        }
        match &self.folder {
            Some(folder) => folder.sync_all(),
            None => Ok(()),
        }
    }
}

impl Jail {
    /// The folder that holds `path`'s entry, opened so that it can be
    /// synced, for a change of that entry (`--sync all`).
    pub(crate) fn folder_to_sync(&self, path: &VirtualPath) -> io::Result<File> {
        reopen_folder(&self.entry(path)?.dir)
    }
}

/// A folder already open (by `O_PATH`, which `fsync` refuses), opened
/// again for reading: `fsync` takes that. Needs read permission on it,
/// which a folder the daemon writes in has.
pub(super) fn reopen_folder(folder: &OwnedFd) -> io::Result<File> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    let here: &CStr = c".";
    // SAFETY: a valid directory fd and a NUL-terminated name.
    let fd = unsafe { libc::openat(folder.as_raw_fd(), here.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor owned by nobody else.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::temps::Replace;
    use crate::storage::testing::{vp, TempDir};

    fn staged(jail: &Jail, path: &str, bytes: &[u8]) -> (Commit, Pending) {
        let (temp, mut file) = TempFile::create(
            jail.entry(&vp(path)).unwrap(),
            Replace::Any,
            &jail.node().id,
        )
        .unwrap();
        io::Write::write_all(&mut file, bytes).unwrap();
        let folder = reopen_folder(temp.folder()).unwrap();
        Commit::new(file, false, Some(temp), Some(folder))
    }

    #[test]
    fn a_commit_puts_the_upload_in_place() {
        let dir = TempDir::new("durable");
        std::fs::write(dir.0.join("f"), b"old").unwrap();
        let jail = Jail::open(&dir.0).unwrap();
        let (commit, _pending) = staged(&jail, "/f", b"new");
        Job::Commit(commit).run().result.unwrap();
        assert_eq!(std::fs::read(dir.0.join("f")).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 1);
    }

    #[test]
    fn an_abandoned_commit_keeps_the_old_file_and_leaves_no_trace() {
        let dir = TempDir::new("durable-abandoned");
        std::fs::write(dir.0.join("f"), b"old").unwrap();
        let jail = Jail::open(&dir.0).unwrap();
        let (commit, pending) = staged(&jail, "/f", b"new");
        drop(pending);
        let err = Job::Commit(commit).run().result.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Interrupted);
        assert_eq!(std::fs::read(dir.0.join("f")).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 1);
    }

    #[test]
    fn an_early_synced_upload_comes_back_to_be_committed_or_dropped() {
        let dir = TempDir::new("durable-early");
        std::fs::write(dir.0.join("f"), b"old").unwrap();
        let jail = Jail::open(&dir.0).unwrap();
        let received = |bytes: &[u8]| {
            let mut sink = jail.upload_to(&vp("/f"), Replace::Any, None).unwrap();
            sink.write(bytes).unwrap();
            Job::File(Box::new(sink)).run()
        };
        // Given up after its early sync (a client killed in the settle).
        let ran = received(b"killed");
        ran.result.unwrap();
        drop(ran.sink);
        assert_eq!(std::fs::read(dir.0.join("f")).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 1);
        // Committed after it: the rename and the folder's sync only.
        let ran = received(b"new");
        ran.result.unwrap();
        let (commit, _pending) = ran.sink.unwrap().into_commit().unwrap();
        assert!(commit.synced);
        Job::Commit(commit).run().result.unwrap();
        assert_eq!(std::fs::read(dir.0.join("f")).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 1);
    }

    #[test]
    fn folders_to_sync_are_the_parents_of_their_entries() {
        let dir = TempDir::new("durable-folders");
        std::fs::create_dir(dir.0.join("sub")).unwrap();
        let jail = Jail::open(&dir.0).unwrap();
        let sub = jail.folder_to_sync(&vp("/sub/new")).unwrap();
        let top = jail.folder_to_sync(&vp("/sub")).unwrap();
        let id = |f: &File| {
            let m = f.metadata().unwrap();
            (std::os::unix::fs::MetadataExt::ino(&m), m.is_dir())
        };
        let meta = std::fs::metadata(dir.0.join("sub")).unwrap();
        assert_eq!(id(&sub), (std::os::unix::fs::MetadataExt::ino(&meta), true));
        let meta = std::fs::metadata(&dir.0).unwrap();
        assert_eq!(id(&top), (std::os::unix::fs::MetadataExt::ino(&meta), true));
        Job::Folders(vec![sub, top]).run().result.unwrap();
        let root = jail.folder_to_sync(&vp("/")).unwrap_err();
        assert_eq!(root.raw_os_error(), Some(libc::EPERM));
    }

    #[test]
    fn sync_words() {
        assert_eq!(Durability::parse("uploads"), Some(Durability::Uploads));
        assert_eq!(Durability::parse("ALL"), Some(Durability::All));
        assert_eq!(Durability::parse("off"), Some(Durability::Off));
        assert_eq!(Durability::parse("on"), None);
        assert!(Durability::All.uploads() && Durability::All.folders());
        assert!(Durability::Uploads.uploads() && !Durability::Uploads.folders());
        assert!(!Durability::Off.uploads() && !Durability::Off.folders());
    }
}
