//! The daemon's own requests to its bucket (`--storage s3://...`), on
//! sockets of its own in the loop, carried by the same `BucketRequest` as
//! a session's (deadlines, retries, backoff; nothing blocks):
//!
//! - the aborts of broken multipart uploads, which must outlive their
//!   session (`storage/s3/aborts.rs` queues them), at most
//!   [`ABORTS_AT_ONCE`] on their way;
//! - `/healthz`'s probe: a HEAD of the bucket, one attempt, its verdict
//!   kept for [`HEALTH_FRESH`] so that a scraper probing often costs the
//!   store one request a second at most. `/healthz` answers with the last
//!   verdict and asks again when it is older: the reply says how the
//!   bucket answered a second ago at most (until the first probe, as
//!   start-up's check found it: answering).

use std::time::{Duration, Instant};

use log::{info, warn};

use super::token::{token, Source, BUCKET_KEYS, ERRAND_KEYS};
use super::Server;
use crate::conn::bucket_request::{BucketRequest, Progress};
use crate::storage::s3::S3Request;

/// Aborts on their way at once (the daemon's sockets to the bucket are
/// the probe's, then the aborts'); more wait in their queue.
pub(crate) const ABORTS_AT_ONCE: usize = ERRAND_KEYS - 1;

/// The probe's slot.
const PROBE: usize = 0;

/// How long a probe's verdict stands.
pub(crate) const HEALTH_FRESH: Duration = Duration::from_secs(1);

/// An abort's or a probe's answer body (an error document at most).
const MAX_ANSWER: usize = 64 * 1024;

/// The requests on their way, and the bucket's last verdict.
#[derive(Default)]
pub(crate) struct BucketErrands {
    slots: [Option<BucketRequest>; ERRAND_KEYS],
    /// When the last probe was sent, and what it found (`None`: none yet).
    health: Option<(Instant, Result<(), String>)>,
}

impl Server {
    /// Closes the store's connections idle too long, sends the aborts
    /// that wait, as far as slots are free; a late request fails or is
    /// asked again.
    pub(super) fn bucket_turn(&mut self, now: Instant) {
        if let Some(store) = &self.bucket {
            store.endpoint().close_idle(now);
        }
        for index in 0..ERRAND_KEYS {
            let late = (self.errands.slots[index].as_ref()).is_some_and(|r| r.due() <= now);
            if let (true, Some(request)) = (late, &mut self.errands.slots[index]) {
                let progress = request.on_timer(self.poll.registry(), now);
                self.bucket_progressed(index, progress);
            }
        }
        for index in PROBE + 1..=ABORTS_AT_ONCE {
            if self.errands.slots[index].is_some() {
                continue;
            }
            let Some(abort) = self.bucket.as_ref().and_then(|s| s.aborts().next()) else {
                return;
            };
            self.errands.slots[index] = self.send_errand(&abort, index, now);
        }
    }

    /// A readiness event on the socket of the slot `index`.
    pub(super) fn on_bucket_ready(&mut self, index: usize, now: Instant) {
        let Some(request) = self.errands.slots.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        let progress = request.on_ready(self.poll.registry(), now);
        self.bucket_progressed(index, progress);
    }

    /// When the bucket's requests next need the loop.
    pub(super) fn bucket_due(&self) -> Option<Instant> {
        let store = self.bucket.as_ref()?;
        let free = self.errands.slots[PROBE + 1..].iter().any(Option::is_none);
        if free && !store.aborts().is_empty() {
            return Some(Instant::now());
        }
        (self.errands.slots.iter().flatten())
            .map(BucketRequest::due)
            .chain(store.endpoint().next_idle_end())
            .min()
    }

    /// No abort waits or is on its way (the daemon may stop).
    pub(super) fn bucket_errands_done(&self) -> bool {
        let waiting = self.bucket.as_ref().is_some_and(|s| !s.aborts().is_empty());
        !waiting && self.errands.slots[PROBE + 1..].iter().all(Option::is_none)
    }

    /// The bucket's last verdict for `/healthz` (`Ok` without a bucket);
    /// a new probe goes if it is older than [`HEALTH_FRESH`].
    pub(super) fn bucket_health(&mut self, now: Instant) -> Result<(), String> {
        let Some(store) = &self.bucket else {
            return Ok(());
        };
        let stale = (self.errands.health.as_ref()).is_none_or(|(at, _)| *at + HEALTH_FRESH <= now);
        if stale && self.errands.slots[PROBE].is_none() {
            let probe = store.check_bucket();
            let last = (self.errands.health.take()).map_or(Ok(()), |(_, verdict)| verdict);
            self.errands.health = Some((now, last));
            match probe {
                Ok(probe) => self.errands.slots[PROBE] = self.send_errand(&probe, PROBE, now),
                Err(e) => self.errand_over(PROBE, "HEAD /", Err(e.to_string())),
            }
        }
        (self.errands.health.as_ref()).map_or(Ok(()), |(_, verdict)| verdict.clone())
    }

    /// `request` sent from the slot `index` (`None`: it failed at once,
    /// said in the log).
    fn send_errand(
        &mut self,
        request: &S3Request,
        index: usize,
        now: Instant,
    ) -> Option<BucketRequest> {
        let store = self.bucket.as_ref()?;
        let key = token(BUCKET_KEYS + index, Source::Daemon);
        let cx = (self.poll.registry(), now);
        match BucketRequest::send(request, Vec::new(), MAX_ANSWER, store.endpoint(), key, cx) {
            Ok(sent) if index == PROBE => Some(sent.only_once()),
            Ok(sent) => Some(sent),
            Err(why) => {
                self.errand_over(index, &request.describe(), Err(why));
                None
            }
        }
    }

    fn bucket_progressed(&mut self, index: usize, progress: Progress) {
        let answer = match progress {
            // Resume: streamed requests only, which an errand is not.
            Progress::Pending | Progress::Resume => return,
            Progress::Answered(head, _) => Ok(head.status),
            Progress::Failed(why) => Err(why),
        };
        if let Some(request) = self.errands.slots[index].take() {
            self.errand_over(index, &request.asked, answer);
        }
    }

    /// The request `asked` from the slot `index` is over: answered with
    /// a status, or failed for good.
    fn errand_over(&mut self, index: usize, asked: &str, answer: Result<u16, String>) {
        if index != PROBE {
            return match answer {
                Ok(200 | 204 | 404) => info!("{asked}: aborted"),
                Ok(status) => warn!("{asked}: {status}; its parts stay"),
                Err(why) => warn!("{why}; its parts stay"),
            };
        }
        let verdict = match answer {
            Ok(200) => Ok(()),
            Ok(403) => Err("the bucket refuses our keys (403)".to_owned()),
            Ok(404) => Err("the bucket is not there (404)".to_owned()),
            Ok(status) => Err(format!("the bucket answered {status}")),
            Err(why) => Err(format!("the bucket is unreachable: {why}")),
        };
        if let Some((_, last)) = &mut self.errands.health {
            *last = verdict;
        }
    }
}
