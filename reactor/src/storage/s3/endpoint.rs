//! Where requests go: the endpoint's address, resolved once at start-up
//! (the loop never waits on DNS), and TLS to it for an `https://` one,
//! trusting the system's CA certificates or `--s3-ca FILE`.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use rustls::pki_types::ServerName;

use super::retry::StoreErrors;
use crate::http::connection::{Connection, Error, TlsTarget};
use crate::http::url::Url;
use crate::http::{Exchange, ResponseHead};
use crate::net::client_tls::client_config;

/// The endpoint, ready to connect to.
#[derive(Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    tls: Option<TlsTarget>,
    /// Its requests' failures, counted by every request sent to it.
    errors: Rc<StoreErrors>,
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
            errors: Rc::default(),
        })
    }

    /// A connection that carries `exchange` (its connect under way).
    pub fn connect(&self, exchange: Exchange) -> Result<Connection, Error> {
        Connection::open(self.addr, self.tls.as_ref(), exchange)
    }

    /// Its requests' failures since start-up.
    pub fn errors(&self) -> &StoreErrors {
        &self.errors
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
