//! An [`Exchange`] carried over a non-blocking mio `TcpStream`, in clear or
//! through rustls' client side. The caller registers [`Connection::socket`]
//! with the loop (readable and writable, edge-triggered) and calls
//! [`Connection::advance`] at every readiness event: it moves bytes both
//! ways until the socket would block, and says when the response is
//! complete. Nothing here blocks: the connect is mio's non-blocking one,
//! and its outcome is read at the first event.
//!
//! A TLS peer that ends its stream without `close_notify` ends the
//! response as a TCP end does: a body with a length or chunks must still
//! be complete (the exchange checks), only a body that runs until the
//! close cannot tell a cut from an end, as over clear HTTP.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use super::client::{ClientError, Exchange};
use crate::net::tls::flush;

/// Plaintext read from the socket (or from rustls) at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Plaintext and ciphertext rustls may hold for sending.
const SEND_BUFFER_LIMIT: usize = 64 * 1024;

/// Why an exchange over a connection failed.
#[derive(Debug)]
pub enum Error {
    Io(io::Error),
    Tls(rustls::Error),
    Http(ClientError),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io(e) => e.fmt(f),
            Error::Tls(e) => write!(f, "TLS: {e}"),
            Error::Http(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<ClientError> for Error {
    fn from(e: ClientError) -> Error {
        Error::Http(e)
    }
}

/// TLS to ask for: the client configuration (its trusted certificates)
/// and the name the server's certificate must carry.
#[derive(Clone)]
pub struct TlsTarget {
    pub config: Arc<ClientConfig>,
    pub name: ServerName<'static>,
}

/// One exchange on a connection.
pub struct Connection {
    socket: TcpStream,
    tls: Option<ClientConnection>,
    exchange: Exchange,
    /// The non-blocking connect is known to have succeeded.
    connected: bool,
    /// The peer's stream ended, or sent bytes past the response: the
    /// connection cannot carry another exchange.
    spent: bool,
}

/// A connection between two exchanges, kept for the next (keep-alive):
/// its response was whole, nothing came after it, and the server did
/// not say `Connection: close`.
pub struct Idle {
    socket: TcpStream,
    tls: Option<ClientConnection>,
}

impl Idle {
    /// The server has not closed it (nor sent anything unasked): a peek
    /// finds nothing to read yet.
    pub fn is_open(&self) -> bool {
        let mut byte = [0; 1];
        matches!(self.socket.peek(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// The connection again, carrying `exchange`.
    pub fn carry(self, exchange: Exchange) -> Connection {
        Connection {
            socket: self.socket,
            tls: self.tls,
            exchange,
            connected: true,
            spent: false,
        }
    }
}

impl Connection {
    /// Starts connecting to `addr` (non-blocking) to carry `exchange`.
    pub fn open(
        addr: SocketAddr,
        tls: Option<&TlsTarget>,
        exchange: Exchange,
    ) -> Result<Connection, Error> {
        let tls = match tls {
            Some(t) => {
                let mut conn = ClientConnection::new(Arc::clone(&t.config), t.name.clone())
                    .map_err(Error::Tls)?;
                conn.set_buffer_limit(Some(SEND_BUFFER_LIMIT));
                Some(conn)
            }
            None => None,
        };
        Ok(Connection {
            socket: TcpStream::connect(addr)?,
            tls,
            exchange,
            connected: false,
            spent: false,
        })
    }

    /// The socket, to register with the loop (and deregister).
    pub fn socket(&mut self) -> &mut TcpStream {
        &mut self.socket
    }

    /// The connect succeeded (before it, nothing was sent).
    pub fn connected(&self) -> bool {
        self.connected
    }

    /// The exchange: its response head, body bytes to drain.
    pub fn exchange(&mut self) -> &mut Exchange {
        &mut self.exchange
    }

    /// The exchange, once the connection is done with.
    pub fn into_exchange(self) -> Exchange {
        self.exchange
    }

    /// The exchange, and the connection to keep for another if it can
    /// carry one.
    pub fn into_parts(self) -> (Exchange, Option<Idle>) {
        let close = (self.exchange.head())
            .and_then(|head| head.header("connection"))
            .is_some_and(|value| value.eq_ignore_ascii_case(b"close"));
        let whole = self.exchange.is_done() && self.exchange.outgoing().is_empty();
        let idle = (self.connected && whole && !self.spent && !close).then_some(Idle {
            socket: self.socket,
            tls: self.tls,
        });
        (self.exchange, idle)
    }

    /// Moves bytes until the socket would block; `Ok(true)` once the whole
    /// response has arrived.
    pub fn advance(&mut self) -> Result<bool, Error> {
        if !self.connected {
            if let Some(e) = self.socket.take_error()? {
                return Err(Error::Io(e));
            }
            match self.socket.peer_addr() {
                Ok(_) => self.connected = true,
                Err(e) if still_connecting(&e) => return Ok(false),
                Err(e) => return Err(Error::Io(e)),
            }
        }
        match &mut self.tls {
            None => self.advance_clear()?,
            Some(_) => self.advance_tls()?,
        }
        Ok(self.exchange.is_done())
    }

    fn advance_clear(&mut self) -> Result<(), Error> {
        while !self.exchange.outgoing().is_empty() {
            match self.socket.write(self.exchange.outgoing()) {
                Ok(n) => self.exchange.sent(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut buf = [0; READ_CHUNK];
        while !self.exchange.is_done() {
            // A streamed body at its bound: the rest waits in the socket.
            let room = self.exchange.input_room().min(buf.len());
            if room == 0 {
                break;
            }
            match self.socket.read(&mut buf[..room]) {
                Ok(0) => {
                    self.spent = true;
                    return Ok(self.exchange.peer_closed()?);
                }
                Ok(n) => {
                    self.spent |= self.exchange.receive(&buf[..n])? < n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn advance_tls(&mut self) -> Result<(), Error> {
        let Some(tls) = &mut self.tls else {
            return Ok(());
        };
        let mut buf = [0; READ_CHUNK];
        loop {
            if !self.exchange.outgoing().is_empty() {
                let n = tls.writer().write(self.exchange.outgoing())?;
                self.exchange.sent(n);
            }
            let flushed = flush(tls, &mut self.socket)?;
            // What rustls decrypted and a streamed body at its bound left
            // there goes first; while it cannot, nothing more is read (the
            // rest waits in the socket).
            if read_plaintext(tls, &mut self.exchange, &mut buf, &mut self.spent)? {
                self.spent = true;
                return Ok(self.exchange.peer_closed()?);
            }
            if self.exchange.is_done() || self.exchange.input_room() == 0 {
                return Ok(());
            }
            let closed = match tls.read_tls(&mut self.socket) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Nothing to read: write on while the socket takes
                    // it, else wait for the next event (edge-triggered:
                    // one comes when the socket is readable or writable
                    // again).
                    if flushed && !self.exchange.outgoing().is_empty() {
                        continue;
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
                Err(e) => return Err(e.into()),
            };
            if let Err(e) = tls.process_new_packets() {
                let _ = tls.write_tls(&mut self.socket); // the alert
                return Err(Error::Tls(e));
            }
            let ended = read_plaintext(tls, &mut self.exchange, &mut buf, &mut self.spent)?;
            // At the stream's end, the plaintext a paused body left in
            // rustls is still read (the loop's next turn) before the end.
            if ended || (closed && self.exchange.input_room() > 0) {
                self.spent = true;
                return Ok(self.exchange.peer_closed()?);
            }
            if self.exchange.is_done() {
                return Ok(());
            }
        }
    }
}

/// Feeds the plaintext rustls decrypted to the exchange, as much as it
/// has room for; `Ok(true)` when the peer's stream has ended (with
/// `close_notify` or without). Bytes past the response make the
/// connection `spent`.
fn read_plaintext(
    tls: &mut ClientConnection,
    exchange: &mut Exchange,
    buf: &mut [u8],
    spent: &mut bool,
) -> Result<bool, Error> {
    loop {
        let room = exchange.input_room().min(buf.len());
        if room == 0 {
            return Ok(false);
        }
        match tls.reader().read(&mut buf[..room]) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                *spent |= exchange.receive(&buf[..n])? < n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(true),
            Err(e) => return Err(e.into()),
        }
    }
}

/// A non-blocking connect whose outcome is not known yet.
fn still_connecting(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotConnected || e.raw_os_error() == Some(libc::EINPROGRESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::client::Request;
    use mio::{Events, Interest, Poll, Token};
    use std::time::Duration;

    /// A server on loopback that reads one request head and answers `reply`
    /// in two writes; what it read comes back through the thread.
    fn serve(reply: &'static [u8]) -> (SocketAddr, std::thread::JoinHandle<Vec<u8>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let thread = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            let mut buf = [0; 1024];
            while !got.ends_with(b"{}") {
                let n = stream.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            let (a, b) = reply.split_at(reply.len() / 2);
            stream.write_all(a).unwrap();
            std::thread::sleep(Duration::from_millis(20));
            stream.write_all(b).unwrap();
            got
        });
        (addr, thread)
    }

    fn run(addr: SocketAddr) -> Result<Exchange, Error> {
        carried(addr).map(Connection::into_exchange)
    }

    /// A POST to `addr` on its way, its connection registered with a poll
    /// of its own; its answer's body held to `max_body`, streamed or not.
    fn post(
        addr: SocketAddr,
        max_body: usize,
        streamed: bool,
    ) -> Result<(Connection, Poll), Error> {
        let request = Request {
            method: "POST",
            target: "/x",
            host: "localhost",
            headers: &[],
            body: b"{}",
        };
        let mut exchange = Exchange::new(&request, max_body)?;
        if streamed {
            exchange = exchange.streamed();
        }
        let mut conn = Connection::open(addr, None, exchange)?;
        let poll = Poll::new()?;
        let interest = Interest::READABLE | Interest::WRITABLE;
        poll.registry()
            .register(conn.socket(), Token(0), interest)?;
        Ok((conn, poll))
    }

    /// The connection that carried a POST to `addr`, its answer whole.
    fn carried(addr: SocketAddr) -> Result<Connection, Error> {
        let (mut conn, mut poll) = post(addr, 1024, false)?;
        let mut events = Events::with_capacity(4);
        for _ in 0..100 {
            poll.poll(&mut events, Some(Duration::from_millis(100)))?;
            if conn.advance()? {
                return Ok(conn);
            }
        }
        panic!("no response");
    }

    #[test]
    fn an_exchange_over_loopback() {
        let (addr, server) = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nthanks");
        let exchange = run(addr).unwrap();
        let (head, body) = exchange.into_response().unwrap();
        assert_eq!((head.status, body.as_slice()), (200, &b"than"[..]));
        let got = server.join().unwrap();
        assert!(got.starts_with(b"POST /x HTTP/1.1\r\nHost: localhost\r\n"));
        assert!(got.ends_with(b"\r\n\r\n{}"));
    }

    #[test]
    fn a_response_cut_short_and_a_refused_connect_are_errors() {
        let (addr, server) = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\nshort");
        let err = run(addr).err().unwrap();
        assert!(matches!(err, Error::Http(ClientError::Body(_))), "{err}");
        server.join().unwrap();
        let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = unused.local_addr().unwrap();
        drop(unused);
        assert!(matches!(run(addr), Err(Error::Io(_))));
    }

    /// A whole answer leaves the connection to keep, until the server
    /// closes it; `Connection: close` or a body up to the close leaves none.
    /// A streamed body longer than its bound is read a bound's worth at a
    /// time: the rest waits in the socket until the caller drains it, and
    /// is read when it calls again (no event comes for bytes already there).
    #[test]
    fn a_streamed_body_waits_in_the_socket_while_its_buffer_is_full() {
        let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        let reply = [head.as_bytes(), &body].concat().leak();
        let (addr, server) = serve(reply);
        let (mut conn, _poll) = post(addr, 4096, true).unwrap();
        let (mut got, mut paused) = (Vec::new(), 0);
        for _ in 0..1000 {
            let done = conn.advance().unwrap();
            paused += usize::from(conn.exchange().input_room() == 0);
            if let Some((_, held)) = conn.exchange().streamed_body() {
                assert!(held.len() <= 4096);
                got.append(held);
            }
            if done {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(got, body);
        assert!(paused > 0, "never held at its bound");
        server.join().unwrap();
    }

    #[test]
    fn a_connection_is_kept_only_while_the_server_keeps_it() {
        let (addr, server) = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        let (exchange, idle) = carried(addr).unwrap().into_parts();
        assert!(exchange.is_done());
        let idle = idle.expect("kept");
        server.join().unwrap(); // the server's end closed
        let closed = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            !idle.is_open()
        });
        assert!(closed, "a connection the server closed is not reused");
        let replies: [&'static [u8]; 2] = [
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\n\r\nuntil the close",
        ];
        for reply in replies {
            let (addr, server) = serve(reply);
            let (_, idle) = carried(addr).unwrap().into_parts();
            assert!(idle.is_none(), "{}", String::from_utf8_lossy(reply));
            server.join().unwrap();
        }
    }
}
