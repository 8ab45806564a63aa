//! The admin's view of a running daemon: an HTTP/1.1 listener, off by
//! default (`--admin-listen`), served by the same loop as the FTP clients
//! (no second thread, no framework), with `/metrics` (Prometheus),
//! `/healthz`, the status page `/`, `/sessions.json`, `/sessions.txt`
//! (what `pocketftpd who` prints) and `POST /sessions/ID/kick`.
//!
//! Requests are parsed by [`crate::http`] (the same sans-IO heads as the S3
//! back-end's), one at a time per connection: the next is read only once
//! the answer to the last is written, so a client pipelining requests gets
//! them answered in order and cannot make the daemon buffer without end.
//! Everything is bounded: [`MAX_CLIENTS`] connections, a head of
//! [`crate::http::MAX_HEAD`] bytes, a body of [`client::MAX_BODY`], and
//! [`client::REQUEST_TIME`] for a whole request, however slowly it trickles
//! in (slowloris); what goes past a bound gets a 4xx and the connection
//! closes.
//!
//! Who may ask: without `--admin-token-file`, the listener must be on
//! loopback (the daemon refuses to start otherwise) and answers loopback
//! clients alone; with it, every request must carry `Authorization: Bearer
//! TOKEN`, compared in constant time (`secret.rs`), wherever it comes from. A kick also needs the header
//! `X-Pocketftpd-Kick: 1`, which a browser's cross-site form cannot send,
//! and GET never changes anything.
//!
//! - `client.rs`: one admin connection: its buffers, the next request.
//! - `routes.rs`: what a request asks for, and the answer's head.
//! - `stats.rs`: the counters, kept as the daemon runs, and the ring of
//!   recent transfers; `census.rs`: what the open sessions are and do,
//!   kept as they change.
//! - `metrics.rs`, `page.rs`: the Prometheus text; the status page, the
//!   JSON and the text table, every client-controlled string escaped.
//! - `secret.rs`: the bearer token.
//! - `who.rs`: `pocketftpd who`, the client side.
//!
//! The loop's side of it (binding, readiness, deadlines, the kick) is in
//! `server/admin.rs`.

pub mod census;
pub(crate) mod client;
pub(crate) mod metrics;
pub(crate) mod page;
pub(crate) mod routes;
pub mod secret;
pub mod stats;
pub mod who;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use pocketftp_core::Activity;
use slab::Slab;

use crate::hooks::counts::HookCounts;

pub use secret::Secret;

/// Admin connections open at once; more are closed as they come.
pub const MAX_CLIENTS: usize = 16;

/// `--admin-listen` addresses.
pub const MAX_LISTENERS: usize = 8;

/// Sessions the status page, the JSON and the text table list; the rest
/// are counted ("and N more"), so a page stays small with 10,000 clients.
pub const MAX_LISTED: usize = 500;

/// Bans the status page and the JSON list; the rest are counted.
pub const MAX_BANS_LISTED: usize = 100;

/// What the daemon starts its admin listener with.
pub struct AdminSetup {
    pub listen: Vec<SocketAddr>,
    pub secret: Option<Secret>,
}

/// The admin listener's sockets, held by the server.
pub(crate) struct Admin {
    pub listeners: Vec<TcpListener>,
    pub clients: Slab<client::Client>,
    pub secret: Option<Secret>,
    /// Connections with requests left over after a turn's share.
    pub again: Vec<usize>,
}

/// One session, as the admin sees it.
pub(crate) struct SessionView<'a> {
    /// What `kick` names it by (its connection's generation).
    pub id: u32,
    pub user: Option<&'a str>,
    pub anonymous: bool,
    pub peer: SocketAddr,
    /// How long it has been connected.
    pub age: Duration,
    pub tls: bool,
    pub activity: Option<Activity<'a>>,
    /// Bytes the running transfer moved, counted by the reactor (fresher
    /// than the session's last progress report).
    pub moved: Option<u64>,
}

/// What a page or a scrape shows besides the sessions.
pub(crate) struct Overview<'a> {
    pub now: Instant,
    pub stats: &'a stats::Stats,
    /// Free bytes on the served file system, for unprivileged users.
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    /// Bans in force, and bans imposed since start-up.
    pub bans: (usize, u64),
    /// The first [`MAX_BANS_LISTED`] bans in force, the soonest to end
    /// first: the address and the time left.
    pub banned: Vec<(String, Duration)>,
    /// The upload hooks' queues and failures, by hook, where configured.
    pub hooks: [(&'static str, Option<HookCounts>); 2],
    /// `--storage s3://...`: where the bucket's requests go (their
    /// failures, the connections opened).
    pub store: Option<&'a crate::storage::s3::endpoint::Endpoint>,
}

/// Checks `--admin-listen` and `--admin-token-file` before anything is
/// bound: a non-loopback address without a token is refused here.
pub fn setup(listen: &[SocketAddr], token_file: Option<&Path>) -> Result<AdminSetup, String> {
    if listen.len() > MAX_LISTENERS {
        return Err(format!("--admin-listen: at most {MAX_LISTENERS} addresses"));
    }
    let secret = token_file.map(Secret::load).transpose()?;
    if secret.is_none() {
        if let Some(open) = listen.iter().find(|a| !a.ip().is_loopback()) {
            return Err(format!(
                "--admin-listen {open} is not a loopback address: anyone who reaches it could \
                 see and end sessions; give --admin-token-file FILE (a bearer token), or listen \
                 on 127.0.0.1 or [::1]"
            ));
        }
    }
    Ok(AdminSetup {
        listen: listen.to_vec(),
        secret,
    })
}
