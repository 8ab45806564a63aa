//! Two daemons serving one bucket (issue 26: Part 1's multi-node test,
//! for the S3 back-end): what one uploads the other lists and serves at
//! once (a bucket has no caches to wait for); two uploads of one name at
//! once leave one whole object; a daemon killed mid-upload leaves the old
//! object (its parts stay as a pending multipart upload: no process is
//! left to abort them, see `storage/s3/aborts.rs`).

use std::time::Duration;

use pocketftpd_tests::*;

#[path = "shared/store.rs"]
mod store;
use store::{get, multipart_stor_under_way, pending_uploads, put, serve_options};

const LOCATION: &str = "s3://photos/archive";

#[test]
fn two_daemons_serve_one_bucket() {
    let Some(weed) = Weed::s3_only() else { return };
    let store = store::open(&weed, WEED_SECRET, LOCATION);
    let boards = [(); 2].map(|()| Daemon::with(serve_options(&weed.s3_endpoint, LOCATION)));
    let mut rng = Rng::new(26);
    let photo = rng.bytes(3 << 20);
    let mut a = boards[0].login();
    let mut b = boards[1].login();
    a.cmd_ok("TYPE I", 200);
    b.cmd_ok("TYPE I", 200);
    a.upload("STOR photo.jpg", &photo);
    assert_eq!(sorted_lines(&b.download("NLST")), ["photo.jpg"]);
    assert_bytes_eq("photo.jpg through b", &b.download("RETR photo.jpg"), &photo);

    // Both at once, each a multipart upload (two parts and a bit): the
    // object is one of them, whole.
    let both = [rng.bytes(17 << 20), rng.bytes(17 << 20)];
    std::thread::scope(|s| {
        for (board, bytes) in boards.iter().zip(&both) {
            s.spawn(move || {
                let mut c = board.login();
                c.cmd_ok("TYPE I", 200);
                c.upload("STOR same.bin", bytes);
            });
        }
    });
    let won = get(&store, "/same.bin").unwrap();
    assert!(
        won == both[0] || won == both[1],
        "same.bin is neither whole upload"
    );
    assert_bytes_eq("same.bin through a", &a.download("RETR same.bin"), &won);
    assert!(pending_uploads(&store).is_empty());
}

#[test]
fn a_daemon_killed_mid_upload_leaves_the_old_object() {
    let Some(weed) = Weed::s3_only() else { return };
    let store = store::open(&weed, WEED_SECRET, LOCATION);
    put(&store, "/big.bin", b"the old object");
    let mut killed = Daemon::with(serve_options(&weed.s3_endpoint, LOCATION));
    let other = Daemon::with(serve_options(&weed.s3_endpoint, LOCATION));
    let mut c = killed.login();
    let data = multipart_stor_under_way(&store, &mut c, "big.bin");
    killed.signal("KILL");
    killed.wait_exit(Duration::from_secs(10));
    drop(data);
    let mut b = other.login();
    b.cmd_ok("TYPE I", 200);
    assert_eq!(b.download("RETR big.bin"), b"the old object");
    assert_eq!(
        get(&store, "/big.bin").as_deref(),
        Some(&b"the old object"[..])
    );
}
