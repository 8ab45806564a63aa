//! How a session ends: the client's EOF, the daemon's shutdown and its
//! grace period.

use crate::testing::sim::{Op, Op::*};
use crate::Action;

use super::{codes_after_login, run, run_writable, LOGIN};

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
