//! The control connection: the welcome, simple commands, the line
//! discipline, and the caps on what a client can make the session buffer.

use crate::testing::sim::{run_both, Op::*};
use crate::{Action, Config};

use super::{codes_after_login, files, run, LOGIN};

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
        [215, 200, 257, 200, 200, 200, 504, 501, 200, 504, 200, 504, 200, 200, 502, 221]
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
    assert!(text.contains(
        "214-The following commands are recognized:\r\n \
         ABOR ALLO APPE CDUP CWD DELE EPRT EPSV FEAT HELP LIST MDTM MFMT MKD\r\n \
         MLSD MLST MODE NLST NOOP OPTS PASS PASV PORT PWD QUIT REST RETR RMD\r\n \
         RNFR RNTO SITE SIZE STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD\r\n \
         XPWD XRMD\r\n214 Help OK.\r\n"
    ));
    assert!(!text.contains("AUTH"), "no TLS, no AUTH: {text}");
    assert!(text.contains("200 MLST OPTS type;size;modify;perm;UNIX.mode;\r\n"));
    assert_eq!(h.codes(), [220, 211, 214, 200]);
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
fn replies_do_not_outgrow_their_cap() {
    let flood = Box::leak(b"NOOP\r\n".repeat(100_000).into_boxed_slice());
    // A client that never reads its replies: the session stops taking input.
    let mut h = run_both(
        &Config::default(),
        &files(),
        &[LOGIN, StopReading, Send(flood)],
    );
    assert!(h.unread_input() > 0);
    assert!(h.unread_replies() < 80 * 1024);
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
    let unread = [LOGIN, StopReading, Send(&stats)];
    let mut h = run_both(&Config::default(), &fs, &unread);
    let queued = h.unread_replies();
    assert!(
        (64 * 1024..160 * 1024).contains(&queued),
        "{queued} bytes of replies queued"
    );
    let read = [&unread[..], &[ReadReplies, Send(b"NOOP\r\n")]].concat();
    let h = run_both(&Config::default(), &fs, &read);
    let codes = codes_after_login(&h);
    assert_eq!(codes.len(), 301);
    assert!(codes[..300].iter().all(|&c| c == 213));
    assert_eq!(codes[300], 200);
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
