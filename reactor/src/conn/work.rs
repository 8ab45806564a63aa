//! The work of a transfer: what `Open` opened, then the running transfer
//! with its place in the schedule, its rate limit and its progress.
//! [`Work`] and everything in it are written here and nowhere else.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use log::{debug, error, trace, warn};
use pocketftp_core::{ErrorKind, Event, OpenMode, VirtualPath};

use super::commit::Early;
use super::open::{self, Opened};
use super::transfer::{Step, Transfer};
use super::{wall_clock, Connection, Cx};
use crate::rate::Bucket;
use crate::server::answers::Tag;
use crate::server::schedule::{Schedule, Wait};
use crate::storage::durable::Pending;
use crate::storage::error_kind::kind_of;
use crate::storage::s3::download::Download;
use crate::storage::s3::object_upload::Upload;

/// How often a running transfer tells its session about progress (for the
/// stall timer and STAT; seconds-scale, so a few times a second is plenty).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// What the connection holds for a transfer. Each state's payload is
/// boxed: an idle session carries only the tag in its slab entry, and a
/// transfer pays for its few hundred bytes while it lasts (issue 29: an
/// idle session's memory).
#[derive(Default)]
pub(crate) enum Work {
    #[default]
    Idle,
    /// `Open` opened the source or sink of the file at the path; it waits
    /// for `StartTransfer`.
    Opened(Box<Opened>, VirtualPath),
    Running(Box<Running>),
    /// An upload's every byte is in; it waits for `CommitUpload`, which the
    /// session asks for once the end of its control connection had time to
    /// show (`Config::upload_settle`).
    Received(Box<Transfer>, VirtualPath),
    /// Under `--sync`, an upload's every byte is in and its file is synced
    /// while it waits for `CommitUpload` (`commit.rs`).
    Early(Box<Early>),
    /// Its commit is on the sync worker (`commit.rs`); the hold on it,
    /// dropped, abandons it (`ABOR`, the session gone).
    Committing {
        _hold: Pending,
    },
}

/// A transfer under way.
pub(crate) struct Running {
    transfer: Transfer,
    /// The file it moves (for log lines).
    path: VirtualPath,
    sched: Sched,
    /// The transfer's own rate limit (`--max-rate-down`/`-up`).
    bucket: Option<Bucket>,
    progress: Progress,
    /// When its data connection stops waiting for another session's login
    /// (`Step::AwaitingLogin`), once it started to.
    login_deadline: Option<Instant>,
}

/// Where a running transfer stands in the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sched {
    /// Waits for its data socket's readiness.
    Idle,
    /// In the run queue.
    Queued,
    /// Out of its own bucket's tokens, or waiting for a login: parked
    /// until its timer in the schedule, and neither queued nor pumped before.
    Throttled,
    /// Waits its turn at the `--max-rate` bucket: woken by the schedule
    /// when the turn is its own, and neither queued nor pumped before.
    Turn,
}

/// Bytes last reported with `TransferProgress`, and when the next report
/// is due.
struct Progress {
    reported: u64,
    due: Instant,
}

impl Work {
    /// Drops whatever it holds; an unfinished upload's temporary file goes
    /// with it.
    pub fn clear(&mut self) {
        *self = Work::Idle;
    }

    /// How far the running (or received) transfer got: what its session
    /// is told right before the end of its control connection.
    pub fn count(&self) -> Option<u64> {
        match self {
            Work::Running(running) => Some(running.transfer.bytes),
            Work::Received(transfer, _) => Some(transfer.bytes),
            Work::Early(early) => early.count(),
            Work::Idle | Work::Opened(..) | Work::Committing { .. } => None,
        }
    }

    /// The sync worker answered the commit: the work is done.
    pub fn synced(&mut self) {
        if let Work::Committing { .. } = self {
            *self = Work::Idle;
        }
    }

    /// The bucket's object the running transfer sends, if it is one.
    pub fn download_mut(&mut self) -> Option<&mut Download> {
        match self {
            Work::Running(running) => running.transfer.download_mut(),
            _ => None,
        }
    }

    /// The upload to the bucket the transfer receives (or has received).
    pub fn upload_mut(&mut self) -> Option<&mut Upload> {
        match self {
            Work::Running(running) => running.transfer.upload_mut(),
            Work::Received(transfer, _) => transfer.upload_mut(),
            _ => None,
        }
    }

    /// Takes a queued transfer off the run queue: true if there was one.
    pub fn dequeue(&mut self) -> bool {
        match self {
            Work::Running(running) if running.sched == Sched::Queued => {
                running.sched = Sched::Idle;
                true
            }
            _ => false,
        }
    }
}

impl Running {
    /// The bytes this step may move (see `Schedule::allowance`); `None`
    /// when a rate limit's bucket is short: the transfer then waits until
    /// its own bucket refills, or for its turn at the shared one.
    fn budget(&mut self, tag: Tag, peer: SocketAddr, cx: &mut Cx) -> Option<usize> {
        let upload = self.transfer.is_upload();
        match cx
            .schedule
            .allowance(tag, self.bucket.as_mut(), upload, cx.now)
        {
            Ok(budget) => Some(budget),
            Err(Wait::Until(at)) => {
                self.sched = Sched::Throttled;
                let wait = at.saturating_duration_since(cx.now);
                trace!("{peer}: rate limit: waiting {wait:?} for tokens");
                cx.schedule.park(tag, at, cx.now);
                None
            }
            Err(Wait::Turn) => {
                self.sched = Sched::Turn;
                trace!("{peer}: rate limit: waiting its turn at --max-rate");
                None
            }
        }
    }

    /// Its data connection waits for the login of the session whose TLS
    /// session it resumed: parked until a login or a session end wakes it,
    /// as a rate-limited one is (the wait is the server's: its session
    /// hears it alive), for `--data-timeout` at most; false once that passed.
    fn await_login(&mut self, tag: Tag, cx: &mut Cx) -> bool {
        let timeout = cx.settings.config.data_timeout;
        let deadline = (self.login_deadline)
            .get_or_insert_with(|| cx.now.checked_add(timeout).unwrap_or(cx.now));
        if cx.now >= *deadline {
            return false;
        }
        self.sched = Sched::Throttled;
        cx.schedule.park(tag, *deadline, cx.now);
        cx.schedule.await_login(tag);
        true
    }

    /// Puts the transfer in the run queue, once.
    fn enqueue(&mut self, tag: Tag, schedule: &mut Schedule) {
        if self.sched == Sched::Idle {
            self.sched = Sched::Queued;
            schedule.run(tag);
        }
    }
}

impl Progress {
    /// Whether `bytes` are news worth a `TransferProgress` now; if so, they
    /// are the last reported from now on.
    fn report(&mut self, bytes: u64, now: Instant) -> bool {
        bytes != self.reported && self.alive(bytes, now)
    }

    /// Whether a `TransferProgress` is due now, news or not (a transfer
    /// waiting for tokens is alive); if so, `bytes` are the last reported.
    fn alive(&mut self, bytes: u64, now: Instant) -> bool {
        if now < self.due {
            return false;
        }
        self.reported = bytes;
        self.due = now + PROGRESS_INTERVAL;
        true
    }
}

impl Connection {
    /// `Action::Open`: opens the source or sink of the next transfer.
    /// Its data connection is usually waiting by then (curl, lftp, ftplib
    /// and ftpbench connect before they send the command): it is taken
    /// now, not a turn of the loop later when the listener's readiness
    /// comes, so the `150` and the bytes leave in this turn.
    pub(super) fn open(&mut self, path: &VirtualPath, mode: OpenMode, cx: &mut Cx) {
        if let Some(store) = self.bucket(cx).cloned() {
            return self.start_store_open(&store, path, mode, cx);
        }
        let doing = match mode {
            OpenMode::Read { .. } => "read",
            OpenMode::List { .. } => "list",
            _ => "upload to",
        };
        // STOU's create is the one open the storage does not explain
        // (`refusal.rs`): a read-only file system is said here.
        let explained = !matches!(mode, OpenMode::CreateUnique);
        let min_free = cx.settings.limits.min_free;
        let durable = cx.settings.sync.uploads();
        let upload = !matches!(mode, OpenMode::Read { .. } | OpenMode::List { .. });
        let room = if upload {
            self.quota_room(cx)
        } else {
            Ok(None)
        };
        let opened = room.and_then(|room| {
            let result = open::open(self.storage(cx.root), path, mode, min_free)?;
            Ok(result.within_quota(room).durable(durable))
        });
        let event = match opened {
            Ok(result) => {
                let path = result.unique_name.as_ref().unwrap_or(path).clone();
                self.work = Work::Opened(Box::new(result.opened), path);
                Event::Opened {
                    size: result.size,
                    unique_name: result.unique_name,
                }
            }
            Err(e) => {
                let peer = self.session.peer();
                if explained {
                    cx.faults.note_action(peer, doing, path, &e);
                } else {
                    cx.faults.note(peer, doing, path, &e);
                }
                return self.answer(cx.answers, Event::Failed(kind_of(&e)));
            }
        };
        self.answer_opened(event, cx);
    }

    /// Answers a file's opening and takes the data connection its transfer
    /// waits for: a passive listener joins the poll only from then on
    /// (`conn/data.rs`), so every way of opening, the disk's or a
    /// bucket's, must end here.
    pub(super) fn answer_opened(&mut self, opened: Event, cx: &mut Cx) {
        self.answer(cx.answers, opened);
        self.accept_data(cx);
    }

    /// `Action::StartTransfer`: the opened file and the data connection
    /// become a running transfer (over TLS when `protected`).
    pub(super) fn start_transfer(&mut self, ascii: bool, protected: bool, cx: &mut Cx) {
        let upload =
            matches!(&self.work, Work::Opened(opened, _) if matches!(**opened, Opened::Upload(_)));
        let tls = match self.control.data_tls(protected, upload) {
            Ok(tls) => tls,
            Err(e) => {
                warn!("cannot start TLS on a data connection: {e}");
                return self.answer(cx.answers, not_started(ErrorKind::HandshakeFailed));
            }
        };
        let opened = match std::mem::take(&mut self.work) {
            Work::Opened(opened, path) => Some((opened, path)),
            other => {
                self.work = other;
                None
            }
        };
        let Some((opened, path)) = opened.filter(|_| self.data.is_connected()) else {
            error!("reactor bug: StartTransfer without an opened file and a data connection");
            return self.answer(cx.answers, not_started(ErrorKind::Other));
        };
        let rates = cx.settings.limits.rates;
        let rate = if upload { rates.up } else { rates.down };
        self.work = Work::Running(Box::new(Running {
            transfer: Transfer::new(*opened, ascii, tls, wall_clock()),
            path,
            sched: Sched::Idle,
            bucket: rate.map(|r| Bucket::new(r, cx.now)),
            progress: Progress {
                reported: 0,
                due: cx.now + PROGRESS_INTERVAL,
            },
            login_deadline: None,
        }));
        // Data may already be waiting: its edge will not come again.
        self.schedule(cx.schedule);
    }

    /// Puts the running transfer, if any, in the run queue (once).
    pub fn schedule(&mut self, schedule: &mut Schedule) {
        if let (Work::Running(running), false) = (&mut self.work, self.closing) {
            running.enqueue(self.tag, schedule);
        }
    }

    /// A parked transfer is due: back in the run queue.
    pub fn wake(&mut self, schedule: &mut Schedule) {
        self.resume_from(Sched::Throttled, schedule);
    }

    /// Its turn at the shared bucket came: back in the run queue. False if
    /// it was not waiting for one (the turn goes to the next in line).
    pub fn take_turn(&mut self, schedule: &mut Schedule) -> bool {
        self.resume_from(Sched::Turn, schedule)
    }

    /// Puts the running transfer in the run queue if it waits as `waiting`.
    fn resume_from(&mut self, waiting: Sched, schedule: &mut Schedule) -> bool {
        match &mut self.work {
            Work::Running(running) if running.sched == waiting => {
                running.sched = Sched::Idle;
                self.schedule(schedule);
                true
            }
            _ => false,
        }
    }

    /// A transfer waiting for tokens: the wait is the server's, not a
    /// stall, so its session hears that it is alive (which re-arms its
    /// stall timer) every [`PROGRESS_INTERVAL`]. True while it waits its
    /// turn at the shared bucket.
    pub fn keep_alive(&mut self, cx: &mut Cx) -> bool {
        let Work::Running(running) = &mut self.work else {
            return false;
        };
        if !matches!(running.sched, Sched::Throttled | Sched::Turn) {
            return false;
        }
        let (bytes, turn) = (running.transfer.bytes, running.sched == Sched::Turn);
        if running.progress.alive(bytes, cx.now) {
            self.answer(cx.answers, Event::TransferProgress { bytes });
        }
        turn
    }

    /// Moves one step of the running transfer, as far as its rate limits
    /// allow; returns the bytes moved.
    pub fn pump(&mut self, cx: &mut Cx) -> usize {
        let Work::Running(running) = &mut self.work else {
            return 0;
        };
        let Some(budget) = running.budget(self.tag, self.session.peer(), cx) else {
            self.keep_alive(cx);
            return 0;
        };
        let Some(data) = self.data.stream() else {
            return 0;
        };
        let before = running.transfer.bytes;
        let mut step = running.transfer.step(data, cx.buffer, budget);
        if matches!(step, Ok(Step::AwaitingLogin)) && !running.await_login(self.tag, cx) {
            step = Err(running.transfer.refuse(data));
        }
        let waits_for = running.transfer.waits_for();
        let step = step.and_then(|step| match step {
            Step::Blocked => (self.data.watch(cx.registry, self.tag.key, waits_for)).map(|()| step),
            step => Ok(step),
        });
        // A download from a bucket: its GET is read on into the room the
        // step made; an upload's full part goes at once.
        if running.transfer.download_mut().is_some() || running.transfer.upload_mut().is_some() {
            self.send_transfer_request(cx);
        }
        let Work::Running(running) = &mut self.work else {
            return 0;
        };
        let bytes = running.transfer.bytes;
        let moved = usize::try_from(bytes - before).unwrap_or(usize::MAX);
        if let Some(bucket) = &mut running.bucket {
            bucket.spend(bytes - before);
        }
        cx.schedule.spend(bytes - before);
        cx.stats.moved(running.transfer.is_upload(), bytes - before);
        if let Some(event) = self.stepped(cx, step, bytes) {
            self.answer(cx.answers, event);
        }
        moved
    }

    /// What a step of the running transfer, `bytes` into it, tells the
    /// session, if anything yet: progress now and then, a received upload,
    /// the end, or the failure.
    fn stepped(&mut self, cx: &mut Cx, step: io::Result<Step>, bytes: u64) -> Option<Event> {
        let Work::Running(running) = &mut self.work else {
            return None;
        };
        let event = match step {
            Ok(step @ (Step::Blocked | Step::MoreWork)) => {
                if step == Step::MoreWork && !self.closing {
                    running.enqueue(self.tag, cx.schedule);
                }
                if !running.progress.report(bytes, cx.now) {
                    return None;
                }
                Event::TransferProgress { bytes }
            }
            Ok(Step::AwaitingLogin) => {
                self.keep_alive(cx);
                return None;
            }
            Ok(Step::Received) => {
                // The end of the control connection decides what becomes
                // of it, and may be in its socket without an edge handled
                // yet: the next drive looks, whatever the last read said.
                self.control.mark_readable(true);
                if let Work::Running(running) = std::mem::take(&mut self.work) {
                    self.work = self.received(running.transfer, running.path, cx);
                }
                Event::UploadReceived { bytes }
            }
            Ok(Step::Done) => {
                self.close_data();
                Event::TransferDone { bytes }
            }
            Err(e) => {
                let peer = self.session.peer();
                debug!("{peer}: transfer failed after {bytes} bytes: {e}");
                let doing = if running.transfer.is_upload() {
                    "write"
                } else {
                    "read"
                };
                cx.faults.note(peer, doing, &running.path, &e);
                self.close_data();
                let kind = kind_of(&e);
                Event::TransferFailed { kind, bytes }
            }
        };
        Some(event)
    }

    /// `Action::CommitUpload`: puts the received upload in place, durably
    /// under `--sync` (`commit.rs`: then the answer comes from the sync
    /// worker); its data connection goes either way. An upload to a
    /// bucket is completed by its last request (`bucket.rs`).
    pub(super) fn commit_upload(&mut self, cx: &mut Cx) {
        if self.work.upload_mut().is_some() {
            return self.commit_object(cx);
        }
        let work = std::mem::take(&mut self.work);
        self.close_data();
        let (mut transfer, path) = match work {
            Work::Received(transfer, path) => (transfer, path),
            Work::Early(early) => return self.commit_early(early, cx),
            _ => {
                error!("reactor bug: CommitUpload without a received upload");
                return self.answer(cx.answers, not_started(ErrorKind::Other));
            }
        };
        let bytes = transfer.bytes;
        let event = match transfer.commit() {
            Ok(()) => Event::TransferDone { bytes },
            Err(e) => self.not_put_in_place(&path, &e, bytes, cx),
        };
        self.answer(cx.answers, event);
    }

    /// A received upload could not be put in place: noted, and the
    /// session told.
    pub(super) fn not_put_in_place(
        &self,
        path: &VirtualPath,
        e: &io::Error,
        bytes: u64,
        cx: &mut Cx,
    ) -> Event {
        cx.faults.note(self.session.peer(), "put in place", path, e);
        Event::TransferFailed {
            kind: kind_of(e),
            bytes,
        }
    }
}

/// The answer to a transfer that failed before it moved a byte.
fn not_started(kind: ErrorKind) -> Event {
    Event::TransferFailed { kind, bytes: 0 }
}
