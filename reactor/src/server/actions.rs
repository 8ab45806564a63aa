//! Carrying out a session's actions. Whatever an action's outcome, it goes
//! back to the session through the one answer queue ([`Server::answer`]),
//! tagged with the connection's data epoch, and is delivered on the answer
//! phase of the loop's turn: after the session has read all the input it
//! could, never while its action queue is being drained.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Instant;

use log::{error, warn};
use mio::net::{TcpListener, TcpStream};
use mio::Interest;
use pocketftp_core::{canonical_ip, Action, ErrorKind, Event};

use super::token::{token, Source};
use super::{wall_clock, Server, PROGRESS_INTERVAL};
use crate::auth::users::Check;
use crate::conn::listing;
use crate::conn::open::{self, Opened};
use crate::conn::transfer::Transfer;
use crate::net::sockopt;
use crate::net::tls::TlsLayer;
use crate::rate::Bucket;
use crate::storage::error_kind::kind_of;
use crate::storage::jail::Jail;

impl Server {
    /// Carries out one action of the session at `key`.
    pub(super) fn perform(&mut self, key: usize, action: Action, now: Instant) {
        match action {
            Action::CloseData | Action::AbortTransfer => {
                let conn = &mut self.connections[key];
                conn.close_data(self.poll.registry());
                conn.next_epoch();
            }
            Action::RejectData => {
                let conn = &mut self.connections[key];
                conn.drop_data_stream(self.poll.registry());
                conn.next_epoch();
                // Connections may wait in the backlog: no new edge will say so.
                self.accept_data(key);
            }
            Action::StopListening => {
                if let Some(mut listener) = self.connections[key].listener.take() {
                    let _ = self.poll.registry().deregister(&mut listener);
                }
            }
            Action::ListenData => {
                let event = self.listen_data(key);
                self.answer(key, event);
            }
            Action::ConnectData(addr) => self.connect_data(key, addr),
            Action::StartTransfer { ascii, protected } => {
                self.start_transfer(key, ascii, protected, now)
            }
            Action::SecureControl { early } => self.connections[key].securing = Some(early),
            Action::Open { path, mode } => {
                let event = match open::open(&self.jail_of(key), &path, mode) {
                    Ok(result) => {
                        self.connections[key].opened = Some(result.opened);
                        Event::Opened {
                            size: result.size,
                            unique_name: result.unique_name,
                        }
                    }
                    Err(e) => Event::Failed(kind_of(&e)),
                };
                self.answer(key, event);
            }
            Action::VerifyPassword { user, password } => match &self.passwords {
                Some(worker) => worker.check(Check {
                    key,
                    generation: self.connections[key].tag.generation,
                    user,
                    password,
                }),
                None => self.answer(key, Event::LoginChecked(None)),
            },
            Action::LogTransfer(record) => {
                if let Some(log) = &mut self.xferlog {
                    let line = record.xferlog_line(wall_clock());
                    if let Err(e) = writeln!(log, "{line}") {
                        warn!("cannot write the transfer log: {e}");
                    }
                }
            }
            Action::Close => self.connections[key].closing = true,
            file_action => {
                let event = file_answer(&self.jail_of(key), file_action);
                self.answer(key, event);
            }
        }
    }

    /// Opens a passive listener on the control connection's local address.
    fn listen_data(&mut self, key: usize) -> Event {
        let conn = &mut self.connections[key];
        let ip = canonical_ip(conn.session.local().ip());
        let ports = self.limits.pasv_ports.as_ref();
        let (mut listener, port) = match bind_passive(ip, ports, &mut self.next_pasv_port) {
            Ok(bound) => bound,
            Err(e) => {
                warn!("cannot open a passive listener: {e}");
                return Event::Failed(kind_of(&e));
            }
        };
        let listener_token = token(key, Source::DataListener);
        match (self.poll.registry()).register(&mut listener, listener_token, Interest::READABLE) {
            Ok(()) => {
                conn.listener = Some(listener);
                Event::Listening { port }
            }
            Err(e) => Event::Failed(kind_of(&e)),
        }
    }

    /// Starts a non-blocking connect; its outcome comes with writability
    /// (or, if it fails at once, through the answer queue).
    fn connect_data(&mut self, key: usize, addr: SocketAddr) {
        let registry = self.poll.registry();
        let data_token = token(key, Source::Data);
        let connected = TcpStream::connect(addr).and_then(|mut stream| {
            sockopt::tune_data(&stream);
            registry.register(
                &mut stream,
                data_token,
                Interest::READABLE | Interest::WRITABLE,
            )?;
            Ok(stream)
        });
        match connected {
            Ok(stream) => {
                let conn = &mut self.connections[key];
                conn.data = Some(stream);
                conn.connecting = Some(addr);
            }
            Err(e) => self.answer(key, Event::Failed(kind_of(&e))),
        }
    }

    fn start_transfer(&mut self, key: usize, ascii: bool, protected: bool, now: Instant) {
        let upload = matches!(self.connections[key].opened, Some(Opened::Upload { .. }));
        let tls = match (protected, &self.tls) {
            (false, _) => Ok(None),
            (true, Some(configs)) => {
                let layer = if upload {
                    TlsLayer::new(&configs.upload, &[]).map(TlsLayer::with_inbox)
                } else {
                    TlsLayer::new(&configs.ticketing, &[])
                };
                layer.map(|t| Some(Box::new(t)))
            }
            (true, None) => Err(io::Error::other("no TLS configuration")),
        };
        let tls = match tls {
            Ok(tls) => tls,
            Err(e) => {
                warn!("cannot start TLS on a data connection: {e}");
                return self.answer(key, Event::Failed(ErrorKind::HandshakeFailed));
            }
        };
        let conn = &mut self.connections[key];
        match conn.opened.take() {
            Some(opened) if conn.data.is_some() => {
                let rates = self.limits.rates;
                let rate = match opened {
                    Opened::Upload { .. } => rates.up,
                    Opened::Download { .. } | Opened::Listing { .. } => rates.down,
                };
                conn.bucket = rate.map(|r| Bucket::new(r, now));
                conn.transfer = Some(Transfer::new(opened, ascii, tls, wall_clock()));
                conn.reported = 0;
                conn.progress_due = now + PROGRESS_INTERVAL;
                // Data may already be waiting: its edge will not come again.
                self.schedule(key);
            }
            _ => {
                error!("reactor bug: StartTransfer without an opened file and a data connection");
                self.answer(key, Event::Failed(ErrorKind::Other));
            }
        }
    }
}

/// Carries out an action on the file system alone and says how it went.
fn file_answer(jail: &Jail, action: Action) -> Event {
    let changed = |result: io::Result<()>| {
        result.map_or_else(|e| Event::Failed(kind_of(&e)), |()| Event::Done)
    };
    let described = |result: io::Result<pocketftp_core::Metadata>| {
        result.map_or_else(|e| Event::Failed(kind_of(&e)), Event::Metadata)
    };
    match action {
        Action::Stat(path) => described(jail.stat(&path)),
        Action::Rename { from, to } => changed(jail.rename(&from, &to)),
        Action::Delete(path) => changed(jail.delete(&path)),
        Action::MakeDir(path) => changed(jail.make_dir(&path)),
        Action::RemoveDir(path) => changed(jail.remove_dir(&path)),
        Action::SetMode { path, mode } => changed(jail.set_mode(&path, mode)),
        Action::SetModified { path, modified } => described(jail.set_modified(&path, modified)),
        Action::ListToControl {
            path,
            max_bytes,
            pattern,
        } => listing::list_inline(jail, &path, pattern, max_bytes, wall_clock())
            .map_or_else(|e| Event::Failed(kind_of(&e)), Event::Listing),
        other => {
            error!("reactor bug: {other:?} is not a file-system action");
            Event::Failed(ErrorKind::Other)
        }
    }
}

/// Binds a passive listener on `ip`, in the configured port range if any
/// (starting where the last search ended, so ports rotate).
pub(super) fn bind_passive(
    ip: IpAddr,
    range: Option<&RangeInclusive<u16>>,
    next: &mut usize,
) -> io::Result<(TcpListener, u16)> {
    let bind = |port| {
        let listener = TcpListener::bind(SocketAddr::new(ip, port))?;
        let port = listener.local_addr()?.port();
        Ok((listener, port))
    };
    let Some(range) = range else {
        return bind(0);
    };
    let (start, len) = (usize::from(*range.start()), range.len());
    let mut last_error = io::Error::from(io::ErrorKind::AddrInUse);
    for i in 0..len {
        let port = (start + (*next + i) % len) as u16;
        match bind(port) {
            Ok(bound) => {
                *next = (*next + i + 1) % len;
                return Ok(bound);
            }
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}
