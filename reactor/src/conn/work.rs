//! The work of a transfer: what `Open` opened, then the running transfer
//! with its place in the schedule, its rate limit and its progress.

use std::io;
use std::time::{Duration, Instant};

use log::{debug, error, trace, warn};
use pocketftp_core::{ErrorKind, Event, OpenMode, VirtualPath};

use super::open::{self, Opened};
use super::transfer::{Step, Transfer};
use super::{wall_clock, Connection, Cx};
use crate::net::tls::TlsLayer;
use crate::rate::Bucket;
use crate::server::Schedule;
use crate::storage::error_kind::kind_of;

/// How often a running transfer tells its session about progress (for the
/// stall timer and STAT; seconds-scale, so a few times a second is plenty).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

impl Connection {
    /// `Action::Open`: opens the source or sink of the next transfer.
    pub(super) fn open(&mut self, path: &VirtualPath, mode: OpenMode, cx: &mut Cx) {
        let event = match open::open(self.storage(cx.root), path, mode) {
            Ok(result) => {
                self.opened = Some(result.opened);
                Event::Opened {
                    size: result.size,
                    unique_name: result.unique_name,
                }
            }
            Err(e) => Event::Failed(kind_of(&e)),
        };
        self.answer(cx.answers, event);
    }

    /// `Action::StartTransfer`: the opened file and the data connection
    /// become a running transfer (over TLS when `protected`).
    pub(super) fn start_transfer(&mut self, ascii: bool, protected: bool, cx: &mut Cx) {
        let upload = matches!(self.opened, Some(Opened::Upload { .. }));
        let tls = match (protected, &cx.settings.tls) {
            (false, _) => Ok(None),
            (true, Some(configs)) => {
                let layer = if upload {
                    TlsLayer::new(&configs.upload, &[]).map(TlsLayer::with_inbox)
                } else {
                    TlsLayer::new(&configs.ticketing, &[])
                };
                layer.map(|t| Some(Box::new(t)))
            }
            (true, None) => Err(io::Error::other("no TLS configuration")),
        };
        let tls = match tls {
            Ok(tls) => tls,
            Err(e) => {
                warn!("cannot start TLS on a data connection: {e}");
                return self.answer(cx.answers, Event::Failed(ErrorKind::HandshakeFailed));
            }
        };
        match self.opened.take() {
            Some(opened) if self.data.is_connected() => {
                let rates = cx.settings.limits.rates;
                let rate = match opened {
                    Opened::Upload { .. } => rates.up,
                    Opened::Download { .. } | Opened::Listing { .. } => rates.down,
                };
                self.bucket = rate.map(|r| Bucket::new(r, cx.now));
                self.transfer = Some(Transfer::new(opened, ascii, tls, wall_clock()));
                self.reported = 0;
                self.progress_due = cx.now + PROGRESS_INTERVAL;
                // Data may already be waiting: its edge will not come again.
                self.schedule(cx.schedule);
            }
            _ => {
                error!("reactor bug: StartTransfer without an opened file and a data connection");
                self.answer(cx.answers, Event::Failed(ErrorKind::Other));
            }
        }
    }

    /// Puts the running transfer, if any, in the run queue (once).
    pub fn schedule(&mut self, schedule: &mut Schedule) {
        let idle = !self.queued && !self.settling && !self.throttled && !self.closing;
        if self.transfer.is_some() && idle {
            self.queued = true;
            schedule.run(self.tag);
        }
    }

    /// Moves one step of the running transfer, as far as its rate limits
    /// allow; returns the bytes moved.
    pub fn pump(&mut self, cx: &mut Cx) -> usize {
        let upload = self.transfer.as_ref().is_some_and(Transfer::is_upload);
        let budget = match cx.schedule.allowance(self.bucket.as_mut(), upload, cx.now) {
            Ok(budget) => budget,
            Err(at) => {
                self.throttled = true;
                let wait = at.saturating_duration_since(cx.now);
                let peer = self.session.peer();
                trace!("{peer}: rate limit: waiting {wait:?} for tokens");
                cx.schedule.park(self.tag, at.max(cx.now));
                return 0;
            }
        };
        let (Some(transfer), Some(data)) = (&mut self.transfer, self.data.stream()) else {
            return 0;
        };
        let before = transfer.bytes;
        let step = transfer.step(data, cx.buffer, budget);
        let bytes = transfer.bytes;
        let moved = usize::try_from(bytes - before).unwrap_or(usize::MAX);
        let paid = bytes - before;
        if let Some(bucket) = &mut self.bucket {
            bucket.spend(paid);
        }
        cx.schedule.spend(paid);
        let event = match step {
            Ok(step @ (Step::Blocked | Step::MoreWork)) => {
                if step == Step::MoreWork {
                    self.schedule(cx.schedule);
                }
                if bytes == self.reported || cx.now < self.progress_due {
                    return moved;
                }
                self.reported = bytes;
                self.progress_due = cx.now + PROGRESS_INTERVAL;
                Event::TransferProgress { bytes }
            }
            Ok(Step::Received) => {
                self.settling = true;
                cx.schedule.settle(self.tag, cx.now);
                return moved;
            }
            Ok(Step::Done) => {
                self.close_data(cx.registry);
                Event::TransferDone { bytes }
            }
            Err(e) => {
                let peer = self.session.peer();
                debug!("{peer}: transfer failed after {bytes} bytes: {e}");
                self.close_data(cx.registry);
                Event::Failed(kind_of(&e))
            }
        };
        self.answer(cx.answers, event);
        moved
    }

    /// Commits the received upload (gone if the session dropped it meanwhile).
    pub fn commit_upload(&mut self, cx: &mut Cx) {
        let Some(mut transfer) = self.transfer.take() else {
            return;
        };
        let bytes = transfer.bytes;
        let event = match transfer.commit() {
            Ok(()) => Event::TransferDone { bytes },
            Err(e) => Event::Failed(kind_of(&e)),
        };
        self.close_data(cx.registry);
        self.answer(cx.answers, event);
    }

    /// Tells the session how far its running transfer got, before news
    /// that may end it: an interrupted transfer is then logged (and
    /// written to the xferlog) with the bytes it really moved.
    pub(super) fn report_progress(&mut self, now: Instant) {
        let Some(bytes) = self.transfer.as_ref().map(|t| t.bytes) else {
            return;
        };
        if bytes != self.reported && !self.session.is_closed() {
            self.reported = bytes;
            // A transfer exists only while its session is running it.
            let _ = self
                .session
                .handle_event(now, Event::TransferProgress { bytes });
        }
    }
}
