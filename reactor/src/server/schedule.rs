//! Who moves next: transfers taken from the run queue in turn, a bounded
//! step each, until the turn's byte budget is spent; rate-limited ones
//! parked on a timer until their own buckets refill, or waiting their turn
//! at the `--max-rate` bucket ([`Shared`]); those whose data connection
//! waits for another session's login (`Step::AwaitingLogin`), parked the
//! same way and woken by any login or session end; and sessions with more
//! input than one drive takes.
//!
//! A transfer that waits for tokens is told to its session as alive now
//! and then (`Connection::keep_alive`): the wait is the server's, not the
//! client's, and must not trip the stall timer (`--data-timeout`, at least
//! a second): rate limits never fail a transfer.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::answers::Tag;
use super::deadlines::Deadlines;
use super::{Server, BUFFER_SIZE};
use crate::rate::{Bucket, Shared};

/// Bytes the transfers together may move per turn of the loop before
/// sockets are polled again: a fraction of a millisecond of work, so a NOOP
/// is answered promptly however many transfers run.
const TURN_BUDGET: usize = 256 * 1024;
/// Bytes one download moves per step: large system calls, fair turns.
const STEP: usize = 128 * 1024;
/// Bytes one upload moves per step: a whole buffer, so the file is
/// written in pieces that size and the socket read until it is empty or
/// the buffer full. Pinned STOR of 512 MiB, three runs each: 128 KiB
/// 850-1,440 MB/s, 512 KiB 1,630-1,840, 1 MiB 1,590-2,460 (pure-ftpd,
/// which reads and writes 512 KiB at a time, 1,700-2,310).
const UPLOAD_STEP: usize = BUFFER_SIZE;
/// The longest a transfer waits for tokens before it is looked at again,
/// to tell its session it is alive: well inside the shortest stall timer
/// (one second).
const LONGEST_WAIT: Duration = Duration::from_millis(250);

/// Why a transfer may not move now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Its own bucket is short: it is parked on a timer until then.
    Until(Instant),
    /// It waits its turn at the `--max-rate` bucket, in the queue of
    /// [`Shared`]: woken when the turn is its own.
    Turn,
}

/// The queues of work waiting for a turn of the loop.
pub(crate) struct Schedule {
    /// Transfers with work to do, served in turn, [`STEP`] bytes at a time,
    /// [`TURN_BUDGET`] per turn of the loop. Addressed as answers are: an
    /// entry for a transfer its session dropped meanwhile is skipped.
    runnable: VecDeque<Tag>,
    /// `--max-rate`: the bucket every transfer draws from in turns, when set.
    shared: Option<Shared<Tag>>,
    /// When the transfers waiting their turn are next told to be alive.
    next_sweep: Instant,
    /// Transfers out of their own bucket's tokens, each due back in the run
    /// queue when it holds enough again, or after [`LONGEST_WAIT`] (a
    /// timer, never a busy loop).
    throttled: Deadlines,
    /// Parked transfers that wait for a session to log in, woken when one
    /// does or ends. One entry per connection at most.
    awaiting_login: Vec<Tag>,
    /// Sessions that had more input than one drive takes.
    unread: VecDeque<(usize, u32)>,
}

impl Schedule {
    /// An empty schedule; `total` is `--max-rate`.
    pub fn new(total: Option<u64>, now: Instant) -> Schedule {
        Schedule {
            runnable: VecDeque::new(),
            shared: total.map(|r| Shared::new(r, now)),
            next_sweep: now,
            throttled: Deadlines::default(),
            awaiting_login: Vec::new(),
            unread: VecDeque::new(),
        }
    }

    /// SIGHUP: a changed `--max-rate` starts a new bucket, and the
    /// transfers waiting their turn keep their places; when the limit is
    /// lifted, they are returned, to be woken.
    pub fn set_total_rate(&mut self, total: Option<u64>, now: Instant) -> Vec<Tag> {
        match (&mut self.shared, total) {
            (Some(shared), Some(rate)) => shared.set_rate(rate, now),
            (None, Some(rate)) => self.shared = Some(Shared::new(rate, now)),
            (shared, None) => {
                return shared
                    .take()
                    .map(|s| s.waiting().collect())
                    .unwrap_or_default()
            }
        }
        Vec::new()
    }

    /// Nothing waits for the next turn: the loop may sleep.
    pub fn is_idle(&self) -> bool {
        self.runnable.is_empty() && self.unread.is_empty()
    }

    /// When a parked transfer, or the next turn at the shared bucket (or
    /// the sweep of those waiting for it), is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        let turn = self.shared.as_ref().and_then(Shared::next_turn_at);
        let sweep = turn.map(|_| self.next_sweep);
        let due = [self.throttled.next(), turn, sweep];
        due.into_iter().flatten().min()
    }

    /// Puts a transfer in the run queue.
    pub fn run(&mut self, tag: Tag) {
        self.runnable.push_back(tag);
    }

    /// Gives a session that read its fill another drive next turn.
    pub fn read_later(&mut self, tag: Tag) {
        self.unread.push_back((tag.key, tag.generation));
    }

    /// Parks a rate-limited transfer until `at`, or [`LONGEST_WAIT`].
    pub fn park(&mut self, tag: Tag, at: Instant, now: Instant) {
        let at = at.clamp(now, now + LONGEST_WAIT);
        self.throttled.push(at, tag.key, tag.generation);
    }

    /// Wakes the parked transfer `tag` at the next login or session end
    /// too (its entry of an earlier transfer goes).
    pub fn await_login(&mut self, tag: Tag) {
        let connection = (tag.key, tag.generation);
        (self.awaiting_login).retain(|t| (t.key, t.generation) != connection);
        self.awaiting_login.push(tag);
    }

    /// The bytes the transfer `tag` may move in this step: [`STEP`]
    /// ([`UPLOAD_STEP`] for an upload), or what its own bucket holds, or
    /// its share of the shared one. A [`Wait`] when a bucket is short: the
    /// transfer then costs no turns of the loop until it is due, and an
    /// unlimited one never waits for it.
    pub fn allowance(
        &mut self,
        tag: Tag,
        own: Option<&mut Bucket>,
        upload: bool,
        now: Instant,
    ) -> Result<usize, Wait> {
        let mut allowed = if upload { UPLOAD_STEP } else { STEP } as u64;
        if let Some(own) = own {
            own.refill(now);
            if !own.ready() {
                return Err(Wait::Until(own.ready_at()));
            }
            allowed = allowed.min(own.available());
        }
        if let Some(shared) = &mut self.shared {
            allowed = allowed.min(shared.take(tag, now).ok_or(Wait::Turn)?);
        }
        Ok(usize::try_from(allowed).unwrap_or(STEP))
    }

    /// Pays the shared bucket for `bytes` moved.
    pub fn spend(&mut self, bytes: u64) {
        if let Some(shared) = &mut self.shared {
            shared.spend(bytes);
        }
    }

    /// The transfer whose turn it is at the shared bucket, if one is due.
    fn next_turn(&mut self, now: Instant) -> Option<Tag> {
        self.shared.as_mut()?.next_turn(now)
    }

    /// The transfers waiting their turn, if it is time to tell their
    /// sessions they are alive.
    fn sweep(&mut self, now: Instant) -> Option<Vec<Tag>> {
        let shared = self.shared.as_ref()?;
        if now < self.next_sweep || shared.next_turn_at().is_none() {
            return None;
        }
        self.next_sweep = now + LONGEST_WAIT;
        Some(shared.waiting().collect())
    }
}

impl Server {
    /// Drives the sessions that had input left after their last drive.
    pub(super) fn read_unread(&mut self, now: Instant) {
        for (key, generation) in std::mem::take(&mut self.schedule.unread) {
            if self.live(key, generation, now).is_some() {
                self.drive(key, now);
            }
        }
    }

    /// Moves transfers from the run queue until the turn's budget is spent.
    pub(super) fn run_transfers(&mut self, now: Instant) {
        let mut spent = 0;
        while spent < TURN_BUDGET {
            let Some(tag) = self.schedule.runnable.pop_front() else {
                return;
            };
            let Some((conn, mut cx)) = self.addressee(tag, now) else {
                continue;
            };
            if conn.work.dequeue() {
                // A step costs a full step's bytes at least, whatever it
                // moved: one that moved few or none (a listing reading the
                // names its glob hides, a handshake) worked all the same,
                // and eight of those listings, each step counted as one
                // byte, held the loop for seconds (issue 23).
                spent += conn.pump(&mut cx).max(STEP);
            }
        }
    }

    /// Puts the parked transfers that are due back in the run queue, and
    /// the one whose turn it is at the shared bucket; tells those waiting
    /// their turn that they are alive, now and then.
    pub(super) fn wake_throttled(&mut self, now: Instant) {
        while let Some((_, key, generation)) = self.schedule.throttled.pop_due(now) {
            if let Some((conn, cx)) = self.live(key, generation, now) {
                conn.wake(cx.schedule);
            }
        }
        // A turn for a transfer that ended meanwhile goes to the next one.
        while let Some(tag) = self.schedule.next_turn(now) {
            if let Some((conn, cx)) = self.addressee(tag, now) {
                if conn.take_turn(cx.schedule) {
                    break;
                }
            }
        }
        self.keep_waiting_alive(now);
    }

    /// Every [`LONGEST_WAIT`]: the sessions of the transfers waiting their
    /// turn hear they are alive; the queue forgets those that ended.
    fn keep_waiting_alive(&mut self, now: Instant) {
        let Some(waiting) = self.schedule.sweep(now) else {
            return;
        };
        let mut still = Vec::with_capacity(waiting.len());
        for tag in waiting {
            let alive = self.addressee(tag, now);
            still.push(alive.is_some_and(|(conn, mut cx)| conn.keep_alive(&mut cx)));
        }
        if let Some(shared) = &mut self.schedule.shared {
            let mut still = still.into_iter();
            shared.retain(|_| still.next().unwrap_or(true));
        }
    }

    /// A session logged in, or ended: the transfers waiting for a login
    /// look again.
    pub(super) fn wake_awaiting_login(&mut self) {
        for tag in std::mem::take(&mut self.schedule.awaiting_login) {
            let conn = (self.connections.get_mut(tag.key)).filter(|c| c.tag == tag && !c.closing);
            if let Some(conn) = conn {
                conn.wake(&mut self.schedule);
            }
        }
    }

    /// SIGHUP: a new `--max-rate`; lifted, the transfers waiting their
    /// turn go back to the run queue.
    pub(super) fn set_total_rate(&mut self, total: Option<u64>, now: Instant) {
        for tag in self.schedule.set_total_rate(total, now) {
            if let Some((conn, cx)) = self.addressee(tag, now) {
                conn.take_turn(cx.schedule);
            }
        }
    }
}
