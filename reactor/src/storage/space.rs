//! The free-space guard (`--min-free`, issue 27): a camera that uploads
//! all night must not fill the card the system lives on. An upload (STOR,
//! APPE, STOU) is refused with `452` when the served file system's free
//! space is below the floor, and one that would cross it midway is cut
//! there with `452`: its sink then leaves no partial file (`sink.rs`).
//!
//! Free space is what an unprivileged user may still write (`f_bavail`),
//! not what root may (`f_bfree`): the daemon often runs as root, and the
//! blocks ext4 reserves for root are the system's last resort, not ours.
//! It is asked of the file system an upload writes to (`fstatvfs` on its
//! descriptor, so a home on another mount is measured where it is), at
//! most once per [`RECHECK`] while what the last answer left is enough,
//! and at once when a write would take more than that.

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// How long an upload trusts what the file system said about its free
/// space, while its own writes stay within it: others write too.
const RECHECK: Duration = Duration::from_secs(1);

/// `--min-free`: how much of the file system must stay free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinFree {
    /// `0`: no floor (the file system's own `ENOSPC` still answers `452`).
    Off,
    Bytes(u64),
    /// Percent of the file system's size (`1%`, the default).
    Percent(u8),
}

impl MinFree {
    /// The bytes that must stay free on a file system of `total` bytes.
    fn floor(self, total: u64) -> u64 {
        match self {
            MinFree::Off => 0,
            MinFree::Bytes(bytes) => bytes,
            MinFree::Percent(p) => (u128::from(total) * u128::from(p) / 100) as u64,
        }
    }
}

impl std::fmt::Display for MinFree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MinFree::Off => f.write_str("0"),
            MinFree::Bytes(bytes) => write!(f, "{bytes} bytes"),
            MinFree::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// What may still be written on the file system of `fd` before its free
/// space falls below `min_free`.
fn room(fd: RawFd, min_free: MinFree) -> io::Result<u64> {
    let mut st = std::mem::MaybeUninit::<libc::statvfs64>::uninit();
    // SAFETY: a valid descriptor (O_PATH ones too, since Linux 3.12);
    // fstatvfs64 fills `st` completely on success.
    super::sys::check(unsafe { libc::fstatvfs64(fd, st.as_mut_ptr()) })?;
    // SAFETY: initialised by the successful call above.
    let st = unsafe { st.assume_init() };
    // fsblkcnt_t and f_frsize are 32 bits on some boards, 64 here.
    #[allow(clippy::useless_conversion)]
    let (unit, free, blocks) = (
        u64::from(st.f_frsize),
        u64::from(st.f_bavail),
        u64::from(st.f_blocks),
    );
    let floor = min_free.floor(blocks.saturating_mul(unit));
    Ok(free.saturating_mul(unit).saturating_sub(floor))
}

/// Refuses a new upload on the file system of `fd` when its free space is
/// already below `min_free`; else the guard of an upload made there, which
/// trusts this answer as it would its own (one `fstatvfs` a small upload,
/// not two).
pub(super) fn admit_upload(fd: RawFd, min_free: MinFree) -> io::Result<SpaceGuard> {
    match room(fd, min_free)? {
        0 => Err(below_min_free(min_free)),
        room => Ok(SpaceGuard {
            min_free,
            room,
            checked: Some(Instant::now()),
        }),
    }
}

/// An upload's watch on the free space, checked before each write.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SpaceGuard {
    min_free: MinFree,
    /// What the last answer left for this upload, less what it wrote since.
    room: u64,
    /// When the file system last answered (`None`: not yet).
    checked: Option<Instant>,
}

impl From<MinFree> for SpaceGuard {
    fn from(min_free: MinFree) -> SpaceGuard {
        SpaceGuard::new(min_free)
    }
}

impl SpaceGuard {
    pub(super) fn new(min_free: MinFree) -> SpaceGuard {
        SpaceGuard {
            min_free,
            room: 0,
            checked: None,
        }
    }

    /// Whether `bytes` more may be written to `fd`'s file system; an error
    /// that says so when they would take its free space below the floor.
    pub(super) fn admit(&mut self, fd: RawFd, bytes: u64) -> io::Result<()> {
        if self.min_free == MinFree::Off {
            return Ok(());
        }
        let stale = self.checked.is_none_or(|at| at.elapsed() >= RECHECK);
        if stale || bytes > self.room {
            self.room = room(fd, self.min_free)?;
            self.checked = Some(Instant::now());
        }
        self.room = self
            .room
            .checked_sub(bytes)
            .ok_or_else(|| below_min_free(self.min_free))?;
        Ok(())
    }
}

/// The error of an upload the guard refuses or cuts: `StorageFull` (`452`),
/// saying why in the log.
fn below_min_free(min_free: MinFree) -> io::Error {
    io::Error::new(
        io::ErrorKind::StorageFull,
        format!("the file system's free space would fall below --min-free {min_free}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn floors() {
        assert_eq!(MinFree::Off.floor(1000), 0);
        assert_eq!(MinFree::Bytes(7).floor(1000), 7);
        assert_eq!(MinFree::Percent(1).floor(1000), 10);
        assert_eq!(MinFree::Percent(100).floor(u64::MAX), u64::MAX);
    }

    /// Against the file system the tests run on: a floor of everything
    /// refuses, none admits; a guard counts its own writes between checks.
    #[test]
    fn the_guard_admits_what_the_file_system_has() {
        let file = std::fs::File::open(".").unwrap();
        let fd = file.as_raw_fd();
        let mut admitted = admit_upload(fd, MinFree::Bytes(0)).unwrap();
        let room = admitted.room;
        assert!(admitted.admit(fd, 1).is_ok());
        assert_eq!(admitted.room, room - 1, "the admission's answer is trusted");
        let refused = admit_upload(fd, MinFree::Percent(100)).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::StorageFull);
        assert!(refused.to_string().contains("--min-free 100%"), "{refused}");
        let mut guard = SpaceGuard::new(MinFree::Bytes(0));
        assert!(guard.admit(fd, 1).is_ok());
        let before = guard.room;
        assert!(guard.admit(fd, 1).is_ok(), "within the last answer");
        assert_eq!(guard.room, before - 1, "counted, not asked again");
        assert!(guard.admit(fd, u64::MAX).is_err());
    }
}
