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
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;

use super::durable::{Job, Ran};

/// Threads that sync: enough for a few `fsync`s to share a journal
/// commit, few enough for a Pi Zero's memory (each is a stack and a
/// descriptor's worth of work).
pub const SYNC_THREADS: usize = 4;

/// Jobs waiting for a thread, at most. Each session has at most one job
/// that is waited for; beyond this many (a disk that cannot keep up, or a
/// client aborting commit after commit), a job is refused and its reply
/// says so (`451`), rather than holding more descriptors.
pub const SYNC_QUEUE: usize = 64;

/// A job, and whom its answer is for.
type Queued<T> = (T, Job);

/// The threads, their queue, and their answers.
pub(crate) struct SyncWorker<T> {
    jobs: SyncSender<Queued<T>>,
    answers: Receiver<(T, Ran)>,
}

impl<T: Send + 'static> SyncWorker<T> {
    /// Starts [`SYNC_THREADS`] threads, which wake the loop with each answer.
    pub fn start(waker: Arc<mio::Waker>) -> io::Result<SyncWorker<T>> {
        let (jobs, queue) = mpsc::sync_channel::<Queued<T>>(SYNC_QUEUE);
        let (answer, answers) = mpsc::channel();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..SYNC_THREADS {
            let (queue, answer, waker) = (Arc::clone(&queue), answer.clone(), Arc::clone(&waker));
            thread::Builder::new()
                .name(format!("sync-{n}"))
                .spawn(move || {
                    // The lock is held only while waiting for the next job.
                    while let Some((tag, job)) = next(&queue) {
                        if answer.send((tag, job.run())).is_err() || waker.wake().is_err() {
                            return;
                        }
                    }
                })?;
        }
        Ok(SyncWorker { jobs, answers })
    }

    /// Queues `job`; its answer comes from [`answers`](Self::answers)
    /// after the waker fires. A full queue gives the job back.
    pub fn submit(&self, tag: T, job: Job) -> Result<(), Job> {
        self.jobs.try_send((tag, job)).map_err(|e| match e {
            TrySendError::Full((_, job)) | TrySendError::Disconnected((_, job)) => job,
        })
    }

    /// The answers ready now.
    pub fn answers(&self) -> impl Iterator<Item = (T, Ran)> + '_ {
        self.answers.try_iter()
    }
}

/// The next job for a thread; `None` once the loop's end of the queue is
/// gone (the daemon is stopping).
fn next<T>(queue: &Mutex<Receiver<Queued<T>>>) -> Option<Queued<T>> {
    queue.lock().ok()?.recv().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn worker(poll: &mio::Poll) -> SyncWorker<u32> {
        let waker = mio::Waker::new(poll.registry(), mio::Token(7)).unwrap();
        SyncWorker::start(Arc::new(waker)).unwrap()
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

    #[test]
    fn a_full_queue_gives_the_job_back() {
        // No thread takes jobs from a queue whose threads never started.
        let (jobs, _queue) = mpsc::sync_channel(SYNC_QUEUE);
        let (_answer, answers) = mpsc::channel();
        let worker: SyncWorker<u32> = SyncWorker { jobs, answers };
        for tag in 0..SYNC_QUEUE as u32 {
            assert!(worker.submit(tag, Job::Folders(Vec::new())).is_ok());
        }
        assert!(worker.submit(0, Job::Folders(Vec::new())).is_err());
    }
}
