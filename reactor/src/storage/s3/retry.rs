//! When a request to the store is asked again, and how long it may take:
//! sans-IO, the policy only (`conn/bucket_request.rs` carries it out).
//!
//! - Every request has a deadline: [`REQUEST_TIMEOUT`] without progress
//!   (the connect, or any byte either way) and it has failed, as a cut
//!   connection has.
//! - A request the store did not take (the connect refused, or an answer
//!   of `500`, `502`, `503 SlowDown`, `504`) is asked again, after
//!   [`FIRST_BACKOFF`] doubled at each attempt (at most [`LONGEST_BACKOFF`]),
//!   [`ATTEMPTS`] times in all: a store down fails a transfer in about
//!   1.5 s, a store briefly busy does not fail it at all.
//! - A request cut after it was sent, or timed out, is asked again only
//!   if asking twice does no harm: every request but the one that creates
//!   a multipart upload (a second would leave the first's parts behind)
//!   and those with `If-None-Match: *` (the first may have made the
//!   object, and the second would then say it exists). A download's GET
//!   asked again is its resume: its `Range` starts at the first byte that
//!   did not arrive (`download.rs`), and a break after bytes did arrive
//!   counts its attempts anew: a long download over a flaky link fails
//!   only when the store stops giving anything, not at its fifth cut.
//!
//! Every body is in memory while its request is on its way (a part, or a
//! small file's PUT), so a request is asked again byte for byte.

use std::cell::Cell;
use std::time::Duration;

use rusty_s3::Method;

use super::signed::S3Request;

/// No progress for this long (no connect, no byte either way): the request
/// failed. Long enough for a store to write a 16 MiB part to a slow disk.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Attempts at one request, the first included.
pub const ATTEMPTS: u8 = 5;

/// The wait before the second attempt; doubled for each after it.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The longest wait between two attempts.
pub const LONGEST_BACKOFF: Duration = Duration::from_secs(2);

/// How an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The connection was never made: nothing was sent.
    Refused,
    /// The connection broke, or went quiet for [`REQUEST_TIMEOUT`], once
    /// the request may have reached the store.
    Cut,
    /// The store answered with this status.
    Status(u16),
}

/// How a request failed for good, as `/metrics` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaveUp {
    /// The store answered `5xx` at the last attempt.
    Status,
    /// The connection broke once the request was on its way.
    Cut,
    /// No progress for [`REQUEST_TIMEOUT`].
    Timeout,
    /// No connection could be made.
    Refused,
}

impl GaveUp {
    pub const ALL: [GaveUp; 4] = [
        GaveUp::Status,
        GaveUp::Cut,
        GaveUp::Timeout,
        GaveUp::Refused,
    ];

    /// Its label value in `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            GaveUp::Status => "status_5xx",
            GaveUp::Cut => "cut",
            GaveUp::Timeout => "timeout",
            GaveUp::Refused => "refused",
        }
    }
}

/// The store's failures since start-up, kept as requests fail (one
/// thread: cells, shared by every request to the endpoint).
#[derive(Debug, Default)]
pub struct StoreErrors {
    gave_up: [Cell<u64>; GaveUp::ALL.len()],
    retries: Cell<u64>,
}

impl StoreErrors {
    /// A request failed for good so.
    pub fn gave_up(&self, how: GaveUp) {
        let count = &self.gave_up[how as usize];
        count.set(count.get().saturating_add(1));
    }

    /// An attempt failed and the request is asked again.
    pub fn retried(&self) {
        self.retries.set(self.retries.get().saturating_add(1));
    }

    /// Requests failed for good so, since start-up.
    pub fn count(&self, how: GaveUp) -> u64 {
        self.gave_up[how as usize].get()
    }

    /// Attempts asked again, since start-up.
    pub fn retries(&self) -> u64 {
        self.retries.get()
    }
}

/// The attempts at one request.
#[derive(Debug, Clone)]
pub struct Retry {
    /// Asking twice does no harm.
    idempotent: bool,
    /// Attempts made so far.
    made: u8,
}

impl Retry {
    /// The first attempt at `request`.
    pub fn of(request: &S3Request) -> Retry {
        let query = request.url.query().unwrap_or_default();
        let creates_upload = request.method == Method::Post
            && query
                .split('&')
                .any(|pair| pair.split('=').next() == Some("uploads"));
        let conditional = (request.headers.iter()).any(|(name, _)| *name == "if-none-match");
        Retry {
            idempotent: !creates_upload && !conditional,
            made: 1,
        }
    }

    /// Asking twice does no harm (so a kept connection may carry it).
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// Attempts all made: the one under way is the last.
    pub fn spent() -> Retry {
        Retry {
            idempotent: false,
            made: ATTEMPTS,
        }
    }

    /// The attempt under way made progress (a streamed answer gave bytes):
    /// the next failure is the first of its kind again.
    pub fn progressed(&mut self) {
        self.made = 1;
    }

    /// An answer with `status` is one to ask again for.
    pub fn is_transient(status: u16) -> bool {
        matches!(status, 500 | 502 | 503 | 504)
    }

    /// The attempt failed so: how long to wait before the next, or `None`
    /// if there is none.
    pub fn after(&mut self, failure: Failure) -> Option<Duration> {
        let again = match failure {
            Failure::Refused => true,
            Failure::Status(status) => Retry::is_transient(status),
            Failure::Cut => self.idempotent,
        };
        if !again || self.made >= ATTEMPTS {
            return None;
        }
        let wait = FIRST_BACKOFF.saturating_mul(1 << (self.made - 1).min(8));
        self.made += 1;
        Some(wait.min(LONGEST_BACKOFF))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::s3::request::tests::store;
    use crate::storage::testing::vp;

    #[test]
    fn transient_failures_are_asked_again_with_backoff_a_bounded_number_of_times() {
        let store = store("");
        let mut retry = Retry::of(&store.get_range(&vp("/f"), 0, 9).unwrap());
        let waits: Vec<_> = std::iter::from_fn(|| retry.after(Failure::Status(503))).collect();
        let ms: Vec<_> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [100, 200, 400, 800]);
        assert_eq!(waits.len() + 1, ATTEMPTS as usize);
        // An attempt that made progress: the count starts again.
        retry.progressed();
        assert_eq!(retry.after(Failure::Cut), Some(FIRST_BACKOFF));
        let mut retry = Retry::of(&store.head(&vp("/f")).unwrap());
        assert!(retry.after(Failure::Status(404)).is_none());
        assert!(retry.after(Failure::Status(403)).is_none());
        assert!(retry.after(Failure::Cut).is_some());
        assert!(retry.after(Failure::Refused).is_some());
    }

    #[test]
    fn requests_that_must_not_run_twice_are_not_asked_again_once_sent() {
        let store = store("");
        for request in [
            store.create_multipart(&vp("/f")).unwrap(),
            store.put(&vp("/f"), true).unwrap(),
            store.complete(&vp("/f"), "id", true).unwrap(),
        ] {
            let mut retry = Retry::of(&request);
            assert!(
                retry.after(Failure::Cut).is_none(),
                "{}",
                request.describe()
            );
            assert!(retry.after(Failure::Refused).is_some());
            assert!(retry.after(Failure::Status(503)).is_some());
        }
        for request in [
            store.put(&vp("/f"), false).unwrap(),
            store.upload_part(&vp("/f"), "id", 2).unwrap(),
            store.complete(&vp("/f"), "id", false).unwrap(),
            store.abort(&vp("/f"), "id").unwrap(),
            store.delete(&vp("/f")).unwrap(),
        ] {
            let mut retry = Retry::of(&request);
            assert!(
                retry.after(Failure::Cut).is_some(),
                "{}",
                request.describe()
            );
        }
    }
}
