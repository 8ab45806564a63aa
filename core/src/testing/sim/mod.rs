//! A deterministic stand-in for the reactor: an in-memory file system,
//! simulated data connections and a fake clock drive a [`Session`] through a
//! scripted client, with no sockets and no sleeps.
//!
//! Every script runs twice — its input fed whole (as much as the session has
//! room for) and one byte at a time — and both runs must produce the same
//! replies, byte for byte.
//!
//! Here: the scripted client ([`Op`]), the [`Harness`] that feeds it and
//! keeps the reactor's turn order (input, the drain, then the answers,
//! then due timers), and [`run_both`]. `memfs.rs` is the file system,
//! `actions.rs` what the simulated reactor does for each action, and
//! `checks.rs` what every run checks of the session's output.

mod actions;
mod checks;
mod memfs;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{Action, Config, ErrorKind, Event, Output, Session};

use actions::{Running, SimFile};
use checks::check_action;
pub use checks::check_replies;
pub use memfs::MemFs;

/// The wall clock of the simulated file system: 2026-11-25 03:00:00 UTC.
pub const WALL_CLOCK: i64 = 1_795_575_600;
pub const CLIENT: &str = "127.0.0.1:40000";
pub const SERVER: &str = "127.0.0.1:52305";

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
