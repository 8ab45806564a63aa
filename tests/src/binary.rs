//! Which program is the daemon under test: this workspace's `pocketftpd`,
//! built once per test process, or what `POCKETFTPD_BIN` or `POCKETFTPD_CMD`
//! name instead (see the crate's guide).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// A `Command` that starts the daemon under test, with no options yet:
/// `POCKETFTPD_CMD` split on whitespace if set (an emulator and the binary
/// of another architecture), else [`daemon_binary`]. Every test starts the
/// daemon through this, never through the path alone.
pub fn daemon_command() -> Command {
    let argv = daemon_argv();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    cmd
}

/// The words that start the daemon, before its options: `POCKETFTPD_CMD`'s,
/// or just [`daemon_binary`]. For a test that must `exec` the daemon itself
/// (socket activation).
pub fn daemon_argv() -> Vec<std::ffi::OsString> {
    match wrapper_command() {
        Some(words) => words.iter().map(Into::into).collect(),
        None => vec![daemon_binary().into()],
    }
}

/// `POCKETFTPD_CMD`'s words, if it is set and not blank.
fn wrapper_command() -> Option<&'static [String]> {
    static WORDS: OnceLock<Vec<String>> = OnceLock::new();
    let words = WORDS.get_or_init(|| {
        std::env::var("POCKETFTPD_CMD")
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    });
    (!words.is_empty()).then_some(words.as_slice())
}

/// Is the daemon started through `POCKETFTPD_CMD` (an emulator, usually)?
/// It then starts and runs many times slower, so start-up gets longer.
pub fn wrapped() -> bool {
    wrapper_command().is_some()
}

/// The path of the native `pocketftpd` binary (unused when
/// `POCKETFTPD_CMD` is set: see [`daemon_command`]).
///
/// `POCKETFTPD_BIN` overrides it. Otherwise the binary is built once per test
/// process with `$CARGO build -p pocketftpd --bin pocketftpd` into the same
/// target folder and profile as the running test binary (cargo releases its
/// build lock before it runs tests, so this does not deadlock), and the path
/// `<target>/<profile>/pocketftpd` is returned.
pub fn daemon_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("POCKETFTPD_BIN") {
            let bin = PathBuf::from(bin);
            assert!(
                bin.is_file(),
                "POCKETFTPD_BIN={} is not a file",
                bin.display()
            );
            return bin;
        }
        build_daemon()
    })
}

fn build_daemon() -> PathBuf {
    // The test binary lives in <target>/<profile>/deps/<name>-<hash>.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary is not in <target>/<profile>/deps")
        .to_path_buf();
    let target_dir = profile_dir.parent().expect("no target dir").to_path_buf();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_string(),
        Some(other) => other.to_string(),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let status = Command::new(cargo)
        .arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .arg("--profile")
        .arg(&profile)
        .args(["-p", "pocketftpd", "--bin", "pocketftpd"])
        .stdin(Stdio::null())
        .status()
        .expect("could not run cargo to build pocketftpd");
    assert!(status.success(), "building pocketftpd failed: {status}");
    let bin = profile_dir.join(format!("pocketftpd{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "cargo built pocketftpd but {} is missing",
        bin.display()
    );
    bin
}
