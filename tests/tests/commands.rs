//! Raw-socket tests of well-formed sessions: the exact reply of each
//! command in PROTOCOL.md.

use pocketftpd_tests::*;
use std::fs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 2021-03-04 05:06:07 UTC, an mtime older than six months.
fn old_mtime() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_614_834_367)
}

fn set_mtime(path: &std::path::Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .expect("open for set_modified")
        .set_modified(t)
        .expect("set_modified");
}

#[test]
fn welcome_is_220() {
    let d = Daemon::start();
    let mut c = Ctrl::connect(d.addr());
    let r = c.expect_reply(220);
    assert!(!r.is_multiline() || r.lines.last().unwrap().starts_with("220 "));
}

#[test]
fn allowed_before_login() {
    let d = Daemon::start();
    let mut c = d.connect();
    let feat = c.cmd_ok("FEAT", 211);
    assert!(
        feat.is_multiline(),
        "FEAT must be multi-line: {:?}",
        feat.lines
    );
    assert!(feat.lines[0].starts_with("211-"), "{:?}", feat.lines);
    assert!(
        feat.lines.last().unwrap().starts_with("211 "),
        "{:?}",
        feat.lines
    );
    let features: Vec<&str> = feat.lines[1..feat.lines.len() - 1]
        .iter()
        .map(|l| {
            assert!(
                l.starts_with(' ') && !l.starts_with("  "),
                "FEAT line not indented by exactly one space: {l:?}"
            );
            l[1..].trim_end()
        })
        .collect();
    for want in [
        "EPRT",
        "EPSV",
        "MDTM",
        "PASV",
        "REST STREAM",
        "SIZE",
        "TVFS",
        "UTF8",
    ] {
        assert!(features.contains(&want), "FEAT lacks {want}: {features:?}");
    }
    assert!(
        features
            .iter()
            .any(|f| f.starts_with("MLST ") && f.contains("type")),
        "FEAT lacks MLST with facts: {features:?}"
    );
    let syst = c.cmd_ok("SYST", 215);
    assert_eq!(syst.lines[0], "215 UNIX Type: L8");
    c.cmd_ok("NOOP", 200);
    c.cmd_ok("HELP", 214);
    c.cmd_ok("OPTS UTF8 ON", 200);
    c.cmd_ok("AUTH TLS", 502);
    // Still not logged in: everything else is 530.
    for line in [
        "PWD", "CWD /", "LIST", "RETR x", "PASV", "TYPE I", "SIZE x", "STAT",
    ] {
        c.cmd_ok(line, 530);
    }
    c.cmd_ok("QUIT", 221);
    c.expect_closed();
}

#[test]
fn php_style_pbsz_before_user_gets_a_well_formed_refusal() {
    let d = Daemon::start();
    let mut c = d.connect();
    c.cmd_any("PBSZ 0", &[502, 530]);
    c.cmd_any("PROT P", &[502, 530]);
    c.cmd_ok("USER anonymous", 331);
    c.cmd_ok("PASS x", 230);
}

#[test]
fn login_sequence_errors() {
    let d = Daemon::start();
    let mut c = d.connect();
    c.cmd_ok("PASS before-user", 503);
    c.cmd_ok("USER", 501);
    c.cmd_ok("user Anonymous", 331);
    c.cmd_ok("pass whatever", 230);
    c.cmd_any("PASS again", &[503, 230]);
    c.cmd_ok("NOOP", 200);
}

#[test]
fn commands_are_case_insensitive() {
    let d = Daemon::start();
    let mut c = d.login();
    c.cmd_ok("noop", 200);
    c.cmd_ok("NoOp", 200);
    let r = c.cmd_ok("pwd", 257);
    assert!(r.lines[0].starts_with("257 \"/\""), "{:?}", r.lines);
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let d = Daemon::start();
    let mut c = d.connect();
    c.send_raw(b"USER a\r\nPASS b\r\nNOOP\r\nSYST\r\nPWD\r\nTYPE I\r\nBOGUS\r\nQUIT\r\n");
    for code in [331, 230, 200, 215, 257, 200, 500, 221] {
        c.expect_reply(code);
    }
    c.expect_closed();
}

#[test]
fn type_mode_stru() {
    let d = Daemon::start();
    let mut c = d.login();
    c.cmd_ok("TYPE A", 200);
    c.cmd_ok("TYPE I", 200);
    c.cmd_ok("TYPE L 8", 200);
    c.cmd_any("TYPE X", &[504, 501]);
    c.cmd_ok("MODE S", 200);
    c.cmd_ok("MODE B", 504);
    c.cmd_ok("STRU F", 200);
    c.cmd_ok("STRU R", 504);
    // 200, not 202: a camera model quits on 202 (issue 27).
    c.cmd_ok("ALLO 100", 200);
    c.cmd_ok("NOOP", 200);
}

#[test]
fn pwd_cwd_cdup() {
    let d = Daemon::start();
    fs::create_dir_all(d.root().join("a/b")).unwrap();
    let mut c = d.login();
    assert!(c.cmd_ok("PWD", 257).lines[0].starts_with("257 \"/\""));
    c.cmd_ok("CWD a/b", 250);
    assert!(c.cmd_ok("PWD", 257).lines[0].starts_with("257 \"/a/b\""));
    c.cmd_ok("CDUP", 250);
    assert!(c.cmd_ok("XPWD", 257).lines[0].starts_with("257 \"/a\""));
    c.cmd_ok("XCUP", 250);
    assert!(c.cmd_ok("PWD", 257).lines[0].starts_with("257 \"/\""));
    c.cmd_ok("XCWD /a/b", 250);
    c.cmd_ok("CWD /", 250);
    assert!(c.cmd_ok("PWD", 257).lines[0].starts_with("257 \"/\""));
}

#[test]
fn pasv_and_epsv_reply_formats() {
    let d = Daemon::start();
    d.put("f.bin", b"hello");
    let mut c = d.login();
    let r = c.cmd_ok("PASV", 227);
    assert!(
        r.lines[0]
            .to_ascii_lowercase()
            .starts_with("227 entering passive mode ("),
        "{:?}",
        r.lines[0]
    );
    let (ip, port) = parse_227(r.text()).expect("227 (h1,h2,h3,h4,p1,p2)");
    assert_eq!(ip.to_string(), "127.0.0.1");
    assert!(port >= 1024, "passive port {port}");
    let r = c.cmd_ok("EPSV", 229);
    assert!(
        r.text().contains("(|||") && r.text().contains("|)"),
        "{:?}",
        r.lines[0]
    );
    assert!(parse_229(r.text()).is_some(), "{:?}", r.lines[0]);
    // Both kinds actually carry data.
    c.cmd_ok("TYPE I", 200);
    assert_eq!(c.download("RETR f.bin"), b"hello");
    let p = c.epsv();
    assert_eq!(c.download_via(p, "RETR f.bin"), b"hello");
}

#[test]
fn active_port_and_eprt_transfers() {
    let d = Daemon::start();
    let mut rng = Rng::new(11);
    let bytes = rng.bytes(300_000);
    d.put("r.bin", &bytes);
    let mut c = d.login();
    c.cmd_ok("TYPE I", 200);
    for eprt in [false, true] {
        let p = if eprt { c.eprt() } else { c.port() };
        assert_bytes_eq("active RETR", &c.download_via(p, "RETR r.bin"), &bytes);
    }
}

#[test]
fn epsv_all_refuses_other_data_commands() {
    let d = Daemon::start();
    d.put("f", b"x");
    let mut c = d.login();
    c.cmd_ok("EPSV ALL", 200);
    let r = c.cmd("PASV");
    assert!(
        (500..600).contains(&r.code),
        "PASV after EPSV ALL: {:?}",
        r.lines
    );
    let r = c.cmd("PORT 127,0,0,1,200,10");
    assert!(
        (500..600).contains(&r.code),
        "PORT after EPSV ALL: {:?}",
        r.lines
    );
    let r = c.cmd("EPRT |1|127.0.0.1|51210|");
    assert!(
        (500..600).contains(&r.code),
        "EPRT after EPSV ALL: {:?}",
        r.lines
    );
    // EPSV still works.
    let p = c.epsv();
    assert_eq!(c.download_via(p, "RETR f"), b"x");
}

#[test]
fn size_and_mdtm() {
    let d = Daemon::start();
    let p = d.put("s.bin", &[7u8; 12345]);
    set_mtime(&p, old_mtime());
    let mut c = d.login();
    assert_eq!(c.cmd_ok("SIZE s.bin", 213).lines[0], "213 12345");
    // SIZE in TYPE A answers what a TYPE A RETR sends: each LF as CRLF
    // (issue 27, 6b); a file without LF is its binary size.
    c.cmd_ok("TYPE A", 200);
    assert_eq!(c.cmd_ok("SIZE s.bin", 213).lines[0], "213 12345");
    d.put("t.txt", b"one\ntwo\n\n");
    assert_eq!(c.cmd_ok("SIZE t.txt", 213).lines[0], "213 12");
    assert_eq!(c.download("RETR t.txt"), b"one\r\ntwo\r\n\r\n");
    let r = c.cmd_ok("MDTM s.bin", 213);
    assert_eq!(r.lines[0], "213 20210304050607");
    let r = c.cmd_ok("MDTM /s.bin", 213);
    let digits = &r.lines[0][4..];
    assert!(digits.len() == 14 && digits.bytes().all(|b| b.is_ascii_digit()));
}

#[test]
fn mlst_is_multiline_250_with_facts() {
    let d = Daemon::start();
    let p = d.put("dir/m.txt", b"0123456789");
    set_mtime(&p, old_mtime());
    fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    let mut c = d.login();
    let r = c.cmd_ok("MLST dir/m.txt", 250);
    assert!(r.is_multiline(), "MLST must be multi-line: {:?}", r.lines);
    assert!(r.lines[0].starts_with("250-"));
    assert!(r.lines.last().unwrap().starts_with("250 "));
    let entry = &r.lines[1];
    assert!(
        entry.starts_with(' '),
        "MLST entry must start with a space: {entry:?}"
    );
    let (facts, name) = entry[1..]
        .split_once(' ')
        .expect("facts then one space then name");
    assert!(name.ends_with("m.txt"), "{name:?}");
    assert!(facts.ends_with(';'), "{facts:?}");
    let facts = facts.to_ascii_lowercase();
    assert!(facts.contains("type=file;"), "{facts}");
    assert!(facts.contains("size=10;"), "{facts}");
    assert!(facts.contains("modify=20210304050607;"), "{facts}");
    assert!(facts.contains("perm="), "{facts}");
    assert!(facts.contains("unix.mode=0640;"), "{facts}");
    let r = c.cmd_ok("MLST dir", 250);
    assert!(
        r.lines[1].to_ascii_lowercase().contains("type=dir;"),
        "{:?}",
        r.lines
    );
}

#[test]
fn stat_is_multiline_211() {
    let d = Daemon::start();
    d.put("listed-file.txt", b"abc");
    let mut c = d.login();
    let r = c.cmd_ok("STAT", 211);
    assert!(r.is_multiline(), "STAT must be multi-line: {:?}", r.lines);
    assert!(r.lines.last().unwrap().starts_with("211 "));
    let r = c.cmd_any("STAT /", &[211, 212, 213]);
    assert!(
        r.full().contains("listed-file.txt"),
        "STAT path must list: {:?}",
        r.lines
    );
}

#[test]
fn abor_without_transfer_is_225_and_quit_221_closes() {
    let d = Daemon::start();
    let mut c = d.login();
    c.cmd_ok("ABOR", 225);
    c.cmd_ok("NOOP", 200);
    c.cmd_ok("QUIT", 221);
    c.expect_closed();
}

/// Parse one `ls -l` line: (type char, link count, size, date fields, name).
fn parse_list_line(line: &str) -> (char, u64, u64, Vec<String>, String) {
    let f: Vec<&str> = line.split_whitespace().collect();
    assert!(f.len() >= 9, "LIST line has too few columns: {line:?}");
    assert_eq!(f[0].len(), 10, "permission column: {line:?}");
    let links: u64 = f[1]
        .parse()
        .unwrap_or_else(|_| panic!("no link-count column: {line:?}"));
    let size: u64 = f[4]
        .parse()
        .unwrap_or_else(|_| panic!("size column not a number: {line:?}"));
    let date = vec![f[5].to_string(), f[6].to_string(), f[7].to_string()];
    // The name is everything after the date's third field.
    let idx = line.find(f[7]).unwrap() + f[7].len();
    let name = line[idx..].trim_start_matches(' ').to_string();
    (f[0].chars().next().unwrap(), links, size, date, name)
}

#[test]
fn list_nlst_mlsd_over_passive() {
    let d = Daemon::start();
    let old = d.put("old.bin", &[1u8; 1000]);
    set_mtime(&old, old_mtime());
    d.put("new file.txt", b"hello\n");
    fs::create_dir(d.root().join("sub")).unwrap();
    let mut c = d.login();
    for cmd in ["LIST", "LIST -a", "LIST -l", "LIST -la"] {
        let listing = String::from_utf8(c.download(cmd)).expect("LIST is UTF-8");
        let mut seen = Vec::new();
        for line in listing.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(!line.contains('\n'), "LIST lines end in CRLF: {listing:?}");
            if line.starts_with("total") {
                continue;
            }
            let (kind, links, size, date, name) = parse_list_line(line);
            assert!(links >= 1, "{line:?}");
            match name.as_str() {
                "old.bin" => {
                    assert_eq!((kind, size), ('-', 1000), "{line:?}");
                    assert_eq!(date[0], "Mar", "{line:?}");
                    assert_eq!(date[1].parse::<u32>().ok(), Some(4), "{line:?}");
                    assert_eq!(date[2], "2021", "{line:?}");
                    assert!(line.contains("  2021 old.bin"), "{line:?}");
                }
                "new file.txt" => {
                    assert_eq!((kind, size), ('-', 6), "{line:?}");
                    assert!(
                        date[2].len() == 5 && date[2].as_bytes()[2] == b':',
                        "recent files show HH:MM: {line:?}"
                    );
                }
                "sub" => assert_eq!(kind, 'd', "{line:?}"),
                "." | ".." => {}
                other => panic!("unexpected name {other:?} in {line:?}"),
            }
            seen.push(name);
        }
        for want in ["old.bin", "new file.txt", "sub"] {
            assert!(
                seen.iter().any(|n| n == want),
                "{cmd} lacks {want}: {listing:?}"
            );
        }
    }
    let nlst = String::from_utf8(c.download("NLST")).unwrap();
    let mut names: Vec<&str> = nlst.split("\r\n").filter(|l| !l.is_empty()).collect();
    names.sort();
    assert_eq!(names, ["new file.txt", "old.bin", "sub"], "{nlst:?}");
    let mlsd = String::from_utf8(c.download("MLSD")).unwrap();
    let mut seen = Vec::new();
    for line in mlsd.split("\r\n").filter(|l| !l.is_empty()) {
        let (facts, name) = line.split_once(' ').expect("facts, one space, name");
        assert!(facts.ends_with(';'), "{line:?}");
        let facts = facts.to_ascii_lowercase();
        match name {
            "old.bin" => {
                assert!(facts.contains("type=file;"), "{line:?}");
                assert!(facts.contains("size=1000;"), "{line:?}");
                assert!(facts.contains("modify=20210304050607;"), "{line:?}");
            }
            "new file.txt" => assert!(facts.contains("size=6;"), "{line:?}"),
            "sub" => assert!(facts.contains("type=dir;"), "{line:?}"),
            _ => assert!(
                facts.contains("type=cdir;") || facts.contains("type=pdir;"),
                "{line:?}"
            ),
        }
        seen.push(name.to_string());
    }
    for want in ["old.bin", "new file.txt", "sub"] {
        assert!(
            seen.iter().any(|n| n == want),
            "MLSD lacks {want}: {mlsd:?}"
        );
    }
    // LIST of a single file lists that file.
    let one = String::from_utf8(c.download("LIST old.bin")).unwrap();
    assert!(one.contains("old.bin") && !one.contains("sub"), "{one:?}");
}

#[test]
fn rest_then_retr_sends_the_tail() {
    let d = Daemon::start();
    let mut rng = Rng::new(5);
    let bytes = rng.bytes(100_000);
    d.put("t.bin", &bytes);
    let mut c = d.login();
    c.cmd_ok("TYPE I", 200);
    let got = c.download_rest(Some(12345), "RETR t.bin");
    assert_bytes_eq("REST 12345 + RETR", &got, &bytes[12345..]);
    // The offset is used once.
    let got = c.download("RETR t.bin");
    assert_bytes_eq("RETR after a REST one", &got, &bytes);
}

#[test]
fn type_a_converts_line_endings() {
    let d = Daemon::start_write();
    d.put("text.txt", b"one\ntwo\nthree\n");
    let mut c = d.login();
    c.cmd_ok("TYPE A", 200);
    assert_eq!(c.download("RETR text.txt"), b"one\r\ntwo\r\nthree\r\n");
    c.upload("STOR up.txt", b"a\r\nb\r\n");
    assert_eq!(fs::read(d.root().join("up.txt")).unwrap(), b"a\nb\n");
    c.cmd_ok("TYPE I", 200);
    assert_eq!(c.download("RETR text.txt"), b"one\ntwo\nthree\n");
}

#[test]
fn write_commands_with_write_enabled() {
    let d = Daemon::start_write();
    let mut c = d.login();
    c.cmd_ok("TYPE I", 200);
    c.upload("STOR a.bin", b"first");
    assert_eq!(fs::read(d.root().join("a.bin")).unwrap(), b"first");
    c.upload("APPE a.bin", b"+second");
    assert_eq!(fs::read(d.root().join("a.bin")).unwrap(), b"first+second");
    // STOR replaces.
    c.upload("STOR a.bin", b"new");
    assert_eq!(fs::read(d.root().join("a.bin")).unwrap(), b"new");
    // REST + STOR writes in place.
    c.upload_rest(Some(1), "STOR a.bin", b"XY");
    assert_eq!(fs::read(d.root().join("a.bin")).unwrap(), b"nXY");
    // REST beyond the end on STOR: 554.
    let r = c.transfer_reply_rest(Some(100), "STOR a.bin");
    assert_eq!(r.code, 554, "REST past the end then STOR: {:?}", r.lines);
    assert_eq!(fs::read(d.root().join("a.bin")).unwrap(), b"nXY");
    // Rename.
    c.cmd_ok("RNFR a.bin", 350);
    c.cmd_ok("RNTO b.bin", 250);
    assert!(!d.root().join("a.bin").exists());
    assert_eq!(fs::read(d.root().join("b.bin")).unwrap(), b"nXY");
    // Folders, with a quote in the name (doubled in 257).
    let r = c.cmd_ok("MKD we\"ird", 257);
    assert!(
        r.lines[0].starts_with("257 \"/we\"\"ird\""),
        "{:?}",
        r.lines[0]
    );
    assert!(d.root().join("we\"ird").is_dir());
    c.cmd_ok("CWD we\"ird", 250);
    assert!(c.cmd_ok("PWD", 257).lines[0].starts_with("257 \"/we\"\"ird\""));
    c.cmd_ok("CDUP", 250);
    c.cmd_ok("XMKD x2", 257);
    c.cmd_ok("XRMD x2", 250);
    c.cmd_ok("RMD we\"ird", 250);
    assert!(!d.root().join("we\"ird").exists());
    c.cmd_ok("DELE b.bin", 250);
    assert!(!d.root().join("b.bin").exists());
    assert!(d.names("").is_empty(), "left behind: {:?}", d.names(""));
}

#[test]
fn utf8_file_names() {
    let d = Daemon::start_write();
    let name = "Grüße-日本語-ñ.txt";
    let mut c = d.login();
    c.cmd_ok("OPTS UTF8 ON", 200);
    c.cmd_ok("TYPE I", 200);
    c.upload(&format!("STOR {name}"), b"utf8 body");
    assert_eq!(fs::read(d.root().join(name)).unwrap(), b"utf8 body");
    assert_eq!(c.cmd_ok(&format!("SIZE {name}"), 213).lines[0], "213 9");
    let nlst = String::from_utf8(c.download("NLST")).unwrap();
    assert!(nlst.split("\r\n").any(|l| l == name), "{nlst:?}");
    assert_eq!(c.download(&format!("RETR {name}")), b"utf8 body");
}
