//! Raw-socket tests of every error case: the exact reply code, and that the
//! daemon (and every other session) survives.

use pocketftpd_tests::*;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener};
use std::time::{Duration, Instant};

/// A file big enough that a transfer is still running after we read a bit.
const BIG: usize = 32 << 20;

fn big_file(d: &Daemon, name: &str) -> Vec<u8> {
    let bytes: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    d.put(name, &bytes);
    bytes
}

#[test]
fn commands_before_login_are_530() {
    let d = Daemon::start();
    d.put("f", b"x");
    let mut c = d.connect();
    for line in [
        "RETR f",
        "STOR f",
        "LIST",
        "NLST",
        "MLSD",
        "CWD /",
        "CDUP",
        "PWD",
        "PORT 127,0,0,1,4,1",
        "EPSV",
        "SIZE f",
        "MDTM f",
        "DELE f",
        "MKD d",
        "RNFR f",
        "REST 1",
        "MLST f",
    ] {
        c.cmd_ok(line, 530);
    }
    c.cmd_ok("USER anonymous", 331);
    // Between USER and PASS still not logged in.
    c.cmd_ok("PWD", 530);
    c.cmd_ok("PASS x", 230);
    c.cmd_ok("PWD", 257);
}

#[test]
fn unknown_and_malformed_commands_are_500_or_501() {
    let d = Daemon::start();
    let mut c = d.connect();
    c.cmd_ok("FOOBAR", 500);
    c.cmd_ok("XYZZY arg", 500);
    c.cmd_ok("USER anonymous", 331);
    c.cmd_ok("PASS x", 230);
    c.cmd_ok("FOOBAR", 500);
    c.cmd_ok("RETR", 501);
    c.cmd_ok("REST", 501);
    c.cmd_ok("REST abc", 501);
    c.cmd_ok("REST -5", 501);
    c.cmd_ok("NOOP", 200);
}

#[test]
fn bare_lf_and_bare_cr_get_500_and_the_session_goes_on() {
    let d = Daemon::start();
    let mut c = d.connect();
    c.send_raw(b"NOOP\n");
    let r = c.expect_reply(500);
    assert!(
        r.full().contains("CRLF"),
        "the 500 should say lines must end with CRLF: {:?}",
        r.lines
    );
    c.cmd_ok("NOOP", 200);
    c.send_raw(b"NO\rOP\r\n");
    c.expect_reply(500);
    c.cmd_ok("USER anonymous", 331);
    c.send_raw(b"PASS x\n");
    c.expect_reply(500);
    c.cmd_ok("PASS x", 230);
    c.cmd_ok("NOOP", 200);
}

#[test]
fn overlong_lines_get_500_and_the_session_goes_on() {
    let d = Daemon::start();
    let mut c = d.login();
    let long = format!("NOOP {}", "a".repeat(5000));
    c.cmd_ok(&long, 500);
    c.cmd_ok("NOOP", 200);
    // A line of 1 MiB sent in pieces: one 500, nothing else, buffer capped.
    let mut huge = b"RETR ".to_vec();
    huge.extend(std::iter::repeat_n(b'b', 1 << 20));
    huge.extend_from_slice(b"\r\nNOOP\r\n");
    c.send_raw(&huge);
    c.expect_reply(500);
    c.expect_reply(200);
    d_alive(&d);
}

fn d_alive(d: &Daemon) {
    let mut c = d.login();
    c.cmd_ok("NOOP", 200);
}

#[test]
fn transfers_without_port_or_pasv_are_425() {
    let d = Daemon::start();
    d.put("f", b"x");
    let mut c = d.login();
    c.cmd_ok("RETR f", 425);
    c.cmd_ok("LIST", 425);
    c.cmd_ok("NLST", 425);
    c.cmd_ok("MLSD", 425);
    c.cmd_ok("NOOP", 200);
}

#[test]
fn port_and_eprt_argument_errors() {
    let d = Daemon::start();
    let mut c = d.login();
    for bad in [
        "PORT",
        "PORT 1,2,3",
        "PORT a,b,c,d,e,f",
        "PORT 127,0,0,1,300,1",
        "PORT 127,0,0,1,4,1,9",
        "PORT 127.0.0.1.4.1",
    ] {
        c.cmd_ok(bad, 501);
    }
    // Another address than the peer (no bounce), or a privileged port.
    c.cmd_any("PORT 127,0,0,2,200,1", &[504, 501]);
    c.cmd_any("PORT 10,0,0,1,200,1", &[504, 501]);
    c.cmd_any("PORT 127,0,0,1,0,21", &[504, 501]);
    c.cmd_any("EPRT |1|127.0.0.2|51200|", &[504, 501]);
    c.cmd_any("EPRT |1|127.0.0.1|21|", &[504, 501]);
    c.cmd_ok("EPRT |3|127.0.0.1|51200|", 522);
    c.cmd_ok("EPRT foo", 501);
    c.cmd_ok("EPRT |1|127.0.0.1|notaport|", 501);
    c.cmd_ok("EPRT |1|not.an.ip|51200|", 501);
    // A rejected PORT leaves no data address behind.
    c.cmd_ok("LIST", 425);
    c.cmd_ok("NOOP", 200);
}

#[test]
fn port_to_a_refusing_address_is_425_without_150() {
    let d = Daemon::start();
    d.put("f", b"data");
    let mut c = d.login();
    for cmd in ["RETR f", "LIST"] {
        // A port that was free a moment ago: nothing listens there.
        let port = free_port();
        c.cmd_ok(
            &format!("PORT 127,0,0,1,{},{}", port >> 8, port & 0xff),
            200,
        );
        let r = c.cmd(cmd);
        assert_eq!(
            r.code, 425,
            "{cmd} to a closed port: first reply {:?}",
            r.lines
        );
    }
    c.cmd_ok("NOOP", 200);
    // The session still transfers afterwards.
    assert_eq!(c.download("RETR f"), b"data");
}

#[test]
fn passive_connection_never_made_times_out_with_425() {
    let d = Daemon::with(Options {
        data_timeout: Some(1),
        ..Options::default()
    });
    d.put("f", b"data");
    let mut c = d.login();
    let _plan = c.pasv();
    let start = Instant::now();
    c.send("RETR f");
    let r = c.reply();
    assert_eq!(
        r.code, 425,
        "no data connection within --data-timeout 1: {:?}",
        r.lines
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    c.cmd_ok("NOOP", 200);
}

#[test]
fn idle_timeout_closes_with_421() {
    let d = Daemon::with(Options {
        idle_timeout: Some(1),
        ..Options::default()
    });
    let mut c = d.login();
    let start = Instant::now();
    let r = c.reply();
    assert_eq!(r.code, 421, "{:?}", r.lines);
    assert!(start.elapsed() < Duration::from_secs(10));
    c.expect_closed();
}

#[test]
fn missing_files_and_wrong_kinds_are_550() {
    let d = Daemon::start_write();
    d.put("file.txt", b"abc");
    fs::create_dir(d.root().join("dir")).unwrap();
    let mut c = d.login();
    for line in [
        "SIZE missing",
        "MDTM missing",
        "CWD missing",
        "CWD file.txt",
        "DELE missing",
        "RMD missing",
        "RMD file.txt",
        "RNFR missing",
        "MLST missing",
        "SIZE dir",
        "DELE dir",
    ] {
        c.cmd_ok(line, 550);
    }
    for line in [
        "RETR missing",
        "RETR dir",
        "RETR .",
        "LIST missing",
        "MLSD missing",
    ] {
        let r = c.transfer_reply(line);
        assert_eq!(r.code, 550, "{line}: {:?}", r.lines);
    }
    // Uploading onto a folder or into a missing folder.
    for line in ["STOR dir", "STOR missing/x", "STOR ."] {
        let r = c.transfer_reply(line);
        assert!(r.code == 550 || r.code == 553, "{line}: {:?}", r.lines);
    }
    assert!(d.root().join("dir").is_dir());
    c.cmd_ok("MKD dir", 550);
    c.cmd_ok("NOOP", 200);
}

#[test]
fn paths_never_leave_the_root() {
    traversal::paths_never_leave_the_root(&Daemon::start());
}

#[test]
fn illegal_names_nul_invalid_utf8() {
    let d = Daemon::start_write();
    d.put("a", b"file a");
    let mut c = d.login();
    c.send_raw(b"RETR a\0b\r\n");
    c.expect_one_of(&[501, 553]);
    c.send_raw(b"MKD x\0y\r\n");
    c.expect_one_of(&[501, 553]);
    c.send_raw(b"CWD \0\r\n");
    c.expect_one_of(&[501, 553]);
    // (Not 0xff: that is TELNET IAC, which the daemon strips.)
    c.send_raw(b"RETR \xc3\x28x\r\n");
    c.expect_one_of(&[501, 553]);
    c.send_raw(b"SIZE \x80abc\r\n");
    c.expect_one_of(&[501, 553]);
    c.send_raw(b"MKD bad\xc3\r\n");
    c.expect_one_of(&[501, 553]);
    // A backslash separates names, as Windows clients mean it (issue 27):
    // never a way out of the root, nor into a name of its own.
    c.cmd_ok("MKD back\\slash", 550);
    assert_eq!(c.cmd_ok("SIZE ..\\..\\a", 213).lines[0], "213 6");
    let r = c.transfer_reply("STOR evil\\name");
    assert_eq!(r.code, 550, "STOR into a missing folder: {:?}", r.lines);
    assert_eq!(
        d.names(""),
        ["a"],
        "nothing may be created by an illegal name"
    );
    assert_eq!(fs::read(d.root().join("a")).unwrap(), b"file a");
    c.cmd_ok("NOOP", 200);
}

/// A name that really holds a `\` (made on the server's disk) still
/// works when it exists as written (issue 27, 6a); a `\` separates names
/// otherwise.
#[test]
fn a_name_with_a_backslash_works_when_it_exists() {
    let d = Daemon::start_write();
    d.put("dos\\name.txt", b"literal");
    d.put("dos/name.txt", b"in a folder");
    let mut c = d.login();
    assert_eq!(c.download("RETR dos\\name.txt"), b"literal");
    assert_eq!(c.download("RETR dos/name.txt"), b"in a folder");
    assert_eq!(c.cmd_ok("SIZE \\dos\\name.txt", 213).lines[0], "213 11");
    c.cmd_ok("RNFR dos\\name.txt", 350);
    c.cmd_ok("RNTO renamed.txt", 250);
    assert_eq!(fs::read(d.root().join("renamed.txt")).unwrap(), b"literal");
    c.cmd_ok("DELE dos\\name.txt", 250);
    assert!(!d.root().join("dos/name.txt").exists());
}

#[test]
fn symlinks_out_of_the_root_are_refused() {
    traversal::symlinks_out_of_the_root_are_refused(&Daemon::start());
}

#[test]
fn read_only_anonymous_cannot_write() {
    let d = Daemon::start();
    d.put("keep.txt", b"keep");
    fs::create_dir(d.root().join("keepdir")).unwrap();
    let mut c = d.login();
    for line in ["STOR new.txt", "STOR keep.txt", "APPE keep.txt", "STOU"] {
        let r = c.transfer_reply(line);
        assert_eq!(r.code, 550, "{line} read-only: {:?}", r.lines);
    }
    c.cmd_ok("DELE keep.txt", 550);
    c.cmd_ok("MKD newdir", 550);
    c.cmd_ok("RMD keepdir", 550);
    c.cmd_ok("RNFR keep.txt", 550);
    c.cmd_ok("RNTO other.txt", 503);
    assert_eq!(d.names(""), ["keep.txt", "keepdir"]);
    assert_eq!(fs::read(d.root().join("keep.txt")).unwrap(), b"keep");
}

#[test]
fn rnto_without_rnfr_is_503() {
    let d = Daemon::start_write();
    d.put("a", b"a");
    let mut c = d.login();
    c.cmd_ok("RNTO b", 503);
    // RNFR followed by another command forgets the pending rename.
    c.cmd_ok("RNFR a", 350);
    c.cmd_ok("NOOP", 200);
    c.cmd_ok("RNTO b", 503);
    assert_eq!(d.names(""), ["a"]);
}

#[test]
fn half_a_command_then_vanish() {
    let mut d = Daemon::start();
    let mut other = d.login();
    for junk in [
        &b"US"[..],
        b"USER anonymous\r\nPASS x\r\nRET",
        b"",
        b"\xff\xf4\xff",
    ] {
        let mut c = d.connect();
        c.send_raw(junk);
        drop(c);
    }
    // Connect and vanish before even the welcome is read.
    for _ in 0..5 {
        drop(std::net::TcpStream::connect(d.addr()).unwrap());
    }
    // A connection reset mid-line.
    let c = d.login();
    set_linger_zero(c.stream());
    let mut s = c.stream().try_clone().unwrap();
    s.write_all(b"LIST /some").unwrap();
    drop(s);
    drop(c);
    other.cmd_ok("NOOP", 200);
    d.assert_alive();
}

/// Wait (bounded) until a STOR's hidden temporary file holds some bytes in
/// the root folder: the upload is under way.
fn wait_for_temp_file(d: &Daemon) {
    let seen = wait_until(Duration::from_secs(10), || {
        fs::read_dir(d.root()).unwrap().any(|e| {
            let e = e.unwrap();
            e.file_name().to_string_lossy().starts_with('.')
                && e.metadata().map(|m| m.len() > 0).unwrap_or(false)
        })
    });
    assert!(
        seen,
        "no hidden temporary file with data appeared beside the target during STOR: {:?}",
        d.names("")
    );
}

#[test]
fn data_reset_mid_upload_keeps_the_old_file() {
    let mut d = Daemon::start_write();
    let old = b"the old content that must survive".to_vec();
    d.put("target.bin", &old);
    let mut other = d.login();
    let mut c = d.login();
    let mut data = c.begin_transfer("STOR target.bin");
    data.write_all(&vec![0xabu8; 256 * 1024]).unwrap();
    data.flush().unwrap();
    // The daemon has read some of it into its hidden temporary file.
    wait_for_temp_file(&d);
    set_linger_zero(&data);
    drop(data);
    let r = c.reply();
    assert!(
        r.code == 426 || r.code == 451,
        "upload broken by a reset: {:?}",
        r.lines
    );
    assert_eq!(
        fs::read(d.root().join("target.bin")).unwrap(),
        old,
        "a broken STOR must leave the old file as it was"
    );
    assert!(
        wait_until(Duration::from_secs(5), || d.names("") == ["target.bin"]),
        "temporary files left behind: {:?}",
        d.names("")
    );
    c.cmd_ok("NOOP", 200);
    other.cmd_ok("NOOP", 200);
    d.assert_alive();
}

#[test]
fn control_dropped_mid_upload_keeps_the_old_file() {
    let mut d = Daemon::start_write();
    d.put("t.bin", b"old");
    let mut c = d.login();
    let mut data = c.begin_transfer("STOR t.bin");
    data.write_all(&[1u8; 100_000]).unwrap();
    wait_for_temp_file(&d);
    set_linger_zero(c.stream());
    drop(c);
    set_linger_zero(&data);
    drop(data);
    assert!(
        wait_until(Duration::from_secs(5), || d.names("") == ["t.bin"]),
        "temporary files left behind: {:?}",
        d.names("")
    );
    assert_eq!(fs::read(d.root().join("t.bin")).unwrap(), b"old");
    d.assert_alive();
}

#[test]
fn control_dropped_mid_download() {
    let mut d = Daemon::start();
    let bytes = big_file(&d, "big.bin");
    let mut other = d.login();
    let mut c = d.login();
    let mut data = c.begin_transfer("RETR big.bin");
    let mut buf = vec![0u8; 65536];
    data.read_exact(&mut buf).unwrap();
    drop(c);
    drop(data);
    other.cmd_ok("NOOP", 200);
    d.assert_alive();
    // A full download still works.
    let mut c = d.login();
    c.cmd_ok("TYPE I", 200);
    assert_bytes_eq(
        "RETR after a broken one",
        &c.download("RETR big.bin"),
        &bytes,
    );
}

#[test]
fn data_closed_early_on_retr_is_426() {
    let mut d = Daemon::start();
    big_file(&d, "big.bin");
    let mut c = d.login();
    let mut data = c.begin_transfer("RETR big.bin");
    let mut buf = vec![0u8; 65536];
    data.read_exact(&mut buf).unwrap();
    set_linger_zero(&data);
    drop(data);
    let r = c.reply();
    assert_eq!(
        r.code, 426,
        "data connection closed early on RETR: {:?}",
        r.lines
    );
    c.cmd_ok("NOOP", 200);
    d.assert_alive();
}

#[test]
fn abor_during_a_download_is_426_then_226() {
    let mut d = Daemon::start();
    big_file(&d, "big.bin");
    let mut c = d.login();
    let mut data = c.begin_transfer("RETR big.bin");
    let mut buf = vec![0u8; 65536];
    data.read_exact(&mut buf).unwrap();
    // TELNET IP + SYNCH first, as lftp does; the daemon must ignore them.
    c.send_raw(b"\xff\xf4\xff\xf2ABOR\r\n");
    c.expect_reply(426);
    c.expect_reply(226);
    // The data connection is closed by the daemon (EOF or reset), bounded.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match data.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => assert!(
                Instant::now() < deadline,
                "data connection not closed after ABOR"
            ),
        }
    }
    c.cmd_ok("NOOP", 200);
    d.assert_alive();
}

#[test]
fn passive_port_accepts_only_once_and_only_after_pasv() {
    let d = Daemon::start();
    d.put("f", b"abc");
    let mut c = d.login();
    let r = c.cmd_ok("PASV", 227);
    let (_, port) = parse_227(r.text()).unwrap();
    let first = std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    c.send("RETR f");
    c.expect_one_of(&[125, 150]);
    let mut got = Vec::new();
    let mut first = first;
    first.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    first.read_to_end(&mut got).unwrap();
    c.expect_reply(226);
    assert_eq!(got, b"abc");
    // The passive listener is gone after the transfer: RETR now needs a new PASV.
    c.cmd_ok("RETR f", 425);
}

#[test]
fn many_sessions_survive_one_another() {
    let mut d = Daemon::start();
    let mut sessions: Vec<Ctrl> = (0..8).map(|_| d.login()).collect();
    // Misbehave on a few.
    sessions[0].send_raw(b"\n\n\nGARBAGE\r\n");
    sessions[1].send_raw(&[0xffu8; 6000]);
    sessions[1].send_raw(b"\r\n");
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    sessions[2].cmd_ok(
        &format!("PORT 127,0,0,1,{},{}", port >> 8, port & 0xff),
        200,
    );
    sessions[2].send("LIST");
    let broken = sessions.remove(3);
    broken.stream().shutdown(Shutdown::Both).unwrap();
    drop(broken);
    for s in sessions.iter_mut().skip(3) {
        s.cmd_ok("NOOP", 200);
    }
    d.assert_alive();
}

#[test]
fn stor_to_a_refusing_address_is_425_and_changes_nothing() {
    let mut d = Daemon::start_write();
    d.put("keep.bin", b"kept");
    let mut c = d.login();
    let port = free_port();
    c.cmd_ok(
        &format!("PORT 127,0,0,1,{},{}", port >> 8, port & 0xff),
        200,
    );
    let r = c.cmd("STOR keep.bin");
    assert_eq!(
        r.code, 425,
        "STOR to a closed port: first reply {:?}",
        r.lines
    );
    let port = free_port();
    c.cmd_ok(&format!("EPRT |1|127.0.0.1|{port}|"), 200);
    let r = c.cmd("APPE keep.bin");
    assert_eq!(
        r.code, 425,
        "APPE to a closed port: first reply {:?}",
        r.lines
    );
    assert_eq!(d.names(""), ["keep.bin"]);
    assert_eq!(fs::read(d.root().join("keep.bin")).unwrap(), b"kept");
    c.cmd_ok("NOOP", 200);
    d.assert_alive();
}

/// The daemon's own files (`.pocketftpd-*`, unfinished uploads) cannot be
/// named by a client and never show in a listing: even with `--dotfiles`,
/// which serves every other name starting with a dot (without it they are
/// all refused alike, `550`: see `dotfiles.rs`).
#[test]
fn the_daemons_own_names_are_refused_and_hidden() {
    let d = Daemon::with(Options {
        extra: vec!["--dotfiles".into()],
        ..Options::write()
    });
    d.put(".pocketftpd-upload-1-2-3", b"half an upload");
    d.put("sub/.pocketftpd-x", b"x");
    d.put("visible.txt", b"v");
    let mut c = d.login();
    c.cmd_ok("SIZE .pocketftpd-upload-1-2-3", 553);
    c.cmd_ok("DELE .pocketftpd-upload-1-2-3", 553);
    c.cmd_ok("RNFR sub/.pocketftpd-x", 553);
    c.cmd_ok("MKD .pocketftpd-mine", 553);
    assert_eq!(c.transfer_reply("STOR .pocketftpd-upload-9").code, 553);
    let names = String::from_utf8(c.download("NLST")).unwrap();
    let mut names: Vec<&str> = names.lines().collect();
    names.sort_unstable();
    assert_eq!(names, ["sub", "visible.txt"]);
    let sub = String::from_utf8(c.download("LIST sub")).unwrap();
    assert!(!sub.contains("pocketftpd"), "{sub}");
    assert!(d.root().join(".pocketftpd-upload-1-2-3").exists());
}
