//! The data connection: a passive listener (PASV, EPSV) or an active
//! connect (PORT, EPRT), the one connection it gives, and its end.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;

use log::{debug, warn};
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry};
use pocketftp_core::{canonical_addr, canonical_ip, Event};

use super::{Connection, Cx};
use crate::net::sockopt;
use crate::server::token::{token, Source};
use crate::storage::error_kind::{kind_of, ports_exhausted};

/// The data connection, as far as it got. Written here and nowhere else.
#[derive(Default)]
pub(crate) enum DataSide {
    /// None is set up.
    #[default]
    Idle,
    /// A passive listener waits for the client.
    Listening(Passive),
    /// An active connect to this address is in progress.
    Connecting(TcpStream, SocketAddr),
    /// A data connection. A passive one's listener stays until the session
    /// takes the connection (`StopListening`) or refuses it (`RejectData`,
    /// and the listener takes the next).
    Connected {
        stream: TcpStream,
        listener: Option<Passive>,
        /// In the poll. An accepted connection joins it only when a step
        /// of its transfer would block ([`DataSide::watch`]): a small
        /// file moves without it, two system calls fewer.
        watched: bool,
    },
}

/// A passive listener, and whether it is in the poll. It joins the poll
/// only when the session waits for its connection and none is there yet
/// ([`Connection::accept_data`]): clients connect right after the `227`
/// and before the `RETR`, so the connection is taken in the command's
/// turn and the listener never costs an `epoll_ctl`, nor its readiness a
/// turn of the loop of its own (a 4 KiB RETR: 3 turns a file, now 2).
pub(crate) struct Passive {
    listener: TcpListener,
    watched: bool,
}

impl DataSide {
    /// Whether a transfer may run: a data connection is there.
    pub fn is_connected(&self) -> bool {
        matches!(self, DataSide::Connected { .. })
    }

    /// The connection a transfer runs over, once there is one.
    pub fn stream(&mut self) -> Option<&mut TcpStream> {
        match self {
            DataSide::Connected { stream, .. } => Some(stream),
            _ => None,
        }
    }

    /// A step of the transfer would block: its connection joins the poll,
    /// for `interest` (see `Transfer::waits_for`), unless it is there
    /// already. The kernel looks at the socket as it adds it, so readiness
    /// that came since the step is not missed.
    pub fn watch(&mut self, registry: &Registry, key: usize, interest: Interest) -> io::Result<()> {
        match self {
            DataSide::Connected {
                stream,
                watched: watched @ false,
                ..
            } => {
                registry.register(stream, token(key, Source::Data), interest)?;
                *watched = true;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Drops everything. A socket leaves the poll as it is closed: the
    /// kernel removes a descriptor from every epoll set when it closes
    /// (epoll(7); these are never duplicated), so no `EPOLL_CTL_DEL`
    /// first: two system calls fewer per transfer, one per session.
    pub fn close(&mut self) {
        *self = DataSide::Idle;
    }

    /// Drops the data stream alone (a refused passive connection): the
    /// listener, if any, goes on.
    fn drop_stream(&mut self) {
        *self = match std::mem::take(self) {
            DataSide::Connecting(..) => DataSide::Idle,
            DataSide::Connected { listener, .. } => {
                listener.map_or(DataSide::Idle, DataSide::Listening)
            }
            side => side,
        };
    }

    /// Drops the listener alone: a `PASV` admits one connection.
    fn stop_listening(&mut self) {
        *self = match std::mem::take(self) {
            DataSide::Listening(_) => DataSide::Idle,
            DataSide::Connected {
                stream, watched, ..
            } => DataSide::Connected {
                stream,
                listener: None,
                watched,
            },
            side => side,
        };
    }
}

impl Connection {
    /// Opens a passive listener on the control connection's local address
    /// (whatever data side there was goes first).
    pub(super) fn listen_data(&mut self, cx: &mut Cx) {
        let ip = canonical_ip(self.session.local().ip());
        let ports = cx.settings.limits.pasv_ports.as_ref();
        let event = match bind_passive(ip, ports, cx.next_pasv_port) {
            Ok((listener, port)) => {
                self.data.close();
                let watched = false;
                self.data = DataSide::Listening(Passive { listener, watched });
                Event::Listening { port }
            }
            Err(e) => {
                warn!("cannot open a passive listener: {e}");
                Event::Failed(kind_of(&e))
            }
        };
        self.answer(cx.answers, event);
    }

    /// Starts a non-blocking connect; its outcome comes with writability
    /// (or, if it fails at once, through the answer queue).
    pub(super) fn connect_data(&mut self, addr: SocketAddr, cx: &mut Cx) {
        let data_token = token(self.tag.key, Source::Data);
        let connected = TcpStream::connect(addr).and_then(|mut stream| {
            sockopt::tune_data(&stream);
            cx.registry.register(
                &mut stream,
                data_token,
                Interest::READABLE | Interest::WRITABLE,
            )?;
            Ok(stream)
        });
        match connected {
            Ok(stream) => {
                self.data.close();
                self.data = DataSide::Connecting(stream, addr);
            }
            Err(e) => self.answer(cx.answers, Event::Failed(kind_of(&e))),
        }
    }

    /// The data socket is ready: an active connect finished, or the running
    /// transfer may move on.
    pub fn on_data_ready(&mut self, cx: &mut Cx) {
        if let DataSide::Connecting(..) = self.data {
            self.finish_connect(cx);
        } else {
            self.schedule(cx.schedule);
        }
    }

    /// Takes one connection from the passive listener and offers it to the
    /// session, which may reject it (a foreign address): then the next one
    /// is taken. One waits for the session's word at a time. With none
    /// there yet, the listener joins the poll (once), whose readiness
    /// brings the loop back here; the kernel looks at the listener as it
    /// adds it, so a connection that came since the accept is not missed.
    pub fn accept_data(&mut self, cx: &mut Cx) {
        loop {
            let DataSide::Listening(passive) = &mut self.data else {
                return;
            };
            if self.closing {
                return;
            }
            let (stream, peer) = match passive.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) if passive.watched => return,
                Err(_) => {
                    let listener_token = token(self.tag.key, Source::DataListener);
                    let registry = cx.registry;
                    match registry.register(
                        &mut passive.listener,
                        listener_token,
                        Interest::READABLE,
                    ) {
                        Ok(()) => passive.watched = true,
                        Err(e) => self.answer(cx.answers, Event::Failed(kind_of(&e))),
                    }
                    return;
                }
            };
            sockopt::tune_data(&stream);
            if let DataSide::Listening(listener) = std::mem::take(&mut self.data) {
                let listener = Some(listener);
                let watched = false;
                self.data = DataSide::Connected {
                    stream,
                    listener,
                    watched,
                };
            }
            let peer = canonical_addr(peer);
            return self.answer(cx.answers, Event::DataConnected { peer });
        }
    }

    /// The active connect finished, one way or the other.
    fn finish_connect(&mut self, cx: &mut Cx) {
        let DataSide::Connecting(stream, addr) = &self.data else {
            return;
        };
        let addr = *addr;
        let outcome = match stream.take_error() {
            Ok(Some(e)) | Err(e) => Err(e),
            Ok(None) => stream.peer_addr().map(|_| ()),
        };
        let event = match outcome {
            Ok(()) => {
                if let DataSide::Connecting(stream, _) = std::mem::take(&mut self.data) {
                    // Still in the poll from its connect.
                    let (listener, watched) = (None, true);
                    self.data = DataSide::Connected {
                        stream,
                        listener,
                        watched,
                    };
                }
                Event::DataConnected { peer: addr }
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return, // not yet
            Err(e) => {
                debug!(
                    "{}: data connection to {addr} failed: {e}",
                    self.session.peer()
                );
                self.close_data();
                Event::Failed(kind_of(&e))
            }
        };
        self.answer(cx.answers, event);
    }

    /// Closes the connection the session refused (a foreign address) and
    /// takes the next: connections may wait in the backlog, and no new
    /// edge will say so. The answers' epoch stays: nothing about the
    /// refused connection is on its way but the `DataConnected` the
    /// session just heard, while the answer to a `RETR`'s open may be, and
    /// must reach it (a new epoch dropped it, and the transfer hung).
    pub(super) fn reject_data(&mut self, cx: &mut Cx) {
        self.data.drop_stream();
        self.accept_data(cx);
    }

    /// A `PASV` admits one connection: the listener goes, the connection
    /// it gave stays.
    pub(super) fn stop_listening(&mut self) {
        self.data.stop_listening();
    }
}

/// Binds a passive listener on `ip`, in the configured port range if any
/// (starting where the last search ended, so ports rotate).
fn bind_passive(
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
    let mut last_error = ports_exhausted(range);
    for i in 0..len {
        let port = (start + (*next + i) % len) as u16;
        match bind(port) {
            Ok(bound) => {
                *next = (*next + i + 1) % len;
                return Ok(bound);
            }
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {}
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passive_ports_rotate_within_the_range() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = probe.local_addr().unwrap().port();
        drop(probe);
        let range = base..=base.saturating_add(3);
        let mut next = 0;
        let (first, p1) = bind_passive(ip, Some(&range), &mut next).unwrap();
        let (second, p2) = bind_passive(ip, Some(&range), &mut next).unwrap();
        assert!(range.contains(&p1) && range.contains(&p2) && p1 != p2);
        drop((first, second));
    }

    #[test]
    fn an_exhausted_range_says_so() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let error = bind_passive(ip, Some(&(port..=port)), &mut 0).unwrap_err();
        assert_eq!(kind_of(&error), pocketftp_core::ErrorKind::PortsExhausted);
        assert!(error.to_string().contains("is in use"), "{error}");
    }
}
