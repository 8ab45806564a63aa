//! FTPS in the reactor: the certificate and key, and TLS as a layer of a
//! connection. rustls' `ServerConnection` is itself sans-IO; [`TlsLayer`]
//! moves ciphertext between it and a non-blocking socket, and [`Channel`]
//! gives the control and data code one `Read`/`Write` for both kinds of
//! stream. The protocol (AUTH, PBSZ, PROT, when a channel switches) is the
//! core's: this module only does what its actions ask.
//!
//! **A protected data connection belongs to its session.** The only other
//! check on a passive data connection is the peer's IP address, which a
//! second client behind the same NAT (or on the same multi-user host)
//! shares: it could connect to the victim's passive port first and receive
//! the download, or supply the upload (issue 23). So, by default
//! (`--tls-session-reuse required`, as vsftpd's `require_ssl_reuse`), a
//! data connection must resume its control connection's TLS session, which
//! only that client holds the secrets of: each session gets a ticket key
//! and a session cache of its own ([`TlsConfigs::start_session`]), so a
//! resumption on its data connection can only be of a session it made
//! (TLS 1.3 tickets; TLS 1.2 tickets and session IDs alike), or one of the
//! same user's from the same address (`resumption.rs`: rclone shares one
//! session cache among its control connections; a session from there that
//! has not logged in yet is waited for). rustls'
//! `received_resumption_data` would name the session too, but only after a
//! TLS 1.3 resumption (0.23's TLS 1.2 code never sets it), hence the keys
//! of its own. A full handshake is answered `close_notify` and the
//! transfer `425`.
//!
//! **An upload ends with `close_notify`.** A bare TCP end can be an
//! attacker's or a broken network's cut as well as the client's end, and
//! `STOR` must not put a cut-off file in place of the old one: by default
//! (`--tls-close-notify required`) an upload over TLS that ends without
//! the client's `close_notify` is broken (`426`, the old file kept).

use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, ServerConnection};
use rustls::{ConnectionCommon, HandshakeKind};

use super::resumption::{Neighbourhoods, Neighbours, Resumable, SessionKeys, Verdict};
use crate::storage::error_kind;

/// Plaintext and ciphertext rustls may hold for sending, per connection:
/// replies are capped by the session, transfers go in steps; this keeps an
/// idle connection small and a busy one bounded.
const SEND_BUFFER_LIMIT: usize = 64 * 1024;

/// What a protected data connection must do: `--tls-session-reuse` and
/// `--tls-close-notify` (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataRules {
    /// It must resume its control connection's TLS session.
    pub session_reuse: bool,
    /// An upload must end with the client's `close_notify`.
    pub close_notify: bool,
}

impl Default for DataRules {
    fn default() -> DataRules {
        DataRules {
            session_reuse: true,
            close_notify: true,
        }
    }
}

/// The TLS server configuration of the daemon: the certificate, and the
/// rules for data connections. Each session takes its own copy
/// ([`TlsConfigs::start_session`]).
#[derive(Clone)]
pub struct TlsConfigs {
    config: Arc<ServerConfig>,
    rules: DataRules,
}

impl TlsConfigs {
    /// The same certificate and key under other rules.
    pub fn with_rules(self, rules: DataRules) -> TlsConfigs {
        TlsConfigs { rules, ..self }
    }

    /// TLS for a new session's control connection, starting with `early`
    /// bytes (sent right behind `AUTH TLS`; none on an implicit listener).
    pub fn start_session(&self, early: &[u8]) -> io::Result<ControlTls> {
        let tls = self.for_session()?;
        let layer = TlsLayer::new(&tls.config, early)?;
        Ok((tls, Box::new(layer)))
    }

    /// The TLS of one new session: with session reuse required, a ticket
    /// key and a session cache of its own, which its data connections
    /// resume from and nobody else's can.
    fn for_session(&self) -> io::Result<SessionTls> {
        let (config, keys) = if self.rules.session_reuse {
            let keys = Arc::new(SessionKeys::new().map_err(io::Error::other)?);
            let mut own = ServerConfig::clone(&self.config);
            own.ticketer = Arc::clone(&keys.ticketer);
            own.session_storage = Arc::clone(&keys.cache);
            (Arc::new(own), Some(keys))
        } else {
            (Arc::clone(&self.config), None)
        };
        Ok(SessionTls {
            config,
            keys,
            neighbours: None,
            rules: self.rules,
        })
    }
}

/// A control connection's TLS: its session's, and its own layer.
pub type ControlTls = (SessionTls, Box<TlsLayer>);

/// One session's TLS: the configuration its control connection and its
/// data connections share, and the rules for the latter. TLS 1.3 tickets
/// are single-use: the control connection and every download issue one,
/// so the next data connection has one to resume with; an upload issues
/// none — a ticket there is data its client never reads, and when it
/// closes right after its `close_notify` (curl, Go) its kernel answers that
/// unread data with a reset, and ours drops the end of the upload.
pub struct SessionTls {
    config: Arc<ServerConfig>,
    /// Its own ticket key and cache (session reuse required).
    keys: Option<Arc<SessionKeys>>,
    /// The sessions from the same address, once it is one of them.
    neighbours: Option<Arc<Neighbours>>,
    rules: DataRules,
}

impl SessionTls {
    /// The session is from `peer`: the data connections of the sessions
    /// from there may resume its TLS session once it logs in as their
    /// user (or wait for that login), and its own theirs.
    pub fn join(&mut self, places: &mut Neighbourhoods, peer: IpAddr) {
        if let (Some(keys), None) = (&self.keys, &self.neighbours) {
            self.neighbours = Some(places.join(peer, keys));
        }
    }

    /// The session logged in as `user`; true if that is news.
    pub fn log_in(&self, user: &str) -> bool {
        self.keys.as_ref().is_some_and(|keys| keys.log_in(user))
    }

    /// A protected data connection's TLS: an upload's issues no ticket and
    /// reads the socket in large pieces (see [`Inbox`]).
    pub fn data(&self, upload: bool) -> io::Result<TlsLayer> {
        let mut config = ServerConfig::clone(&self.config);
        if upload {
            config.send_tls13_tickets = 0;
        }
        let resumable = self.keys.as_ref().map(|keys| {
            let neighbours = self.neighbours.clone().unwrap_or_default();
            Arc::new(Resumable::new(Arc::clone(keys), neighbours))
        });
        if let Some(resumable) = &resumable {
            config.ticketer = Arc::clone(resumable) as _;
            config.session_storage = Arc::clone(resumable) as _;
        }
        let layer = TlsLayer::new(&Arc::new(config), &[])?;
        let mut layer = if upload { layer.with_inbox() } else { layer };
        layer.rules = Some(self.rules);
        layer.resumable = resumable;
        Ok(layer)
    }
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
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => format!(
            "no private key in {}: the TLS key is a PEM file with a PRIVATE KEY block",
            key.display()
        ),
        e => named(key, "cannot read the TLS key", &e),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| key_mismatch(cert, key, &e))?;
    // Data connections resume the control connection's session: TLS 1.2
    // session IDs (the default cache) and tickets, TLS 1.3 tickets.
    config.ticketer =
        rustls::crypto::ring::Ticketer::new().map_err(|e| format!("TLS tickets: {e}"))?;
    config.send_tls13_tickets = 1;
    Ok(TlsConfigs {
        config: Arc::new(config),
        rules: DataRules::default(),
    })
}

/// Why a key and a certificate cannot be used together, in words an admin
/// acts on (rustls says "keys may not be consistent: KeyMismatch").
fn key_mismatch(cert: &Path, key: &Path, e: &rustls::Error) -> String {
    let (cert, key) = (cert.display(), key.display());
    match e {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => format!(
            "the TLS key {key} does not belong to the certificate {cert}: give the key that was made with this certificate (the two files of one pair)"
        ),
        e => format!("the TLS key {key} cannot be used with the certificate {cert}: {e}"),
    }
}

/// How far [`TlsLayer::handshake`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    /// The socket would block.
    Blocked,
    /// It is complete: data may move.
    Done,
    /// It is complete, and resumed the TLS session of a session from the
    /// same address that has not logged in yet: it waits for that login.
    AwaitingLogin,
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
    /// A data connection's rules (`None`: the control connection).
    rules: Option<DataRules>,
    /// A data connection's tickets and sessions, when it must resume one.
    resumable: Option<Arc<Resumable>>,
    /// The peer's stream ended with a TCP end and no `close_notify`.
    bare_eof: bool,
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
            rules: None,
            resumable: None,
            bare_eof: false,
        })
    }

    /// For an upload: reads the socket in large pieces (see [`Inbox`]).
    fn with_inbox(mut self) -> TlsLayer {
        self.inbox = Some(Inbox::new());
        self
    }

    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Sends queued ciphertext; `Ok(true)` once none is left.
    pub fn flush(&mut self, socket: &mut TcpStream) -> io::Result<bool> {
        flush(&mut self.conn, socket)
    }

    /// Moves the handshake on as far as the socket allows. A data
    /// connection that must resume its session and did not is refused
    /// here, before a byte of data moves: it gets our `close_notify` (its
    /// client then reads the `425` on the control connection, not a broken
    /// stream) and the error says why. One that resumed the session of a
    /// neighbour not logged in yet waits, moving nothing (`resumption.rs`).
    pub fn handshake(&mut self, socket: &mut TcpStream) -> io::Result<Handshake> {
        while self.conn.is_handshaking() {
            if !self.flush(socket)? {
                return Ok(Handshake::Blocked);
            }
            if !self.conn.wants_read() {
                continue;
            }
            if !self.receive(socket)? {
                return Ok(Handshake::Blocked);
            }
            self.note_full_handshake();
        }
        match self.verdict() {
            Verdict::Family if self.flush(socket)? => Ok(Handshake::Done),
            Verdict::Family => Ok(Handshake::Blocked),
            Verdict::AwaitingLogin => Ok(Handshake::AwaitingLogin),
            Verdict::Stranger => Err(self.refuse(socket)),
        }
    }

    /// Once the ClientHello is answered: a full handshake resumed nothing,
    /// whatever opened on the way, and the tickets and session it ends
    /// with must not go to its client (see `Resumable::resumed_nothing`).
    fn note_full_handshake(&self) {
        let full = !matches!(
            self.conn.handshake_kind(),
            None | Some(HandshakeKind::Resumed)
        );
        if let (true, Some(resumable)) = (full, &self.resumable) {
            resumable.resumed_nothing();
        }
    }

    /// Refuses a data connection: our `close_notify`, and the error that
    /// says why.
    pub fn refuse(&mut self, socket: &mut TcpStream) -> io::Error {
        self.conn.send_close_notify();
        let _ = self.flush(socket);
        error_kind::session_not_resumed()
    }

    /// Whose TLS session the finished handshake resumed, as far as its
    /// rules ask (a connection free of them is as good as family).
    fn verdict(&self) -> Verdict {
        match &self.resumable {
            None => Verdict::Family,
            Some(_) if self.conn.handshake_kind() != Some(HandshakeKind::Resumed) => {
                Verdict::Stranger
            }
            Some(resumable) => resumable.verdict(),
        }
    }

    /// Whether the peer's stream ended in a way that breaks an upload: a
    /// TCP end without `close_notify`, where the rules want one.
    pub fn cut_short(&self) -> bool {
        self.bare_eof && self.rules.is_some_and(|r| r.close_notify)
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
    /// TCP end without one, which [`cut_short`](Self::cut_short) tells apart).
    pub fn read(&mut self, socket: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.bare_eof = true;
                    return Ok(0);
                }
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

/// Sends the ciphertext a TLS connection (server or client side) holds;
/// `Ok(true)` once none is left, `Ok(false)` when the socket is full.
pub fn flush<D>(conn: &mut ConnectionCommon<D>, socket: &mut TcpStream) -> io::Result<bool> {
    while conn.wants_write() {
        match conn.write_tls(socket) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
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
