//! Data connections as they come and go, and transfers moved in bounded
//! steps from the run queue.

use std::io;
use std::time::{Duration, Instant};

use log::{debug, trace};
use mio::Interest;
use pocketftp_core::Event;

use super::token::{token, Source};
use super::{Server, BUFFER_SIZE, PROGRESS_INTERVAL};
use crate::conn::transfer::{Step, Transfer};
use crate::net::sockopt;
use crate::storage::error_kind::kind_of;

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

impl Server {
    pub(super) fn run_transfers(&mut self, now: Instant) {
        let mut spent = 0;
        while spent < TURN_BUDGET {
            let Some((key, generation)) = self.runnable.pop_front() else {
                return;
            };
            if let Some(conn) = self.live(key, generation) {
                conn.queued = false;
                // A step that moved nothing still counts: the turn ends.
                spent += self.pump(key, now).max(1);
            }
        }
    }

    /// Puts the connection's running transfer, if any, in the run queue (once).
    pub(super) fn schedule(&mut self, key: usize) {
        let conn = &mut self.connections[key];
        let idle = !conn.queued && !conn.settling && !conn.throttled && !conn.closing;
        if conn.transfer.is_some() && idle {
            conn.queued = true;
            self.runnable.push_back((key, conn.tag.generation));
        }
    }

    /// Takes one connection from the passive listener and offers it to the
    /// session, which may reject it (a foreign address): then the next one
    /// is taken. One waits for the session's word at a time.
    pub(super) fn accept_data(&mut self, key: usize) {
        loop {
            let conn = &mut self.connections[key];
            let Some(listener) = &conn.listener else {
                return;
            };
            if conn.data.is_some() || conn.closing {
                return;
            }
            let (mut stream, peer) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            sockopt::tune_data(&stream);
            let interest = Interest::READABLE | Interest::WRITABLE;
            let data_token = token(key, Source::Data);
            if (self.poll.registry())
                .register(&mut stream, data_token, interest)
                .is_ok()
            {
                conn.data = Some(stream);
                self.answer(key, Event::DataConnected { peer });
                return;
            }
        }
    }

    /// The active connect finished, one way or the other.
    pub(super) fn finish_connect(&mut self, key: usize) {
        let conn = &mut self.connections[key];
        let (Some(addr), Some(data)) = (conn.connecting, &conn.data) else {
            return;
        };
        let outcome = match data.take_error() {
            Ok(Some(e)) | Err(e) => Err(e),
            Ok(None) => data.peer_addr().map(|_| ()),
        };
        let event = match outcome {
            Ok(()) => Event::DataConnected { peer: addr },
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return, // not yet
            Err(e) => {
                debug!(
                    "{}: data connection to {addr} failed: {e}",
                    conn.session.peer()
                );
                conn.close_data(self.poll.registry());
                Event::Failed(kind_of(&e))
            }
        };
        conn.connecting = None;
        self.answer(key, event);
    }

    /// Moves one step of the running transfer; returns the bytes moved.
    pub(super) fn pump(&mut self, key: usize, now: Instant) -> usize {
        let Some(budget) = self.allowance(key, now) else {
            return 0;
        };
        let conn = &mut self.connections[key];
        let (Some(transfer), Some(data)) = (&mut conn.transfer, &mut conn.data) else {
            return 0;
        };
        let before = transfer.bytes;
        let step = transfer.step(data, &mut self.buffer, budget);
        let bytes = transfer.bytes;
        let moved = usize::try_from(bytes - before).unwrap_or(usize::MAX);
        let paid = bytes - before;
        for bucket in [conn.bucket.as_mut(), self.global_bucket.as_mut()] {
            bucket.into_iter().for_each(|b| b.spend(paid));
        }
        let event = match step {
            Ok(step @ (Step::Blocked | Step::MoreWork)) => {
                if step == Step::MoreWork {
                    self.schedule(key);
                }
                let conn = &mut self.connections[key];
                if bytes == conn.reported || now < conn.progress_due {
                    return moved;
                }
                conn.reported = bytes;
                conn.progress_due = now + PROGRESS_INTERVAL;
                Event::TransferProgress { bytes }
            }
            Ok(Step::Received) => {
                conn.settling = true;
                let generation = conn.tag.generation;
                self.settling
                    .push_back((now + UPLOAD_SETTLE, key, generation));
                return moved;
            }
            Ok(Step::Done) => {
                conn.close_data(self.poll.registry());
                Event::TransferDone { bytes }
            }
            Err(e) => {
                debug!(
                    "{}: transfer failed after {bytes} bytes: {e}",
                    conn.session.peer()
                );
                conn.close_data(self.poll.registry());
                Event::Failed(kind_of(&e))
            }
        };
        self.answer(key, event);
        moved
    }

    /// The bytes the transfer at `key` may move in this step: [`STEP`]
    /// ([`UPLOAD_STEP`] for an upload), or what its rate limits allow.
    /// `None` when a limit's bucket is short: the transfer is then parked
    /// until the bucket refills, so a limited transfer costs no turns while
    /// it waits and an unlimited one never waits for it.
    fn allowance(&mut self, key: usize, now: Instant) -> Option<usize> {
        let conn = &mut self.connections[key];
        let buckets = [conn.bucket.as_mut(), self.global_bucket.as_mut()];
        let upload = conn.transfer.as_ref().is_some_and(Transfer::is_upload);
        let mut allowed = if upload { UPLOAD_STEP } else { STEP } as u64;
        let mut ready_at = None;
        for bucket in buckets.into_iter().flatten() {
            bucket.refill(now);
            allowed = allowed.min(bucket.available());
            if !bucket.ready() {
                ready_at = ready_at.max(Some(bucket.ready_at()));
            }
        }
        let Some(at) = ready_at else {
            return Some(usize::try_from(allowed).unwrap_or(STEP));
        };
        conn.throttled = true;
        let wait = at.saturating_duration_since(now);
        trace!(
            "{}: rate limit: waiting {wait:?} for tokens",
            conn.session.peer()
        );
        self.throttled.push(at.max(now), key, conn.tag.generation);
        None
    }

    /// Puts the parked transfers whose buckets have refilled back in the
    /// run queue.
    pub(super) fn wake_throttled(&mut self, now: Instant) {
        while let Some((_, key, generation)) = self.throttled.pop_due(now) {
            if let Some(conn) = self.live(key, generation).filter(|c| c.throttled) {
                conn.throttled = false;
                self.schedule(key);
            }
        }
    }

    /// Commits the uploads whose settling time is over.
    pub(super) fn commit_settled_uploads(&mut self, now: Instant) {
        while let Some(&(at, key, generation)) = self.settling.front() {
            if at > now {
                return;
            }
            self.settling.pop_front();
            if self.live(key, generation).is_some_and(|c| c.settling) {
                if let Some(event) = self.commit_upload(key, now) {
                    self.answer(key, event);
                }
            }
        }
    }

    /// Every byte of an upload is in. Its client must still be there to
    /// hear the `226`: read what waits on the control connection first (an
    /// EOF there ends the session, and the upload with it, unless commands
    /// came before it). `None` if the upload is gone by then.
    fn commit_upload(&mut self, key: usize, now: Instant) -> Option<Event> {
        // The control connection's end may be in its socket without an edge
        // handled yet: look, whatever the last read said.
        self.connections[key].control_readable = true;
        self.drive(key, now);
        let conn = &mut self.connections[key];
        let mut transfer = conn.transfer.take().filter(|_| !conn.closing)?;
        let bytes = transfer.bytes;
        let event = match transfer.commit() {
            Ok(()) => Event::TransferDone { bytes },
            Err(e) => Event::Failed(kind_of(&e)),
        };
        conn.close_data(self.poll.registry());
        Some(event)
    }
}
