//! The S3 back-end: a bucket (or a prefix of one) served as the root, in
//! the same thread as everything else (`--storage s3://BUCKET[/PREFIX]`).
//!
//! # Why one thread still
//!
//! A Pi Zero cannot spare the ~130 MB of a FUSE mount daemon, nor an async
//! runtime and the AWS SDK. S3 is HTTP/1.1: its requests are mio sockets
//! in the loop, like a data connection's, written and read by the shared
//! sans-IO client (`http/`), and no session ever waits on another's
//! request. This folder never touches a socket: it says what to send and
//! what an answer means.
//!
//! - `config.rs`: where the bucket is (`s3://BUCKET[/PREFIX]`, endpoint,
//!   region, path style) and the keys (from `AWS_ACCESS_KEY_ID` and
//!   `AWS_SECRET_ACCESS_KEY`, or a credentials file; never an argument).
//! - `endpoint.rs`: the endpoint's address (resolved once, at start-up)
//!   and TLS to it.
//! - `keys.rs`: FTP paths as keys under the prefix; a home is a longer
//!   prefix, and the core's `VirtualPath` confines a session to it.
//! - `request.rs`: every request, one constructor per operation, signed
//!   with rusty-s3 (presigned: the signature is in the URL, so a body is
//!   never hashed first and streams as it arrives); `signed.rs` the
//!   request itself, which the queues and retries hold.
//! - `file_ops.rs`: each file action as its conversation of requests
//!   (DELE is HEAD then DELETE, RNTO a HEAD, a copy and a delete, ...).
//! - `list_op.rs`: a listing's pages fetched one after the other, bounded.
//! - `xml.rs`, `listing.rs`, `reply.rs`: answers read with quick-xml
//!   (element by local name, nothing a store may omit required: SeaweedFS
//!   sends no `Owner`, some stores no `ETag`), statuses as the kinds the
//!   core replies with.
//! - `retry.rs`: which failed requests are asked again, after how long,
//!   and how long a request may go without progress.
//! - `download.rs`: a RETR as one GET, streamed through a bounded buffer.
//! - `upload.rs`, `object_upload.rs`: a STOR's bytes as one PUT or as
//!   parts (two in memory at most), and the requests that store them.
//! - `aborts.rs`: a broken multipart upload's abort, queued for the
//!   daemon to send on its own sockets, as it must outlive the session.
//!
//! # FTP on a bucket
//!
//! | FTP                 | S3                                                |
//! |---------------------|---------------------------------------------------|
//! | RETR (REST n)       | GET (`Range: bytes=n-`); the `150`'s size is the object's |
//! | STOR                | one PUT up to a part's size, else multipart; appears only whole |
//! | STOR, upload role   | the same with `If-None-Match: *` (412: `553`)      |
//! | LIST, NLST, MLSD    | ListObjectsV2, delimiter `/`, a page at a time     |
//! | SIZE, MDTM, MLST    | HEAD (a folder: a one-key listing of `name/`)      |
//! | DELE                | DeleteObject                                       |
//! | MKD / RMD           | the marker `name/` put (new only) / deleted when the folder is empty |
//! | RNFR/RNTO           | CopyObject + DeleteObject; a folder is refused     |
//! | APPE, REST+STOR, STOU, MFMT, SITE CHMOD | `504 Not supported on this storage.` |
//!
//! An upload is atomic by nature: a multipart upload that breaks is
//! aborted, and the old object stays, as the local back-end's hidden temp
//! file promises.

pub mod aborts;
pub mod config;
pub mod download;
pub mod endpoint;
pub mod file_ops;
pub mod keys;
pub mod list_op;
pub mod listing;
pub mod object_upload;
pub mod reply;
pub mod request;
pub mod retry;
pub mod signed;
pub mod upload;
mod xml;

pub use config::{Keys, Location, S3Config};
pub use request::Store;
pub use signed::S3Request;
