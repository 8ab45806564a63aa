//! HTTP/1.1 for the loop: the S3 back-end's requests, the upload webhook,
//! and the admin listener later. Sans-IO at the bottom: every file but
//! `connection.rs` reads and writes bytes in memory and never touches a
//! socket, so a server parses requests with it as a client parses
//! responses, and a client's exchange is tested without one.
//!
//! - `head.rs`: a request line or a status line and its headers, parsed
//!   with memchr, borrowing from the input, bounded ([`MAX_HEAD`] bytes,
//!   [`MAX_HEADERS`] lines); an incomplete head is `Ok(None)`.
//! - `body.rs`: a body's [`Framing`] (Content-Length, chunked, until the
//!   close) and its [`Decoder`], fed pieces of any size.
//! - `write.rs`: request and response heads written, their fields checked.
//! - `client.rs`: one client exchange (a request out, its response in),
//!   sans-IO, bounded; the webhook's and the S3 back-end's.
//! - `connection.rs`: an exchange carried over a non-blocking mio socket,
//!   in clear or through rustls' client side.
//! - `url.rs`: `http://` and `https://` URLs, as the options give them.
//! - `json.rs`: a JSON string, for the webhook's and the admin's bodies.
//! - `fuzzing.rs` (tests, and the `fuzzing` feature): the body of the
//!   `http_head` fuzz target.

pub mod body;
pub mod client;
pub mod connection;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod head;
pub mod json;
pub mod url;
pub mod write;

pub use body::{BodyError, Decoder, Framing};
pub use client::{ClientError, Exchange, ResponseHead};
pub use head::{parse_request, parse_response, HeadError, Header, Headers, Request, Response};
pub use head::{MAX_HEAD, MAX_HEADERS};
pub use json::json_string;
