//! One client's connection: its session, its sockets, and what the session
//! asked the reactor to hold for it.
//!
//! [`Connection::drive`] follows any input: it drains the session (the
//! core's drain rule, the same loop as its simulation's: every action
//! carried out, every reply written that the socket takes), and reads more
//! commands while the session has room. [`Connection::perform`] sends each
//! action to the part of the connection that owns it: the control
//! connection (`control.rs`), the data connection (`data.rs`), the
//! transfer's work (`work.rs`), or the served files. While it acts, a
//! connection borrows what it needs of the server as one [`Cx`].

mod announce;
mod ascii_size;
mod bucket;
pub(crate) mod bucket_request;
mod commit;
mod control;
pub(crate) use commit::Synced;
pub(crate) use control::Control;
mod data;
pub(crate) mod listing;
pub(crate) mod open;
mod quota;
pub(crate) mod transfer;
mod work;

use std::fs::File;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use log::{error, warn};
use mio::Registry;
use pocketftp_core::{Action, ErrorKind, Event, Output, Session, TransferRecord, VirtualPath};

use crate::admin::census::Mark;
use crate::admin::stats::Stats;
use crate::auth::worker::{Check, PasswordWorker};
use crate::hooks::Hooks;
use crate::quota::{Ledger, Quota, Usage};
use crate::server::answers::{Answer, Answers, ControlEnd, Tag};
use crate::server::deadlines::Deadlines;
use crate::server::notices::Notices;
use crate::server::schedule::Schedule;
use crate::server::settings::Settings;
use crate::storage::error_kind::kind_of;
use crate::storage::faults::Faults;
use crate::storage::jail::Jail;
use crate::storage::s3::Store;
use crate::storage::sync::SyncWorker;
use announce::PendingUpload;
use bucket::StoreOp;
use data::DataSide;
use work::Work;

/// Control reads one session gets per drive; past them it waits for the
/// next turn, so a client pipelining without end cannot hold the loop.
const READS_PER_DRIVE: usize = 16;

pub(crate) struct Connection {
    pub tag: Tag,
    pub session: Session,
    /// The user's home folder, which the session sees as `/`; `None`: the root.
    pub home: Option<Rc<Jail>>,
    /// Served from a bucket: the user's home prefix (`None`: the bucket's
    /// root, [`Cx::bucket`]).
    pub store: Option<Store>,
    /// The file action on the bucket under way (`bucket.rs`); boxed, as
    /// `fetch`: on local storage every session would carry it unused.
    store_op: Option<Box<StoreOp>>,
    /// A transfer's request to the bucket under way: a download's GET, an
    /// upload's part or its last request (`bucket.rs`).
    fetch: Option<Box<bucket_request::BucketRequest>>,
    /// The account the session logged in as, once its password was right
    /// (what `--max-sessions-per-user` counts); `None` for anonymous.
    pub account: Option<String>,
    /// Where that home folder is, from the root (for the hooks).
    pub home_path: Option<VirtualPath>,
    /// The upload under way, for the hooks once it completes.
    pending_upload: Option<PendingUpload>,
    /// The account's quota (`crate::quota`), once it logged in.
    pub quota: Option<Quota>,
    /// What the upload under way's target held before it, while any home
    /// has a quota (`quota.rs`).
    upload_before: Option<Usage>,
    pub control: Control,
    pub data: DataSide,
    pub work: Work,
    /// The deadline this connection has in the timer heap.
    pub timer: Option<Instant>,
    /// The session is over: the connection goes at the end of the turn.
    pub closing: bool,
    /// When the client connected (for the admin's status page).
    pub since: Instant,
    /// What it is counted as in the admin's census.
    pub counted: Mark,
}

/// What a connection borrows from the server while it acts: taken once
/// for a whole drive (or a readiness event, an answer, a transfer step),
/// so no action looks its connection up again.
pub(crate) struct Cx<'a> {
    pub now: Instant,
    pub registry: &'a Registry,
    pub settings: &'a Settings,
    /// The served root (a session with a home folder sees that instead).
    pub root: &'a Jail,
    /// `--storage s3://...`: the bucket served instead of the root.
    pub bucket: Option<&'a Store>,
    pub answers: &'a mut Answers,
    /// The connections' timers: a request to the bucket arms its own.
    pub deadlines: &'a mut Deadlines,
    pub schedule: &'a mut Schedule,
    pub passwords: Option<&'a PasswordWorker>,
    /// Syncs files and folders off the loop (`--sync`).
    pub syncs: &'a SyncWorker<Synced>,
    /// Disk faults met, said in the log.
    pub faults: &'a mut Faults,
    /// `--xferlog`: one line per file transfer.
    pub xferlog: Option<&'a mut File>,
    /// What runs when an upload completed.
    pub hooks: &'a mut Hooks,
    /// The counts of the homes that have a quota.
    pub quotas: &'a mut Ledger,
    /// The admin listener's counters.
    pub stats: &'a mut Stats,
    /// Where the search for a free passive port starts (see `data.rs`).
    pub next_pasv_port: &'a mut usize,
    /// What sessions tell the admin (see `server/notices.rs`).
    pub notices: &'a mut Notices,
    /// The shared buffer for control reads and uploads.
    pub buffer: &'a mut [u8],
}

/// What a drive leaves for the server to file.
pub(crate) enum Drained {
    /// The session is over: the connection goes at the end of the turn.
    Closed,
    /// The session goes on; `Some` when its timer is now due earlier than
    /// the one in the timer heap.
    Open(Option<Instant>),
}

impl Connection {
    pub fn new(tag: Tag, session: Session, control: Control, since: Instant) -> Connection {
        Connection {
            tag,
            session,
            home: None,
            store: None,
            store_op: None,
            fetch: None,
            account: None,
            home_path: None,
            pending_upload: None,
            quota: None,
            upload_before: None,
            control,
            data: DataSide::default(),
            work: Work::default(),
            timer: None,
            closing: false,
            since,
            counted: Mark::NONE,
        }
    }

    /// Drives the session after an input: drains it, reads more commands
    /// while it has room, and starts TLS on the control connection when
    /// its turn comes; then says whether its replies wait for writability,
    /// and when its timer is due.
    pub fn drive(&mut self, cx: &mut Cx) -> Drained {
        let mut reads = 0;
        loop {
            let drained = self.drain(cx);
            if self.closing {
                break;
            }
            if drained.is_err() {
                self.control_ended(ControlEnd::Lost, cx);
            }
            if self.control.may_secure() {
                self.secure_control(cx);
                continue;
            }
            if reads == READS_PER_DRIVE {
                if self.has_unread() {
                    cx.schedule.read_later(self.tag);
                }
                break;
            }
            if !self.read_commands(cx) {
                break;
            }
            reads += 1;
        }
        if self.closing {
            self.close_data();
            return Drained::Closed;
        }
        self.update_interest(cx.registry);
        let due = self.session.poll_timeout();
        let earlier = due.filter(|due| self.timer.is_none_or(|armed| *due < armed));
        if earlier.is_some() {
            self.timer = earlier;
        }
        Drained::Open(earlier)
    }

    /// The drain rule (rule 1 of the core's guide): carries out the
    /// session's actions and writes its replies until it has nothing more
    /// to say. A socket that takes no more ends the writing, not the
    /// draining: actions that come later are still carried out, so a
    /// transfer never waits on a client that does not read its replies.
    /// `Err`: the control connection broke.
    fn drain(&mut self, cx: &mut Cx) -> io::Result<()> {
        let mut writing = self.control.may_write();
        let mut unsent = false;
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Action(action) => self.perform(action, cx),
                Output::Reply(replies) if writing => match self.control.send(replies)? {
                    0 => writing = false,
                    n => self.session.consume_control_transmit(cx.now, n),
                },
                Output::Reply(_) => {
                    unsent = true;
                    break;
                }
            }
        }
        self.control.end_writing(unsent)
    }

    /// An answer from the queue reaches the session: what came of an
    /// action, or the end of the control connection. The end comes right
    /// after how far a running transfer got, read now: one it interrupts is
    /// logged, and written to the xferlog, with the bytes it really moved,
    /// whatever moved since the end was seen.
    pub fn hear(&mut self, answer: Answer, now: Instant) {
        let end = match answer {
            Answer::Event(event) => return self.tell(event, now),
            Answer::ControlEnded(end) => end,
        };
        if let Some(bytes) = self.work.count() {
            self.tell(Event::TransferProgress { bytes }, now);
        }
        match end {
            ControlEnd::Eof => self.session.handle_control_eof(now),
            ControlEnd::Lost => self.session.handle_control_lost(now),
        }
    }

    /// The administrator ends the session (the admin listener's kick): as
    /// at the end of its control connection, a running transfer's count is
    /// told first, so the log and the xferlog say what it really moved.
    pub fn kick(&mut self, now: Instant) {
        if let Some(bytes) = self.work.count() {
            self.tell(Event::TransferProgress { bytes }, now);
        }
        self.session.handle_kick(now);
    }

    fn tell(&mut self, event: Event, now: Instant) {
        if let Err(e) = self.session.handle_event(now, event) {
            error!("reactor bug: {e:?}");
        }
    }

    /// Carries out one action of the session, in the part that owns it.
    /// Whatever the outcome, it goes back through the one answer queue,
    /// delivered after the drain, never while it runs.
    fn perform(&mut self, action: Action, cx: &mut Cx) {
        if let Action::LogTransfer(record) = &action {
            cx.stats.transfer_ended(record, cx.now);
        }
        match action {
            Action::CloseData | Action::AbortTransfer => {
                self.close_data();
                self.next_epoch();
            }
            Action::RejectData => self.reject_data(cx),
            Action::StopListening => self.stop_listening(),
            Action::ListenData => self.listen_data(cx),
            Action::ConnectData(addr) => self.connect_data(addr, cx),
            Action::StartTransfer { ascii, protected } => {
                self.note_start(protected);
                self.start_transfer(ascii, protected, cx);
            }
            Action::CommitUpload => self.commit_upload(cx),
            Action::SecureControl { early } => self.control.secure_after_replies(early),
            Action::Open { path, mode } => {
                self.note_open(&mode);
                if self.pending_upload.is_some() {
                    self.note_upload_target(&path, cx);
                }
                self.open(&path, mode, cx);
            }
            Action::Quota => self.answer_quota(cx),
            Action::VerifyPassword { user, password } => self.verify_password(user, password, cx),
            Action::LogTransfer(record) => {
                self.count_upload(&record, cx);
                self.announce(&record, cx);
                log_transfer(cx.xferlog.as_deref_mut(), &record);
            }
            Action::Notice(notice) => {
                let ports = cx.settings.limits.pasv_ports.as_ref();
                cx.notices.hear(self.session.peer(), notice, cx.now, ports);
            }
            Action::Close => self.closing = true,
            file_action => match self.bucket(cx).cloned() {
                Some(store) => self.start_store_op(&store, file_action, cx),
                None => self.change(&file_action, cx),
            },
        }
    }

    /// A file action on the served folder, told to the quotas it touches.
    fn change(&mut self, action: &Action, cx: &mut Cx) {
        if let Err(e) = self.quota_admits(action, cx) {
            return self.answer(cx.answers, Event::Failed(kind_of(&e)));
        }
        let before = self.quota_before(action, cx);
        let peer = self.session.peer();
        let event = file_answer(self.storage(cx.root), action, peer, cx.faults);
        self.quota_after(action, before, &event, cx);
        self.answer_change(action, event, cx);
    }

    /// Queues `event` for this session, tagged with its data epoch.
    fn answer(&self, answers: &mut Answers, event: Event) {
        answers.push(self.tag, event);
    }

    /// The folder the session sees as `/`: its user's home, or the root.
    fn storage<'a>(&'a self, root: &'a Jail) -> &'a Jail {
        self.home.as_deref().unwrap_or(root)
    }

    /// Hands the password to the worker, whose answer comes through the
    /// waker (at once, if its queue has no room for this client).
    fn verify_password(&self, user: String, password: String, cx: &mut Cx) {
        let Some(worker) = cx.passwords else {
            return self.answer(cx.answers, Event::LoginChecked(None));
        };
        let check = Check {
            key: self.tag.key,
            generation: self.tag.generation,
            peer: self.session.peer().ip(),
            user,
            password,
        };
        if worker.check(check).is_err() {
            self.answer(cx.answers, Event::Failed(ErrorKind::Busy));
        }
    }

    /// Drops the data connection and whatever was opened for it; an
    /// unfinished upload's temporary file goes with it.
    pub fn close_data(&mut self) {
        self.data.close();
        self.work.clear();
        self.drop_fetch();
    }

    /// The session dropped its data side: answers still on their way about
    /// the old one must not reach it.
    fn next_epoch(&mut self) {
        self.tag.epoch = self.tag.epoch.wrapping_add(1);
    }
}

/// `--xferlog`: a line for a finished file transfer.
fn log_transfer(log: Option<&mut File>, record: &TransferRecord) {
    if let Some(log) = log {
        let line = record.xferlog_line(wall_clock());
        if let Err(e) = writeln!(log, "{line}") {
            warn!("cannot write the transfer log: {e}");
        }
    }
}

/// Carries out an action on the served files alone and says how it went;
/// a disk fault goes to the log too.
fn file_answer(storage: &Jail, action: &Action, peer: SocketAddr, faults: &mut Faults) -> Event {
    let done = |()| Event::Done;
    let result = match action {
        Action::Stat(path) => storage.stat(path).map(Event::Metadata),
        Action::AsciiSize { path, max_bytes } => {
            ascii_size::ascii_size(storage, path, *max_bytes).map(Event::AsciiSize)
        }
        Action::Rename { from, to } => storage.rename(from, to).map(done),
        Action::RenameUpload { from, to, account } => {
            (storage.rename_upload(from, to, account.as_deref())).map(done)
        }
        Action::Delete(path) => storage.delete(path).map(done),
        Action::MakeDir(path) => storage.make_dir(path).map(done),
        Action::RemoveDir(path) => storage.remove_dir(path).map(done),
        Action::SetMode { path, mode } => storage.set_mode(path, *mode).map(done),
        Action::SetModified { path, modified } => {
            storage.set_modified(path, *modified).map(Event::Metadata)
        }
        Action::ListToControl {
            path,
            max_bytes,
            pattern,
            shown,
        } => listing::list_inline(
            storage,
            path,
            pattern.clone(),
            *shown,
            *max_bytes,
            wall_clock(),
        )
        .map(Event::Listing),
        other => {
            error!("reactor bug: {other:?} is not a file-system action");
            Ok(Event::Failed(ErrorKind::Other))
        }
    };
    result.unwrap_or_else(|e| {
        if let Some((doing, path)) = subject(action) {
            faults.note_action(peer, doing, path, &e);
        }
        Event::Failed(kind_of(&e))
    })
}

/// What a file action does, and to which path, for a log line.
fn subject(action: &Action) -> Option<(&'static str, &VirtualPath)> {
    Some(match action {
        Action::Stat(path) | Action::AsciiSize { path, .. } => ("look up", path),
        Action::Rename { from, .. } | Action::RenameUpload { from, .. } => ("rename", from),
        Action::Delete(path) => ("delete", path),
        Action::MakeDir(path) => ("make the folder", path),
        Action::RemoveDir(path) => ("remove the folder", path),
        Action::SetMode { path, .. } => ("change the mode of", path),
        Action::SetModified { path, .. } => ("set the time of", path),
        Action::ListToControl { path, .. } => ("list", path),
        _ => return None,
    })
}

/// The wall clock in Unix seconds, for listing dates.
fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
#[cfg(test)]
mod tests {
    /// What one idle session's slab entry may cost: a session's whole
    /// memory is meant to stay near 1 KiB (issues 25 and 29), so what only
    /// a transfer or a bucket needs is boxed, not carried by every entry.
    const IDLE_ENTRY_BOUND: usize = 1024;

    #[test]
    fn an_idle_session_entry_stays_within_its_bound() {
        let size = std::mem::size_of::<super::Connection>();
        assert!(size <= IDLE_ENTRY_BOUND, "a Connection is {size} B");
    }
}
