//! An upload's sink: where its bytes go, and how it is put in place.
//!
//! A sink that runs out of room (the disk, the floor `--min-free` keeps:
//! `space.rs`, or the user's quota: `crate::quota`) undoes what it wrote: no partial file is left for a camera
//! to mistake for a picture, and the old file stays as it was.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, OwnedFd};

use log::warn;
use pocketftp_core::{ErrorKind, VirtualPath};

use super::durable::{reopen_folder, Commit, Pending};
use super::error_kind::{bad_offset, kind_of};
use super::space::{MinFree, SpaceGuard};
use super::sys::{create_at, start_write_back, unlink_at, NameAt};
use super::temps::TempFile;
use crate::quota::Quota;

/// What an upload writes to. Dropped before [`commit`](Self::commit), it
/// is discarded: a STOR's hidden file goes, and the old file stays whole.
pub struct Sink {
    /// Declared before `temp`, so dropped (closed) before the hidden file
    /// is unlinked: an `rclone mount` without its cache writes a file out
    /// when it is closed, and would bring back one unlinked while open.
    file: File,
    /// STOR: the hidden file that takes the target's place at the commit;
    /// kept after a failed one, to go with the sink.
    temp: Option<TempFile>,
    /// REST+STOR's offset: the file is cut there only when the transfer
    /// starts, so a data connection that never comes leaves it whole.
    restart: Option<u64>,
    /// What a write that finds no room undoes.
    undo: Undo,
    space: SpaceGuard,
    /// The user's quota: what this upload may still write, and whose.
    quota: Option<(u64, VirtualPath, Quota)>,
    /// The folder (`O_PATH`) of a file written in place whose name the
    /// upload may have made (APPE, STOU): a durable commit syncs it. A
    /// STOR's is its hidden file's.
    folder: Option<OwnedFd>,
    /// Its file is synced already ([`sync`](Self::sync)): the commit
    /// need not sync it again.
    synced: bool,
    /// Bytes written since the disk was last asked to start writing them
    /// out, or `None` when the upload's 226 does not wait for an fsync.
    unstarted: Option<u64>,
}

/// How much an upload writes between two requests to the disk to start
/// writing it out. Measured on this kind of machine (STOR 512 MiB under
/// `--sync uploads`): 2 MiB 1,950 MB/s, 8 MiB 1,820-1,990, 32 MiB
/// 1,630-1,745, none 1,125-1,280. A request costs ~140 us of the loop
/// (strace -T), and other sessions' NOOP at the same upload rate stayed
/// as it was (p50 ~0.1 ms, p99 3-7 ms, `--max-rate-up 150M`).
const WRITE_BACK_STEP: u64 = 2 << 20;

/// How a sink that ran out of room leaves no partial file.
enum Undo {
    /// STOR: nothing here; its hidden file goes with the sink.
    Nothing,
    /// APPE, REST+STOR: the file back to this length (what it was, or the
    /// restart offset).
    Truncate(u64),
    /// STOU: the new name goes.
    Remove(NameAt),
}

impl Sink {
    fn new(file: File, temp: Option<TempFile>, restart: Option<u64>, undo: Undo) -> Sink {
        Sink {
            file,
            temp,
            restart,
            undo,
            space: SpaceGuard::new(MinFree::Off),
            quota: None,
            folder: None,
            synced: false,
            unstarted: None,
        }
    }

    /// The folder that holds the name of a file written in place, for a
    /// durable commit to sync.
    pub(super) fn in_folder(mut self, folder: OwnedFd) -> Sink {
        self.folder = Some(folder);
        self
    }

    /// APPE: a file written at its end.
    pub(super) fn appending(file: File) -> io::Result<Sink> {
        let length = file.metadata()?.len();
        Ok(Sink::new(file, None, None, Undo::Truncate(length)))
    }

    /// A STOR: a hidden file until the commit.
    pub(super) fn staged(temp: TempFile, file: File) -> Sink {
        Sink::new(file, Some(temp), None, Undo::Nothing)
    }

    /// REST+STOR: `file` (`size` bytes long when opened) written from
    /// `offset` on, which must not be past its end now (nor when the
    /// transfer starts).
    pub(super) fn at(file: File, size: u64, offset: u64) -> io::Result<Sink> {
        if offset > size {
            return Err(bad_offset());
        }
        Ok(Sink::new(file, None, Some(offset), Undo::Truncate(offset)))
    }

    /// Keeps `min_free` free on the file system written to: a write that
    /// would take its free space below that cuts the upload. A guard from
    /// `Jail::admit_upload` comes with that file system's answer already.
    pub fn keep_free(mut self, guard: impl Into<SpaceGuard>) -> Sink {
        self.space = guard.into();
        self
    }

    /// Keeps the upload within `room`, what is left of the quota of the
    /// user of `home`: a write beyond it cuts the upload.
    pub fn keep_within_quota(&mut self, room: u64, home: VirtualPath, quota: Quota) {
        self.quota = Some((room, home, quota));
    }

    /// The upload's 226 will wait for its file's fsync (`--sync`): the
    /// disk is asked to start writing it out while it arrives.
    pub fn write_back_early(&mut self) {
        self.unstarted = Some(0);
    }

    /// Counts `bytes` against the quota, if there is room for them.
    fn admit_quota(&mut self, bytes: u64) -> io::Result<()> {
        let Some((room, home, quota)) = &mut self.quota else {
            return Ok(());
        };
        *room = (room.checked_sub(bytes)).ok_or_else(|| crate::quota::exceeded(home, *quota))?;
        Ok(())
    }

    /// The transfer starts: REST+STOR drops what follows its offset (once).
    pub fn start(&mut self) -> io::Result<()> {
        match self.restart.take() {
            Some(offset) => cut_at(&mut self.file, offset),
            None => Ok(()),
        }
    }

    /// Takes these bytes, if there is room for them.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let fd = self.file.as_raw_fd();
        let length = bytes.len() as u64;
        let written = (self.admit_quota(length))
            .and_then(|()| self.space.admit(fd, length))
            .and_then(|()| self.file.write_all(bytes));
        if written.is_ok() {
            self.write_back(length);
        }
        match written {
            Err(e)
                if matches!(
                    kind_of(&e),
                    ErrorKind::StorageFull | ErrorKind::QuotaExceeded
                ) =>
            {
                Err(self.cut(e))
            }
            other => other,
        }
    }

    /// Every [`WRITE_BACK_STEP`] bytes, asks the disk to start writing out
    /// what it has, so the fsync before the 226 finds little left to do.
    fn write_back(&mut self, written: u64) {
        let Some(unstarted) = &mut self.unstarted else {
            return;
        };
        *unstarted = unstarted.saturating_add(written);
        if *unstarted >= WRITE_BACK_STEP {
            *unstarted = 0;
            // Only a hint: the fsync is what the 226 waits for.
            let _ = start_write_back(self.file.as_raw_fd());
        }
    }

    /// No room: undoes what this upload wrote (once), and logs why.
    fn cut(&mut self, why: io::Error) -> io::Error {
        let undone = match std::mem::replace(&mut self.undo, Undo::Nothing) {
            Undo::Nothing => Ok(()),
            Undo::Truncate(length) => self.file.set_len(length),
            Undo::Remove(new) => unlink_at(new.dir.as_raw_fd(), &new.name, 0),
        };
        match undone {
            Ok(()) => warn!("upload cut, nothing of it kept: {why}"),
            Err(e) => warn!("upload cut: {why}; undoing what it wrote failed: {e}"),
        }
        why
    }

    /// Puts the upload in place: a STOR replaces its target only now.
    pub fn commit(&mut self) -> io::Result<()> {
        if let Some(temp) = &mut self.temp {
            temp.commit()?;
        }
        self.temp = None;
        Ok(())
    }

    /// Syncs the received upload's file (on the sync worker: `fsync` may
    /// wait for the disk), before its commit is asked for: nothing is put
    /// in place, and a sink dropped after is discarded as any other.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_all()?;
        self.synced = true;
        Ok(())
    }

    /// Hands the upload over to be put in place durably, off the loop
    /// (`durable.rs`), with the loop's hold on that commit.
    pub fn into_commit(self) -> io::Result<(Commit, Pending)> {
        let folder = match &self.temp {
            Some(temp) => Some(temp.folder()),
            None => self.folder.as_ref(),
        };
        let folder = folder.map(reopen_folder).transpose()?;
        Ok(Commit::new(self.file, self.synced, self.temp, folder))
    }
}

/// REST+STOR: drops what follows `offset` and writes from there; the file
/// may have shrunk since it was opened, and a hole of zeros is no restart.
fn cut_at(file: &mut File, offset: u64) -> io::Result<()> {
    if offset > file.metadata()?.len() {
        return Err(bad_offset());
    }
    file.set_len(offset)?;
    file.seek(SeekFrom::Start(offset))?;
    Ok(())
}

/// A folder (resolved beneath the root) to create new files in: STOU's,
/// which tries names until one is free.
pub struct Folder(pub(super) OwnedFd);

impl Folder {
    /// Creates `name`, a name that must be new (`AlreadyExists` if it is
    /// not; never through a symlink), as an upload's sink.
    pub fn create_new(&self, name: &str) -> io::Result<Sink> {
        let name = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let file = create_at(self.0.as_raw_fd(), &name)?;
        let dir = self.0.try_clone()?;
        let undo = Undo::Remove(NameAt { dir, name });
        Ok(Sink::new(file, None, None, undo).in_folder(self.0.try_clone()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::jail::Jail;
    use crate::storage::testing::{vp, TempDir};
    use crate::storage::Replace;

    /// A floor of the whole file system cuts the first write: each kind of
    /// sink leaves what was there before, and nothing else.
    #[test]
    fn a_cut_leaves_no_partial_file() {
        let dir = TempDir::new("sink-cut");
        std::fs::write(dir.0.join("old"), b"old").unwrap();
        let jail = Jail::open(&dir.0).unwrap();
        let everything = MinFree::Percent(100);
        let cut = |mut sink: Sink| {
            sink.start().unwrap();
            let e = sink.write(b"new bytes").unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::StorageFull, "{e}");
        };
        cut(jail.append_to(&vp("/old")).unwrap().keep_free(everything));
        cut(jail.write_at(&vp("/old"), 1).unwrap().keep_free(everything));
        cut(jail
            .upload_to(&vp("/old"), Replace::Any, None)
            .unwrap()
            .keep_free(everything));
        let folder = jail.folder(&vp("/"), None).unwrap();
        cut(folder.create_new("unique").unwrap().keep_free(everything));
        assert_eq!(
            std::fs::read(dir.0.join("old")).unwrap(),
            b"o",
            "REST 1 keeps 1 byte"
        );
        let names: Vec<_> = std::fs::read_dir(&dir.0)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["old"]);
        // Without a floor the same writes go in.
        let mut sink = jail.append_to(&vp("/old")).unwrap();
        sink.write(b"k").unwrap();
        assert_eq!(std::fs::read(dir.0.join("old")).unwrap(), b"ok");
    }

    /// A quota's room is counted across writes: the write that would
    /// cross it cuts the upload (552), and APPE's file is as it was.
    #[test]
    fn a_quota_cut_keeps_the_old_file() {
        let dir = TempDir::new("sink-quota");
        std::fs::write(dir.0.join("old"), b"old").unwrap();
        let jail = Jail::open(&dir.0).unwrap();
        let quota = Quota {
            max_bytes: 10,
            max_files: None,
        };
        let mut sink = jail.append_to(&vp("/old")).unwrap();
        sink.keep_within_quota(5, vp("/"), quota);
        sink.write(b"1234").unwrap();
        let e = sink.write(b"56").unwrap_err();
        assert_eq!(kind_of(&e), ErrorKind::QuotaExceeded, "{e}");
        assert!(e.to_string().contains("quota of / (10 bytes)"), "{e}");
        assert_eq!(std::fs::read(dir.0.join("old")).unwrap(), b"old");
    }
}
