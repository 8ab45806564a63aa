//! The daemon as an operator sees it: signals, a full disk, IPv6.

use std::io::{Read, Write};
use std::net::{Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use pocketftpd_tests::*;

fn try_login(d: &Daemon, user: &str, password: &str) -> u16 {
    let mut c = d.connect();
    c.cmd_ok(&format!("USER {user}"), 331);
    c.cmd(&format!("PASS {password}")).code
}

#[test]
fn sigterm_lets_a_running_download_finish_then_exits_zero() {
    let mut d = Daemon::start();
    let data = Rng::new(7).bytes(48 << 20);
    d.put("big.bin", &data);

    let mut idle = d.login();
    let mut busy = d.login();
    let mut stream = busy.begin_transfer("RETR big.bin");
    let mut got = vec![0u8; 1 << 20];
    stream.read_exact(&mut got).expect("first MiB");

    d.signal("TERM");
    // Idle sessions are told at once; new connections are no longer taken.
    idle.expect_reply(421);
    assert!(wait_until(Duration::from_secs(5), || TcpStream::connect(
        d.addr()
    )
    .is_err()));

    stream
        .read_to_end(&mut got)
        .expect("the rest of the download");
    drop(stream);
    busy.expect_reply(226);
    assert_bytes_eq("download during shutdown", &got, &data);
    busy.expect_reply(421);
    let status = d.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", d.stderr());
}

#[test]
fn sighup_adds_a_user_while_a_session_goes_on() {
    let users = TempDir::new("users");
    let file = users.join("users");
    let (alice, bob) = (password_hash("wonderland"), password_hash("builder"));
    std::fs::write(&file, format!("alice:{alice}:super\n")).unwrap();
    let mut d = Daemon::with(Options {
        extra: vec![
            "--users".into(),
            file.to_str().unwrap().into(),
            "--login-delay".into(),
            "0".into(),
        ],
        ..Options::default()
    });
    let mut session = d.connect();
    session.cmd_ok("USER alice", 331);
    session.cmd_ok("PASS wonderland", 230);
    assert_eq!(try_login(&d, "bob", "builder"), 530);

    std::fs::write(&file, format!("alice:{alice}:super\nbob:{bob}:user\n")).unwrap();
    d.signal("HUP");
    assert!(
        wait_until(Duration::from_secs(10), || try_login(&d, "bob", "builder")
            == 230),
        "bob cannot log in after SIGHUP; stderr:\n{}",
        d.stderr()
    );
    session.cmd_ok("NOOP", 200);
    session.cmd_ok("PWD", 257);

    // A broken file on SIGHUP is reported and the old accounts stay.
    std::fs::write(&file, "bob:not-a-hash:user\n").unwrap();
    d.signal("HUP");
    assert!(wait_until(Duration::from_secs(10), || d
        .stderr()
        .contains("keeping the old users")));
    assert!(
        d.stderr().contains(":1: "),
        "the error names the line: {}",
        d.stderr()
    );
    assert_eq!(try_login(&d, "bob", "builder"), 230);
    session.cmd_ok("QUIT", 221);
    assert!(d.is_running());
    assert_eq!(try_login(&d, "alice", "wonderland"), 230);
}

#[test]
fn a_full_disk_is_452_and_the_old_file_survives() {
    let Some(disk) = SmallFs::mount("smalldisk", 1024) else {
        return;
    };
    let root = disk.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let old = Rng::new(1).bytes(100_000);
    std::fs::write(root.join("keep.bin"), &old).unwrap();
    let d = Daemon::with(Options {
        write: true,
        extra: vec!["--root".into(), root.to_str().unwrap().into()],
        ..Options::default()
    });
    let mut c = d.login();
    let mut data = c.begin_transfer("STOR keep.bin");
    // More than the disk holds; the daemon stops reading once it is full.
    let chunk = vec![0xA5u8; 64 * 1024];
    for _ in 0..64 {
        if data.write_all(&chunk).is_err() {
            break;
        }
    }
    drop(data);
    c.expect_one_of(&[452, 552]);
    c.cmd_ok("NOOP", 200);
    assert_eq!(
        std::fs::read(root.join("keep.bin")).unwrap(),
        old,
        "the old file changed"
    );
    assert_eq!(
        dir_names(&root),
        ["keep.bin"],
        "a temporary file was left behind"
    );
    // The space is free again: a small upload works.
    c.upload("STOR small.txt", b"fits");
    assert_eq!(std::fs::read(root.join("small.txt")).unwrap(), b"fits");
}

#[test]
fn ipv6_control_and_data_connections() {
    let port = TcpListener::bind((Ipv6Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = Daemon::with(Options {
        write: true,
        extra: vec!["--listen".into(), format!("[::1]:{port}")],
        ..Options::default()
    });
    let addr = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    let mut c = Ctrl::connect(addr);
    c.expect_reply(220);
    c.cmd_ok("USER anonymous", 331);
    c.cmd_ok("PASS x", 230);
    let payload = Rng::new(6).bytes(300_000);

    // Passive: EPSV; PASV cannot name an IPv6 address.
    c.cmd_ok("PASV", 425);
    c.cmd_ok("EPSV 1", 522);
    let r = c.cmd_ok("EPSV", 229);
    let data_port = parse_229(r.text()).expect("229 port");
    c.send("STOR v6.bin");
    let mut data =
        TcpStream::connect((Ipv6Addr::LOCALHOST, data_port)).expect("EPSV data connection");
    c.expect_one_of(&[125, 150]);
    data.write_all(&payload).unwrap();
    drop(data);
    c.expect_reply(226);
    assert_eq!(std::fs::read(d.root().join("v6.bin")).unwrap(), payload);

    // Active: EPRT |2|.
    let listener = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
    let active = listener.local_addr().unwrap().port();
    c.cmd_ok(&format!("EPRT |2|::1|{active}|"), 200);
    c.send("RETR v6.bin");
    let mut data =
        accept_timeout(&listener, Duration::from_secs(10)).expect("EPRT data connection");
    c.expect_one_of(&[125, 150]);
    let mut got = Vec::new();
    data.set_nonblocking(false).unwrap();
    data.read_to_end(&mut got).unwrap();
    c.expect_reply(226);
    assert_bytes_eq("IPv6 download", &got, &payload);
    // An IPv4 address is not the client's over IPv6.
    c.cmd_ok(&format!("EPRT |1|127.0.0.1|{active}|"), 504);
    c.cmd_ok("QUIT", 221);
}

#[test]
fn xferlog_has_a_well_formed_line_per_transfer() {
    let logs = TempDir::new("xferlog");
    let log = logs.join("xferlog");
    let d = Daemon::with(Options {
        write: true,
        extra: vec!["--xferlog".into(), log.to_str().unwrap().into()],
        ..Options::default()
    });
    let mut c = d.login();
    c.cmd_ok("TYPE I", 200);
    c.upload("STOR my file.bin", &[1u8; 1000]);
    assert_eq!(c.download("RETR my file.bin").len(), 1000);
    c.download("LIST");
    c.cmd_ok("QUIT", 221);

    assert!(wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.lines().count() == 2)
    }));
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    for (fields, direction) in lines.iter().zip(["i", "o"]) {
        // ctime (5 fields), then the 13 xferlog fields.
        assert_eq!(fields.len(), 18, "{fields:?}");
        assert!(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(&fields[0]));
        assert!(
            fields[4].len() == 4 && fields[4].parse::<u32>().is_ok(),
            "{fields:?}"
        );
        assert!(fields[5].parse::<u64>().is_ok_and(|s| s >= 1), "{fields:?}");
        assert_eq!(
            &fields[6..],
            [
                "127.0.0.1",
                "1000",
                "/my_file.bin",
                "b",
                "_",
                direction,
                "a",
                "anonymous",
                "ftp",
                "0",
                "*",
                "c"
            ]
        );
    }
}

#[test]
fn run_as_drops_root_after_binding() {
    let uid = Command::new("id").arg("-u").output().expect("run id");
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return skip("--run-as needs the test to run as root");
    }
    // A users file only root may read: fine at start-up, not on SIGHUP.
    let users = TempDir::new("users");
    let file = users.join("users");
    std::fs::write(&file, format!("alice:{}:super\n", password_hash("pw"))).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let mut d = Daemon::with(Options {
        write: true,
        extra: vec![
            "--run-as".into(),
            "nobody".into(),
            "--users".into(),
            file.to_str().unwrap().into(),
            "--anonymous".into(),
        ],
        ..Options::default()
    });
    // Said plainly at start-up, not found out at the first upload (the
    // port accepts before the switch, so wait for the lines: they come
    // before "serving", which may lag under an emulator).
    wait_until(Duration::from_secs(5), || d.stderr().contains("serving "));
    let stderr = d.stderr();
    let root = d.root().display().to_string();
    assert!(
        stderr.contains(&format!(
            "nobody cannot write to {root}: uploads and new folders will fail"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "nobody cannot read {}: SIGHUP will keep the old one",
            file.display()
        )),
        "{stderr}"
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", d.pid())).unwrap();
    let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uids.split_whitespace().skip(1).all(|u| u != "0"),
        "still root: {uids}"
    );
    d.put("public.txt", b"readable");
    let mut c = d.login();
    assert_eq!(c.download("RETR public.txt"), b"readable");
    // The served folder belongs to root: the operating system refuses writes.
    c.cmd_ok("MKD new", 550);
    c.cmd_ok("QUIT", 221);
    d.assert_alive();
}

#[test]
fn sighup_rereads_the_config_file_for_new_sessions() {
    let dir = TempDir::new("reload");
    let config = dir.join("pocketftpd.conf");
    std::fs::write(&config, "banner = \"before\"\n").unwrap();
    let d = Daemon::with(Options {
        extra: vec!["--config".into(), config.to_str().unwrap().into()],
        ..Options::default()
    });
    let mut old = Ctrl::connect(d.addr());
    assert_eq!(old.expect_reply(220).text(), "before");

    std::fs::write(&config, "banner = \"after\"\nidle-timeout = 600\n").unwrap();
    d.signal("HUP");
    let banner = |d: &Daemon| Ctrl::connect(d.addr()).expect_reply(220).text().to_owned();
    assert!(
        wait_until(Duration::from_secs(10), || banner(&d) == "after"),
        "{}",
        d.stderr()
    );
    old.cmd_ok("USER anonymous", 331);
    old.cmd_ok("PASS x", 230);

    std::fs::write(&config, "banner = \"broken\"\nidle-timeout = soon\n").unwrap();
    d.signal("HUP");
    assert!(wait_until(Duration::from_secs(10), || d
        .stderr()
        .contains("keeping the old settings")));
    assert!(
        d.stderr().contains(":2: idle-timeout"),
        "names the line and key: {}",
        d.stderr()
    );
    assert_eq!(banner(&d), "after");
    old.cmd_ok("NOOP", 200);
}

/// Socket activation as systemd does it (sd_listen_fds(3)): the listening
/// socket arrives as descriptor 3 with LISTEN_FDS=1 and LISTEN_PID set to
/// the daemon's own pid; the daemon serves on it and binds nothing itself.
#[test]
fn socket_activation_serves_on_the_passed_socket() {
    let root = TempDir::new("activation");
    std::fs::write(root.join("hello.txt"), b"hi").unwrap();
    let port = free_port();
    // python3 binds, puts the socket at descriptor 3, sets the variables and
    // becomes the daemon (exec keeps the pid, as systemd's fork+exec does;
    // execvp: POCKETFTPD_CMD may name its emulator without a path).
    let script = r#"
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_PID"] = str(os.getpid())
os.environ["LISTEN_FDS"] = "1"
os.execvp(sys.argv[2], sys.argv[2:])
"#;
    let mut child = Command::new("python3")
        .args(["-c", script, &port.to_string()])
        .args(daemon_argv())
        .arg("--root")
        .arg(root.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python3");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let connected = wait_until(Duration::from_secs(10), || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    });
    let mut c = connected.then(|| Ctrl::connect(addr));
    let result = c.as_mut().map(|c| {
        c.expect_reply(220);
        c.cmd_ok("USER anonymous", 331);
        c.cmd_ok("PASS x", 230);
        c.download("RETR hello.txt")
    });
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(result.as_deref(), Some(&b"hi"[..]), "{stderr}");
    assert!(
        stderr.contains("socket activation: 1 socket from systemd"),
        "{stderr}"
    );
    let listening = stderr
        .lines()
        .filter(|l| l.contains("] listening on "))
        .count();
    assert_eq!(listening, 1, "bound the default port too: {stderr}");
}
