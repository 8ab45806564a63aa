//! The per-connection protocol state machine.
//!
//! Every state transition lives here: commands arrive through the
//! [`LineReader`], answers to actions through [`Session::handle_event`], and
//! deadlines through [`Session::handle_timeout`]. While a command waits for its
//! event the session stops taking input ([`Session::control_read_room`] is 0),
//! so pipelined commands are answered strictly in order. During a transfer,
//! only `ABOR` and `STAT` are answered at once; anything else waits its turn.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use log::{debug, info, trace, warn};

use crate::boundary::access::Access;
use crate::boundary::action::{Action, ListFormat, ListPattern, OpenMode};
use crate::boundary::config::Config;
use crate::boundary::event::{ErrorKind, Event, FileKind, Metadata};
use crate::boundary::glob::Glob;
use crate::boundary::path::{PathError, VirtualPath};
use crate::format::listing;
use crate::format::time::CivilTime;
use crate::format::xferlog::TransferRecord;
use crate::timers::{Timer, Timers};
use crate::wire::command::{
    self, Command, EpsvArg, Family, ParseError, ProtectionLevel, TransferType,
};
use crate::wire::line::{Line, LineReader};
use crate::wire::reply::{self, quote_path};

/// Queued reply bytes beyond which the session stops reading commands (a
/// client that never reads its replies cannot make us buffer without end).
const OUTPUT_CAP: usize = 64 * 1024;

/// Most bytes of the listing in a `STAT path` reply.
const STATUS_LISTING_CAP: usize = 64 * 1024;

/// The caller reported an event no pending action asked for (a bug in the
/// caller, not in the client).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnexpectedEvent(pub Event);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Login {
    /// Waiting for `USER`.
    Start,
    /// `USER` given, waiting for `PASS`.
    User(String),
    LoggedIn {
        user: String,
        access: Access,
    },
}

/// What the data connection will be, as PORT/EPRT/PASV/EPSV set it up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Data {
    None,
    /// Connect to the client here when a transfer starts.
    Active(SocketAddr),
    /// A listener is open; `connected` once the client's connection arrived.
    Passive {
        connected: bool,
    },
}

/// What kind of transfer a transfer command started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TransferKind {
    Retr,
    Stor,
    Stou,
    List,
}

impl TransferKind {
    /// The command, for log lines (`APPE` is a kind of `STOR`).
    fn verb(self) -> &'static str {
        match self {
            TransferKind::Retr => "RETR",
            TransferKind::Stor => "STOR",
            TransferKind::Stou => "STOU",
            TransferKind::List => "LIST",
        }
    }

    /// What it moves, for log lines.
    fn noun(self) -> &'static str {
        match self {
            TransferKind::Retr => "download",
            TransferKind::Stor | TransferKind::Stou => "upload",
            TransferKind::List => "listing",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for `Opened`.
    Opening,
    /// Waiting for the data connection.
    Connecting,
    /// `150` sent, bytes moving.
    Running,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct TransferState {
    kind: TransferKind,
    path: VirtualPath,
    phase: Phase,
    size: Option<u64>,
    bytes: u64,
    started: Instant,
    /// TYPE A conversion, fixed when the transfer starts.
    ascii: bool,
    /// Over TLS (`PROT P`), fixed when the transfer command came.
    protected: bool,
}

/// FTPS state (RFC 4217): how far `AUTH`, `PBSZ` and `PROT` got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Security {
    /// The control connection is TLS (after `AUTH TLS`, or implicit).
    control: bool,
    /// `PBSZ` was given (or implied by an implicit TLS connection).
    pbsz: bool,
    /// `PROT P`: data connections are TLS.
    private_data: bool,
}

/// Commands answered from a `Stat` action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StatFor {
    Cwd,
    Size,
    Mdtm,
    Mlst,
    Rnfr,
    /// After the change: the file system may clamp the time, so the reply
    /// says what it stored.
    Mfmt,
}

/// Commands answered from a `Done` event.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ChangeFor {
    Dele,
    Mkd,
    Rmd,
    /// What is being renamed (for the log line).
    Rnto(VirtualPath),
    /// `SITE CHMOD`.
    Chmod,
}

impl ChangeFor {
    /// The command, for log lines.
    fn verb(&self) -> &'static str {
        match self {
            ChangeFor::Dele => "DELE",
            ChangeFor::Mkd => "MKD",
            ChangeFor::Rmd => "RMD",
            ChangeFor::Rnto(_) => "RNTO",
            ChangeFor::Chmod => "SITE CHMOD",
        }
    }

    /// The right the change needs: a new folder is a creation (an upload
    /// role may make one), every other change alters what exists.
    fn right(&self) -> fn(Access) -> bool {
        match self {
            ChangeFor::Mkd => Access::may_create,
            _ => Access::may_change,
        }
    }
}

/// The event the session is waiting for, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Awaiting {
    None,
    Listen { extended: bool },
    Stat(StatFor, VirtualPath),
    Change(ChangeFor, VirtualPath),
    StatusListing(VirtualPath),
    Password,
    LoginDelay,
    Transfer(TransferState),
}

/// The server side of one FTP control connection.
#[derive(Debug)]
pub struct Session {
    config: Arc<Config>,
    local: SocketAddr,
    peer: SocketAddr,
    input: LineReader,
    output: Vec<u8>,
    actions: VecDeque<Action>,
    timers: Timers,
    login: Login,
    login_failures: u32,
    cwd: VirtualPath,
    transfer_type: TransferType,
    restart_offset: u64,
    rename_from: Option<VirtualPath>,
    data: Data,
    epsv_all: bool,
    security: Security,
    awaiting: Awaiting,
    /// The client closed its side: end once the buffered lines are answered.
    input_ended: bool,
    /// The daemon is stopping: close as soon as nothing is pending.
    shutting_down: bool,
    closed: bool,
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
        let security = Security {
            control: true,
            pbsz: true,
            private_data: true,
        };
        Session::start(config, now, local, peer, security)
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
            login: Login::Start,
            login_failures: 0,
            cwd: VirtualPath::root(),
            transfer_type: TransferType::Binary,
            restart_offset: 0,
            rename_from: None,
            data: Data::None,
            epsv_all: false,
            security,
            awaiting: Awaiting::None,
            input_ended: false,
            shutting_down: false,
            closed: false,
        };
        let banner = session.config.banner.clone();
        session.reply(220, &banner);
        session.arm_idle(now);
        let tls = if security.control {
            " (implicit TLS)"
        } else {
            ""
        };
        info!("{peer}: session start{tls}");
        session
    }

    // --- getters ---

    /// How many control bytes the caller may read and pass in now; 0 means
    /// "do not read" (a command waits for its event, or replies pile up).
    pub fn control_read_room(&self) -> usize {
        let reading = match &self.awaiting {
            Awaiting::None => true,
            Awaiting::Transfer(t) => t.phase != Phase::Opening,
            _ => false,
        };
        if self.closed || self.input_ended || !reading || self.output.len() > OUTPUT_CAP {
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

    /// Whether the session has ended (after `Action::Close`).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    // --- inputs ---

    /// Control bytes from the client; at most `control_read_room()` of them
    /// are kept.
    pub fn handle_control_input(&mut self, now: Instant, data: &[u8]) {
        if self.closed {
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
    /// gone is broken, since nobody will read its `226`.
    pub fn handle_control_eof(&mut self, now: Instant) {
        if !self.closed && !self.input_ended {
            info!("{}: client closed the control connection", self.peer);
            self.input_ended = true;
            self.process_input(now);
        }
    }

    /// The control connection broke (reset, or a write failed): nothing
    /// more can be said to the client, so the session ends now.
    pub fn handle_control_lost(&mut self, now: Instant) {
        if !self.closed {
            info!("{}: control connection lost", self.peer);
            self.record_interrupted(now);
            self.close();
        }
    }

    /// The daemon is stopping: an idle session gets `421` and closes now; a
    /// running transfer finishes (with its final reply) first.
    pub fn handle_shutdown(&mut self, now: Instant) {
        self.shutting_down = true;
        self.process_input(now);
    }

    /// The shutdown's grace period is over: a transfer still running is cut
    /// off with its final reply, then `421`, and the session ends whatever
    /// it was waiting for.
    pub fn handle_shutdown_expired(&mut self, now: Instant) {
        self.shutting_down = true;
        self.stop_transfer(
            now,
            Action::AbortTransfer,
            426,
            "Server shutting down; transfer aborted.",
        );
        if !self.closed {
            self.reply(421, "Server shutting down.");
            self.close();
        }
    }

    /// The outcome of an action this session asked for.
    pub fn handle_event(&mut self, now: Instant, event: Event) -> Result<(), UnexpectedEvent> {
        if self.closed {
            return Ok(());
        }
        match &event {
            Event::Listing(lines) => {
                trace!("{}: event Listing of {} bytes", self.peer, lines.len())
            }
            event => trace!("{}: event {event:?}", self.peer),
        }
        let result = match event {
            Event::DataConnected { peer } => self.on_data_connected(now, peer),
            Event::TransferProgress { bytes } => self.on_progress(now, bytes),
            event => {
                let awaiting = std::mem::replace(&mut self.awaiting, Awaiting::None);
                self.on_answer(now, awaiting, event)
            }
        };
        debug_assert!(result.is_ok(), "unexpected event: {result:?}");
        self.process_input(now);
        result
    }

    /// A deadline from `poll_timeout()` has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        while !self.closed {
            let Some(timer) = self.timers.take_due(now) else {
                break;
            };
            self.on_timer(now, timer);
        }
        self.process_input(now);
    }

    // --- outputs ---

    /// Reply bytes waiting to be written to the control connection.
    pub fn poll_control_transmit(&self) -> &[u8] {
        &self.output
    }

    /// The first `n` bytes of `poll_control_transmit()` were written. This
    /// is an input too: once the replies fall below their cap, commands
    /// that waited behind them are answered, so drain the outputs after it.
    pub fn consume_control_transmit(&mut self, now: Instant, n: usize) {
        self.output.drain(..n.min(self.output.len()));
        if self.output.is_empty() && self.output.capacity() > 1024 {
            self.output = Vec::new();
        }
        self.process_input(now);
    }

    /// The next thing to do, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When `handle_timeout` should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    // --- command input ---

    /// Answers buffered command lines in order, while nothing else must
    /// come first: an awaited event, or replies over their cap (a client
    /// that sends without reading cannot make us buffer without end).
    fn process_input(&mut self, now: Instant) {
        if self.shutting_down && self.awaiting == Awaiting::None && !self.closed {
            self.reply(421, "Server shutting down.");
            self.close();
        }
        while !self.closed && self.output.len() <= OUTPUT_CAP {
            let running = match &self.awaiting {
                Awaiting::None => false,
                Awaiting::Transfer(t) if t.phase != Phase::Opening => true,
                _ => return,
            };
            let Some(peeked) = self.input.peek() else {
                if self.input_ended {
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
        if self.awaiting == Awaiting::None {
            self.arm_idle(now);
        }
        let command = match command::parse(line) {
            Ok(command) => command,
            Err(error) => return self.reply_parse_error(error),
        };
        if !matches!(command, Command::Rnto(_)) {
            self.rename_from = None;
        }
        let logged_in = matches!(self.login, Login::LoggedIn { .. });
        if !logged_in && !command.allowed_before_login() {
            return self.reply(530, "Please login with USER and PASS.");
        }
        self.dispatch(now, command);
    }

    fn reply_parse_error(&mut self, error: ParseError) {
        match error {
            ParseError::Unknown => self.reply(500, "Unknown command."),
            ParseError::Syntax(why) => self.reply(501, why),
            ParseError::NotImplemented => self.reply(502, "Command not implemented."),
            ParseError::Unsupported(why) => self.reply(504, why),
            ParseError::Protocol => self.reply(522, "Network protocol not supported, use (1,2)."),
        }
    }

    fn dispatch(&mut self, now: Instant, command: Command<'_>) {
        use Command as C;
        match command {
            C::User(name) => self.cmd_user(name),
            C::Pass(password) => self.cmd_pass(password),
            C::Quit => {
                self.reply(221, "Goodbye.");
                self.close();
            }
            C::Noop => self.reply(200, "NOOP ok."),
            C::Syst => self.reply(215, "UNIX Type: L8"),
            C::Feat => {
                let tls = if self.config.tls {
                    &TLS_FEATURES[..]
                } else {
                    &[]
                };
                let features = tls.iter().chain(&FEATURES).copied();
                self.reply_multi(211, "Features:", features, "End");
            }
            C::Auth(known) => self.cmd_auth(known),
            C::Pbsz => self.cmd_pbsz(),
            C::Prot(level) => self.cmd_prot(level),
            C::Help => self.reply_multi(
                214,
                "The following commands are recognized:",
                HELP,
                "Help OK.",
            ),
            C::OptsUtf8 => self.reply(200, "Always in UTF8 mode."),
            C::OptsMlst => self.reply(200, "MLST OPTS type;size;modify;perm;UNIX.mode;"),
            C::Allo => self.reply(202, "ALLO command ignored."),
            C::ModeStream => self.reply(200, "Mode set to S."),
            C::StruFile => self.reply(200, "Structure set to F."),
            C::Type(t) => {
                self.transfer_type = t;
                match t {
                    TransferType::Ascii => self.reply(200, "Switching to ASCII mode."),
                    TransferType::Binary => self.reply(200, "Switching to Binary mode."),
                }
            }
            C::Pwd => {
                let text = format!("{} is the current directory", quote_path(self.cwd.as_str()));
                self.reply(257, &text);
            }
            C::Cdup => {
                self.cwd = self.cwd.parent();
                self.reply(250, "Directory successfully changed.");
            }
            C::Rest(offset) => {
                self.restart_offset = offset;
                self.reply(350, &format!("Restart position accepted ({offset})."));
                // REST applies to the very next command only; keep it past
                // dispatch's reset below.
                return;
            }
            C::Abor if matches!(self.awaiting, Awaiting::Transfer(_)) => self.abort_transfer(now),
            C::Abor => self.reply(225, "No transfer to abort."),
            C::Port(addr) => self.cmd_port(addr, "PORT"),
            C::Eprt(addr) => self.cmd_port(addr, "EPRT"),
            C::Pasv => self.cmd_passive(false, None),
            C::Epsv(EpsvArg::All) => {
                self.epsv_all = true;
                self.reply(200, "EPSV ALL ok.");
            }
            C::Epsv(EpsvArg::Any) => self.cmd_passive(true, None),
            C::Epsv(EpsvArg::Only(family)) => self.cmd_passive(true, Some(family)),
            C::Retr(_) if !self.allows(Access::may_download) => {
                self.reply(550, "Permission denied: this account may only upload.")
            }
            C::Retr(arg) => {
                let mode = OpenMode::Read {
                    offset: self.restart_offset,
                };
                self.cmd_transfer(now, TransferKind::Retr, arg, mode);
            }
            C::Stor(arg) => {
                let mode = match self.restart_offset {
                    0 if self.may_write() => OpenMode::Write,
                    0 => OpenMode::CreateNew,
                    offset => OpenMode::WriteAt { offset },
                };
                self.cmd_transfer(now, TransferKind::Stor, arg, mode);
            }
            C::Appe(arg) => self.cmd_transfer(now, TransferKind::Stor, arg, OpenMode::Append),
            C::Stou => self.cmd_transfer(now, TransferKind::Stou, ".", OpenMode::CreateUnique),
            C::List(arg) => self.cmd_list(now, arg, ListFormat::Long),
            C::Nlst(arg) => self.cmd_list(now, arg, ListFormat::Names),
            C::Mlsd(arg) => self.cmd_list(now, arg, ListFormat::Machine),
            C::Cwd(arg) => self.cmd_stat(StatFor::Cwd, arg),
            C::Size(arg) => self.cmd_stat(StatFor::Size, arg),
            C::Mdtm(arg) => self.cmd_stat(StatFor::Mdtm, arg),
            C::Mlst(arg) => self.cmd_stat(StatFor::Mlst, arg.unwrap_or(".")),
            C::Rnfr(arg) => {
                if self.may_write() {
                    self.cmd_stat(StatFor::Rnfr, arg);
                } else {
                    self.refuse_write("RNFR", arg);
                }
            }
            C::Rnto(arg) => match self.rename_from.take() {
                Some(from) => {
                    let purpose = ChangeFor::Rnto(from.clone());
                    self.cmd_change(purpose, arg, |to| Action::Rename { from, to })
                }
                None => self.reply(503, "RNFR required first."),
            },
            C::Dele(arg) => self.cmd_change(ChangeFor::Dele, arg, Action::Delete),
            C::SiteChmod(mode, arg) => {
                self.cmd_change(ChangeFor::Chmod, arg, |path| Action::SetMode { path, mode })
            }
            C::SiteHelp => self.reply_multi(
                214,
                "The following SITE commands are recognized:",
                ["CHMOD HELP"],
                "Help OK.",
            ),
            C::Mkd(arg) => self.cmd_change(ChangeFor::Mkd, arg, Action::MakeDir),
            C::Rmd(arg) => self.cmd_change(ChangeFor::Rmd, arg, Action::RemoveDir),
            C::Mfmt(modified, arg) => {
                if let Some(path) = self.permitted_path("MFMT", arg, Access::may_change) {
                    let set = Action::SetModified {
                        path: path.clone(),
                        modified,
                    };
                    self.ask(set, Awaiting::Stat(StatFor::Mfmt, path));
                }
            }
            C::Stat(None) => self.reply_status(),
            C::Stat(Some(arg)) => {
                if let Some(path) = self.resolve(arg) {
                    let pattern = list_pattern(arg, &path, false);
                    let list = Action::ListToControl {
                        path: path.clone(),
                        max_bytes: STATUS_LISTING_CAP,
                        pattern,
                    };
                    self.ask(list, Awaiting::StatusListing(path));
                }
            }
        }
        self.restart_offset = 0;
    }

    // --- login ---

    fn cmd_user(&mut self, name: &str) {
        if matches!(self.login, Login::LoggedIn { .. }) {
            return self.reply(530, "Can't change to another user.");
        }
        if self.config.tls_required && !self.security.control {
            return self.reply(530, "TLS is required: use AUTH TLS first.");
        }
        self.login = Login::User(name.to_owned());
        self.reply(331, "Please specify the password.");
    }

    fn cmd_pass(&mut self, password: &str) {
        let user = match &self.login {
            Login::Start => return self.reply(503, "Login with USER first."),
            Login::LoggedIn { .. } => return self.reply(230, "Already logged in."),
            Login::User(user) => user.clone(),
        };
        let anonymous = !self.config.users || (self.config.anonymous && is_anonymous_name(&user));
        if anonymous {
            self.log_in(user, self.config.anonymous_access);
        } else {
            let verify = Action::VerifyPassword {
                user,
                password: password.to_owned(),
            };
            self.ask(verify, Awaiting::Password);
        }
    }

    fn log_in(&mut self, user: String, access: Access) {
        let control = if self.security.control {
            "TLS"
        } else {
            "clear"
        };
        info!(
            "{}: logged in as {user:?} (role {}, control in {control})",
            self.peer,
            access.role()
        );
        self.login = Login::LoggedIn { user, access };
        self.login_failures = 0;
        self.reply(230, "Login successful.");
    }

    /// Whether the logged-in user came in anonymously.
    fn anonymous_login(&self) -> bool {
        match &self.login {
            Login::LoggedIn { user, .. } => !self.config.users || is_anonymous_name(user),
            _ => false,
        }
    }

    /// What the logged-in session may do (nothing before login).
    fn allows(&self, right: fn(Access) -> bool) -> bool {
        matches!(self.login, Login::LoggedIn { access, .. } if right(access))
    }

    /// May change what exists (the `super` role).
    fn may_write(&self) -> bool {
        self.allows(Access::may_change)
    }

    // --- FTPS (RFC 4217) ---

    fn cmd_auth(&mut self, known_mechanism: bool) {
        if !self.config.tls {
            return self.reply(502, "TLS is not configured on this server.");
        }
        if self.security.control {
            return self.reply(503, "The control connection is already protected.");
        }
        if !known_mechanism {
            return self.reply(504, "Only AUTH TLS is supported.");
        }
        self.reply(234, "Proceed with negotiation.");
        // Anything after the AUTH line is the client's TLS handshake.
        let early = self.input.take_unread();
        self.actions.push_back(Action::SecureControl { early });
        self.security.control = true;
        info!("{}: control connection switching to TLS", self.peer);
    }

    fn cmd_pbsz(&mut self) {
        if !self.config.tls {
            return self.reply(502, "TLS is not configured on this server.");
        }
        if !self.security.control {
            return self.reply(503, "PBSZ needs AUTH TLS first.");
        }
        self.security.pbsz = true;
        self.reply(200, "PBSZ=0");
    }

    fn cmd_prot(&mut self, level: ProtectionLevel) {
        if !self.config.tls {
            return self.reply(502, "TLS is not configured on this server.");
        }
        if !self.security.pbsz {
            return self.reply(503, "PROT needs PBSZ first.");
        }
        match level {
            ProtectionLevel::Private => {
                self.security.private_data = true;
                self.reply(200, "Protection level set to Private.");
            }
            ProtectionLevel::Clear => {
                self.security.private_data = false;
                self.reply(200, "Protection level set to Clear.");
            }
            ProtectionLevel::Unsupported => {
                self.reply(536, "Only the C and P protection levels are supported.")
            }
        }
    }

    // --- data connection setup ---

    fn cmd_port(&mut self, addr: SocketAddr, verb: &str) {
        if self.epsv_all {
            return self.reply(503, "EPSV ALL in effect; only EPSV is allowed.");
        }
        let to_us = canonical_ip(addr.ip()) == canonical_ip(self.local.ip())
            && addr.port() == self.local.port();
        if canonical_ip(addr.ip()) != canonical_ip(self.peer.ip()) || addr.port() < 1024 || to_us {
            warn!("{}: refused {verb} to {addr}", self.peer);
            return self.reply(
                504,
                "Data connections go only to the client's own address, port 1024 or above.",
            );
        }
        self.close_data();
        self.data = Data::Active(addr);
        self.reply(
            200,
            &format!("{verb} command successful. Consider using PASV."),
        );
    }

    fn cmd_passive(&mut self, extended: bool, family: Option<Family>) {
        if self.epsv_all && !extended {
            return self.reply(503, "EPSV ALL in effect; only EPSV is allowed.");
        }
        let local_family = match canonical_ip(self.local.ip()) {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        };
        if family.is_some_and(|f| f != local_family) {
            let supported = if local_family == Family::V4 {
                "(1)"
            } else {
                "(2)"
            };
            return self.reply(
                522,
                &format!("Network protocol not supported, use {supported}."),
            );
        }
        if !extended && local_family == Family::V6 && self.config.pasv_address.is_none() {
            return self.reply(425, "PASV needs IPv4; use EPSV.");
        }
        self.close_data();
        self.ask(Action::ListenData, Awaiting::Listen { extended });
    }

    /// Drops whatever data connection was set up before.
    fn close_data(&mut self) {
        if self.data != Data::None {
            self.actions.push_back(Action::CloseData);
            self.data = Data::None;
        }
    }

    fn on_listening(&mut self, extended: bool, port: u16) {
        self.data = Data::Passive { connected: false };
        if extended {
            return self.reply(229, &format!("Entering Extended Passive Mode (|||{port}|)"));
        }
        let ip = match (self.config.pasv_address, canonical_ip(self.local.ip())) {
            (Some(ip), _) | (None, IpAddr::V4(ip)) => ip,
            (None, IpAddr::V6(_)) => {
                self.close_data();
                return self.reply(425, "PASV needs IPv4; use EPSV.");
            }
        };
        let [a, b, c, d] = ip.octets();
        let [p1, p2] = port.to_be_bytes();
        self.reply(
            227,
            &format!("Entering Passive Mode ({a},{b},{c},{d},{p1},{p2})."),
        );
    }

    fn on_data_connected(&mut self, now: Instant, peer: SocketAddr) -> Result<(), UnexpectedEvent> {
        let connecting =
            matches!(&self.awaiting, Awaiting::Transfer(t) if t.phase == Phase::Connecting);
        match self.data {
            Data::Passive { connected: false } => {
                if canonical_ip(peer.ip()) != canonical_ip(self.peer.ip()) {
                    warn!("{}: refused a data connection from {peer}", self.peer);
                    self.actions.push_back(Action::RejectData);
                    return Ok(());
                }
                // One connection per PASV: nobody else may come in now.
                self.data = Data::Passive { connected: true };
                self.actions.push_back(Action::StopListening);
            }
            Data::Active(addr) if connecting && addr == peer => {}
            _ => return Err(UnexpectedEvent(Event::DataConnected { peer })),
        }
        if connecting {
            self.start_running(now);
        }
        Ok(())
    }

    // --- transfers ---

    fn cmd_transfer(&mut self, now: Instant, kind: TransferKind, arg: &str, mode: OpenMode) {
        if !self.data_protection_ok() {
            return;
        }
        let right: fn(Access) -> bool = match mode {
            OpenMode::Read { .. } | OpenMode::List { .. } => |_| true,
            OpenMode::CreateNew | OpenMode::CreateUnique => Access::may_create,
            OpenMode::Write | OpenMode::WriteAt { .. } | OpenMode::Append => Access::may_change,
        };
        if let Some(path) = self.permitted_path(kind.verb(), arg, right) {
            self.open_for_transfer(now, kind, path, mode);
        }
    }

    /// Whether a transfer may go over this data protection level; answers
    /// `521` when `--tls-required` wants `PROT P` first.
    fn data_protection_ok(&mut self) -> bool {
        let ok = !self.config.tls_required || self.security.private_data;
        if !ok {
            self.reply(521, "Data connections must be protected: use PROT P.");
        }
        ok
    }

    /// Asks for the source or sink of a transfer of `path`, once a data
    /// connection is set up.
    fn open_for_transfer(
        &mut self,
        now: Instant,
        kind: TransferKind,
        path: VirtualPath,
        mode: OpenMode,
    ) {
        if self.data == Data::None {
            return self.reply(425, "Use PORT or PASV first.");
        }
        let open = Action::Open {
            path: path.clone(),
            mode,
        };
        let transfer = TransferState {
            kind,
            path,
            phase: Phase::Opening,
            size: None,
            bytes: 0,
            started: now,
            ascii: false,
            protected: self.security.private_data,
        };
        self.ask(open, Awaiting::Transfer(transfer));
        self.timers.disarm(Timer::Idle);
    }

    fn cmd_list(&mut self, now: Instant, arg: Option<&str>, format: ListFormat) {
        if !self.data_protection_ok() {
            return;
        }
        let arg = arg.unwrap_or(".");
        let Some(path) = self.resolve(arg) else {
            return;
        };
        // MLSD lists a folder (RFC 3659): no client sends it a glob.
        let pattern = match format {
            ListFormat::Machine => None,
            _ => list_pattern(arg, &path, format == ListFormat::Names),
        };
        let mode = OpenMode::List {
            format,
            writable: self.may_write(),
            pattern,
        };
        self.open_for_transfer(now, TransferKind::List, path, mode);
    }

    fn on_opened(
        &mut self,
        now: Instant,
        mut transfer: TransferState,
        size: Option<u64>,
        name: Option<VirtualPath>,
    ) {
        transfer.size = size;
        if let Some(name) = name {
            transfer.path = name;
        }
        transfer.phase = Phase::Connecting;
        let connected = self.data == Data::Passive { connected: true };
        if let Data::Active(addr) = self.data {
            self.actions.push_back(Action::ConnectData(addr));
        }
        self.awaiting = Awaiting::Transfer(transfer);
        if connected {
            self.start_running(now);
        } else {
            self.timers
                .arm(Timer::DataConnect, now, self.config.data_timeout);
        }
    }

    fn start_running(&mut self, now: Instant) {
        let Awaiting::Transfer(transfer) = &mut self.awaiting else {
            return;
        };
        transfer.phase = Phase::Running;
        let ascii =
            self.transfer_type == TransferType::Ascii && transfer.kind != TransferKind::List;
        transfer.ascii = ascii;
        let protected = transfer.protected;
        let text = match transfer.kind {
            TransferKind::Retr => format!(
                "Opening {} mode data connection for {} ({} bytes).",
                if ascii { "ASCII" } else { "BINARY" },
                transfer.path.file_name(),
                transfer.size.unwrap_or(0)
            ),
            TransferKind::Stor => "Ok to send data.".to_owned(),
            TransferKind::Stou => format!("FILE: {}", transfer.path.file_name()),
            TransferKind::List => "Here comes the directory listing.".to_owned(),
        };
        self.timers.disarm(Timer::DataConnect);
        self.timers.arm(Timer::Stall, now, self.config.data_timeout);
        self.actions
            .push_back(Action::StartTransfer { ascii, protected });
        self.reply(150, &text);
    }

    fn on_progress(&mut self, now: Instant, bytes: u64) -> Result<(), UnexpectedEvent> {
        match &mut self.awaiting {
            Awaiting::Transfer(t) if t.phase == Phase::Running => {
                t.bytes = bytes;
                self.timers.arm(Timer::Stall, now, self.config.data_timeout);
                Ok(())
            }
            _ => Err(UnexpectedEvent(Event::TransferProgress { bytes })),
        }
    }

    /// Ends the pending transfer (already stopped by the caller, or to be
    /// stopped by `stop`), logs it, and answers `code text`.
    fn conclude_transfer(
        &mut self,
        now: Instant,
        transfer: &TransferState,
        stop: Option<Action>,
        code: u16,
        text: &str,
    ) {
        if let Some(action) = stop {
            self.actions.push_back(action);
        }
        self.data = Data::None;
        self.timers.disarm(Timer::DataConnect);
        self.timers.disarm(Timer::Stall);
        self.arm_idle(now);
        self.log_transfer(now, transfer, code, text);
        self.reply(code, text);
    }

    /// Logs how a transfer ended; one that started (`150`) and moved a file
    /// also gets its xferlog record, incomplete unless it ended with `226`.
    fn log_transfer(&mut self, now: Instant, transfer: &TransferState, code: u16, text: &str) {
        let user = self.user_name().to_owned();
        let seconds = now
            .saturating_duration_since(transfer.started)
            .as_secs_f64();
        let (peer, path, bytes) = (self.peer, &transfer.path, transfer.bytes);
        let what = transfer.kind.noun();
        let data = if transfer.protected { "TLS" } else { "clear" };
        match transfer.phase {
            Phase::Running if code == 226 => info!(
                "{peer}: {user:?} {what} {path} complete: {bytes} bytes in {seconds:.3}s, data in {data}"
            ),
            Phase::Running => info!(
                "{peer}: {user:?} {what} {path} interrupted after {bytes} bytes in {seconds:.3}s, data in {data}: {code} {text}"
            ),
            Phase::Opening | Phase::Connecting => {
                info!("{peer}: {user:?} {what} {path} failed: {code} {text}")
            }
        }
        if transfer.phase == Phase::Running && transfer.kind != TransferKind::List {
            let record = TransferRecord {
                peer: canonical_ip(peer.ip()),
                path: transfer.path.clone(),
                bytes,
                seconds,
                ascii: transfer.ascii,
                outgoing: transfer.kind == TransferKind::Retr,
                anonymous: self.anonymous_login(),
                user,
                complete: code == 226,
            };
            self.actions.push_back(Action::LogTransfer(record));
        }
    }

    /// The client is gone with a transfer pending: nobody will read its
    /// final reply, but the log and the xferlog must still say it was
    /// interrupted (the caller drops the transfer with the session).
    fn record_interrupted(&mut self, now: Instant) {
        if let Awaiting::Transfer(transfer) = &self.awaiting {
            let transfer = transfer.clone();
            let text = "Control connection gone; transfer interrupted.";
            self.log_transfer(now, &transfer, 426, text);
        }
    }

    /// Stops the pending transfer ourselves (`stop` tells the caller how)
    /// and answers its command; false if no transfer was pending.
    fn stop_transfer(&mut self, now: Instant, stop: Action, code: u16, text: &str) -> bool {
        match std::mem::replace(&mut self.awaiting, Awaiting::None) {
            Awaiting::Transfer(transfer) => {
                self.conclude_transfer(now, &transfer, Some(stop), code, text);
                true
            }
            other => {
                self.awaiting = other;
                false
            }
        }
    }

    fn abort_transfer(&mut self, now: Instant) {
        if self.stop_transfer(now, Action::AbortTransfer, 426, "Transfer aborted.") {
            self.reply(226, "ABOR successful.");
        }
    }

    // --- file system commands ---

    /// Normalises a client path, answering the client itself when it is refused.
    fn resolve(&mut self, arg: &str) -> Option<VirtualPath> {
        match VirtualPath::resolve(&self.cwd, arg) {
            Ok(path) => Some(path),
            Err(PathError::Nul | PathError::Empty) => {
                self.reply(501, "Invalid file name.");
                None
            }
            Err(PathError::Backslash) => {
                self.reply(553, "File name not allowed.");
                None
            }
        }
    }

    fn cmd_stat(&mut self, purpose: StatFor, arg: &str) {
        if let Some(path) = self.resolve(arg) {
            self.ask(Action::Stat(path.clone()), Awaiting::Stat(purpose, path));
        }
    }

    fn cmd_change(
        &mut self,
        purpose: ChangeFor,
        arg: &str,
        action: impl FnOnce(VirtualPath) -> Action,
    ) {
        if let Some(path) = self.permitted_path(purpose.verb(), arg, purpose.right()) {
            self.ask(action(path.clone()), Awaiting::Change(purpose, path));
        }
    }

    /// The path of `arg` if the session has `right`; `None` when the client
    /// was answered instead.
    fn permitted_path(
        &mut self,
        verb: &str,
        arg: &str,
        right: fn(Access) -> bool,
    ) -> Option<VirtualPath> {
        if !self.allows(right) {
            self.refuse_write(verb, arg);
            return None;
        }
        self.resolve(arg)
    }

    /// `550` for a write this session has no right to; logged, since an
    /// admin looks for refused writes (a client misconfigured, or probing).
    fn refuse_write(&mut self, verb: &str, arg: &str) {
        info!(
            "{}: {:?} may not write: refused {verb} {arg}",
            self.peer,
            self.user_name()
        );
        self.reply(550, "Permission denied.");
    }

    /// The logged-in user's name, `-` before login (for log lines).
    fn user_name(&self) -> &str {
        match &self.login {
            Login::LoggedIn { user, .. } => user,
            _ => "-",
        }
    }

    /// Asks the caller for `action` and waits for its answer.
    fn ask(&mut self, action: Action, awaiting: Awaiting) {
        self.actions.push_back(action);
        self.awaiting = awaiting;
    }

    fn on_metadata(&mut self, purpose: StatFor, path: VirtualPath, meta: Metadata) {
        let is_dir = meta.kind == FileKind::Dir;
        match purpose {
            StatFor::Cwd if is_dir => {
                self.cwd = path;
                self.reply(250, "Directory successfully changed.");
            }
            StatFor::Cwd => self.reply(550, "Failed to change directory: not a folder."),
            StatFor::Size if is_dir => self.reply(550, "Could not get file size: not a file."),
            StatFor::Size => self.reply(213, &meta.size.to_string()),
            StatFor::Mdtm => self.reply(213, &CivilTime::from_unix(meta.modified).timestamp()),
            StatFor::Mlst => {
                let mut facts = Vec::new();
                listing::write_facts(&mut facts, &meta, self.may_write());
                let line = format!("{} {}", String::from_utf8_lossy(&facts), path);
                self.reply_multi(250, &format!("Listing {path}"), [line.as_str()], "End.");
            }
            StatFor::Rnfr => {
                self.rename_from = Some(path);
                self.reply(350, "Ready for RNTO.");
            }
            StatFor::Mfmt => {
                let stamp = CivilTime::from_unix(meta.modified).timestamp();
                self.reply(213, &format!("Modify={stamp}; {path}"));
            }
        }
    }

    fn on_done(&mut self, purpose: ChangeFor, path: VirtualPath) {
        let (peer, user) = (self.peer, self.user_name());
        match &purpose {
            ChangeFor::Dele => info!("{peer}: {user:?} deleted {path}"),
            ChangeFor::Mkd => info!("{peer}: {user:?} made folder {path}"),
            ChangeFor::Rmd => info!("{peer}: {user:?} removed folder {path}"),
            ChangeFor::Rnto(from) => info!("{peer}: {user:?} renamed {from} -> {path}"),
            ChangeFor::Chmod => info!("{peer}: {user:?} changed the mode of {path}"),
        }
        match purpose {
            ChangeFor::Dele => self.reply(250, "Delete operation successful."),
            ChangeFor::Mkd => self.reply(257, &format!("{} created", quote_path(path.as_str()))),
            ChangeFor::Rmd => self.reply(250, "Remove directory operation successful."),
            ChangeFor::Rnto(_) => self.reply(250, "Rename successful."),
            ChangeFor::Chmod => self.reply(200, "SITE CHMOD command ok."),
        }
    }

    // --- events and timers ---

    fn on_answer(
        &mut self,
        now: Instant,
        awaiting: Awaiting,
        event: Event,
    ) -> Result<(), UnexpectedEvent> {
        match (awaiting, event) {
            (Awaiting::Listen { extended }, Event::Listening { port }) => {
                self.on_listening(extended, port)
            }
            (Awaiting::Listen { .. }, Event::Failed(_)) => {
                self.reply(425, "Could not open a passive data connection.");
            }
            (Awaiting::Stat(purpose, path), Event::Metadata(meta)) => {
                self.on_metadata(purpose, path, meta)
            }
            (Awaiting::Change(purpose, path), Event::Done) => self.on_done(purpose, path),
            (Awaiting::Change(purpose, path), Event::Failed(kind)) => {
                let (code, text) = file_error_reply(kind);
                info!(
                    "{}: {:?} {} {path} failed: {code} {text}",
                    self.peer,
                    self.user_name(),
                    purpose.verb()
                );
                self.reply(code, text);
            }
            (Awaiting::Stat(..) | Awaiting::StatusListing(_), Event::Failed(kind)) => {
                let (code, text) = file_error_reply(kind);
                self.reply(code, text);
            }
            (Awaiting::StatusListing(path), Event::Listing(lines)) => {
                let text = String::from_utf8_lossy(&lines);
                self.reply_multi(
                    213,
                    &format!("Status of {path}:"),
                    text.lines(),
                    "End of status.",
                );
            }
            (Awaiting::Password, Event::LoginChecked(Some(access))) => {
                let Login::User(user) = std::mem::replace(&mut self.login, Login::Start) else {
                    return Err(UnexpectedEvent(Event::LoginChecked(Some(access))));
                };
                self.log_in(user, access);
            }
            (Awaiting::Password, Event::LoginChecked(None)) => {
                self.login_failures += 1;
                let user = match std::mem::replace(&mut self.login, Login::Start) {
                    Login::User(user) => user,
                    _ => String::new(),
                };
                warn!(
                    "{}: failed login as {user:?} ({} so far)",
                    self.peer, self.login_failures
                );
                self.awaiting = Awaiting::LoginDelay;
                self.timers
                    .arm(Timer::LoginDelay, now, self.config.login_delay);
            }
            (Awaiting::Transfer(t), Event::Opened { size, unique_name })
                if t.phase == Phase::Opening =>
            {
                self.on_opened(now, t, size, unique_name);
            }
            (Awaiting::Transfer(t), Event::Failed(kind)) if t.phase == Phase::Opening => {
                let (code, text) = file_error_reply(kind);
                self.conclude_transfer(now, &t, Some(Action::CloseData), code, text);
            }
            (Awaiting::Transfer(t), Event::Failed(_)) if t.phase == Phase::Connecting => {
                self.conclude_transfer(
                    now,
                    &t,
                    Some(Action::CloseData),
                    425,
                    "Failed to establish connection.",
                );
            }
            (Awaiting::Transfer(mut t), Event::TransferDone { bytes })
                if t.phase == Phase::Running =>
            {
                t.bytes = bytes;
                self.conclude_transfer(now, &t, None, 226, "Transfer complete.");
            }
            (Awaiting::Transfer(t), Event::Failed(kind)) if t.phase == Phase::Running => {
                let (code, text) = match kind {
                    ErrorKind::ConnectionLost
                    | ErrorKind::ConnectionRefused
                    | ErrorKind::TimedOut => (426, "Connection closed; transfer aborted."),
                    ErrorKind::HandshakeFailed => {
                        (426, "TLS on the data connection failed; transfer aborted.")
                    }
                    ErrorKind::StorageFull => {
                        (452, "Insufficient storage space; transfer aborted.")
                    }
                    _ => (451, "Local error in processing; transfer aborted."),
                };
                self.conclude_transfer(now, &t, None, code, text);
            }
            (awaiting, event) => {
                self.awaiting = awaiting;
                return Err(UnexpectedEvent(event));
            }
        }
        Ok(())
    }

    fn on_timer(&mut self, now: Instant, timer: Timer) {
        match timer {
            Timer::Idle => {
                self.reply(421, "Timeout: closing control connection.");
                self.close();
            }
            Timer::DataConnect => {
                self.stop_transfer(
                    now,
                    Action::CloseData,
                    425,
                    "Failed to establish connection.",
                );
            }
            Timer::Stall => {
                self.stop_transfer(
                    now,
                    Action::AbortTransfer,
                    426,
                    "No progress; transfer aborted.",
                );
            }
            Timer::LoginDelay => {
                self.awaiting = Awaiting::None;
                self.reply(530, "Login incorrect.");
                if self.login_failures >= self.config.max_login_failures {
                    self.reply(421, "Too many failed logins.");
                    self.close();
                }
            }
        }
    }

    fn arm_idle(&mut self, now: Instant) {
        self.timers.arm(Timer::Idle, now, self.config.idle_timeout);
    }

    // --- replies ---

    fn reply(&mut self, code: u16, text: &str) {
        trace!("{}: -> {code} {text}", self.peer);
        reply::push(&mut self.output, code, text);
    }

    fn reply_multi<'a>(
        &mut self,
        code: u16,
        first: &str,
        lines: impl IntoIterator<Item = &'a str>,
        last: &str,
    ) {
        trace!("{}: -> {code}-{first} (multi-line)", self.peer);
        reply::push_multi(&mut self.output, code, first, lines, last);
    }

    fn reply_status(&mut self) {
        let mut lines = vec![format!("Connected to {}", self.peer)];
        if let Login::LoggedIn { user, .. } = &self.login {
            lines.push(format!("Logged in as {user}"));
        }
        let mode = match self.transfer_type {
            TransferType::Ascii => "ASCII",
            TransferType::Binary => "BINARY",
        };
        lines.push(format!("TYPE: {mode}"));
        if let Awaiting::Transfer(t) = &self.awaiting {
            lines.push(format!("Transferring {}: {} bytes so far", t.path, t.bytes));
        }
        self.reply_multi(
            211,
            "pocketftpd status:",
            lines.iter().map(String::as_str),
            "End of status.",
        );
    }

    /// Ends the session; `Close` makes the caller drop everything, including
    /// a running transfer and its unfinished upload.
    fn close(&mut self) {
        self.actions.push_back(Action::Close);
        self.awaiting = Awaiting::None;
        self.timers.disarm_all();
        self.closed = true;
        info!("{}: session end", self.peer);
    }
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

/// The pattern of a listing of `path` (as the client wrote it: `arg`)
/// whose last component holds wildcards; `None` otherwise, and such a
/// listing is exactly what it was before globs. `names` (NLST): the listed
/// names carry the folder part of `arg`.
fn list_pattern(arg: &str, path: &VirtualPath, names: bool) -> Option<ListPattern> {
    let glob = Glob::new(path.file_name())?;
    let prefix = if names {
        nlst_prefix(arg, glob.as_str(), &path.parent())
    } else {
        String::new()
    };
    Some(ListPattern { glob, prefix })
}

/// The folder part of an NLST argument that ends in the glob: `pub/` for
/// `pub/*.txt`, nothing for `*.txt`, so that names come back as the client
/// will ask for them. If `.` or `..` followed the glob in `arg`, the
/// folder's absolute path instead.
fn nlst_prefix(arg: &str, glob: &str, folder: &VirtualPath) -> String {
    let trimmed = arg.trim_end_matches('/');
    let (written, last) = match trimmed.rfind('/') {
        Some(cut) => (&trimmed[..=cut], &trimmed[cut + 1..]),
        None => ("", trimmed),
    };
    match (last == glob, folder.is_root()) {
        (true, _) => written.to_owned(),
        (false, true) => "/".to_owned(),
        (false, false) => format!("{folder}/"),
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

/// The names of anonymous login.
fn is_anonymous_name(user: &str) -> bool {
    ["anonymous", "ftp"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(user))
}

/// IPv4-mapped IPv6 addresses (from dual-stack sockets) compare as IPv4.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The reply for a failed file-system operation.
fn file_error_reply(kind: ErrorKind) -> (u16, &'static str) {
    match kind {
        ErrorKind::NotFound => (550, "No such file or folder."),
        ErrorKind::PermissionDenied | ErrorKind::OutsideRoot => (550, "Permission denied."),
        ErrorKind::AlreadyExists => (550, "Already exists."),
        ErrorKind::NotADirectory => (550, "Not a folder."),
        ErrorKind::IsADirectory => (550, "Is a folder."),
        ErrorKind::DirectoryNotEmpty => (550, "Folder not empty."),
        ErrorKind::InvalidName => (553, "File name not allowed."),
        ErrorKind::BadOffset => (554, "Restart offset beyond the end of the file."),
        ErrorKind::StorageFull => (452, "Insufficient storage space."),
        ErrorKind::ConnectionRefused
        | ErrorKind::ConnectionLost
        | ErrorKind::TimedOut
        | ErrorKind::HandshakeFailed
        | ErrorKind::Other => (451, "Local error in processing."),
    }
}

/// Features offered when a certificate is loaded.
const TLS_FEATURES: [&str; 3] = ["AUTH TLS", "PBSZ", "PROT"];

const FEATURES: [&str; 10] = [
    "EPRT",
    "EPSV",
    "MDTM",
    "MFMT",
    "MLST type*;size*;modify*;perm*;UNIX.mode*;",
    "PASV",
    "REST STREAM",
    "SIZE",
    "TVFS",
    "UTF8",
];

const HELP: [&str; 4] = [
    "ABOR ALLO APPE CDUP CWD DELE EPRT EPSV FEAT HELP LIST MDTM MFMT MKD",
    "MLSD MLST MODE NLST NOOP OPTS PASS PASV PORT PWD QUIT REST RETR RMD",
    "RNFR RNTO SITE SIZE STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD",
    "XPWD XRMD",
];
