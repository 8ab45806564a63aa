//! The two ways a [`Jail`](super::jail::Jail) resolves a client's path
//! beneath its root, chosen once when the jail is opened.
//!
//! [`Resolver::Openat2`] hands the whole path to the kernel: `openat2(2)`
//! with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`. Kernels before 5.6,
//! qemu-user 7.2 (Debian's) and seccomp filters that block the call lack it,
//! so [`Resolver::Fallback`] walks the path itself, one component at a time,
//! with `openat(2)` and `O_NOFOLLOW` and the same refusals:
//!
//! - `..` goes back to the folder the walk came from (a descriptor it kept),
//!   never through the file system's own `..`: a folder moved out of the root
//!   meanwhile cannot take the walk with it. A `..` at the root is `EXDEV`,
//!   as `RESOLVE_BENEATH` answers.
//! - A symlink is never followed by the kernel: its target is read with
//!   `readlinkat(2)` and walked the same way from the symlink's folder. An
//!   absolute target is `EXDEV`, even one that names a place inside the root,
//!   as `RESOLVE_BENEATH` refuses them.
//! - Magic links (`/proc/self/fd/N`, `/proc/self/cwd`, within a root that
//!   holds a procfs) are refused by construction: the kernel never jumps
//!   through them, because the walk never lets it follow a link; their text
//!   is absolute (`EXDEV`) or a name such as `pipe:[123]` looked up as an
//!   ordinary entry of the link's folder, beneath the root like any other.
//!   (`openat2` answers `ELOOP` for them; the fallback `EXDEV` or `ENOENT`:
//!   either way a `550`.)
//! - At most [`MAX_HOPS`] symlinks per path, as the kernel's `MAXSYMLINKS`,
//!   then `ELOOP`.
//! - The caller's flags (`O_CREAT`, `O_DIRECTORY`, `O_NOFOLLOW`,
//!   `O_NONBLOCK`, ...) apply to the last component only, opened by the last
//!   `openat` relative to the folder the walk resolved.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::sys::stat_at;

/// Symlinks one path may pass through: the kernel's `MAXSYMLINKS`, so both
/// resolvers answer `ELOOP` at the same point.
pub const MAX_HOPS: usize = 40;

/// Folders the fallback holds open at once (one descriptor each, released
/// when the path is resolved): as deep as a 4 KiB path can go. Deeper is
/// `ENAMETOOLONG`, so that a tree of chained symlinks cannot make one lookup
/// take thousands of descriptors.
pub const MAX_DEPTH: usize = 2048;

/// Where a symlink's target is read to; a target this long or longer is
/// `ENAMETOOLONG` (Linux keeps them shorter than `PATH_MAX`).
const LINK_MAX: usize = libc::PATH_MAX as usize;

/// How paths are resolved beneath a root folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolver {
    /// One `openat2(2)` with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`.
    Openat2,
    /// One `openat(2)` per component, for kernels without `openat2`.
    Fallback,
}

impl Resolver {
    /// The resolver this kernel needs: `openat2` unless asking for `root`'s
    /// own `.` with it fails with `ENOSYS` (no such call) or `EPERM` (a
    /// seccomp filter; permissions alone answer `EACCES`).
    pub fn probe(root: RawFd) -> Resolver {
        match openat2_beneath(root, c".", libc::O_PATH | libc::O_DIRECTORY, 0) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                Resolver::Fallback
            }
            _ => Resolver::Openat2,
        }
    }

    /// Opens `path` (relative, no NUL) beneath the folder `root` with
    /// `flags` (`O_CLOEXEC` is added) and, for `O_CREAT`, `mode`.
    pub fn open(self, root: RawFd, path: &str, flags: i32, mode: u32) -> io::Result<OwnedFd> {
        match self {
            Resolver::Openat2 => {
                let path = CString::new(path).map_err(|_| errno(libc::EINVAL))?;
                openat2_beneath(root, &path, flags, mode)
            }
            Resolver::Fallback => Walk::new(root, path.as_bytes())?.finish(flags, mode),
        }
    }

    /// For the start-up log.
    pub fn describe(self) -> &'static str {
        match self {
            Resolver::Openat2 => "openat2(2) and RESOLVE_BENEATH",
            Resolver::Fallback => "openat(2), one component at a time",
        }
    }
}

/// `struct open_how` of openat2(2) (libc's is non-exhaustive).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Times `openat2` is asked again after `EAGAIN`: with `RESOLVE_BENEATH`
/// the kernel answers so when a rename anywhere raced a `..` of the lookup
/// (only symlink targets hold `..` here), and a retry usually succeeds.
const EAGAIN_RETRIES: usize = 8;

fn openat2_beneath(root: RawFd, path: &CStr, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    let how = OpenHow {
        flags: u64::try_from(flags | libc::O_CLOEXEC).map_err(|_| errno(libc::EINVAL))?,
        mode: u64::from(mode),
        resolve: libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS,
    };
    let mut retries = EAGAIN_RETRIES;
    loop {
        // SAFETY: openat2 reads a NUL-terminated path and an open_how of
        // the size passed; on success it returns a new descriptor we own.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root,
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        match owned(fd) {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && retries > 0 => retries -= 1,
            done => return done,
        }
    }
}

/// One component of a path.
enum Step {
    /// A name; `dir` when a `/` followed it, which makes it a folder that
    /// is followed even as the last component (as the kernel does).
    Name { name: CString, dir: bool },
    /// `.`
    Here,
    /// `..`
    Up,
}

impl Step {
    fn of(component: &[u8]) -> io::Result<Step> {
        Ok(match component {
            b"." => Step::Here,
            b".." => Step::Up,
            name => Step::Name {
                name: CString::new(name).map_err(|_| errno(libc::EINVAL))?,
                dir: false,
            },
        })
    }
}

/// What opening one name without following it found.
enum Found {
    Opened(OwnedFd),
    /// A symlink, with its target.
    Link(Vec<u8>),
}

/// The fallback's walk from the root to the last component.
struct Walk {
    root: RawFd,
    /// The folders entered below the root, innermost last: `..` pops one.
    dirs: Vec<OwnedFd>,
    /// The components still to walk, the next one last.
    todo: Vec<Step>,
    /// Symlinks followed so far.
    hops: usize,
}

impl Walk {
    fn new(root: RawFd, path: &[u8]) -> io::Result<Walk> {
        let mut walk = Walk {
            root,
            dirs: Vec::new(),
            todo: Vec::new(),
            hops: 0,
        };
        walk.push(path, false)?;
        Ok(walk)
    }

    /// Queues the components of `path` ahead of the rest; `dir` marks the
    /// last of them as a folder (it replaces a link that was marked so).
    fn push(&mut self, path: &[u8], dir: bool) -> io::Result<()> {
        if path.first() == Some(&b'/') {
            return Err(errno(libc::EXDEV));
        }
        let mut steps = path
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty())
            .map(Step::of)
            .collect::<io::Result<Vec<Step>>>()?;
        if let Some(Step::Name { dir: last, .. }) = steps.last_mut() {
            *last = dir || path.ends_with(b"/");
        }
        self.todo.extend(steps.into_iter().rev());
        Ok(())
    }

    /// The folder the walk is in.
    fn here(&self) -> RawFd {
        self.dirs.last().map_or(self.root, AsRawFd::as_raw_fd)
    }

    /// Walks every component and opens the last with `flags`.
    fn finish(mut self, flags: i32, mode: u32) -> io::Result<OwnedFd> {
        while let Some(step) = self.todo.pop() {
            let last = self.todo.is_empty();
            match step {
                Step::Here => {}
                Step::Up => {
                    self.dirs.pop().ok_or_else(|| errno(libc::EXDEV))?;
                }
                Step::Name { name, dir } if last => {
                    if let Some(fd) = self.last_name(&name, dir, flags, mode)? {
                        return Ok(fd);
                    }
                }
                Step::Name { name, dir } => self.enter(&name, dir)?,
            }
        }
        // The path ended in a folder: `.`, `..`, or nothing at all.
        open_at(self.here(), c".", flags, mode)
    }

    /// Steps into the folder `name`, or queues the target if it is a symlink.
    fn enter(&mut self, name: &CStr, dir: bool) -> io::Result<()> {
        match self.open_name(name, libc::O_PATH | libc::O_DIRECTORY, 0, true)? {
            Found::Opened(fd) => {
                if self.dirs.len() >= MAX_DEPTH {
                    return Err(errno(libc::ENAMETOOLONG));
                }
                self.dirs.push(fd);
                Ok(())
            }
            Found::Link(target) => self.follow(&target, dir),
        }
    }

    /// Opens the last component with the caller's flags; `None` when it was
    /// a symlink whose target is now queued. A trailing `/` makes it a
    /// folder that is always followed and cannot be created (`EISDIR`), as
    /// the kernel has it.
    fn last_name(
        &mut self,
        name: &CStr,
        dir: bool,
        flags: i32,
        mode: u32,
    ) -> io::Result<Option<OwnedFd>> {
        if dir && flags & libc::O_CREAT != 0 {
            return Err(errno(libc::EISDIR));
        }
        let flags = if dir {
            flags | libc::O_DIRECTORY
        } else {
            flags
        };
        let follow = dir || flags & libc::O_NOFOLLOW == 0;
        match self.open_name(name, flags, mode, follow)? {
            Found::Opened(fd) => Ok(Some(fd)),
            Found::Link(target) => self.follow(&target, dir).map(|()| None),
        }
    }

    /// Opens `name` in the current folder, never following it. With
    /// `follow`, a symlink comes back as its target instead: an `O_PATH`
    /// open gives the link itself (read through that very descriptor);
    /// other opens fail with `ELOOP`, or `ENOTDIR` under `O_DIRECTORY`,
    /// and then the name is read as a link (an error there means it was not
    /// one, and the open's error stands).
    fn open_name(&self, name: &CStr, flags: i32, mode: u32, follow: bool) -> io::Result<Found> {
        let dir = self.here();
        let may_be_link = flags & (libc::O_PATH | libc::O_DIRECTORY) == libc::O_PATH;
        match open_at(dir, name, flags | libc::O_NOFOLLOW, mode) {
            Ok(fd) if follow && may_be_link && is_symlink(&fd)? => {
                read_link(fd.as_raw_fd(), c"").map(Found::Link)
            }
            Ok(fd) => Ok(Found::Opened(fd)),
            Err(e) if follow && matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => {
                read_link(dir, name).map(Found::Link).map_err(|_| e)
            }
            Err(e) => Err(e),
        }
    }

    /// Queues a symlink's target, walked from the symlink's folder.
    fn follow(&mut self, target: &[u8], dir: bool) -> io::Result<()> {
        self.hops = self.hops.checked_add(1).ok_or_else(|| errno(libc::ELOOP))?;
        if self.hops > MAX_HOPS {
            return Err(errno(libc::ELOOP));
        }
        if target.is_empty() {
            return Err(errno(libc::ENOENT));
        }
        self.push(target, dir)
    }
}

/// `openat(2)` with `O_CLOEXEC`, as an owned descriptor.
fn open_at(dir: RawFd, name: &CStr, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    // SAFETY: a valid directory fd and a NUL-terminated name; openat reads
    // nothing else, and the mode is passed as the variadic int it expects.
    let fd = unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            flags | libc::O_CLOEXEC,
            libc::c_uint::from(mode),
        )
    };
    owned(libc::c_long::from(fd))
}

/// The target of the symlink `name` in `dir` (`""`: `dir` itself is one).
fn read_link(dir: RawFd, name: &CStr) -> io::Result<Vec<u8>> {
    let mut target = vec![0u8; LINK_MAX];
    // SAFETY: readlinkat writes at most `target.len()` bytes into `target`.
    let n =
        unsafe { libc::readlinkat(dir, name.as_ptr(), target.as_mut_ptr().cast(), target.len()) };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    if n >= target.len() {
        return Err(errno(libc::ENAMETOOLONG));
    }
    target.truncate(n);
    Ok(target)
}

fn is_symlink(fd: &OwnedFd) -> io::Result<bool> {
    let st = stat_at(fd.as_raw_fd(), c"")?;
    Ok(st.st_mode & libc::S_IFMT == libc::S_IFLNK)
}

/// A system call's descriptor (or -1 and `errno`) as an owned descriptor.
fn owned(fd: libc::c_long) -> io::Result<OwnedFd> {
    let fd = RawFd::try_from(fd).map_err(|_| errno(libc::EBADF))?;
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn errno(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::storage::testing::TempDir;
    use std::fs::File;
    use std::os::unix::fs::symlink;
    use std::path::Path;

    /// Runs each test, a `fn(Resolver)` in scope, once per resolver: as
    /// `name::openat2` and `name::fallback`. On a kernel without `openat2`
    /// the first says so and checks nothing.
    macro_rules! both_resolvers {
        ($($name:ident),* $(,)?) => {
            $(mod $name {
                #[test]
                fn openat2() {
                    if let Some(resolver) = $crate::storage::resolve::tests::openat2_here() {
                        super::$name(resolver);
                    }
                }

                #[test]
                fn fallback() {
                    super::$name($crate::storage::resolve::Resolver::Fallback);
                }
            })*
        };
    }
    pub(crate) use both_resolvers;

    /// `Resolver::Openat2` if this kernel has it.
    pub fn openat2_here() -> Option<Resolver> {
        let here = File::open(std::env::temp_dir()).ok()?;
        match Resolver::probe(here.as_raw_fd()) {
            Resolver::Openat2 => Some(Resolver::Openat2),
            Resolver::Fallback => {
                eprintln!("no openat2(2) on this kernel: only the fallback is tested");
                None
            }
        }
    }

    both_resolvers!(traversal_table);

    /// A root (`root/`) beside a file it must not reach (`secret`), with
    /// every kind of link the table walks through.
    fn tree() -> (TempDir, File) {
        let dir = TempDir::new("resolve");
        let root = dir.0.join("root");
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        std::fs::write(root.join("sub/file.txt"), b"inside").unwrap();
        std::fs::write(dir.0.join("secret"), b"outside").unwrap();
        let links: &[(&str, &str)] = &[
            ("etc", "/etc"),
            ("up", "../secret"),
            ("inner", "sub/file.txt"),
            ("dlink", "sub"),
            ("dslash", "sub/"),
            ("fslash", "sub/file.txt/"),
            ("deep", "sub/deeper"),
            ("sub/back", "../sub/file.txt"),
            ("sub/deeper/top", "../../inner"),
            ("sub/escape", "../../secret"),
            ("loop", "loop"),
            ("ping", "pong"),
            ("pong", "ping"),
            ("dangle", "sub/new.txt"),
            ("updangle", "../new.txt"),
            ("dot", "."),
            ("dotdot", ".."),
            ("l0", "sub/file.txt"),
        ];
        for (name, target) in links {
            symlink(target, root.join(name)).unwrap();
        }
        let inside = root.join("sub/file.txt");
        symlink(&inside, root.join("abs-inside")).unwrap();
        // l<n> reaches the file through n + 1 symlinks.
        for n in 1..=MAX_HOPS {
            symlink(format!("l{}", n - 1), root.join(format!("l{n}"))).unwrap();
        }
        let fifo = CString::new(root.join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let fd = File::open(&root).unwrap();
        (dir, fd)
    }

    /// What opening `path` gave: the opened entry's path below `root`
    /// (`""`: the root itself), or the errno.
    fn outcome(resolver: Resolver, root: &File, path: &str, flags: i32) -> Result<String, i32> {
        let mode = if flags & libc::O_CREAT != 0 { 0o644 } else { 0 };
        let fd = resolver
            .open(root.as_raw_fd(), path, flags, mode)
            .map_err(|e| e.raw_os_error().unwrap())?;
        let read = |fd: RawFd| std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        let (opened, root) = (read(fd.as_raw_fd()), read(root.as_raw_fd()));
        let below = opened.strip_prefix(&root).unwrap_or(Path::new("OUTSIDE"));
        Ok(below.to_str().unwrap().to_owned())
    }

    const PATH: i32 = libc::O_PATH;
    const DIR: i32 = libc::O_RDONLY | libc::O_DIRECTORY;
    const NOFOLLOW: i32 = libc::O_RDONLY | libc::O_NOFOLLOW;
    const CREATE: i32 = libc::O_WRONLY | libc::O_CREAT | libc::O_NONBLOCK;

    /// Every way a path can go, and where it must end: the same under both
    /// resolvers.
    fn traversal_table(resolver: Resolver) {
        let (_dir, root) = tree();
        let ok = |s: &str| Ok(s.to_owned());
        let cases: &[(&str, i32, Result<String, i32>)] = &[
            (".", PATH, ok("")),
            ("sub/file.txt", PATH, ok("sub/file.txt")),
            ("sub/./file.txt", PATH, ok("sub/file.txt")),
            ("sub/..", PATH, ok("")),
            ("..", PATH, Err(libc::EXDEV)),
            ("sub/../..", PATH, Err(libc::EXDEV)),
            ("/etc", PATH, Err(libc::EXDEV)),
            ("missing/x", PATH, Err(libc::ENOENT)),
            ("sub/file.txt/x", PATH, Err(libc::ENOTDIR)),
            ("inner", PATH, ok("sub/file.txt")),
            ("etc", PATH, Err(libc::EXDEV)),
            ("etc/passwd", PATH, Err(libc::EXDEV)),
            ("up", PATH, Err(libc::EXDEV)),
            ("abs-inside", PATH, Err(libc::EXDEV)),
            ("dlink", PATH, ok("sub")),
            ("dlink/file.txt", PATH, ok("sub/file.txt")),
            ("dlink/..", PATH, ok("")),
            ("deep/..", PATH, ok("sub")),
            ("dslash", PATH, ok("sub")),
            ("fslash", PATH, Err(libc::ENOTDIR)),
            ("sub/back", PATH, ok("sub/file.txt")),
            ("sub/deeper/top", PATH, ok("sub/file.txt")),
            ("sub/escape", PATH, Err(libc::EXDEV)),
            ("dot", PATH, ok("")),
            ("dot/inner", PATH, ok("sub/file.txt")),
            ("dotdot", PATH, Err(libc::EXDEV)),
            ("loop", PATH, Err(libc::ELOOP)),
            ("ping", PATH, Err(libc::ELOOP)),
            ("l39", PATH, ok("sub/file.txt")),
            ("l40", PATH, Err(libc::ELOOP)),
            ("dangle", PATH, Err(libc::ENOENT)),
            ("inner", DIR, Err(libc::ENOTDIR)),
            ("dlink", DIR, ok("sub")),
            ("inner", libc::O_PATH | libc::O_NOFOLLOW, ok("inner")),
            ("inner", NOFOLLOW, Err(libc::ELOOP)),
            ("fifo", libc::O_WRONLY | libc::O_NONBLOCK, Err(libc::ENXIO)),
            ("fifo", libc::O_RDONLY | libc::O_NONBLOCK, ok("fifo")),
            ("sub", CREATE, Err(libc::EISDIR)),
            ("dslash", CREATE, Err(libc::EISDIR)),
            ("fslash", CREATE, Err(libc::EISDIR)),
            ("etc/new.txt", CREATE, Err(libc::EXDEV)),
            ("updangle", CREATE, Err(libc::EXDEV)),
            ("dangle", CREATE, ok("sub/new.txt")),
        ];
        for (path, flags, expected) in cases {
            let got = outcome(resolver, &root, path, *flags);
            assert_eq!(&got, expected, "{path} with {flags:#o} ({resolver:?})");
        }
    }

    /// Every path of the table with every kind of open the jail makes:
    /// the fallback answers as `openat2` does, error for error, file for
    /// file (each on a tree of its own, as opens may create files).
    #[test]
    fn the_fallback_answers_as_openat2_does() {
        let Some(openat2) = openat2_here() else {
            return;
        };
        let (_a, kernel) = tree();
        let (_b, ours) = tree();
        let paths = [
            ".",
            "..",
            "sub",
            "sub/file.txt",
            "sub/..",
            "sub/../..",
            "missing",
            "missing/x",
            "sub/file.txt/x",
            "inner",
            "etc",
            "etc/passwd",
            "etc/new",
            "up",
            "abs-inside",
            "dlink",
            "dlink/file.txt",
            "dlink/..",
            "deep/..",
            "dslash",
            "fslash",
            "sub/back",
            "sub/deeper/top",
            "sub/escape",
            "dot",
            "dotdot",
            "loop",
            "ping",
            "l39",
            "l40",
            "dangle",
            "updangle",
            "fifo",
            "new.txt",
        ];
        let flags = [
            PATH,
            libc::O_PATH | libc::O_DIRECTORY,
            libc::O_PATH | libc::O_NOFOLLOW,
            libc::O_RDONLY | libc::O_NONBLOCK,
            DIR,
            NOFOLLOW | libc::O_NONBLOCK,
            libc::O_WRONLY | libc::O_NONBLOCK,
            CREATE | libc::O_APPEND,
            CREATE | libc::O_EXCL,
        ];
        for flags in flags {
            for path in paths {
                let expected = outcome(openat2, &kernel, path, flags);
                let got = outcome(Resolver::Fallback, &ours, path, flags);
                assert_eq!(got, expected, "{path} with {flags:#o}");
            }
        }
    }

    /// What a kernel without `openat2` (`ENOSYS`) or a seccomp filter
    /// against it (`EPERM`) gets: the probe picks the fallback, and the
    /// jail still keeps paths inside.
    #[test]
    fn without_openat2_the_probe_picks_the_fallback() {
        for errno in [libc::ENOSYS, libc::EPERM] {
            let (dir, _) = tree();
            let root = dir.0.join("root");
            let seen = without_openat2(errno, move || {
                let jail = crate::storage::jail::Jail::open(&root).unwrap();
                let fd = File::open(&root).unwrap();
                let probed = Resolver::probe(fd.as_raw_fd());
                let inner = outcome(jail.resolver(), &fd, "inner", PATH);
                let up = outcome(jail.resolver(), &fd, "up", PATH);
                (probed, jail.resolver(), inner, up)
            });
            let Some(seen) = seen else {
                eprintln!("no seccomp filters here: the probe is not tested");
                return;
            };
            let fallback = Resolver::Fallback;
            let expected = (
                fallback,
                fallback,
                Ok("sub/file.txt".into()),
                Err(libc::EXDEV),
            );
            assert_eq!(seen, expected, "openat2 failing with {errno}");
        }
    }

    /// Runs `f` on a thread of its own whose `openat2` calls fail with
    /// `errno`, through a seccomp filter (which binds that thread only);
    /// `None` where filters cannot be installed.
    fn without_openat2<T: Send + 'static>(
        errno: i32,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let op = |code: u32| u16::try_from(code).unwrap();
        let nr = u32::try_from(libc::SYS_openat2).unwrap();
        let refuse = libc::SECCOMP_RET_ERRNO | u32::try_from(errno).unwrap();
        let insn = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
        let mut filter = [
            // seccomp_data.nr, at offset 0.
            insn(op(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS), 0, 0, 0),
            insn(op(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K), 0, 1, nr),
            insn(op(libc::BPF_RET | libc::BPF_K), 0, 0, refuse),
            insn(
                op(libc::BPF_RET | libc::BPF_K),
                0,
                0,
                libc::SECCOMP_RET_ALLOW,
            ),
        ];
        let program = libc::sock_fprog {
            len: 4,
            filter: filter.as_mut_ptr(),
        };
        let address = &program as *const libc::sock_fprog as libc::c_ulong;
        std::thread::spawn(move || {
            // SAFETY: prctl with the arguments PR_SET_NO_NEW_PRIVS and
            // PR_SET_SECCOMP document; the kernel copies the filter, which
            // outlives the call (the spawning thread waits in join).
            let installed = unsafe {
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
                    && libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, address) == 0
            };
            installed.then(f)
        })
        .join()
        .unwrap()
    }
}
