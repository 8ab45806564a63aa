//! The per-connection protocol state machine: its API (getters, `handle_*`,
//! `poll_output`, `poll_timeout`), the command input loop, and the
//! session's `Life`. Every state transition goes through the tables in
//! [`table`], which also maps the sub-machines to their files.
//!
//! Commands arrive through the [`LineReader`], answers to actions through
//! [`Session::handle_event`], and deadlines through
//! [`Session::handle_timeout`]. While a command waits for its event the
//! session stops taking input ([`Session::control_read_room`] is 0), so
//! pipelined commands are answered strictly in order. During a transfer,
//! only `ABOR` and `STAT` are answered at once; anything else waits its turn.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use log::{debug, info, trace};

use crate::boundary::action::Action;
use crate::boundary::config::Config;
use crate::boundary::event::Event;
use crate::boundary::output::Output;
use crate::timers::{Timer, Timers};
use crate::wire::command::{self, Command};
use crate::wire::line::{Line, LineReader};

mod data;
mod login;
mod place;
mod replies;
mod security;
mod table;
mod transfer;
mod work;

use data::DataPlan;
use login::Login;
use place::Place;
use security::Security;
use transfer::Prefs;
use work::{Answering, Work};

/// Queued reply bytes beyond which the session stops reading commands (a
/// client that never reads its replies cannot make us buffer without end).
const OUTPUT_CAP: usize = 64 * 1024;

/// The caller reported an event no pending action asked for (a bug in the
/// caller, not in the client).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnexpectedEvent(pub Event);

/// How far the session is from its end; written only here. `Closed` ends
/// everything: no input is taken, no event or timer acts any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    Open,
    /// The client closed its side: end once the buffered lines are answered.
    InputEnded,
    /// The daemon is stopping: close as soon as nothing is pending. The
    /// client may close its side too, before or after (`input_ended`).
    ShuttingDown {
        input_ended: bool,
    },
    /// `Action::Close` was sent.
    Closed,
}

impl Life {
    fn input_ended(self) -> bool {
        matches!(
            self,
            Life::InputEnded | Life::ShuttingDown { input_ended: true }
        )
    }

    fn shutting_down(self) -> bool {
        matches!(self, Life::ShuttingDown { .. })
    }

    /// After the client closed its side.
    fn end_input(self) -> Life {
        match self {
            Life::Open => Life::InputEnded,
            Life::ShuttingDown { .. } => Life::ShuttingDown { input_ended: true },
            other => other,
        }
    }

    /// After the daemon began to stop.
    fn shut_down(self) -> Life {
        match self {
            Life::Open => Life::ShuttingDown { input_ended: false },
            Life::InputEnded => Life::ShuttingDown { input_ended: true },
            other => other,
        }
    }
}

/// The server side of one FTP control connection.
#[derive(Debug)]
pub struct Session {
    // What every session has: settings, addresses, buffers, the action
    // queue and the timer table.
    config: Arc<Config>,
    local: SocketAddr,
    peer: SocketAddr,
    input: LineReader,
    output: Vec<u8>,
    actions: VecDeque<Action>,
    timers: Timers,
    // The machines' parts, each written only in its own file (table.rs).
    login: Login,
    place: Place,
    prefs: Prefs,
    data: DataPlan,
    security: Security,
    work: Work,
    life: Life,
}

/// Mid-transfer, only ABOR and STAT are answered at once (and the silent
/// tail of an over-long line dropped); every other line waits.
fn answered_during_transfer(line: &Line) -> bool {
    match line {
        Line::Command(text) => matches!(
            command::parse(text),
            Ok(Command::Abor | Command::Stat(None))
        ),
        Line::Discard => true,
        Line::TooLong | Line::NotCrlf => false,
    }
}

/// A command line as the debug log shows it: `PASS` arguments masked,
/// other bytes as they came (invalid UTF-8 replaced).
fn loggable(line: &[u8]) -> std::borrow::Cow<'_, str> {
    let verb = line.split(|b| *b == b' ').next().unwrap_or_default();
    if verb.eq_ignore_ascii_case(b"PASS") {
        return "PASS ****".into();
    }
    String::from_utf8_lossy(line)
}

impl Session {
    /// A new session on a control connection from `peer` to our `local`
    /// address; the welcome line is queued at once.
    pub fn new(config: Arc<Config>, now: Instant, local: SocketAddr, peer: SocketAddr) -> Self {
        Session::start(config, now, local, peer, Security::default())
    }

    /// A new session on an implicit FTPS connection: the caller finished
    /// the TLS handshake first; data connections are protected by default.
    pub fn new_implicit_tls(
        config: Arc<Config>,
        now: Instant,
        local: SocketAddr,
        peer: SocketAddr,
    ) -> Self {
        Session::start(config, now, local, peer, Security::implicit())
    }

    fn start(
        config: Arc<Config>,
        now: Instant,
        local: SocketAddr,
        peer: SocketAddr,
        security: Security,
    ) -> Self {
        let mut session = Session {
            config,
            local,
            peer,
            input: LineReader::default(),
            output: Vec::new(),
            actions: VecDeque::new(),
            timers: Timers::default(),
            login: Login::default(),
            place: Place::default(),
            prefs: Prefs::default(),
            data: DataPlan::default(),
            security,
            work: Work::Idle,
            life: Life::Open,
        };
        let banner = session.config.banner.clone();
        session.reply(220, &banner);
        session.arm_idle(now);
        let tls = if security.control() {
            " (implicit TLS)"
        } else {
            ""
        };
        info!("{peer}: session start{tls}");
        session
    }

    /// How many control bytes the caller may read and pass in now; 0 means
    /// "do not read" (a command waits for its event, or replies pile up).
    pub fn control_read_room(&self) -> usize {
        let input_over = self.is_closed() || self.life.input_ended();
        let busy = self.work.answering() == Answering::Nothing;
        if input_over || busy || self.output.len() > OUTPUT_CAP {
            0
        } else {
            self.input.room()
        }
    }

    /// The client's address on the control connection.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Our address on the control connection.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The name the client logged in with; `None` before login. (The
    /// reactor lets the data connections of one user's sessions from one
    /// address resume each other's TLS sessions.)
    pub fn user(&self) -> Option<&str> {
        self.login.user()
    }

    /// Whether the logged-in user is an anonymous one (false before login).
    pub fn is_anonymous(&self) -> bool {
        self.anonymous_login()
    }

    /// Whether the session has ended (after `Action::Close`).
    pub fn is_closed(&self) -> bool {
        self.life == Life::Closed
    }

    /// Control bytes from the client; at most `control_read_room()` of them
    /// are kept.
    pub fn handle_control_input(&mut self, now: Instant, data: &[u8]) {
        if self.is_closed() {
            return;
        }
        debug_assert!(
            data.len() <= self.control_read_room(),
            "read more than the room"
        );
        self.input.push(data);
        self.process_input(now);
    }

    /// The client closed its side of the control connection. Commands it
    /// sent before that are still answered (a `QUIT` pipelined behind an
    /// upload lets the upload finish); with none left, the session ends at
    /// once, and so does a transfer still running: an upload whose client is
    /// gone is broken, since nobody will read its `226` (one whose bytes
    /// are all in too, until its `upload_settle` is over and it is
    /// committed).
    pub fn handle_control_eof(&mut self, now: Instant) {
        if !self.is_closed() && !self.life.input_ended() {
            info!("{}: client closed the control connection", self.peer);
            self.life = self.life.end_input();
            self.process_input(now);
        }
    }

    /// The control connection broke (reset, or a write failed): nothing
    /// more can be said to the client, so the session ends now.
    pub fn handle_control_lost(&mut self, now: Instant) {
        if !self.is_closed() {
            info!("{}: control connection lost", self.peer);
            self.record_interrupted(now);
            self.close();
        }
    }

    /// The daemon is stopping: an idle session gets `421` and closes now; a
    /// running transfer finishes (with its final reply) first.
    pub fn handle_shutdown(&mut self, now: Instant) {
        self.life = self.life.shut_down();
        self.process_input(now);
    }

    /// The shutdown's grace period is over: a transfer still running is cut
    /// off with its final reply, then `421`, and the session ends whatever
    /// it was waiting for.
    pub fn handle_shutdown_expired(&mut self, now: Instant) {
        self.life = self.life.shut_down();
        let reply = (426, "Server shutting down; transfer aborted.");
        self.stop_transfer(now, Action::AbortTransfer, reply);
        if !self.is_closed() {
            self.close_for_shutdown();
        }
    }

    /// The administrator ends this session (the admin listener's kick): a
    /// transfer under way is cut off with its final reply (an upload is
    /// broken, so the file it would replace is kept), then `421`, and the
    /// session ends whatever it was waiting for.
    pub fn handle_kick(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        info!("{}: ended by the administrator", self.peer);
        let reply = (426, "Session ended by the administrator; transfer aborted.");
        self.stop_transfer(now, Action::AbortTransfer, reply);
        self.reply(421, "Session ended by the administrator.");
        self.close();
    }

    /// The outcome of an action this session asked for.
    pub fn handle_event(&mut self, now: Instant, event: Event) -> Result<(), UnexpectedEvent> {
        if self.is_closed() {
            return Ok(());
        }
        match &event {
            Event::Listing(lines) => {
                trace!("{}: event Listing of {} bytes", self.peer, lines.len())
            }
            event => trace!("{}: event {event:?}", self.peer),
        }
        let result = self.on_event(now, event);
        debug_assert!(result.is_ok(), "unexpected event: {result:?}");
        self.process_input(now);
        result
    }

    /// A deadline from `poll_timeout()` has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        while !self.is_closed() {
            let Some(timer) = self.timers.take_due(now) else {
                break;
            };
            self.on_timer(now, timer);
        }
        self.process_input(now);
    }

    /// The first `n` bytes of the [`Output::Reply`] were written. This is
    /// an input too: once the replies fall below their cap, commands that
    /// waited behind them are answered, so drain the outputs after it.
    pub fn consume_control_transmit(&mut self, now: Instant, n: usize) {
        self.output.drain(..n.min(self.output.len()));
        if self.output.is_empty() && self.output.capacity() > 1024 {
            self.output = Vec::new();
        }
        self.process_input(now);
    }

    /// What the session has for its caller: every action, in order, then
    /// the reply bytes queued so far; `None` once neither is left. Call it
    /// after every input until it says `None`, then read
    /// [`poll_timeout`](Session::poll_timeout).
    pub fn poll_output(&mut self) -> Option<Output<'_>> {
        if let Some(action) = self.actions.pop_front() {
            return Some(Output::Action(action));
        }
        (!self.output.is_empty()).then_some(Output::Reply(&self.output))
    }

    /// When [`handle_timeout`](Session::handle_timeout) should be called
    /// next.
    ///
    /// The value returned may change after:
    /// - control input, its end or its loss (`handle_control_*`);
    /// - a call to `consume_control_transmit`;
    /// - a call to `handle_event`;
    /// - a call to `handle_timeout`;
    /// - a call to `handle_shutdown` or `handle_shutdown_expired`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Answers buffered command lines in order, while nothing else must
    /// come first: an awaited event, or replies over their cap (a client
    /// that sends without reading cannot make us buffer without end).
    fn process_input(&mut self, now: Instant) {
        if self.life.shutting_down() && self.work.is_idle() {
            self.close_for_shutdown();
        }
        while !self.is_closed() && self.output.len() <= OUTPUT_CAP {
            let running = match self.work.answering() {
                Answering::All => false,
                Answering::DuringTransfer => true,
                Answering::Nothing => return,
            };
            let Some(peeked) = self.input.peek() else {
                if self.life.input_ended() {
                    self.record_interrupted(now);
                    self.close();
                }
                return;
            };
            if running && !answered_during_transfer(&peeked.line) {
                return;
            }
            self.input.consume(&peeked);
            match peeked.line {
                Line::Command(line) => self.handle_line(now, &line),
                Line::TooLong => self.reply(500, "Command line too long."),
                Line::NotCrlf => self.reply(500, "Command lines must end with CRLF."),
                Line::Discard => {}
            }
        }
    }

    fn handle_line(&mut self, now: Instant, line: &[u8]) {
        if log::log_enabled!(log::Level::Debug) {
            debug!("{}: <- {}", self.peer, loggable(line));
        }
        if self.work.is_idle() {
            self.arm_idle(now);
        }
        let command = match command::parse(line) {
            Ok(command) => command,
            Err(error) => return self.reply_parse_error(error),
        };
        if !matches!(command, Command::Rnto(_)) {
            self.forget_rename();
        }
        if !self.login.is_logged_in() && !command.allowed_before_login() {
            return self.reply(530, "Please login with USER and PASS.");
        }
        if self.login.is_logged_in() && self.literal_backslash(&command, line) {
            return;
        }
        self.dispatch(now, command);
    }

    fn arm_idle(&mut self, now: Instant) {
        self.timers.arm(Timer::Idle, now, self.config.idle_timeout);
    }

    /// Ends the session; `Close` makes the caller drop everything, including
    /// a running transfer and its unfinished upload.
    fn close(&mut self) {
        self.actions.push_back(Action::Close);
        self.end_work();
        self.timers.disarm_all();
        self.life = Life::Closed;
        info!("{}: session end", self.peer);
    }

    fn close_for_shutdown(&mut self) {
        self.reply(421, "Server shutting down.");
        self.close();
    }

    fn cmd_quit(&mut self) {
        self.reply(221, "Goodbye.");
        self.close();
    }

    fn on_idle_timeout(&mut self) {
        self.reply(421, "Timeout: closing control connection.");
        self.close();
    }
}

#[cfg(test)]
mod tests;
