//! The per-connection protocol state machine.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::action::Action;
use crate::config::Config;
use crate::event::Event;

/// Longest command line accepted, CRLF included; longer lines get `500`.
pub const MAX_LINE: usize = 4096;

/// The caller reported an event no pending action asked for (a bug in the
/// caller, not in the client).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnexpectedEvent(pub Event);

/// The server side of one FTP control connection.
pub struct Session {
    config: Arc<Config>,
    local: SocketAddr,
    peer: SocketAddr,
    output: Vec<u8>,
    actions: VecDeque<Action>,
}

impl Session {
    /// A new session on a control connection from `peer` to our `local`
    /// address; the welcome line is queued at once.
    pub fn new(config: Arc<Config>, now: Instant, local: SocketAddr, peer: SocketAddr) -> Self {
        let _ = now;
        let mut output = Vec::new();
        output.extend_from_slice(format!("220 {}\r\n", config.banner).as_bytes());
        Session {
            config,
            local,
            peer,
            output,
            actions: VecDeque::new(),
        }
    }

    // --- getters ---

    /// How many control bytes the caller may read and pass in now; 0 means
    /// "do not read" (a command is waiting for its event, or replies pile up).
    pub fn control_read_room(&self) -> usize {
        MAX_LINE
    }

    /// The client's address on the control connection.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Our address on the control connection.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    // --- inputs ---

    /// Control bytes from the client; at most `control_read_room()` of them.
    pub fn handle_control_input(&mut self, now: Instant, data: &[u8]) {
        let _ = (now, data, &self.config);
    }

    /// The client closed the control connection (or it broke).
    pub fn handle_control_eof(&mut self, now: Instant) {
        let _ = now;
        self.actions.push_back(Action::Close);
    }

    /// The outcome of an action this session asked for.
    pub fn handle_event(&mut self, now: Instant, event: Event) -> Result<(), UnexpectedEvent> {
        let _ = now;
        Err(UnexpectedEvent(event))
    }

    /// The deadline from `poll_timeout()` has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
    }

    // --- outputs ---

    /// Reply bytes waiting to be written to the control connection.
    pub fn poll_control_transmit(&self) -> &[u8] {
        &self.output
    }

    /// The first `n` bytes of `poll_control_transmit()` were written.
    pub fn consume_control_transmit(&mut self, n: usize) {
        self.output.drain(..n.min(self.output.len()));
    }

    /// The next thing to do, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When `handle_timeout` should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}
