//! How a session ends: the client's EOF (before and after an upload is
//! committed), the daemon's shutdown and its grace period.

use std::time::Duration;

use crate::testing::sim::{Harness, Op, Op::*};
use crate::{Action, Config};

use super::{codes_after_login, files, run, run_writable, LOGIN};

const SECOND: Duration = Duration::from_secs(1);

/// Logged in, with a download running until the script finishes it.
const DOWNLOADING: [Op<'static>; 4] = [
    LOGIN,
    HoldTransfers,
    Send(b"PASV\r\nRETR hello.txt\r\n"),
    ConnectData("127.0.0.1:40001"),
];

#[test]
fn eof_closes_and_stops_everything() {
    let h = run(&[&DOWNLOADING[..], &[Eof]].concat());
    assert_eq!(h.actions.last(), Some(&Action::Close));
    assert!(h.session.is_closed());
    assert_eq!(h.session.poll_timeout(), None);
}

/// Commands sent before the client half-closed are all answered.
#[test]
fn eof_after_pipelined_commands_answers_them_first() {
    let h = run(&[LOGIN, Send(b"NOOP\r\nSIZE hello.txt\r\nPWD\r\n"), Eof]);
    assert_eq!(codes_after_login(&h), [200, 213, 257]);
    assert!(h.session.is_closed());
}

/// The broken-upload rule: a client that closes the control connection
/// with no command left breaks its running upload (nobody would read the
/// `226`); one that said QUIT first has its upload finish.
#[test]
fn control_eof_breaks_an_upload_unless_quit_came_first() {
    let upload = [
        LOGIN,
        HoldTransfers,
        Send(b"PASV\r\nSTOR up.bin\r\n"),
        ConnectData("127.0.0.1:40001"),
        Upload(b"new bytes"),
    ];
    let h = run_writable(&[&upload[..], &[Eof, FinishTransfer]].concat());
    assert_eq!(codes_after_login(&h), [227, 150]);
    assert_eq!(h.actions.last(), Some(&Action::Close));
    assert!(!h.fs.exists("/up.bin"));

    let h = run_writable(&[&upload[..], &[Send(b"QUIT\r\n"), Eof, FinishTransfer]].concat());
    assert_eq!(codes_after_login(&h), [227, 150, 226, 221]);
    assert_eq!(h.fs.file("/up.bin"), Some(&b"new bytes"[..]));
    assert!(h.session.is_closed());
}

/// An upload whose bytes are all in, waiting for its settle time, over
/// the old `/hello.txt`.
const RECEIVED: [Op<'static>; 6] = [
    LOGIN,
    HoldTransfers,
    Send(b"PASV\r\nSTOR hello.txt\r\n"),
    ConnectData("127.0.0.1:40001"),
    Upload(b"new bytes"),
    ReceiveUpload,
];

/// The xferlog records of a run: (bytes, complete).
fn records(h: &Harness) -> Vec<(u64, bool)> {
    (h.actions.iter())
        .filter_map(|a| match a {
            Action::LogTransfer(r) => Some((r.bytes, r.complete)),
            _ => None,
        })
        .collect()
}

/// The end of the control connection before the upload's settle time is
/// over breaks it, however near the end: a client killed mid-upload closes
/// its data connection first, and its control connection within
/// microseconds.
#[test]
fn control_eof_before_the_settle_time_breaks_a_received_upload() {
    let just_before = Config::default().upload_settle - Duration::from_micros(1);
    for wait in [Duration::ZERO, just_before] {
        let steps = [&RECEIVED[..], &[Advance(wait), Eof, Advance(SECOND)]].concat();
        let h = run_writable(&steps);
        assert_eq!(codes_after_login(&h), [227, 150], "{wait:?}");
        assert_eq!(h.actions.last(), Some(&Action::Close));
        assert!(!h.actions.contains(&Action::CommitUpload));
        assert_eq!(h.fs, files(), "a broken upload must not change the file");
        assert_eq!(records(&h), [(9, false)]);
    }
}

/// Once the settle time is over the upload is committed and answered; the
/// end of the control connection after that ends the session only.
#[test]
fn control_eof_after_the_commit_ends_the_session_only() {
    let settle = Config::default().upload_settle;
    let h = run_writable(&[&RECEIVED[..], &[Advance(settle), Eof]].concat());
    assert_eq!(codes_after_login(&h), [227, 150, 226]);
    assert!(h.actions.contains(&Action::CommitUpload));
    assert_eq!(h.fs.file("/hello.txt"), Some(&b"new bytes"[..]));
    assert_eq!(records(&h), [(9, true)]);
    assert!(h.session.is_closed());
}

/// A `QUIT` pipelined behind the upload, and the end of the control
/// connection after it, let the received upload settle and finish first.
#[test]
fn quit_then_eof_lets_a_received_upload_finish() {
    let quit = [Send(b"QUIT\r\n"), Eof, Advance(SECOND)];
    let h = run_writable(&[&RECEIVED[..], &quit].concat());
    assert_eq!(codes_after_login(&h), [227, 150, 226, 221]);
    assert_eq!(h.fs.file("/hello.txt"), Some(&b"new bytes"[..]));
    assert_eq!(records(&h), [(9, true)]);
    assert!(h.session.is_closed());
}

#[test]
fn shutdown_lets_a_running_transfer_finish() {
    let h = run(&[LOGIN, Shutdown]);
    assert_eq!(codes_after_login(&h), [421]);
    assert_eq!(h.actions.last(), Some(&Action::Close));

    let h = run(&[
        &DOWNLOADING[..],
        &[Shutdown, Send(b"NOOP\r\n"), FinishTransfer],
    ]
    .concat());
    assert_eq!(codes_after_login(&h), [227, 150, 226, 421]);
    assert!(h.session.is_closed());
}

/// Issue 13, defect 13: after the shutdown grace period a running transfer
/// gets its final reply before the `421`.
#[test]
fn grace_over_cuts_a_transfer_with_a_final_reply() {
    let h = run(&[&DOWNLOADING[..], &[Shutdown, GraceOver]].concat());
    assert_eq!(codes_after_login(&h), [227, 150, 426, 421]);
    assert!(h.actions.contains(&Action::AbortTransfer));
    assert!(h.session.is_closed());
}

/// A kick (the admin listener's) ends an idle session with `421` at once,
/// and nothing comes after it.
#[test]
fn a_kick_ends_an_idle_session_with_421() {
    let h = run(&[LOGIN, Kick, Send(b"NOOP\r\n"), Kick]);
    assert_eq!(codes_after_login(&h), [421]);
    assert_eq!(h.actions.last(), Some(&Action::Close));
    assert!(h.session.is_closed());
    assert_eq!(h.session.poll_timeout(), None);
}

/// A kick mid-transfer aborts it with its final reply, then `421`: a
/// download is cut, an upload broken (the old file kept, the xferlog
/// saying it was not complete).
#[test]
fn a_kick_mid_transfer_aborts_it_first() {
    let h = run(&[&DOWNLOADING[..], &[Kick]].concat());
    assert_eq!(codes_after_login(&h), [227, 150, 426, 421]);
    assert!(h.actions.contains(&Action::AbortTransfer));
    assert!(h.session.is_closed());

    let upload = [
        LOGIN,
        HoldTransfers,
        Send(b"PASV\r\nSTOR hello.txt\r\n"),
        ConnectData("127.0.0.1:40001"),
        Upload(b"new bytes"),
        Kick,
        FinishTransfer,
    ];
    let h = run_writable(&upload);
    assert_eq!(codes_after_login(&h), [227, 150, 426, 421]);
    assert_eq!(h.fs, files(), "a kicked upload must not change the file");
    let complete: Vec<bool> = records(&h).iter().map(|r| r.1).collect();
    assert_eq!(complete, [false]);
    // Received, waiting to settle: still broken.
    let h = run_writable(&[&RECEIVED[..], &[Kick, Advance(SECOND)]].concat());
    assert_eq!(codes_after_login(&h), [227, 150, 426, 421]);
    assert!(!h.actions.contains(&Action::CommitUpload));
    assert_eq!(h.fs, files());
}

/// The daemon stopping and the client closing its side can come in either
/// order; each keeps its rule. EOF after the shutdown, with nothing left to
/// answer, ends the session and its transfer at once; a shutdown after the
/// EOF lets the transfer finish, then says `421` instead of answering the
/// `QUIT` still waiting.
#[test]
fn shutdown_and_eof_in_either_order() {
    let h = run(&[&DOWNLOADING[..], &[Shutdown, Eof, FinishTransfer]].concat());
    assert_eq!(codes_after_login(&h), [227, 150]);
    assert_eq!(h.actions.last(), Some(&Action::Close));
    let interrupted =
        (h.actions.iter()).any(|a| matches!(a, Action::LogTransfer(r) if !r.complete));
    assert!(interrupted, "{:?}", h.actions);

    let quit = [Send(b"QUIT\r\n"), Eof, Shutdown, FinishTransfer];
    let h = run(&[&DOWNLOADING[..], &quit].concat());
    assert_eq!(codes_after_login(&h), [227, 150, 226, 421]);
    assert!(h.session.is_closed());
}
