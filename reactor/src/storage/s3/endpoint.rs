//! Where requests go: the endpoint's address, resolved once at start-up
//! (the loop never waits on DNS), and TLS to it for an `https://` one,
//! trusting the system's CA certificates or `--s3-ca FILE`.
//!
//! # Keep-alive
//!
//! A connection whose answer came whole is kept, idle, for the next
//! request (a download's next GET, a listing's next page, the next
//! session's SIZE): at most [`MAX_IDLE`], each for [`IDLE_FOR`], less
//! than stores keep an idle connection open (S3 some 20 s, SeaweedFS and
//! proxies longer), then closed. One is reused only if a peek finds the
//! server has not closed it, and only for a request that may be asked
//! twice (`retry.rs`): a store may still close it as the request goes,
//! and such a request is then asked again on a new one. A request that
//! must not run twice always goes on a new connection.

use std::cell::{Cell, RefCell};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use rustls::pki_types::ServerName;

use super::retry::StoreErrors;
use crate::http::connection::{Connection, Error, Idle, TlsTarget};
use crate::http::url::Url;
use crate::http::{Exchange, ResponseHead};
use crate::net::client_tls::client_config;

/// The endpoint, ready to connect to.
#[derive(Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    tls: Option<TlsTarget>,
    /// What every clone shares: the counts and the idle connections.
    shared: Rc<Shared>,
}

/// Idle connections kept for reuse, at most.
pub const MAX_IDLE: usize = 8;

/// How long an idle connection is kept.
pub const IDLE_FOR: Duration = Duration::from_secs(4);

#[derive(Default)]
struct Shared {
    /// Its requests' failures, counted by every request sent to it.
    errors: StoreErrors,
    /// Connections opened since start-up.
    opened: Cell<u64>,
    /// Idle connections and when each became idle, the oldest first.
    idle: RefCell<Vec<(Idle, Instant)>>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        write!(f, "Endpoint({scheme}://{})", self.addr)
    }
}

impl Endpoint {
    /// Resolves `url` (its first address) and sets up TLS for `https://`.
    /// For start-up: it blocks on DNS.
    pub fn resolve(url: &str, ca_file: Option<&Path>) -> Result<Endpoint, String> {
        let parsed = Url::parse(url)?;
        let addr = (parsed.host.as_str(), parsed.port)
            .to_socket_addrs()
            .map_err(|e| format!("--s3-endpoint {url:?}: {e}"))?
            .next()
            .ok_or_else(|| format!("--s3-endpoint {url:?}: the name has no address"))?;
        let tls = if parsed.https {
            let name = ServerName::try_from(parsed.host.clone())
                .map_err(|e| format!("--s3-endpoint {url:?}: {e}"))?;
            Some(TlsTarget {
                config: client_config(ca_file)?,
                name,
            })
        } else {
            None
        };
        Ok(Endpoint {
            addr,
            tls,
            shared: Rc::default(),
        })
    }

    /// A connection that carries `exchange` (its connect under way).
    pub fn connect(&self, exchange: Exchange) -> Result<Connection, Error> {
        let opened = &self.shared.opened;
        opened.set(opened.get().saturating_add(1));
        Connection::open(self.addr, self.tls.as_ref(), exchange)
    }

    /// An idle connection the server has not closed, the most recent
    /// first (see the module's notes for which requests may take one).
    pub fn reuse(&self, now: Instant) -> Option<Idle> {
        self.close_idle(now);
        let mut idle = self.shared.idle.borrow_mut();
        std::iter::from_fn(|| idle.pop()).find_map(|(conn, _)| conn.is_open().then_some(conn))
    }

    /// Keeps `conn` for the next request (the oldest goes if
    /// [`MAX_IDLE`] are kept).
    pub fn keep(&self, conn: Idle, now: Instant) {
        let mut idle = self.shared.idle.borrow_mut();
        if idle.len() >= MAX_IDLE {
            idle.remove(0);
        }
        idle.push((conn, now));
    }

    /// Closes the connections idle for [`IDLE_FOR`].
    pub fn close_idle(&self, now: Instant) {
        (self.shared.idle.borrow_mut()).retain(|(_, since)| *since + IDLE_FOR > now);
    }

    /// When the oldest idle connection is to be closed.
    pub fn next_idle_end(&self) -> Option<Instant> {
        let idle = self.shared.idle.borrow();
        idle.first().map(|(_, since)| *since + IDLE_FOR)
    }

    /// Connections opened since start-up.
    pub fn opened(&self) -> u64 {
        self.shared.opened.get()
    }

    /// Its requests' failures since start-up.
    pub fn errors(&self) -> &StoreErrors {
        &self.shared.errors
    }

    /// Carries `exchange` to its end in a poll of its own, waiting at most
    /// `timeout`: for start-up's check of the bucket (before the loop runs)
    /// and for tests, never from the loop.
    pub fn exchange_now(
        &self,
        exchange: Exchange,
        timeout: Duration,
    ) -> Result<(ResponseHead, Vec<u8>), String> {
        let mut conn = self.connect(exchange).map_err(|e| e.to_string())?;
        let mut poll = Poll::new().map_err(|e| e.to_string())?;
        let both = Interest::READABLE | Interest::WRITABLE;
        (poll.registry().register(conn.socket(), Token(0), both)).map_err(|e| e.to_string())?;
        let mut events = Events::with_capacity(4);
        let deadline = Instant::now() + timeout;
        while !conn.advance().map_err(|e| e.to_string())? {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("no answer within {timeout:?}"));
            }
            poll.poll(&mut events, Some(left))
                .map_err(|e| e.to_string())?;
        }
        (conn.into_exchange().into_response()).ok_or_else(|| "no complete answer".to_owned())
    }
}
