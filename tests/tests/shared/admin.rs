//! The admin listener as the tests reach it: a daemon with one, plain
//! HTTP requests to it, and `/metrics` as Prometheus' own Python parser
//! reads it (`admin.rs`, `admin_counters.rs`). A file of
//! `tests/tests/shared/`, which cargo does not take for a test target.
#![allow(dead_code)] // each suite uses its own share of it

use pocketftpd_tests::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A daemon where anonymous sessions may write, with an admin listener on
/// loopback; `extra` are more options.
pub fn admin_daemon(extra: &[&str]) -> (Daemon, SocketAddr) {
    let admin = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut args = vec!["--admin-listen".to_owned(), admin.to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let d = Daemon::with(Options {
        write: true,
        extra: args,
        ..Options::default()
    });
    (d, admin)
}

/// Sends `raw` on a fresh connection and reads the answer(s) until the
/// daemon closes it.
pub fn exchange(admin: SocketAddr, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(admin).expect("connect to the admin listener");
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(raw).expect("send the request");
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// `METHOD path` with `headers`; the status and the body.
pub fn request(admin: SocketAddr, method: &str, path: &str, headers: &str) -> (u16, String) {
    let raw = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n");
    let answer = exchange(admin, raw.as_bytes());
    (status_of(&answer), body_of(&answer).to_owned())
}

pub fn get(admin: SocketAddr, path: &str) -> (u16, String) {
    request(admin, "GET", path, "")
}

pub fn status_of(answer: &str) -> u16 {
    answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
}

pub fn body_of(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

/// A Python with `prometheus_client`: `POCKETFTPD_PROM_PYTHON`, or the
/// venv `target/admin-venv` (made here, with pip, if .ci/run has not made
/// it). `None` (the test skipped; failed under CI) if there is none.
pub fn prometheus_python() -> Option<PathBuf> {
    if let Some(python) = std::env::var_os("POCKETFTPD_PROM_PYTHON") {
        return Some(python.into());
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/admin-venv");
    let python = venv.join("bin/python");
    let has_parser = |python: &PathBuf| {
        Command::new(python)
            .args(["-c", "import prometheus_client"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has_parser(&python) {
        let made = run_bounded(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            b"",
            Duration::from_secs(120),
        );
        let installed = made.success()
            && run_bounded(
                Command::new(venv.join("bin/pip")).args(["install", "-q", "prometheus_client"]),
                b"",
                Duration::from_secs(300),
            )
            .success();
        if !installed || !has_parser(&python) {
            skip("no Python venv with prometheus_client (.ci/run makes target/admin-venv)");
            return None;
        }
    }
    Some(python)
}

/// `/metrics` through prometheus_client's parser: each sample's line
/// (`name{labels} value`, labels sorted) and each family's
/// `# family NAME TYPE HELP` line.
pub fn parsed_metrics(python: &PathBuf, admin: SocketAddr) -> Vec<String> {
    let (status, text) = get(admin, "/metrics");
    assert_eq!(status, 200, "{text}");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("py/prom_parse.py");
    let run = run_bounded(
        Command::new(python).arg(script),
        text.as_bytes(),
        Duration::from_secs(60),
    );
    assert!(
        run.success(),
        "prometheus_client refused:\n{}\n{text}",
        run.stderr
    );
    String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The value of the sample `name{labels}` (labels sorted, as printed).
pub fn sample(lines: &[String], name_and_labels: &str) -> f64 {
    let braces = if name_and_labels.contains('{') {
        ""
    } else {
        "{}"
    };
    let prefix = format!("{name_and_labels}{braces} ");
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no sample {name_and_labels} in {lines:#?}"))
        .parse()
        .unwrap()
}
