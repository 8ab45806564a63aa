//! FTPS in the reactor: the certificate and key, and TLS as a layer of a
//! connection. rustls' `ServerConnection` is itself sans-IO; [`TlsLayer`]
//! moves ciphertext between it and a non-blocking socket, and [`Channel`]
//! gives the control and data code one `Read`/`Write` for both kinds of
//! stream. The protocol (AUTH, PBSZ, PROT, when a channel switches) is the
//! core's: this module only does what its actions ask.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, ServerConnection};

use crate::storage::error_kind;

/// Plaintext and ciphertext rustls may hold for sending, per connection:
/// replies are capped by the session, transfers go in steps; this keeps an
/// idle connection small and a busy one bounded.
const SEND_BUFFER_LIMIT: usize = 64 * 1024;

/// The TLS server configurations. Both hold the same certificate, session
/// cache and ticket keys, so a data connection resumes its control
/// connection's session. TLS 1.3 tickets are single-use: the control
/// connection and every download issue one, so the next data connection
/// has one to resume with; an upload issues none — a ticket there is data
/// its client never reads, and when it closes right after its
/// `close_notify` (curl, Go) its kernel answers that unread data with a
/// reset, and ours drops the end of the upload.
#[derive(Clone)]
pub struct TlsConfigs {
    /// Control connections and downloads: one ticket each.
    pub ticketing: Arc<ServerConfig>,
    /// Uploads: no ticket.
    pub upload: Arc<ServerConfig>,
}

/// Builds the TLS server configurations from a PEM certificate chain and a
/// PEM private key (ECDSA, Ed25519 or RSA). Errors name the file.
pub fn load(cert: &Path, key: &Path) -> Result<TlsConfigs, String> {
    let named = |path: &Path, what: &str, e: &dyn std::fmt::Display| {
        format!("{what} {}: {e}", path.display())
    };
    // Bounded reads: a FIFO or /dev/zero here must not hang or fill memory.
    let read =
        |path: &Path, what: &str| crate::small_file::read(path).map_err(|e| named(path, what, &e));
    let cert_pem = read(cert, "cannot read the TLS certificate")?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| named(cert, "cannot read the TLS certificate", &e))?;
    if chain.is_empty() {
        return Err(named(cert, "no certificate in", &"no CERTIFICATE block"));
    }
    let key_pem = read(key, "cannot read the TLS key")?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| named(key, "cannot read the TLS key", &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| named(key, "the TLS key does not fit the certificate in", &e))
        .map_err(|e| format!("{e} (certificate {})", cert.display()))?;
    // Data connections resume the control connection's session: TLS 1.2
    // session IDs (the default cache) and tickets, TLS 1.3 tickets.
    config.ticketer =
        rustls::crypto::ring::Ticketer::new().map_err(|e| format!("TLS tickets: {e}"))?;
    config.send_tls13_tickets = 1;
    let mut upload = config.clone();
    upload.send_tls13_tickets = 0;
    Ok(TlsConfigs {
        ticketing: Arc::new(config),
        upload: Arc::new(upload),
    })
}

/// How much ciphertext an upload reads from its socket at a time.
const INBOX_SIZE: usize = 64 * 1024;

/// The TLS server side of one connection.
pub struct TlsLayer {
    conn: ServerConnection,
    /// `close_notify` was queued (the end of a download).
    closing: bool,
    /// Uploads only: see [`Inbox`].
    inbox: Option<Inbox>,
}

/// Ciphertext read from the socket ahead of rustls. rustls reads at most
/// 4 KiB per `read_tls`, so reading the socket through it costs a system
/// call (and its TCP bookkeeping) per 4 KiB; an upload reads up to
/// [`INBOX_SIZE`] at once instead and feeds rustls from memory.
struct Inbox {
    /// Allocated at the first read, kept for the connection's life.
    bytes: Vec<u8>,
    /// The bytes read and not yet given to rustls.
    start: usize,
    end: usize,
}

impl Inbox {
    fn new() -> Inbox {
        Inbox {
            bytes: Vec::new(),
            start: 0,
            end: 0,
        }
    }

    /// Gives rustls the next bytes, reading the socket first if none are
    /// left; how many it took (0: the socket's end, which rustls is told).
    fn feed(&mut self, conn: &mut ServerConnection, socket: &mut TcpStream) -> io::Result<usize> {
        if self.start == self.end {
            self.bytes.resize(INBOX_SIZE, 0);
            // Empty before the read: a read that fails (`WouldBlock`) must
            // not leave bytes already given to rustls looking new.
            (self.start, self.end) = (0, 0);
            self.end = socket.read(&mut self.bytes)?;
        }
        let taken = conn.read_tls(&mut &self.bytes[self.start..self.end])?;
        self.start += taken;
        Ok(taken)
    }
}

impl TlsLayer {
    /// Starts the server side of a handshake; `early` are ciphertext bytes
    /// already read from the socket (sent right behind `AUTH TLS`).
    pub fn new(config: &Arc<ServerConfig>, early: &[u8]) -> io::Result<TlsLayer> {
        let mut conn = ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
        conn.set_buffer_limit(Some(SEND_BUFFER_LIMIT));
        let mut early = early;
        while !early.is_empty() {
            conn.read_tls(&mut early)?;
            conn.process_new_packets().map_err(tls_error)?;
        }
        Ok(TlsLayer {
            conn,
            closing: false,
            inbox: None,
        })
    }

    /// For an upload: reads the socket in large pieces (see [`Inbox`]).
    pub fn with_inbox(mut self) -> TlsLayer {
        self.inbox = Some(Inbox::new());
        self
    }

    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Sends queued ciphertext; `Ok(true)` once none is left.
    pub fn flush(&mut self, socket: &mut TcpStream) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(socket) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Moves the handshake on as far as the socket allows; `Ok(true)` once
    /// it is complete.
    pub fn handshake(&mut self, socket: &mut TcpStream) -> io::Result<bool> {
        while self.conn.is_handshaking() {
            if !self.flush(socket)? {
                return Ok(false);
            }
            if !self.conn.wants_read() {
                continue;
            }
            if !self.receive(socket)? {
                return Ok(false);
            }
        }
        self.flush(socket)
    }

    /// Reads ciphertext from `socket` into rustls and processes it; false
    /// if the socket had nothing. A TCP end during the handshake is an error.
    fn receive(&mut self, socket: &mut TcpStream) -> io::Result<bool> {
        let read = match &mut self.inbox {
            Some(inbox) if !self.conn.is_handshaking() => inbox.feed(&mut self.conn, socket),
            _ => self.conn.read_tls(socket),
        };
        match read {
            Ok(0) if self.conn.is_handshaking() => {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
        if let Err(e) = self.conn.process_new_packets() {
            // Tell the peer why (an alert), then give up on the connection.
            let _ = self.conn.write_tls(socket);
            return Err(tls_error(e));
        }
        Ok(true)
    }

    /// Plaintext from the peer: `Ok(0)` at its end (`close_notify`, or a
    /// TCP end without one: FTP marks the end of a stream by closing it).
    pub fn read(&mut self, socket: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            let received = self.receive(socket)?;
            // The handshake, or a key update, may have something to say.
            let _ = self.flush(socket)?;
            if !received {
                return Err(io::ErrorKind::WouldBlock.into());
            }
        }
    }

    /// Takes plaintext to send (as much as the buffer limit allows) and
    /// pushes ciphertext out.
    pub fn write(&mut self, socket: &mut TcpStream, buf: &[u8]) -> io::Result<usize> {
        let _ = self.flush(socket)?;
        let taken = self.conn.writer().write(buf)?;
        let _ = self.flush(socket)?;
        if taken == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    /// Ends the stream with `close_notify`; `Ok(true)` once every byte,
    /// the alert included, is out.
    pub fn finish(&mut self, socket: &mut TcpStream) -> io::Result<bool> {
        if !self.closing {
            self.conn.send_close_notify();
            self.closing = true;
        }
        self.flush(socket)
    }

    /// Ciphertext waits for the socket to take it.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }
}

/// A socket with or without TLS, as `Read` and `Write` of plaintext.
pub struct Channel<'a> {
    pub socket: &'a mut TcpStream,
    pub tls: Option<&'a mut TlsLayer>,
}

impl Read for Channel<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.tls {
            Some(tls) => tls.read(self.socket, buf),
            None => self.socket.read(buf),
        }
    }
}

impl Write for Channel<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.tls {
            Some(tls) => tls.write(self.socket, buf),
            None => self.socket.write(buf),
        }
    }

    /// Pushes ciphertext rustls still holds; `WouldBlock` if some is left.
    fn flush(&mut self) -> io::Result<()> {
        let flushed = match &mut self.tls {
            Some(tls) => tls.flush(self.socket)?,
            None => true,
        };
        if flushed {
            Ok(())
        } else {
            Err(io::ErrorKind::WouldBlock.into())
        }
    }
}

/// A TLS failure as an `io::Error` the reactor maps to
/// [`ErrorKind::HandshakeFailed`](pocketftp_core::ErrorKind::HandshakeFailed).
fn tls_error(e: rustls::Error) -> io::Error {
    error_kind::tls_failure(e.to_string())
}
