//! The hidden files uploads are written to, and removing those a crash left.
//!
//! STOR writes to `.pocketftpd-upload-<node>@<pid>-<nanos>-<n>` and renames
//! it over the target when complete; an upload that breaks unlinks it. Only
//! a daemon that dies (`kill -9`, power loss) leaves one behind, and then it stays
//! invisible to LIST, refused to DELE and RNFR (a reserved name), and keeps
//! RMD from removing a folder that lists empty.
//!
//! The daemon writing a temporary file holds an `flock(LOCK_EX)` on it for
//! the file's life, so a temporary file whose lock can be taken is stale,
//! even when several daemon processes serve the same folder: the sweeps here
//! remove exactly those, at start-up over the whole tree (bounded) and in a
//! folder right before RMD removes it. Where the folder is shared by several
//! boards, a lock says nothing about another board's files: those (named
//! for another node, see `node.rs`) must also have lain unchanged for
//! `--sweep-foreign-after`.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use super::dir::DirStream;
use super::node::{Node, NodeId};
use super::owner;
use super::sys::{check, create_at, rename_at, stat_at, unlink_at, NameAt};

/// Names starting with this are the daemon's own: clients can neither name
/// them (the jail refuses them, `553`) nor see them in listings.
pub const RESERVED_PREFIX: &str = ".pocketftpd-";

/// Whether a name is one of the daemon's own.
pub fn is_reserved(name: &[u8]) -> bool {
    name.starts_with(RESERVED_PREFIX.as_bytes())
}

/// What follows [`RESERVED_PREFIX`] in the name of an upload's file.
const UPLOAD_TAG: &str = "upload-";

/// At most this many folders deep does the start-up sweep go: each level
/// holds a descriptor and a `readdir` buffer. Deeper stale files are still
/// removed when their folder is (RMD).
const MAX_DEPTH: usize = 64;

/// Entries RMD looks at for stale files before it gives up (`550`): only a
/// folder of nothing but crashed uploads gets that far.
const RMD_LIMIT: usize = 1000;

/// Is `name` the name of an upload's temporary file?
fn is_temp_name(name: &[u8]) -> bool {
    name.strip_prefix(RESERVED_PREFIX.as_bytes())
        .is_some_and(|rest| rest.starts_with(UPLOAD_TAG.as_bytes()))
}

/// Sets the node id apart from the rest of an upload file's name; never in
/// a [`NodeId`].
const NODE_END: u8 = b'@';

/// Whose an upload file is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whose {
    /// This node's: its lock tells whether it is live.
    Ours,
    /// Another node's, or an older version's that named no node: only its
    /// age tells.
    Foreign,
}

/// Whose is the upload file `name` (a temporary file's), seen from `node`?
fn whose(name: &[u8], node: &NodeId) -> Whose {
    let rest = name
        .get(RESERVED_PREFIX.len() + UPLOAD_TAG.len()..)
        .unwrap_or_default();
    match rest.iter().position(|&b| b == NODE_END) {
        Some(end) if &rest[..end] == node.as_str().as_bytes() => Whose::Ours,
        _ => Whose::Foreign,
    }
}

/// Creates a new temporary file in `dir`, named for `node`, locked for as
/// long as the returned `File` (or a clone of it) is open.
pub fn create(dir: RawFd, node: &NodeId) -> io::Result<(CString, File)> {
    let pid = pid();
    let end = char::from(NODE_END);
    for attempt in 0..1000u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = CString::new(format!(
            "{RESERVED_PREFIX}{UPLOAD_TAG}{node}{end}{pid}-{nanos:x}-{attempt}"
        ))
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let file = match create_at(dir, &name) {
            Ok(file) => file,
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(e) => return Err(e),
        };
        if claim(dir, &name, &file) {
            return Ok((name, file));
        }
    }
    Err(io::Error::from_raw_os_error(libc::EEXIST))
}

/// This process's id, for temporary names: asked once, not at every upload
/// (`getpid` is a system call with glibc). It does not change: the daemon
/// never forks but for hook programs, whose child execs at once and makes
/// no temporary file.
fn pid() -> u32 {
    static PID: OnceLock<u32> = OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// Locks a file just created as `name`. Between its creation and the lock, a
/// sweep by another process may have taken it for stale: then it is theirs
/// to remove (false), and the caller tries another name. A file system
/// without `flock` gets no lock; its temporary files are then never swept.
fn claim(dir: RawFd, name: &CStr, file: &File) -> bool {
    match try_lock(file.as_raw_fd()) {
        Ok(false) => false,
        Ok(true) | Err(_) => still_named(dir, name, file.as_raw_fd()),
    }
}

/// `flock(LOCK_EX | LOCK_NB)`: true if taken, false if another open file
/// (in any process, this one included) holds a lock on it.
fn try_lock(fd: RawFd) -> io::Result<bool> {
    // SAFETY: flock on a valid descriptor.
    match check(unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) }) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Does `name` in `dir` still name the file open as `fd`?
fn still_named(dir: RawFd, name: &CStr, fd: RawFd) -> bool {
    match (stat_at(dir, name), stat_at(fd, c"")) {
        (Ok(now), Ok(ours)) => now.st_dev == ours.st_dev && now.st_ino == ours.st_ino,
        _ => false,
    }
}

/// What a sweep did with one upload file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Swept {
    Removed,
    /// Locked (live here), not a regular file, or gone meanwhile.
    Kept,
    /// Another node's, changed within `--sweep-foreign-after`: maybe live
    /// there.
    Recent,
}

/// Removes the temporary file `name` from `dir` if it is stale: a regular
/// file whose lock we can take, and, when it is another node's, unchanged
/// for `node.foreign_after`. Removes only the very file it locked.
fn remove_if_stale(dir: RawFd, name: &CStr, node: &Node) -> Swept {
    let regular = |st: &libc::stat64| st.st_mode & libc::S_IFMT == libc::S_IFREG;
    // Opening a device or a named pipe can have effects or block: look first.
    if !stat_at(dir, name).is_ok_and(|st| regular(&st)) {
        return Swept::Kept;
    }
    let flags =
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: a valid directory fd and a NUL-terminated name.
    let raw = unsafe { libc::openat(dir, name.as_ptr(), flags) };
    if raw < 0 {
        return Swept::Kept;
    }
    // SAFETY: a fresh descriptor owned by nobody else; closing it drops our lock.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // Checked again on what we opened: the name may have changed meanwhile.
    let Some(st) = stat_at(fd.as_raw_fd(), c"").ok().filter(regular) else {
        return Swept::Kept;
    };
    if whose(name.to_bytes(), &node.id) == Whose::Foreign && !older_than(&st, node.foreign_after) {
        return Swept::Recent;
    }
    let removed = try_lock(fd.as_raw_fd()).is_ok_and(|locked| locked)
        && still_named(dir, name, fd.as_raw_fd())
        && unlink_at(dir, name, 0).is_ok();
    if removed {
        Swept::Removed
    } else {
        Swept::Kept
    }
}

/// Has the file `st` describes been unchanged for `age`, by this machine's
/// clock? A modification time in the future (another board's clock ahead)
/// is not.
fn older_than(st: &libc::stat64, age: Duration) -> bool {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let changed = u64::try_from(st.st_mtime).unwrap_or(0);
    now.checked_sub(changed)
        .is_some_and(|unchanged| unchanged >= age.as_secs())
}

/// Before RMD: removes the stale temporary files of a folder, stopping at the
/// first entry that is anything else (the folder is not empty then, and a
/// big folder costs a few entries, not a full read).
pub fn sweep_folder(mut folder: DirStream, node: &Node) {
    for _ in 0..RMD_LIMIT {
        let Some((name, _)) = folder.next_name() else {
            return;
        };
        if !is_temp_name(name.to_bytes())
            || remove_if_stale(folder.fd(), &name, node) != Swept::Removed
        {
            return;
        }
    }
}

/// Opens the folder `name` in `dir` for reading, never through a symlink.
pub fn open_folder(dir: RawFd, name: &CStr) -> io::Result<DirStream> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: a valid directory fd and a NUL-terminated name.
    let raw = unsafe { libc::openat(dir, name.as_ptr(), flags) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor owned by nobody else.
    DirStream::new(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// What the start-up sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sweep {
    /// Stale temporary files removed.
    pub removed: usize,
    /// Other nodes' temporary files kept for having changed recently.
    pub recent: usize,
    /// Entries looked at.
    pub visited: usize,
    /// Folders not looked into: unreadable, or deeper than [`MAX_DEPTH`].
    pub skipped: usize,
    /// False if the limit of entries stopped the sweep.
    pub complete: bool,
}

/// Entries between two calls of a sweep's progress callback.
pub const PROGRESS_EVERY: usize = 1000;

/// Removes the stale temporary files in the folder `root` and below, looking
/// at no more than `limit` entries and never following a symlink; calls
/// `progress` after every [`PROGRESS_EVERY`] entries (a big tree on an SD
/// card takes seconds: the caller may say so).
pub fn sweep_tree(
    root: RawFd,
    limit: usize,
    node: &Node,
    progress: &mut dyn FnMut(&Sweep),
) -> Sweep {
    let mut sweep = Sweep {
        complete: true,
        ..Sweep::default()
    };
    let mut stack = Vec::new();
    match open_folder(root, c".") {
        Ok(folder) => stack.push(folder),
        Err(_) => sweep.skipped += 1,
    }
    while let Some(folder) = stack.last_mut() {
        let Some((name, kind)) = folder.next_name() else {
            stack.pop();
            continue;
        };
        if sweep.visited == limit {
            sweep.complete = false;
            break;
        }
        sweep.visited += 1;
        if sweep.visited % PROGRESS_EVERY == 0 {
            progress(&sweep);
        }
        let fd = folder.fd();
        if is_temp_name(name.to_bytes()) {
            match remove_if_stale(fd, &name, node) {
                Swept::Removed => sweep.removed += 1,
                Swept::Recent => sweep.recent += 1,
                Swept::Kept => {}
            }
        } else if is_folder(fd, &name, kind) {
            let sub = if stack.len() < MAX_DEPTH {
                open_folder(fd, &name).ok()
            } else {
                None
            };
            match sub {
                Some(sub) => stack.push(sub),
                None => sweep.skipped += 1,
            }
        }
    }
    sweep
}

/// Is `name` in `dir` a folder (not a symlink to one)? `d_type` says so on
/// most file systems; the others answer `DT_UNKNOWN` and need a stat.
fn is_folder(dir: RawFd, name: &CStr, kind: u8) -> bool {
    match kind {
        libc::DT_DIR => true,
        libc::DT_UNKNOWN => {
            stat_at(dir, name).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
        }
        _ => false,
    }
}

/// What an upload may take the place of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replace {
    /// Whatever is there (a `super` session's STOR).
    Any,
    /// Nothing: the name must be free, at the open and at the commit (an
    /// `upload` session's).
    Nothing,
    /// Only a file this account uploaded itself (see `owner.rs`); the
    /// upload is marked as the account's.
    Own(String),
}

impl Replace {
    /// May the file `name` in `dir`, which exists, be replaced?
    fn allows(&self, dir: RawFd, name: &CStr) -> bool {
        match self {
            Replace::Any => true,
            Replace::Nothing => false,
            Replace::Own(account) => owner::is_own(dir, name, account),
        }
    }
}

/// A hidden file receiving an upload, removed unless [`commit`](Self::commit)ted:
/// an upload that breaks leaves the old file as it was and no trace behind.
/// The `File` that comes with it holds its lock (see [`temps`]): while that
/// is open, no sweep takes it for a crashed daemon's.
pub struct TempFile {
    entry: NameAt,
    temp: CString,
    /// What it may take the place of.
    replace: Replace,
    committed: bool,
}

impl TempFile {
    /// Creates a fresh hidden file in the folder of `target` (a name in a
    /// folder resolved beneath the root). When it
    /// replaces a regular file, it gets that file's permission bits (and
    /// owner, where we may), before any byte is written: a 0600 file must
    /// not come back 0644, nor its new content be readable meanwhile.
    /// A target that `replace` does not allow to replace is `EEXIST`, now
    /// and when the upload is committed.
    pub fn create(entry: NameAt, replace: Replace, node: &NodeId) -> io::Result<(TempFile, File)> {
        let existing = stat_at(entry.dir.as_raw_fd(), &entry.name).ok();
        let kind = |st: &libc::stat64| st.st_mode & libc::S_IFMT;
        if existing.is_some_and(|st| kind(&st) == libc::S_IFDIR) {
            return Err(io::Error::from_raw_os_error(libc::EISDIR));
        }
        if existing.is_some() && !replace.allows(entry.dir.as_raw_fd(), &entry.name) {
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        let (temp, file) = create(entry.dir.as_raw_fd(), node)?;
        if let Replace::Own(account) = &replace {
            owner::mark(file.as_raw_fd(), account);
        }
        let temp = TempFile {
            entry,
            temp,
            replace,
            committed: false,
        };
        if let Some(old) = existing.filter(|st| kind(st) == libc::S_IFREG) {
            take_owner_and_mode(&file, &old)?;
        }
        Ok((temp, file))
    }

    /// The folder it is in, where its target's name is.
    pub(super) fn folder(&self) -> &OwnedFd {
        &self.entry.dir
    }

    /// Moves the finished upload over the target, if `replace` allows
    /// that of what is there now, or else into its place only if it is
    /// still free. Failed, it is still to be dropped, which removes it.
    pub fn commit(&mut self) -> io::Result<()> {
        let from = NameAt {
            dir: self.entry.dir.try_clone()?,
            name: self.temp.clone(),
        };
        let (dir, name) = (&self.entry.dir, &self.entry.name);
        rename_if(&from, dir, name, &self.replace)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = unlink_at(self.entry.dir.as_raw_fd(), &self.temp, 0);
        }
    }
}

/// Gives a replacement the owner and permission bits of the file it
/// replaces. A read-only (0444) file stays read-only but is replaced all the
/// same, as by vsftpd: whether a name may be replaced is the folder's
/// business. Set-id and sticky bits are not carried over: uploaded content
/// must never become a setuid program. The owner is copied only where the
/// kernel lets us (root, or our own file and group); otherwise the upload
/// keeps ours.
fn take_owner_and_mode(file: &File, old: &libc::stat64) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // EPERM: not ours to give away; EINVAL: an id this user namespace
    // cannot map. Neither is a reason to refuse the upload.
    // SAFETY: fchown on a valid descriptor.
    match check(unsafe { libc::fchown(fd, old.st_uid, old.st_gid) }) {
        Err(e) if !matches!(e.raw_os_error(), Some(libc::EPERM | libc::EINVAL)) => return Err(e),
        _ => {}
    }
    // After fchown, which may clear mode bits.
    // SAFETY: fchmod on a valid descriptor.
    check(unsafe { libc::fchmod(fd, old.st_mode & 0o777) })
}

/// Renames `from` to `to_name` in `to_dir` over what is there if `replace`
/// allows that (checked right before), else only into a free name.
pub(super) fn rename_if(
    from: &NameAt,
    to_dir: &OwnedFd,
    to_name: &CStr,
    replace: &Replace,
) -> io::Result<()> {
    let taken = stat_at(to_dir.as_raw_fd(), to_name).is_ok();
    if taken && replace.allows(to_dir.as_raw_fd(), to_name) {
        rename_at(from, to_dir, to_name)
    } else {
        rename_no_replace(from, to_dir, to_name)
    }
}

/// Renames unless `to_name` exists (`EEXIST`), atomically where the file
/// system knows `RENAME_NOREPLACE`; elsewhere a hard link (which never
/// replaces) and an unlink; on file systems with neither, a check right
/// before the rename. A file system without hard links may say so with any
/// error: FAT says `EPERM`, an `rclone mount` `EIO` (after `EINVAL` for
/// `RENAME_NOREPLACE`), so every `linkat` error but `EEXIST` moves on.
fn rename_no_replace(from: &NameAt, to_dir: &OwnedFd, to_name: &CStr) -> io::Result<()> {
    // SAFETY: valid directory fds and NUL-terminated names; renameat2 takes
    // no other pointers.
    let renamed = check(unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            from.dir.as_raw_fd(),
            from.name.as_ptr(),
            to_dir.as_raw_fd(),
            to_name.as_ptr(),
            libc::RENAME_NOREPLACE,
        ) as libc::c_int
    });
    match renamed {
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {}
        other => return other,
    }
    // SAFETY: as above; linkat with no flags follows nothing.
    let linked = check(unsafe {
        libc::linkat(
            from.dir.as_raw_fd(),
            from.name.as_ptr(),
            to_dir.as_raw_fd(),
            to_name.as_ptr(),
            0,
        )
    });
    match linked {
        Ok(()) => unlink_at(from.dir.as_raw_fd(), &from.name, 0),
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Err(e),
        Err(_) => {
            if stat_at(to_dir.as_raw_fd(), to_name).is_ok() {
                return Err(io::Error::from_raw_os_error(libc::EEXIST));
            }
            rename_at(from, to_dir, to_name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::jail::Jail;
    use crate::storage::testing::{vp, TempDir};
    use std::path::Path;

    /// The node the tests' daemon runs as: other nodes' files count as a
    /// crash's after an hour.
    fn here() -> Node {
        Node {
            id: NodeId::parse("here").unwrap(),
            foreign_after: Duration::from_secs(3600),
        }
    }

    /// A stale temporary file: what a daemon of [`here`] killed mid-upload
    /// leaves.
    fn stale(folder: &Path, n: u32) -> std::path::PathBuf {
        left_by(folder, &format!("here@1-2-{n}"))
    }

    /// An upload file left by whoever `tail` names, unlocked.
    fn left_by(folder: &Path, tail: &str) -> std::path::PathBuf {
        let path = folder.join(format!("{RESERVED_PREFIX}{UPLOAD_TAG}{tail}"));
        std::fs::write(&path, b"half").unwrap();
        path
    }

    /// Sets a file's modification time `ago` into the past.
    fn age(path: &Path, ago: Duration) {
        let file = File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - ago).unwrap();
    }

    fn folder_fd(path: &Path) -> File {
        File::open(path).unwrap()
    }

    #[test]
    fn a_live_temp_file_is_locked_and_a_closed_one_is_stale() {
        let dir = TempDir::new("temps-lock");
        let fd = folder_fd(&dir.0);
        let (name, file) = create(fd.as_raw_fd(), &here().id).unwrap();
        assert!(is_temp_name(name.to_bytes()));
        assert!(name
            .to_str()
            .unwrap()
            .starts_with(".pocketftpd-upload-here@"));
        assert_eq!(remove_if_stale(fd.as_raw_fd(), &name, &here()), Swept::Kept);
        assert!(dir.0.join(name.to_str().unwrap()).exists());
        drop(file);
        assert_eq!(
            remove_if_stale(fd.as_raw_fd(), &name, &here()),
            Swept::Removed
        );
        assert!(!dir.0.join(name.to_str().unwrap()).exists());
    }

    #[test]
    fn the_tree_sweep_removes_stale_files_only_and_follows_no_symlink() {
        let dir = TempDir::new("temps-tree");
        let root = dir.0.join("root");
        let outside = dir.0.join("outside");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        let deep = stale(&root.join("a/b"), 1);
        let top = stale(&root, 2);
        let not_followed = stale(&outside, 3);
        let upload_lookalike = root.join(format!("{RESERVED_PREFIX}other"));
        std::fs::write(&upload_lookalike, b"").unwrap();
        std::fs::write(root.join("a/keep"), b"").unwrap();
        let fifo = root.join(format!("{RESERVED_PREFIX}{UPLOAD_TAG}fifo"));
        let fifo_name = CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo_name.as_ptr(), 0o644) }, 0);
        let (live, _held) = create(folder_fd(&root.join("a")).as_raw_fd(), &here().id).unwrap();
        let live = root.join("a").join(live.to_str().unwrap());

        let sweep = sweep_tree(folder_fd(&root).as_raw_fd(), 100, &here(), &mut |_| {});
        assert_eq!((sweep.removed, sweep.skipped, sweep.complete), (2, 0, true));
        assert_eq!(sweep.visited, 9);
        assert!(!deep.exists() && !top.exists());
        assert!(not_followed.exists() && upload_lookalike.exists() && live.exists());
        assert!(fifo.exists());
        assert!(root.join("a/keep").exists());
    }

    #[test]
    fn the_tree_sweep_stops_at_its_limit() {
        let dir = TempDir::new("temps-limit");
        for n in 0..5 {
            stale(&dir.0, n);
        }
        let sweep = sweep_tree(folder_fd(&dir.0).as_raw_fd(), 3, &here(), &mut |_| {});
        assert_eq!(
            (sweep.removed, sweep.visited, sweep.complete),
            (3, 3, false)
        );
        assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 2);
    }

    #[test]
    fn a_long_sweep_reports_its_progress() {
        let dir = TempDir::new("temps-progress");
        for n in 0..(2 * PROGRESS_EVERY + 10) {
            std::fs::write(dir.0.join(format!("f{n}")), b"").unwrap();
        }
        let mut seen = Vec::new();
        let sweep = sweep_tree(
            folder_fd(&dir.0).as_raw_fd(),
            usize::MAX,
            &here(),
            &mut |s| seen.push(s.visited),
        );
        assert!(sweep.complete);
        assert_eq!(seen, [PROGRESS_EVERY, 2 * PROGRESS_EVERY]);
    }

    /// `Replace::Own`: an account's upload is marked as its own, and only
    /// its own uploads are replaced, by a STOR or by a rename.
    #[test]
    fn an_account_replaces_its_own_uploads_only() {
        let dir = TempDir::new("temps-own");
        let jail = Jail::open(&dir.0).unwrap();
        let own = |name: &str| Replace::Own(name.to_owned());
        let upload = |path: &str, body: &[u8], replace: Replace| {
            let (mut temp, mut file) =
                TempFile::create(jail.entry(&vp(path)).unwrap(), replace, &here().id)?;
            io::Write::write_all(&mut file, body).unwrap();
            temp.commit()
        };
        upload("/snapshot.jpg", b"1", own("cam1")).unwrap();
        std::fs::write(dir.0.join("placed.jpg"), b"admin's").unwrap();
        let folder = File::open(&dir.0).unwrap();
        if !owner::is_own(folder.as_raw_fd(), c"snapshot.jpg", "cam1") {
            return eprintln!("no extended attributes in {}: skipped", dir.0.display());
        }
        upload("/snapshot.jpg", b"2", own("cam1")).unwrap();
        assert_eq!(std::fs::read(dir.0.join("snapshot.jpg")).unwrap(), b"2");
        let refused = |path, account| upload(path, b"x", own(account)).unwrap_err();
        assert_eq!(
            refused("/snapshot.jpg", "cam2").raw_os_error(),
            Some(libc::EEXIST)
        );
        assert_eq!(
            refused("/placed.jpg", "cam1").raw_os_error(),
            Some(libc::EEXIST)
        );
        // A rename by the account over its own upload; never over another's.
        upload("/snapshot.jpg.part", b"3", own("cam1")).unwrap();
        let part = vp("/snapshot.jpg.part");
        let rename = |to: &str, account| jail.rename_upload(&part, &vp(to), account);
        let taken = rename("/placed.jpg", Some("cam1")).unwrap_err();
        assert_eq!(taken.raw_os_error(), Some(libc::EEXIST));
        let taken = rename("/snapshot.jpg", None).unwrap_err();
        assert_eq!(taken.raw_os_error(), Some(libc::EEXIST));
        rename("/snapshot.jpg", Some("cam1")).unwrap();
        assert_eq!(std::fs::read(dir.0.join("snapshot.jpg")).unwrap(), b"3");
        assert_eq!(std::fs::read(dir.0.join("placed.jpg")).unwrap(), b"admin's");
    }

    #[test]
    fn rmd_removes_a_folder_of_stale_files_only() {
        let dir = TempDir::new("temps-rmd");
        for name in ["crashed", "busy", "full"] {
            std::fs::create_dir(dir.0.join(name)).unwrap();
            stale(&dir.0.join(name), 1);
        }
        std::fs::write(dir.0.join("full/file"), b"").unwrap();
        let (_, _held) = create(folder_fd(&dir.0.join("busy")).as_raw_fd(), &here().id).unwrap();
        let jail = Jail::open(&dir.0).unwrap().for_node(here());
        jail.remove_dir(&vp("/crashed")).unwrap();
        assert!(!dir.0.join("crashed").exists());
        for busy in ["/busy", "/full"] {
            let error = jail.remove_dir(&vp(busy)).unwrap_err();
            assert_eq!(error.raw_os_error(), Some(libc::ENOTEMPTY), "{busy}");
        }
    }

    /// On a folder several boards share, a lock says nothing of another
    /// board's upload: another node's file (or an older version's, which
    /// named no node) goes only once unchanged for `foreign_after`, at
    /// start-up and before RMD alike; this node's goes at once.
    #[test]
    fn other_nodes_files_go_only_once_old() {
        let dir = TempDir::new("temps-nodes");
        let root = dir.0.join("root");
        std::fs::create_dir_all(root.join("old")).unwrap();
        let ours = stale(&root, 1);
        let theirs = left_by(&root, "there@7-8-9");
        let legacy = left_by(&root, "7-8-9");
        let future = left_by(&root, "there@1-1-1");
        age(&theirs, Duration::from_secs(3500));
        age(&legacy, Duration::from_secs(60));
        future_time(&future);
        let old_theirs = left_by(&root.join("old"), "there@1-2-3");
        let old_legacy = left_by(&root.join("old"), "1-2-3");
        age(&old_theirs, Duration::from_secs(3601));
        age(&old_legacy, Duration::from_secs(7200));

        let sweep = sweep_tree(folder_fd(&root).as_raw_fd(), 100, &here(), &mut |_| {});
        assert_eq!((sweep.removed, sweep.recent), (3, 3));
        assert!(!ours.exists() && !old_theirs.exists() && !old_legacy.exists());
        assert!(theirs.exists() && legacy.exists() && future.exists());

        let jail = Jail::open(&root).unwrap().for_node(here());
        std::fs::create_dir(root.join("busy")).unwrap();
        let busy = left_by(&root.join("busy"), "there@1-2-3");
        let error = jail.remove_dir(&vp("/busy")).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::ENOTEMPTY));
        age(&busy, Duration::from_secs(3600));
        jail.remove_dir(&vp("/busy")).unwrap();
    }

    /// Sets a file's modification time a day ahead: a board whose clock is.
    fn future_time(path: &Path) {
        let file = File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() + Duration::from_secs(86400))
            .unwrap();
    }
}
