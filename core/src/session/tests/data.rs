//! The data connection (`data.rs`): `PORT`/`EPRT`, `PASV`/`EPSV`, who may
//! connect, and bounce protection.

use crate::testing::sim::Op::*;
use crate::{Action, ErrorKind};

use super::{codes_after_login, run, LOGIN};

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

/// Issue 13, defect 13: PORT may not point the daemon at its own control port.
#[test]
fn port_to_our_own_control_port_is_refused() {
    let h = run(&[
        LOGIN,
        Send(b"PORT 127,0,0,1,204,81\r\nEPRT |1|127.0.0.1|52305|\r\n"),
    ]);
    assert_eq!(codes_after_login(&h), [504, 504]);
}

/// A passive listener that cannot be opened: `425`, and when the reason is
/// a full `--pasv-ports` range, the reply says so.
#[test]
fn no_passive_port_says_why() {
    let h = run(&[
        LOGIN,
        Fault(ErrorKind::PortsExhausted),
        Send(b"PASV\r\n"),
        Fault(ErrorKind::Other),
        Send(b"EPSV\r\nPASV\r\n"),
    ]);
    assert_eq!(codes_after_login(&h), [425, 425, 227]);
    let text = h.text();
    assert!(
        text.contains("425 Every passive port of this server is in use; try again later.\r\n"),
        "{text}"
    );
    assert!(
        text.contains("425 Could not open a passive data connection.\r\n"),
        "{text}"
    );
}
