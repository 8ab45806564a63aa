//! Helpers for the end-to-end tests: the real `pocketftpd` binary on
//! `127.0.0.1`, a fresh temporary root per test, a raw control-connection
//! client, data-connection helpers and a tiny seeded PRNG.
//!
//! Every test starts its own daemon with [`Daemon::start`]; the guard kills
//! the daemon (by its own pid) and removes the root when dropped, prints the
//! daemon's stderr if the test is failing, and fails a test whose daemon
//! exited or panicked on its own.
//!
//! Test files by topic: `commands.rs` (each command's reply), `errors.rs`
//! (every error case, broken and vanishing clients), `edges.rs` (pipelining,
//! stalls, TYPE A, symlinks, leaks, concurrency), `sessions.rs` (options,
//! users, limits, signals), `ftplib.rs` (Python's ftplib via
//! `tests/py/ftplib_client.py`), `curl.rs`, `clients.rs` (lftp, wget,
//! rclone, tnftp), `hostile.rs` (crashes, files changing under a transfer,
//! restart offsets, crowded folders), `ftps.rs` (FTPS with ftplib, curl,
//! lftp, rclone, raw sockets; `tests/py/ftps_client.py`), `ftps_sessions.rs`
//! (data connections bound to their session's TLS; Node's basic-ftp,
//! `tests/js/`), `logins.rs` (password checks under a flood, memory after
//! logins), `modes.rs`
//! (`--umask`, `SITE CHMOD`, lftp mirroring modes both ways), `globs.rs`
//! (LIST/NLST/STAT globs, tnftp `mget`), `pressure.rs` (unread replies,
//! pipelines, killed clients, descriptors), `accounts.rs` (roles, homes),
//! `fallback.rs` (the resolver without openat2), `rates.rs`
//! (bandwidth limits, timed), `logs.rs` (the log lines an admin looks for),
//! `startup.rs` (hash-password at a terminal, command-line hints, the start
//! line, dual-stack listening), `reload.rs` (what SIGHUP re-reads, and what
//! it says it cannot apply), `warnings.rs` (what start-up refuses or warns
//! about, and what to do), `dotfiles.rs` (names starting with a dot, and
//! what the start-up says is served to whom), `router.rs` (the announced
//! address, the warnings about passive connections, keepalive: issue 28),
//! `bans.rs` (bans, fail2ban's filter), `proxy.rs` (PROXY protocol
//! listeners), `space.rs` (`--min-free` on a small file system that
//! fills).
//!
//! Environment: `POCKETFTPD_BIN` tests another binary instead of building
//! this workspace's; `POCKETFTPD_CMD` replaces the whole daemon command,
//! split on whitespace, with the daemon's options appended — for a binary
//! of another architecture under emulation, e.g.
//! `POCKETFTPD_CMD="qemu-arm -L /usr/arm-linux-gnueabihf target/armv7-unknown-linux-gnueabihf/release/pocketftpd"`
//! (it wins over `POCKETFTPD_BIN`; qemu-user runs the guest in its own
//! process, so the child's pid, signals and `/proc` entries are the
//! daemon's, though its descriptors and memory are the emulator's too; a
//! wrapper script must `exec` for the same reason). Tests that cannot hold
//! under emulation are listed, with why, in `tests/emulation-excludes`;
//! `.ci/run` prints that list and skips them only in its emulated runs (they
//! run natively in the same CI). `POCKETFTPD_SEED` replays the random bytes
//! and names; with `CI` set, a missing client program fails its test instead
//! of skipping it. Needs Linux (`/proc`, `SO_LINGER`), `python3` and `curl`.
//!
//! The harness, by seam (everything below is re-exported here, so a test
//! file needs only `use pocketftpd_tests::*;`):
//!
//! 1. `binary.rs`: which program is the daemon (`daemon_command`).
//! 2. `daemon.rs`: the guard, [`Daemon`] with its [`Options`] and its log
//!    (`log_count`, `wait_logged`, `logged_line`); start-ups that must fail
//!    (`run_daemon`, `start_fails`); `password_hash`; `wait_until`.
//! 3. `ports.rs`: a free port per daemon, and whether one listens.
//! 4. `ctrl.rs`: the raw control client [`Ctrl`] and its [`Reply`]s.
//! 5. `data.rs`: data connections ([`DataPlan`]) and transfers over them.
//! 6. `programs.rs`: client programs, bounded ([`run_bounded`]), and
//!    skipping a test whose program is missing ([`need_program`]).
//! 7. `trees.rs`: [`TempDir`], the seeded [`Rng`], trees of files and
//!    byte comparisons.
//! 8. `netns.rs`: networks a test makes for itself ([`NetPair`]: a
//!    server's and a client's network namespace), for clients that are
//!    not on loopback (a LAN's, or one standing for the internet); and
//!    clients from other loopback addresses ([`connect_from`]).
//! 9. `small_fs.rs`: [`SmallFs`], a tmpfs of a few MiB that really fills.
//! 10. `fuse.rs`: a FUSE file system mounted for a test ([`Mount`]), and
//!     skipping a test where FUSE is missing ([`need_fuse`]).
//! 11. `weed.rs`: a SeaweedFS store ([`Weed`]: `weed mini` on loopback
//!     ports of its own) and its `weed mount`s, for several daemons on one
//!     store; its S3 gateway for the S3 back-end ([`Weed::s3_only`]).
//! 12. `fault_proxy.rs`: [`FaultProxy`], between the daemon and the store:
//!     503s, cut answers, delays, a store gone down.
//!
//! Beside them, modules for a few test files, used by their path:
//! [`accounts`] (users and homes), [`clients`] (lftp, rclone), [`mounts`]
//! (file systems a test mounts: full, read-only, failing), [`syscalls`]
//! (the daemon's system calls, by strace), [`tls`] (certificates and TLS
//! clients) and [`traversal`] (the path-traversal cases).

pub mod accounts;
pub mod clients;
pub mod mounts;
pub mod syscalls;
pub mod tls;
pub mod traversal;

mod binary;
mod ctrl;
mod daemon;
mod data;
mod fault_proxy;
mod fuse;
mod netns;
mod ports;
mod programs;
mod small_fs;
mod trees;
mod weed;

#[cfg(test)]
mod tests;

pub use binary::{daemon_argv, daemon_binary, daemon_command, wrapped};
pub use ctrl::{parse_227, parse_229, parse_code, Ctrl, Reply, READ_TIMEOUT};
pub use daemon::{password_hash, run_daemon, start_fails, wait_until, Daemon, Options};
pub use data::{accept_timeout, set_linger_zero, sorted_lines, DataPlan};
pub use fault_proxy::FaultProxy;
pub use fuse::{need_fuse, Mount};
pub use netns::{connect_from, End, NetPair};
pub use ports::{free_port, port_state};
pub use programs::{have_program, is_root, need_program, need_root, run_bounded, skip, Run};
pub use small_fs::SmallFs;
pub use trees::{
    assert_bytes_eq, assert_same_tree, dir_names, first_difference, make_tree, tree_files, Rng,
    TempDir,
};
pub use weed::{need_weed, Weed, WEED_BUCKET, WEED_KEY, WEED_SECRET};
