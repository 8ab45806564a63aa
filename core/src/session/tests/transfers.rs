//! Transfers (`transfer.rs`): downloads, uploads, listings, `ABOR`, broken
//! transfers and their xferlog records.

use crate::testing::sim::{run_both, Op::*};
use crate::{Action, ErrorKind, OpenMode};

use super::{codes_after_login, files, path, run, run_writable, writable, LOGIN};

#[test]
fn transfers_need_a_data_connection_and_a_file() {
    let h = run(&[
        LOGIN,
        Send(b"RETR hello.txt\r\nLIST\r\nPASV\r\nRETR missing\r\nPASV\r\nRETR pub\r\nPASV\r\n"),
        Send(b"REST 13\r\nRETR hello.txt\r\n"),
    ]);
    assert_eq!(
        codes_after_login(&h),
        [425, 425, 227, 550, 227, 550, 227, 350, 554]
    );
    // A failed transfer closes the data connection it was given.
    assert_eq!(
        h.actions
            .iter()
            .filter(|a| **a == Action::CloseData)
            .count(),
        3
    );
}

#[test]
fn uploads_replace_append_resume_and_unique() {
    let h = run_writable(&[
        LOGIN,
        Upload(b"new"),
        Send(b"PASV\r\nSTOR hello.txt\r\n"),
        ConnectData("127.0.0.1:40001"),
        Upload(b"+more"),
        Send(b"PASV\r\nAPPE hello.txt\r\n"),
        ConnectData("127.0.0.1:40002"),
        Upload(b"XY"),
        Send(b"PASV\r\nREST 2\r\nSTOR hello.txt\r\n"),
        ConnectData("127.0.0.1:40003"),
        Send(b"PASV\r\nREST 100\r\nSTOR hello.txt\r\n"),
        Upload(b"u"),
        Send(b"PASV\r\nSTOU\r\n"),
        ConnectData("127.0.0.1:40004"),
    ]);
    assert_eq!(
        codes_after_login(&h),
        [227, 150, 226, 227, 150, 226, 227, 350, 150, 226, 227, 350, 554, 227, 150, 226]
    );
    assert_eq!(h.fs.file("/hello.txt"), Some(&b"neXY"[..]));
    assert_eq!(h.fs.file("/unique.1"), Some(&b"u"[..]));
    assert!(h.text().contains("150 FILE: unique.1\r\n"));
    assert!(h.actions.contains(&Action::Open {
        path: path("/hello.txt"),
        mode: OpenMode::Write
    }));
}

#[test]
fn listings_in_three_formats() {
    let h = run(&[
        LOGIN,
        Send(b"PASV\r\nLIST -la\r\n"),
        ConnectData("127.0.0.1:40001"),
        Send(b"PASV\r\nNLST pub\r\n"),
        ConnectData("127.0.0.1:40002"),
        Send(b"PASV\r\nMLSD /\r\n"),
        ConnectData("127.0.0.1:40003"),
    ]);
    assert_eq!(
        codes_after_login(&h),
        [227, 150, 226, 227, 150, 226, 227, 150, 226]
    );
    let list = String::from_utf8(h.downloads[0].clone()).unwrap();
    assert!(
        list.contains("-rw-r--r--   1 ftp      ftp                12 Nov 25 02:00 hello.txt\r\n"),
        "{list}"
    );
    assert!(
        list.contains("drwxr-xr-x   1 ftp      ftp              4096 Nov 25 01:00 pub\r\n"),
        "{list}"
    );
    assert_eq!(h.downloads[1], b"data.bin\r\n");
    let mlsd = String::from_utf8(h.downloads[2].clone()).unwrap();
    assert!(
        mlsd.contains(
            "type=dir;size=4096;modify=20261125010000;perm=flcdmpe;UNIX.mode=0755; pub\r\n"
        ),
        "{mlsd}"
    );
}

#[test]
fn abort_stat_and_pipelining_during_a_transfer() {
    let h = run(&[
        LOGIN,
        HoldTransfers,
        Send(b"PASV\r\nRETR hello.txt\r\nSTAT\r\nNOOP\r\nABOR\r\n"),
        ConnectData("127.0.0.1:40001"),
        FinishTransfer,
        Send(b"ABOR\r\n"),
    ]);
    // STAT is answered while the transfer waits for its data connection; NOOP waits for the transfer to end; the
    // ABOR behind it finds nothing left to abort.
    assert_eq!(codes_after_login(&h), [227, 211, 150, 226, 200, 225, 225]);
    assert!(h
        .text()
        .contains(" Transferring /hello.txt: 0 bytes so far\r\n"));

    let h = run(&[
        LOGIN,
        HoldTransfers,
        Send(b"PASV\r\nRETR hello.txt\r\n"),
        ConnectData("127.0.0.1:40001"),
        Send(b"\xff\xf4\xff\xf2ABOR\r\nNOOP\r\n"),
    ]);
    assert_eq!(codes_after_login(&h), [227, 150, 426, 226, 200]);
    assert!(h.actions.contains(&Action::AbortTransfer));
}

#[test]
fn abort_pipelined_behind_a_transfer_command() {
    // The ABOR is read before the data connection is made, however the
    // client's bytes were split; the transfer never starts.
    let h = run(&[
        LOGIN,
        Send(b"PORT 127,0,0,1,4,1\r\nRETR hello.txt\r\nABOR\r\nNOOP\r\n"),
    ]);
    assert_eq!(codes_after_login(&h), [200, 426, 226, 200]);
    assert!(h.downloads.is_empty());
}

#[test]
fn broken_transfers_get_the_right_code() {
    let cases = [
        (ErrorKind::ConnectionLost, 426),
        (ErrorKind::StorageFull, 452),
        (ErrorKind::QuotaExceeded, 552),
        (ErrorKind::Other, 451),
    ];
    for (kind, code) in cases {
        let h = run_both(
            &writable(),
            &files(),
            &[
                LOGIN,
                HoldTransfers,
                Send(b"PASV\r\nSTOR hello.txt\r\n"),
                ConnectData("127.0.0.1:40001"),
                FailTransfer(kind),
                Send(b"NOOP\r\n"),
            ],
        );
        assert_eq!(codes_after_login(&h), [227, 150, code, 200], "{kind:?}");
        assert_eq!(h.fs, files(), "a broken upload must not change the file");
    }
}

#[test]
fn transfers_that_started_are_recorded_for_the_transfer_log() {
    let h = run_writable(&[
        LOGIN,
        Send(b"TYPE A\r\nPASV\r\nRETR hello.txt\r\nPASV\r\nRETR missing\r\nPASV\r\nLIST\r\n"),
        ConnectData("127.0.0.1:40001"),
        ConnectData("127.0.0.1:40002"),
        ConnectData("127.0.0.1:40003"),
        HoldTransfers,
        Upload(b"x"),
        Send(b"TYPE I\r\nPASV\r\nSTOR new.bin\r\n"),
        ConnectData("127.0.0.1:40004"),
        FailTransfer(ErrorKind::ConnectionLost),
    ]);
    let records: Vec<_> = h
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::LogTransfer(r) => Some((
                r.path.as_str().to_owned(),
                r.bytes,
                r.ascii,
                r.outgoing,
                r.anonymous,
                r.complete,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        records,
        [
            ("/hello.txt".to_owned(), 12, true, true, true, true),
            ("/new.bin".to_owned(), 0, false, false, true, false)
        ]
    );
}
