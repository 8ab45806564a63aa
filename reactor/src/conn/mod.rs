//! One client's connection: its session, its sockets, and what the session
//! asked the reactor to hold for it.

pub(crate) mod listing;
pub(crate) mod open;
pub(crate) mod transfer;

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use mio::net::{TcpListener, TcpStream};
use mio::Registry;
use pocketftp_core::{Event, Session};

use crate::net::tls::{Channel, TlsLayer};
use crate::rate::Bucket;
use crate::server::Tag;
use crate::storage::jail::Jail;
use open::Opened;
use transfer::Transfer;

pub(crate) struct Connection {
    pub tag: Tag,
    pub session: Session,
    /// The user's home folder, which the session sees as `/`; `None`: the root.
    pub home: Option<Rc<Jail>>,
    pub control: TcpStream,
    /// TLS on the control connection, after `AUTH TLS` or from the start.
    pub control_tls: Option<Box<TlsLayer>>,
    /// `AUTH TLS` was answered: TLS starts, with these early bytes, once
    /// every reply before it is out in clear; nothing is read until then.
    pub securing: Option<Vec<u8>>,
    /// No `WouldBlock` seen since the last readable edge: bytes may be waiting.
    pub control_readable: bool,
    /// Replies wait for room in the socket.
    pub awaiting_writable: bool,
    /// WRITABLE interest is registered for the control socket.
    pub write_interest_registered: bool,
    pub listener: Option<TcpListener>,
    pub data: Option<TcpStream>,
    /// An active connect in progress, to this address.
    pub connecting: Option<SocketAddr>,
    pub opened: Option<Opened>,
    pub transfer: Option<Transfer>,
    /// In the run queue.
    pub queued: bool,
    /// The running transfer's own rate limit (`--max-rate-down`/`-up`).
    pub bucket: Option<Bucket>,
    /// Out of tokens: parked until its timer in `Server::throttled`, and
    /// neither queued nor pumped before.
    pub throttled: bool,
    /// An upload's every byte is in; it waits for [`UPLOAD_SETTLE`](crate::server::schedule::UPLOAD_SETTLE)
    /// before it is committed.
    pub settling: bool,
    /// Bytes last reported with `TransferProgress`, and when the next report
    /// is due.
    pub reported: u64,
    pub progress_due: Instant,
    /// The deadline this connection has in the timer heap.
    pub timer: Option<Instant>,
    /// The session is over: the connection goes at the end of the turn.
    pub closing: bool,
}

impl Connection {
    pub fn new(tag: Tag, session: Session, control: TcpStream, now: Instant) -> Connection {
        Connection {
            tag,
            session,
            home: None,
            control,
            control_tls: None,
            securing: None,
            control_readable: true,
            awaiting_writable: false,
            write_interest_registered: false,
            listener: None,
            data: None,
            connecting: None,
            opened: None,
            transfer: None,
            queued: false,
            bucket: None,
            throttled: false,
            settling: false,
            reported: 0,
            progress_due: now,
            timer: None,
            closing: false,
        }
    }

    /// Drops the data connection and whatever was opened for it; an
    /// unfinished upload's temporary file goes with it.
    pub fn close_data(&mut self, registry: &Registry) {
        if let Some(mut listener) = self.listener.take() {
            let _ = registry.deregister(&mut listener);
        }
        self.drop_data_stream(registry);
        self.opened = None;
        self.transfer = None;
        self.settling = false;
        self.bucket = None;
        self.throttled = false;
    }

    /// Drops the data stream alone (a refused passive connection, or an
    /// active connect that failed).
    pub fn drop_data_stream(&mut self, registry: &Registry) {
        if let Some(mut data) = self.data.take() {
            let _ = registry.deregister(&mut data);
        }
        self.connecting = None;
    }

    /// The session dropped its data side: answers still on their way about
    /// the old one must not reach it.
    pub fn next_epoch(&mut self) {
        self.tag.epoch = self.tag.epoch.wrapping_add(1);
    }

    /// Writes queued replies (through TLS if the connection has it); `Ok(true)`
    /// if any bytes went out (telling the session may have let it answer
    /// more commands). Sets [`awaiting_writable`](Self::awaiting_writable).
    pub fn write_replies(&mut self, now: Instant) -> io::Result<bool> {
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

    /// Tells the session how far its running transfer got, before news
    /// that may end it: an interrupted transfer is then logged (and
    /// written to the xferlog) with the bytes it really moved.
    pub fn report_progress(&mut self, now: Instant) {
        let Some(bytes) = self.transfer.as_ref().map(|t| t.bytes) else {
            return;
        };
        if bytes != self.reported && !self.session.is_closed() {
            self.reported = bytes;
            // A transfer exists only while its session is running it.
            let _ = self
                .session
                .handle_event(now, Event::TransferProgress { bytes });
        }
    }

    /// Reads control bytes into the session as far as its room allows;
    /// true if the session was told something (bytes or the end).
    pub fn read_commands(&mut self, buffer: &mut [u8], now: Instant) -> bool {
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
}
