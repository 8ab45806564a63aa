//! The daemon driven by Python's ftplib (tests/py/ftplib_client.py), passive
//! and active; bytes are compared in Rust too.

use pocketftpd_tests::*;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

fn run_ftplib(d: &Daemon, scenario: &str, mode: &str, local: &Path) {
    run_ftplib_at("127.0.0.1", d.port, scenario, mode, local);
}

fn run_ftplib_at(host: &str, port: u16, scenario: &str, mode: &str, local: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("py/ftplib_client.py");
    let out = run_bounded(
        Command::new("python3")
            .arg(&script)
            .arg(host)
            .arg(port.to_string())
            .arg(scenario)
            .arg(mode)
            .arg(local),
        b"",
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "ftplib {scenario} {mode} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        out.stderr
    );
}

/// Which address ftplib talks to.
#[derive(Clone, Copy, PartialEq)]
enum Family {
    V4,
    /// `[::1]`: ftplib then uses EPSV and EPRT `|2|`.
    V6,
}

fn transfer(mode: &str, seed: u64, family: Family) {
    let v6_port = free_v6_port();
    let d = match family {
        Family::V4 => Daemon::start_write(),
        Family::V6 => Daemon::with(Options {
            write: true,
            extra: vec!["--listen".into(), format!("[::1]:{v6_port}")],
            ..Options::default()
        }),
    };
    let local = TempDir::new("ftplib");
    for sub in ["up", "down", "rest", "extra"] {
        fs::create_dir(local.join(sub)).unwrap();
    }
    let mut rng = Rng::new(seed);
    let sizes = [0usize, 1, 1000, 65_537, (1 << 20) + 12_345, 3 << 20];
    let mut files = Vec::new();
    for &size in &sizes {
        let name = format!("{}-{size}.bin", rng.name(10));
        let body = rng.bytes(size);
        let extra_len = rng.below(5000) as usize + 1;
        let extra = rng.bytes(extra_len);
        fs::write(local.join("up").join(&name), &body).unwrap();
        fs::write(local.join("extra").join(&name), &extra).unwrap();
        files.push((name, body, extra));
    }
    match family {
        Family::V4 => run_ftplib(&d, "transfer", mode, local.path()),
        Family::V6 => run_ftplib_at("::1", v6_port, "transfer", mode, local.path()),
    }
    for (name, body, extra) in &files {
        let down = fs::read(local.join("down").join(name)).unwrap();
        assert_bytes_eq(&format!("downloaded {name}"), &down, body);
        let rest = fs::read(local.join("rest").join(name)).unwrap();
        assert_bytes_eq(&format!("resumed {name}"), &rest, &body[body.len() / 3..]);
        let on_disk = fs::read(d.root().join(name)).unwrap();
        let mut want = body.clone();
        want.extend_from_slice(extra);
        assert_bytes_eq(&format!("{name} on disk after STOR+APPE"), &on_disk, &want);
    }
    let mut want: Vec<String> = files.iter().map(|f| f.0.clone()).collect();
    want.sort();
    assert_eq!(d.names(""), want, "only the uploaded files, no temporaries");
}

#[test]
fn transfer_passive() {
    transfer("passive", 0x5eed_0001, Family::V4);
}

#[test]
fn transfer_passive_ipv6() {
    transfer("passive", 0x5eed_0003, Family::V6);
}

#[test]
fn transfer_active_ipv6() {
    transfer("active", 0x5eed_0004, Family::V6);
}

/// A free port on [::1].
fn free_v6_port() -> u16 {
    std::net::TcpListener::bind((std::net::Ipv6Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind [::1]:0")
}

#[test]
fn transfer_active() {
    transfer("active", 0x5eed_0002, Family::V4);
}

fn listing(mode: &str) {
    let d = Daemon::start();
    let old = d.put("old.bin", &[0u8; 1000]);
    fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(UNIX_EPOCH + Duration::from_secs(1_614_834_367))
        .unwrap();
    d.put("sp ace.txt", b"12345");
    d.put("sub/inner.txt", b"inner");
    let local = TempDir::new("ftplib");
    run_ftplib(&d, "listing", mode, local.path());
}

#[test]
fn listing_passive() {
    listing("passive");
}

#[test]
fn listing_active() {
    listing("active");
}

#[test]
fn ops_rename_delete_mkd_rmd_utf8() {
    let d = Daemon::start_write();
    let local = TempDir::new("ftplib");
    run_ftplib(&d, "ops", "passive", local.path());
    assert!(d.names("").is_empty(), "left behind: {:?}", d.names(""));
}

fn abort(mode: &str) {
    let mut d = Daemon::start();
    let big: Vec<u8> = (0..32usize << 20).map(|i| (i % 253) as u8).collect();
    d.put("big.bin", &big);
    d.put("small.txt", b"small");
    let local = TempDir::new("ftplib");
    run_ftplib(&d, "abort", mode, local.path());
    d.assert_alive();
}

#[test]
fn abort_passive() {
    abort("passive");
}

#[test]
fn abort_active() {
    abort("active");
}
