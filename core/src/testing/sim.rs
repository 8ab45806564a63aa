//! A deterministic stand-in for the reactor: an in-memory file system,
//! simulated data connections and a fake clock drive a [`Session`] through a
//! scripted client, with no sockets and no sleeps.
//!
//! Every script runs twice — its input fed whole (as much as the session has
//! room for) and one byte at a time — and both runs must produce the same
//! replies, byte for byte.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{
    Access, Action, Config, ErrorKind, Event, FileKind, ListFormat, ListPattern, Metadata,
    OpenMode, Output, QuotaUse, Session, Shown, VirtualPath,
};

/// The wall clock of the simulated file system: 2026-11-25 03:00:00 UTC.
pub const WALL_CLOCK: i64 = 1_795_575_600;
pub const CLIENT: &str = "127.0.0.1:40000";
pub const SERVER: &str = "127.0.0.1:52305";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    File(Vec<u8>),
    Dir,
}

/// A file or folder with its modification time and permission bits.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Inode {
    node: Node,
    modified: i64,
    mode: u32,
}

impl Inode {
    fn file(data: Vec<u8>, modified: i64) -> Inode {
        Inode {
            node: Node::File(data),
            modified,
            mode: 0o644,
        }
    }

    fn dir(modified: i64) -> Inode {
        Inode {
            node: Node::Dir,
            modified,
            mode: 0o755,
        }
    }
}

/// A file system of absolute virtual paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemFs {
    nodes: BTreeMap<String, Inode>,
    /// Which account uploaded a file, as the reactor marks it for
    /// `OpenMode::CreateOrReplaceOwn`.
    uploaders: BTreeMap<String, String>,
    /// `SITE QUOTA`'s limits (bytes, files), counted against every file.
    quota: Option<(u64, Option<u64>)>,
}

impl Default for MemFs {
    fn default() -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert("/".to_owned(), Inode::dir(WALL_CLOCK - 86_400));
        MemFs {
            nodes,
            uploaders: BTreeMap::new(),
            quota: None,
        }
    }
}

impl MemFs {
    /// The account has a quota of `max_bytes` (and `max_files`).
    pub fn with_quota(mut self, max_bytes: u64, max_files: Option<u64>) -> Self {
        self.quota = Some((max_bytes, max_files));
        self
    }

    /// What the files use of the quota, as the reactor counts it.
    fn quota_use(&self) -> Option<QuotaUse> {
        let (max_bytes, max_files) = self.quota?;
        let files = self.nodes.values().filter_map(|inode| match &inode.node {
            Node::File(data) => Some(data.len() as u64),
            _ => None,
        });
        let (bytes, files) = files.fold((0, 0), |(b, n), size| (b + size, n + 1));
        Some(QuotaUse {
            bytes,
            files,
            max_bytes,
            max_files,
        })
    }

    pub fn with_file(mut self, path: &str, data: &[u8]) -> Self {
        let file = Inode::file(data.to_vec(), WALL_CLOCK - 3600);
        self.nodes.insert(path.to_owned(), file);
        self
    }

    pub fn with_dir(mut self, path: &str) -> Self {
        self.nodes
            .insert(path.to_owned(), Inode::dir(WALL_CLOCK - 7200));
        self
    }

    pub fn file(&self, path: &str) -> Option<&[u8]> {
        match self.nodes.get(path) {
            Some(Inode {
                node: Node::File(data),
                ..
            }) => Some(data),
            _ => None,
        }
    }

    pub fn exists(&self, path: &str) -> bool {
        self.nodes.contains_key(path)
    }

    /// A file there, marked as `account`'s upload.
    pub fn with_upload_of(mut self, account: &str, path: &str, data: &[u8]) -> Self {
        self = self.with_file(path, data);
        self.uploaders.insert(path.to_owned(), account.to_owned());
        self
    }

    /// The account `path` is marked as uploaded by, if any.
    pub fn uploader(&self, path: &str) -> Option<&str> {
        self.uploaders.get(path).map(String::as_str)
    }

    /// Whether `path` may be put in the place of `to` by `account`'s
    /// upload: `to` is free, or `account` uploaded it.
    fn may_take(&self, to: &VirtualPath, account: Option<&str>) -> bool {
        !self.exists(to.as_str()) || account.is_some_and(|a| self.uploader(to.as_str()) == Some(a))
    }

    /// Moves a node and its mark (a rename keeps the inode).
    fn rename(&mut self, from: &VirtualPath, to: &VirtualPath) -> Result<(), ErrorKind> {
        let node = (self.nodes.remove(from.as_str())).ok_or(ErrorKind::NotFound)?;
        self.nodes.insert(to.as_str().to_owned(), node);
        match self.uploaders.remove(from.as_str()) {
            Some(account) => self.uploaders.insert(to.as_str().to_owned(), account),
            None => self.uploaders.remove(to.as_str()),
        };
        Ok(())
    }

    /// The permission bits of `path`, if it exists.
    pub fn mode(&self, path: &str) -> Option<u32> {
        self.nodes.get(path).map(|inode| inode.mode)
    }

    fn stat(&self, path: &VirtualPath) -> Result<Metadata, ErrorKind> {
        let inode = self.nodes.get(path.as_str()).ok_or(ErrorKind::NotFound)?;
        let (kind, size) = match &inode.node {
            Node::File(data) => (FileKind::File, data.len() as u64),
            Node::Dir => (FileKind::Dir, 4096),
        };
        Ok(Metadata {
            kind,
            size,
            modified: inode.modified,
            mode: inode.mode,
            links: 1,
        })
    }

    fn require_dir(&self, path: &VirtualPath) -> Result<(), ErrorKind> {
        match self.stat(path)?.kind {
            FileKind::Dir => Ok(()),
            _ => Err(ErrorKind::NotADirectory),
        }
    }

    fn children(&self, dir: &VirtualPath) -> Vec<(String, Metadata)> {
        self.nodes
            .keys()
            .filter_map(|p| VirtualPath::resolve(&VirtualPath::root(), p).ok())
            .filter(|p| !p.is_root() && p.parent() == *dir)
            .filter_map(|p| Some((p.file_name().to_owned(), self.stat(&p).ok()?)))
            .collect()
    }

    fn change(&mut self, action: &Action) -> Result<(), ErrorKind> {
        match action {
            Action::Delete(p) => match self.stat(p)?.kind {
                FileKind::Dir => Err(ErrorKind::IsADirectory),
                _ => self
                    .nodes
                    .remove(p.as_str())
                    .map(drop)
                    .ok_or(ErrorKind::NotFound),
            },
            Action::MakeDir(p) => {
                self.require_dir(&p.parent())?;
                if self.exists(p.as_str()) {
                    return Err(ErrorKind::AlreadyExists);
                }
                self.nodes
                    .insert(p.as_str().to_owned(), Inode::dir(WALL_CLOCK));
                Ok(())
            }
            Action::RemoveDir(p) => {
                self.require_dir(p)?;
                if !self.children(p).is_empty() {
                    return Err(ErrorKind::DirectoryNotEmpty);
                }
                self.nodes.remove(p.as_str());
                Ok(())
            }
            Action::Rename { from, to } => self.rename(from, to),
            Action::RenameUpload { from, to, account } => {
                if !self.may_take(to, account.as_deref()) {
                    return Err(ErrorKind::AlreadyExists);
                }
                self.rename(from, to)
            }
            Action::SetModified { path, modified } => {
                let entry = self
                    .nodes
                    .get_mut(path.as_str())
                    .ok_or(ErrorKind::NotFound)?;
                // As ext4 does: times before 1901-12-13 are stored as that.
                entry.modified = (*modified).max(i64::from(i32::MIN));
                Ok(())
            }
            Action::SetMode { path, .. } if path.is_root() => Err(ErrorKind::PermissionDenied),
            Action::SetMode { path, mode } => {
                let entry = self
                    .nodes
                    .get_mut(path.as_str())
                    .ok_or(ErrorKind::NotFound)?;
                entry.mode = *mode;
                Ok(())
            }
            _ => Err(ErrorKind::Other),
        }
    }
}

/// What `Open` opened, waiting for `StartTransfer`.
#[derive(Clone, Debug)]
enum SimFile {
    Read(Vec<u8>),
    /// The file's new content, put at `path` by `CommitUpload`; `mark`:
    /// the account the upload is marked as.
    Write {
        path: String,
        keep: Vec<u8>,
        mark: Option<String>,
    },
}

/// The transfer `StartTransfer` started, until it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Running {
    /// Bytes are moving, this many so far (`Op::Progress`).
    Moving(u64),
    /// An upload's every byte is in, this many: it waits for `CommitUpload`.
    Received(u64),
    /// `CommitUpload` was asked while commits are held: its answer waits
    /// for `Op::FinishCommit`, as a reactor's waits for a slow disk's sync.
    Committing(u64),
}

/// What the harness tells the session after the drain, in order, as a
/// reactor's answer queue does.
#[derive(Clone, Debug)]
enum Answer {
    /// What came of an action, with the data epoch it was asked in: one
    /// asked before a `CloseData`, `AbortTransfer` or `Close` is dropped,
    /// as the reactor drops it.
    Event(u32, Event),
    /// The end of the control connection, told after the running
    /// transfer's count.
    ControlEof,
}

/// How far the client's side of the control connection got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientEnd {
    Open,
    /// The client closed it: the session hears of it once it has read
    /// every byte sent before, as a reactor reading the socket would.
    Closed,
    /// The end was read, and queued for the session.
    Read,
}

/// One step of a scripted client.
#[derive(Clone, Debug)]
pub enum Op<'a> {
    /// Control bytes from the client.
    Send(&'a [u8]),
    /// The client connects to the passive listener from this address.
    ConnectData(&'a str),
    /// The data the client will send for the next upload.
    Upload(&'a [u8]),
    /// Transfers started from now on wait for `FinishTransfer` (or a fault).
    HoldTransfers,
    /// The held transfer completes; an upload's commit follows, the
    /// session's `upload_settle` later.
    FinishTransfer,
    /// Every byte of the held upload comes in, and its commit waits for
    /// the session's `upload_settle` to pass (`Advance`).
    ReceiveUpload,
    /// The held transfer fails.
    FailTransfer(ErrorKind),
    /// Commits asked from now on wait for `FinishCommit` (a disk that is
    /// slow to sync).
    HoldCommits,
    /// The held commit completes.
    FinishCommit,
    /// The held transfer reports progress: this many bytes moved so far.
    Progress(u64),
    /// The held transfer has moved this many bytes so far, not reported
    /// yet (a reactor reports progress only now and then).
    Moved(u64),
    /// Active connects from now on are refused.
    RefuseActive,
    /// Time passes (firing due timers).
    Advance(Duration),
    /// The client closes the control connection.
    Eof,
    /// The next action that expects an answer fails with this kind.
    Fault(ErrorKind),
    /// The daemon is stopping.
    Shutdown,
    /// The daemon's grace period for stopping is over.
    GraceOver,
    /// The administrator ends the session (the admin listener's kick).
    Kick,
    /// The client stops reading replies (they pile up in the session).
    StopReading,
    /// The client reads every reply, now and from now on.
    ReadReplies,
}

/// Drives one session; see the module docs.
pub struct Harness {
    pub session: Session,
    pub now: Instant,
    pub fs: MemFs,
    pub replies: Vec<u8>,
    pub actions: Vec<Action>,
    /// Bytes the client received over data connections, one entry a transfer.
    pub downloads: Vec<Vec<u8>>,
    input: VecDeque<u8>,
    byte_at_a_time: bool,
    opened: Option<SimFile>,
    upload: Vec<u8>,
    hold: bool,
    hold_commits: bool,
    running: Option<Running>,
    /// `Config::upload_settle`, which passes before an upload the script
    /// finished (`FinishTransfer`) is committed.
    upload_settle: Duration,
    /// An upload was finished: its settle time passes at the end of the step.
    upload_settling: bool,
    refuse_active: bool,
    fault: Option<ErrorKind>,
    /// A passive listener exists that no connection has been kept from yet.
    listening: bool,
    /// Where the data connection in use came from.
    data_peer: Option<SocketAddr>,
    /// Answers, every one given after the drain (a file action's too, known
    /// at once), and the end of the control connection behind them.
    deferred: VecDeque<Answer>,
    epoch: u32,
    /// The client reads its replies.
    reading: bool,
    client_end: ClientEnd,
}

impl Harness {
    /// A harness around a plain-FTP session, or (`implicit_tls`) one on an
    /// implicit FTPS connection whose handshake is done.
    pub fn new(config: Config, fs: MemFs, byte_at_a_time: bool, implicit_tls: bool) -> Self {
        let start = if implicit_tls {
            Session::new_implicit_tls
        } else {
            Session::new
        };
        let (local, peer) = (parse_addr(SERVER), parse_addr(CLIENT));
        Harness::around(config, fs, byte_at_a_time, |config, now| {
            start(config, now, local, peer)
        })
    }

    /// A harness around a plain-FTP session between `local` (ours) and
    /// `peer` (the client's), as the addresses of its control connection.
    pub fn between(
        config: Config,
        fs: MemFs,
        byte_at_a_time: bool,
        local: &str,
        peer: &str,
    ) -> Self {
        let (local, peer) = (parse_addr(local), parse_addr(peer));
        Harness::around(config, fs, byte_at_a_time, |config, now| {
            Session::new(config, now, local, peer)
        })
    }

    /// A harness around the session `start` makes of `config` at the
    /// harness's first instant.
    fn around(
        config: Config,
        fs: MemFs,
        byte_at_a_time: bool,
        start: impl FnOnce(Arc<Config>, Instant) -> Session,
    ) -> Self {
        let now = Instant::now();
        let upload_settle = config.upload_settle;
        let session = start(Arc::new(config), now);
        let mut harness = Harness {
            session,
            now,
            fs,
            replies: Vec::new(),
            actions: Vec::new(),
            downloads: Vec::new(),
            input: VecDeque::new(),
            byte_at_a_time,
            opened: None,
            upload: Vec::new(),
            hold: false,
            hold_commits: false,
            running: None,
            upload_settle,
            upload_settling: false,
            refuse_active: false,
            fault: None,
            listening: false,
            data_peer: None,
            deferred: VecDeque::new(),
            epoch: 0,
            reading: true,
            client_end: ClientEnd::Open,
        };
        harness.drain();
        harness
    }

    pub fn run(&mut self, steps: &[Op<'_>]) {
        for step in steps {
            self.step(step.clone());
        }
    }

    /// Carries out one step. Steps that a real reactor could not produce in
    /// the current state (a data connection without a listener, finishing a
    /// transfer that is not running) are skipped, so fuzzed scripts stay
    /// meaningful.
    fn step(&mut self, step: Op<'_>) {
        let mut until = self.now;
        match step {
            Op::Send(bytes) if self.client_end == ClientEnd::Open => self.input.extend(bytes),
            Op::Send(_) => {}
            Op::ConnectData(from) if self.listening && self.data_peer.is_none() => {
                let peer = parse_addr(from);
                self.data_peer = Some(peer);
                self.defer(Event::DataConnected { peer });
            }
            Op::ConnectData(_) => {}
            Op::Upload(bytes) => self.upload = bytes.to_vec(),
            Op::HoldTransfers => self.hold = true,
            Op::FinishTransfer => self.finish_transfer(),
            Op::ReceiveUpload => self.receive_upload(),
            Op::HoldCommits => self.hold_commits = true,
            Op::FinishCommit => {
                if let Some(Running::Committing(bytes)) = self.running {
                    self.running = Some(Running::Received(bytes));
                    self.commit_upload();
                }
            }
            Op::FailTransfer(kind) => {
                if let Some(Running::Moving(bytes)) = self.running {
                    self.end_transfer();
                    self.defer(Event::TransferFailed { kind, bytes });
                }
            }
            Op::Progress(bytes) => {
                if let Some(Running::Moving(_)) = self.running {
                    self.running = Some(Running::Moving(bytes));
                    self.defer(Event::TransferProgress { bytes });
                }
            }
            Op::Moved(bytes) => {
                if let Some(Running::Moving(_)) = self.running {
                    self.running = Some(Running::Moving(bytes));
                }
            }
            Op::Fault(kind) => self.fault = Some(kind),
            Op::Shutdown => {
                self.session.handle_shutdown(self.now);
                self.drain();
            }
            Op::GraceOver => {
                self.session.handle_shutdown_expired(self.now);
                self.drain();
            }
            Op::Kick => {
                self.session.handle_kick(self.now);
                self.drain();
            }
            Op::StopReading => self.reading = false,
            Op::ReadReplies => {
                self.reading = true;
                self.drain();
            }
            Op::RefuseActive => self.refuse_active = true,
            Op::Advance(by) => until += by,
            Op::Eof if self.client_end == ClientEnd::Open => self.client_end = ClientEnd::Closed,
            Op::Eof => {}
        }
        self.settle(until);
    }

    /// Lets the world run until nothing is left to do by `until`, as a
    /// reactor's turns would: queued input fed, then the deferred answers,
    /// then each due timer, the clock moving to its deadline; an upload
    /// the script finished lets `upload_settle` pass for its commit.
    fn settle(&mut self, mut until: Instant) {
        loop {
            self.pump();
            if let Some(answer) = self.deferred.pop_front() {
                self.deliver(answer);
                continue;
            }
            if std::mem::take(&mut self.upload_settling) {
                until = until.max(self.now + self.upload_settle);
            }
            let Some(at) = self.session.poll_timeout().filter(|at| *at <= until) else {
                break;
            };
            self.now = at.max(self.now);
            self.session.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
    }

    /// Queues an answer, for after the drain.
    fn defer(&mut self, event: Event) {
        self.deferred.push_back(Answer::Event(self.epoch, event));
    }

    /// Tells the session what came of an action, unless it dropped the
    /// data connection it was about since; or that its control connection
    /// ended, after how far its running transfer got, as the reactor does.
    fn deliver(&mut self, answer: Answer) {
        match answer {
            Answer::Event(epoch, event) if epoch == self.epoch => self.event(event),
            Answer::Event(..) => {}
            Answer::ControlEof => {
                if let Some(Running::Moving(bytes) | Running::Received(bytes)) = self.running {
                    self.event(Event::TransferProgress { bytes });
                }
                self.session.handle_control_eof(self.now);
                self.drain();
            }
        }
    }

    /// Feeds queued input as the session's room allows, then queues the
    /// end of it if the client closed (a read finds the end only after the
    /// bytes, and the reactor queues it behind the answers before it).
    fn pump(&mut self) {
        loop {
            let room = self.session.control_read_room();
            if room == 0 {
                return;
            }
            if self.input.is_empty() {
                if self.client_end == ClientEnd::Closed {
                    self.client_end = ClientEnd::Read;
                    self.deferred.push_back(Answer::ControlEof);
                }
                return;
            }
            let take = if self.byte_at_a_time {
                1
            } else {
                room.min(self.input.len())
            };
            let chunk: Vec<u8> = self.input.drain(..take).collect();
            self.session.handle_control_input(self.now, &chunk);
            self.drain();
        }
    }

    fn event(&mut self, event: Event) {
        let result = self.session.handle_event(self.now, event);
        assert!(result.is_ok(), "{result:?}");
        self.drain();
    }

    /// The drain rule, as the reactor's: every action, then the replies
    /// (while the client reads them), until the session has nothing more to
    /// say. Answers wait in `deferred`, even those known at once.
    fn drain(&mut self) {
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Action(action) => {
                    check_action(&action);
                    self.actions.push(action.clone());
                    self.carry_out(action);
                }
                Output::Reply(replies) => {
                    assert!(replies.len() <= 160 * 1024, "reply buffer outgrew its cap");
                    if !self.reading {
                        return;
                    }
                    self.replies.extend_from_slice(replies);
                    let n = replies.len();
                    self.session.consume_control_transmit(self.now, n);
                }
            }
        }
    }

    /// Carries out one action; its answer, if it has one, is deferred.
    fn carry_out(&mut self, action: Action) {
        if let Some(kind) = self.fault.take_if(|_| may_fail(&action)) {
            if let (Action::CommitUpload, Some(Running::Received(bytes))) = (&action, self.running)
            {
                self.end_transfer();
                return self.defer(Event::TransferFailed { kind, bytes });
            }
            return self.defer(Event::Failed(kind));
        }
        match action {
            Action::LogTransfer(_) | Action::Notice(_) => {}
            Action::SecureControl { early } => {
                // The scripted bytes stand for what TLS delivers: bytes
                // that came early are read again, as the handshake's end.
                for byte in early.into_iter().rev() {
                    self.input.push_front(byte);
                }
            }
            Action::RejectData => self.data_peer = None,
            Action::StopListening => self.listening = false,
            Action::CloseData | Action::AbortTransfer | Action::Close => self.drop_data(),
            Action::ListenData => {
                self.listening = true;
                self.defer(Event::Listening { port: 50_001 });
            }
            Action::ConnectData(addr) => self.connect(addr),
            Action::StartTransfer { .. } => self.start_transfer(),
            Action::CommitUpload => match self.running {
                Some(Running::Received(bytes)) if self.hold_commits => {
                    self.running = Some(Running::Committing(bytes));
                }
                _ => self.commit_upload(),
            },
            Action::VerifyPassword { user, password } => {
                self.defer(verify_password(&user, &password))
            }
            file => {
                let answer = self.file_action(file);
                self.defer(answer);
            }
        }
    }

    /// The data connection, a running transfer and answers still to come
    /// for them are gone.
    fn drop_data(&mut self) {
        self.opened = None;
        self.running = None;
        self.listening = false;
        self.data_peer = None;
        self.epoch += 1;
    }

    fn connect(&mut self, addr: SocketAddr) {
        if self.refuse_active {
            self.defer(Event::Failed(ErrorKind::ConnectionRefused));
        } else {
            self.data_peer = Some(addr);
            self.defer(Event::DataConnected { peer: addr });
        }
    }

    fn start_transfer(&mut self) {
        let client = self.session.peer().ip();
        assert_eq!(
            self.data_peer.map(|p| p.ip()),
            Some(client),
            "transfer over a foreign data connection"
        );
        assert!(self.opened.is_some(), "transfer without an opened file");
        self.running = Some(Running::Moving(0));
        if !self.hold {
            self.finish_transfer();
        }
    }

    /// An action on the file system, and what came of it.
    fn file_action(&mut self, action: Action) -> Event {
        match action {
            Action::Open { path, mode } => match self.open(&path, mode) {
                Ok((opened, size, unique_name)) => {
                    self.opened = Some(opened);
                    Event::Opened { size, unique_name }
                }
                Err(kind) => Event::Failed(kind),
            },
            Action::Stat(path) => self
                .fs
                .stat(&path)
                .map_or_else(Event::Failed, Event::Metadata),
            Action::AsciiSize { path, max_bytes } => match self.fs.file(path.as_str()) {
                Some(data) if data.len() as u64 > max_bytes => Event::AsciiSize(None),
                Some(data) => Event::AsciiSize(Some(crate::ascii::network_size(data))),
                None => Event::Failed(ErrorKind::NotFound),
            },
            Action::Quota => Event::Quota(self.fs.quota_use()),
            Action::ListToControl {
                path,
                max_bytes,
                pattern,
                shown,
            } => match self.listing(&path, ListFormat::Long, pattern.as_ref(), shown) {
                Ok(mut text) => {
                    text.truncate(max_bytes);
                    Event::Listing(text)
                }
                Err(kind) => Event::Failed(kind),
            },
            Action::SetModified { ref path, .. } => match self.fs.change(&action) {
                Ok(()) => self
                    .fs
                    .stat(path)
                    .map_or_else(Event::Failed, Event::Metadata),
                Err(kind) => Event::Failed(kind),
            },
            change => self
                .fs
                .change(&change)
                .map_or_else(Event::Failed, |()| Event::Done),
        }
    }

    fn open(
        &mut self,
        path: &VirtualPath,
        mode: OpenMode,
    ) -> Result<(SimFile, Option<u64>, Option<VirtualPath>), ErrorKind> {
        let existing = self.fs.stat(path);
        let write = |keep: Vec<u8>, mark: Option<String>| SimFile::Write {
            path: path.as_str().to_owned(),
            keep,
            mark,
        };
        match mode {
            OpenMode::Read { offset } => {
                let meta = existing?;
                if meta.kind == FileKind::Dir {
                    return Err(ErrorKind::IsADirectory);
                }
                let data = self.fs.file(path.as_str()).unwrap_or_default();
                let rest = data
                    .get(offset as usize..)
                    .ok_or(ErrorKind::BadOffset)?
                    .to_vec();
                Ok((SimFile::Read(rest), Some(meta.size), None))
            }
            OpenMode::List {
                format,
                ref pattern,
                shown,
                ..
            } => {
                let listing = self.listing(path, format, pattern.as_ref(), shown)?;
                Ok((SimFile::Read(listing), None, None))
            }
            OpenMode::CreateNew if existing.is_ok() => Err(ErrorKind::AlreadyExists),
            OpenMode::CreateOrReplaceOwn { ref account }
                if !self.fs.may_take(path, Some(account)) =>
            {
                Err(ErrorKind::AlreadyExists)
            }
            OpenMode::Write
            | OpenMode::CreateNew
            | OpenMode::CreateOrReplaceOwn { .. }
            | OpenMode::Append
            | OpenMode::WriteAt { .. } => {
                self.fs.require_dir(&path.parent())?;
                if existing.is_ok_and(|m| m.kind == FileKind::Dir) {
                    return Err(ErrorKind::IsADirectory);
                }
                let old = self.fs.file(path.as_str()).unwrap_or_default().to_vec();
                let keep = match mode {
                    OpenMode::Append => old,
                    OpenMode::WriteAt { offset } => old
                        .get(..offset as usize)
                        .ok_or(ErrorKind::BadOffset)?
                        .to_vec(),
                    _ => Vec::new(),
                };
                // A new file is marked only as its account's upload; one
                // written in place keeps its mark.
                let mark = match mode {
                    OpenMode::CreateOrReplaceOwn { account } => Some(account),
                    OpenMode::Append | OpenMode::WriteAt { .. } => {
                        self.fs.uploader(path.as_str()).map(str::to_owned)
                    }
                    _ => None,
                };
                Ok((write(keep, mark), None, None))
            }
            OpenMode::CreateUnique => {
                self.fs.require_dir(path)?;
                let unique = (1..)
                    .filter_map(|n| path.join(&format!("unique.{n}")))
                    .find(|p| !self.fs.exists(p.as_str()))
                    .ok_or(ErrorKind::Other)?;
                let opened = SimFile::Write {
                    path: unique.as_str().to_owned(),
                    keep: Vec::new(),
                    mark: None,
                };
                Ok((opened, None, Some(unique)))
            }
        }
    }

    /// A listing as the reactor makes it: a folder's entries or one file;
    /// when `path` does not exist, the entries of its folder that the
    /// pattern (if any) matches; only those `shown` shows.
    fn listing(
        &self,
        path: &VirtualPath,
        format: ListFormat,
        pattern: Option<&ListPattern>,
        shown: Shown,
    ) -> Result<Vec<u8>, ErrorKind> {
        let (entries, pattern) = match (self.fs.stat(path), pattern) {
            (Ok(meta), _) if meta.kind == FileKind::Dir => (self.fs.children(path), None),
            (Ok(meta), _) => (vec![(path.file_name().to_owned(), meta)], None),
            (Err(ErrorKind::NotFound), Some(pattern)) => {
                self.fs.require_dir(&path.parent())?;
                (self.fs.children(&path.parent()), Some(pattern))
            }
            (Err(kind), _) => return Err(kind),
        };
        let mut out = Vec::new();
        for (name, meta) in entries
            .into_iter()
            .filter(|(n, _)| shown.shows(n.as_bytes()))
        {
            let name = name.as_bytes();
            let meta = || Some(meta);
            crate::format::listing::write_listed(
                &mut out, format, true, pattern, name, meta, WALL_CLOCK,
            );
        }
        Ok(out)
    }

    /// Moves every byte of the running transfer: a download is done, an
    /// upload received, and committed once its settle time has passed.
    fn finish_transfer(&mut self) {
        let Some(Running::Moving(_)) = self.running else {
            return;
        };
        if let Some(SimFile::Read(data)) = &self.opened {
            let bytes = data.len() as u64;
            if let Some(SimFile::Read(data)) = self.end_transfer() {
                self.downloads.push(data);
            }
            return self.defer(Event::TransferDone { bytes });
        }
        self.receive_upload();
        self.upload_settling = true;
    }

    /// Every byte of the running upload is in.
    fn receive_upload(&mut self) {
        let (Some(SimFile::Write { keep, .. }), Some(Running::Moving(_))) =
            (&mut self.opened, self.running)
        else {
            return;
        };
        let upload = std::mem::take(&mut self.upload);
        keep.extend_from_slice(&upload);
        let bytes = upload.len() as u64;
        self.running = Some(Running::Received(bytes));
        self.defer(Event::UploadReceived { bytes });
    }

    /// `CommitUpload`: the received upload takes its place.
    fn commit_upload(&mut self) {
        let Some(Running::Received(bytes)) = self.running else {
            panic!("CommitUpload without a received upload");
        };
        if let Some(SimFile::Write { path, keep, mark }) = self.end_transfer() {
            // A replaced file keeps its mode, as the reactor's do.
            let mode = self.fs.mode(&path).unwrap_or(0o644);
            let mut file = Inode::file(keep, WALL_CLOCK);
            file.mode = mode;
            match mark {
                Some(account) => self.fs.uploaders.insert(path.clone(), account),
                None => self.fs.uploaders.remove(&path),
            };
            self.fs.nodes.insert(path, file);
        }
        self.defer(Event::TransferDone { bytes });
    }

    /// The running transfer ends, and its data connection with it; what it
    /// had opened is returned.
    fn end_transfer(&mut self) -> Option<SimFile> {
        self.running = None;
        self.data_peer = None;
        self.opened.take()
    }

    /// How many reply bytes the session holds for a client that stopped
    /// reading them.
    pub fn unread_replies(&mut self) -> usize {
        match self.session.poll_output() {
            Some(Output::Reply(replies)) => replies.len(),
            _ => 0,
        }
    }

    /// How many bytes the client sent that the session has not taken yet.
    pub fn unread_input(&self) -> usize {
        self.input.len()
    }

    /// The replies as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.replies).into_owned()
    }

    /// The code of each reply's last line (`NNN ` lines only), in order.
    pub fn codes(&self) -> Vec<u16> {
        self.text()
            .split("\r\n")
            .filter(|l| {
                l.len() >= 4
                    && l.as_bytes()[3] == b' '
                    && l.as_bytes()[..3].iter().all(u8::is_ascii_digit)
            })
            .filter_map(|l| l[..3].parse().ok())
            .collect()
    }
}

/// No action may name a path outside the root or a malformed one, nor a
/// listing pattern that spans folders.
fn check_action(action: &Action) {
    if let Action::Open {
        mode: OpenMode::List {
            pattern: Some(p), ..
        },
        ..
    }
    | Action::ListToControl {
        pattern: Some(p), ..
    } = action
    {
        assert!(
            !p.glob.as_str().contains('/'),
            "pattern {p:?} spans folders"
        );
        assert!(
            !p.prefix.contains(['\r', '\n']),
            "prefix {p:?} breaks lines"
        );
    }
    let paths: Vec<&VirtualPath> = match action {
        Action::Open { path, .. }
        | Action::Stat(path)
        | Action::AsciiSize { path, .. }
        | Action::Delete(path)
        | Action::MakeDir(path)
        | Action::RemoveDir(path)
        | Action::ListToControl { path, .. }
        | Action::SetModified { path, .. } => vec![path],
        Action::SetMode { path, mode } => {
            assert!(*mode <= 0o777, "mode {mode:o} beyond permission bits");
            vec![path]
        }
        Action::Rename { from, to } | Action::RenameUpload { from, to, .. } => vec![from, to],
        _ => vec![],
    };
    for path in paths {
        let p = path.as_str();
        assert!(p.starts_with('/'), "relative path {p:?}");
        // A `\` may be part of a name: one that exists so (issue 27, 6a).
        assert!(!p.contains('\0'), "bad byte in {p:?}");
        assert!(p == "/" || !p.ends_with('/'), "trailing slash in {p:?}");
        assert!(
            p.split('/')
                .skip(1)
                .all(|c| p == "/" || !matches!(c, "" | "." | "..")),
            "bad component in {p:?}"
        );
    }
}

/// Every reply line is `NNN text`, `NNN-text` or, inside a multi-line
/// reply, a continuation starting with a space; every `150` is followed by
/// exactly one final transfer reply.
pub fn check_replies(replies: &[u8]) {
    assert!(
        replies.is_empty() || replies.ends_with(b"\r\n"),
        "reply does not end in CRLF"
    );
    let text = String::from_utf8_lossy(replies);
    let mut multi: Option<&str> = None;
    let mut in_transfer = false;
    for line in text.split_terminator("\r\n") {
        assert!(!line.contains(['\r', '\n']), "bare CR or LF in {line:?}");
        if let Some(code) = multi {
            if line.starts_with(' ') {
                continue;
            }
            assert!(
                line.starts_with(code),
                "continuation {line:?} inside {code}"
            );
        }
        let bytes = line.as_bytes();
        let shaped = bytes.len() >= 4
            && bytes[..3].iter().all(u8::is_ascii_digit)
            && matches!(bytes[3], b' ' | b'-');
        assert!(shaped, "malformed reply line {line:?}");
        let code = &line[..3];
        if bytes[3] == b'-' {
            multi.get_or_insert(code);
            continue;
        }
        multi = None;
        match code {
            "150" => {
                assert!(!in_transfer, "150 twice without a final reply");
                in_transfer = true;
            }
            "226" | "425" | "426" | "451" | "452" | "552" => in_transfer = false,
            "211" | "421" => {}
            other => assert!(!in_transfer, "{other} between 150 and its final reply"),
        }
    }
}

/// Whether a fault (`Op::Fault`) applies: only to actions whose answer
/// may be `Failed`.
fn may_fail(action: &Action) -> bool {
    !matches!(
        action,
        Action::RejectData
            | Action::StopListening
            | Action::CloseData
            | Action::AbortTransfer
            | Action::Close
            | Action::StartTransfer { .. }
            | Action::SecureControl { .. }
            | Action::LogTransfer(_)
            | Action::Notice(_)
    )
}

/// One account per role, all with the password "secret".
fn verify_password(user: &str, password: &str) -> Event {
    let role = match user {
        "alice" => Some(Access::Super),
        "bob" => Some(Access::ReadOnly),
        "dropbox" => Some(Access::Upload),
        _ => None,
    };
    Event::LoginChecked(role.filter(|_| password == "secret"))
}

fn parse_addr(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|_| panic!("bad test address {s}"))
}

/// Runs `steps` whole and byte by byte, checks both give the same replies,
/// and returns the whole run.
pub fn run_both(config: &Config, fs: &MemFs, steps: &[Op]) -> Harness {
    run_both_on(config, fs, steps, false)
}

/// [`run_both`] on a control connection between `local` (ours) and `peer`
/// (the client's).
pub fn run_both_between(
    config: &Config,
    fs: &MemFs,
    steps: &[Op],
    (local, peer): (&str, &str),
) -> Harness {
    let mut whole = Harness::between(config.clone(), fs.clone(), false, local, peer);
    whole.run(steps);
    let mut bytewise = Harness::between(config.clone(), fs.clone(), true, local, peer);
    bytewise.run(steps);
    compare_runs(whole, &bytewise)
}

/// [`run_both`] on an implicit FTPS connection.
pub fn run_both_on(config: &Config, fs: &MemFs, steps: &[Op], implicit_tls: bool) -> Harness {
    let mut whole = Harness::new(config.clone(), fs.clone(), false, implicit_tls);
    whole.run(steps);
    let mut bytewise = Harness::new(config.clone(), fs.clone(), true, implicit_tls);
    bytewise.run(steps);
    compare_runs(whole, &bytewise)
}

/// Both runs of a script gave the same replies and files: the whole run.
fn compare_runs(whole: Harness, bytewise: &Harness) -> Harness {
    check_replies(&whole.replies);
    assert_eq!(
        whole.text(),
        bytewise.text(),
        "whole and byte-at-a-time runs differ"
    );
    assert_eq!(
        whole.fs, bytewise.fs,
        "whole and byte-at-a-time runs left different files"
    );
    whole
}
