//! File systems a test mounts itself, to serve a disk that is full,
//! read-only, failing or gone: a tmpfs of a given size, an ext4 image on a
//! loop device, a FUSE file system whose reads fail
//! (`tests/py/failing_fuse.py`). Mounting needs root (CI runs as root:
//! there a test that cannot mount fails; elsewhere it is skipped, see
//! [`need_mounts`]). Each is a guard that unmounts on drop whatever
//! happened, lazily if the daemon still holds it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::programs::{have_program, is_root, run_bounded, skip};
use crate::trees::TempDir;

/// Can this test mount file systems (root, `mount` and `mkfs.ext4`)? If
/// not, it is skipped with a note (a failure under `CI`, see [`skip`]).
pub fn need_mounts() -> bool {
    if !is_root() {
        skip("mounting a test file system needs root");
        return false;
    }
    for program in ["mount", "umount", "mkfs.ext4", "findmnt", "python3"] {
        if !have_program(program) {
            skip(&format!("{program} is not installed (CI must install it)"));
            return false;
        }
    }
    true
}

/// Runs a command that must succeed (bounded).
pub fn must(program: &str, args: &[&str]) {
    let run = run_bounded(
        Command::new(program).args(args),
        b"",
        Duration::from_secs(60),
    );
    assert!(run.success(), "{program} {args:?} failed: {}", run.stderr);
}

/// A mounted file system, unmounted on drop.
pub struct Mount {
    point: PathBuf,
    /// An ext4 mount's image file, or a FUSE mount's server.
    kind: Kind,
    /// Holds the mount point (and an image), removed last.
    _dir: TempDir,
}

enum Kind {
    Tmpfs,
    Ext4 { image: PathBuf },
    Fuse { server: Child },
}

impl Mount {
    /// A tmpfs of `size` (`mount -o size=`: `1m`, `512k`).
    pub fn tmpfs(size: &str) -> Mount {
        let (dir, point) = Mount::point("tmpfs");
        let options = format!("size={size},mode=0755");
        must(
            "mount",
            &["-t", "tmpfs", "-o", &options, "tmpfs", path(&point)],
        );
        Mount {
            point,
            kind: Kind::Tmpfs,
            _dir: dir,
        }
    }

    /// A fresh ext4 file system of `mib` MiB on a loop device, which the
    /// kernel remounts read-only after an error, as Raspberry Pi OS mounts
    /// its SD card (`errors=remount-ro`).
    pub fn ext4(mib: u64) -> Mount {
        let (dir, point) = Mount::point("ext4");
        let image = dir.join("disk.img");
        let file = std::fs::File::create(&image).expect("create the image");
        file.set_len(mib << 20).expect("size the image");
        must("mkfs.ext4", &["-q", "-F", path(&image)]);
        let kind = Kind::Ext4 { image };
        let mount = Mount {
            point,
            kind,
            _dir: dir,
        };
        mount.mount_image();
        mount
    }

    /// The FUSE file system of `tests/py/failing_fuse.py`: `good.txt`
    /// reads, every read of `bad.bin` fails with EIO, and once
    /// [`kill_server`](Self::kill_server)ed every access fails (ENOTCONN).
    pub fn failing_fuse() -> Mount {
        let (dir, point) = Mount::point("fuse");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("py/failing_fuse.py");
        let mut server = Command::new("python3")
            .arg(script)
            .arg(&point)
            .stdout(Stdio::piped())
            .spawn()
            .expect("run python3 failing_fuse.py");
        let mut ready = String::new();
        let stdout = server.stdout.take().expect("the server's stdout");
        let _ = BufReader::new(stdout).read_line(&mut ready);
        let mount = Mount {
            point,
            kind: Kind::Fuse { server },
            _dir: dir,
        };
        assert_eq!(ready.trim(), "ready", "the FUSE server did not mount");
        mount
    }

    fn point(tag: &str) -> (TempDir, PathBuf) {
        let dir = TempDir::new(tag);
        let point = dir.join("mnt");
        std::fs::create_dir(&point).expect("make the mount point");
        (dir, point)
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        &self.point
    }

    /// `mount -o remount,OPTIONS`.
    pub fn remount(&self, options: &str) {
        must(
            "mount",
            &["-o", &format!("remount,{options}"), path(&self.point)],
        );
    }

    /// An ext4 error, as a failing card causes: the kernel remounts the
    /// file system read-only at once and aborts its journal (it cannot be
    /// remounted read-write; an admin unmounts it, checks it, mounts it
    /// again).
    /// What was written before is on the image first (as a card's older
    /// writes are): the kernel writes no more once the journal is aborted.
    pub fn fail_ext4(&self) {
        must("sync", &["-f", path(&self.point)]);
        let device = self.device();
        let name = device.trim_start_matches("/dev/");
        let trigger = format!("/sys/fs/ext4/{name}/trigger_fs_error");
        std::fs::write(&trigger, "test error").expect("write trigger_fs_error");
    }

    /// Unmounts it lazily (`umount -l`: gone from the path at once, kept
    /// for whoever still holds it) and mounts the disk there again: a new
    /// file system at the same path, as after `fsck` and `mount`. (A copy
    /// of the image: the kernel would give the same image, still attached
    /// to its loop device, its old read-only file system back.)
    pub fn mount_again(&mut self) {
        must("umount", &["-l", path(&self.point)]);
        if let Kind::Ext4 { image } = &mut self.kind {
            let copy = image.with_extension("again.img");
            std::fs::copy(&*image, &copy).expect("copy the image");
            *image = copy;
        }
        self.mount_image();
    }

    /// Unmounts it lazily: the path names the empty mount point folder.
    pub fn unmount(&self) {
        must("umount", &["-l", path(&self.point)]);
    }

    /// Stops the FUSE server: the mount stays, and every access fails.
    pub fn kill_server(&mut self) {
        if let Kind::Fuse { server } = &mut self.kind {
            let _ = server.kill();
            let _ = server.wait();
        }
    }

    fn mount_image(&self) {
        let Kind::Ext4 { image } = &self.kind else {
            panic!("not an ext4 image");
        };
        let options = "loop,errors=remount-ro";
        must("mount", &["-o", options, path(image), path(&self.point)]);
    }

    /// The block device it is mounted from (`/dev/loop3`).
    fn device(&self) -> String {
        let out = Command::new("findmnt")
            .args(["-n", "-o", "SOURCE", "--target"])
            .arg(&self.point)
            .output()
            .expect("run findmnt");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        // Every layer mounted here, the lazily unmounted ones already gone;
        // `-l` so that a daemon still holding one never fails the test.
        for _ in 0..4 {
            let unmounted = Command::new("umount")
                .arg("-l")
                .arg(&self.point)
                .stderr(Stdio::null())
                .status();
            if !unmounted.is_ok_and(|s| s.success()) {
                break;
            }
        }
        self.kill_server();
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 test path")
}
