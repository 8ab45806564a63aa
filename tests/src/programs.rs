//! Running other programs (client programs, `openssl`, the daemon for a
//! start-up that must fail): bounded in time, output through files; and
//! skipping a test whose program is not installed (failing it under `CI`).

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::trees::TempDir;

/// What a client program did.
#[derive(Debug)]
pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

/// Run a client program with stdin from `stdin`, killing it (by its pid) if
/// it takes longer than `timeout`. Output goes through files, so a chatty
/// program cannot block on a full pipe.
pub fn run_bounded(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Run {
    let dir = TempDir::new("run");
    let out_path = dir.join("stdout");
    let err_path = dir.join("stderr");
    let in_path = dir.join("stdin");
    fs::write(&in_path, stdin).unwrap();
    cmd.stdin(fs::File::open(&in_path).unwrap())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (is it installed?)"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} did not finish within {timeout:?}; stderr:\n{}",
                fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        status,
        stdout: fs::read(&out_path).unwrap_or_default(),
        stderr: String::from_utf8_lossy(&fs::read(&err_path).unwrap_or_default()).into_owned(),
    }
}

/// Should a test that needs `program` run? Yes if it is installed; if not,
/// the test is skipped with a note — unless `CI` is set, where a missing
/// client is a failure (.ci/run installs them all).
pub fn need_program(program: &str) -> bool {
    if have_program(program) {
        return true;
    }
    skip(&format!("{program} is not installed (CI must install it)"));
    false
}

/// Is the test running as root, as `--run-as` needs? If not, the test is
/// skipped with a note (see [`skip`]).
pub fn need_root() -> bool {
    if is_root() {
        return true;
    }
    skip("--run-as needs the test to run as root");
    false
}

/// Does the test run as root?
pub fn is_root() -> bool {
    let uid = Command::new("id").arg("-u").output().expect("run id");
    String::from_utf8_lossy(&uid.stdout).trim() == "0"
}

/// A test cannot run here for `why`: outside CI it is skipped with a note;
/// under `CI`, which must provide what every test needs, it fails.
pub fn skip(why: &str) {
    assert!(std::env::var_os("CI").is_none(), "under CI: {why}");
    eprintln!("SKIPPED: {why}");
}

/// Is `name` an executable file on `PATH`?
pub fn have_program(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            fs::metadata(dir.join(name))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}
