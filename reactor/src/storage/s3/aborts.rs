//! Multipart uploads that broke, aborted (AbortMultipartUpload) so that no
//! parts linger in the bucket; the old object, if any, stays as it was.
//!
//! # Why a queue the daemon empties
//!
//! An upload breaks when its client goes: the data connection cut, the
//! control connection closed, the session over. Its abort must outlive
//! the session, whose requests the loop carries on the connection's own
//! sockets, which go with it. So a broken upload leaves its abort, a
//! signed request, here; the loop takes it at the end of the turn and
//! sends it on sockets of the daemon's own (`server/bucket_errands.rs`),
//! asked again as `retry.rs` says, like any request to the store. It is
//! rare, small work (one bodiless DELETE per broken upload); at most
//! [`QUEUE`] wait, and a full queue is one log line (the parts then stay
//! until the bucket's lifecycle rule, if any, ends them).

use std::cell::RefCell;
use std::collections::VecDeque;

use log::warn;

use super::signed::S3Request;

/// Aborts waiting to be sent: more than the daemon's running uploads.
pub const QUEUE: usize = 256;

/// Where broken uploads wait to be aborted.
#[derive(Debug, Default)]
pub struct Aborts {
    queue: RefCell<VecDeque<S3Request>>,
}

impl Aborts {
    /// Sends `abort` soon, without waiting for it.
    pub fn send(&self, abort: S3Request) {
        let mut queue = self.queue.borrow_mut();
        if queue.len() >= QUEUE {
            return warn!(
                "{}: not sent ({QUEUE} aborts wait), its parts stay",
                abort.describe()
            );
        }
        queue.push_back(abort);
    }

    /// The abort to send next.
    pub fn next(&self) -> Option<S3Request> {
        self.queue.borrow_mut().pop_front()
    }

    /// No abort waits.
    pub fn is_empty(&self) -> bool {
        self.queue.borrow().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::s3::request::tests::store;
    use crate::storage::testing::vp;

    #[test]
    fn the_queue_is_bounded_and_kept_in_order() {
        let aborts = Aborts::default();
        for n in 0..QUEUE + 3 {
            let abort = store("").abort(&vp(&format!("/f{n}")), "id").unwrap();
            aborts.send(abort);
        }
        let sent: Vec<_> = std::iter::from_fn(|| aborts.next()).collect();
        assert_eq!(sent.len(), QUEUE);
        assert_eq!(sent[0].describe(), "DELETE /photos/f0");
        assert!(aborts.is_empty());
    }
}
