//! The event loop: one thread, one `mio::Poll`, one `Slab` of connections.
//!
//! A turn of the loop ([`Server::turn`]) reads the clock once and then:
//! 1. handles every ready socket: control sockets are read and written
//!    until `WouldBlock` (readiness is edge-triggered), a ready data socket
//!    only joins the run queue;
//! 2. delivers the answers queued for sessions (`answers.rs`): every
//!    outcome of an action, and the end of a control connection, travels
//!    this one path, tagged so an answer for a transfer that was aborted,
//!    or a session that ended, is dropped; then accepts new clients, once
//!    the sessions that ended have freed their slots;
//! 3. moves transfers from the run queue until the turn's byte budget is
//!    spent, so a turn stays short however many transfers run and control
//!    commands are answered between them, and delivers what they said (a
//!    transfer done, an upload received) in the same turn;
//! 4. fires due timers, and removes the connections that closed.
//!
//! After any input to a session, [`Server::drive`] drains it
//! (`Connection::drive`): carries out its actions, writes its replies,
//! feeds it more control bytes while it has room, and re-arms its timer.
//! The reactor makes no protocol decision.

mod accept;
pub(crate) mod answers;
mod deadlines;
pub(crate) mod schedule;
pub(crate) mod settings;
mod signals;
pub(crate) mod token;

use std::fs::File;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::info;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use signal_hook_mio::v1_0::Signals;
use slab::Slab;

use crate::auth::users::Users;
use crate::auth::worker::PasswordWorker;
use crate::conn::{Connection, Cx, Drained};
use crate::net::resumption::Families;
use crate::storage::jail::Jail;
use crate::storage::s3::Store;
use accept::PerIp;
use answers::{Answers, Tag};
use deadlines::Deadlines;
use schedule::Schedule;
use settings::apply_umask;
pub use settings::{InForce, Limits, Listeners, Reload, Reloaded, Settings};
use token::{token, untoken, Source, SIGNALS_KEY, WAKER_KEY};

/// The shared buffer for control reads and uploads. Its pages are touched
/// only as far as an upload fills it, so an idle daemon does not pay for it.
const BUFFER_SIZE: usize = 1024 * 1024;

pub struct Server {
    poll: Poll,
    /// Listening sockets, each with whether it is an implicit FTPS one.
    listeners: Vec<(TcpListener, bool)>,
    connections: Slab<Connection>,
    deadlines: Deadlines,
    answers: Answers,
    schedule: Schedule,
    /// Connections whose session ended, removed at the end of the turn.
    closed: Vec<usize>,
    per_ip: PerIp,
    /// Whose TLS sessions a data connection may resume.
    tls_families: Families,
    settings: Settings,
    /// The served folder, through which every file operation goes.
    root: Jail,
    /// `--storage s3://...`: the bucket served instead.
    bucket: Option<Store>,
    /// Checks passwords; started with the first users file.
    passwords: Option<PasswordWorker>,
    /// The accounts in force (`None`: no users file), for a reload to
    /// start from.
    users: Option<Arc<Users>>,
    reload: Option<Reload>,
    /// `--xferlog`: one line per file transfer.
    xferlog: Option<File>,
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
        let listeners = accept::listen(&poll, addresses)?;
        Ok(Server {
            poll,
            listeners,
            connections: Slab::new(),
            deadlines: Deadlines::default(),
            answers: Answers::default(),
            schedule: Schedule::new(settings.limits.rates.total, Instant::now()),
            closed: Vec::new(),
            per_ip: PerIp::default(),
            tls_families: Families::default(),
            settings,
            root: jail,
            bucket: None,
            passwords: None,
            users: None,
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

    /// The accounts passwords are checked against from now on (`None`: no
    /// users file); the worker that checks them starts with the first.
    pub fn set_users(&mut self, users: Option<Arc<Users>>) -> io::Result<()> {
        if let Some(new) = &users {
            match &self.passwords {
                Some(worker) if !self.users.as_ref().is_some_and(|u| Arc::ptr_eq(u, new)) => {
                    worker.replace_users(Arc::clone(new));
                }
                Some(_) => {}
                None => {
                    let waker =
                        mio::Waker::new(self.poll.registry(), token(WAKER_KEY, Source::Daemon))?;
                    self.passwords = Some(PasswordWorker::start(Arc::clone(new), waker)?);
                }
            }
        }
        self.users = users;
        Ok(())
    }

    /// On SIGHUP, `reload` supplies new settings for new sessions and limits.
    pub fn set_reload(&mut self, reload: Reload) {
        self.reload = Some(reload);
    }

    /// Serves `store`'s bucket instead of the root folder.
    pub fn set_bucket(&mut self, store: Store) {
        self.bucket = Some(store);
    }

    /// Appends a line to `file` for every finished file transfer.
    pub fn set_xferlog(&mut self, file: File) {
        self.xferlog = Some(file);
    }

    /// Runs until SIGTERM or SIGINT has let every session end (or the grace
    /// period ran out), or until the event loop itself fails.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        apply_umask(self.settings.umask);
        self.announce_listeners();
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

    /// `listening on ...` for each listener: logged when the loop starts,
    /// so never before an error that stops start-up.
    fn announce_listeners(&self) {
        for (listener, implicit_tls) in &self.listeners {
            let tls = if *implicit_tls {
                " (implicit FTPS)"
            } else {
                ""
            };
            match listener.local_addr() {
                Ok(addr) => info!("listening on {addr}{tls}"),
                Err(e) => info!("listening on a socket whose address is unknown ({e}){tls}"),
            }
        }
    }

    /// How long the next poll may wait: not at all while work is queued.
    fn poll_timeout(&self) -> Option<Duration> {
        if !(self.schedule.is_idle() && self.answers.is_empty()) {
            return Some(Duration::ZERO);
        }
        let now = Instant::now();
        [
            self.deadlines.next(),
            self.schedule.next_deadline(),
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
        let listeners = self.listeners.len();
        let is_listener = |token: &Token| {
            let (key, source) = untoken(*token);
            source == Source::Daemon && key < listeners
        };
        let tokens = || events.iter().map(|e| e.token());
        for token in tokens().filter(|t| !is_listener(t)) {
            self.on_ready(token, now);
        }
        self.read_unread(now);
        self.deliver_answers(now);
        // New clients after the answers: sessions that ended in this batch
        // (a control connection's end travels the answer queue) free their
        // slots (--max-clients, --max-per-ip) first.
        for token in tokens().filter(is_listener) {
            self.on_ready(token, now);
        }
        self.wake_throttled(now);
        self.run_transfers(now);
        self.deliver_answers(now); // what the transfers said, this turn
        self.fire_timers(now);
        self.resume_accepting(now);
        self.remove_closed();
    }

    fn on_ready(&mut self, token: mio::Token, now: Instant) {
        let (key, source) = untoken(token);
        if source == Source::Daemon {
            return match key {
                WAKER_KEY => self.password_answers(now),
                SIGNALS_KEY => self.on_signals(now),
                index => self.accept_clients(index, now),
            };
        }
        let (connections, mut cx) = self.split(now);
        let Some(conn) = connections.get_mut(key).filter(|c| !c.closing) else {
            return;
        };
        match source {
            Source::Control => {
                conn.control.mark_readable();
                self.drive(key, now);
            }
            Source::DataListener => conn.accept_data(&mut cx),
            Source::Data => conn.on_data_ready(&mut cx),
            Source::Store => conn.on_store_ready(&mut cx),
            Source::Daemon => {}
        }
    }

    /// The connections, and the context one of them borrows to act.
    fn split(&mut self, now: Instant) -> (&mut Slab<Connection>, Cx<'_>) {
        let cx = Cx {
            now,
            registry: self.poll.registry(),
            settings: &self.settings,
            root: &self.root,
            bucket: self.bucket.as_ref(),
            answers: &mut self.answers,
            schedule: &mut self.schedule,
            passwords: self.passwords.as_ref(),
            xferlog: self.xferlog.as_mut(),
            next_pasv_port: &mut self.next_pasv_port,
            buffer: &mut self.buffer,
        };
        (&mut self.connections, cx)
    }

    /// The connection at `key` if it is still the one `generation` names
    /// and its session goes on, with the context it acts in.
    pub(super) fn live(
        &mut self,
        key: usize,
        generation: u32,
        now: Instant,
    ) -> Option<(&mut Connection, Cx<'_>)> {
        let (connections, cx) = self.split(now);
        let conn = connections.get_mut(key)?;
        (conn.tag.generation == generation && !conn.closing).then_some((conn, cx))
    }

    /// The connection `tag` names, if its session goes on and has not
    /// dropped the data connection `tag` was about since.
    pub(super) fn addressee(
        &mut self,
        tag: Tag,
        now: Instant,
    ) -> Option<(&mut Connection, Cx<'_>)> {
        let (conn, cx) = self.live(tag.key, tag.generation, now)?;
        (conn.tag.epoch == tag.epoch).then_some((conn, cx))
    }

    /// Drains the session at `key` (see [`Connection::drive`]), then files
    /// what came of it: a session that ended leaves at the end of the turn
    /// and no longer counts against the limits; one that goes on gets its
    /// timer re-armed.
    pub(super) fn drive(&mut self, key: usize, now: Instant) {
        let (connections, mut cx) = self.split(now);
        let Some(conn) = connections.get_mut(key).filter(|c| !c.closing) else {
            return;
        };
        let drained = conn.drive(&mut cx);
        let (peer, generation) = (conn.session.peer(), conn.tag.generation);
        match drained {
            Drained::Closed => {
                self.closed.push(key);
                self.per_ip.release(peer.ip());
            }
            Drained::Open(due) => {
                if let Some(due) = due {
                    self.deadlines.push(due, key, generation);
                }
                if let Some(conn) = self.connections.get_mut(key) {
                    conn.control
                        .join_family(&conn.session, &mut self.tls_families);
                }
            }
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some((at, key, generation)) = self.deadlines.pop_due(now) {
            let Some((conn, _)) = self.live(key, generation, now) else {
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
        let registry = self.poll.registry();
        for key in std::mem::take(&mut self.closed) {
            if let Some(mut conn) = self.connections.try_remove(key) {
                conn.release(registry);
                // A password check it still waits for is not run.
                if let Some(worker) = &self.passwords {
                    worker.cancel(key, conn.tag.generation, conn.session.peer().ip());
                }
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
}
