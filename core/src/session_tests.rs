//! Scripted sessions against the in-memory harness; every script runs whole
//! and byte at a time (see [`crate::testing::sim`]).

use std::time::Duration;

use crate::testing::sim::{run_both, Harness, MemFs, Op, Op::*};
use crate::{
    Access, Action, Config, ErrorKind, Glob, ListFormat, ListPattern, OpenMode, VirtualPath,
};

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

#[test]
fn welcome_login_and_simple_commands() {
    let h = run(&[
        LOGIN,
        Send(b"SYST\r\nNOOP\r\nPWD\r\ntype a\r\nTYPE I\r\nTYPE L 8\r\nTYPE E\r\nTYPE X\r\n"),
        Send(b"MODE S\r\nMODE B\r\nSTRU F\r\nSTRU R\r\nALLO 10\r\nOPTS UTF8 ON\r\nSITE ZONE\r\nQUIT\r\n"),
    ]);
    assert!(h.text().starts_with("220 pocketftpd ready.\r\n"));
    assert_eq!(
        codes_after_login(&h),
        [215, 200, 257, 200, 200, 200, 504, 501, 200, 504, 200, 504, 202, 200, 502, 221]
    );
    assert!(h.text().contains("257 \"/\" is the current directory\r\n"));
    assert_eq!(h.actions.last(), Some(&Action::Close));
    assert!(h.session.is_closed());
}

#[test]
fn feat_and_help_are_multiline_and_work_before_login() {
    let h = run(&[Send(b"FEAT\r\nHELP\r\nOPTS MLST type;UNIX.mode;\r\n")]);
    let text = h.text();
    assert!(text.contains(
        "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n MFMT\r\n MLST type*;size*;modify*;perm*;UNIX.mode*;\r\n \
         PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n"
    ));
    assert!(text.contains("214-The following commands are recognized:\r\n ABOR"));
    assert!(text.contains("200 MLST OPTS type;size;modify;perm;UNIX.mode;\r\n"));
    assert_eq!(h.codes(), [220, 211, 214, 200]);
}

#[test]
fn login_rules() {
    let h = run(&[
        Send(b"RETR x\r\nPASV\r\nCWD /\r\nPASS x\r\nUSER\r\nAUTH TLS\r\nPBSZ 0\r\nBOGUS\r\n"),
        LOGIN,
        Send(b"PASS again\r\nUSER other\r\n"),
    ]);
    assert_eq!(
        h.codes(),
        [220, 530, 530, 530, 503, 501, 502, 502, 500, 331, 230, 230, 530]
    );
}

#[test]
fn line_discipline() {
    let long = Box::leak(vec![b'N'; 5000].into_boxed_slice());
    let h = run(&[
        LOGIN,
        Send(b"NOOP\nNOOP\r\nNO\rOP\r\n"),
        Send(long),
        Send(b"\r\nNOOP\r\n\r\n"),
    ]);
    assert_eq!(codes_after_login(&h), [500, 200, 500, 500, 200, 500]);
    assert!(h
        .text()
        .contains("500 Command lines must end with CRLF.\r\n"));
    assert!(h.text().contains("500 Command line too long.\r\n"));
}

#[test]
fn telnet_abort_sequence_is_understood() {
    let h = run(&[LOGIN, Send(b"\xff\xf4\xff\xf2ABOR\r\n")]);
    assert_eq!(codes_after_login(&h), [225]);
}

#[test]
fn passive_download() {
    let h = run(&[
        LOGIN,
        Send(b"PASV\r\n"),
        ConnectData("127.0.0.1:40001"),
        Send(b"RETR hello.txt\r\n"),
    ]);
    assert!(h
        .text()
        .contains("227 Entering Passive Mode (127,0,0,1,195,81).\r\n"));
    assert!(h
        .text()
        .contains("150 Opening BINARY mode data connection for hello.txt (12 bytes).\r\n"));
    assert_eq!(codes_after_login(&h), [227, 150, 226]);
    assert_eq!(h.downloads, [b"hello\nworld\n".to_vec()]);
    assert!(h.actions.contains(&Action::StartTransfer {
        ascii: false,
        protected: false
    }));
}

#[test]
fn client_connecting_after_retr_and_ascii_mode() {
    let h = run(&[
        LOGIN,
        Send(b"TYPE A\r\nEPSV\r\nRETR /pub/data.bin\r\n"),
        ConnectData("127.0.0.1:40001"),
    ]);
    assert!(h
        .text()
        .contains("229 Entering Extended Passive Mode (|||50001|)\r\n"));
    assert_eq!(codes_after_login(&h), [200, 229, 150, 226]);
    assert!(h.actions.contains(&Action::StartTransfer {
        ascii: true,
        protected: false
    }));
}

#[test]
fn foreign_data_connection_is_rejected() {
    let h = run(&[
        LOGIN,
        Send(b"PASV\r\nRETR hello.txt\r\n"),
        ConnectData("10.9.9.9:40001"),
        ConnectData("127.0.0.1:40002"),
    ]);
    assert_eq!(codes_after_login(&h), [227, 150, 226]);
    let rejected = h.actions.iter().position(|a| *a == Action::RejectData);
    let started = h
        .actions
        .iter()
        .position(|a| matches!(a, Action::StartTransfer { .. }));
    assert!(rejected.is_some() && rejected < started, "{:?}", h.actions);
}

#[test]
fn epsv_variants() {
    let h = run(&[
        LOGIN,
        Send(b"EPSV 2\r\nEPSV 1\r\nEPSV 7\r\nEPSV ALL\r\nPASV\r\nPORT 127,0,0,1,4,1\r\nEPSV\r\n"),
    ]);
    assert_eq!(codes_after_login(&h), [522, 229, 522, 200, 503, 503, 229]);
}

#[test]
fn active_download_and_bounce_protection() {
    let h = run(&[
        LOGIN,
        Send(b"PORT 127,0,0,2,4,1\r\nPORT 127,0,0,1,3,255\r\nPORT 1,2,3\r\nEPRT |3|x|1|\r\n"),
        Send(b"EPRT |2|::1|5000|\r\nPORT 127,0,0,1,4,1\r\nRETR hello.txt\r\n"),
        Send(b"EPRT |1|127.0.0.1|5000|\r\nLIST\r\n"),
    ]);
    assert_eq!(
        codes_after_login(&h),
        [504, 504, 501, 522, 504, 200, 150, 226, 200, 150, 226]
    );
    let connects: Vec<_> = h
        .actions
        .iter()
        .filter(|a| matches!(a, Action::ConnectData(_)))
        .collect();
    assert_eq!(
        connects,
        [
            &Action::ConnectData("127.0.0.1:1025".parse().unwrap()),
            &Action::ConnectData("127.0.0.1:5000".parse().unwrap())
        ]
    );
    assert!(String::from_utf8_lossy(&h.downloads[1]).contains(" hello.txt\r\n"));
}

#[test]
fn refused_active_connection_is_425_without_150() {
    let h = run(&[
        LOGIN,
        RefuseActive,
        Send(b"PORT 127,0,0,1,4,1\r\nRETR hello.txt\r\nNOOP\r\n"),
    ]);
    assert_eq!(codes_after_login(&h), [200, 425, 200]);
}

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
fn read_only_sessions_cannot_write() {
    let h = run(&[
        LOGIN,
        Send(b"PASV\r\nSTOR x\r\nAPPE x\r\nSTOU\r\nDELE hello.txt\r\nMKD d\r\nRMD pub\r\nRNFR hello.txt\r\n"),
        Send(b"MFMT 20261125030000 hello.txt\r\n"),
    ]);
    assert_eq!(
        codes_after_login(&h),
        [227, 550, 550, 550, 550, 550, 550, 550, 550]
    );
    assert_eq!(h.fs, files());
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
fn folders_and_names() {
    let h = run_writable(&[
        LOGIN,
        Send(b"CWD pub\r\nPWD\r\nCWD ../../..\r\nPWD\r\nCWD hello.txt\r\nCWD nowhere\r\nCWD pub\r\nCDUP\r\nPWD\r\n"),
        Send(b"MKD a \"q\"\r\nMKD a \"q\"\r\nRMD a \"q\"\r\nRMD pub\r\nDELE pub\r\nDELE nothing\r\n"),
        Send(b"RNTO x\r\nRNFR missing\r\nRNFR hello.txt\r\nRNTO pub/greeting.txt\r\n"),
        Send(b"RETR a\\b\r\nRETR a\0b\r\n"),
    ]);
    assert_eq!(
        codes_after_login(&h),
        [
            250, 257, 250, 257, 550, 550, 250, 250, 257, 257, 550, 250, 550, 550, 550, 503, 550,
            350, 250, 553, 501
        ]
    );
    let text = h.text();
    assert!(text.contains("257 \"/pub\" is the current directory\r\n"));
    assert!(text.contains("257 \"/a \"\"q\"\"\" created\r\n"));
    assert_eq!(h.fs.file("/pub/greeting.txt"), Some(&b"hello\nworld\n"[..]));
    assert!(!h.fs.exists("/hello.txt"));
}

#[test]
fn sizes_times_and_facts() {
    let h = run_writable(&[
        LOGIN,
        Send(b"SIZE hello.txt\r\nSIZE pub\r\nSIZE none\r\nMDTM hello.txt\r\nMLST hello.txt\r\n"),
        Send(b"MFMT 20000229120000 hello.txt\r\nMDTM hello.txt\r\nMFMT 2000 x\r\nSTAT pub\r\nSTAT\r\n"),
    ]);
    assert_eq!(
        codes_after_login(&h),
        [213, 550, 550, 213, 250, 213, 213, 501, 213, 211]
    );
    let text = h.text();
    assert!(text.contains("213 12\r\n"));
    assert!(text.contains("213 20261125020000\r\n"));
    assert!(text.contains("250-Listing /hello.txt\r\n type=file;size=12;modify=20261125020000;perm=adfrw;UNIX.mode=0644; /hello.txt\r\n250 End.\r\n"));
    assert!(text.contains("213 Modify=20000229120000; /hello.txt\r\n213 20000229120000\r\n"));
    assert!(text.contains("213-Status of /pub:\r\n -rw-r--r--   1 ftp      ftp               100 Nov 25 02:00 data.bin\r\n213 End of status.\r\n"));
    assert!(text.contains("211-pocketftpd status:\r\n Connected to 127.0.0.1:40000\r\n Logged in as anonymous\r\n TYPE: BINARY\r\n211 End of status.\r\n"));
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
fn broken_transfers_get_the_right_code() {
    let cases = [
        (ErrorKind::ConnectionLost, 426),
        (ErrorKind::StorageFull, 452),
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
fn timers() {
    let config = Config {
        idle_timeout: Duration::from_secs(300),
        data_timeout: Duration::from_secs(60),
        ..writable()
    };
    // Idle: nothing for the idle timeout closes the session.
    let h = run_both(
        &config,
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
        &config,
        &files(),
        &[LOGIN, Advance(Duration::from_secs(301))],
    );
    assert_eq!(codes_after_login(&h), [421]);
    assert_eq!(h.actions.last(), Some(&Action::Close));
    // Data connect timeout: 425, and the session goes on.
    let h = run_both(
        &config,
        &files(),
        &[
            LOGIN,
            Send(b"PASV\r\nRETR hello.txt\r\n"),
            Advance(Duration::from_secs(61)),
            Send(b"NOOP\r\n"),
        ],
    );
    assert_eq!(codes_after_login(&h), [227, 425, 200]);
    // Stall: a transfer without progress is aborted with 426; progress keeps it alive.
    let h = run_both(
        &config,
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
    // A long transfer does not trip the idle timer.
    let h = run_both(
        &config,
        &files(),
        &[
            LOGIN,
            HoldTransfers,
            Send(b"PASV\r\nRETR hello.txt\r\n"),
            ConnectData("127.0.0.1:40001"),
            Advance(Duration::from_secs(50)),
        ],
    );
    let mut h2 = h;
    for _ in 0..10 {
        let result = h2
            .session
            .handle_event(h2.now, crate::Event::TransferProgress { bytes: 1 });
        assert!(result.is_ok());
        h2.run(&[Advance(Duration::from_secs(50))]);
    }
    h2.run(&[FinishTransfer]);
    assert_eq!(codes_after_login(&h2), [227, 150, 226]);
}

#[test]
fn users_file_logins_with_delay_and_limit() {
    let config = Config {
        users: true,
        anonymous: false,
        login_delay: Duration::from_millis(1000),
        ..Config::default()
    };
    let h = run_both(
        &config,
        &files(),
        &[Send(b"USER alice\r\nPASS secret\r\nSTOR x\r\n")],
    );
    assert_eq!(h.codes(), [220, 331, 230, 425]);
    assert!(h.actions.contains(&Action::VerifyPassword {
        user: "alice".into(),
        password: "secret".into()
    }));

    let h = run_both(
        &config,
        &files(),
        &[
            Send(b"USER alice\r\nPASS wrong\r\nNOOP\r\n"),
            Advance(Duration::from_millis(999)),
        ],
    );
    assert_eq!(h.codes(), [220, 331], "no answer before the delay");
    let h = run_both(
        &config,
        &files(),
        &[
            Send(b"USER alice\r\nPASS wrong\r\nNOOP\r\nUSER anonymous\r\nPASS x\r\nUSER bob\r\nPASS y\r\n"),
            Advance(Duration::from_secs(5)),
        ],
    );
    assert_eq!(h.codes(), [220, 331, 530, 200, 331, 530, 331, 530, 421]);
    assert!(h.session.is_closed());
}

#[test]
fn anonymous_alongside_users() {
    let config = Config {
        users: true,
        anonymous: true,
        ..Config::default()
    };
    let h = run_both(
        &config,
        &files(),
        &[Send(b"USER ftp\r\nPASS me@\r\nPWD\r\n")],
    );
    assert_eq!(h.codes(), [220, 331, 230, 257]);
}

#[test]
fn eof_closes_and_stops_everything() {
    let h = run(&[
        LOGIN,
        HoldTransfers,
        Send(b"PASV\r\nRETR hello.txt\r\n"),
        ConnectData("127.0.0.1:40001"),
        Eof,
    ]);
    assert_eq!(h.actions.last(), Some(&Action::Close));
    assert!(h.session.is_closed());
    assert_eq!(h.session.poll_timeout(), None);
}

#[test]
fn replies_do_not_outgrow_their_cap() {
    let flood = Box::leak(b"NOOP\r\n".repeat(100_000).into_boxed_slice());
    let mut h = Harness::new(Config::default(), files(), false, false);
    h.run(&[LOGIN]);
    // A client that never reads its replies: stop taking input.
    let mut fed = 0;
    while h.session.control_read_room() > 0 && fed < flood.len() {
        let n = h.session.control_read_room().min(flood.len() - fed);
        h.session.handle_control_input(h.now, &flood[fed..fed + n]);
        fed += n;
    }
    assert!(fed < flood.len());
    assert!(h.session.poll_control_transmit().len() < 80 * 1024);
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
fn shutdown_lets_a_running_transfer_finish() {
    let h = run(&[LOGIN, Shutdown]);
    assert_eq!(codes_after_login(&h), [421]);
    assert_eq!(h.actions.last(), Some(&Action::Close));

    let h = run(&[
        LOGIN,
        HoldTransfers,
        Send(b"PASV\r\nRETR hello.txt\r\n"),
        ConnectData("127.0.0.1:40001"),
        Shutdown,
        Send(b"NOOP\r\n"),
        FinishTransfer,
    ]);
    assert_eq!(codes_after_login(&h), [227, 150, 226, 421]);
    assert!(h.session.is_closed());
}

/// Thousands of idle sessions live in one daemon: the state machine itself
/// stays small (buffers are allocated only while in use). Budget: 512 bytes.
#[test]
fn a_session_is_small() {
    let size = std::mem::size_of::<crate::Session>();
    assert!(
        size <= 512,
        "Session is {size} bytes, over its 512-byte budget"
    );
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

/// Issue 13, defect 1: a client that pipelines commands with large replies
/// and never reads them gets no more answers until it reads; every one is
/// answered, in order, once it does.
#[test]
fn large_replies_wait_for_the_client_to_read() {
    let mut fs = files().with_dir("/big");
    for i in 0..400 {
        fs = fs.with_file(&format!("/big/file-with-a-long-name-{i:05}.txt"), b"x");
    }
    let stats = b"STAT big\r\n".repeat(300);
    let mut h = Harness::new(Config::default(), fs, false, false);
    h.run(&[LOGIN, StopReading, Send(&stats)]);
    let unread = h.session.poll_control_transmit().len();
    assert!(
        (64 * 1024..160 * 1024).contains(&unread),
        "{unread} bytes of replies queued"
    );
    h.run(&[ReadReplies, Send(b"NOOP\r\n")]);
    let codes = codes_after_login(&h);
    assert_eq!(codes.len(), 301);
    assert!(codes[..300].iter().all(|&c| c == 213));
    assert_eq!(codes[300], 200);
}

/// Issue 13, defect 14: an active connect that fails at once is answered
/// from the next loop turn; a pipelined ABOR read before that cancels it, so
/// the stale failure never reaches the idle session.
#[test]
fn connect_fails_synchronously_then_a_pipelined_abor() {
    let h = run(&[
        LOGIN,
        RefuseActive,
        Send(b"PORT 127,0,0,1,4,1\r\nRETR hello.txt\r\nABOR\r\nNOOP\r\n"),
        Send(b"PORT 127,0,0,1,4,1\r\nRETR hello.txt\r\n"),
        Send(b"ABOR\r\n"),
    ]);
    assert_eq!(codes_after_login(&h), [200, 426, 226, 200, 200, 425, 225]);
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

/// Commands sent before the client half-closed are all answered.
#[test]
fn eof_after_pipelined_commands_answers_them_first() {
    let h = run(&[LOGIN, Send(b"NOOP\r\nSIZE hello.txt\r\nPWD\r\n"), Eof]);
    assert_eq!(codes_after_login(&h), [200, 213, 257]);
    assert!(h.session.is_closed());
}

/// Issue 13, defect 13: after the shutdown grace period a running transfer
/// gets its final reply before the `421`.
#[test]
fn grace_over_cuts_a_transfer_with_a_final_reply() {
    let h = run(&[
        LOGIN,
        HoldTransfers,
        Send(b"PASV\r\nRETR hello.txt\r\n"),
        ConnectData("127.0.0.1:40001"),
        Shutdown,
        GraceOver,
    ]);
    assert_eq!(codes_after_login(&h), [227, 150, 426, 421]);
    assert!(h.actions.contains(&Action::AbortTransfer));
    assert!(h.session.is_closed());
}

/// Issue 13, defect 12: MFMT answers with the time the file system stored.
#[test]
fn mfmt_answers_what_was_stored() {
    let h = run_writable(&[
        LOGIN,
        Send(b"MFMT 00000101000000 hello.txt\r\nMDTM hello.txt\r\n"),
    ]);
    let text = h.text();
    assert!(
        text.contains("213 Modify=19011213204552; /hello.txt\r\n213 19011213204552\r\n"),
        "{text}"
    );
}

/// Issue 13, defect 13: PORT may not point the daemon at its own control port.
#[test]
fn port_to_our_own_control_port_is_refused() {
    let h = run(&[
        LOGIN,
        Send(b"PORT 127,0,0,1,204,81\r\nEPRT |1|127.0.0.1|52305|\r\n"),
    ]);
    assert_eq!(codes_after_login(&h), [504, 504]);
}

fn ftps() -> Config {
    Config {
        tls: true,
        ..Config::default()
    }
}

/// FTPS (RFC 4217): the order AUTH, PBSZ, PROT; refusals on the way.
#[test]
fn ftps_auth_pbsz_prot() {
    let h = run_both(
        &ftps(),
        &files(),
        &[
            Send(b"PBSZ 0\r\nPROT P\r\nAUTH GSSAPI\r\nAUTH TLS\r\n"),
            Send(b"AUTH SSL\r\nPROT P\r\nPBSZ 0\r\nPROT S\r\nPROT E\r\nPROT X\r\n"),
            Send(b"PROT C\r\nPROT P\r\nCCC\r\n"),
            LOGIN,
        ],
    );
    assert_eq!(
        h.codes(),
        [220, 503, 503, 504, 234, 503, 503, 200, 536, 536, 504, 200, 200, 502, 331, 230]
    );
    assert!(h.text().contains("234 Proceed with negotiation.\r\n"));
    assert!(h.text().contains("200 PBSZ=0\r\n"));
    let secured = h
        .actions
        .iter()
        .filter(|a| matches!(a, Action::SecureControl { .. }));
    assert_eq!(secured.count(), 1);
}

/// Bytes the client sent behind its AUTH line belong to the handshake: the
/// session hands them over instead of reading them as commands.
#[test]
fn bytes_after_auth_go_to_the_handshake() {
    let mut h = Harness::new(ftps(), files(), false, false);
    h.run(&[Send(b"AUTH TLS\r\n\x16\x03\x01\x02\x00")]);
    let early = h.actions.iter().find_map(|a| match a {
        Action::SecureControl { early } => Some(early.clone()),
        _ => None,
    });
    assert_eq!(early.as_deref(), Some(&b"\x16\x03\x01\x02\x00"[..]));
}

#[test]
fn protected_transfers_say_so() {
    let h = run_both(
        &ftps(),
        &files(),
        &[
            Send(b"AUTH TLS\r\nPBSZ 0\r\nPROT P\r\n"),
            LOGIN,
            Send(b"PASV\r\nRETR hello.txt\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"PROT C\r\nPASV\r\nLIST\r\n"),
            ConnectData("127.0.0.1:40001"),
        ],
    );
    assert_eq!(
        h.codes(),
        [220, 234, 200, 200, 331, 230, 227, 150, 226, 200, 227, 150, 226]
    );
    let starts: Vec<bool> = (h.actions.iter())
        .filter_map(|a| match a {
            Action::StartTransfer { protected, .. } => Some(*protected),
            _ => None,
        })
        .collect();
    assert_eq!(starts, [true, false]);
}

#[test]
fn tls_required_refuses_clear_logins_and_transfers() {
    let config = Config {
        tls_required: true,
        ..ftps()
    };
    let h = run_both(
        &config,
        &files(),
        &[
            Send(b"USER anonymous\r\n"),
            Send(b"AUTH TLS\r\nUSER anonymous\r\nPASS x\r\nPASV\r\nRETR hello.txt\r\n"),
            Send(b"PBSZ 0\r\nPROT P\r\nPASV\r\nRETR hello.txt\r\n"),
            ConnectData("127.0.0.1:40001"),
        ],
    );
    assert_eq!(
        h.codes(),
        [220, 530, 234, 331, 230, 227, 521, 200, 200, 227, 150, 226]
    );
    assert!(h.text().contains("530 TLS is required"));
}

#[test]
fn without_a_certificate_tls_commands_are_502() {
    let h = run(&[Send(b"AUTH TLS\r\nPBSZ 0\r\nPROT P\r\nFEAT\r\n")]);
    assert_eq!(h.codes(), [220, 502, 502, 502, 211]);
    assert!(!h.text().contains("AUTH TLS\r\n"));
    let h = run_both(&ftps(), &files(), &[Send(b"FEAT\r\n")]);
    assert!(h
        .text()
        .contains("211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n EPRT"));
}

/// Implicit FTPS: the handshake came first; data is protected by default.
#[test]
fn implicit_tls_sessions_protect_data_by_default() {
    let h = crate::testing::sim::run_both_on(
        &ftps(),
        &files(),
        &[
            LOGIN,
            Send(b"AUTH TLS\r\nPASV\r\nRETR hello.txt\r\n"),
            ConnectData("127.0.0.1:40001"),
        ],
        true,
    );
    assert_eq!(codes_after_login(&h), [503, 227, 150, 226]);
    assert!(h.actions.contains(&Action::StartTransfer {
        ascii: false,
        protected: true
    }));
}

/// A failed handshake on a protected data connection ends that transfer
/// (after its `150`) with `426`; the session goes on.
#[test]
fn a_failed_data_handshake_ends_only_the_transfer() {
    let h = run_both(
        &ftps(),
        &files(),
        &[
            Send(b"AUTH TLS\r\nPBSZ 0\r\nPROT P\r\n"),
            LOGIN,
            HoldTransfers,
            Send(b"PASV\r\nRETR hello.txt\r\n"),
            ConnectData("127.0.0.1:40001"),
            FailTransfer(ErrorKind::HandshakeFailed),
            Send(b"NOOP\r\n"),
        ],
    );
    assert_eq!(
        h.codes(),
        [220, 234, 200, 200, 331, 230, 227, 150, 426, 200]
    );
    assert!(h.text().contains("426 TLS on the data connection failed"));
}

fn users() -> Config {
    Config {
        users: true,
        anonymous: false,
        login_delay: Duration::ZERO,
        ..Config::default()
    }
}

/// The `upload` role: a drop box. Lists, makes folders and uploads new
/// files; never downloads, overwrites, appends, renames or deletes.
#[test]
fn upload_role_is_a_drop_box() {
    let h = run_both(
        &users(),
        &files(),
        &[
            Send(b"USER dropbox\r\nPASS secret\r\n"),
            Send(b"PASV\r\nLIST\r\n"),
            ConnectData("127.0.0.1:40001"),
            Upload(b"scan"),
            Send(b"MKD scans\r\nPASV\r\nSTOR scans/page1.pdf\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"PASV\r\nSTOR hello.txt\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"RETR hello.txt\r\nAPPE hello.txt\r\nREST 2\r\nSTOR hello.txt\r\n"),
            Send(
                b"DELE hello.txt\r\nRNFR hello.txt\r\nRMD pub\r\nMFMT 20000101000000 hello.txt\r\n",
            ),
        ],
    );
    assert_eq!(
        h.codes(),
        [
            220, 331, 230, 227, 150, 226, 257, 227, 150, 226, 227, 550, 550, 550, 350, 550, 550,
            550, 550, 550
        ]
    );
    assert!(h.text().contains("230 Login successful."));
    assert_eq!(h.fs.file("/scans/page1.pdf"), Some(&b"scan"[..]));
    assert_eq!(h.fs.file("/hello.txt"), Some(&b"hello\nworld\n"[..]));
    assert!(h.actions.contains(&Action::Open {
        path: path("/scans/page1.pdf"),
        mode: OpenMode::CreateNew
    }));
}

/// The `user` role reads; the `super` role does everything.
#[test]
fn user_and_super_roles() {
    let h = run_both(
        &users(),
        &files(),
        &[Send(
            b"USER bob\r\nPASS secret\r\nMKD x\r\nDELE hello.txt\r\nSIZE hello.txt\r\nQUIT\r\n",
        )],
    );
    assert_eq!(h.codes(), [220, 331, 230, 550, 550, 213, 221]);
    let h = run_both(
        &users(),
        &files(),
        &[Send(
            b"USER alice\r\nPASS secret\r\nMKD x\r\nDELE hello.txt\r\n",
        )],
    );
    assert_eq!(h.codes(), [220, 331, 230, 257, 250]);
}

/// `--anonymous-role upload` makes anonymous sessions a drop box too.
#[test]
fn anonymous_role() {
    let config = Config {
        anonymous_access: Access::Upload,
        ..Config::default()
    };
    let h = run_both(
        &config,
        &files(),
        &[LOGIN, Send(b"RETR hello.txt\r\nMKD in\r\n")],
    );
    assert_eq!(codes_after_login(&h), [550, 257]);
}

fn pictures() -> MemFs {
    files()
        .with_file("/pub/a.jpg", b"1")
        .with_file("/pub/b.jpg", b"22")
        .with_file("/pub/c[1].txt", b"")
        .with_file("/pub/c1.txt", b"")
}

/// Issue 15: `mget *.jpg` sends `NLST *.jpg`; LIST, NLST and STAT expand
/// a glob in the last component; no match is an empty listing.
#[test]
fn globs_in_list_nlst_and_stat() {
    let h = run_both(
        &Config::default(),
        &pictures(),
        &[
            LOGIN,
            Send(b"PASV\r\nNLST pub/*.jpg\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"CWD pub\r\nPASV\r\nNLST *.jpg\r\n"),
            ConnectData("127.0.0.1:40002"),
            Send(b"PASV\r\nLIST -l [!a].jp?\r\n"),
            ConnectData("127.0.0.1:40003"),
            Send(b"PASV\r\nNLST *.png\r\n"),
            ConnectData("127.0.0.1:40004"),
            Send(b"PASV\r\nNLST nowhere/*.jpg\r\n"),
            Send(b"STAT *.jpg\r\nSTAT x*\r\nSTAT c[1].txt\r\n"),
        ],
    );
    assert_eq!(
        codes_after_login(&h),
        [
            227, 150, 226, 250, 227, 150, 226, 227, 150, 226, 227, 150, 226, 227, 550, 213, 213,
            213
        ]
    );
    assert_eq!(h.downloads[0], b"pub/a.jpg\r\npub/b.jpg\r\n");
    assert_eq!(h.downloads[1], b"a.jpg\r\nb.jpg\r\n");
    let long = String::from_utf8(h.downloads[2].clone()).unwrap();
    assert_eq!(
        long,
        "-rw-r--r--   1 ftp      ftp                 2 Nov 25 02:00 b.jpg\r\n"
    );
    assert_eq!(h.downloads[3], b"");
    let text = h.text();
    assert!(
        text.contains("213-Status of /pub/*.jpg:\r\n -rw-r--r--"),
        "{text}"
    );
    assert!(text.contains(" a.jpg\r\n -rw-r--r--"), "{text}");
    assert!(text.contains("213-Status of /pub/x*:\r\n213 End of status.\r\n"));
    // A name that exists is listed as it is, though it holds brackets.
    assert!(
        text.contains("213-Status of /pub/c[1].txt:\r\n -rw-r--r--   1 ftp      ftp                 0 Nov 25 02:00 c[1].txt\r\n213 End"),
        "{text}"
    );
    assert!(h.actions.contains(&Action::Open {
        path: path("/pub/*.jpg"),
        mode: OpenMode::List {
            format: ListFormat::Names,
            writable: false,
            pattern: Some(ListPattern {
                glob: Glob::new("*.jpg").unwrap(),
                prefix: "pub/".to_owned(),
            }),
        },
    }));
}

/// A last component without wildcards is looked up as it is, and so is
/// one that exists; MLSD takes no glob; NLST names keep the folder part
/// the client wrote.
#[test]
fn plain_names_and_mlsd_are_not_globbed() {
    let h = run_both(
        &Config::default(),
        &pictures().with_dir("/x*").with_file("/x*/in.txt", b""),
        &[
            LOGIN,
            Send(b"PASV\r\nNLST pub/c[1\r\n"),
            Send(b"PASV\r\nNLST x*\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"PASV\r\nNLST /pub//?.jpg\r\n"),
            ConnectData("127.0.0.1:40002"),
            Send(b"PASV\r\nNLST pub/*.jpg/.\r\n"),
            ConnectData("127.0.0.1:40003"),
            Send(b"PASV\r\nLIST hello.txt/*\r\n"),
        ],
    );
    assert_eq!(
        codes_after_login(&h),
        [227, 550, 227, 150, 226, 227, 150, 226, 227, 150, 226, 227, 550]
    );
    assert_eq!(h.downloads[0], b"in.txt\r\n");
    assert_eq!(h.downloads[1], b"/pub//a.jpg\r\n/pub//b.jpg\r\n");
    assert_eq!(h.downloads[2], b"/pub/a.jpg\r\n/pub/b.jpg\r\n");
    let plain = h.actions.iter().find_map(|a| match a {
        Action::Open {
            path,
            mode: OpenMode::List { pattern, .. },
        } => Some((path.as_str().to_owned(), pattern.clone())),
        _ => None,
    });
    assert_eq!(plain, Some(("/pub/c[1".to_owned(), None)));
    let h = run_both(
        &Config::default(),
        &pictures().with_dir("/x*"),
        &[LOGIN, Send(b"PASV\r\nMLSD *\r\n")],
    );
    assert_eq!(codes_after_login(&h), [227, 550]);
}

/// Issue 15: `SITE CHMOD` (lftp sends it after every upload of `mirror -R`)
/// and `SITE HELP`; other SITE commands are 502.
#[test]
fn site_chmod_and_help() {
    let h = run_writable(&[
        LOGIN,
        Send(b"SITE HELP\r\nSITE CHMOD 600 hello.txt\r\nsite chmod 0750 pub\r\n"),
        Send(b"SITE CHMOD 1777 pub\r\nSITE CHMOD 644 missing\r\nSITE CHMOD 644 /\r\n"),
        Send(b"SITE UMASK 022\r\nSITE\r\nMLST hello.txt\r\n"),
        Upload(b"new"),
        Send(b"PASV\r\nSTOR hello.txt\r\n"),
        ConnectData("127.0.0.1:40001"),
    ]);
    assert_eq!(
        codes_after_login(&h),
        [214, 200, 200, 501, 550, 550, 502, 501, 250, 227, 150, 226]
    );
    let text = h.text();
    assert!(text.contains(
        "214-The following SITE commands are recognized:\r\n CHMOD HELP\r\n214 Help OK.\r\n"
    ));
    assert!(text.contains("200 SITE CHMOD command ok.\r\n"));
    assert!(
        text.contains("perm=adfrw;UNIX.mode=0600; /hello.txt\r\n"),
        "{text}"
    );
    assert!(h.actions.contains(&Action::SetMode {
        path: path("/pub"),
        mode: 0o750
    }));
    // The replaced file kept the mode it was given.
    assert_eq!(h.fs.mode("/hello.txt"), Some(0o600));
    assert_eq!(h.fs.file("/hello.txt"), Some(&b"new"[..]));
    assert_eq!(h.fs.mode("/pub"), Some(0o750));
}

#[test]
fn site_chmod_needs_a_session_that_may_write() {
    let h = run(&[
        Send(b"SITE CHMOD 777 hello.txt\r\n"),
        LOGIN,
        Send(b"SITE CHMOD 777 hello.txt\r\nSITE HELP\r\n"),
    ]);
    assert_eq!(h.codes(), [220, 530, 331, 230, 550, 214]);
    assert_eq!(h.fs, files());
}
