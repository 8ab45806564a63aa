//! What the session logs for an admin (issue 15): changes to files and
//! folders, refused writes, failed logins by name, interrupted transfers
//! (with their incomplete xferlog record), and at `debug` each command with
//! passwords masked.

use log::Level;

use crate::testing::log_capture::capture;
use crate::testing::sim::{run_both, Harness, Op, Op::*};
use crate::{Action, Config, ErrorKind};

use super::{files, writable, LOGIN};

/// Runs `steps` (whole and byte at a time) and returns the harness and the
/// log lines at `level` exactly.
fn logged(config: &Config, steps: &[Op<'_>], level: Level) -> (Harness, Vec<String>) {
    let (h, lines) = capture(|| run_both(config, &files(), steps));
    let lines = lines
        .into_iter()
        .filter(|(l, _)| *l == level)
        .map(|(_, line)| line)
        .collect();
    (h, lines)
}

fn assert_logged(lines: &[String], want: &str) {
    assert!(
        lines.iter().any(|l| l.contains(want)),
        "no line contains {want:?} in:\n{}",
        lines.join("\n")
    );
}

#[test]
fn changes_to_files_and_folders_are_logged_with_the_user() {
    let (h, lines) = logged(
        &writable(),
        &[
            LOGIN,
            Send(b"DELE hello.txt\r\nMKD new\r\nRMD /new\r\n"),
            Send(b"RNFR pub/data.bin\r\nRNTO /pub/moved.bin\r\nDELE gone\r\n"),
        ],
        Level::Info,
    );
    assert_eq!(h.codes()[3..], [250, 257, 250, 350, 250, 550]);
    assert_logged(&lines, "\"anonymous\" deleted /hello.txt");
    assert_logged(&lines, "\"anonymous\" made folder /new");
    assert_logged(&lines, "\"anonymous\" removed folder /new");
    assert_logged(
        &lines,
        "\"anonymous\" renamed /pub/data.bin -> /pub/moved.bin",
    );
    assert_logged(&lines, "DELE /gone failed: 550 No such file or folder.");
}

#[test]
fn refused_writes_are_logged() {
    let (h, lines) = logged(
        &Config::default(),
        &[
            LOGIN,
            Send(b"DELE hello.txt\r\nRNFR hello.txt\r\nMKD new\r\nPASV\r\nSTOR up.bin\r\n"),
        ],
        Level::Info,
    );
    assert_eq!(h.codes()[3..], [550, 550, 550, 227, 550]);
    for refused in ["DELE hello.txt", "RNFR hello.txt", "MKD new", "STOR up.bin"] {
        assert_logged(
            &lines,
            &format!("\"anonymous\" may not write: refused {refused}"),
        );
    }
    // The file system said no: logged too.
    let (h, lines) = logged(
        &writable(),
        &[
            LOGIN,
            Fault(ErrorKind::PermissionDenied),
            Send(b"RMD pub\r\n"),
        ],
        Level::Info,
    );
    assert_eq!(h.codes()[3..], [550]);
    assert_logged(&lines, "RMD /pub failed: 550 Permission denied.");
    // A read-only file system says so, to the client and in the log; and
    // each of the three causes reads differently in the log.
    let (h, lines) = logged(
        &writable(),
        &[
            LOGIN,
            Fault(ErrorKind::ReadOnly),
            Send(b"DELE hello.txt\r\n"),
            Send(b"PASV\r\n"),
            Fault(ErrorKind::ReadOnly),
            Send(b"STOR new.txt\r\n"),
        ],
        Level::Info,
    );
    assert_eq!(h.codes()[3..], [550, 227, 550]);
    assert!(h.text().contains("550 Read-only file system.\r\n"));
    assert_logged(&lines, "DELE /hello.txt failed: 550 Read-only file system.");
    assert_logged(&lines, "upload /new.txt failed: 550 Read-only file system.");
}

#[test]
fn a_failed_login_names_the_user() {
    let config = Config {
        users: true,
        anonymous: false,
        ..Config::default()
    };
    let (h, lines) = logged(
        &config,
        &[
            Send(b"USER mallory\r\nPASS wrong\r\n"),
            Advance(std::time::Duration::from_secs(2)),
        ],
        Level::Warn,
    );
    assert_eq!(h.codes(), [220, 331, 530]);
    assert_logged(&lines, "failed login as \"mallory\" (1 so far)");
}

#[test]
fn debug_shows_each_command_with_passwords_masked() {
    let config = Config {
        users: true,
        anonymous: false,
        ..Config::default()
    };
    let steps = [Send(
        b"USER alice\r\nPASS s3cret word\r\npass other\r\nNOOP\r\n",
    )];
    let (_, lines) = capture(|| run_both(&config, &files(), &steps));
    let debug: Vec<String> = (lines.iter())
        .filter(|(level, _)| *level == Level::Debug)
        .map(|(_, line)| line.clone())
        .collect();
    assert_logged(&debug, "<- USER alice");
    assert_logged(&debug, "<- PASS ****");
    assert!(
        lines
            .iter()
            .all(|(_, l)| !l.contains("s3cret") && !l.contains("other")),
        "a password reached the log: {lines:?}"
    );
}

#[test]
fn trace_shows_replies_and_events() {
    let (_, lines) = logged(
        &Config::default(),
        &[LOGIN, Send(b"SIZE hello.txt\r\n")],
        Level::Trace,
    );
    assert_logged(&lines, "-> 213 12");
    assert_logged(&lines, "event Metadata");
}

/// Issue 15: a download whose client went away is logged as interrupted
/// and gets an incomplete xferlog record; so does one the client broke.
#[test]
fn interrupted_transfers_are_logged_and_recorded_incomplete() {
    let retr = Send(b"PASV\r\nRETR hello.txt\r\n");
    let data = ConnectData("127.0.0.1:40001");
    let cases: [(&[Op<'_>], &str); 2] = [
        (
            &[LOGIN, HoldTransfers, retr.clone(), data.clone(), Eof],
            "426 Control connection gone",
        ),
        (
            &[
                LOGIN,
                HoldTransfers,
                retr,
                data,
                FailTransfer(ErrorKind::ConnectionLost),
            ],
            "426 Connection closed",
        ),
    ];
    for (steps, why) in cases {
        let (h, lines) = logged(&Config::default(), steps, Level::Info);
        assert_logged(
            &lines,
            "\"anonymous\" download /hello.txt interrupted after 0 bytes",
        );
        assert_logged(&lines, why);
        let records: Vec<_> = (h.actions.iter())
            .filter_map(|a| match a {
                Action::LogTransfer(r) => Some((r.path.to_string(), r.outgoing, r.complete)),
                _ => None,
            })
            .collect();
        assert_eq!(records, [("/hello.txt".to_owned(), true, false)], "{why}");
    }
    // A complete one says so.
    let (_, lines) = logged(
        &Config::default(),
        &[
            LOGIN,
            Send(b"PASV\r\nRETR hello.txt\r\n"),
            ConnectData("127.0.0.1:40001"),
        ],
        Level::Info,
    );
    assert_logged(
        &lines,
        "\"anonymous\" download /hello.txt complete: 12 bytes",
    );
}

/// An interrupted transfer is logged, and recorded, with the bytes it
/// really moved, not the last count reported: a failure carries them, and
/// the end of the control connection comes after them.
#[test]
fn interrupted_transfers_count_the_bytes_they_really_moved() {
    let moving = [
        LOGIN,
        HoldTransfers,
        Send(b"PASV\r\nRETR hello.txt\r\n"),
        ConnectData("127.0.0.1:40001"),
        Progress(4),
        Moved(7),
    ];
    for end in [Eof, FailTransfer(ErrorKind::ConnectionLost)] {
        let steps = [&moving[..], std::slice::from_ref(&end)].concat();
        let (h, lines) = logged(&Config::default(), &steps, Level::Info);
        assert_logged(
            &lines,
            "\"anonymous\" download /hello.txt interrupted after 7 bytes",
        );
        let records: Vec<_> = (h.actions.iter())
            .filter_map(|a| match a {
                Action::LogTransfer(r) => Some((r.bytes, r.complete)),
                _ => None,
            })
            .collect();
        assert_eq!(records, [(7, false)], "{end:?}");
    }
}
