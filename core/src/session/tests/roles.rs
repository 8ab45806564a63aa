//! What each role may do: read-only, upload (a drop box), super.

use std::time::Duration;

use crate::testing::sim::{run_both, Op::*};
use crate::{Access, Action, Config, OpenMode};

use super::{codes_after_login, files, path, run, LOGIN};

fn users() -> Config {
    Config {
        users: true,
        anonymous: false,
        login_delay: Duration::ZERO,
        ..Config::default()
    }
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
