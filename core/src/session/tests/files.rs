//! The working folder and the file-system commands (`place.rs`).

use crate::testing::sim::{run_both, MemFs, Op::*};
use crate::{Action, Config, ErrorKind};

use super::{codes_after_login, files, path, run_writable, writable, LOGIN};

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
            350, 250, 425, 501
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

/// Issue 27, 6(b): in `TYPE A`, `SIZE` answers what a `TYPE A` `RETR`
/// sends (each LF as CRLF), counted for files up to 1 MiB; bigger ones get
/// `550`, as RFC 3659 allows. `TYPE I` is as before.
#[test]
fn size_in_ascii_mode_is_the_size_sent() {
    let big = vec![b'x'; 1024 * 1024 + 1];
    let h = run_both(
        &Config::default(),
        &files().with_file("/big.txt", &big),
        &[
            LOGIN,
            Send(b"TYPE A\r\nSIZE hello.txt\r\nSIZE big.txt\r\nSIZE pub\r\nSIZE none\r\n"),
            Send(b"TYPE I\r\nSIZE hello.txt\r\nSIZE big.txt\r\n"),
        ],
    );
    assert_eq!(
        codes_after_login(&h),
        [200, 213, 550, 550, 550, 200, 213, 213]
    );
    let text = h.text();
    assert!(text.contains("213 14\r\n"), "{text}");
    assert!(text.contains(
        "550 SIZE in ASCII mode is counted for files of up to 1 MiB; use TYPE I for this one.\r\n"
    ));
    assert!(text.contains("213 12\r\n213 1048577\r\n"), "{text}");
    let counted = |a: &Action| matches!(a, Action::AsciiSize { .. });
    assert_eq!(h.actions.iter().filter(|a| counted(a)).count(), 1);
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
        "214-The following SITE commands are recognized:\r\n CHMOD HELP QUOTA\r\n214 Help OK.\r\n"
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

/// Issue 26: a storage that cannot do a thing at all (APPE, REST+STOR on
/// a bucket, SITE CHMOD, MFMT) is answered `504`, in the core's words.
#[test]
fn what_the_storage_cannot_do_is_refused_with_504() {
    let h = run_both(
        &writable(),
        &files(),
        &[
            LOGIN,
            Send(b"PASV\r\n"),
            Fault(ErrorKind::NotSupported),
            Send(b"APPE hello.txt\r\nPASV\r\nREST 2\r\n"),
            Fault(ErrorKind::NotSupported),
            Send(b"STOR hello.txt\r\n"),
            Fault(ErrorKind::NotSupported),
            Send(b"SITE CHMOD 600 hello.txt\r\n"),
            Fault(ErrorKind::NotSupported),
            Send(b"MFMT 20200101000000 hello.txt\r\nNOOP\r\n"),
        ],
    );
    assert_eq!(
        codes_after_login(&h),
        [227, 504, 227, 350, 504, 504, 504, 200],
        "{}",
        h.text()
    );
    assert!(h.text().contains("504 Not supported on this storage.\r\n"));
    assert_eq!(h.fs, files(), "refused: nothing changed");
}

/// Issue 27: `SITE QUOTA` shows what the caller counted; a quota the
/// caller says is used up refuses MKD, STOR, APPE and STOU with `552`.
#[test]
fn site_quota_and_refusals() {
    let quota = files().with_quota(1000, Some(10));
    let h = run_both(
        &writable(),
        &quota,
        &[
            LOGIN,
            Send(b"SITE QUOTA\r\n"),
            Fault(ErrorKind::QuotaExceeded),
            Send(b"MKD new\r\n"),
            Send(b"PASV\r\n"),
            Fault(ErrorKind::QuotaExceeded),
            Send(b"STOR new.txt\r\nPASV\r\n"),
            Fault(ErrorKind::QuotaExceeded),
            Send(b"APPE hello.txt\r\nPASV\r\n"),
            Fault(ErrorKind::QuotaExceeded),
            Send(b"STOU\r\nNOOP\r\n"),
        ],
    );
    assert_eq!(
        codes_after_login(&h),
        [200, 552, 227, 552, 227, 552, 227, 552, 200],
        "{}",
        h.text()
    );
    let text = h.text();
    assert!(
        text.contains("200 Quota: 112 of 1000 bytes, 2 of 10 files.\r\n"),
        "{text}"
    );
    assert!(text.contains("552 Quota exceeded.\r\n"), "{text}");
    assert_eq!(h.fs, quota, "refused: nothing changed");

    let without = run_both(&writable(), &files(), &[LOGIN, Send(b"SITE QUOTA\r\n")]);
    assert!(without
        .text()
        .ends_with("200 No quota for this account.\r\n"));
    let unlimited = files().with_quota(5, None);
    let over = run_both(&writable(), &unlimited, &[LOGIN, Send(b"site quota\r\n")]);
    assert!(over
        .text()
        .ends_with("200 Quota: 112 of 5 bytes, 2 files (no limit).\r\n"));
}

/// A served tree with hidden names in it.
fn with_dotfiles() -> MemFs {
    files()
        .with_dir("/.ssh")
        .with_file("/.ssh/id_rsa", b"secret key")
        .with_file("/.env", b"PASSWORD=x")
        .with_file("/pub/.hidden", b"h")
}

/// Without `--dotfiles`, a name starting with a dot is neither read,
/// written, entered, renamed to nor named at all (`550`, whether it exists
/// or not), and no listing shows one (globs included).
#[test]
fn dot_names_are_not_served_by_default() {
    let h = run_both(
        &writable(),
        &with_dotfiles(),
        &[
            LOGIN,
            Send(
                b"RETR .ssh/id_rsa\r\nCWD .ssh\r\nSIZE .env\r\nMDTM pub/.hidden\r\nMLST .none\r\n",
            ),
            Send(b"STOR .env\r\nAPPE .profile\r\nMKD .config\r\nDELE .env\r\nRMD .ssh\r\n"),
            Send(b"RNFR hello.txt\r\nRNTO .hello\r\nRNFR .env\r\nSITE CHMOD 777 .env\r\n"),
            Send(b"STAT .ssh\r\nNLST .*\r\nCWD pub/../.ssh/..\r\n"),
            Send(b"STAT /\r\nPASV\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"NLST\r\nPASV\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"NLST pub/*\r\n"),
        ],
    );
    let mut refused = [550; 16];
    refused[10] = 350; // RNFR hello.txt: its RNTO is refused
    let codes = codes_after_login(&h);
    assert_eq!(codes[..16], refused, "{}", h.text());
    assert_eq!(codes[16..], [250, 213, 227, 150, 226, 227, 150, 226]);
    assert_eq!(
        h.text()
            .matches("550 Names starting with a dot are not served.\r\n")
            .count(),
        15,
        "{}",
        h.text()
    );
    let stat = h.text();
    assert!(
        !stat.contains(".ssh\r\n") && !stat.contains(".env"),
        "{stat}"
    );
    assert_eq!(
        h.downloads,
        [
            b"hello.txt\r\npub\r\n".to_vec(),
            b"pub/data.bin\r\n".to_vec()
        ]
    );
    // Nothing was asked of the file system about a hidden name.
    assert!(h.fs.exists("/.env") && !h.fs.exists("/.config"));
    assert!(h.actions.iter().all(|a| !format!("{a:?}").contains("\"/.")));
}

/// With `--dotfiles`, hidden names are served as any other.
#[test]
fn dotfiles_serves_dot_names() {
    let config = Config {
        dotfiles: true,
        ..writable()
    };
    let h = run_both(
        &config,
        &with_dotfiles(),
        &[
            LOGIN,
            Send(b"CWD .ssh\r\nCDUP\r\nSIZE .env\r\nPASV\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"NLST\r\nPASV\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"RETR .ssh/id_rsa\r\n"),
        ],
    );
    assert_eq!(
        codes_after_login(&h),
        [250, 250, 213, 227, 150, 226, 227, 150, 226]
    );
    let names = String::from_utf8(h.downloads[0].clone()).unwrap();
    assert!(
        names.contains(".env\r\n") && names.contains(".ssh\r\n"),
        "{names}"
    );
    assert_eq!(h.downloads[1], b"secret key");
}
