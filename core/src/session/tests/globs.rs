//! Globs in the last component of `LIST`, `NLST` and `STAT` paths.

use crate::testing::sim::{run_both, MemFs, Op::*};
use crate::{Action, Config, Glob, ListFormat, ListPattern, OpenMode, Shown};

use super::{codes_after_login, files, path, LOGIN};

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
            shown: Shown::NoDotfiles,
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

/// Issue 27, 6(a): Windows Explorer (and cameras with Windows firmware)
/// write paths with `\`, and ask for a folder's entries as `*.*`, DOS's
/// "every name": a folder without a dot in its name is listed too.
#[test]
fn windows_paths_and_every_name() {
    let h = run_both(
        &Config::default(),
        &pictures().with_dir("/pub/inner"),
        &[
            LOGIN,
            Send(b"CWD pub\\inner\r\nPWD\r\nCWD \\\r\nSIZE pub\\a.jpg\r\n"),
            Send(b"PASV\r\nNLST pub\\*.*\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"PASV\r\nNLST pub/*.*\r\n"),
            ConnectData("127.0.0.1:40002"),
        ],
    );
    assert_eq!(
        codes_after_login(&h),
        [250, 257, 250, 213, 227, 150, 226, 227, 150, 226]
    );
    assert!(h
        .text()
        .contains("257 \"/pub/inner\" is the current directory\r\n"));
    assert_eq!(
        h.downloads[0],
        b"pub/a.jpg\r\npub/b.jpg\r\npub/c1.txt\r\npub/c[1].txt\r\npub/data.bin\r\npub/inner\r\n"
    );
    // Written with `/`, `*.*` keeps its Unix meaning: dotted names only.
    assert!(!String::from_utf8_lossy(&h.downloads[1]).contains("inner"));
}

/// Issue 27, 6(a): a name that really holds a `\` still works when it
/// exists as written (looked up first, as a glob's characters are);
/// otherwise `\` separates names.
#[test]
fn a_name_with_a_backslash_works_when_it_exists() {
    let fs = pictures()
        .with_dir("/pub/inner")
        .with_file("/pub/inner/x.txt", b"inner x")
        .with_file("/pub/a\\b.txt", b"literal")
        .with_dir("/dos\\dir");
    let h = run_both(
        &Config::default(),
        &fs,
        &[
            LOGIN,
            Send(b"SIZE pub/a\\b.txt\r\nSIZE pub\\inner\\x.txt\r\nSIZE pub\\a\\b.txt\r\n"),
            Send(b"CWD dos\\dir\r\nPWD\r\nCWD /pub\r\nPASV\r\nRETR a\\b.txt\r\n"),
            ConnectData("127.0.0.1:40001"),
            Send(b"CWD \\pub\\inner\r\nPWD\r\n"),
        ],
    );
    assert_eq!(
        codes_after_login(&h),
        [213, 213, 550, 250, 257, 250, 227, 150, 226, 250, 257]
    );
    let text = h.text();
    assert!(text.contains("213 7\r\n"), "{text}");
    assert!(text.contains("257 \"/dos\\dir\" is the current directory\r\n"));
    assert!(text.contains("257 \"/pub/inner\" is the current directory\r\n"));
    assert_eq!(h.downloads, [b"literal".to_vec()]);
}
