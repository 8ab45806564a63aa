//! The control connection: command bytes in, reply bytes out, in clear or
//! through TLS once `AUTH TLS` was answered (or from the first byte, on an
//! implicit FTPS listener). [`Control`] is written here and nowhere else.

use std::io::{self, Read, Write};

use log::warn;
use mio::net::TcpStream;
use mio::{Interest, Registry};
use pocketftp_core::{canonical_ip, ErrorKind, Session};

use super::{Connection, Cx};
use crate::net::resumption::Neighbourhoods;
use crate::net::tls::{Channel, ControlTls, SessionTls, TlsLayer};
use crate::server::answers::ControlEnd;
use crate::server::token::{token, Source};
use crate::storage::error_kind::kind_of;

/// The control connection's socket, what its bytes go through, and what
/// it waits for.
pub(crate) struct Control {
    socket: TcpStream,
    layer: ControlLayer,
    /// The session's TLS, once it has some: its data connections' comes
    /// from it.
    session_tls: Option<SessionTls>,
    /// Bytes may be waiting: a readable edge came since the socket was last
    /// seen empty (a `WouldBlock`, or a plain read that did not fill its
    /// room: no new bytes come without a new edge).
    readable: bool,
    /// Read on until a read says `WouldBlock` or the end, short reads or
    /// not: the client's end came with the last edge (its `EPOLLRDHUP`,
    /// which no later edge repeats), or a look is wanted whatever the last
    /// read said.
    read_to_the_end: bool,
    /// Replies wait for room in the socket.
    awaiting_writable: bool,
    /// WRITABLE interest is registered for the socket.
    write_interest: bool,
    /// The end of the connection was seen and queued for the session:
    /// nothing more is read, and after a loss nothing more written.
    ended: Option<ControlEnd>,
    /// Its TLS handshake failed (counted as a failed login: `server/bans.rs`).
    handshake_failed: bool,
}

/// What the control connection's bytes go through.
enum ControlLayer {
    /// Plain FTP.
    Clear,
    /// `AUTH TLS` was answered: TLS starts, with these early bytes, once
    /// every reply before it is out in clear; nothing is read until then.
    Securing(Vec<u8>),
    /// TLS, after `AUTH TLS` or from the start.
    Tls(Box<TlsLayer>),
}

impl Control {
    /// A new client's control connection; `tls` for an implicit FTPS one.
    pub fn new(socket: TcpStream, tls: Option<ControlTls>) -> Control {
        let (session_tls, layer) = match tls {
            Some((tls, layer)) => (Some(tls), ControlLayer::Tls(layer)),
            None => (None, ControlLayer::Clear),
        };
        Control {
            socket,
            layer,
            session_tls,
            readable: true,
            read_to_the_end: false,
            awaiting_writable: false,
            write_interest: false,
            ended: None,
            handshake_failed: false,
        }
    }

    /// Whether the connection ended in a failed TLS handshake.
    pub fn handshake_failed(&self) -> bool {
        self.handshake_failed
    }

    /// A readable edge came: bytes may be waiting, and the end too if
    /// `end` (the edge said the client closed its side, or a look is wanted
    /// whatever the last read said).
    pub fn mark_readable(&mut self, end: bool) {
        self.readable = true;
        self.read_to_the_end |= end;
    }

    /// `Action::SecureControl`: TLS starts once the replies queued so far
    /// are out in clear.
    pub fn secure_after_replies(&mut self, early: Vec<u8>) {
        self.layer = ControlLayer::Securing(early);
    }

    /// The replies before `AUTH TLS`'s switch are out: time to start TLS.
    pub fn may_secure(&self) -> bool {
        let securing = matches!(self.layer, ControlLayer::Securing(_));
        securing && !self.awaiting_writable && self.ended.is_none()
    }

    /// Replies may still be written: the connection did not break.
    pub fn may_write(&self) -> bool {
        self.ended != Some(ControlEnd::Lost)
    }

    /// Whether the control connection is protected by TLS.
    pub fn is_tls(&self) -> bool {
        self.tls().is_some()
    }

    fn tls(&self) -> Option<&TlsLayer> {
        match &self.layer {
            ControlLayer::Tls(tls) => Some(tls),
            _ => None,
        }
    }

    /// After a drive: once the session has TLS, the sessions from its
    /// address know it, and once it has logged in, as whom (see
    /// `net/resumption.rs`). True when it has just logged in.
    pub fn introduce(&mut self, session: &Session, places: &mut Neighbourhoods) -> bool {
        let Some(tls) = self.session_tls.as_mut() else {
            return false;
        };
        tls.join(places, canonical_ip(session.peer().ip()));
        session.user().is_some_and(|user| tls.log_in(user))
    }

    /// The TLS of a protected data connection (`PROT P`), from the
    /// session's (see `net/tls.rs`); `None` for a clear one.
    pub fn data_tls(&self, protected: bool, upload: bool) -> io::Result<Option<Box<TlsLayer>>> {
        match (protected, &self.session_tls) {
            (false, _) => Ok(None),
            (true, Some(tls)) => tls.data(upload).map(|layer| Some(Box::new(layer))),
            (true, None) => Err(io::Error::other(
                "PROT P without TLS on the control connection",
            )),
        }
    }

    /// The socket as plaintext `Read` and `Write`, through TLS if it has it.
    fn channel(&mut self) -> Channel<'_> {
        let tls = match &mut self.layer {
            ControlLayer::Tls(tls) => Some(&mut **tls),
            _ => None,
        };
        Channel {
            socket: &mut self.socket,
            tls,
        }
    }

    /// Registers WRITABLE interest for the socket while replies (or a TLS
    /// handshake message, which may wait after the last read) wait for
    /// room, and only then.
    fn update_interest(&mut self, registry: &Registry, key: usize) {
        self.awaiting_writable |= self.tls().is_some_and(TlsLayer::wants_write);
        let interest = if self.awaiting_writable {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let control_token = token(key, Source::Control);
        if self.awaiting_writable != self.write_interest
            && registry
                .reregister(&mut self.socket, control_token, interest)
                .is_ok()
        {
            self.write_interest = self.awaiting_writable;
        }
    }

    /// Writes what the socket takes of `replies` (through TLS if the
    /// connection has it): the bytes taken, 0 when the socket is full.
    pub fn send(&mut self, replies: &[u8]) -> io::Result<usize> {
        let mut channel = self.channel();
        loop {
            match channel.write(replies) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// After a drain's replies: pushes out what TLS still holds, and notes
    /// whether replies (`unsent`) or TLS bytes wait for room in the socket.
    pub fn end_writing(&mut self, unsent: bool) -> io::Result<()> {
        if !self.may_write() {
            self.awaiting_writable = false;
            return Ok(());
        }
        match self.channel().flush() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
            _ => {}
        }
        self.awaiting_writable = unsent || self.tls().is_some_and(TlsLayer::wants_write);
        Ok(())
    }
}

impl Connection {
    /// Reads control bytes into the session as far as its room allows;
    /// true if it was given some. The end of the connection is queued for
    /// it instead, behind the answers before it (see `Connection::hear`).
    pub(super) fn read_commands(&mut self, cx: &mut Cx) -> bool {
        let room = self.session.control_read_room().min(cx.buffer.len());
        let securing = matches!(self.control.layer, ControlLayer::Securing(_));
        let ended = self.control.ended.is_some();
        if room == 0 || !self.control.readable || self.closing || securing || ended {
            return false;
        }
        let end = match self.control.channel().read(&mut cx.buffer[..room]) {
            Ok(0) => ControlEnd::Eof,
            Ok(n) => {
                // A plain read that did not fill its room and ends a line
                // emptied the socket: a read before the next edge would
                // only say `WouldBlock` (one system call a command). Not
                // one that stops mid-line: a read stops at the urgent mark
                // of ABOR's Telnet Synch (ftplib, lftp), with the `ABOR`
                // behind it and no edge to come. Through TLS a short read
                // of plaintext says nothing of the socket.
                let clear = matches!(self.control.layer, ControlLayer::Clear);
                let line_end = cx.buffer[..n].ends_with(b"\n");
                if n < room && line_end && clear && !self.control.read_to_the_end {
                    self.control.readable = false;
                }
                self.session.handle_control_input(cx.now, &cx.buffer[..n]);
                return true;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return true,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.control.readable = false;
                self.control.read_to_the_end = false;
                return false;
            }
            Err(e) => {
                self.note_failed_handshake(&e);
                ControlEnd::Lost
            }
        };
        self.control.readable = false;
        self.control_ended(end, cx);
        false
    }

    /// The control connection ended: the session hears of it through the
    /// answer queue, once; a loss after the client's EOF (a write that
    /// failed) is news too.
    pub(super) fn control_ended(&mut self, end: ControlEnd, cx: &mut Cx) {
        let news = match (self.control.ended, end) {
            (None, _) | (Some(ControlEnd::Eof), ControlEnd::Lost) => true,
            (Some(_), _) => false,
        };
        if news && !self.session.is_closed() {
            self.control.ended = Some(end);
            cx.answers.push_end(self.tag, end);
        }
    }

    /// Queues the end of the control connection for the session if it
    /// waits unread in the socket with nothing before it (a peek): true if
    /// it did. A timer about to fire, an upload's settle time above all,
    /// is then decided with the end known (see `Server::fire_timers`).
    pub(crate) fn notice_control_end(&mut self, cx: &mut Cx) -> bool {
        if self.control.ended.is_some() || self.closing {
            return false;
        }
        let end = match self.control.socket.peek(&mut [0; 1]) {
            Ok(0) => ControlEnd::Eof,
            Ok(_) => return false,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                return false
            }
            Err(_) => ControlEnd::Lost,
        };
        self.control_ended(end, cx);
        true
    }

    /// A read failed: if TLS refused what the client sent before the
    /// handshake was done, say so (the client's address first, for
    /// fail2ban) and note it for the ban count.
    fn note_failed_handshake(&mut self, e: &io::Error) {
        let handshaking = self.control.tls().is_some_and(TlsLayer::is_handshaking);
        if handshaking && kind_of(e) == ErrorKind::HandshakeFailed {
            self.control.handshake_failed = true;
            warn!("{}: TLS handshake failed: {e}", self.session.peer());
        }
    }

    /// Whether a drive that read its fill left input behind.
    pub(super) fn has_unread(&self) -> bool {
        let open = self.control.ended.is_none();
        open && self.control.readable && self.session.control_read_room() > 0
    }

    /// `AUTH TLS` was answered and its `234` is out in clear: from now on
    /// the control connection is TLS, starting with the bytes that came early.
    pub(super) fn secure_control(&mut self, cx: &mut Cx) {
        let ControlLayer::Securing(early) = &mut self.control.layer else {
            return;
        };
        let early = std::mem::take(early);
        let started = match &cx.settings.tls {
            Some(configs) => configs.start_session(&early),
            None => Err(io::Error::other("no TLS configuration")),
        };
        match started {
            Ok((tls, layer)) => {
                self.control.session_tls = Some(tls);
                self.control.layer = ControlLayer::Tls(layer);
            }
            Err(e) => {
                self.control.layer = ControlLayer::Clear;
                warn!(
                    "{}: TLS on the control connection failed: {e}",
                    self.session.peer()
                );
                self.control_ended(ControlEnd::Lost, cx);
            }
        }
    }

    /// After a drive: WRITABLE interest while replies wait, and only then.
    pub(super) fn update_interest(&mut self, registry: &Registry) {
        self.control.update_interest(registry, self.tag.key);
    }
}
