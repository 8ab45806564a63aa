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
mod answers;
mod deadlines;
pub(crate) mod schedule;
mod signals;
mod token;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use log::{info, warn};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use pocketftp_core::{canonical_ip, Config, Event};
use signal_hook_mio::v1_0::Signals;
use slab::Slab;

use crate::activation::Inherited;
use crate::auth::users::PasswordWorker;
use crate::conn::Connection;
use crate::net::tls::{TlsConfigs, TlsLayer};
use crate::rate::{Bucket, Rates};
use crate::storage::jail::Jail;
pub(crate) use answers::Tag;
use deadlines::Deadlines;
use token::{token, untoken, Source, SIGNALS_KEY, WAKER_KEY};

/// Control reads one session gets per drive; past them it waits for the
/// next turn, so a client pipelining without end cannot hold the loop.
const READS_PER_DRIVE: usize = 16;
/// How often a running transfer tells its session about progress (for the
/// stall timer and STAT; seconds-scale, so a few times a second is plenty).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);
/// The shared buffer for control reads and uploads. Its pages are touched
/// only as far as an upload fills it, so an idle daemon does not pay for it.
const BUFFER_SIZE: usize = 1024 * 1024;

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
    pub(super) fn live(&mut self, key: usize, generation: u32) -> Option<&mut Connection> {
        (self.connections.get_mut(key)).filter(|c| c.tag.generation == generation && !c.closing)
    }

    /// The folder a session sees as `/`: its user's home, or the root.
    pub(super) fn jail_of(&self, key: usize) -> Rc<Jail> {
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

    /// Removes the connections whose sessions ended this turn, then lets the
    /// timer heap forget them.
    pub(super) fn remove_closed(&mut self) {
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
    pub(super) fn drive(&mut self, key: usize, now: Instant) {
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
