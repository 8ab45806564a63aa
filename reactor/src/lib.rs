//! pocketftpd: the reactor around pocketftp-core. One thread, one
//! `mio::Poll`, one slab of connections; the sessions (the protocol) are
//! the core's, and this crate owns every socket, file and clock for them.
//! It makes no protocol decision.
//!
//! # The loop
//!
//! Each turn of the loop ([`server::Server`]) reads the clock once, then:
//!
//! 1. reads and writes every ready control socket until `WouldBlock` and
//!    feeds the bytes to its session; a ready data socket joins the run
//!    queue; new clients are accepted last (a banned address's refused
//!    at once, one on a PROXY protocol listener waiting for its header);
//! 2. delivers the answers of the actions sessions asked for (files
//!    opened, data connections made, passwords checked: a refused one
//!    counts against its address, `server/bans.rs`) and the ends of
//!    control connections, each through the one answer queue, tagged so
//!    that an answer about a dropped data connection or an ended session
//!    dies there; then accepts new clients, into the slots the sessions
//!    that ended have freed;
//! 3. moves the queued transfers a bounded step each until the turn's
//!    byte budget is spent, parking rate-limited ones on a timer (or in
//!    the queue of turns at the `--max-rate` bucket), and delivers what
//!    they said (a transfer done, an upload received) in the same turn;
//! 4. fires due timers (sessions', bans that end, connections that sent no
//!    PROXY header in time) and removes the connections whose session
//!    ended.
//!
//! After any input, a session is drained: its actions are carried out by
//! the part of its connection that owns them, its replies written, and
//! more of its commands read while it has room (`conn::Connection::drive`).
//!
//! # Where things are
//!
//! - `server/`: the loop: `mod.rs` (the turn, driving a session),
//!   `accept.rs` (listening, admitting clients), `signals.rs` (SIGHUP,
//!   SIGTERM), `answers.rs` (the answer queue), `schedule.rs` (the run
//!   queue, step sizes, rate-limit parking and turns), `settings.rs` (what SIGHUP
//!   may change), `deadlines.rs` (the timer heap), `token.rs` (what a
//!   readiness event is about); and what a server behind a router or on
//!   the internet needs: `bans.rs` (addresses refused for failed logins),
//!   `notices.rs` (the sessions' warnings for the admin, each said only as
//!   often as it helps), `pasv_name.rs` (a `--pasv-address` host name's
//!   new addresses), `proxied.rs` (connections waiting for their PROXY
//!   protocol header), `bucket_errands.rs` (the daemon's own requests to
//!   its bucket: broken uploads' aborts, `/healthz`'s probe).
//! - `conn/`: one client: `mod.rs` (the connection, the drain rule, the
//!   table from each action to the part that carries it out), `control.rs`
//!   (the control connection, clear or TLS), `data.rs` (PASV, PORT: the
//!   data connection), `work.rs` (a transfer: opened, running, scheduled),
//!   `open.rs` (`Open`: what a transfer moves), `transfer.rs` (a step of a
//!   transfer), `listing.rs` (LIST, NLST, MLSD, `STAT path`).
//! - [`storage`]: the one way to the served files (the jail, its path
//!   resolver, upload temp files, folder reading, error kinds).
//! - [`http`]: HTTP/1.1 messages, sans-IO (heads, bodies, a client's
//!   exchange), and the connection that carries an exchange, for the S3
//!   back-end, the webhook and, later, the admin listener.
//! - [`hooks`]: what runs when an upload completed: `--on-upload`'s
//!   program, `--on-upload-url`'s webhook (children and sockets of the
//!   loop, bounded queues).
//! - [`net`]: TLS as a layer of a connection (and which TLS sessions a
//!   data connection may resume), socket options (keepalive), the
//!   certificates TLS trusts as a client, and `resolve_name.rs`, the
//!   thread that looks up a `--pasv-address` host name.
//! - [`auth`]: the users file and the password worker.
//! - [`quota`]: the users' quotas: a count per home, kept by the daemon's
//!   own changes and walked again off the loop (start-up, SIGHUP).
//! - [`rate`]: bandwidth limits as token buckets; `--max-rate`'s, shared
//!   in turns (`rate/shared.rs`).
//! - [`admin`]: the admin listener (status page, `/metrics`, `/healthz`,
//!   kick) and `pocketftpd who`; its place in the loop is `server/admin.rs`.
//! - `workers`: threads for what cannot be non-blocking (fsync, a
//!   quota's folder walk), answering through the waker.
//! - [`startup`]: what runs once, before the loop.
//! - [`small_file`]: reading the config, users, certificate and key files,
//!   bounded (at start-up and on every SIGHUP).

pub mod admin;
pub mod auth;
mod conn;
pub mod hooks;
pub mod http;
pub mod net;
pub mod quota;
pub mod rate;
pub mod server;
pub mod small_file;
pub mod startup;
pub mod storage;
mod workers;

/// `1 session`, `2 sessions`: a count in a log line, in words that read
/// right for every number (not "1 sessions", not "session(s)").
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_read_right() {
        assert_eq!(super::count(0, "session"), "0 sessions");
        assert_eq!(super::count(1, "session"), "1 session");
        assert_eq!(super::count(2, "stale upload file"), "2 stale upload files");
    }
}
