//! The S3 back-end against a real SeaweedFS (`weed mini`), below the FTP
//! layer: the daemon's own requests (signed with rusty-s3), carried by its
//! own HTTP client over mio, answers read by its own parsers. What the
//! store accepts and answers here is what the loop will meet.

use std::time::Duration;

use pocketftp_core::{Action, ErrorKind, Event, FileKind, VirtualPath};
use pocketftpd::http::ResponseHead;
use pocketftpd::storage::error_kind::kind_of;
use pocketftpd::storage::s3::file_ops::{FileOp, Next};
use pocketftpd::storage::s3::upload::PART_SIZE;
use pocketftpd::storage::s3::{listing, reply, S3Request, Store};
use pocketftpd_tests::{Weed, WEED_BUCKET, WEED_SECRET};

#[path = "shared/store.rs"]
mod store;
use store::open;

/// One request's whole answer, at most this long.
const MAX_BODY: usize = 16 << 20;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends `request` with `body` over the daemon's HTTP client (in a poll of
/// its own), and returns the answer.
fn send(store: &Store, request: &S3Request, body: &[u8]) -> (ResponseHead, Vec<u8>) {
    let exchange = request.exchange(body, MAX_BODY).unwrap();
    (store.endpoint().exchange_now(exchange, REQUEST_TIMEOUT))
        .unwrap_or_else(|e| panic!("{}: {e}", request.describe()))
}

/// Carries out a file action's whole conversation.
fn act(store: &Store, action: Action) -> Event {
    let (mut op, mut request) = match FileOp::start(store, action) {
        Ok(started) => started,
        Err(event) => return event,
    };
    loop {
        let (head, body) = send(store, &request, b"");
        match op.answer(store, &head, &body) {
            Next::Send(next) => request = next,
            Next::Done(event) => return event,
            Next::Failed(e) => return Event::Failed(kind_of(&e)),
        }
    }
}

fn vp(path: &str) -> VirtualPath {
    VirtualPath::resolve(&VirtualPath::root(), path).unwrap()
}

fn put(store: &Store, path: &str, bytes: &[u8]) -> u16 {
    send(store, &store.put(&vp(path), false).unwrap(), bytes)
        .0
        .status
}

fn get(store: &Store, path: &str, offset: u64) -> (u16, Vec<u8>) {
    let (head, body) = send(store, &store.get(&vp(path), offset).unwrap(), b"");
    (head.status, body)
}

fn names(store: &Store, path: &str) -> Vec<(String, FileKind)> {
    let (head, body) = send(store, &store.list(&vp(path), None, 1000).unwrap(), b"");
    assert_eq!(head.status, 200);
    let folder = store.prefix().folder_at(&vp(path));
    let page = listing::parse(&body, &folder).unwrap();
    let mut names: Vec<_> = (page.entries.into_iter())
        .map(|(name, meta)| (name, meta.kind))
        .collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    names
}

#[test]
fn objects_go_in_come_out_and_go() {
    let Some(weed) = Weed::s3_only() else { return };
    let store = open(&weed, WEED_SECRET, &format!("s3://{WEED_BUCKET}/ftp"));

    assert_eq!(put(&store, "/a b.txt", b"hello world"), 200);
    assert_eq!(get(&store, "/a b.txt", 0), (200, b"hello world".to_vec()));
    assert_eq!(get(&store, "/a b.txt", 6), (206, b"world".to_vec()));
    let Event::Metadata(meta) = act(&store, Action::Stat(vp("/a b.txt"))) else {
        panic!("no metadata");
    };
    assert_eq!((meta.kind, meta.size), (FileKind::File, 11));
    let age = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH))
        .unwrap()
        .as_secs() as i64
        - meta.modified;
    assert!((-5..300).contains(&age), "modified {age} s ago");

    // Folders: a marker, refused twice; a listing shows it as a folder.
    assert_eq!(act(&store, Action::MakeDir(vp("/dir"))), Event::Done);
    let twice = act(&store, Action::MakeDir(vp("/dir")));
    assert_eq!(twice, Event::Failed(ErrorKind::AlreadyExists));
    // The upload role's new-only rule: If-None-Match: *.
    let new_only = store.put(&vp("/a b.txt"), true).unwrap();
    assert_eq!(send(&store, &new_only, b"other").0.status, 412);
    assert_eq!(get(&store, "/a b.txt", 0).1, b"hello world");
    assert_eq!(put(&store, "/dir/b.txt", b"bee"), 200);
    assert_eq!(
        names(&store, "/"),
        [
            ("a b.txt".into(), FileKind::File),
            ("dir".into(), FileKind::Dir)
        ]
    );
    assert_eq!(names(&store, "/dir"), [("b.txt".into(), FileKind::File)]);
    let dir = act(&store, Action::Stat(vp("/dir")));
    assert!(matches!(dir, Event::Metadata(m) if m.kind == FileKind::Dir));
    let full = act(&store, Action::RemoveDir(vp("/dir")));
    assert_eq!(full, Event::Failed(ErrorKind::DirectoryNotEmpty));

    // Rename: copy and delete; the folder then empties and goes.
    let rename = Action::Rename {
        from: vp("/dir/b.txt"),
        to: vp("/c.txt"),
    };
    assert_eq!(act(&store, rename), Event::Done);
    assert_eq!(get(&store, "/c.txt", 0), (200, b"bee".to_vec()));
    assert_eq!(get(&store, "/dir/b.txt", 0).0, 404);
    assert_eq!(act(&store, Action::RemoveDir(vp("/dir"))), Event::Done);
    let gone = act(&store, Action::Stat(vp("/dir")));
    assert_eq!(gone, Event::Failed(ErrorKind::NotFound));

    // DELE: once, then "not found" as on a disk.
    assert_eq!(act(&store, Action::Delete(vp("/c.txt"))), Event::Done);
    let again = act(&store, Action::Delete(vp("/c.txt")));
    assert_eq!(again, Event::Failed(ErrorKind::NotFound));
    assert_eq!(names(&store, "/"), [("a b.txt".into(), FileKind::File)]);

    // The prefix confines: the same key seen from the bucket's top.
    let top = open(&weed, WEED_SECRET, &format!("s3://{WEED_BUCKET}"));
    assert_eq!(names(&top, "/"), [("ftp".into(), FileKind::Dir)]);

    // A wrong secret: 403, a "permission denied" for the session.
    let wrong = open(&weed, "not-the-secret", &format!("s3://{WEED_BUCKET}/ftp"));
    let refused = act(&wrong, Action::Stat(vp("/a b.txt")));
    assert_eq!(refused, Event::Failed(ErrorKind::PermissionDenied));
}

#[test]
fn large_uploads_go_in_parts() {
    let Some(weed) = Weed::s3_only() else { return };
    let store = open(&weed, WEED_SECRET, &format!("s3://{WEED_BUCKET}"));
    let path = vp("/big.bin");

    let (head, body) = send(&store, &store.create_multipart(&path).unwrap(), b"");
    assert_eq!(head.status, 200, "{}", String::from_utf8_lossy(&body));
    let upload = reply::upload_id(&body).unwrap();
    let first: Vec<u8> = (0..PART_SIZE).map(|i| (i % 251) as u8).collect();
    let mut etags = Vec::new();
    for (number, bytes) in [(1, &first[..]), (2, &b"tail"[..])] {
        let part = store.upload_part(&path, &upload, number).unwrap();
        let (head, _) = send(&store, &part, bytes);
        assert_eq!(head.status, 200);
        let etag = head.header("etag").expect("a part's ETag");
        etags.push(String::from_utf8(etag.to_vec()).unwrap());
    }
    // Not there until complete.
    assert_eq!(get(&store, "/big.bin", 0).0, 404);
    let body = reply::complete_body(&etags);
    let complete = store.complete(&path, &upload, false).unwrap();
    let (head, answer) = send(&store, &complete, body.as_bytes());
    assert_eq!(head.status, 200, "{}", String::from_utf8_lossy(&answer));
    let (status, whole) = get(&store, "/big.bin", PART_SIZE as u64 - 2);
    assert_eq!(status, 206);
    assert_eq!(
        whole,
        [
            first[PART_SIZE - 2],
            first[PART_SIZE - 1],
            b't',
            b'a',
            b'i',
            b'l'
        ]
    );

    // An aborted upload leaves nothing.
    let (_, body) = send(
        &store,
        &store.create_multipart(&vp("/no.bin")).unwrap(),
        b"",
    );
    let upload = reply::upload_id(&body).unwrap();
    let part = store.upload_part(&vp("/no.bin"), &upload, 1).unwrap();
    assert_eq!(send(&store, &part, b"half").0.status, 200);
    let abort = store.abort(&vp("/no.bin"), &upload).unwrap();
    assert_eq!(send(&store, &abort, b"").0.status, 204);
    assert_eq!(get(&store, "/no.bin", 0).0, 404);
}
#[test]
fn listings_come_a_page_at_a_time() {
    let Some(weed) = Weed::s3_only() else { return };
    let store = open(&weed, WEED_SECRET, &format!("s3://{WEED_BUCKET}"));
    for name in ["/p/1", "/p/2", "/p/3/x"] {
        assert_eq!(put(&store, name, b"."), 200);
    }
    let folder = store.prefix().folder_at(&vp("/p"));
    let (mut token, mut seen) = (None, Vec::new());
    loop {
        let list = store.list(&vp("/p"), token.as_deref(), 2).unwrap();
        let (head, body) = send(&store, &list, b"");
        assert_eq!(head.status, 200);
        let page = listing::parse(&body, &folder).unwrap();
        assert!(page.entries.len() <= 2);
        seen.extend(page.entries.into_iter().map(|(name, m)| (name, m.kind)));
        token = page.next;
        if token.is_none() {
            break;
        }
    }
    let want = [
        ("1", FileKind::File),
        ("2", FileKind::File),
        ("3", FileKind::Dir),
    ];
    let want: Vec<_> = want.iter().map(|(n, k)| (n.to_string(), *k)).collect();
    assert_eq!(seen, want);
}
