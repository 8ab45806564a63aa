//! The control connection: command bytes in, reply bytes out, in clear or
//! through TLS once `AUTH TLS` was answered (or from the first byte, on an
//! implicit FTPS listener).

use std::io::{self, Read, Write};
use std::time::Instant;

use log::warn;
use mio::{Interest, Registry};

use super::{Connection, Cx};
use crate::net::tls::{Channel, TlsLayer};
use crate::server::{token, Source};

impl Connection {
    /// Writes queued replies (through TLS if the connection has it); `Ok(true)`
    /// if any bytes went out (telling the session may have let it answer
    /// more commands). Sets [`awaiting_writable`](Self::awaiting_writable).
    pub(super) fn write_replies(&mut self, now: Instant) -> io::Result<bool> {
        let mut channel = Channel {
            socket: &mut self.control,
            tls: self.control_tls.as_deref_mut(),
        };
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
        self.awaiting_writable = !self.session.poll_control_transmit().is_empty()
            || self.control_tls.as_ref().is_some_and(|t| t.wants_write());
        Ok(wrote)
    }

    /// Reads control bytes into the session as far as its room allows;
    /// true if the session was told something (bytes or the end).
    pub(super) fn read_commands(&mut self, buffer: &mut [u8], now: Instant) -> bool {
        let room = self.session.control_read_room().min(buffer.len());
        if room == 0 || !self.control_readable || self.closing || self.securing.is_some() {
            return false;
        }
        let mut channel = Channel {
            socket: &mut self.control,
            tls: self.control_tls.as_deref_mut(),
        };
        match channel.read(&mut buffer[..room]) {
            Ok(0) => {
                self.control_readable = false;
                self.report_progress(now);
                self.session.handle_control_eof(now);
            }
            Ok(n) => self.session.handle_control_input(now, &buffer[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.control_readable = false;
                return false;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                self.control_readable = false;
                self.report_progress(now);
                self.session.handle_control_lost(now);
            }
        }
        true
    }

    /// `AUTH TLS` was answered and its `234` is out in clear: from now on
    /// the control connection is TLS, starting with the bytes that came early.
    pub(super) fn secure_control(&mut self, cx: &mut Cx) {
        let early = self.securing.take().unwrap_or_default();
        let layer = match &cx.settings.tls {
            Some(configs) => TlsLayer::new(&configs.ticketing, &early),
            None => Err(io::Error::other("no TLS configuration")),
        };
        match layer {
            Ok(layer) => self.control_tls = Some(Box::new(layer)),
            Err(e) => {
                warn!(
                    "{}: TLS on the control connection failed: {e}",
                    self.session.peer()
                );
                self.session.handle_control_lost(cx.now);
            }
        }
    }

    /// Registers WRITABLE interest for the control socket while replies
    /// wait for room, and only then.
    pub(super) fn update_interest(&mut self, registry: &Registry) {
        let interest = if self.awaiting_writable {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let control_token = token(self.tag.key, Source::Control);
        if self.awaiting_writable != self.write_interest_registered
            && registry
                .reregister(&mut self.control, control_token, interest)
                .is_ok()
        {
            self.write_interest_registered = self.awaiting_writable;
        }
    }
}
