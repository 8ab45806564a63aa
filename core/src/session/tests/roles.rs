//! What each role may do: read-only, upload (a drop box), super.

use std::time::Duration;

use crate::testing::sim::{run_both, Op, Op::*};
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

const DROPBOX: Op<'static> = Send(b"USER dropbox\r\nPASS secret\r\n");

/// `--upload-list-empty`: an `upload` session's listings (LIST, NLST,
/// MLSD, STAT) show nothing; a missing folder is still an error, and other
/// roles list as ever.
#[test]
fn upload_list_empty_shows_the_drop_box_nothing() {
    let config = Config {
        upload_list_empty: true,
        ..users()
    };
    let h = run_both(
        &config,
        &files(),
        &[
            DROPBOX,
            Send(b"PASV\r\nLIST\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"PASV\r\nNLST pub\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"PASV\r\nMLSD\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"STAT /\r\nSTAT nowhere\r\n"),
        ],
    );
    assert_eq!(
        codes_after_login(&h),
        [227, 150, 226, 227, 150, 226, 227, 150, 226, 213, 550]
    );
    assert!(h.downloads.iter().all(Vec::is_empty), "{:?}", h.downloads);
    assert!(h
        .text()
        .contains("213-Status of /:\r\n213 End of status.\r\n"));
    let h = run_both(
        &config,
        &files(),
        &[
            Send(b"USER alice\r\nPASS secret\r\nPASV\r\nNLST\r\n"),
            ConnectData("127.0.0.1:40001"),
        ],
    );
    assert_eq!(h.downloads, [b"hello.txt\r\npub\r\n".to_vec()]);
}

/// An `upload` session may rename a file it uploaded in this session (a
/// client's `x.part`), never over an existing name, and nothing else.
#[test]
fn an_upload_session_renames_what_it_uploaded() {
    for login in [DROPBOX, LOGIN] {
        let config = Config {
            anonymous_access: Access::Upload,
            anonymous: true,
            ..users()
        };
        let h = run_both(
            &config,
            &files(),
            &[
                login,
                Upload(b"picture"),
                Send(b"PASV\r\nSTOR x.part\r\n"),
                ConnectData("127.0.0.1:40001"),
                Send(b"RNFR x.part\r\nRNTO x.jpg\r\nRNFR x.jpg\r\nRNTO pub/x.jpg\r\n"),
                Send(b"PASV\r\nSTOR y.part\r\n"),
                ConnectData("127.0.0.1:40001"),
                Send(b"RNFR y.part\r\nRNTO hello.txt\r\nRNFR hello.txt\r\nRNFR x.part\r\n"),
            ],
        );
        assert_eq!(
            codes_after_login(&h),
            [227, 150, 226, 350, 250, 350, 250, 227, 150, 226, 350, 550, 550, 550],
            "{}",
            h.text()
        );
        assert!(h.text().contains("550 Already exists.\r\n"));
        assert!(h.text().contains(
            "550 Permission denied: only a file uploaded in this session may be renamed.\r\n"
        ));
        assert_eq!(h.fs.file("/pub/x.jpg"), Some(&b"picture"[..]));
        assert_eq!(h.fs.file("/hello.txt"), Some(&b"hello\nworld\n"[..]));
        assert!(h.fs.exists("/y.part") && !h.fs.exists("/x.part"));
    }
}

/// `--upload-replace-own`: an `upload` account replaces what it uploaded
/// itself (a camera's `snapshot.jpg`), directly or by renaming its
/// `snapshot.jpg.part` over it; never another account's upload or a file
/// it did not upload. Anonymous sessions, which share one identity, still
/// only add.
#[test]
fn upload_replace_own_replaces_the_accounts_own_uploads_only() {
    let config = Config {
        upload_replace_own: true,
        anonymous: true,
        anonymous_access: Access::Upload,
        ..users()
    };
    let fs = files()
        .with_upload_of("dropbox", "/snapshot.jpg", b"old")
        .with_upload_of("cam2", "/cam2.jpg", b"theirs");
    let h = run_both(
        &config,
        &fs,
        &[
            DROPBOX,
            Upload(b"new"),
            Send(b"PASV\r\nSTOR snapshot.jpg\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"PASV\r\nSTOR cam2.jpg\r\nPASV\r\nSTOR hello.txt\r\n"),
            Send(b"PASV\r\nSTOR fresh.jpg\r\n"),
            ConnectData("127.0.0.1:40001"),
            Upload(b"newer"),
            Send(b"PASV\r\nSTOR snapshot.jpg.part\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"RNFR snapshot.jpg.part\r\nRNTO snapshot.jpg\r\n"),
        ],
    );
    assert_eq!(
        codes_after_login(&h),
        [227, 150, 226, 227, 550, 227, 550, 227, 150, 226, 227, 150, 226, 350, 250],
        "{}",
        h.text()
    );
    assert_eq!(h.fs.file("/snapshot.jpg"), Some(&b"newer"[..]));
    assert_eq!(h.fs.uploader("/snapshot.jpg"), Some("dropbox"));
    assert_eq!(h.fs.file("/cam2.jpg"), Some(&b"theirs"[..]));
    assert_eq!(h.fs.file("/hello.txt"), Some(&b"hello\nworld\n"[..]));
    assert_eq!(h.fs.uploader("/fresh.jpg"), Some("dropbox"));
    assert!(h.actions.contains(&Action::Open {
        path: path("/snapshot.jpg"),
        mode: OpenMode::CreateOrReplaceOwn {
            account: "dropbox".to_owned()
        }
    }));
    // Anonymous: no account to own anything.
    let h = run_both(
        &config,
        &files().with_upload_of("anonymous", "/snapshot.jpg", b"old"),
        &[LOGIN, Send(b"PASV\r\nSTOR snapshot.jpg\r\n")],
    );
    assert_eq!(codes_after_login(&h), [227, 550]);
    assert!(h.actions.contains(&Action::Open {
        path: path("/snapshot.jpg"),
        mode: OpenMode::CreateNew
    }));
}

/// What an `upload` session remembers having uploaded is bounded: past
/// `UPLOADS_REMEMBERED` (32) files, the oldest may no longer be renamed.
#[test]
fn an_upload_session_remembers_its_latest_uploads_only() {
    let names: Vec<String> = (0..33).map(|n| format!("f{n}.part")).collect();
    let lines: Vec<String> = names
        .iter()
        .map(|n| format!("PASV\r\nSTOR {n}\r\n"))
        .collect();
    let mut steps = vec![DROPBOX];
    for line in &lines {
        steps.push(Send(line.as_bytes()));
        steps.push(ConnectData("127.0.0.1:40001"));
    }
    steps.push(Send(b"RNFR f0.part\r\nRNFR f1.part\r\nRNFR f32.part\r\n"));
    let h = run_both(&users(), &files(), &steps);
    let codes = codes_after_login(&h);
    assert_eq!(codes[codes.len() - 3..], [550, 350, 350]);
}
