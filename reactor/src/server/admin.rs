//! The admin listener's place in the loop (see [`crate::admin`]): its
//! sockets are the daemon's own tokens, its connections are served when
//! ready like the FTP clients, each with a deadline the turn checks, and
//! what a request shows is read here from the server: the counters, the
//! sessions (one pass over the slab), the served folder. A kick is a
//! session input like SIGTERM's: the session ends itself, then it is
//! drained.

use std::io;
use std::time::Instant;

use log::{info, warn};
use mio::net::TcpListener;
use mio::Interest;
use pocketftp_core::{Direction, VirtualPath};
use slab::Slab;

use super::token::{token, Source, ADMIN_CLIENT_KEYS, ADMIN_LISTENER_KEYS};
use super::Server;
use crate::admin::census::Mark;
use crate::admin::client::{Client, Next};
use crate::admin::routes::{Reply, Route, HTML, JSON, PROMETHEUS, TEXT};
use crate::admin::{metrics, page, Admin, AdminSetup, Overview, SessionView};
use crate::admin::{MAX_BANS_LISTED, MAX_CLIENTS, MAX_LISTED};
use crate::conn::Connection;

/// Requests one admin connection gets answered per readiness event; past
/// them it waits for the next turn, so a client pipelining without end
/// cannot hold the loop.
const REQUESTS_PER_TURN: usize = 8;

impl Server {
    /// Binds the admin listener's addresses (none: it stays off).
    pub fn listen_admin(&mut self, setup: AdminSetup) -> io::Result<()> {
        if setup.listen.is_empty() {
            return Ok(());
        }
        let mut listeners = Vec::new();
        for (index, addr) in setup.listen.iter().enumerate() {
            let mut listener = TcpListener::bind(*addr).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot listen on {addr} (--admin-listen): {e}"),
                )
            })?;
            let key = token(ADMIN_LISTENER_KEYS + index, Source::Daemon);
            (self.poll.registry()).register(&mut listener, key, Interest::READABLE)?;
            listeners.push(listener);
        }
        self.admin = Some(Admin {
            listeners,
            clients: Slab::with_capacity(MAX_CLIENTS),
            secret: setup.secret,
            again: Vec::new(),
        });
        Ok(())
    }

    pub(super) fn announce_admin(&self) {
        for listener in self.admin.iter().flat_map(|a| &a.listeners) {
            if let Ok(addr) = listener.local_addr() {
                info!("admin listener on http://{addr}/");
            }
        }
    }

    /// A readiness event on one of the admin listener's sockets.
    pub(super) fn on_admin_ready(&mut self, key: usize, now: Instant) {
        match key.checked_sub(ADMIN_CLIENT_KEYS) {
            Some(client) => self.serve_admin(client, now),
            None => self.accept_admin(key - ADMIN_LISTENER_KEYS, now),
        }
    }

    fn accept_admin(&mut self, index: usize, now: Instant) {
        loop {
            let Some(admin) = &mut self.admin else { return };
            let Some(listener) = admin.listeners.get(index) else {
                return;
            };
            let (mut stream, peer) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return warn!("admin listener: cannot accept: {e}"),
            };
            if admin.clients.len() >= MAX_CLIENTS {
                warn!("admin listener: {peer} refused: {MAX_CLIENTS} admin connections are open");
                continue;
            }
            let Ok(local) = stream.local_addr() else {
                continue;
            };
            let entry = admin.clients.vacant_entry();
            let key = entry.key();
            let interest = Interest::READABLE | Interest::WRITABLE;
            let client_token = token(ADMIN_CLIENT_KEYS + key, Source::Daemon);
            if let Err(e) = self
                .poll
                .registry()
                .register(&mut stream, client_token, interest)
            {
                warn!("admin listener: {peer}: cannot register: {e}");
                continue;
            }
            entry.insert(Client::new(stream, local, peer, now));
            self.serve_admin(key, now);
        }
    }

    /// Answers what the connection at `key` asks, a request at a time.
    fn serve_admin(&mut self, key: usize, now: Instant) {
        for _ in 0..REQUESTS_PER_TURN {
            let Some(admin) = &mut self.admin else { return };
            let Some(client) = admin.clients.get_mut(key) else {
                return;
            };
            let asked = match client.advance(admin.secret.as_ref()) {
                Next::Wait => return,
                Next::Close => return self.close_admin(key),
                Next::Request(asked) => asked,
            };
            let mut reply = self.answer_admin(asked.route, now);
            reply.head_only = asked.head_only;
            let Some(client) = self.admin.as_mut().and_then(|a| a.clients.get_mut(key)) else {
                return;
            };
            client.respond(&reply, asked.keep_alive, now);
        }
        if let Some(admin) = self.admin.as_mut().filter(|a| !a.again.contains(&key)) {
            admin.again.push(key);
        }
    }

    /// The admin listener's share of a turn: the connections with requests
    /// left over are served, the late ones closed.
    pub(super) fn admin_turn(&mut self, now: Instant) {
        self.serve_admin_again(now);
        self.expire_admin(now);
    }

    /// Serves the admin connections that had more to ask than one turn
    /// answers.
    fn serve_admin_again(&mut self, now: Instant) {
        let again = self.admin.as_mut().map(|a| std::mem::take(&mut a.again));
        for key in again.unwrap_or_default() {
            self.serve_admin(key, now);
        }
    }

    fn close_admin(&mut self, key: usize) {
        let registry = self.poll.registry();
        if let Some(mut client) = self.admin.as_mut().and_then(|a| a.clients.try_remove(key)) {
            let _ = registry.deregister(&mut client.socket);
        }
    }

    /// Closes the admin connections whose request did not arrive (or whose
    /// answer was not read) in time.
    fn expire_admin(&mut self, now: Instant) {
        let Some(admin) = &self.admin else { return };
        let late: Vec<usize> = (admin.clients.iter())
            .filter(|(_, c)| c.deadline <= now)
            .map(|(key, _)| key)
            .collect();
        for key in late {
            self.close_admin(key);
        }
    }

    /// When the admin listener next needs the loop: now, if a connection
    /// has requests left over; else its earliest deadline.
    pub(super) fn admin_due(&self) -> Option<Instant> {
        let admin = self.admin.as_ref()?;
        if !admin.again.is_empty() {
            return Some(Instant::now());
        }
        admin.clients.iter().map(|(_, c)| c.deadline).min()
    }

    fn answer_admin(&mut self, route: Route, now: Instant) -> Reply {
        let listed = || {
            let (views, unlisted) = self.session_views(now);
            (self.overview(now), views, unlisted)
        };
        match route {
            Route::Refused(refusal) => Reply::refused(refusal),
            Route::Health => self.health(now),
            Route::Metrics => Reply::ok(PROMETHEUS, metrics::render(&self.overview(now)).into()),
            Route::Page => {
                let (o, views, unlisted) = listed();
                Reply::ok(HTML, page::html(&o, &views, unlisted).into())
            }
            Route::SessionsJson => {
                let (o, views, unlisted) = listed();
                Reply::ok(JSON, page::json(&o, &views, unlisted).into())
            }
            Route::SessionsText => {
                let (o, views, unlisted) = listed();
                Reply::ok(TEXT, page::text(&o, &views, unlisted).into())
            }
            Route::Kick(id) if self.kick(id, now) => {
                Reply::text(200, "OK", &format!("session {id} ended"))
            }
            Route::Kick(id) => Reply::text(404, "Not Found", &format!("no session {id}")),
        }
    }

    /// 200 while the FTP listeners are open and the served folder (or
    /// the bucket, `bucket_errands.rs`) answers; 503 with the reason
    /// otherwise.
    fn health(&mut self, now: Instant) -> Reply {
        let unhealthy = |why: &str| Reply::text(503, "Service Unavailable", why);
        if self.stop_by.is_some() {
            return unhealthy("stopping");
        }
        if self.listeners.is_empty() {
            return unhealthy("no FTP listener is open");
        }
        if self.bucket.is_some() {
            return match self.bucket_health(now) {
                Ok(()) => Reply::text(200, "OK", "ok"),
                Err(why) => unhealthy(&why),
            };
        }
        if !self.root.is_at(self.root.host()).unwrap_or(false) {
            return unhealthy("the served folder was deleted or is not there");
        }
        match self.root.stat(&VirtualPath::root()) {
            Ok(_) => Reply::text(200, "OK", "ok"),
            Err(e) => unhealthy(&format!("the served folder cannot be read: {e}")),
        }
    }

    /// Moves the connection at `key` to its place in the census (out of
    /// it once `closed`), after a drive; a login is counted as it happens.
    pub(super) fn recount(&mut self, key: usize, closed: bool) {
        let Some(conn) = self.connections.get_mut(key) else {
            return;
        };
        let new = if closed { Mark::NONE } else { mark_of(conn) };
        if new.has(Mark::LOGGED_IN) && !conn.counted.has(Mark::LOGGED_IN) {
            self.stats.logins = self.stats.logins.saturating_add(1);
        }
        self.stats.census.recount(conn.counted, new);
        conn.counted = new;
    }

    /// Ends the session `id` names: true if there was one.
    fn kick(&mut self, id: u32, now: Instant) -> bool {
        let found = self
            .connections
            .iter_mut()
            .find(|(_, c)| c.tag.generation == id && !c.closing);
        let Some((key, conn)) = found else {
            return false;
        };
        info!("admin: ending session {id} ({})", conn.session.peer());
        conn.kick(now);
        self.stats.kicks = self.stats.kicks.saturating_add(1);
        self.drive(key, now);
        true
    }

    fn overview(&self, now: Instant) -> Overview<'_> {
        let space = self.root.space().ok();
        Overview {
            now,
            stats: &self.stats,
            free_bytes: space.map(|(free, _)| free),
            total_bytes: space.map(|(_, total)| total),
            bans: self.bans.counts(),
            banned: (self.bans.in_force(now, MAX_BANS_LISTED))
                .map(|(address, until)| (address, until.saturating_duration_since(now)))
                .collect(),
            hooks: self.hooks.counts(),
            store: self.bucket.as_ref().map(|s| s.endpoint()),
        }
    }

    /// The first [`MAX_LISTED`] sessions in the slab, the oldest first,
    /// and how many more there are.
    fn session_views(&self, now: Instant) -> (Vec<SessionView<'_>>, usize) {
        let open = self.connections.iter().filter(|(_, c)| !c.closing);
        let mut views: Vec<_> = (open.take(MAX_LISTED))
            .map(|(_, conn)| SessionView {
                id: conn.tag.generation,
                user: conn.session.user(),
                anonymous: conn.session.is_anonymous(),
                peer: conn.session.peer(),
                age: now.saturating_duration_since(conn.since),
                tls: conn.control.is_tls(),
                activity: conn.session.activity(),
                moved: conn.work.count(),
            })
            .collect();
        views.sort_by_key(|v| std::cmp::Reverse(v.age));
        let all = self.stats.census.count(Mark::OPEN);
        let unlisted = usize::try_from(all)
            .unwrap_or(usize::MAX)
            .saturating_sub(views.len());
        (views, unlisted)
    }
}

/// What a connection is counted as in the census.
fn mark_of(conn: &Connection) -> Mark {
    let s = &conn.session;
    let running = s.activity().filter(|a| a.running).map(|a| a.direction);
    Mark::OPEN
        .with(Mark::TLS, conn.control.is_tls())
        .with(Mark::LOGGED_IN, s.user().is_some())
        .with(Mark::ANONYMOUS, s.is_anonymous())
        .with(Mark::UPLOAD, running == Some(Direction::Upload))
        .with(Mark::DOWNLOAD, running == Some(Direction::Download))
        .with(Mark::LISTING, running == Some(Direction::Listing))
        .with(Mark::DATA, conn.data.is_connected())
}
