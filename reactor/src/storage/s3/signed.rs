//! One request as `request.rs` built and signed it: a value the HTTP
//! client writes as it is. A leaf of its own, so what queues, retries or
//! carries requests (`aborts.rs`, `retry.rs`) needs nothing of how they
//! are built.

use rusty_s3::Method;
use url::Url;

use crate::http::client::{ClientError, Exchange, Request};
use crate::http::write::BadField;

/// One request, signed.
#[derive(Debug, Clone)]
pub struct S3Request {
    pub method: Method,
    /// Presigned: the signature is in its query.
    pub url: Url,
    /// Sent beside `Host` and `Content-Length`.
    pub headers: Vec<(&'static str, String)>,
}

impl S3Request {
    /// `PUT /photos/a.txt`: the request as a log line names it, without
    /// its query (which holds the signature).
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.url.path())
    }

    /// The exchange that carries it with `body`, whose answer's body may
    /// hold `max_body` bytes at once.
    pub fn exchange(&self, body: &[u8], max_body: usize) -> Result<Exchange, ClientError> {
        self.build(body, |request| Exchange::new(request, max_body))
    }

    /// As [`S3Request::exchange`], `body` moved in (an upload's part: not
    /// held twice while it goes).
    pub fn exchange_owning(&self, body: Vec<u8>, max_body: usize) -> Result<Exchange, ClientError> {
        self.build(&[], |request| Exchange::owning(request, body, max_body))
    }

    /// The HTTP request for `body`, handed to `make`.
    fn build(
        &self,
        body: &[u8],
        make: impl FnOnce(&Request) -> Result<Exchange, ClientError>,
    ) -> Result<Exchange, ClientError> {
        let host = match (self.url.host_str(), self.url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => return Err(ClientError::BadRequest(BadField)),
        };
        let target = match self.url.query() {
            Some(query) => format!("{}?{query}", self.url.path()),
            None => self.url.path().to_owned(),
        };
        let headers: Vec<_> = (self.headers.iter())
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        let request = Request {
            method: self.method.to_str(),
            target: &target,
            host: &host,
            headers: &headers,
            body,
        };
        make(&request)
    }
}
