//! Several daemons on one store (issue 26, part 1): two "boards", each with
//! its own `weed mount` of one SeaweedFS filer and its own daemon
//! (`--node-id a`, `--node-id b`: on one machine the default, the host
//! name, would be the same for both), driven by real clients.
//!
//! What a shared mount changes: `flock` is per mount, so a board cannot
//! see another board's lock on an upload file; only the node id in the
//! file's name tells a start-up sweep whose it is (`storage/node.rs`).
//! Measured here (`weed` 4.48): a file one board writes is visible to the
//! other only once closed (or fsynced), then within milliseconds.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pocketftpd_tests::*;

/// One store, two boards, a daemon on each.
struct Boards {
    a: Daemon,
    b: Daemon,
    /// The daemons' options (to restart one).
    options: [Options; 2],
    mounts: [Mount; 2],
    _weed: Weed,
    dir: TempDir,
}

impl Boards {
    fn start(label: &str) -> Boards {
        let dir = TempDir::new(label);
        let weed = Weed::start(dir.path());
        let mounts = [weed.mount(&dir.join("a")), weed.mount(&dir.join("b"))];
        fs::create_dir(mounts[0].join("archive")).unwrap();
        let options = ["a", "b"].map(|node| board(&mounts, node));
        let a = Daemon::with(options[0].clone());
        let b = Daemon::with(options[1].clone());
        Boards {
            a,
            b,
            options,
            mounts,
            _weed: weed,
            dir,
        }
    }

    /// The shared folder as board `i` sees it.
    fn archive(&self, i: usize) -> PathBuf {
        self.mounts[i].join("archive")
    }
}

/// The options of the daemon of board `node` ("a": the first mount).
fn board(mounts: &[Mount; 2], node: &str) -> Options {
    let mount = &mounts[usize::from(node == "b")];
    Options {
        root: Some(mount.join("archive")),
        extra: ["--write", "--node-id", node].map(String::from).to_vec(),
        ..Options::default()
    }
}

fn curl(args: &[&str]) -> Run {
    let run = run_bounded(
        Command::new("curl")
            .args(["-sS", "--max-time", "60"])
            .args(args),
        b"",
        Duration::from_secs(90),
    );
    assert!(run.success(), "curl {args:?}: {}", run.stderr);
    run
}

fn url(d: &Daemon, name: &str) -> String {
    format!("ftp://127.0.0.1:{}/{name}", d.port)
}

/// The upload files in a folder, as a board sees it.
fn upload_files(folder: &Path) -> Vec<String> {
    dir_names(folder)
        .into_iter()
        .filter(|n| n.starts_with(".pocketftpd-upload-"))
        .collect()
}

/// Upload through one board, list and download through the other (curl);
/// the time until the other board lists the file is printed. Then both
/// boards take one name at once: one whole file wins, nothing is left.
#[test]
fn two_boards_serve_one_store() {
    if !need_weed() || !need_program("curl") {
        return;
    }
    let boards = Boards::start("boards");
    let mut rng = Rng::new(26);
    let photo = rng.bytes(1 << 20);
    let local = boards.dir.join("photo.jpg");
    fs::write(&local, &photo).unwrap();
    curl(&["-T", local.to_str().unwrap(), &url(&boards.a, "photo.jpg")]);
    let uploaded = Instant::now();
    let mut other = boards.b.login();
    let seen = wait_until(Duration::from_secs(10), || {
        sorted_lines(&other.download("NLST")).contains(&"photo.jpg".to_owned())
    });
    assert!(seen, "b never listed a's upload");
    eprintln!(
        "visible on the other board (NLST) {:?} after a's 226",
        uploaded.elapsed()
    );
    let listing = curl(&["--list-only", &url(&boards.b, "")]);
    assert_eq!(String::from_utf8_lossy(&listing.stdout).trim(), "photo.jpg");
    let back = curl(&[&url(&boards.b, "photo.jpg")]);
    assert_bytes_eq("photo.jpg through b", &back.stdout, &photo);

    let both = [rng.bytes(2 << 20), rng.bytes(2 << 20)];
    let sources = [0, 1].map(|i| {
        let path = boards.dir.join(format!("same-{i}"));
        fs::write(&path, &both[i]).unwrap();
        path
    });
    let targets = [url(&boards.a, "same.bin"), url(&boards.b, "same.bin")];
    std::thread::scope(|s| {
        for (source, target) in sources.iter().zip(&targets) {
            s.spawn(move || curl(&["-T", source.to_str().unwrap(), target]));
        }
    });
    let won = curl(&[&url(&boards.b, "same.bin")]).stdout;
    assert!(
        won == both[0] || won == both[1],
        "same.bin is neither whole upload"
    );
    assert_eq!(fs::read(boards.archive(0).join("same.bin")).unwrap(), won);
    assert_eq!(upload_files(&boards.archive(1)), Vec::<String>::new());
}

/// A file held as board b holds a live upload: created through b's mount
/// under b's node id, locked there, and flushed so that a can see it
/// (`weed mount` shows an open file to other boards only once flushed).
fn held_by_b(boards: &Boards) -> (PathBuf, fs::File) {
    let name = ".pocketftpd-upload-b@1-2-3";
    let mut file = fs::File::create(boards.archive(1).join(name)).unwrap();
    file.lock().unwrap();
    file.write_all(b"live").unwrap();
    file.sync_all().unwrap();
    let seen_by_a = boards.archive(0).join(name);
    assert!(wait_until(Duration::from_secs(10), || seen_by_a.exists()));
    (seen_by_a, file)
}

/// Board a is killed mid-upload and restarted: its sweep removes its own
/// leftover, keeps b's upload file, and b's upload running meanwhile
/// completes. A sweep that trusted locks (`--sweep-foreign-after 0`)
/// would take b's file although b holds its lock: locks are per board.
#[test]
fn a_restarted_board_sweeps_its_own_leftovers_only() {
    if !need_weed() {
        return;
    }
    let mut boards = Boards::start("restart");
    let (b_file, _b_lock) = held_by_b(&boards);
    let mut rng = Rng::new(27);
    let b_bytes = rng.bytes(1 << 20);
    let mut b_ctrl = boards.b.login();
    let mut b_data = b_ctrl.begin_transfer("STOR from-b.bin");
    b_data.write_all(&b_bytes[..1000]).unwrap();

    let mut a_ctrl = boards.a.login();
    let mut a_data = a_ctrl.begin_transfer("STOR from-a.bin");
    a_data.write_all(&rng.bytes(1 << 20)).unwrap();
    a_data.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    boards.a.signal("KILL");
    boards.a.wait_exit(Duration::from_secs(10));
    drop((a_data, a_ctrl));
    let (a_sees, b_sees) = (boards.archive(0), boards.archive(1));
    let left = |folder: &Path| -> Vec<String> {
        upload_files(folder)
            .into_iter()
            .filter(|n| n.starts_with(".pocketftpd-upload-a@"))
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(10), || left(&b_sees).len() == 1),
        "a's leftover: {:?}",
        upload_files(&b_sees)
    );

    boards.a = Daemon::with(boards.options[0].clone());
    let log = boards.a.stderr();
    assert!(log.contains("removed 1 stale upload file"), "{log}");
    assert!(log.contains("kept 1 upload file of other nodes"), "{log}");
    assert_eq!(left(&a_sees), Vec::<String>::new());
    assert!(b_file.exists(), "a's sweep took b's file");

    b_data.write_all(&b_bytes[1000..]).unwrap();
    b_data.shutdown(std::net::Shutdown::Write).ok();
    drop(b_data);
    b_ctrl.expect_reply(226);
    let got = boards.a.login().download("RETR from-b.bin");
    assert_bytes_eq("b's upload, read through a", &got, &b_bytes);

    boards.a.signal("KILL");
    boards.a.wait_exit(Duration::from_secs(10));
    let mut trusting = boards.options[0].clone();
    trusting
        .extra
        .extend(["--sweep-foreign-after".into(), "0".into()]);
    boards.a = Daemon::with(trusting);
    assert!(!b_file.exists(), "a lock taken through b stops a's sweep");
}
