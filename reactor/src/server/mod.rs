//! The event loop: one thread, one `mio::Poll`, one `Slab` of connections.
//!
//! A turn of the loop ([`Server::turn`]) reads the clock once and then:
//! 1. handles every ready socket: control sockets are read and written
//!    until `WouldBlock` (readiness is edge-triggered), a ready data socket
//!    only joins the run queue; new clients are accepted last;
//! 2. delivers the answers queued for sessions ([`Server::answer`]): every
//!    outcome of an action travels this one path, tagged so an answer for
//!    a transfer that was aborted, or a session that ended, is dropped;
//! 3. moves transfers from the run queue until the turn's byte budget is
//!    spent, so a turn stays short however many transfers run and control
//!    commands are answered between them;
//! 4. fires due timers, and removes the connections that closed.
//!
//! After any input to a session, [`Server::drive`] drains it: carries out
//! its actions, writes its replies, feeds it more control bytes while it has
//! room, and re-arms its timer. The reactor makes no protocol decision.

mod accept;
mod actions;
mod deadlines;
mod schedule;
mod token;

use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use log::{error, info, warn};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use pocketftp_core::{canonical_ip, Config, Event, Session, TOO_MANY_CONNECTIONS};
use signal_hook_mio::v1_0::Signals;
use slab::Slab;

use crate::activation::Inherited;
use crate::auth::users::{PasswordWorker, Users};
use crate::conn::{Connection, Tag};
use crate::net::sockopt;
use crate::net::tls::{TlsConfigs, TlsLayer};
use crate::rate::{Bucket, Rates};
use crate::storage::jail::Jail;
use deadlines::Deadlines;
use token::{token, untoken, Source, MAX_KEY, SIGNALS_KEY, WAKER_KEY};

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
/// Control reads one session gets per drive; past them it waits for the
/// next turn, so a client pipelining without end cannot hold the loop.
const READS_PER_DRIVE: usize = 16;
/// How often a running transfer tells its session about progress (for the
/// stall timer and STAT; seconds-scale, so a few times a second is plenty).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);
/// The shared buffer for control reads and uploads. Its pages are touched
/// only as far as an upload fills it, so an idle daemon does not pay for it.
const BUFFER_SIZE: usize = 1024 * 1024;
/// How long a received upload waits before it is committed, for the end of
/// its control connection to show. A client killed mid-upload closes its
/// data connection first (the kernel releases a dying process's sockets in
/// reverse order): its control connection's end follows within
/// microseconds, and must break the upload, not find it already in place.
const UPLOAD_SETTLE: Duration = Duration::from_millis(5);
/// How long accepting pauses when the daemon is out of descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Limits the reactor enforces itself.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_clients: usize,
    pub max_per_ip: usize,
    pub pasv_ports: Option<RangeInclusive<u16>>,
    /// How long running transfers may go on after SIGTERM.
    pub shutdown_grace: Duration,
    /// Bandwidth limits: a new transfer takes the per-session ones when it
    /// starts, so SIGHUP changes them for transfers that start afterwards.
    pub rates: Rates,
}

/// What SIGHUP may change: the settings of new sessions, the limits, the
/// TLS certificate and key, and the umask.
pub struct Settings {
    pub config: Arc<Config>,
    pub limits: Limits,
    /// FTPS, when a certificate and key are configured.
    pub tls: Option<TlsConfigs>,
    /// `--umask`: the process umask while serving (see [`apply_umask`]).
    pub umask: u32,
}

/// Where to listen.
pub struct Listeners {
    /// Plain FTP (FTPS after `AUTH TLS`).
    pub plain: Vec<SocketAddr>,
    /// Implicit FTPS: TLS from the first byte.
    pub implicit_tls: Vec<SocketAddr>,
    /// Sockets systemd bound for us (socket activation); with them, the
    /// addresses above are not bound.
    pub inherited: Vec<Inherited>,
}

/// Re-reads the settings (the config file and flags) on SIGHUP.
pub type Reload = Box<dyn FnMut() -> Result<Settings, String>>;

pub struct Server {
    poll: Poll,
    /// Listening sockets, each with whether it is an implicit FTPS one.
    listeners: Vec<(TcpListener, bool)>,
    connections: Slab<Connection>,
    deadlines: Deadlines,
    /// Transfers with work to do, served in turn, [`STEP`] bytes at a time,
    /// [`TURN_BUDGET`] per turn of the loop.
    runnable: VecDeque<(usize, u32)>,
    /// Outcomes of actions on their way to their sessions.
    answers: VecDeque<(Tag, Event)>,
    /// `--max-rate`: the bucket every transfer draws from, when set.
    global_bucket: Option<Bucket>,
    /// Rate-limited transfers out of tokens, each due back in the run
    /// queue when its buckets hold enough again (a timer, never a busy loop).
    throttled: Deadlines,
    /// Received uploads waiting for [`UPLOAD_SETTLE`], in deadline order.
    settling: VecDeque<(Instant, usize, u32)>,
    /// Sessions that had more input than one drive takes.
    unread: VecDeque<(usize, u32)>,
    /// Connections whose session ended, removed at the end of the turn.
    closed: Vec<usize>,
    per_ip: HashMap<IpAddr, usize>,
    config: Arc<Config>,
    jail: Rc<Jail>,
    limits: Limits,
    tls: Option<TlsConfigs>,
    umask: u32,
    passwords: Option<PasswordWorker>,
    /// Re-read on SIGHUP.
    users_file: Option<PathBuf>,
    reload: Option<Reload>,
    /// `--xferlog`: one line per file transfer.
    xferlog: Option<std::fs::File>,
    signals: Signals,
    /// Set by SIGTERM/SIGINT: when the remaining sessions are cut off.
    stop_by: Option<Instant>,
    /// Out of descriptors: accepting resumes then.
    accept_paused_until: Option<Instant>,
    buffer: Box<[u8]>,
    next_generation: u32,
    next_pasv_port: usize,
}

impl Server {
    /// Binds the listening sockets. `passwords` is started later with
    /// [`Server::waker`], once a users file is loaded.
    pub fn bind(addresses: Listeners, settings: Settings, jail: Jail) -> io::Result<Server> {
        let poll = Poll::new()?;
        let mut signals = Signals::new([libc::SIGTERM, libc::SIGINT, libc::SIGHUP])?;
        let signals_token = token(SIGNALS_KEY, Source::Daemon);
        (poll.registry()).register(&mut signals, signals_token, Interest::READABLE)?;
        let mut bound = Vec::new();
        let plain = addresses.plain.iter().map(|addr| (addr, false));
        let implicit = addresses.implicit_tls.iter().map(|addr| (addr, true));
        for (addr, implicit_tls) in plain.chain(implicit) {
            let listener = accept::bind(*addr)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
            bound.push((listener, implicit_tls));
        }
        let inherited = (addresses.inherited.into_iter())
            .map(|i| (TcpListener::from_std(i.listener), i.implicit_tls));
        let mut listeners = Vec::new();
        for (index, (mut listener, implicit_tls)) in inherited.chain(bound).enumerate() {
            let listener_token = token(index, Source::Daemon);
            (poll.registry()).register(&mut listener, listener_token, Interest::READABLE)?;
            let tls = if implicit_tls { " (implicit FTPS)" } else { "" };
            info!("listening on {}{tls}", listener.local_addr()?);
            listeners.push((listener, implicit_tls));
        }
        Ok(Server {
            poll,
            listeners,
            connections: Slab::new(),
            deadlines: Deadlines::default(),
            runnable: VecDeque::new(),
            global_bucket: (settings.limits.rates.total).map(|r| Bucket::new(r, Instant::now())),
            throttled: Deadlines::default(),
            answers: VecDeque::new(),
            settling: VecDeque::new(),
            unread: VecDeque::new(),
            closed: Vec::new(),
            per_ip: HashMap::new(),
            config: settings.config,
            jail: Rc::new(jail),
            limits: settings.limits,
            tls: settings.tls,
            umask: settings.umask,
            passwords: None,
            users_file: None,
            reload: None,
            xferlog: None,
            signals,
            stop_by: None,
            accept_paused_until: None,
            buffer: vec![0; BUFFER_SIZE].into_boxed_slice(),
            next_generation: 1,
            next_pasv_port: 0,
        })
    }

    /// A waker for a thread that wants the loop's attention.
    pub fn waker(&self) -> io::Result<mio::Waker> {
        mio::Waker::new(self.poll.registry(), token(WAKER_KEY, Source::Daemon))
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
        apply_umask(self.umask);
        loop {
            if let Some(stop_by) = self.stop_by {
                if self.connections.is_empty() {
                    info!("stopped");
                    return Ok(());
                }
                if Instant::now() >= stop_by {
                    self.cut_off_sessions();
                    return Ok(());
                }
            }
            match self.poll.poll(&mut events, self.poll_timeout()) {
                Ok(()) => self.turn(&events),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// How long the next poll may wait: not at all while work is queued.
    fn poll_timeout(&self) -> Option<Duration> {
        if !(self.runnable.is_empty() && self.answers.is_empty() && self.unread.is_empty()) {
            return Some(Duration::ZERO);
        }
        let now = Instant::now();
        [
            self.deadlines.next(),
            self.throttled.next(),
            self.settling.front().map(|(at, _, _)| *at),
            self.stop_by,
            self.accept_paused_until,
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|at| at.saturating_duration_since(now))
    }

    /// One turn of the loop; see the module docs.
    fn turn(&mut self, events: &Events) {
        let now = Instant::now();
        // New clients last: sessions that ended in this batch free their
        // slots (--max-clients, --max-per-ip) first.
        let listeners = self.listeners.len();
        let is_listener = |token: &Token| {
            let (key, source) = untoken(*token);
            source == Source::Daemon && key < listeners
        };
        let tokens = || events.iter().map(|e| e.token());
        for token in tokens().filter(|t| !is_listener(t)) {
            self.on_ready(token, now);
        }
        for token in tokens().filter(is_listener) {
            self.on_ready(token, now);
        }
        for (key, generation) in std::mem::take(&mut self.unread) {
            if self.live(key, generation).is_some() {
                self.drive(key, now);
            }
        }
        self.deliver_answers(now);
        self.wake_throttled(now);
        self.run_transfers(now);
        self.commit_settled_uploads(now);
        self.fire_timers(now);
        self.resume_accepting(now);
        self.remove_closed();
    }

    fn on_ready(&mut self, token: mio::Token, now: Instant) {
        let (key, source) = untoken(token);
        if source == Source::Daemon {
            return match key {
                WAKER_KEY => self.password_answers(),
                SIGNALS_KEY => self.on_signals(now),
                index => self.accept_clients(index, now),
            };
        }
        let Some(conn) = self.connections.get_mut(key).filter(|c| !c.closing) else {
            return;
        };
        match source {
            Source::Control => {
                conn.control_readable = true;
                self.drive(key, now);
            }
            Source::DataListener => self.accept_data(key),
            Source::Data if conn.connecting.is_some() => self.finish_connect(key),
            Source::Data => self.schedule(key),
            Source::Daemon => {}
        }
    }

    /// The connection at `key` if it is still the one `generation` names
    /// and its session goes on.
    fn live(&mut self, key: usize, generation: u32) -> Option<&mut Connection> {
        (self.connections.get_mut(key)).filter(|c| c.tag.generation == generation && !c.closing)
    }

    /// Queues `event` for the session at `key`, tagged with its data epoch.
    fn answer(&mut self, key: usize, event: Event) {
        self.answers.push_back((self.connections[key].tag, event));
    }

    /// Hands each queued answer to its session, unless the session ended or
    /// moved to another data epoch since. Answers queued meanwhile wait for
    /// the next turn, so one session's pipelined commands cannot hold the loop.
    fn deliver_answers(&mut self, now: Instant) {
        for _ in 0..self.answers.len() {
            let Some((tag, event)) = self.answers.pop_front() else {
                return;
            };
            let Some(conn) = self.live(tag.key, tag.generation) else {
                continue;
            };
            if conn.tag.epoch != tag.epoch {
                continue;
            }
            if let Err(e) = conn.session.handle_event(now, event) {
                error!("reactor bug: {e:?}");
            }
            self.drive(tag.key, now);
        }
    }

    fn run_transfers(&mut self, now: Instant) {
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

    fn password_answers(&mut self) {
        let answers: Vec<_> = self.passwords.iter().flat_map(|w| w.answers()).collect();
        for answer in answers {
            if self.live(answer.key, answer.generation).is_none() {
                continue;
            }
            let access = answer.account.and_then(|account| {
                let home = account.home.as_ref().map(|home| self.jail.home(home));
                match home {
                    Some(Err(e)) => {
                        let peer = self.connections[answer.key].session.peer();
                        error!("{peer}: login refused: its home folder cannot be opened: {e}");
                        None
                    }
                    Some(Ok(home)) => {
                        self.connections[answer.key].home = Some(Rc::new(home));
                        Some(account.access)
                    }
                    None => Some(account.access),
                }
            });
            self.answer(answer.key, Event::LoginChecked(access));
        }
    }

    /// The folder a session sees as `/`: its user's home, or the root.
    fn jail_of(&self, key: usize) -> Rc<Jail> {
        let home = self.connections[key].home.as_ref();
        Rc::clone(home.unwrap_or(&self.jail))
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some((at, key, generation)) = self.deadlines.pop_due(now) {
            let Some(conn) = self.live(key, generation) else {
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
                let total = settings.limits.rates.total;
                if total != self.global_bucket.as_ref().map(Bucket::rate) {
                    self.global_bucket = total.map(|r| Bucket::new(r, Instant::now()));
                }
                self.limits = settings.limits;
                self.tls = settings.tls;
                self.umask = settings.umask;
                apply_umask(self.umask);
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
        match Users::load(path).and_then(|u| u.check_homes(path, &self.jail).map(|()| u)) {
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
        let sessions = crate::count(self.connections.len(), "session");
        info!("stopping: {sessions} to finish");
        for (mut listener, _) in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.stop_by = Some(now + self.limits.shutdown_grace);
        self.each_session(now, Session::handle_shutdown);
    }

    /// The grace period is over: transfers still running get their final
    /// reply, every session its `421`, and all of them are closed.
    fn cut_off_sessions(&mut self) {
        let sessions = crate::count(self.connections.len(), "session");
        warn!("grace period over: closing {sessions}");
        self.each_session(Instant::now(), Session::handle_shutdown_expired);
        self.remove_closed();
    }

    /// Gives `input` to every session and drains it.
    fn each_session(&mut self, now: Instant, input: fn(&mut Session, Instant)) {
        let keys: Vec<usize> = self.connections.iter().map(|(key, _)| key).collect();
        for key in keys {
            if let Some(conn) = self.connections.get_mut(key).filter(|c| !c.closing) {
                input(&mut conn.session, now);
                self.drive(key, now);
            }
        }
    }

    // --- accepting clients ---

    fn accept_clients(&mut self, index: usize, now: Instant) {
        while self.accept_paused_until.is_none() {
            let Some((listener, implicit_tls)) = self.listeners.get(index) else {
                return;
            };
            let implicit_tls = *implicit_tls;
            match listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer, implicit_tls, now),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_out_of_resources(&e) => {
                    // The connections wait in the backlog; no new edge will
                    // tell us when descriptors are free again: retry on a timer.
                    warn!(
                        "cannot accept: {e}; retrying in {} ms",
                        ACCEPT_BACKOFF.as_millis()
                    );
                    self.accept_paused_until = Some(now + ACCEPT_BACKOFF);
                }
                Err(e) => return error!("accept failed: {e}"),
            }
        }
    }

    fn resume_accepting(&mut self, now: Instant) {
        if self.accept_paused_until.is_some_and(|at| at <= now) {
            self.accept_paused_until = None;
            for index in 0..self.listeners.len() {
                self.accept_clients(index, now);
            }
        }
    }

    fn admit(&mut self, mut stream: TcpStream, peer: SocketAddr, implicit_tls: bool, now: Instant) {
        let ip = canonical_ip(peer.ip());
        let from_ip = self.per_ip.get(&ip).copied().unwrap_or(0);
        let sessions = self.connections.len() - self.closed.len();
        let full = sessions >= self.limits.max_clients.min(MAX_KEY);
        if full || from_ip >= self.limits.max_per_ip {
            warn!("{peer}: refused, too many connections");
            let _ = stream.write(TOO_MANY_CONNECTIONS);
            return;
        }
        let local = match stream.local_addr() {
            Ok(local) => local,
            Err(e) => return warn!("{peer}: {e}"),
        };
        if let Err(e) = sockopt::set_oob_inline(&stream).and_then(|()| stream.set_nodelay(true)) {
            return warn!("{peer}: cannot set socket options: {e}");
        }
        if self.jail.is_deleted() {
            error!("the served folder was deleted: every session sees an empty, read-only folder; restart pocketftpd on an existing folder");
        }
        // Implicit FTPS: the handshake first; the 220 waits inside TLS.
        let (session, control_tls) = if implicit_tls {
            let Some(tls) = self.tls.as_ref().map(|c| TlsLayer::new(&c.ticketing, &[])) else {
                return warn!("{peer}: refused: the implicit FTPS listener has no certificate");
            };
            let tls = match tls {
                Ok(tls) => Box::new(tls),
                Err(e) => return warn!("{peer}: cannot start TLS: {e}"),
            };
            let session = Session::new_implicit_tls(Arc::clone(&self.config), now, local, peer);
            (session, Some(tls))
        } else {
            (
                Session::new(Arc::clone(&self.config), now, local, peer),
                None,
            )
        };
        let entry = self.connections.vacant_entry();
        let key = entry.key();
        let control_token = token(key, Source::Control);
        if let Err(e) =
            (self.poll.registry()).register(&mut stream, control_token, Interest::READABLE)
        {
            return warn!("{peer}: cannot register: {e}");
        }
        let tag = Tag {
            key,
            generation: self.next_generation,
            epoch: 0,
        };
        self.next_generation = self.next_generation.wrapping_add(1);
        let mut connection = Connection::new(tag, session, stream, now);
        connection.control_tls = control_tls;
        entry.insert(connection);
        *self.per_ip.entry(ip).or_insert(0) += 1;
        self.drive(key, now);
    }

    /// Removes the connections whose sessions ended this turn, then lets the
    /// timer heap forget them.
    fn remove_closed(&mut self) {
        for key in std::mem::take(&mut self.closed) {
            if let Some(mut conn) = self.connections.try_remove(key) {
                conn.close_data(self.poll.registry());
                let _ = self.poll.registry().deregister(&mut conn.control);
            }
        }
        let connections = &self.connections;
        self.deadlines
            .compact(connections.len(), |at, key, generation| {
                connections
                    .get(key)
                    .is_some_and(|c| c.tag.generation == generation && c.timer == Some(at))
            });
    }

    // --- driving a session ---

    /// The drain rule: carry out the session's actions and write its
    /// replies; read more commands while it has room; then re-arm its
    /// timer and say whether its replies wait for writability.
    fn drive(&mut self, key: usize, now: Instant) {
        if self.connections[key].closing {
            return;
        }
        let mut reads = 0;
        loop {
            while let Some(action) = self.connections[key].session.poll_action() {
                self.perform(key, action, now);
            }
            let conn = &mut self.connections[key];
            if conn.closing {
                break;
            }
            match conn.write_replies(now) {
                Ok(true) => continue, // written replies may let more commands through
                Ok(false) => {}
                Err(_) => {
                    conn.report_progress(now);
                    conn.session.handle_control_lost(now);
                    continue;
                }
            }
            if conn.securing.is_some() && !conn.awaiting_writable {
                self.secure_control(key, now);
                continue;
            }
            if reads == READS_PER_DRIVE {
                if conn.control_readable && conn.session.control_read_room() > 0 {
                    self.unread.push_back((key, conn.tag.generation));
                }
                break;
            }
            if !conn.read_commands(&mut self.buffer, now) {
                break;
            }
            reads += 1;
        }
        let conn = &mut self.connections[key];
        if conn.closing {
            // Best effort for the last reply (221, 421): the session is over.
            let _ = conn.write_replies(now);
            conn.close_data(self.poll.registry());
            self.closed.push(key);
            // Its client no longer counts against the limits.
            let ip = canonical_ip(conn.session.peer().ip());
            if let Some(count) = self.per_ip.get_mut(&ip) {
                *count -= 1;
                if *count == 0 {
                    self.per_ip.remove(&ip);
                }
            }
            return;
        }
        let conn = &mut self.connections[key];
        // A handshake message may wait in TLS after the last read.
        conn.awaiting_writable |= conn.control_tls.as_ref().is_some_and(|t| t.wants_write());
        self.update_interest(key);
        let conn = &mut self.connections[key];
        if let Some(due) = conn.session.poll_timeout() {
            if conn.timer.is_none_or(|armed| due < armed) {
                conn.timer = Some(due);
                self.deadlines.push(due, key, conn.tag.generation);
            }
        }
    }

    /// `AUTH TLS` was answered and its `234` is out in clear: from now on
    /// the control connection is TLS, starting with the bytes that came early.
    fn secure_control(&mut self, key: usize, now: Instant) {
        let conn = &mut self.connections[key];
        let early = conn.securing.take().unwrap_or_default();
        let layer = match &self.tls {
            Some(configs) => TlsLayer::new(&configs.ticketing, &early),
            None => Err(io::Error::other("no TLS configuration")),
        };
        match layer {
            Ok(layer) => conn.control_tls = Some(Box::new(layer)),
            Err(e) => {
                warn!(
                    "{}: TLS on the control connection failed: {e}",
                    conn.session.peer()
                );
                conn.session.handle_control_lost(now);
            }
        }
    }

    /// Registers WRITABLE interest for the control socket while replies
    /// wait for room, and only then.
    fn update_interest(&mut self, key: usize) {
        let conn = &mut self.connections[key];
        let interest = if conn.awaiting_writable {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let control_token = token(key, Source::Control);
        if conn.awaiting_writable != conn.write_interest_registered
            && (self.poll.registry())
                .reregister(&mut conn.control, control_token, interest)
                .is_ok()
        {
            conn.write_interest_registered = conn.awaiting_writable;
        }
    }
}

/// Makes `--umask` the process umask. The daemon creates uploads with mode
/// 0666 and folders with 0777 (see [`crate::storage::jail`]) and the kernel takes
/// the umask's bits away as it creates them, atomically — as vsftpd and
/// pure-ftpd do. Passing modes without this would still be cut by whatever
/// umask the daemon inherited. One thread creates files, so the
/// process-wide setting is the daemon's own; a file that an upload
/// replaces keeps its mode (`TempFile::create`).
fn apply_umask(mask: u32) {
    // SAFETY: umask(2) only swaps the process's file mode creation mask.
    unsafe { libc::umask(mask as libc::mode_t) };
}

/// Out of descriptors or memory for sockets: worth retrying later.
fn is_out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
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
    fn passive_ports_rotate_within_the_range() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = probe.local_addr().unwrap().port();
        drop(probe);
        let range = base..=base.saturating_add(3);
        let mut next = 0;
        let (first, p1) = actions::bind_passive(ip, Some(&range), &mut next).unwrap();
        let (second, p2) = actions::bind_passive(ip, Some(&range), &mut next).unwrap();
        assert!(range.contains(&p1) && range.contains(&p2) && p1 != p2);
        drop((first, second));
    }
}
