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
    Listening(TcpListener),
    /// An active connect to this address is in progress.
    Connecting(TcpStream, SocketAddr),
    /// A data connection. A passive one's listener stays until the session
    /// takes the connection (`StopListening`) or refuses it (`RejectData`,
    /// and the listener takes the next).
    Connected {
        stream: TcpStream,
        listener: Option<TcpListener>,
    },
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

    /// Drops everything, leaving the poll first.
    pub fn close(&mut self, registry: &Registry) {
        match std::mem::take(self) {
            DataSide::Idle => {}
            DataSide::Listening(mut listener) => deregister(registry, &mut listener),
            DataSide::Connecting(mut stream, _) => deregister(registry, &mut stream),
            DataSide::Connected {
                mut stream,
                listener,
            } => {
                deregister(registry, &mut stream);
                listener
                    .into_iter()
                    .for_each(|mut l| deregister(registry, &mut l));
            }
        }
    }

    /// Drops the data stream alone (a refused passive connection): the
    /// listener, if any, goes on.
    fn drop_stream(&mut self, registry: &Registry) {
        *self = match std::mem::take(self) {
            DataSide::Connecting(mut stream, _) => {
                deregister(registry, &mut stream);
                DataSide::Idle
            }
            DataSide::Connected {
                mut stream,
                listener,
            } => {
                deregister(registry, &mut stream);
                listener.map_or(DataSide::Idle, DataSide::Listening)
            }
            side => side,
        };
    }

    /// Drops the listener alone: a `PASV` admits one connection.
    fn stop_listening(&mut self, registry: &Registry) {
        *self = match std::mem::take(self) {
            DataSide::Listening(mut listener) => {
                deregister(registry, &mut listener);
                DataSide::Idle
            }
            DataSide::Connected {
                stream,
                listener: Some(mut listener),
            } => {
                deregister(registry, &mut listener);
                DataSide::Connected {
                    stream,
                    listener: None,
                }
            }
            side => side,
        };
    }
}

fn deregister(registry: &Registry, source: &mut impl mio::event::Source) {
    let _ = registry.deregister(source);
}

impl Connection {
    /// Opens a passive listener on the control connection's local address
    /// (whatever data side there was goes first).
    pub(super) fn listen_data(&mut self, cx: &mut Cx) {
        let ip = canonical_ip(self.session.local().ip());
        let ports = cx.settings.limits.pasv_ports.as_ref();
        let (mut listener, port) = match bind_passive(ip, ports, cx.next_pasv_port) {
            Ok(bound) => bound,
            Err(e) => {
                warn!("cannot open a passive listener: {e}");
                return self.answer(cx.answers, Event::Failed(kind_of(&e)));
            }
        };
        let listener_token = token(self.tag.key, Source::DataListener);
        let event = match cx
            .registry
            .register(&mut listener, listener_token, Interest::READABLE)
        {
            Ok(()) => {
                self.data.close(cx.registry);
                self.data = DataSide::Listening(listener);
                Event::Listening { port }
            }
            Err(e) => Event::Failed(kind_of(&e)),
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
                self.data.close(cx.registry);
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
    /// is taken. One waits for the session's word at a time.
    pub fn accept_data(&mut self, cx: &mut Cx) {
        loop {
            let DataSide::Listening(listener) = &self.data else {
                return;
            };
            if self.closing {
                return;
            }
            let (mut stream, peer) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            sockopt::tune_data(&stream);
            let interest = Interest::READABLE | Interest::WRITABLE;
            let data_token = token(self.tag.key, Source::Data);
            if cx
                .registry
                .register(&mut stream, data_token, interest)
                .is_ok()
            {
                if let DataSide::Listening(listener) = std::mem::take(&mut self.data) {
                    let listener = Some(listener);
                    self.data = DataSide::Connected { stream, listener };
                }
                let peer = canonical_addr(peer);
                return self.answer(cx.answers, Event::DataConnected { peer });
            }
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
                    let listener = None;
                    self.data = DataSide::Connected { stream, listener };
                }
                Event::DataConnected { peer: addr }
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return, // not yet
            Err(e) => {
                debug!(
                    "{}: data connection to {addr} failed: {e}",
                    self.session.peer()
                );
                self.close_data(cx.registry);
                Event::Failed(kind_of(&e))
            }
        };
        self.answer(cx.answers, event);
    }

    /// Closes the connection the session refused (a foreign address) and
    /// takes the next: connections may wait in the backlog, and no new
    /// edge will say so.
    pub(super) fn reject_data(&mut self, cx: &mut Cx) {
        self.data.drop_stream(cx.registry);
        self.next_epoch();
        self.accept_data(cx);
    }

    /// A `PASV` admits one connection: the listener goes, the connection
    /// it gave stays.
    pub(super) fn stop_listening(&mut self, registry: &Registry) {
        self.data.stop_listening(registry);
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
