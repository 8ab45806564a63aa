//! The event loop: one thread, one `mio::Poll`, one `Slab` of connections.
//!
//! Each wake-up reads the clock once, handles every ready socket (reading and
//! writing control sockets until `WouldBlock`: readiness is edge-triggered),
//! moves transfers from a run queue until the turn's byte budget is spent
//! (a ready data socket only joins the queue), and fires due timers. So a
//! turn stays short however many transfers run, and control commands are
//! answered between them. After any
//! input to a session, [`Server::drive`] drains it: carries out its actions,
//! feeds it more control bytes while it has room, writes its replies, and
//! re-arms its timer. The reactor makes no protocol decision of its own.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use log::{debug, error, info, warn};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};
use pocketftp_core::{Action, Config, Event, Session};
use signal_hook_mio::v1_0::Signals;
use slab::Slab;

use crate::errors::kind_of;
use crate::jail::Jail;
use crate::transfer::{self, Opened, Step, Transfer};
use crate::users::{Check, PasswordWorker, Users};

/// Bytes the transfers together may move per turn of the loop before
/// sockets are polled again: a fraction of a millisecond of work, so a NOOP
/// is answered promptly however many transfers run.
const TURN_BUDGET: usize = 256 * 1024;
/// Bytes one transfer moves per step: large system calls, fair turns.
const STEP: usize = 128 * 1024;
/// How often a running transfer tells its session about progress (for the
/// stall timer and STAT; seconds-scale, so a few times a second is plenty).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);
/// The shared buffer for control reads and uploads.
const BUFFER_SIZE: usize = 256 * 1024;
/// Most bytes of an inline `STAT path` listing.
const STATUS_LISTING_CAP: usize = 64 * 1024;

/// What a token points at; packed with the slab key and a generation so a
/// reused key never receives a stale event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Control = 0,
    DataListener = 1,
    Data = 2,
    /// The daemon's own: listening sockets (key = index) and the waker.
    Server = 3,
}

const WAKER_KEY: usize = u32::MAX as usize;
const SIGNALS_KEY: usize = WAKER_KEY - 1;

fn token(key: usize, generation: u32, kind: Kind) -> Token {
    Token(((generation as usize) << 34) | (key << 2) | kind as usize)
}

fn untoken(token: Token) -> (usize, u32, Kind) {
    let kind = match token.0 & 3 {
        0 => Kind::Control,
        1 => Kind::DataListener,
        2 => Kind::Data,
        _ => Kind::Server,
    };
    ((token.0 >> 2) & 0xFFFF_FFFF, (token.0 >> 34) as u32, kind)
}

/// Limits the reactor enforces itself.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_clients: usize,
    pub max_per_ip: usize,
    pub pasv_ports: Option<RangeInclusive<u16>>,
    /// How long running transfers may go on after SIGTERM.
    pub shutdown_grace: Duration,
}

/// What SIGHUP may change: the settings of new sessions, and the limits.
pub struct Settings {
    pub config: Arc<Config>,
    pub limits: Limits,
}

/// Re-reads the settings (the config file and flags) on SIGHUP.
pub type Reload = Box<dyn FnMut() -> Result<Settings, String>>;

/// One client: its session and everything the session asked us to hold.
struct Connection {
    generation: u32,
    session: Session,
    control: TcpStream,
    /// No `WouldBlock` seen since the last readable edge: bytes may be waiting.
    control_readable: bool,
    /// WRITABLE interest registered for the control socket.
    control_writable: bool,
    listener: Option<TcpListener>,
    data: Option<TcpStream>,
    /// An active connect in progress, to this address.
    connecting: Option<SocketAddr>,
    opened: Option<Opened>,
    transfer: Option<Transfer>,
    /// In the run queue.
    queued: bool,
    /// Bytes last reported with `TransferProgress`, and when the next report
    /// is due.
    reported: u64,
    progress_due: Instant,
    /// The deadline this connection has in the timer heap.
    timer: Option<Instant>,
    closing: bool,
}

impl Connection {
    /// Puts the running transfer, if any, in the run queue (once).
    fn schedule(&mut self, key: usize, runnable: &mut VecDeque<(usize, u32)>) {
        if self.transfer.is_some() && !self.queued {
            self.queued = true;
            runnable.push_back((key, self.generation));
        }
    }

    /// Drops the data connection and whatever was opened for it; an
    /// unfinished upload's temporary file goes with it.
    fn close_data(&mut self, registry: &Registry) {
        if let Some(mut listener) = self.listener.take() {
            let _ = registry.deregister(&mut listener);
        }
        if let Some(mut data) = self.data.take() {
            let _ = registry.deregister(&mut data);
        }
        self.connecting = None;
        self.opened = None;
        self.transfer = None;
    }
}

pub struct Server {
    poll: Poll,
    listeners: Vec<TcpListener>,
    connections: Slab<Connection>,
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    /// Transfers with work to do, served in turn, [`STEP`] bytes at a time,
    /// [`TURN_BUDGET`] per turn of the loop.
    runnable: VecDeque<(usize, u32)>,
    /// Answers to data actions that failed at once, given on the next turn:
    /// the core wants them after its action queue is drained.
    deferred: Vec<(usize, u32, Event)>,
    per_ip: HashMap<IpAddr, usize>,
    config: Arc<Config>,
    jail: Jail,
    limits: Limits,
    passwords: Option<PasswordWorker>,
    /// Re-read on SIGHUP.
    users_file: Option<PathBuf>,
    reload: Option<Reload>,
    /// `--xferlog`: one line per file transfer.
    xferlog: Option<std::fs::File>,
    signals: Signals,
    /// Set by SIGTERM/SIGINT: when the remaining sessions are cut off.
    stop_by: Option<Instant>,
    buffer: Box<[u8]>,
    next_generation: u32,
    next_pasv_port: usize,
}

impl Server {
    /// Binds the listening sockets. `passwords` is started later with
    /// [`Server::waker`], once a users file is loaded.
    pub fn bind(
        addresses: &[SocketAddr],
        config: Arc<Config>,
        jail: Jail,
        limits: Limits,
    ) -> io::Result<Server> {
        let poll = Poll::new()?;
        let mut signals = Signals::new([libc::SIGTERM, libc::SIGINT, libc::SIGHUP])?;
        poll.registry().register(
            &mut signals,
            token(SIGNALS_KEY, 0, Kind::Server),
            Interest::READABLE,
        )?;
        let mut listeners = Vec::new();
        for (index, addr) in addresses.iter().enumerate() {
            let mut listener = TcpListener::bind(*addr)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
            poll.registry().register(
                &mut listener,
                token(index, 0, Kind::Server),
                Interest::READABLE,
            )?;
            info!("listening on {}", listener.local_addr()?);
            listeners.push(listener);
        }
        Ok(Server {
            poll,
            listeners,
            connections: Slab::new(),
            timers: BinaryHeap::new(),
            runnable: VecDeque::new(),
            deferred: Vec::new(),
            per_ip: HashMap::new(),
            config,
            jail,
            limits,
            passwords: None,
            users_file: None,
            reload: None,
            xferlog: None,
            signals,
            stop_by: None,
            buffer: vec![0; BUFFER_SIZE].into_boxed_slice(),
            next_generation: 1,
            next_pasv_port: 0,
        })
    }

    /// A waker for a thread that wants the loop's attention.
    pub fn waker(&self) -> io::Result<mio::Waker> {
        mio::Waker::new(self.poll.registry(), token(WAKER_KEY, 0, Kind::Server))
    }

    /// Checks passwords with `worker`; SIGHUP re-reads `users_file` into it.
    pub fn set_password_worker(&mut self, worker: PasswordWorker, users_file: PathBuf) {
        self.passwords = Some(worker);
        self.users_file = Some(users_file);
    }

    /// On SIGHUP, `reload` supplies new settings for new sessions and limits.
    pub fn set_reload(&mut self, reload: Reload) {
        self.reload = Some(reload);
    }

    /// Appends a line to `file` for every finished file transfer.
    pub fn set_xferlog(&mut self, file: std::fs::File) {
        self.xferlog = Some(file);
    }

    /// Runs until SIGTERM or SIGINT has let every session end (or the grace
    /// period ran out), or until the event loop itself fails.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            if let Some(stop_by) = self.stop_by {
                if self.connections.is_empty() {
                    info!("stopped");
                    return Ok(());
                }
                if Instant::now() >= stop_by {
                    warn!(
                        "grace period over: closing {} sessions",
                        self.connections.len()
                    );
                    let keys: Vec<usize> = self.connections.iter().map(|(key, _)| key).collect();
                    keys.into_iter().for_each(|key| self.remove(key));
                    return Ok(());
                }
            }
            let timeout = if self.runnable.is_empty() && self.deferred.is_empty() {
                let next_timer = self.timers.peek().map(|Reverse((at, _, _))| *at);
                next_timer
                    .into_iter()
                    .chain(self.stop_by)
                    .min()
                    .map(|at| at.saturating_duration_since(Instant::now()))
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let now = Instant::now();
            for event in events.iter() {
                let (key, generation, kind) = untoken(event.token());
                match kind {
                    Kind::Server if key == WAKER_KEY => self.password_answers(now),
                    Kind::Server if key == SIGNALS_KEY => self.on_signals(now),
                    Kind::Server => self.accept_clients(key, now),
                    _ if self
                        .connections
                        .get(key)
                        .is_some_and(|c| c.generation == generation) =>
                    {
                        self.on_socket(key, kind, now);
                    }
                    _ => {}
                }
            }
            for (key, generation, event) in std::mem::take(&mut self.deferred) {
                if self
                    .connections
                    .get(key)
                    .is_some_and(|c| c.generation == generation)
                {
                    self.event(key, now, event);
                }
            }
            let mut spent = 0;
            while spent < TURN_BUDGET {
                let Some((key, generation)) = self.runnable.pop_front() else {
                    break;
                };
                if let Some(conn) = self
                    .connections
                    .get_mut(key)
                    .filter(|c| c.generation == generation)
                {
                    conn.queued = false;
                    // A step that moved nothing still counts: the turn ends.
                    spent += self.pump(key, now).max(1);
                }
            }
            self.fire_timers(now);
        }
    }

    // --- signals ---

    fn on_signals(&mut self, now: Instant) {
        let pending: Vec<i32> = self.signals.pending().collect();
        for signal in pending {
            match signal {
                libc::SIGHUP => {
                    self.reload_settings();
                    self.reload_users();
                }
                _ => self.begin_shutdown(now),
            }
        }
    }

    /// SIGHUP: good new settings apply to sessions that start from now on;
    /// bad ones are logged and the old ones kept.
    fn reload_settings(&mut self) {
        let Some(reload) = &mut self.reload else {
            return;
        };
        match reload() {
            Ok(settings) => {
                self.config = settings.config;
                self.limits = settings.limits;
                info!("SIGHUP: settings re-read");
            }
            Err(e) => error!("SIGHUP: keeping the old settings: {e}"),
        }
    }

    /// SIGHUP: a good new users file replaces the old one; a bad one is
    /// logged and the old one stays. Sessions are not touched.
    fn reload_users(&mut self) {
        let (Some(path), Some(worker)) = (&self.users_file, &self.passwords) else {
            return info!("SIGHUP: no users file to re-read");
        };
        match Users::load(path) {
            Ok(users) => {
                worker.replace_users(Arc::new(users));
                info!("SIGHUP: re-read {}", path.display());
            }
            Err(e) => error!("SIGHUP: keeping the old users: {e}"),
        }
    }

    /// SIGTERM/SIGINT: stop accepting, tell every session (idle ones close
    /// with 421, transfers finish), and give them the grace period.
    fn begin_shutdown(&mut self, now: Instant) {
        if self.stop_by.is_some() {
            return;
        }
        info!("stopping: {} sessions to finish", self.connections.len());
        for mut listener in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.stop_by = Some(now + self.limits.shutdown_grace);
        let keys: Vec<usize> = self.connections.iter().map(|(key, _)| key).collect();
        for key in keys {
            if let Some(conn) = self.connections.get_mut(key) {
                conn.session.handle_shutdown(now);
                self.drive(key, now);
            }
        }
    }

    // --- accepting clients ---

    fn accept_clients(&mut self, index: usize, now: Instant) {
        loop {
            let Some(listener) = self.listeners.get(index) else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer, now),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of descriptors, most likely: try again on the next edge.
                    error!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn admit(&mut self, mut stream: TcpStream, peer: SocketAddr, now: Instant) {
        let ip = canonical_ip(peer.ip());
        let from_ip = self.per_ip.get(&ip).copied().unwrap_or(0);
        if self.connections.len() >= self.limits.max_clients || from_ip >= self.limits.max_per_ip {
            warn!("{peer}: refused, too many connections");
            let _ = stream.write(b"421 Too many connections; try again later.\r\n");
            return;
        }
        let local = match stream.local_addr() {
            Ok(local) => local,
            Err(e) => return warn!("{peer}: {e}"),
        };
        if let Err(e) = set_oob_inline(&stream).and_then(|()| stream.set_nodelay(true)) {
            return warn!("{peer}: cannot set socket options: {e}");
        }
        let generation = self.next_generation;
        // Tokens hold 30 bits of generation.
        self.next_generation = ((self.next_generation + 1) & 0x3FFF_FFFF).max(1);
        let entry = self.connections.vacant_entry();
        let key = entry.key();
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            token(key, generation, Kind::Control),
            Interest::READABLE,
        ) {
            return warn!("{peer}: cannot register: {e}");
        }
        entry.insert(Connection {
            generation,
            session: Session::new(Arc::clone(&self.config), now, local, peer),
            control: stream,
            control_readable: true,
            control_writable: false,
            listener: None,
            data: None,
            connecting: None,
            opened: None,
            transfer: None,
            queued: false,
            reported: 0,
            progress_due: now,
            timer: None,
            closing: false,
        });
        *self.per_ip.entry(ip).or_insert(0) += 1;
        self.drive(key, now);
    }

    fn remove(&mut self, key: usize) {
        let mut conn = self.connections.remove(key);
        conn.close_data(self.poll.registry());
        let _ = self.poll.registry().deregister(&mut conn.control);
        let ip = canonical_ip(conn.session.peer().ip());
        if let Some(count) = self.per_ip.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }

    // --- socket events ---

    fn on_socket(&mut self, key: usize, kind: Kind, now: Instant) {
        match kind {
            Kind::Control => {
                self.connections[key].control_readable = true;
                self.drive(key, now);
            }
            Kind::DataListener => self.accept_data(key, now),
            Kind::Data if self.connections[key].connecting.is_some() => {
                self.finish_connect(key, now)
            }
            Kind::Data => self.connections[key].schedule(key, &mut self.runnable),
            Kind::Server => {}
        }
    }

    /// The passive listener is ready: offer each connection to the session,
    /// which may reject it (wrong address); keep the first it accepts.
    fn accept_data(&mut self, key: usize, now: Instant) {
        loop {
            let conn = &mut self.connections[key];
            let Some(listener) = &conn.listener else {
                return;
            };
            let (mut stream, peer) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            let data_token = token(key, conn.generation, Kind::Data);
            let registered = self.poll.registry().register(
                &mut stream,
                data_token,
                Interest::READABLE | Interest::WRITABLE,
            );
            if registered.is_err() {
                continue;
            }
            conn.data = Some(stream);
            self.event(key, now, Event::DataConnected { peer });
            if !self.connections.contains(key) {
                return;
            }
            let conn = &mut self.connections[key];
            if conn.data.is_some() {
                if let Some(mut listener) = conn.listener.take() {
                    let _ = self.poll.registry().deregister(&mut listener);
                }
                return;
            }
        }
    }

    /// The active connect finished, one way or the other.
    fn finish_connect(&mut self, key: usize, now: Instant) {
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
        self.event(key, now, event);
    }

    /// Moves one step of the running transfer; returns the bytes moved.
    fn pump(&mut self, key: usize, now: Instant) -> usize {
        let conn = &mut self.connections[key];
        let (Some(transfer), Some(data)) = (&mut conn.transfer, &mut conn.data) else {
            return 0;
        };
        let before = transfer.bytes;
        let step = transfer.step(data, &mut self.buffer, STEP);
        let bytes = transfer.bytes;
        let moved = (bytes - before) as usize;
        let event = match step {
            Ok(step @ (Step::Blocked | Step::MoreWork)) => {
                if step == Step::MoreWork {
                    conn.schedule(key, &mut self.runnable);
                }
                if bytes == conn.reported || now < conn.progress_due {
                    return moved;
                }
                conn.reported = bytes;
                conn.progress_due = now + PROGRESS_INTERVAL;
                Event::TransferProgress { bytes }
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
        self.event(key, now, event);
        moved
    }

    fn password_answers(&mut self, now: Instant) {
        let answers: Vec<_> = self.passwords.iter().flat_map(|w| w.answers()).collect();
        for answer in answers {
            if self
                .connections
                .get(answer.key)
                .is_some_and(|c| c.generation == answer.generation)
            {
                self.event(answer.key, now, Event::LoginChecked(answer.access));
            }
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(&Reverse((at, key, generation))) = self.timers.peek() {
            if at > now {
                return;
            }
            self.timers.pop();
            let Some(conn) = self
                .connections
                .get_mut(key)
                .filter(|c| c.generation == generation)
            else {
                continue;
            };
            if conn.timer != Some(at) {
                continue; // superseded by an earlier deadline
            }
            conn.timer = None;
            if conn.session.poll_timeout().is_some_and(|due| due <= now) {
                conn.session.handle_timeout(now);
            }
            self.drive(key, now);
        }
    }

    // --- driving a session ---

    /// Feeds an event to a session and drains it.
    fn event(&mut self, key: usize, now: Instant, event: Event) {
        if let Err(e) = self.connections[key].session.handle_event(now, event) {
            error!("reactor bug: {e:?}");
        }
        self.drive(key, now);
    }

    /// The drain rule: actions, more input while there is room, replies, timer.
    fn drive(&mut self, key: usize, now: Instant) {
        loop {
            while let Some(action) = self.connections[key].session.poll_action() {
                self.perform(key, action, now);
            }
            let conn = &mut self.connections[key];
            let room = conn.session.control_read_room().min(self.buffer.len());
            if conn.closing || room == 0 || !conn.control_readable {
                break;
            }
            match conn.control.read(&mut self.buffer[..room]) {
                Ok(0) => {
                    conn.control_readable = false;
                    conn.session.handle_control_eof(now);
                }
                Ok(n) => conn.session.handle_control_input(now, &self.buffer[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => conn.control_readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    conn.control_readable = false;
                    conn.session.handle_control_eof(now);
                }
            }
        }
        let conn = &mut self.connections[key];
        let flushed = flush(conn);
        if conn.closing || flushed.is_err() {
            self.remove(key);
            return;
        }
        let want_write = flushed.is_ok_and(|done| !done);
        if want_write != conn.control_writable {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let control_token = token(key, conn.generation, Kind::Control);
            if self
                .poll
                .registry()
                .reregister(&mut conn.control, control_token, interest)
                .is_ok()
            {
                conn.control_writable = want_write;
            }
        }
        if let Some(due) = conn.session.poll_timeout() {
            if conn.timer.is_none_or(|armed| due < armed) {
                conn.timer = Some(due);
                self.timers.push(Reverse((due, key, conn.generation)));
            }
        }
    }

    /// Carries out one action, answering it with its event when it has one.
    fn perform(&mut self, key: usize, action: Action, now: Instant) {
        let registry = self.poll.registry();
        let conn = &mut self.connections[key];
        let answer = match action {
            Action::CloseData | Action::AbortTransfer => {
                conn.close_data(registry);
                None
            }
            Action::RejectData => {
                if let Some(mut data) = conn.data.take() {
                    let _ = registry.deregister(&mut data);
                }
                None
            }
            Action::ListenData => {
                let ip = canonical_ip(conn.session.local().ip());
                Some(
                    match bind_passive(
                        ip,
                        self.limits.pasv_ports.as_ref(),
                        &mut self.next_pasv_port,
                    ) {
                        Ok((mut listener, port)) => {
                            let listener_token = token(key, conn.generation, Kind::DataListener);
                            match registry.register(
                                &mut listener,
                                listener_token,
                                Interest::READABLE,
                            ) {
                                Ok(()) => {
                                    conn.listener = Some(listener);
                                    Event::Listening { port }
                                }
                                Err(e) => Event::Failed(kind_of(&e)),
                            }
                        }
                        Err(e) => {
                            warn!("cannot open a passive listener: {e}");
                            Event::Failed(kind_of(&e))
                        }
                    },
                )
            }
            Action::ConnectData(addr) => {
                let data_token = token(key, conn.generation, Kind::Data);
                let connected = TcpStream::connect(addr).and_then(|mut stream| {
                    registry.register(
                        &mut stream,
                        data_token,
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    Ok(stream)
                });
                match connected {
                    Ok(stream) => {
                        conn.data = Some(stream);
                        conn.connecting = Some(addr);
                    }
                    Err(e) => {
                        self.deferred
                            .push((key, conn.generation, Event::Failed(kind_of(&e))))
                    }
                }
                None
            }
            Action::Open { path, mode } => Some(match transfer::open(&self.jail, &path, mode) {
                Ok(result) => {
                    conn.opened = Some(result.opened);
                    Event::Opened {
                        size: result.size,
                        unique_name: result.unique_name,
                    }
                }
                Err(e) => Event::Failed(kind_of(&e)),
            }),
            Action::StartTransfer { ascii } => {
                match conn.opened.take() {
                    Some(opened) if conn.data.is_some() => {
                        conn.transfer = Some(Transfer::new(opened, ascii, wall_clock()));
                        conn.reported = 0;
                        conn.progress_due = now + PROGRESS_INTERVAL;
                        // Data may already be waiting: its edge will not come again.
                        conn.schedule(key, &mut self.runnable);
                    }
                    _ => {
                        error!("reactor bug: StartTransfer without an opened file and a data connection");
                        let failed = Event::Failed(pocketftp_core::ErrorKind::Other);
                        self.deferred.push((key, conn.generation, failed));
                    }
                }
                None
            }
            Action::Stat(path) => Some(
                self.jail
                    .stat(&path)
                    .map_or_else(|e| Event::Failed(kind_of(&e)), Event::Metadata),
            ),
            Action::Rename { from, to } => Some(done(self.jail.rename(&from, &to))),
            Action::Delete(path) => Some(done(self.jail.delete(&path))),
            Action::MakeDir(path) => Some(done(self.jail.make_dir(&path))),
            Action::RemoveDir(path) => Some(done(self.jail.remove_dir(&path))),
            Action::SetModified { path, modified } => {
                Some(done(self.jail.set_modified(&path, modified).map(drop)))
            }
            Action::ListToControl(path) => Some(
                transfer::list_inline(&self.jail, &path, STATUS_LISTING_CAP, wall_clock())
                    .map_or_else(|e| Event::Failed(kind_of(&e)), Event::Listing),
            ),
            Action::VerifyPassword { user, password } => match &self.passwords {
                Some(worker) => {
                    worker.check(Check {
                        key,
                        generation: conn.generation,
                        user,
                        password,
                    });
                    None
                }
                None => Some(Event::LoginChecked(None)),
            },
            Action::LogTransfer(record) => {
                if let Some(log) = &mut self.xferlog {
                    let line = record.xferlog_line(wall_clock());
                    if let Err(e) = writeln!(log, "{line}") {
                        warn!("cannot write the transfer log: {e}");
                    }
                }
                None
            }
            Action::Close => {
                conn.closing = true;
                None
            }
        };
        if let Some(event) = answer {
            if let Err(e) = conn.session.handle_event(now, event) {
                error!("reactor bug: {e:?}");
            }
        }
    }
}

/// Writes queued replies; `Ok(true)` when all are out.
fn flush(conn: &mut Connection) -> io::Result<bool> {
    loop {
        let pending = conn.session.poll_control_transmit();
        if pending.is_empty() {
            return Ok(true);
        }
        match conn.control.write(pending) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => conn.session.consume_control_transmit(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn done(result: io::Result<()>) -> Event {
    result.map_or_else(|e| Event::Failed(kind_of(&e)), |()| Event::Done)
}

/// Binds a passive listener on `ip`, in the configured port range if any
/// (starting where the last search ended, so ports rotate).
fn bind_passive(
    ip: IpAddr,
    range: Option<&RangeInclusive<u16>>,
    next: &mut usize,
) -> io::Result<(TcpListener, u16)> {
    let bind = |port| {
        let listener = TcpListener::bind(SocketAddr::new(ip, port))?;
        let port = listener.local_addr()?.port();
        Ok((listener, port))
    };
    let Some(range) = range else {
        return bind(0);
    };
    let (start, len) = (usize::from(*range.start()), range.len());
    let mut last_error = io::Error::from(io::ErrorKind::AddrInUse);
    for i in 0..len {
        let port = (start + (*next + i) % len) as u16;
        match bind(port) {
            Ok(bound) => {
                *next = (*next + i + 1) % len;
                return Ok(bound);
            }
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// Python's ftplib sends ABOR's final byte as TCP urgent data: without
/// SO_OOBINLINE that byte never reaches the stream and the line never ends.
fn set_oob_inline(stream: &TcpStream) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: a valid socket fd and a c_int option value of the size passed.
    let result = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_OOBINLINE,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// IPv4-mapped IPv6 addresses (from dual-stack sockets) count as IPv4.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The wall clock in Unix seconds, for listing dates.
fn wall_clock() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for (key, generation, kind) in [
            (0, 1, Kind::Control),
            (12345, u32::MAX >> 2, Kind::Data),
            (WAKER_KEY, 0, Kind::Server),
        ] {
            let generation = generation & 0x3FFF_FFFF;
            assert_eq!(
                untoken(token(key, generation, kind)),
                (key, generation, kind)
            );
        }
    }

    #[test]
    fn passive_ports_rotate_within_the_range() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = probe.local_addr().unwrap().port();
        drop(probe);
        let range = base..=base.saturating_add(3);
        let mut next = 0;
        let (first, p1) = bind_passive(ip, Some(&range), &mut next).unwrap();
        let (second, p2) = bind_passive(ip, Some(&range), &mut next).unwrap();
        assert!(range.contains(&p1) && range.contains(&p2) && p1 != p2);
        drop((first, second));
    }
}
