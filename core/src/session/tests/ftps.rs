//! FTPS (`security.rs`): `AUTH`, `PBSZ`, `PROT`, implicit TLS, protected
//! transfers.

use crate::testing::sim::{run_both, run_both_on, Op::*};
use crate::{Access, Action, Config, ErrorKind};

use super::{codes_after_login, files, run, LOGIN};

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

/// With a certificate, `HELP` lists the FTPS commands too, in their place.
#[test]
fn help_lists_the_ftps_commands_when_tls_is_on() {
    let h = run_both(&ftps(), &files(), &[Send(b"HELP\r\n")]);
    assert!(
        h.text().contains(
            "214-The following commands are recognized:\r\n \
             ABOR ALLO APPE AUTH CDUP CWD DELE EPRT EPSV FEAT HELP LIST MDTM MFMT\r\n \
             MKD MLSD MLST MODE NLST NOOP OPTS PASS PASV PBSZ PORT PROT PWD QUIT\r\n"
        ),
        "{}",
        h.text()
    );
}

/// Bytes the client sent behind its AUTH line belong to the handshake: the
/// session hands them over instead of reading them as commands.
#[test]
fn bytes_after_auth_go_to_the_handshake() {
    let h = run_both(
        &ftps(),
        &files(),
        &[Send(b"AUTH TLS\r\n\x16\x03\x01\x02\x00")],
    );
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
    let h = run_both_on(
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

/// A data connection that did not resume the session's TLS ends its
/// transfer `425`, saying why and what to do; an upload cut short (no
/// `close_notify`) ends `426`, saying so. The session goes on.
#[test]
fn refused_data_connections_and_cut_uploads_say_why() {
    for (kind, command, code, words) in [
        (
            ErrorKind::SessionNotResumed,
            &b"PASV\r\nRETR hello.txt\r\n"[..],
            425,
            "425 Session reuse required: the data connection must resume",
        ),
        (
            ErrorKind::UploadCutShort,
            b"PASV\r\nSTOR new.txt\r\n",
            426,
            "426 Upload ended without TLS close_notify",
        ),
    ] {
        let writable = Config {
            anonymous_access: Access::Super,
            ..ftps()
        };
        let h = run_both(
            &writable,
            &files(),
            &[
                Send(b"AUTH TLS\r\nPBSZ 0\r\nPROT P\r\n"),
                LOGIN,
                HoldTransfers,
                Send(command),
                ConnectData("127.0.0.1:40001"),
                FailTransfer(kind),
                Send(b"NOOP\r\n"),
            ],
        );
        assert_eq!(
            h.codes(),
            [220, 234, 200, 200, 331, 230, 227, 150, code, 200],
            "{kind:?}"
        );
        assert!(h.text().contains(words), "{kind:?}: {}", h.text());
        assert!(h.text().contains("tls-session-reuse = off") || code == 426);
    }
}
