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
//! 4. fires due timers (the sessions', the bans', the PROXY headers'),
//!    delivers what their actions said (an upload's commit) in the same
//!    turn, and removes the connections that closed.
//!
//! After any input to a session, [`Server::drive`] drains it
//! (`Connection::drive`): carries out its actions, writes its replies,
//! feeds it more control bytes while it has room, and re-arms its timer.
//! The reactor makes no protocol decision.

mod accept;
mod admin;
pub(crate) mod answers;
pub mod bans;
mod bucket_errands;
pub(crate) mod deadlines;
pub(crate) mod notices;
pub mod pasv_name;
mod proxied;
mod root;
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

use crate::admin::stats::Stats;
use crate::admin::Admin;
use crate::auth::users::Users;
use crate::auth::worker::PasswordWorker;
use crate::conn::{Connection, Cx, Drained, Synced};
use crate::hooks::Hooks;
use crate::net::resumption::Neighbourhoods;
use crate::quota::Ledger;
use crate::storage::faults::Faults;
use crate::storage::jail::Jail;
use crate::storage::s3::Store;
use crate::storage::sync::SyncWorker;
use accept::{ListenerKind, PerIp};
use answers::{Answers, Tag};
use bans::Bans;
use bucket_errands::BucketErrands;
use deadlines::Deadlines;
use notices::Notices;
use pasv_name::PasvName;
use proxied::Waiting;
use root::RootWatch;
use schedule::Schedule;
use settings::apply_umask;
pub use settings::{InForce, Limits, Listeners, Reload, Reloaded, Settings};
use token::{
    bucket_index, hook_index, is_admin_key, token, untoken, Source, SIGNALS_KEY, WAKER_KEY,
};

/// The shared buffer for control reads and uploads. Its pages are touched
/// only as far as an upload fills it, so an idle daemon does not pay for it.
const BUFFER_SIZE: usize = 1024 * 1024;

pub struct Server {
    poll: Poll,
    /// Listening sockets, each with what its connections start with.
    listeners: Vec<(TcpListener, ListenerKind)>,
    /// Connections on PROXY protocol listeners that have not sent their
    /// header yet.
    waiting: Waiting,
    connections: Slab<Connection>,
    deadlines: Deadlines,
    answers: Answers,
    schedule: Schedule,
    /// Connections whose session ended, removed at the end of the turn.
    closed: Vec<usize>,
    per_ip: PerIp,
    /// Whose TLS sessions a data connection may resume.
    tls_neighbours: Neighbourhoods,
    /// Addresses refused for failed logins; kept across SIGHUP.
    bans: Bans,
    /// What sessions told the admin, and when (said only as often as it helps).
    notices: Notices,
    settings: Settings,
    /// The served folder, through which every file operation goes.
    root: Jail,
    /// `--storage s3://...`: the bucket served instead.
    bucket: Option<Store>,
    /// Its path, looked at for another folder there (`root.rs`).
    root_watch: Option<RootWatch>,
    /// Checks passwords; started with the first users file.
    passwords: Option<PasswordWorker>,
    /// The one waker of the poll, shared by the threads that answer it.
    waker: Arc<mio::Waker>,
    /// Syncs files and folders off the loop (`--sync`).
    syncs: SyncWorker<Synced>,
    /// Disk faults met this turn.
    faults: Faults,
    /// The accounts in force (`None`: no users file), for a reload to
    /// start from.
    users: Option<Arc<Users>>,
    /// The counts of the homes whose users have a quota.
    quotas: Ledger,
    /// A `--pasv-address` host name, looked up on a thread.
    pasv_name: Option<PasvName>,
    reload: Option<Reload>,
    /// `--xferlog`: one line per file transfer.
    xferlog: Option<File>,
    /// `--on-upload`, `--on-upload-url`: what runs when an upload completed.
    hooks: Hooks,
    /// The daemon's own requests to the bucket: aborts, `/healthz`'s probe.
    errands: BucketErrands,
    signals: Signals,
    /// Set by SIGTERM/SIGINT: when the remaining sessions are cut off.
    stop_by: Option<Instant>,
    /// Out of descriptors: accepting resumes then.
    accept_paused_until: Option<Instant>,
    buffer: Box<[u8]>,
    /// `--admin-listen`: the status page, metrics, health, kick.
    admin: Option<Admin>,
    /// The counters the admin listener shows, kept as the daemon runs.
    stats: Stats,
    next_generation: u32,
    next_pasv_port: usize,
}

impl Server {
    /// Binds the listening sockets. `passwords` is started later with
    /// [`Server::waker`], once a users file is loaded.
    pub fn bind(addresses: Listeners, settings: Settings, jail: Jail) -> io::Result<Server> {
        let poll = Poll::new()?;
        // SIGCHLD: an upload hook's program ended (`hooks/program.rs`).
        let signals = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGCHLD];
        let mut signals = Signals::new(signals)?;
        let signals_token = token(SIGNALS_KEY, Source::Daemon);
        (poll.registry()).register(&mut signals, signals_token, Interest::READABLE)?;
        let listeners = accept::listen(&poll, addresses)?;
        let waker = Arc::new(mio::Waker::new(
            poll.registry(),
            token(WAKER_KEY, Source::Daemon),
        )?);
        let syncs = crate::storage::sync::start(Arc::clone(&waker))?;
        let quotas = Ledger::new(jail.host().to_path_buf(), Arc::clone(&waker));
        Ok(Server {
            poll,
            listeners,
            waiting: Waiting::default(),
            connections: Slab::new(),
            deadlines: Deadlines::default(),
            answers: Answers::default(),
            schedule: Schedule::new(settings.limits.rates.total, Instant::now()),
            closed: Vec::new(),
            per_ip: PerIp::default(),
            tls_neighbours: Neighbourhoods::default(),
            bans: Bans::new(settings.limits.bans.clone()),
            notices: Notices::default(),
            settings,
            root: jail,
            bucket: None,
            root_watch: None,
            passwords: None,
            waker,
            syncs,
            faults: Faults::default(),
            users: None,
            quotas,
            pasv_name: None,
            reload: None,
            xferlog: None,
            hooks: Hooks::default(),
            errands: BucketErrands::default(),
            signals,
            stop_by: None,
            accept_paused_until: None,
            buffer: vec![0; BUFFER_SIZE].into_boxed_slice(),
            admin: None,
            stats: Stats::new(Instant::now()),
            next_generation: 1,
            next_pasv_port: 0,
        })
    }

    /// The waker for a thread that wants the loop's attention (a poll has
    /// one: the threads share it, and the loop asks each what it has).
    pub fn waker(&self) -> Arc<mio::Waker> {
        Arc::clone(&self.waker)
    }

    /// The accounts passwords are checked against from now on (`None`: no
    /// users file); the worker that checks them starts with the first.
    /// Their quotas are counted again (start-up, SIGHUP).
    pub fn set_users(&mut self, users: Option<Arc<Users>>) -> io::Result<()> {
        if let Some(new) = &users {
            match &self.passwords {
                Some(worker) if !self.users.as_ref().is_some_and(|u| Arc::ptr_eq(u, new)) => {
                    worker.replace_users(Arc::clone(new));
                }
                Some(_) => {}
                None => {
                    let worker = PasswordWorker::start(Arc::clone(new), self.waker())?;
                    self.passwords = Some(worker);
                }
            }
        }
        self.quotas.recount(users.as_deref());
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

    /// Runs `hooks` for every completed upload.
    pub fn set_hooks(&mut self, hooks: Hooks) {
        self.hooks = hooks;
    }

    /// Runs until SIGTERM or SIGINT has let every session end (or the grace
    /// period ran out), or until the event loop itself fails.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        apply_umask(self.settings.umask);
        self.announce_listeners();
        loop {
            if let Some(stop_by) = self.stop_by {
                if self.connections.is_empty() && self.bucket_errands_done() {
                    self.hooks.stop();
                    info!("stopped");
                    return Ok(());
                }
                if Instant::now() >= stop_by {
                    self.cut_off_sessions();
                    self.hooks.stop();
                    return Ok(());
                }
            }
            match self.poll.poll(&mut events, self.poll_timeout()) {
                Ok(()) => {
                    let start = Instant::now();
                    self.turn(&events);
                    self.stats.busy += start.elapsed();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// `listening on ...` for each listener: logged when the loop starts,
    /// so never before an error that stops start-up.
    fn announce_listeners(&self) {
        for (listener, kind) in &self.listeners {
            let tls = if kind.implicit_tls {
                " (implicit FTPS)"
            } else {
                ""
            };
            let proxy = if kind.proxy_protocol {
                " (PROXY protocol)"
            } else {
                ""
            };
            match listener.local_addr() {
                Ok(addr) => info!("listening on {addr}{tls}{proxy}"),
                Err(e) => info!("listening on a socket whose address is unknown ({e}){tls}{proxy}"),
            }
        }
        self.announce_admin();
    }

    /// How long the next poll may wait: not at all while work is queued.
    fn poll_timeout(&self) -> Option<Duration> {
        if !(self.schedule.is_idle() && self.answers.is_empty()) {
            return Some(Duration::ZERO);
        }
        let now = Instant::now();
        [
            self.admin_due(),
            self.deadlines.next(),
            self.schedule.next_deadline(),
            self.stop_by,
            self.accept_paused_until,
            self.bans.next_end(),
            self.waiting.next_deadline(),
            self.hooks.next_deadline(),
            self.bucket_due(),
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
        for event in events.iter().filter(|e| !is_listener(&e.token())) {
            let end = event.is_read_closed() || event.is_error();
            self.on_ready(event.token(), end, now);
        }
        self.read_unread(now);
        self.deliver_answers(now);
        // New clients after the answers: sessions that ended in this batch
        // (a control connection's end travels the answer queue) free their
        // slots (--max-clients, --max-per-ip) first.
        for token in tokens().filter(is_listener) {
            self.on_ready(token, false, now);
        }
        self.wake_throttled(now);
        self.run_transfers(now);
        self.deliver_answers(now); // what the transfers said, this turn
        self.admin_turn(now);
        self.fire_timers(now);
        // What the timers' actions said (an upload's commit, after its
        // settle), this turn: not after a poll that waits for nothing.
        self.deliver_answers(now);
        self.bans.lift_expired(now);
        self.expire_headers(now);
        if self.faults.take_seen() {
            self.check_root();
        }
        self.hooks.fire_timers(self.poll.registry(), now);
        self.bucket_turn(now);
        self.resume_accepting(now);
        self.remove_closed();
    }

    /// `end`: the event says the peer closed its side (or the socket broke).
    fn on_ready(&mut self, token: mio::Token, end: bool, now: Instant) {
        let (key, source) = untoken(token);
        if source == Source::ProxyHeader {
            return self.read_header(key, now);
        }
        if source == Source::Daemon {
            return match key {
                WAKER_KEY => {
                    self.password_answers(now);
                    self.pasv_name_answers();
                    self.sync_answers(now);
                    self.quotas.counted();
                }
                SIGNALS_KEY => self.on_signals(now),
                key if is_admin_key(key) => self.on_admin_ready(key, now),
                key => match hook_index(key) {
                    Some(index) => self.hooks.on_ready(index, self.poll.registry(), now),
                    None => match bucket_index(key) {
                        Some(index) => self.on_bucket_ready(index, now),
                        None => self.accept_clients(key, now),
                    },
                },
            };
        }
        let (connections, mut cx) = self.split(now);
        let Some(conn) = connections.get_mut(key).filter(|c| !c.closing) else {
            return;
        };
        match source {
            Source::Control => {
                conn.control.mark_readable(end);
                self.drive(key, now);
            }
            Source::DataListener => conn.accept_data(&mut cx),
            Source::Data => conn.on_data_ready(&mut cx),
            Source::Store => conn.on_store_ready(&mut cx),
            Source::Daemon | Source::ProxyHeader => {}
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
            deadlines: &mut self.deadlines,
            schedule: &mut self.schedule,
            passwords: self.passwords.as_ref(),
            syncs: &self.syncs,
            faults: &mut self.faults,
            xferlog: self.xferlog.as_mut(),
            hooks: &mut self.hooks,
            quotas: &mut self.quotas,
            stats: &mut self.stats,
            next_pasv_port: &mut self.next_pasv_port,
            notices: &mut self.notices,
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
        let handshake_failed = conn.control.handshake_failed();
        match drained {
            Drained::Closed => {
                self.recount(key, true);
                self.closed.push(key);
                self.per_ip.release(peer.ip());
                if handshake_failed {
                    self.bans.failed_login(peer.ip(), now);
                }
            }
            Drained::Open(due) => {
                self.recount(key, false);
                if let Some(due) = due {
                    self.deadlines.push(due, key, generation);
                }
                let logged_in = self.connections.get_mut(key).is_some_and(|conn| {
                    (conn.control).introduce(&conn.session, &mut self.tls_neighbours)
                });
                if logged_in {
                    self.wake_awaiting_login();
                }
            }
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some((at, key, generation)) = self.deadlines.pop_due(now) {
            let Some((conn, mut cx)) = self.live(key, generation, now) else {
                continue;
            };
            if conn.timer != Some(at) {
                continue; // superseded by an earlier deadline
            }
            conn.timer = None;
            // A client killed mid-upload closes its control connection
            // first, but on a busy machine its end may still wait unread
            // when the upload's settle time is up: the session hears it
            // before the timer decides (the upload is then broken, the old
            // file kept).
            if conn.notice_control_end(&mut cx) {
                self.deliver_answers(now);
            }
            if let Some((conn, mut cx)) = self.live(key, generation, now) {
                conn.on_store_timer(&mut cx);
                self.deliver_answers(now);
            }
            if let Some((conn, _)) = self.live(key, generation, now) {
                if conn.session.poll_timeout().is_some_and(|due| due <= now) {
                    conn.session.handle_timeout(now);
                }
            }
            self.drive(key, now);
        }
    }

    /// Removes the connections whose sessions ended this turn (their
    /// sockets leave the poll as they close), then lets the timer heap
    /// forget them.
    pub(super) fn remove_closed(&mut self) {
        let ended = !self.closed.is_empty();
        for key in std::mem::take(&mut self.closed) {
            if let Some(conn) = self.connections.try_remove(key) {
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
        if ended {
            self.wake_awaiting_login();
        }
    }
}
