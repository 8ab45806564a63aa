//! The sync worker: `fsync(2)` off the event loop.
//!
//! One `fsync` on an SD card takes from milliseconds to seconds: it waits
//! for the card to write every dirty page of the file, then for the file
//! system's journal. On the loop, that would hold every session as long.
//! So the loop hands each [`Job`] (`durable.rs`: descriptors only, no
//! path to resolve) to a few threads through a bounded queue, and hears
//! back through the poll's waker, as from the password worker: each
//! answer carries the tag it was asked with, so one for a session that
//! ended, or for a transfer it aborted, dies in the answer queue like
//! any other. The session waits for it as for any action.
//!
//! Several threads, because concurrent `fsync`s on one file system share
//! its journal's commits (ext4, XFS, btrfs): eight clients uploading
//! small files cost a few journal commits at a time, not eight in a row.

use std::io;
use std::sync::Arc;

use super::durable::{Job, Ran};
use crate::workers::Workers;

/// Threads that sync: enough for a few `fsync`s to share a journal
/// commit, few enough for a Pi Zero's memory (each is a stack and a
/// descriptor's worth of work).
pub const SYNC_THREADS: usize = 4;

/// Jobs waiting for a thread, at most. Each session has at most one job
/// that is waited for; beyond this many (a disk that cannot keep up, or a
/// client aborting commit after commit), a job is refused and its reply
/// says so (`451`), rather than holding more descriptors.
pub const SYNC_QUEUE: usize = 64;

/// The sync threads: each answer is tagged `T` and says how its job ran.
pub(crate) type SyncWorker<T> = Workers<T, Job, Ran>;

/// Starts [`SYNC_THREADS`] threads, which wake the loop with each answer.
pub(crate) fn start<T: Send + 'static>(waker: Arc<mio::Waker>) -> io::Result<SyncWorker<T>> {
    Workers::start("sync", SYNC_THREADS, SYNC_QUEUE, waker, Job::run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn worker(poll: &mio::Poll) -> SyncWorker<u32> {
        let waker = mio::Waker::new(poll.registry(), mio::Token(7)).unwrap();
        start(Arc::new(waker)).unwrap()
    }

    /// Waits (bounded) until `n` answers came through the waker.
    fn answers(poll: &mut mio::Poll, worker: &SyncWorker<u32>, n: usize) -> Vec<u32> {
        let mut got = Vec::new();
        let mut events = mio::Events::with_capacity(4);
        for _ in 0..100 {
            poll.poll(&mut events, Some(Duration::from_millis(300)))
                .unwrap();
            got.extend(worker.answers().map(|(tag, ran)| {
                ran.result.unwrap();
                tag
            }));
            if got.len() >= n {
                break;
            }
        }
        got.sort_unstable();
        got
    }

    #[test]
    fn answers_come_through_the_waker_with_their_tags() {
        let dir = crate::storage::testing::TempDir::new("sync-worker");
        let mut poll = mio::Poll::new().unwrap();
        let worker = worker(&poll);
        for tag in 0..10 {
            let folder = std::fs::File::open(&dir.0).unwrap();
            assert!(worker.submit(tag, Job::Folders(vec![folder])).is_ok());
        }
        assert_eq!(answers(&mut poll, &worker, 10), (0..10).collect::<Vec<_>>());
    }
}
