//! The bucket as the tests' own client sees it: the daemon's S3 back-end,
//! opened on a `weed mini`'s gateway (`s3.rs`, `s3_ftp.rs`). A file of
//! `tests/tests/shared/`, which cargo does not take for a test target.

#![allow(dead_code)] // each test file uses some of it

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use pocketftp_core::VirtualPath;
use pocketftpd::storage::s3::{Keys, Location, S3Config, S3Request, Store};
use pocketftpd_tests::{wait_until, Ctrl, Options, Rng, Weed, WEED_KEY, WEED_SECRET};

/// The store at `location` (`s3://BUCKET[/PREFIX]`), signing with the
/// gateway's key and `secret` (a wrong one, for the refusal tests).
pub fn open(weed: &Weed, secret: &str, location: &str) -> Store {
    let config = S3Config {
        location: Location::parse(location).unwrap(),
        endpoint: weed.s3_endpoint.clone(),
        region: "us-east-1".into(),
        path_style: true,
        keys: Keys {
            id: WEED_KEY.into(),
            secret: secret.into(),
        },
        ca: None,
    };
    Store::open(&config).unwrap()
}

/// A daemon's options to serve `location` of the store at `endpoint` (the
/// gateway's, or a proxy's before it), with write access.
pub fn serve_options(endpoint: &str, location: &str) -> Options {
    let extra = [
        "--storage",
        location,
        "--s3-endpoint",
        endpoint,
        "--s3-path-style",
    ];
    Options {
        write: true,
        extra: extra.map(str::to_owned).to_vec(),
        env: vec![
            ("AWS_ACCESS_KEY_ID".into(), WEED_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), WEED_SECRET.into()),
        ],
        ..Options::default()
    }
}

/// `request` with `body`, answered: its status and body.
pub fn send(store: &Store, request: &S3Request, body: &[u8]) -> (u16, Vec<u8>) {
    let exchange = request.exchange(body, 64 << 20).unwrap();
    let (head, body) = store
        .endpoint()
        .exchange_now(exchange, Duration::from_secs(30))
        .unwrap();
    (head.status, body)
}

/// `path` of the store holds `bytes` (a PUT that must succeed).
pub fn put(store: &Store, path: &str, bytes: &[u8]) {
    let path = VirtualPath::resolve(&VirtualPath::root(), path).unwrap();
    assert_eq!(send(store, &store.put(&path, false).unwrap(), bytes).0, 200);
}

/// `path`'s bytes, or `None` if there is no such object.
pub fn get(store: &Store, path: &str) -> Option<Vec<u8>> {
    let path = VirtualPath::resolve(&VirtualPath::root(), path).unwrap();
    match send(store, &store.get(&path, 0).unwrap(), b"") {
        (200, body) => Some(body),
        (404, _) => None,
        (status, _) => panic!("GET {path}: {status}"),
    }
}

/// The keys of the multipart uploads begun and neither completed nor
/// aborted, in the whole bucket.
pub fn pending_uploads(store: &Store) -> Vec<String> {
    let (status, body) = send(store, &store.list_uploads().unwrap(), b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let xml = String::from_utf8_lossy(&body);
    (xml.split("<Key>").skip(1))
        .filter_map(|rest| rest.split("</Key>").next())
        .map(str::to_owned)
        .collect()
}

/// `STOR name` of 12 MiB begun through `c` and left under way: past a part
/// (8 MiB), so a multipart upload is pending in `store` when it returns.
/// The data connection, to break it with.
pub fn multipart_stor_under_way(store: &Store, c: &mut Ctrl, name: &str) -> TcpStream {
    let mut data = c.begin_transfer(&format!("STOR {name}"));
    let piece = Rng::new(6).bytes(1 << 20);
    for _ in 0..12 {
        data.write_all(&piece).unwrap();
    }
    let began = wait_until(Duration::from_secs(30), || {
        !pending_uploads(store).is_empty()
    });
    assert!(began, "no multipart upload began");
    data
}
