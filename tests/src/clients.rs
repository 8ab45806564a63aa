//! Real client programs against a daemon, bounded in time and checked for
//! success: lftp and rclone, for clients.rs, modes.rs and ftps.rs.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::{run_bounded, Run};

/// How long one client program may run.
pub const CLIENT_LIMIT: Duration = Duration::from_secs(120);

/// `lftp -c`: one try, 15 s time-outs, exit on the first failed command;
/// `settings` (its `set …;` lines, for TLS or without) come before it
/// opens an anonymous session on `127.0.0.1:port`, `script` after. Panics
/// unless lftp exits 0.
pub fn lftp(port: u16, settings: &str, script: &str) -> Run {
    let full = format!(
        "set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 15; \
         {settings} open -u anonymous,x ftp://127.0.0.1:{port}; {script}"
    );
    let run = run_bounded(Command::new("lftp").arg("-c").arg(&full), b"", CLIENT_LIMIT);
    assert!(
        run.success(),
        "lftp {script:?} exited {} (it must exit 0):\n{}",
        run.status,
        run.stderr
    );
    run
}

/// `password` as rclone wants it in a remote's settings.
pub fn rclone_obscured(password: &str) -> String {
    let run = run_bounded(
        Command::new("rclone").args(["obscure", password]),
        b"",
        CLIENT_LIMIT,
    );
    assert!(run.success(), "rclone obscure: {}", run.stderr);
    String::from_utf8(run.stdout).unwrap().trim().to_owned()
}

/// rclone with `args`, its config in `conf_dir`, `env` added (a remote's
/// settings), one try and short time-outs. Panics unless it exits 0.
pub fn rclone(conf_dir: &Path, env: &[(&str, &str)], args: &[String]) -> Run {
    let run = run_bounded(
        Command::new("rclone")
            .env("RCLONE_CONFIG", conf_dir.join("rclone.conf"))
            .envs(env.iter().copied())
            .args([
                "--retries",
                "1",
                "--low-level-retries",
                "1",
                "--contimeout",
                "10s",
                "--timeout",
                "20s",
            ])
            .args(args),
        b"",
        CLIENT_LIMIT,
    );
    assert!(
        run.success(),
        "rclone {args:?} failed ({}):\n{}",
        run.status,
        run.stderr
    );
    run
}
