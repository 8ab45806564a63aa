//! A small file system of a test's own: a tmpfs of a few MiB, mounted by
//! the test (as root; CI runs as root), so that the free-space guard and
//! quotas meet a disk that really fills, and nothing else on the machine
//! does.

use std::path::Path;
use std::process::Command;

use crate::programs::skip;
use crate::trees::TempDir;

/// A mounted tmpfs, unmounted (lazily: a daemon may still hold a file
/// there) and removed on drop. Drop the daemon serving it first.
pub struct SmallFs {
    dir: TempDir,
}

impl SmallFs {
    /// A tmpfs of `kib` KiB; `None` when this test cannot mount one (not
    /// root, no mount permission): skipped outside CI, failed under CI.
    pub fn mount(label: &str, kib: u64) -> Option<SmallFs> {
        let dir = TempDir::new(label);
        let done = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={kib}k,mode=0755"))
            .arg("tmpfs")
            .arg(dir.path())
            .output();
        match done {
            Ok(out) if out.status.success() => Some(SmallFs { dir }),
            Ok(out) => {
                let why = String::from_utf8_lossy(&out.stderr).into_owned();
                skip(&format!("cannot mount a tmpfs (needs root): {why}"));
                None
            }
            Err(e) => {
                skip(&format!("cannot run mount: {e}"));
                None
            }
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
