//! File-system access beneath the served root, enforced by the kernel.
//!
//! Every [`VirtualPath`] is resolved beneath a descriptor of the root, so
//! `..` and symlinks that lead outside it fail with `EXDEV` at the moment of
//! opening — no string prefix tests, no window between a check and its use:
//! with `openat2(2)` and `RESOLVE_BENEATH` where the kernel has it, one
//! `openat(2)` per component where it has not (see `resolve.rs`). Operations
//! on a name (create, delete, rename, mkdir) resolve the *parent* folder that
//! way and then act on the last component with the `*at` calls, which never
//! follow it out.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use log::info;
use pocketftp_core::{FileKind, Metadata, VirtualPath};

use super::node::Node;
use super::refusal::{self, Doing};
pub use super::resolve::Resolver;
use super::sys::{check, fstat, rename_at, stat_at, unlink_at, NameAt, NEW_FOLDER_MODE};
use super::temps::{self, Replace, Sweep};

/// How a folder is opened to make or name entries in (never read).
pub(super) const FOLDER_FLAGS: i32 = libc::O_PATH | libc::O_DIRECTORY;

/// A test-only switch: set to `1`, [`Jail::open`] resolves with
/// [`Resolver::Fallback`] even where `openat2` works, so that the end-to-end
/// tests run the fallback on any kernel. Read once, when the daemon opens
/// its root at start-up; never needed in production, where the kernel is
/// probed instead.
pub const FORCE_FALLBACK_ENV: &str = "POCKETFTPD_FORCE_FALLBACK_RESOLVER";

/// The served folder.
#[derive(Debug)]
pub struct Jail {
    root: OwnedFd,
    /// Probed once at [`Jail::open`]; a home inherits it.
    resolver: Resolver,
    /// Names the upload files, and says whose leftovers a sweep may take
    /// (the host's name unless [`Jail::for_node`] says otherwise); a home
    /// inherits it.
    node: Arc<Node>,
    /// Where the root is, for the admin's log lines (never used to open).
    host: PathBuf,
}

impl Jail {
    /// Opens the root folder (an error if it is not a folder) with the
    /// resolver this kernel needs, or the fallback if [`FORCE_FALLBACK_ENV`]
    /// is `1`, and logs which.
    pub fn open(root: &Path) -> io::Result<Jail> {
        let forced = std::env::var_os(FORCE_FALLBACK_ENV).is_some_and(|v| v == "1");
        let folder = open_folder(root)?;
        let resolver = if forced {
            Resolver::Fallback
        } else {
            Resolver::probe(folder.as_raw_fd())
        };
        let jail = Jail::with(folder, resolver, host_path(root))?;
        let why = match (resolver, forced) {
            (Resolver::Openat2, _) => "",
            (Resolver::Fallback, true) => {
                ": forced by POCKETFTPD_FORCE_FALLBACK_RESOLVER=1, a test-only switch"
            }
            (Resolver::Fallback, false) => {
                ": this kernel has no openat2(2), or a seccomp filter blocks it"
            }
        };
        info!("paths resolved with {}{why}", resolver.describe());
        Ok(jail)
    }

    /// Opens the root folder with the given resolver, whatever the kernel
    /// offers: for tests, which run every case under both. `Openat2` on a
    /// kernel without it fails here, saying so.
    pub fn open_with(root: &Path, resolver: Resolver) -> io::Result<Jail> {
        Jail::with(open_folder(root)?, resolver, host_path(root))
    }

    /// The resolver in use.
    pub fn resolver(&self) -> Resolver {
        self.resolver
    }

    /// The same root, its upload files named for `node` (see `node.rs`).
    pub fn for_node(self, node: Node) -> Jail {
        Jail {
            node: Arc::new(node),
            ..self
        }
    }

    /// The node the upload files are named for.
    pub fn node(&self) -> &Node {
        &self.node
    }

    fn with(root: OwnedFd, resolver: Resolver, host: PathBuf) -> io::Result<Jail> {
        let jail = Jail {
            root,
            resolver,
            node: Arc::default(),
            host,
        };
        jail.resolve(".", libc::O_PATH | libc::O_DIRECTORY, 0)
            .map_err(|e| {
                if e.raw_os_error() == Some(libc::ENOSYS) {
                    io::Error::other("this kernel has no openat2(2) (Linux 5.6 or later has it)")
                } else {
                    e
                }
            })?;
        Ok(jail)
    }

    /// A folder below the root as a jail of its own: a user's home, which
    /// that user cannot leave (paths are resolved beneath it, as beneath the
    /// root, and by the root's resolver).
    pub fn home(&self, path: &VirtualPath) -> io::Result<Jail> {
        let root = self.open_path(path, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        Ok(Jail {
            root,
            resolver: self.resolver,
            node: Arc::clone(&self.node),
            host: self.host.join(path.relative()),
        })
    }

    /// Where the root is on this machine (for messages; absolute where it
    /// could be made so).
    pub fn host(&self) -> &Path {
        &self.host
    }

    /// `error`, after logging why the file system refused `doing` at `path`
    /// when that is the admin's to fix (see `refusal.rs`). The root itself
    /// is refused by the jail, not the file system: nothing to log there.
    pub(super) fn refused(&self, doing: Doing, path: &VirtualPath, error: io::Error) -> io::Error {
        if path.is_root() {
            return error;
        }
        refusal::note(doing, &self.host.join(path.relative()), error)
    }

    /// Whether the root is still the folder `path` names: not deleted,
    /// nor another folder now (a disk mounted there or unmounted from
    /// there, the folder made again). `Err`: `path` names nothing.
    pub fn is_at(&self, path: &Path) -> io::Result<bool> {
        let named = std::fs::metadata(path)?;
        let held = stat_at(self.root.as_raw_fd(), c"");
        Ok(held.is_ok_and(|held| {
            held.st_nlink > 0 && held.st_dev == named.dev() && held.st_ino == named.ino()
        }))
    }

    /// The served file system's free bytes (for unprivileged users) and
    /// size, for the admin's status page and `/metrics`.
    pub fn space(&self) -> io::Result<(u64, u64)> {
        // SAFETY: all-zero bytes are a valid statvfs, filled in by the call.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: a descriptor we own and a statvfs to fill.
        if unsafe { libc::fstatvfs(self.root.as_raw_fd(), &mut st) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // fsblkcnt_t and c_ulong are 32 bits on armv7 boards, 64 here.
        #[allow(clippy::useless_conversion)]
        let (unit, free, blocks) = (
            u64::from(st.f_frsize),
            u64::from(st.f_bavail),
            u64::from(st.f_blocks),
        );
        Ok((free.saturating_mul(unit), blocks.saturating_mul(unit)))
    }

    /// Opens `path` with `flags`, resolving beneath the root.
    pub(super) fn open_path(
        &self,
        path: &VirtualPath,
        flags: i32,
        mode: u32,
    ) -> io::Result<OwnedFd> {
        refuse_reserved(path)?;
        let relative = if path.is_root() { "." } else { path.relative() };
        self.resolve(relative, flags, mode)
    }

    /// Opens a regular file for reading; with its size.
    pub(super) fn open_read(&self, path: &VirtualPath) -> io::Result<(File, u64)> {
        self.open_file(path, libc::O_RDONLY, 0)
    }

    /// Opens a regular file, and says its size: the one `fstat` that checks
    /// what was opened is the only one (a 4 KiB RETR is a few dozen system
    /// calls; each counts). Opening never blocks (a named pipe would wait
    /// for a writer, stalling every session): anything but a regular file is
    /// refused once open.
    pub(super) fn open_file(
        &self,
        path: &VirtualPath,
        flags: i32,
        mode: u32,
    ) -> io::Result<(File, u64)> {
        let file = File::from(self.open_path(path, flags | libc::O_NONBLOCK, mode)?);
        let meta = fstat(file.as_raw_fd())?;
        match meta.kind {
            FileKind::File => {
                set_blocking(&file, flags)?;
                Ok((file, meta.size))
            }
            FileKind::Dir => Err(io::Error::from_raw_os_error(libc::EISDIR)),
            // Ours, not the file system's: no errno, so no log line blames
            // the permissions (see `refusal.rs`).
            _ => Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "not a regular file",
            )),
        }
    }

    /// Metadata of `path`, following symlinks that stay inside the root.
    pub fn stat(&self, path: &VirtualPath) -> io::Result<Metadata> {
        let fd = (self.open_path(path, libc::O_PATH, 0))
            .map_err(|e| self.refused(Doing::LookUp, path, e))?;
        fstat(fd.as_raw_fd())
    }

    /// The parent folder of `path` (resolved beneath the root) and its name.
    pub(super) fn entry(&self, path: &VirtualPath) -> io::Result<NameAt> {
        self.entry_in(path, None)
    }

    /// [`entry`](Self::entry), in `parent` if that folder is open already.
    pub(super) fn entry_in(
        &self,
        path: &VirtualPath,
        parent: Option<OwnedFd>,
    ) -> io::Result<NameAt> {
        if path.is_root() {
            return Err(io::Error::from_raw_os_error(libc::EPERM));
        }
        refuse_reserved(path)?;
        let dir = match parent {
            Some(dir) => dir,
            None => self.open_path(&path.parent(), FOLDER_FLAGS, 0)?,
        };
        let name = CString::new(path.file_name())
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        Ok(NameAt { dir, name })
    }

    /// Makes a folder with mode `NEW_FOLDER_MODE` (0777) less the umask.
    pub fn make_dir(&self, path: &VirtualPath) -> io::Result<()> {
        let e = self.entry(path)?;
        // SAFETY: a valid directory fd and a NUL-terminated name.
        check(unsafe { libc::mkdirat(e.dir.as_raw_fd(), e.name.as_ptr(), NEW_FOLDER_MODE) })
            .map_err(|error| self.refused(Doing::MakeFolder, path, error))
    }

    /// Removes an empty folder. One that holds nothing but stale upload
    /// files (a crashed daemon's, invisible to LIST) counts as empty: they
    /// are removed first.
    pub fn remove_dir(&self, path: &VirtualPath) -> io::Result<()> {
        let e = self.entry(path)?;
        let dir = e.dir.as_raw_fd();
        let removed = match unlink_at(dir, &e.name, libc::AT_REMOVEDIR) {
            Err(error) if error.raw_os_error() == Some(libc::ENOTEMPTY) => {
                let Ok(folder) = temps::open_folder(dir, &e.name) else {
                    return Err(error);
                };
                temps::sweep_folder(folder, &self.node);
                unlink_at(dir, &e.name, libc::AT_REMOVEDIR)
            }
            done => done,
        };
        removed.map_err(|error| self.refused(Doing::RemoveFolder, path, error))
    }

    /// Removes the stale upload files in the whole tree, looking at no more
    /// than `limit` entries, calling `progress` now and then (see
    /// `temps.rs`). For start-up, before serving.
    pub fn sweep_stale_temps(&self, limit: usize, progress: &mut dyn FnMut(&Sweep)) -> Sweep {
        temps::sweep_tree(self.root.as_raw_fd(), limit, &self.node, progress)
    }

    /// Deletes a file (a folder is `EISDIR`).
    pub fn delete(&self, path: &VirtualPath) -> io::Result<()> {
        let e = self.entry(path)?;
        unlink_at(e.dir.as_raw_fd(), &e.name, 0)
            .map_err(|error| self.refused(Doing::Delete, path, error))
    }

    pub fn rename(&self, from: &VirtualPath, to: &VirtualPath) -> io::Result<()> {
        let (a, b) = (self.entry(from)?, self.entry(to)?);
        rename_at(&a, &b.dir, &b.name).map_err(|error| self.refused(Doing::Rename, from, error))
    }

    /// An `upload` session's rename of what it uploaded: never over an
    /// existing name (`EEXIST`), except, with `account`, that account's own
    /// upload (see `owner.rs`).
    pub fn rename_upload(
        &self,
        from: &VirtualPath,
        to: &VirtualPath,
        account: Option<&str>,
    ) -> io::Result<()> {
        let (a, b) = (self.entry(from)?, self.entry(to)?);
        let replace = account.map_or(Replace::Nothing, |a| Replace::Own(a.to_owned()));
        temps::rename_if(&a, &b.dir, &b.name, &replace)
            .map_err(|error| self.refused(Doing::Rename, from, error))
    }

    /// `SITE CHMOD`: sets the permission bits of `path`. The entry is opened
    /// beneath the root like every path, so a symlink is followed only to a
    /// target inside the root (one leading out is `EXDEV`), and the change
    /// goes to the very inode opened, whatever the tree does meanwhile. The
    /// served root itself is refused, as for every change of a name.
    pub fn set_mode(&self, path: &VirtualPath, mode: u32) -> io::Result<()> {
        if path.is_root() {
            return Err(io::Error::from_raw_os_error(libc::EPERM));
        }
        let target = self.open_path(path, libc::O_PATH, 0)?;
        chmod_fd(target.as_raw_fd(), mode & 0o777)
            .map_err(|error| self.refused(Doing::ChangeMode, path, error))
    }

    /// Sets the modification time (MFMT), leaving the access time alone, and
    /// returns the metadata as stored: file systems clamp times they cannot
    /// hold (ext4 keeps nothing before 1901-12-13), and MFMT's reply must
    /// say what MDTM will answer, not what was asked.
    pub fn set_modified(&self, path: &VirtualPath, unix: i64) -> io::Result<Metadata> {
        // A time a 32-bit board's time_t cannot hold (past 2038) is refused,
        // not wrapped into another date; on 64-bit targets this converts
        // an i64 to itself.
        #[allow(clippy::useless_conversion)]
        let seconds = unix
            .try_into()
            .map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
        let fd = (self.open_path(path, libc::O_RDONLY | libc::O_NONBLOCK, 0))
            .map_err(|e| self.refused(Doing::SetTime, path, e))?;
        let times = [
            libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_OMIT,
            },
            libc::timespec {
                tv_sec: seconds,
                tv_nsec: 0,
            },
        ];
        // SAFETY: a valid fd and a two-element timespec array.
        check(unsafe { libc::futimens(fd.as_raw_fd(), times.as_ptr()) })
            .map_err(|e| self.refused(Doing::SetTime, path, e))?;
        fstat(fd.as_raw_fd())
    }

    fn resolve(&self, relative: &str, flags: i32, mode: u32) -> io::Result<OwnedFd> {
        self.resolver
            .open(self.root.as_raw_fd(), relative, flags, mode)
    }
}

/// The root as the admin's messages name it: absolute (symlinks resolved)
/// where that works, as given otherwise.
fn host_path(root: &Path) -> PathBuf {
    std::fs::canonicalize(root)
        .or_else(|_| std::path::absolute(root))
        .unwrap_or_else(|_| root.to_path_buf())
}

/// A folder to serve, as a descriptor.
fn open_folder(root: &Path) -> io::Result<OwnedFd> {
    let root = File::open(root)?;
    if !root.metadata()?.is_dir() {
        return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
    }
    Ok(root.into())
}

/// The daemon's own files (unfinished uploads) cannot be named by clients:
/// `EINVAL`, which the protocol answers `553`.
fn refuse_reserved(path: &VirtualPath) -> io::Result<()> {
    if path
        .as_str()
        .split('/')
        .any(|c| temps::is_reserved(c.as_bytes()))
    {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    Ok(())
}

/// `chmod` of what a descriptor opened, which may be an `O_PATH` one (no
/// read permission needed, as for `chmod(1)`): `fchmod` refuses those, so
/// the change goes through `/proc/self/fd/N`, a link to the very inode
/// that is never resolved through the tree again (as glibc's `fchmodat`
/// does for `AT_SYMLINK_NOFOLLOW`).
fn chmod_fd(fd: RawFd, mode: u32) -> io::Result<()> {
    let link = CString::new(format!("/proc/self/fd/{fd}"))
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: a NUL-terminated path.
    check(unsafe { libc::chmod(link.as_ptr(), mode as libc::mode_t) })
}

/// Clears O_NONBLOCK again: regular-file I/O then behaves as usual.
/// `F_SETFL` changes only the status flags O_APPEND, O_ASYNC, O_DIRECT,
/// O_NOATIME and O_NONBLOCK, so the flags the file was opened with
/// (`opened`, without O_NONBLOCK) are exactly what to set: one call, no
/// `F_GETFL` first.
fn set_blocking(file: &File, opened: i32) -> io::Result<()> {
    // SAFETY: F_SETFL on a valid descriptor.
    check(unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFL, opened & !libc::O_NONBLOCK) })
}

#[cfg(test)]
mod tests {
    use super::super::resolve::tests::both_resolvers;
    use super::*;
    use crate::storage::temps::TempFile;
    use crate::storage::testing::{vp, TempDir};
    both_resolvers!(
        symlinks_out_of_the_root_are_refused,
        symlinks_inside_the_root_are_followed,
        named_pipes_are_refused_without_blocking,
        names_operations,
        set_modified_returns_the_time_the_file_system_stored,
        temp_files_vanish_unless_committed,
        new_only_uploads_never_replace,
        a_home_is_a_root_of_its_own,
        new_files_and_folders_take_the_umask,
        set_mode_changes_files_folders_and_inner_symlink_targets,
        set_mode_never_reaches_outside_the_root,
        opened_files_block_and_keep_append,
    );

    /// A STOR's hidden file for `path`, as `upload_to` makes it.
    fn stage(jail: &Jail, path: &str, replace: Replace) -> io::Result<(TempFile, File)> {
        TempFile::create(jail.entry(&vp(path))?, replace, &jail.node().id)
    }

    fn setup(resolver: Resolver) -> (TempDir, Jail) {
        let dir = TempDir::new("jail");
        let root = dir.0.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/file.txt"), b"inside").unwrap();
        std::fs::write(dir.0.join("secret"), b"outside").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etc")).unwrap();
        std::os::unix::fs::symlink("../secret", root.join("up")).unwrap();
        std::os::unix::fs::symlink("sub/file.txt", root.join("inner")).unwrap();
        let jail = Jail::open_with(&root, resolver).unwrap();
        assert_eq!(jail.resolver(), resolver);
        (dir, jail)
    }

    fn symlinks_out_of_the_root_are_refused(resolver: Resolver) {
        let (_dir, jail) = setup(resolver);
        for path in ["/etc/passwd", "/etc", "/up"] {
            let err = jail.open_read(&vp(path)).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EXDEV), "{path}");
            assert!(jail.stat(&vp(path)).is_err(), "{path}");
        }
        assert!(jail.make_dir(&vp("/etc/new")).is_err());
        assert!(!Path::new("/etc/new").exists());
    }

    fn symlinks_inside_the_root_are_followed(resolver: Resolver) {
        let (_dir, jail) = setup(resolver);
        let mut text = String::new();
        let (mut inner, size) = jail.open_read(&vp("/inner")).unwrap();
        io::Read::read_to_string(&mut inner, &mut text).unwrap();
        assert_eq!(size, 6);
        assert_eq!(text, "inside");
        assert_eq!(jail.stat(&vp("/sub")).unwrap().kind, FileKind::Dir);
        assert_eq!(
            jail.open_read(&vp("/sub")).unwrap_err().raw_os_error(),
            Some(libc::EISDIR)
        );
    }

    fn named_pipes_are_refused_without_blocking(resolver: Resolver) {
        let (dir, jail) = setup(resolver);
        let fifo = CString::new(dir.0.join("root/fifo").to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let read = jail.open_read(&vp("/fifo")).unwrap_err();
        assert_eq!(read.kind(), io::ErrorKind::PermissionDenied);
        let write = jail
            .open_file(&vp("/fifo"), libc::O_WRONLY | libc::O_APPEND, 0)
            .unwrap_err();
        assert!(
            write.kind() == io::ErrorKind::PermissionDenied
                || write.raw_os_error() == Some(libc::ENXIO),
            "{write}"
        );
        jail.set_modified(&vp("/fifo"), 0).unwrap();
    }

    /// One `F_SETFL` clears the O_NONBLOCK the file was opened with and
    /// keeps the rest of its status flags (APPE's O_APPEND).
    fn opened_files_block_and_keep_append(resolver: Resolver) {
        let (_dir, jail) = setup(resolver);
        let flags_of = |file: &File| {
            // SAFETY: F_GETFL on a valid descriptor.
            unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) }
        };
        let append = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT;
        let (appending, size) = jail.open_file(&vp("/new"), append, 0o644).unwrap();
        assert_eq!(size, 0);
        let flags = flags_of(&appending);
        assert_eq!(flags & (libc::O_APPEND | libc::O_NONBLOCK), libc::O_APPEND);
        assert_eq!(flags & libc::O_ACCMODE, libc::O_WRONLY);
        let (reading, _) = jail.open_read(&vp("/sub/file.txt")).unwrap();
        assert_eq!(flags_of(&reading) & libc::O_NONBLOCK, 0);
    }

    fn names_operations(resolver: Resolver) {
        let (dir, jail) = setup(resolver);
        let root = dir.0.join("root");
        jail.make_dir(&vp("/new")).unwrap();
        assert!(root.join("new").is_dir());
        jail.rename(&vp("/sub/file.txt"), &vp("/new/moved.txt"))
            .unwrap();
        assert_eq!(
            std::fs::read(root.join("new/moved.txt")).unwrap(),
            b"inside"
        );
        assert_eq!(
            jail.delete(&vp("/new")).unwrap_err().raw_os_error(),
            Some(libc::EISDIR)
        );
        assert_eq!(
            jail.remove_dir(&vp("/new")).unwrap_err().raw_os_error(),
            Some(libc::ENOTEMPTY)
        );
        jail.delete(&vp("/new/moved.txt")).unwrap();
        jail.remove_dir(&vp("/new")).unwrap();
        jail.set_modified(&vp("/sub"), 951_782_400).unwrap();
        assert_eq!(jail.stat(&vp("/sub")).unwrap().modified, 951_782_400);
        // Deleting the symlink removes the link, not /etc.
        jail.delete(&vp("/etc")).unwrap();
        assert!(Path::new("/etc").is_dir());
    }

    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    /// The process umask, read without changing it (Linux 4.7 and later).
    fn current_umask() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
        u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
    }

    /// New uploads and folders: 0666 and 0777 less the umask (the reactor
    /// makes `--umask` the process's); a replaced file keeps its mode.
    fn new_files_and_folders_take_the_umask(resolver: Resolver) {
        let (dir, jail) = setup(resolver);
        let root = dir.0.join("root");
        let umask = current_umask();
        jail.make_dir(&vp("/made")).unwrap();
        assert_eq!(mode_of(&root.join("made")), 0o777 & !umask);
        let (mut temp, _file) = stage(&jail, "/made/new.txt", Replace::Any).unwrap();
        temp.commit().unwrap();
        assert_eq!(mode_of(&root.join("made/new.txt")), 0o666 & !umask);
        jail.set_mode(&vp("/sub/file.txt"), 0o604).unwrap();
        let (mut temp, _file) = stage(&jail, "/sub/file.txt", Replace::Any).unwrap();
        temp.commit().unwrap();
        assert_eq!(mode_of(&root.join("sub/file.txt")), 0o604);
    }

    fn set_mode_changes_files_folders_and_inner_symlink_targets(resolver: Resolver) {
        let (dir, jail) = setup(resolver);
        let root = dir.0.join("root");
        jail.set_mode(&vp("/sub/file.txt"), 0o600).unwrap();
        assert_eq!(mode_of(&root.join("sub/file.txt")), 0o600);
        jail.set_mode(&vp("/sub"), 0o750).unwrap();
        assert_eq!(mode_of(&root.join("sub")), 0o750);
        // No read permission needed: a 000 file can be given its mode back.
        jail.set_mode(&vp("/sub/file.txt"), 0).unwrap();
        jail.set_mode(&vp("/sub/file.txt"), 0o644).unwrap();
        assert_eq!(mode_of(&root.join("sub/file.txt")), 0o644);
        // Through a symlink inside the root: its target changes.
        jail.set_mode(&vp("/inner"), 0o640).unwrap();
        assert_eq!(mode_of(&root.join("sub/file.txt")), 0o640);
        // Only permission bits, whatever the caller passed.
        jail.set_mode(&vp("/sub/file.txt"), 0o4755).unwrap();
        assert_eq!(mode_of(&root.join("sub/file.txt")), 0o755);
    }

    fn set_mode_never_reaches_outside_the_root(resolver: Resolver) {
        let (dir, jail) = setup(resolver);
        let secret = dir.0.join("secret");
        let before = mode_of(&secret);
        for path in ["/up", "/etc/passwd", "/etc"] {
            let err = jail.set_mode(&vp(path), 0o777).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EXDEV), "{path}");
        }
        assert_eq!(mode_of(&secret), before);
        let root = jail.set_mode(&vp("/"), 0o777).unwrap_err();
        assert_eq!(root.raw_os_error(), Some(libc::EPERM));
        let missing = jail.set_mode(&vp("/nothing"), 0o777).unwrap_err();
        assert_eq!(missing.raw_os_error(), Some(libc::ENOENT));
        let reserved = jail.set_mode(&vp("/.pocketftpd-upload-1"), 0o777);
        assert_eq!(reserved.unwrap_err().raw_os_error(), Some(libc::EINVAL));
    }

    fn set_modified_returns_the_time_the_file_system_stored(resolver: Resolver) {
        let (_dir, jail) = setup(resolver);
        let file = vp("/sub/file.txt");
        let stored = jail.set_modified(&file, 951_782_400).unwrap();
        assert_eq!(stored.modified, 951_782_400);
        // 0000-01-01: ext4 clamps it to 1901-12-13, tmpfs keeps it; either
        // way the answer is what a later stat (MDTM) sees.
        let stored = jail.set_modified(&file, -62_167_219_200).unwrap();
        assert_eq!(stored.modified, jail.stat(&file).unwrap().modified);
        assert_eq!(stored.size, 6);
    }

    fn temp_files_vanish_unless_committed(resolver: Resolver) {
        let (dir, jail) = setup(resolver);
        let root = dir.0.join("root");
        let (temp, mut file) = stage(&jail, "/sub/file.txt", Replace::Any).unwrap();
        io::Write::write_all(&mut file, b"half").unwrap();
        drop(temp);
        assert_eq!(std::fs::read(root.join("sub/file.txt")).unwrap(), b"inside");
        assert_eq!(std::fs::read_dir(root.join("sub")).unwrap().count(), 1);

        let (mut temp, mut file) = stage(&jail, "/sub/file.txt", Replace::Any).unwrap();
        io::Write::write_all(&mut file, b"whole").unwrap();
        temp.commit().unwrap();
        assert_eq!(std::fs::read(root.join("sub/file.txt")).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(root.join("sub")).unwrap().count(), 1);
        assert_eq!(
            stage(&jail, "/sub", Replace::Any)
                .err()
                .and_then(|e| e.raw_os_error()),
            Some(libc::EISDIR)
        );
    }

    /// An `upload` user's STOR never replaces: not a file there at open,
    /// nor one that appeared while the upload ran.
    fn new_only_uploads_never_replace(resolver: Resolver) {
        let (dir, jail) = setup(resolver);
        let root = dir.0.join("root");
        let refused = stage(&jail, "/sub/file.txt", Replace::Nothing);
        assert_eq!(
            refused.err().and_then(|e| e.raw_os_error()),
            Some(libc::EEXIST)
        );
        let (mut temp, mut file) = stage(&jail, "/sub/new.txt", Replace::Nothing).unwrap();
        io::Write::write_all(&mut file, b"mine").unwrap();
        std::fs::write(root.join("sub/new.txt"), b"theirs").unwrap();
        let err = temp.commit().unwrap_err();
        drop((temp, file));
        assert_eq!(err.raw_os_error(), Some(libc::EEXIST));
        assert_eq!(std::fs::read(root.join("sub/new.txt")).unwrap(), b"theirs");
        assert_eq!(std::fs::read_dir(root.join("sub")).unwrap().count(), 2);

        let (mut temp, mut file) = stage(&jail, "/sub/other.txt", Replace::Nothing).unwrap();
        io::Write::write_all(&mut file, b"fresh").unwrap();
        temp.commit().unwrap();
        assert_eq!(std::fs::read(root.join("sub/other.txt")).unwrap(), b"fresh");
    }

    /// A home resolves with its root's resolver, and `..` or a symlink that
    /// leaves it is refused though it stays inside the served root.
    fn a_home_is_a_root_of_its_own(resolver: Resolver) {
        let (dir, jail) = setup(resolver);
        let home = jail.home(&vp("/sub")).unwrap();
        assert_eq!(home.resolver(), resolver);
        std::os::unix::fs::symlink("../sub/file.txt", dir.0.join("root/sub/back")).unwrap();
        assert_eq!(home.stat(&vp("/file.txt")).unwrap().size, 6);
        assert_eq!(home.stat(&vp("/")).unwrap().kind, FileKind::Dir);
        for (path, errno) in [
            ("back", libc::EXDEV),
            ("..", libc::EXDEV),
            ("inner", libc::ENOENT),
        ] {
            let err = home.resolve(path, libc::O_PATH, 0).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(errno), "{path}");
        }
    }
}
