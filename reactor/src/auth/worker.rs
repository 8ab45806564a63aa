//! The password worker: a thread that runs the argon2 checks the sessions
//! ask for, so the loop never waits for one, and the queue that feeds it.
//!
//! A check costs ~70 ms here and a second or more on a Pi, so the queue is
//! where a flood of logins waits, and it must not be where a real user
//! waits behind one: with a plain queue, one address asked for 32 checks
//! on 32 connections and another's login took 2.36 s instead of 0.12 s,
//! and the checks of sessions that had ended still ran (issue 23). So:
//!
//! - checks wait per client (an IPv4 address, or an IPv6 /64, what one
//!   subscriber has), and the worker takes them from the clients in turn:
//!   a login waits for the check under way and for one of each other
//!   client waiting, however many each has asked for;
//! - a client may have [`MAX_WAITING_PER_CLIENT`] checks waiting, all
//!   clients [`MAX_WAITING`]; a check beyond is refused at once (the
//!   session answers `421`);
//! - a session that ends takes its waiting check out ([`PasswordWorker::cancel`]).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;

use log::warn;
use pocketftp_core::canonical_ip;

use super::users::{Account, Users};

/// Checks one client (address or /64) may have waiting.
pub const MAX_WAITING_PER_CLIENT: usize = 8;
/// Checks all clients together may have waiting.
pub const MAX_WAITING: usize = 64;

/// A password check asked for by session `key` (with its generation).
pub struct Check {
    pub key: usize,
    pub generation: u32,
    /// The control connection's peer address.
    pub peer: IpAddr,
    pub user: String,
    pub password: String,
}

/// The answer to a [`Check`].
pub struct Checked {
    pub key: usize,
    pub generation: u32,
    /// The name the check was for (`--max-sessions-per-user` counts by it).
    pub user: String,
    pub account: Option<Account>,
}

/// A check the queue had no room for: the client's share, or the whole
/// queue, is full.
#[derive(Debug, PartialEq, Eq)]
pub struct Busy;

/// What the worker does next.
enum Job {
    Check(Check),
    Replace(Arc<Users>),
}

/// Whom a check is counted against: an IPv4 address, or the /64 of an IPv6
/// one (IPv4-mapped addresses count as IPv4).
fn client_of(peer: IpAddr) -> IpAddr {
    match canonical_ip(peer) {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        v4 => v4,
    }
}

/// The checks waiting, by client, and a re-read users file to swap in.
#[derive(Default)]
struct Queue {
    by_client: HashMap<IpAddr, VecDeque<Check>>,
    /// The clients with checks waiting, in the order they are served.
    turns: VecDeque<IpAddr>,
    waiting: usize,
    /// Taken before any check: it applies to every check not yet begun.
    replacement: Option<Arc<Users>>,
    /// The worker's handle is gone: the thread ends.
    closed: bool,
}

impl Queue {
    fn push(&mut self, check: Check) -> Result<(), Busy> {
        let client = client_of(check.peer);
        let checks = self.by_client.entry(client).or_default();
        if checks.len() >= MAX_WAITING_PER_CLIENT || self.waiting >= MAX_WAITING {
            if checks.is_empty() {
                self.by_client.remove(&client);
            }
            return Err(Busy);
        }
        if checks.is_empty() {
            self.turns.push_back(client);
        }
        checks.push_back(check);
        self.waiting += 1;
        Ok(())
    }

    /// The next job: a replacement first, then the next client's oldest check.
    fn pop(&mut self) -> Option<Job> {
        if let Some(users) = self.replacement.take() {
            return Some(Job::Replace(users));
        }
        let client = self.turns.pop_front()?;
        let checks = self.by_client.get_mut(&client)?;
        let check = checks.pop_front()?;
        if checks.is_empty() {
            self.by_client.remove(&client);
        } else {
            self.turns.push_back(client);
        }
        self.waiting -= 1;
        Some(Job::Check(check))
    }

    /// Takes out the waiting check of session `key`/`generation`, if any.
    fn cancel(&mut self, key: usize, generation: u32, peer: IpAddr) {
        let client = client_of(peer);
        let Some(checks) = self.by_client.get_mut(&client) else {
            return;
        };
        let before = checks.len();
        checks.retain(|c| (c.key, c.generation) != (key, generation));
        self.waiting -= before - checks.len();
        if checks.is_empty() {
            self.by_client.remove(&client);
            self.turns.retain(|c| *c != client);
        }
    }
}

/// The queue and the worker's wake-up call.
#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Shared {
    /// The queue, even if a thread panicked holding it (its data stays whole:
    /// every change to it is a few lines that cannot panic midway).
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for the next job; `None` once the handle is gone.
    fn next_job(&self) -> Option<Job> {
        let mut queue = self.queue();
        loop {
            if queue.closed {
                return None;
            }
            if let Some(job) = queue.pop() {
                return Some(job);
            }
            queue = self.ready.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// A thread that checks passwords and wakes the reactor with each answer.
pub struct PasswordWorker {
    shared: Arc<Shared>,
    answers: mpsc::Receiver<Checked>,
}

impl PasswordWorker {
    pub fn start(users: Arc<Users>, waker: Arc<mio::Waker>) -> std::io::Result<PasswordWorker> {
        let shared = Arc::new(Shared::default());
        let (answer_queue, answers) = mpsc::channel();
        let jobs = Arc::clone(&shared);
        thread::Builder::new()
            .name("password-check".to_owned())
            .spawn(move || {
                let mut users = users;
                users.prepare();
                while let Some(job) = jobs.next_job() {
                    match job {
                        Job::Replace(new) => {
                            new.prepare();
                            users = new;
                        }
                        Job::Check(check) => {
                            let account = users.verify(&check.user, &check.password);
                            let answer = Checked {
                                key: check.key,
                                generation: check.generation,
                                user: check.user,
                                account,
                            };
                            if answer_queue.send(answer).is_err() || waker.wake().is_err() {
                                return;
                            }
                        }
                    }
                }
            })?;
        Ok(PasswordWorker { shared, answers })
    }

    /// Queues a check; its answer comes from [`answers`](Self::answers)
    /// after the waker fires. [`Busy`] if the client's share or the whole
    /// queue is full: it gets no answer.
    pub fn check(&self, check: Check) -> Result<(), Busy> {
        let peer = check.peer;
        let queued = self.shared.queue().push(check);
        match queued {
            Ok(()) => self.shared.ready.notify_one(),
            Err(Busy) => warn!(
                "{peer}: password check refused: {MAX_WAITING_PER_CLIENT} from this client \
                 or {MAX_WAITING} in all are waiting"
            ),
        }
        queued
    }

    /// The session `key`/`generation` (at `peer`) ended: its check, if one
    /// waits, is not run.
    pub fn cancel(&self, key: usize, generation: u32, peer: IpAddr) {
        self.shared.queue().cancel(key, generation, peer);
    }

    /// Swaps in a re-read users file for the checks not yet begun.
    pub fn replace_users(&self, users: Arc<Users>) {
        self.shared.queue().replacement = Some(users);
        self.shared.ready.notify_one();
    }

    /// The answers ready now.
    pub fn answers(&self) -> impl Iterator<Item = Checked> + '_ {
        self.answers.try_iter()
    }
}

impl Drop for PasswordWorker {
    /// The thread ends after the check it is running, if any.
    fn drop(&mut self) {
        self.shared.queue().closed = true;
        self.shared.ready.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::hashing::hash_password;
    use pocketftp_core::Access;

    fn check(key: usize, peer: &str) -> Check {
        Check {
            key,
            generation: 1,
            peer: peer.parse().unwrap(),
            user: "u".into(),
            password: "p".into(),
        }
    }

    /// The sessions of the checks the queue gives out, in order.
    fn drain(queue: &mut Queue) -> Vec<usize> {
        std::iter::from_fn(|| match queue.pop()? {
            Job::Check(c) => Some(c.key),
            Job::Replace(_) => Some(usize::MAX),
        })
        .collect()
    }

    /// A flooding client gets its share, the others their turns: a check
    /// waits for one of each other client's, not for all of them.
    #[test]
    fn clients_take_turns_within_their_share() {
        let mut queue = Queue::default();
        for key in 0..20 {
            let queued = queue.push(check(key, "192.0.2.1"));
            assert_eq!(queued.is_ok(), key < MAX_WAITING_PER_CLIENT, "{key}");
        }
        queue.push(check(100, "192.0.2.2")).unwrap();
        // An IPv6 /64 is one client; IPv4-mapped is the IPv4 address.
        queue.push(check(200, "2001:db8::1")).unwrap();
        queue.push(check(201, "2001:db8::ffff:2")).unwrap();
        queue.push(check(202, "2001:db8:0:1::1")).unwrap();
        queue.push(check(101, "::ffff:192.0.2.2")).unwrap();
        assert_eq!(queue.waiting, MAX_WAITING_PER_CLIENT + 5);
        assert_eq!(
            drain(&mut queue),
            [0, 100, 200, 202, 1, 101, 201, 2, 3, 4, 5, 6, 7]
        );
        assert_eq!(
            (queue.waiting, queue.by_client.len(), queue.turns.len()),
            (0, 0, 0)
        );
    }

    #[test]
    fn the_whole_queue_is_bounded() {
        let mut queue = Queue::default();
        let mut queued = 0;
        for client in 0..=255u8 {
            for key in 0..MAX_WAITING_PER_CLIENT {
                let peer = format!("198.51.100.{client}");
                queued += usize::from(queue.push(check(key, &peer)).is_ok());
            }
        }
        assert_eq!((queued, queue.waiting), (MAX_WAITING, MAX_WAITING));
        assert_eq!(queue.push(check(0, "203.0.113.9")), Err(Busy));
        assert!(!queue
            .by_client
            .contains_key(&"203.0.113.9".parse().unwrap()));
    }

    /// A session that ended takes its waiting check out; a reload comes
    /// before every check not yet begun.
    #[test]
    fn ended_sessions_leave_and_reloads_go_first() {
        let mut queue = Queue::default();
        for key in 0..3 {
            queue.push(check(key, "192.0.2.1")).unwrap();
        }
        queue.push(check(9, "192.0.2.2")).unwrap();
        queue.cancel(1, 1, "192.0.2.1".parse().unwrap());
        queue.cancel(2, 7, "192.0.2.1".parse().unwrap()); // another generation
        queue.cancel(9, 1, "192.0.2.2".parse().unwrap());
        queue.replacement = Some(Arc::new(Users::parse("").unwrap()));
        assert_eq!(drain(&mut queue), [usize::MAX, 0, 2]);
        assert_eq!((queue.waiting, queue.turns.len()), (0, 0));
    }

    #[test]
    fn worker_answers_through_the_waker() {
        let hash = hash_password("pw").unwrap();
        let users = Arc::new(Users::parse(&format!("u:{hash}:user")).unwrap());
        let mut poll = mio::Poll::new().unwrap();
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(7)).unwrap());
        let worker = PasswordWorker::start(users, waker).unwrap();
        worker
            .check(Check {
                key: 3,
                generation: 9,
                peer: [127, 0, 0, 1].into(),
                user: "u".into(),
                password: "pw".into(),
            })
            .unwrap();
        let mut events = mio::Events::with_capacity(4);
        poll.poll(&mut events, Some(std::time::Duration::from_secs(30)))
            .unwrap();
        assert!(events.iter().any(|e| e.token() == mio::Token(7)));
        let answers: Vec<Checked> = worker.answers().collect();
        assert_eq!(answers.len(), 1);
        assert_eq!((answers[0].key, answers[0].generation), (3, 9));
        assert_eq!(
            answers[0].account.as_ref().map(|a| a.access),
            Some(Access::ReadOnly)
        );
    }
}
