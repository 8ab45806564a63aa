//! `--sync`: a `226` is sent only after the upload's file is synced, put in
//! place and its folder synced (issue 23), proven from the daemon's own
//! system calls, recorded with strace attached to all its threads. Under
//! `--sync all`, the `2xx` of MKD, DELE and RNTO waits for their folder's
//! sync; `--sync off` syncs nothing.

use pocketftpd_tests::syscalls::{need_strace, Call, Trace};
use pocketftpd_tests::*;

/// A daemon with `--sync WHAT` that may write, and `strace` on it; `None`
/// (skipped, or failed under CI) without strace or the right to attach.
fn traced(sync: &str) -> Option<(Daemon, Trace)> {
    if !need_strace() {
        return None;
    }
    let d = Daemon::with(Options {
        write: true,
        extra: vec!["--sync".into(), sync.into()],
        ..Options::default()
    });
    let trace = Trace::attach(d.pid());
    Some((d, trace))
}

/// The first call named one of `names` whose text holds `needle`.
fn find<'a>(calls: &'a [Call], names: &[&str], needle: &str) -> &'a Call {
    calls
        .iter()
        .find(|c| names.contains(&c.name.as_str()) && c.text.contains(needle))
        .unwrap_or_else(|| panic!("no {names:?} with {needle:?} in:\n{}", show(calls)))
}

/// The calls, one a line, for a failing test's message.
fn show(calls: &[Call]) -> String {
    let lines: Vec<String> = (calls.iter())
        .filter(|c| !(c.name == "write" && c.text.starts_with("write(2<")))
        .map(|c| format!("{:>4}-{:<4} {}", c.started, c.ended, c.text))
        .collect();
    lines.join("\n")
}

/// `first` returned before `then` started.
fn before(first: &Call, then: &Call, calls: &[Call]) {
    assert!(
        first.ended < then.started,
        "{} must return before {} starts:\n{}",
        first.text,
        then.text,
        show(calls)
    );
}

const RENAMES: &[&str] = &["rename", "renameat", "renameat2"];

/// The order for a STOR over an old file: the hidden file synced,
/// renamed over the target, the folder synced, then the `226`.
#[test]
fn the_226_follows_the_file_sync_the_rename_and_the_folder_sync() {
    let Some((d, trace)) = traced("uploads") else {
        return;
    };
    d.put("photo.jpg", b"old");
    let mut ctrl = d.login();
    ctrl.upload("STOR photo.jpg", b"the new photo");
    let calls = trace.finish();
    assert_eq!(
        std::fs::read(d.root().join("photo.jpg")).unwrap(),
        b"the new photo"
    );
    let root = d.root().to_str().unwrap().to_owned();
    let file_sync = find(&calls, &["fsync"], ".pocketftpd-upload-");
    let rename = find(&calls, RENAMES, "photo.jpg");
    let folder_sync = find(&calls, &["fsync"], &format!("<{root}>)"));
    let reply = find(&calls, &["sendto", "write"], "226 ");
    before(file_sync, rename, &calls);
    before(rename, folder_sync, &calls);
    before(folder_sync, reply, &calls);
    assert!(
        rename.text.contains(".pocketftpd-upload-"),
        "{}",
        rename.text
    );
    eprintln!("the order seen:\n{}", show(&calls));
}

/// APPE writes in place: the file and its folder are synced before the
/// `226`, and nothing is renamed.
#[test]
fn appe_syncs_the_file_and_its_folder_before_the_226() {
    let Some((d, trace)) = traced("uploads") else {
        return;
    };
    d.put("log.txt", b"one\n");
    let mut ctrl = d.login();
    ctrl.upload("APPE log.txt", b"two\n");
    let calls = trace.finish();
    assert_eq!(
        std::fs::read(d.root().join("log.txt")).unwrap(),
        b"one\ntwo\n"
    );
    let root = d.root().to_str().unwrap().to_owned();
    let file_sync = find(&calls, &["fsync"], "log.txt>");
    let folder_sync = find(&calls, &["fsync"], &format!("<{root}>)"));
    let reply = find(&calls, &["sendto", "write"], "226 ");
    before(file_sync, folder_sync, &calls);
    before(folder_sync, reply, &calls);
    assert!(!calls.iter().any(|c| RENAMES.contains(&c.name.as_str())));
}

/// `--sync all`: MKD's `257`, DELE's and RNTO's `250` each follow the
/// sync of the folder whose entry changed; RNTO between two folders syncs
/// both.
#[test]
fn sync_all_makes_folder_changes_durable_before_their_reply() {
    let Some((d, trace)) = traced("all") else {
        return;
    };
    d.put("a.txt", b"a");
    d.put("sub/keep", b"");
    let mut ctrl = d.login();
    ctrl.cmd_ok("MKD made", 257);
    ctrl.cmd_ok("DELE a.txt", 250);
    d.put("b.txt", b"b");
    ctrl.cmd_ok("RNFR b.txt", 350);
    ctrl.cmd_ok("RNTO sub/b.txt", 250);
    let calls = trace.finish();
    let root = d.root().to_str().unwrap().to_owned();
    let syncs_of = |folder: &str| -> Vec<&Call> {
        let needle = format!("<{folder}>)");
        (calls.iter())
            .filter(|c| c.name == "fsync" && c.text.contains(&needle))
            .collect()
    };
    let (top, sub) = (syncs_of(&root), syncs_of(&format!("{root}/sub")));
    assert_eq!((top.len(), sub.len()), (3, 1), "\n{}", show(&calls));
    let made = find(&calls, &["sendto", "write"], "257 ");
    let deleted = find(&calls, &["sendto", "write"], "250 Delete");
    let renamed = find(&calls, &["sendto", "write"], "250 Rename");
    before(top[0], made, &calls);
    before(made, top[1], &calls);
    before(top[1], deleted, &calls);
    before(deleted, top[2], &calls);
    before(top[2], renamed, &calls);
    before(sub[0], renamed, &calls);
}

/// `--sync off` syncs nothing (the rename still comes before the `226`),
/// and `uploads`, the default, syncs no MKD.
#[test]
fn sync_off_syncs_nothing_and_uploads_leaves_mkd_alone() {
    let Some((d, trace)) = traced("off") else {
        return;
    };
    let mut ctrl = d.login();
    ctrl.upload("STOR x.bin", b"x");
    let calls = trace.finish();
    assert!(!calls.iter().any(|c| c.name == "fsync"), "{}", show(&calls));
    before(
        find(&calls, RENAMES, "x.bin"),
        find(&calls, &["sendto", "write"], "226 "),
        &calls,
    );
    drop((ctrl, d));

    let Some((d, trace)) = traced("uploads") else {
        return;
    };
    let mut ctrl = d.login();
    ctrl.cmd_ok("MKD made", 257);
    let calls = trace.finish();
    assert!(!calls.iter().any(|c| c.name == "fsync"), "{}", show(&calls));
}

/// A big upload under `--sync uploads` is handed to the disk while it
/// arrives (`sync_file_range`, every 2 MiB), so the fsync before its `226`
/// finds little left to write; `--sync off` leaves the disk alone.
#[test]
fn a_big_upload_is_written_out_while_it_arrives() {
    let big: Vec<u8> = (0..6u32 << 20).map(|i| (i % 251) as u8).collect();
    for sync in ["uploads", "off"] {
        let Some((d, trace)) = traced(sync) else {
            return;
        };
        let mut ctrl = d.login();
        ctrl.upload("STOR big.bin", &big);
        let calls = trace.finish();
        assert!(std::fs::read(d.root().join("big.bin")).unwrap() == big);
        let early: Vec<&Call> = (calls.iter())
            .filter(|c| c.name == "sync_file_range" && c.text.contains(".pocketftpd-upload-"))
            .collect();
        if sync == "off" {
            assert!(early.is_empty(), "{}", show(&calls));
            continue;
        }
        assert!(early.len() >= 2, "{}", show(&calls));
        before(
            early[0],
            find(&calls, &["fsync"], ".pocketftpd-upload-"),
            &calls,
        );
    }
}
