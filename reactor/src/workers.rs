//! Threads for what cannot be non-blocking (DESIGN: fsync, a folder
//! walk): the loop hands each job, with a tag saying whom its answer is
//! for, to a few threads through a queue bounded at `queue`, and hears
//! back through the poll's waker. An answer for a session that ended dies
//! in the answer queue like any other. The sync worker (`storage/sync.rs`)
//! and the quota counter (`quota/count.rs`) are pools of this kind; the
//! password worker keeps its own, for its per-client bounds.

use std::io;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;

/// A job, and whom its answer is for.
type Queued<T, J> = (T, J);

/// The threads, their queue, and their answers.
pub(crate) struct Workers<T, J, R> {
    jobs: SyncSender<Queued<T, J>>,
    answers: Receiver<(T, R)>,
}

impl<T: Send + 'static, J: Send + 'static, R: Send + 'static> Workers<T, J, R> {
    /// Starts `threads` threads named `name-N` that `run` each job and
    /// wake the loop with each answer; at most `queue` jobs wait.
    pub fn start(
        name: &str,
        threads: usize,
        queue: usize,
        waker: Arc<mio::Waker>,
        run: fn(J) -> R,
    ) -> io::Result<Self> {
        let (jobs, waiting) = mpsc::sync_channel::<Queued<T, J>>(queue);
        let (answer, answers) = mpsc::channel();
        let waiting = Arc::new(Mutex::new(waiting));
        for n in 0..threads {
            let (waiting, answer, waker) =
                (Arc::clone(&waiting), answer.clone(), Arc::clone(&waker));
            thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || {
                    // The lock is held only while waiting for the next job.
                    while let Some((tag, job)) = next(&waiting) {
                        if answer.send((tag, run(job))).is_err() || waker.wake().is_err() {
                            return;
                        }
                    }
                })?;
        }
        Ok(Workers { jobs, answers })
    }

    /// Queues `job`; its answer comes from [`answers`](Self::answers)
    /// after the waker fires. A full queue gives the job back.
    pub fn submit(&self, tag: T, job: J) -> Result<(), J> {
        self.jobs.try_send((tag, job)).map_err(|e| match e {
            TrySendError::Full((_, job)) | TrySendError::Disconnected((_, job)) => job,
        })
    }

    /// The answers ready now.
    pub fn answers(&self) -> impl Iterator<Item = (T, R)> + '_ {
        self.answers.try_iter()
    }
}

/// The next job for a thread; `None` once the loop's end of the queue is
/// gone (the daemon is stopping).
fn next<T, J>(waiting: &Mutex<Receiver<Queued<T, J>>>) -> Option<Queued<T, J>> {
    waiting.lock().ok()?.recv().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_gives_the_job_back() {
        // No thread takes jobs from a queue whose threads never started.
        let (jobs, _waiting) = mpsc::sync_channel(64);
        let (_answer, answers) = mpsc::channel();
        let workers: Workers<u32, u32, u32> = Workers { jobs, answers };
        for tag in 0..64 {
            assert!(workers.submit(tag, tag).is_ok());
        }
        assert!(workers.submit(0, 0).is_err());
    }
}
