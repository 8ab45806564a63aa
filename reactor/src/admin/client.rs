//! One admin connection: the bytes read, the answer being written, and
//! the deadline of the request under way. One request at a time: the next
//! is parsed only once the answer to the last is written.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use super::routes::{Asked, Reply};
use super::Secret;
use crate::http::{parse_request, Framing, HeadError, MAX_HEAD};

/// The longest request body taken (a kick needs none): more is 413.
pub const MAX_BODY: usize = 1024;

/// Bytes of requests buffered: one whole request at most.
const MAX_INPUT: usize = MAX_HEAD + MAX_BODY;

/// How long a request may take to arrive, from its first byte (or from the
/// last answer, on a kept-alive connection): a client trickling its head a
/// byte at a time is cut off then (slowloris), and an idle kept-alive one
/// too.
pub const REQUEST_TIME: Duration = Duration::from_secs(10);

/// Read in one go.
const READ_CHUNK: usize = 4096;

pub(crate) struct Client {
    pub socket: TcpStream,
    /// Whether it came from loopback to a loopback address: no token needed.
    pub local_only: bool,
    input: Vec<u8>,
    output: Vec<u8>,
    /// Bytes of `output` written.
    sent: usize,
    /// When the request under way must have arrived.
    pub deadline: Instant,
    /// Close once `output` is written.
    close_after: bool,
    /// The peer closed its side: answer what is read, then close.
    eof: bool,
}

/// What a connection can do next.
pub(crate) enum Next {
    /// A request to answer.
    Request(Asked),
    /// Nothing until the socket is ready again.
    Wait,
    /// Done: close it.
    Close,
}

impl Client {
    pub fn new(socket: TcpStream, local: SocketAddr, peer: SocketAddr, now: Instant) -> Client {
        Client {
            socket,
            local_only: local.ip().is_loopback() && peer.ip().is_loopback(),
            input: Vec::new(),
            output: Vec::new(),
            sent: 0,
            deadline: now + REQUEST_TIME,
            close_after: false,
            eof: false,
        }
    }

    /// Reads what the socket has, up to a whole request's bound; writes
    /// what waits; then says what comes next.
    pub fn advance(&mut self, secret: Option<&Secret>) -> Next {
        if self.flush().is_err() {
            return Next::Close;
        }
        if self.sent < self.output.len() {
            return Next::Wait;
        }
        if self.close_after {
            return Next::Close;
        }
        if let Err(e) = self.read() {
            log::debug!("admin connection: {e}");
            return Next::Close;
        }
        match self.next_request(secret) {
            Some(Ok(asked)) => Next::Request(asked),
            Some(Err(reply)) => {
                self.respond(&reply, false, self.deadline);
                self.advance(secret)
            }
            None if self.eof => Next::Close,
            None => Next::Wait,
        }
    }

    /// Queues the answer to the request just taken; the next one has
    /// [`REQUEST_TIME`] from `now`.
    pub fn respond(&mut self, reply: &Reply, keep_alive: bool, now: Instant) {
        let keep_alive = keep_alive && !self.eof;
        self.output.clear();
        self.sent = 0;
        reply.write(keep_alive, &mut self.output);
        self.close_after = !keep_alive;
        self.deadline = now + REQUEST_TIME;
    }

    fn read(&mut self) -> io::Result<()> {
        let mut chunk = [0; READ_CHUNK];
        while !self.eof && self.input.len() < MAX_INPUT {
            let room = (MAX_INPUT - self.input.len()).min(READ_CHUNK);
            match self.socket.read(&mut chunk[..room]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.input.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        while self.sent < self.output.len() {
            match self.socket.write(&self.output[self.sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The request at the front of the input, taken off it; `None` while
    /// it is incomplete; `Err` with the answer for one that cannot be.
    fn next_request(&mut self, secret: Option<&Secret>) -> Option<Result<Asked, Reply>> {
        let (head, len) = match parse_request(&self.input) {
            Ok(Some(parsed)) => parsed,
            Ok(None) if self.input.len() >= MAX_INPUT => {
                return Some(Err(Reply::refusal(HeadError::TooLarge)))
            }
            Ok(None) => return None,
            Err(e) => return Some(Err(Reply::refusal(e))),
        };
        let body = match Framing::of_request(&head.headers) {
            Ok(Framing::Empty) => 0,
            Ok(Framing::Length(n)) if n <= MAX_BODY as u64 => n as usize,
            Ok(Framing::Length(_)) => return Some(Err(Reply::too_large_body())),
            Ok(_) | Err(_) => return Some(Err(Reply::length_required())),
        };
        let whole = len + body;
        if self.input.len() < whole {
            return None;
        }
        let asked = Asked::of(&head, self.local_only, secret);
        self.input.drain(..whole);
        Some(Ok(asked))
    }
}
