//! Who moves next: transfers taken from the run queue in turn, a bounded
//! step each, until the turn's byte budget is spent; rate-limited ones
//! parked on a timer until their buckets refill; received uploads waiting
//! to settle; and sessions with more input than one drive takes.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::answers::Tag;
use super::deadlines::Deadlines;
use super::{Server, BUFFER_SIZE};
use crate::rate::Bucket;

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
/// How long a received upload waits before it is committed, for the end of
/// its control connection to show. A client killed mid-upload closes its
/// data connection first (the kernel releases a dying process's sockets in
/// reverse order): its control connection's end follows within
/// microseconds, and must break the upload, not find it already in place.
pub(crate) const UPLOAD_SETTLE: Duration = Duration::from_millis(5);

/// The queues of work waiting for a turn of the loop.
pub(crate) struct Schedule {
    /// Transfers with work to do, served in turn, [`STEP`] bytes at a time,
    /// [`TURN_BUDGET`] per turn of the loop. Addressed as answers are: an
    /// entry for a transfer its session dropped meanwhile is skipped.
    runnable: VecDeque<Tag>,
    /// `--max-rate`: the bucket every transfer draws from, when set.
    global_bucket: Option<Bucket>,
    /// Rate-limited transfers out of tokens, each due back in the run
    /// queue when its buckets hold enough again (a timer, never a busy loop).
    throttled: Deadlines,
    /// Received uploads waiting for [`UPLOAD_SETTLE`], in deadline order.
    settling: VecDeque<(Instant, usize, u32)>,
    /// Sessions that had more input than one drive takes.
    unread: VecDeque<(usize, u32)>,
}

impl Schedule {
    /// An empty schedule; `total` is `--max-rate`.
    pub fn new(total: Option<u64>, now: Instant) -> Schedule {
        Schedule {
            runnable: VecDeque::new(),
            global_bucket: total.map(|r| Bucket::new(r, now)),
            throttled: Deadlines::default(),
            settling: VecDeque::new(),
            unread: VecDeque::new(),
        }
    }

    /// SIGHUP: a changed `--max-rate` starts a new bucket.
    pub fn set_total_rate(&mut self, total: Option<u64>, now: Instant) {
        if total != self.global_bucket.as_ref().map(Bucket::rate) {
            self.global_bucket = total.map(|r| Bucket::new(r, now));
        }
    }

    /// Nothing waits for the next turn: the loop may sleep.
    pub fn is_idle(&self) -> bool {
        self.runnable.is_empty() && self.unread.is_empty()
    }

    /// When a parked transfer or a settling upload is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        let settled = self.settling.front().map(|(at, _, _)| *at);
        self.throttled.next().into_iter().chain(settled).min()
    }

    /// Puts a transfer in the run queue.
    pub fn run(&mut self, tag: Tag) {
        self.runnable.push_back(tag);
    }

    /// Gives a session that read its fill another drive next turn.
    pub fn read_later(&mut self, tag: Tag) {
        self.unread.push_back((tag.key, tag.generation));
    }

    /// Parks a rate-limited transfer until `at`.
    pub fn park(&mut self, tag: Tag, at: Instant) {
        self.throttled.push(at, tag.key, tag.generation);
    }

    /// A received upload waits [`UPLOAD_SETTLE`] before it is committed.
    pub fn settle(&mut self, tag: Tag, now: Instant) {
        (self.settling).push_back((now + UPLOAD_SETTLE, tag.key, tag.generation));
    }

    /// The bytes a transfer may move in this step: [`STEP`]
    /// ([`UPLOAD_STEP`] for an upload), or what its rate limits allow.
    /// `Err` with the time its buckets will hold enough when a limit's
    /// bucket is short: the transfer is then parked until then, so a
    /// limited transfer costs no turns while it waits and an unlimited one
    /// never waits for it.
    pub fn allowance(
        &mut self,
        own: Option<&mut Bucket>,
        upload: bool,
        now: Instant,
    ) -> Result<usize, Instant> {
        let mut allowed = if upload { UPLOAD_STEP } else { STEP } as u64;
        let mut ready_at = None;
        for bucket in [own, self.global_bucket.as_mut()].into_iter().flatten() {
            bucket.refill(now);
            allowed = allowed.min(bucket.available());
            if !bucket.ready() {
                ready_at = ready_at.max(Some(bucket.ready_at()));
            }
        }
        match ready_at {
            Some(at) => Err(at),
            None => Ok(usize::try_from(allowed).unwrap_or(STEP)),
        }
    }

    /// Pays the daemon-wide bucket for `bytes` moved.
    pub fn spend(&mut self, bytes: u64) {
        if let Some(bucket) = &mut self.global_bucket {
            bucket.spend(bytes);
        }
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

    /// Puts the parked transfers whose buckets have refilled back in the
    /// run queue.
    pub(super) fn wake_throttled(&mut self, now: Instant) {
        while let Some((_, key, generation)) = self.schedule.throttled.pop_due(now) {
            if let Some((conn, cx)) = self.live(key, generation, now) {
                conn.wake(cx.schedule);
            }
        }
    }

    /// Commits the uploads whose settling time is over. Every byte of such
    /// an upload is in, and its client must still be there to hear the
    /// `226`: what waits on the control connection is read first (an EOF
    /// there ends the session, and the upload with it, unless commands came
    /// before it).
    pub(super) fn commit_settled_uploads(&mut self, now: Instant) {
        while let Some(&(at, key, generation)) = self.schedule.settling.front() {
            if at > now {
                return;
            }
            self.schedule.settling.pop_front();
            let Some((conn, _)) = self.live(key, generation, now) else {
                continue;
            };
            if !conn.work.is_settling() {
                continue;
            }
            // The control connection's end may be in its socket without an
            // edge handled yet: look, whatever the last read said.
            conn.control.mark_readable();
            self.drive(key, now);
            if let Some((conn, mut cx)) = self.live(key, generation, now) {
                conn.commit_upload(&mut cx);
            }
        }
    }
}
