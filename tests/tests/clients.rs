//! Other everyday clients: lftp (mirror both ways, active mode), wget
//! (recursive, `LIST -a`), rclone (copy into a new folder: link-count column
//! and 550 for a missing folder) and tnftp (a batch session).
//!
//! A client that is not installed skips its test with a note, except under
//! `CI`, where .ci/run installs them all and a missing one fails.

use pocketftpd_tests::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn lftp(d: &Daemon, script: &str) -> Run {
    clients::lftp(
        d.port,
        "set ssl:verify-certificate no; set ftp:ssl-allow no;",
        script,
    )
}

#[test]
fn lftp_mirror_download() {
    if !need_program("lftp") {
        return;
    }
    let d = Daemon::start();
    make_tree(&d.root().join("tree"), 51);
    let local = TempDir::new("lftp");
    lftp(
        &d,
        &format!("mirror /tree {}", local.join("tree").display()),
    );
    assert_same_tree(&local.join("tree"), &d.root().join("tree"));
}

#[test]
fn lftp_mirror_upload() {
    if !need_program("lftp") {
        return;
    }
    let d = Daemon::start_write();
    let local = TempDir::new("lftp");
    make_tree(&local.join("tree"), 52);
    // An old mtime, which lftp copies with MFMT.
    let old = std::time::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    for (rel, _) in tree_files(&local.join("tree")) {
        fs::File::options()
            .write(true)
            .open(local.join("tree").join(rel))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    lftp(
        &d,
        &format!("mirror -R {} /tree", local.join("tree").display()),
    );
    assert_same_tree(&d.root().join("tree"), &local.join("tree"));
    for (rel, _) in tree_files(&d.root().join("tree")) {
        let m = fs::metadata(d.root().join("tree").join(&rel)).unwrap();
        assert_eq!(m.modified().unwrap(), old, "{rel}: mtime not set by MFMT");
    }
}

#[test]
fn lftp_active_mode_operations() {
    if !need_program("lftp") {
        return;
    }
    let d = Daemon::start_write();
    let mut rng = Rng::new(53);
    let body = rng.bytes(300_000);
    let local = TempDir::new("lftp");
    fs::write(local.join("up.bin"), &body).unwrap();
    let run = lftp(
        &d,
        &format!(
            "set ftp:passive-mode off; put {} -o /up.bin; get /up.bin -o {}; \
             mkdir /d; mv /up.bin /d/moved.bin; cls -1 /d; rm /d/moved.bin; rmdir /d",
            local.join("up.bin").display(),
            local.join("down.bin").display()
        ),
    );
    assert_bytes_eq(
        "lftp active get",
        &fs::read(local.join("down.bin")).unwrap(),
        &body,
    );
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("moved.bin"), "cls output {out:?}");
    assert!(d.names("").is_empty(), "left behind: {:?}", d.names(""));
}

#[test]
fn wget_mirror_download() {
    if !need_program("wget") {
        return;
    }
    let d = Daemon::start();
    make_tree(&d.root().join("tree"), 61);
    let local = TempDir::new("wget");
    let run = run_bounded(
        Command::new("wget")
            // -m would keep wget's .listing files; they are not the tree's.
            .args(["-q", "-m", "--remove-listing", "-nH", "-t", "1", "-T", "15"])
            .arg("-P")
            .arg(local.path())
            .arg(format!("ftp://127.0.0.1:{}/tree/", d.port)),
        b"",
        clients::CLIENT_LIMIT,
    );
    assert!(
        run.success(),
        "wget failed ({}):\n{}",
        run.status,
        run.stderr
    );
    assert_same_tree(&local.join("tree"), &d.root().join("tree"));
}

fn rclone(d: &Daemon, conf_dir: &Path, args: &[String]) -> Run {
    let port = d.port.to_string();
    let pass = clients::rclone_obscured("x");
    let remote = [
        ("RCLONE_FTP_HOST", "127.0.0.1"),
        ("RCLONE_FTP_PORT", port.as_str()),
        ("RCLONE_FTP_USER", "anonymous"),
        ("RCLONE_FTP_PASS", pass.as_str()),
    ];
    clients::rclone(conf_dir, &remote, args)
}

#[test]
fn rclone_copy_into_a_new_folder_and_back() {
    if !need_program("rclone") {
        return;
    }
    let d = Daemon::start_write();
    let local = TempDir::new("rclone");
    make_tree(&local.join("src"), 71);
    let src = local.join("src").display().to_string();
    rclone(
        &d,
        local.path(),
        &["copy".into(), src, ":ftp:new/folder".into()],
    );
    assert_same_tree(&d.root().join("new/folder"), &local.join("src"));
    // Sizes come from the LIST link-count layout: they must be right.
    let run = rclone(&d, local.path(), &["lsl".into(), ":ftp:new/folder".into()]);
    let listing = String::from_utf8_lossy(&run.stdout);
    let line = listing
        .lines()
        .find(|l| l.ends_with("sub/deeper/big.bin"))
        .unwrap_or_else(|| panic!("rclone lsl lacks big.bin: {listing}"));
    assert_eq!(line.split_whitespace().next(), Some("1048579"), "{line}");
    let back = local.join("back").display().to_string();
    rclone(
        &d,
        local.path(),
        &["copy".into(), ":ftp:new/folder".into(), back],
    );
    assert_same_tree(&local.join("back"), &local.join("src"));
}

#[test]
fn lftp_segmented_download_and_long_listing() {
    if !need_program("lftp") {
        return;
    }
    let d = Daemon::start();
    let body = Rng::new(67).bytes((2 << 20) + 4321);
    let put = d.put("seg.bin", &body);
    fs::set_permissions(&put, fs::Permissions::from_mode(0o640)).unwrap();
    let local = TempDir::new("lftp-pget");
    let run = lftp(
        &d,
        &format!(
            "pget -n 4 /seg.bin -o {}; cls -l /",
            local.join("seg.bin").display()
        ),
    );
    assert_bytes_eq(
        "pget -n 4",
        &fs::read(local.join("seg.bin")).unwrap(),
        &body,
    );
    let out = String::from_utf8_lossy(&run.stdout);
    let line = out
        .lines()
        .find(|l| l.ends_with("seg.bin"))
        .unwrap_or_else(|| panic!("cls -l: {out:?}"));
    // lftp reads MLSD: its UNIX.mode fact is the mode shown.
    assert!(
        line.starts_with("-rw-r----- ") && line.contains(&body.len().to_string()),
        "{line}"
    );
}

#[test]
fn rclone_check_lsf_moveto_purge() {
    if !need_program("rclone") {
        return;
    }
    let d = Daemon::start_write();
    let local = TempDir::new("rclone-ops");
    make_tree(&local.join("src"), 73);
    let src = local.join("src").display().to_string();
    rclone(
        &d,
        local.path(),
        &["copy".into(), src.clone(), ":ftp:t".into()],
    );
    rclone(&d, local.path(), &["check".into(), src, ":ftp:t".into()]);
    let listed = rclone(
        &d,
        local.path(),
        &["lsf".into(), "-R".into(), ":ftp:t".into()],
    );
    let mut want: Vec<String> = tree_files(&local.join("src"))
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let mut got: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|l| !l.ends_with('/'))
        .map(str::to_owned)
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "rclone lsf -R");
    let (first, _) = tree_files(&local.join("src")).remove(0);
    rclone(
        &d,
        local.path(),
        &[
            "moveto".into(),
            format!(":ftp:t/{first}"),
            ":ftp:moved.bin".into(),
        ],
    );
    assert!(d.root().join("moved.bin").is_file() && !d.root().join("t").join(&first).exists());
    rclone(&d, local.path(), &["purge".into(), ":ftp:t".into()]);
    assert_eq!(d.names(""), ["moved.bin"]);
}

#[test]
fn tnftp_batch_session() {
    if !need_program("tnftp") {
        return;
    }
    let d = Daemon::start_write();
    let mut rng = Rng::new(81);
    let body = rng.bytes(200_000);
    let local = TempDir::new("tnftp");
    fs::write(local.join("t.bin"), &body).unwrap();
    let script = format!(
        "user anonymous x\nbinary\nput {up} t.bin\nget t.bin {down}\nls\nmkdir d\nrmdir d\nquit\n",
        up = local.join("t.bin").display(),
        down = local.join("t2.bin").display()
    );
    let run = run_bounded(
        Command::new("tnftp")
            .arg("-n")
            .arg("-p")
            .arg("127.0.0.1")
            .arg(d.port.to_string()),
        script.as_bytes(),
        clients::CLIENT_LIMIT,
    );
    assert!(
        run.success(),
        "tnftp failed ({}):\n{}",
        run.status,
        run.stderr
    );
    assert_bytes_eq(
        "tnftp put",
        &fs::read(d.root().join("t.bin")).unwrap(),
        &body,
    );
    assert_bytes_eq("tnftp get", &fs::read(local.join("t2.bin")).unwrap(), &body);
    assert_eq!(d.names(""), ["t.bin"]);
}
