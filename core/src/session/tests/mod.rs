//! Scripted sessions against the in-memory harness; every script runs whole
//! and byte at a time (see [`crate::testing::sim`]).

use crate::testing::sim::{run_both, Harness, MemFs, Op, Op::*};
use crate::{Access, Config, VirtualPath};

mod control;
mod data;
mod files;
mod ftps;
mod globs;
mod login;
mod logs;
mod passive_address;
mod roles;
mod shutdown;
mod timers;
mod transfers;

const LOGIN: Op<'static> = Send(b"USER anonymous\r\nPASS guest@\r\n");

fn writable() -> Config {
    Config {
        anonymous_access: Access::Super,
        ..Config::default()
    }
}

fn files() -> MemFs {
    MemFs::default()
        .with_file("/hello.txt", b"hello\nworld\n")
        .with_dir("/pub")
        .with_file("/pub/data.bin", &[7u8; 100])
}

fn run(steps: &[Op<'_>]) -> Harness {
    run_both(&Config::default(), &files(), steps)
}

fn run_writable(steps: &[Op<'_>]) -> Harness {
    run_both(&writable(), &files(), steps)
}

/// The codes after the welcome and the login.
fn codes_after_login(h: &Harness) -> Vec<u16> {
    let codes = h.codes();
    assert_eq!(codes[..3], [220, 331, 230], "{}", h.text());
    codes[3..].to_vec()
}

fn path(p: &str) -> VirtualPath {
    VirtualPath::resolve(&VirtualPath::root(), p).unwrap()
}
