//! The control connection: command bytes in, reply bytes out, in clear or
//! through TLS once `AUTH TLS` was answered (or from the first byte, on an
//! implicit FTPS listener). [`Control`] is written here and nowhere else.

use std::io::{self, Read, Write};
use std::time::Instant;

use log::warn;
use mio::net::TcpStream;
use mio::{Interest, Registry};
use pocketftp_core::ErrorKind;

use super::{Connection, Cx};
use crate::net::tls::{Channel, TlsLayer};
use crate::server::token::{token, Source};
use crate::storage::error_kind::kind_of;

/// The control connection's socket, what its bytes go through, and what
/// it waits for.
pub(crate) struct Control {
    socket: TcpStream,
    layer: ControlLayer,
    /// No `WouldBlock` seen since the last readable edge: bytes may be waiting.
    readable: bool,
    /// Replies wait for room in the socket.
    awaiting_writable: bool,
    /// WRITABLE interest is registered for the socket.
    write_interest: bool,
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
    pub fn new(socket: TcpStream, tls: Option<Box<TlsLayer>>) -> Control {
        Control {
            socket,
            layer: tls.map_or(ControlLayer::Clear, ControlLayer::Tls),
            readable: true,
            awaiting_writable: false,
            write_interest: false,
            handshake_failed: false,
        }
    }

    /// Whether the connection ended in a failed TLS handshake.
    pub fn handshake_failed(&self) -> bool {
        self.handshake_failed
    }

    /// A readable edge came (or a look is wanted whatever the last read
    /// said): bytes, or the end, may be waiting.
    pub fn mark_readable(&mut self) {
        self.readable = true;
    }

    /// `Action::SecureControl`: TLS starts once the replies queued so far
    /// are out in clear.
    pub fn secure_after_replies(&mut self, early: Vec<u8>) {
        self.layer = ControlLayer::Securing(early);
    }

    /// The replies before `AUTH TLS`'s switch are out: time to start TLS.
    pub fn may_secure(&self) -> bool {
        matches!(self.layer, ControlLayer::Securing(_)) && !self.awaiting_writable
    }

    /// Leaves the poll: the session is over.
    pub fn deregister(&mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.socket);
    }

    fn tls(&self) -> Option<&TlsLayer> {
        match &self.layer {
            ControlLayer::Tls(tls) => Some(tls),
            _ => None,
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
}

impl Connection {
    /// Writes queued replies (through TLS if the connection has it); `Ok(true)`
    /// if any bytes went out (telling the session may have let it answer
    /// more commands). Notes whether replies wait for writability.
    pub(super) fn write_replies(&mut self, now: Instant) -> io::Result<bool> {
        let mut channel = self.control.channel();
        let mut wrote = false;
        loop {
            let replies = self.session.poll_control_transmit();
            if replies.is_empty() {
                break;
            }
            match channel.write(replies) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    wrote = true;
                    self.session.consume_control_transmit(now, n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        match channel.flush() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
            _ => {}
        }
        self.control.awaiting_writable = !self.session.poll_control_transmit().is_empty()
            || self.control.tls().is_some_and(TlsLayer::wants_write);
        Ok(wrote)
    }

    /// Reads control bytes into the session as far as its room allows;
    /// true if the session was told something (bytes or the end).
    pub(super) fn read_commands(&mut self, buffer: &mut [u8], now: Instant) -> bool {
        let room = self.session.control_read_room().min(buffer.len());
        let securing = matches!(self.control.layer, ControlLayer::Securing(_));
        if room == 0 || !self.control.readable || self.closing || securing {
            return false;
        }
        match self.control.channel().read(&mut buffer[..room]) {
            Ok(0) => {
                self.control.readable = false;
                self.report_progress(now);
                self.session.handle_control_eof(now);
            }
            Ok(n) => self.session.handle_control_input(now, &buffer[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.control.readable = false;
                return false;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                self.control.readable = false;
                self.note_failed_handshake(&e);
                self.report_progress(now);
                self.session.handle_control_lost(now);
            }
        }
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
        self.control.readable && self.session.control_read_room() > 0
    }

    /// `AUTH TLS` was answered and its `234` is out in clear: from now on
    /// the control connection is TLS, starting with the bytes that came early.
    pub(super) fn secure_control(&mut self, cx: &mut Cx) {
        let ControlLayer::Securing(early) = &mut self.control.layer else {
            return;
        };
        let early = std::mem::take(early);
        let layer = match &cx.settings.tls {
            Some(configs) => TlsLayer::new(&configs.ticketing, &early),
            None => Err(io::Error::other("no TLS configuration")),
        };
        match layer {
            Ok(layer) => self.control.layer = ControlLayer::Tls(Box::new(layer)),
            Err(e) => {
                self.control.layer = ControlLayer::Clear;
                warn!(
                    "{}: TLS on the control connection failed: {e}",
                    self.session.peer()
                );
                self.session.handle_control_lost(cx.now);
            }
        }
    }

    /// After a drive: WRITABLE interest while replies wait, and only then.
    pub(super) fn update_interest(&mut self, registry: &Registry) {
        self.control.update_interest(registry, self.tag.key);
    }
}
