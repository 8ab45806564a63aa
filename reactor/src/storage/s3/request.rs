//! Every request the back-end sends, built and signed here and nowhere
//! else: one constructor per S3 operation, each a value (method, signed
//! URL, headers, body length) that the HTTP client writes as it is.
//!
//! rusty-s3 signs (AWS Signature V4, query-string form: the signature
//! travels in the URL, so a body is never hashed and a part streams as it
//! arrives); every `x-amz-*` header and `If-None-Match` are signed with
//! it, as S3 requires of them. `Range` and `Content-Length` are not.

use std::io;
use std::rc::Rc;
use std::time::Duration;

use jiff::Timestamp;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use pocketftp_core::VirtualPath;
use rusty_s3::{Bucket, Credentials, Method};
use url::Url;

use super::aborts::Aborts;
use super::config::S3Config;
use super::endpoint::Endpoint;
use super::keys::Prefix;
use super::signed::S3Request;

/// How long a signature holds. A request is sent as soon as it is signed;
/// the margin covers a long part upload and clocks a little apart (S3
/// checks the start of a request, not its end).
const SIGNATURE_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Keys in a listing page: S3's own most, so a page is one bounded reply
/// (about 300 bytes of XML a key: some 300 KiB).
pub const LIST_PAGE_KEYS: u16 = 1000;

/// What a copy's source names: a key written into a header, every byte but
/// the unreserved ones and `/` escaped.
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The bucket, the keys and the prefix a session's requests are built
/// for, and where they go.
#[derive(Debug, Clone)]
pub struct Store {
    signer: Rc<Signer>,
    prefix: Prefix,
}

/// What every session's store shares.
#[derive(Debug)]
struct Signer {
    bucket: Bucket,
    keys: Credentials,
    endpoint: Endpoint,
    /// Broken uploads' aborts, waiting for the loop to send them.
    aborts: Aborts,
}

/// A request's query pairs.
type Query<'a> = &'a [(&'a str, &'a str)];
/// A request's signed headers.
type Signed<'a> = &'a [(&'static str, &'a str)];

impl Store {
    pub fn new(bucket: Bucket, keys: Credentials, prefix: Prefix, endpoint: Endpoint) -> Store {
        let signer = Signer {
            bucket,
            keys,
            endpoint,
            aborts: Aborts::default(),
        };
        Store {
            signer: Rc::new(signer),
            prefix,
        }
    }

    /// The store `config` describes, its endpoint resolved (start-up: it
    /// blocks on DNS).
    pub fn open(config: &S3Config) -> Result<Store, String> {
        let (bucket, keys) = config.signer()?;
        let endpoint = Endpoint::resolve(&config.endpoint, config.ca.as_deref())?;
        let signer = Signer {
            bucket,
            keys,
            aborts: Aborts::default(),
            endpoint,
        };
        Ok(Store {
            signer: Rc::new(signer),
            prefix: config.location.prefix.clone(),
        })
    }

    /// The multipart upload `upload` of `path` broke: it is aborted by
    /// the daemon (`aborts.rs`), after its session if need be, so its
    /// parts go.
    pub fn abandon(&self, path: &VirtualPath, upload: &str) {
        match self.abort(path, upload) {
            Ok(abort) => self.signer.aborts.send(abort),
            Err(e) => log::warn!("cannot abort the upload of {path}: {e}"),
        }
    }

    /// The broken uploads' aborts waiting to be sent.
    pub fn aborts(&self) -> &Aborts {
        &self.signer.aborts
    }

    /// Where its requests go.
    pub fn endpoint(&self) -> &Endpoint {
        &self.signer.endpoint
    }

    /// The folder `path` as a store of its own: a user's home.
    pub fn home(&self, path: &VirtualPath) -> Store {
        Store {
            signer: Rc::clone(&self.signer),
            prefix: self.prefix.folder_at(path),
        }
    }

    /// `s3://BUCKET/KEY`: the object at `path`, as a hook is told of it
    /// (`aws s3 cp`, `rclone` and `mc` take that form; the key as it is,
    /// not escaped). `None` for the root, which is no object.
    pub fn address(&self, path: &VirtualPath) -> Option<String> {
        let key = self.object_key(path).ok()?;
        Some(format!("s3://{}/{key}", self.signer.bucket.name()))
    }

    pub fn prefix(&self) -> &Prefix {
        &self.prefix
    }

    /// Start-up's check: the bucket is there and these keys may use it.
    pub fn check_bucket(&self) -> io::Result<S3Request> {
        let url = self.signer.bucket.base_url().clone();
        self.signed(Method::Head, url, &[], &[])
    }

    /// RETR: the object from `offset` (REST's) on.
    pub fn get(&self, path: &VirtualPath, offset: u64) -> io::Result<S3Request> {
        let mut request = self.object(Method::Get, path, &[], &[])?;
        if offset > 0 {
            request.headers.push(("Range", format!("bytes={offset}-")));
        }
        Ok(request)
    }

    /// A download's GET: bytes `first` to `last`, both included.
    pub fn get_range(&self, path: &VirtualPath, first: u64, last: u64) -> io::Result<S3Request> {
        let mut request = self.object(Method::Get, path, &[], &[])?;
        request
            .headers
            .push(("Range", format!("bytes={first}-{last}")));
        Ok(request)
    }

    /// SIZE, MDTM, and a transfer's first look: the object's size and time.
    pub fn head(&self, path: &VirtualPath) -> io::Result<S3Request> {
        self.object(Method::Head, path, &[], &[])
    }

    /// STOR in one request; `new_only` (the upload role)
    /// fails it with `412` if the key exists when it completes.
    pub fn put(&self, path: &VirtualPath, new_only: bool) -> io::Result<S3Request> {
        let headers: Signed = if new_only {
            &[("if-none-match", "*")]
        } else {
            &[]
        };
        self.object(Method::Put, path, &[], headers)
    }

    /// MKD: the empty marker `path/`, only where none is.
    pub fn make_folder(&self, path: &VirtualPath) -> io::Result<S3Request> {
        let key = self.prefix.folder_at(path);
        self.key(Method::Put, key.as_str(), &[], &[("if-none-match", "*")])
    }

    /// RMD of an empty folder: its marker.
    pub fn remove_folder(&self, path: &VirtualPath) -> io::Result<S3Request> {
        let key = self.prefix.folder_at(path);
        self.key(Method::Delete, key.as_str(), &[], &[])
    }

    /// DELE.
    pub fn delete(&self, path: &VirtualPath) -> io::Result<S3Request> {
        self.object(Method::Delete, path, &[], &[])
    }

    /// RNTO's first half: `to` as a server-side copy of `from` (up to 5 GiB).
    pub fn copy(&self, from: &VirtualPath, to: &VirtualPath) -> io::Result<S3Request> {
        let source = format!(
            "/{}/{}",
            self.signer.bucket.name(),
            utf8_percent_encode(&self.object_key(from)?, COPY_SOURCE)
        );
        self.object(Method::Put, to, &[], &[("x-amz-copy-source", &source)])
    }

    /// One page of the folder `path`: its objects and its sub-folders (the
    /// common prefixes), from `token` (the last page's) on, `max_keys` at
    /// most ([`LIST_PAGE_KEYS`] for a listing; a check for what a folder
    /// holds asks for fewer).
    pub fn list(
        &self,
        path: &VirtualPath,
        token: Option<&str>,
        max_keys: u16,
    ) -> io::Result<S3Request> {
        let prefix = self.prefix.folder_at(path);
        let keys = max_keys.min(LIST_PAGE_KEYS).to_string();
        let mut query = vec![
            ("list-type", "2"),
            ("delimiter", "/"),
            ("encoding-type", "url"),
            ("max-keys", keys.as_str()),
            ("prefix", prefix.as_str()),
        ];
        query.extend(token.map(|t| ("continuation-token", t)));
        let url = self.signer.bucket.base_url().clone();
        self.signed(Method::Get, url, &query, &[])
    }

    /// A large STOR: its upload id comes back in XML.
    pub fn create_multipart(&self, path: &VirtualPath) -> io::Result<S3Request> {
        self.object(Method::Post, path, &[("uploads", "")], &[])
    }

    /// Part `number` (from 1).
    pub fn upload_part(
        &self,
        path: &VirtualPath,
        upload: &str,
        number: u16,
    ) -> io::Result<S3Request> {
        let number = number.to_string();
        let query = [("partNumber", number.as_str()), ("uploadId", upload)];
        self.object(Method::Put, path, &query, &[])
    }

    /// The upload appears: its body (`complete_body`) lists the parts;
    /// `new_only` (the upload role) fails it with `412` if the key exists.
    pub fn complete(
        &self,
        path: &VirtualPath,
        upload: &str,
        new_only: bool,
    ) -> io::Result<S3Request> {
        let headers: Signed = if new_only {
            &[("if-none-match", "*")]
        } else {
            &[]
        };
        self.object(Method::Post, path, &[("uploadId", upload)], headers)
    }

    /// ListMultipartUploads: the uploads begun and neither completed nor
    /// aborted (what a broken upload must not leave; the tests look).
    pub fn list_uploads(&self) -> io::Result<S3Request> {
        let url = self.signer.bucket.base_url().clone();
        self.signed(Method::Get, url, &[("uploads", "")], &[])
    }

    /// A broken upload goes, and its parts with it.
    pub fn abort(&self, path: &VirtualPath, upload: &str) -> io::Result<S3Request> {
        self.object(Method::Delete, path, &[("uploadId", upload)], &[])
    }

    fn object_key(&self, path: &VirtualPath) -> io::Result<String> {
        // The root is a folder: no request names it as an object.
        self.prefix
            .object(path)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EISDIR))
    }

    fn object(
        &self,
        method: Method,
        path: &VirtualPath,
        query: Query,
        headers: Signed,
    ) -> io::Result<S3Request> {
        self.key(method, &self.object_key(path)?, query, headers)
    }

    fn key(
        &self,
        method: Method,
        key: &str,
        query: Query,
        headers: Signed,
    ) -> io::Result<S3Request> {
        let base = self.signer.bucket.base_url();
        // A key is built from a VirtualPath (no `.`, `..` or empty names)
        // and escaped by rusty-s3, so it stays below the bucket's URL; a
        // URL that does not is refused rather than signed.
        let url = (self.signer.bucket.object_url(key).ok())
            .filter(|url| url.origin() == base.origin() && url.path().starts_with(base.path()))
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        self.signed(method, url, query, headers)
    }

    fn signed(
        &self,
        method: Method,
        url: Url,
        query: Query,
        headers: Signed,
    ) -> io::Result<S3Request> {
        let Signer { bucket, keys, .. } = &*self.signer;
        // rusty-s3 merges our pairs with its own as two sorted runs: the
        // canonical request (and so the signature) needs them in order.
        let (mut query, mut signed) = (query.to_vec(), headers.to_vec());
        query.sort_unstable();
        signed.sort_unstable();
        let url = rusty_s3::signing::sign(
            &Timestamp::now(),
            method,
            url,
            keys.key(),
            keys.secret(),
            keys.token(),
            bucket.region(),
            SIGNATURE_LIFETIME.as_secs(),
            query.iter().copied(),
            signed.iter().copied(),
        );
        let headers = headers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        Ok(S3Request {
            method,
            url,
            headers,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::storage::testing::vp;
    use rusty_s3::UrlStyle;

    pub(crate) fn store(prefix: &str) -> Store {
        let endpoint = "http://127.0.0.1:8333".parse().unwrap();
        let bucket = Bucket::new(endpoint, UrlStyle::Path, "photos", "us-east-1").unwrap();
        let keys = Credentials::new("AKID", "secret");
        let endpoint = Endpoint::resolve("http://127.0.0.1:8333", None).unwrap();
        Store::new(bucket, keys, Prefix::folder(prefix).unwrap(), endpoint)
    }

    fn head_of(request: &S3Request, body: &[u8]) -> String {
        let exchange = request.exchange(body, 1024).unwrap();
        String::from_utf8(exchange.outgoing().to_vec()).unwrap()
    }

    #[test]
    fn object_requests_name_the_key_under_the_prefix() {
        let store = store("cams");
        let get = store.get(&vp("/a b/c:d.jpg"), 10).unwrap();
        assert_eq!(get.describe(), "GET /photos/cams/a%20b/c%3Ad.jpg");
        let head = head_of(&get, b"");
        assert!(head.starts_with("GET /photos/cams/a%20b/c%3Ad.jpg?X-Amz-Algorithm="));
        assert!(head.contains("\r\nHost: 127.0.0.1:8333\r\n"), "{head}");
        assert!(head.contains("\r\nRange: bytes=10-\r\n"), "{head}");
        assert!(head.contains("X-Amz-SignedHeaders=host&"), "{head}");
        assert!(store.get(&vp("/"), 0).is_err());
    }

    #[test]
    fn conditions_and_copy_sources_are_signed() {
        let store = store("");
        let put = store.put(&vp("/new.txt"), true).unwrap();
        assert!(put
            .url
            .query()
            .unwrap()
            .contains("SignedHeaders=host%3Bif-none-match"));
        let head = head_of(&put, b"hello");
        assert!(
            head.contains("\r\nContent-Length: 5\r\nif-none-match: *\r\n"),
            "{head}"
        );
        assert!(head.ends_with("\r\n\r\nhello"), "{head}");
        let copy = store.copy(&vp("/a b.txt"), &vp("/c.txt")).unwrap();
        assert_eq!(
            copy.headers,
            vec![("x-amz-copy-source", "/photos/a%20b.txt".to_owned())]
        );
        assert!(copy.url.query().unwrap().contains("x-amz-copy-source"));
        let home = store.home(&vp("/alice"));
        let address = home.address(&vp("/a b.jpg"));
        assert_eq!(address.as_deref(), Some("s3://photos/alice/a b.jpg"));
        assert_eq!(home.address(&vp("/")), None);
        let marker = store.make_folder(&vp("/dir")).unwrap();
        assert_eq!(marker.describe(), "PUT /photos/dir/");
    }

    #[test]
    fn listings_ask_for_one_folder_a_page_at_a_time() {
        let store = store("cams").home(&vp("/alice"));
        let list = store.list(&vp("/sub"), Some("tok/en"), 5000).unwrap();
        let query = list.url.query().unwrap();
        for part in [
            "list-type=2",
            "delimiter=%2F",
            "prefix=cams%2Falice%2Fsub%2F",
            "continuation-token=tok%2Fen",
            "max-keys=1000",
        ] {
            assert!(query.contains(part), "{part} in {query}");
        }
        assert_eq!(list.describe(), "GET /photos/");
    }
}
