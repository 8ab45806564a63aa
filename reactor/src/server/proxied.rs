//! Listeners marked `--proxy-protocol`: a TCP load balancer in front
//! (HAProxy, nginx's stream module, a cloud's) passes each client's
//! connection on and first sends a PROXY protocol header saying whose it
//! is. Until that header is in, the connection waits here, outside the
//! sessions: its bytes are looked at with `MSG_PEEK` and parsed by the
//! core's sans-IO parser (`pocketftp_core::proxy`), and only the header's
//! own bytes are then read, so whatever follows it (a command, a TLS
//! ClientHello) is left for the session or TLS. Bounded in bytes
//! ([`proxy::MAX_HEADER`]), in connections ([`MAX_WAITING`]) and in time
//! ([`HEADER_TIMEOUT`]): a header split byte by byte is read as it comes,
//! and a connection that sends none never holds the loop.
//!
//! With its header, a connection is admitted as its client's: that
//! address is the one per-IP limits, bans, logs and the passive data
//! connection's check use. Without a valid one it is closed, with a line
//! in the log (a proxy listener that others reach is worth hearing about).

use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use log::{debug, warn};
use mio::net::TcpStream;
use mio::Interest;
use pocketftp_core::proxy::{self, Parsed, ProxyHeader};
use slab::Slab;

use super::token::{token, Source};
use super::Server;

/// Connections that may wait for their header at once; past that, new
/// ones are closed. A load balancer sends its header with the connection,
/// so only a flood (or a listener open to others) fills this.
const MAX_WAITING: usize = 256;
/// How long a connection may take to send its header.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// The connections waiting for their header.
#[derive(Default)]
pub(super) struct Waiting {
    connections: Slab<Pending>,
    /// Each one's deadline, in arrival order, which is deadline order (the
    /// timeout is the same for all): `(when, key, generation)`.
    deadlines: VecDeque<(Instant, usize, u32)>,
    next_generation: u32,
}

struct Pending {
    stream: TcpStream,
    /// The load balancer's address (the socket's peer).
    peer: SocketAddr,
    implicit_tls: bool,
    generation: u32,
}

impl Waiting {
    /// When the next connection's time is up.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.front().map(|(at, _, _)| *at)
    }
}

/// What the bytes so far say.
enum Outcome {
    /// Wait for more.
    Wait,
    Header(ProxyHeader),
    /// Close the connection, saying why (`None`: quietly).
    Close(Option<String>),
}

impl Server {
    /// A connection on a PROXY protocol listener: it waits for its header.
    pub(super) fn await_header(
        &mut self,
        mut stream: TcpStream,
        peer: SocketAddr,
        implicit_tls: bool,
        now: Instant,
    ) {
        let waiting = &mut self.waiting;
        if waiting.connections.len() >= MAX_WAITING {
            let count = MAX_WAITING;
            return warn!(
                "{peer}: closed: {count} connections wait for their PROXY protocol header already"
            );
        }
        let entry = waiting.connections.vacant_entry();
        let key = entry.key();
        let header_token = token(key, Source::ProxyHeader);
        if let Err(e) =
            (self.poll.registry()).register(&mut stream, header_token, Interest::READABLE)
        {
            return warn!("{peer}: cannot register: {e}");
        }
        let generation = waiting.next_generation;
        waiting.next_generation = generation.wrapping_add(1);
        waiting
            .deadlines
            .push_back((now + HEADER_TIMEOUT, key, generation));
        entry.insert(Pending {
            stream,
            peer,
            implicit_tls,
            generation,
        });
        // It may have come with the connection.
        self.read_header(key, now);
    }

    /// The connection at `key` is readable: its header, or more of it.
    pub(super) fn read_header(&mut self, key: usize, now: Instant) {
        let Some(pending) = self.waiting.connections.get_mut(key) else {
            return;
        };
        let outcome = peek_header(&mut pending.stream, &mut self.buffer[..proxy::MAX_HEADER]);
        if matches!(outcome, Outcome::Wait) {
            return;
        }
        let Some(pending) = self.stop_waiting(key) else {
            return;
        };
        let peer = pending.peer;
        let header = match outcome {
            Outcome::Header(header) => header,
            Outcome::Close(None) | Outcome::Wait => {
                return debug!("{peer}: closed before its PROXY protocol header");
            }
            Outcome::Close(Some(why)) => {
                return warn!(
                    "{peer}: closed: {why} (this listener takes PROXY protocol connections only)"
                );
            }
        };
        if self.stop_by.is_some() {
            return; // stopping: no new sessions
        }
        let client = match header {
            ProxyHeader::Proxied {
                source,
                destination,
            } => {
                debug!("{peer}: PROXY protocol: client {source}, which connected to {destination}");
                source
            }
            ProxyHeader::Local => peer,
        };
        self.admit(pending.stream, client, pending.implicit_tls, now);
    }

    /// Closes the connections whose time for a header is up.
    pub(super) fn expire_headers(&mut self, now: Instant) {
        while let Some(&(at, key, generation)) = self.waiting.deadlines.front() {
            if at > now {
                return;
            }
            self.waiting.deadlines.pop_front();
            let current = self.waiting.connections.get(key);
            if current.is_some_and(|p| p.generation == generation) {
                if let Some(pending) = self.stop_waiting(key) {
                    let seconds = HEADER_TIMEOUT.as_secs();
                    warn!(
                        "{}: closed: no PROXY protocol header within {seconds} s",
                        pending.peer
                    );
                }
            }
        }
    }

    /// Takes the connection at `key` out of the waiting ones and the poll.
    fn stop_waiting(&mut self, key: usize) -> Option<Pending> {
        let mut pending = self.waiting.connections.try_remove(key)?;
        let _ = self.poll.registry().deregister(&mut pending.stream);
        Some(pending)
    }
}

/// Looks at the bytes waiting on `stream` (without taking them) and, once
/// they hold a whole header, reads exactly its bytes.
fn peek_header(stream: &mut TcpStream, buffer: &mut [u8]) -> Outcome {
    let seen = loop {
        match stream.peek(buffer) {
            Ok(0) => return Outcome::Close(None),
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Outcome::Wait,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Outcome::Close(Some(e.to_string())),
        }
    };
    match proxy::parse(&buffer[..seen]) {
        Parsed::Incomplete => Outcome::Wait,
        Parsed::Invalid(why) => Outcome::Close(Some(why.to_owned())),
        Parsed::Complete { header, length } => match take(stream, &mut buffer[..length]) {
            Ok(()) => Outcome::Header(header),
            Err(e) => Outcome::Close(Some(format!("reading its PROXY protocol header: {e}"))),
        },
    }
}

/// Reads exactly `buffer.len()` bytes, which a peek saw waiting.
fn take(stream: &mut TcpStream, buffer: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buffer.len() {
        match stream.read(&mut buffer[filled..]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
