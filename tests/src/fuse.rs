//! FUSE mounts for the tests that serve one (`rclone mount`, `weed mount`):
//! the guard starts the file system's process, waits until the kernel lists
//! the mount, and on drop, whatever the test did, unmounts it (lazily, so a
//! file still open cannot keep it) and stops the process by its own pid.
//! Declare a mount before the daemons that serve it: they are dropped
//! (killed) first, then it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::daemon::wait_until;
use crate::programs::{have_program, skip};

/// How long a FUSE file system may take to mount.
const MOUNT_LIMIT: Duration = Duration::from_secs(30);

/// A mounted FUSE file system, unmounted and stopped on drop.
pub struct Mount {
    child: Child,
    point: PathBuf,
    /// The file system's output, shown if it fails to mount.
    log: PathBuf,
}

impl Mount {
    /// Runs `cmd`, a FUSE file system's process that stays in the
    /// foreground, its output to `log`, and waits until `point` is mounted
    /// with file system type `fstype` (`fuse.rclone`); panics if it is not
    /// within [`MOUNT_LIMIT`].
    pub fn start(mut cmd: Command, point: &Path, fstype: &str, log: &Path) -> Mount {
        fs::create_dir_all(point).expect("create the mount point");
        let out = fs::File::create(log).expect("create the mount's log");
        let err = out.try_clone().expect("clone the mount's log");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        let mut mount = Mount {
            child,
            point: point.to_path_buf(),
            log: log.to_path_buf(),
        };
        let mounted = wait_until(MOUNT_LIMIT, || {
            mounted_as(point) == Some(fstype.to_owned()) || !mount.is_running()
        });
        assert!(
            mounted && mount.is_running(),
            "{fstype} not mounted on {point:?} within {MOUNT_LIMIT:?}; its output:\n{}",
            fs::read_to_string(&mount.log).unwrap_or_default()
        );
        mount
    }

    /// Where it is mounted.
    pub fn point(&self) -> &Path {
        &self.point
    }

    /// `rel` below the mount point.
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.point.join(rel)
    }

    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        unmount(&self.point);
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- {:?}'s file system output ----\n{}\n---- end ----",
                self.point,
                fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// Unmounts `point` lazily: it leaves the tree now, and the kernel lets go
/// once nothing uses it.
fn unmount(point: &Path) {
    let lazily = |program: &str, flags: &str| {
        Command::new(program)
            .arg(flags)
            .arg(point)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if mounted_as(point).is_some() && !lazily("fusermount3", "-uz") {
        lazily("umount", "-l");
    }
}

/// The file system type mounted on `point`, from `/proc/self/mountinfo`
/// (the last mount there wins, as it is the one seen).
fn mounted_as(point: &Path) -> Option<String> {
    let point = point.to_str()?;
    let table = fs::read_to_string("/proc/self/mountinfo").ok()?;
    table.lines().rev().find_map(|line| {
        let (mount, fs) = line.split_once(" - ")?;
        let at = mount.split(' ').nth(4)?;
        let fstype = fs.split(' ').next()?;
        (at == point).then(|| fstype.to_owned())
    })
}

/// Can this machine mount FUSE file systems (`/dev/fuse`, `fusermount3`
/// from the `fuse3` package)? If not, the test is skipped, or fails under
/// `CI` (see [`skip`]).
pub fn need_fuse() -> bool {
    if Path::new("/dev/fuse").exists() && have_program("fusermount3") {
        return true;
    }
    skip("FUSE is not available: /dev/fuse and fusermount3 (package fuse3) are needed");
    false
}
