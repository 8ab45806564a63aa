//! The session's deadlines: idle, data connect, stall.

use std::time::Duration;

use crate::testing::sim::{run_both, Op::*};
use crate::{Action, Config};

use super::{codes_after_login, files, writable, LOGIN};

fn config() -> Config {
    Config {
        idle_timeout: Duration::from_secs(300),
        data_timeout: Duration::from_secs(60),
        ..writable()
    }
}

/// Idle: nothing for the idle timeout closes the session.
#[test]
fn idle_sessions_are_closed() {
    let h = run_both(
        &config(),
        &files(),
        &[
            LOGIN,
            Advance(Duration::from_secs(299)),
            Send(b"NOOP\r\n"),
            Advance(Duration::from_secs(299)),
        ],
    );
    assert_eq!(codes_after_login(&h), [200]);
    let h = run_both(
        &config(),
        &files(),
        &[LOGIN, Advance(Duration::from_secs(301))],
    );
    assert_eq!(codes_after_login(&h), [421]);
    assert_eq!(h.actions.last(), Some(&Action::Close));
}

/// Data connect timeout: 425, and the session goes on.
#[test]
fn a_data_connection_that_never_comes_is_425() {
    let h = run_both(
        &config(),
        &files(),
        &[
            LOGIN,
            Send(b"PASV\r\nRETR hello.txt\r\n"),
            Advance(Duration::from_secs(61)),
            Send(b"NOOP\r\n"),
        ],
    );
    assert_eq!(codes_after_login(&h), [227, 425, 200]);
}

/// Stall: a transfer without progress is aborted with 426.
#[test]
fn a_stalled_transfer_is_aborted() {
    let h = run_both(
        &config(),
        &files(),
        &[
            LOGIN,
            HoldTransfers,
            Send(b"PASV\r\nRETR hello.txt\r\n"),
            ConnectData("127.0.0.1:40001"),
            Advance(Duration::from_secs(61)),
            Send(b"NOOP\r\n"),
        ],
    );
    assert_eq!(codes_after_login(&h), [227, 150, 426, 200]);
    assert!(h.actions.contains(&Action::AbortTransfer));
}

/// Progress keeps a transfer alive, and a long transfer does not trip the
/// idle timer.
#[test]
fn progress_keeps_a_long_transfer_alive() {
    let mut steps = vec![
        LOGIN,
        HoldTransfers,
        Send(b"PASV\r\nRETR hello.txt\r\n"),
        ConnectData("127.0.0.1:40001"),
        Advance(Duration::from_secs(50)),
    ];
    for _ in 0..10 {
        steps.extend([Progress(1), Advance(Duration::from_secs(50))]);
    }
    steps.push(FinishTransfer);
    let h = run_both(&config(), &files(), &steps);
    assert_eq!(codes_after_login(&h), [227, 150, 226]);
}

/// A commit that waits for a slow disk (its sync) is no stall: the
/// session waits for its answer however long it takes, and `ABOR` still
/// stops it, the old file kept.
#[test]
fn a_slow_commit_is_no_stall() {
    let committing = [
        LOGIN,
        HoldTransfers,
        HoldCommits,
        Send(b"PASV\r\nSTOR hello.txt\r\n"),
        ConnectData("127.0.0.1:40001"),
        Upload(b"new bytes"),
        ReceiveUpload,
        Advance(Duration::from_secs(600)),
    ];
    let h = run_both(
        &config(),
        &files(),
        &[&committing[..], &[FinishCommit]].concat(),
    );
    assert_eq!(codes_after_login(&h), [227, 150, 226]);
    assert_eq!(h.fs.file("/hello.txt"), Some(&b"new bytes"[..]));
    assert!(!h.actions.contains(&Action::AbortTransfer));

    let abort = [Send(b"ABOR\r\n"), FinishCommit];
    let h = run_both(&config(), &files(), &[&committing[..], &abort].concat());
    assert_eq!(codes_after_login(&h), [227, 150, 426, 226]);
    assert_eq!(h.fs, files(), "an aborted commit must not change the file");
}
