//! The data connection's setup: `PORT`/`EPRT`, `PASV`/`EPSV`.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use log::warn;

use crate::boundary::action::Action;
use crate::boundary::event::Event;
use crate::wire::command::Family;

use super::transfer::{Awaiting, Phase};
use super::{Session, UnexpectedEvent};

/// What the data connection will be, as PORT/EPRT/PASV/EPSV set it up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Data {
    None,
    /// Connect to the client here when a transfer starts.
    Active(SocketAddr),
    /// A listener is open; `connected` once the client's connection arrived.
    Passive {
        connected: bool,
    },
}

/// IPv4-mapped IPv6 addresses (from dual-stack sockets) compare as IPv4.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl Session {
    pub(super) fn cmd_port(&mut self, addr: SocketAddr, verb: &str) {
        if self.epsv_all {
            return self.reply(503, "EPSV ALL in effect; only EPSV is allowed.");
        }
        let to_us = canonical_ip(addr.ip()) == canonical_ip(self.local.ip())
            && addr.port() == self.local.port();
        if canonical_ip(addr.ip()) != canonical_ip(self.peer.ip()) || addr.port() < 1024 || to_us {
            warn!("{}: refused {verb} to {addr}", self.peer);
            return self.reply(
                504,
                "Data connections go only to the client's own address, port 1024 or above.",
            );
        }
        self.close_data();
        self.data = Data::Active(addr);
        self.reply(
            200,
            &format!("{verb} command successful. Consider using PASV."),
        );
    }

    pub(super) fn cmd_passive(&mut self, extended: bool, family: Option<Family>) {
        if self.epsv_all && !extended {
            return self.reply(503, "EPSV ALL in effect; only EPSV is allowed.");
        }
        let local_family = match canonical_ip(self.local.ip()) {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        };
        if family.is_some_and(|f| f != local_family) {
            let supported = if local_family == Family::V4 {
                "(1)"
            } else {
                "(2)"
            };
            return self.reply(
                522,
                &format!("Network protocol not supported, use {supported}."),
            );
        }
        if !extended && local_family == Family::V6 && self.config.pasv_address.is_none() {
            return self.reply(425, "PASV needs IPv4; use EPSV.");
        }
        self.close_data();
        self.ask(Action::ListenData, Awaiting::Listen { extended });
    }

    /// Drops whatever data connection was set up before.
    pub(super) fn close_data(&mut self) {
        if self.data != Data::None {
            self.actions.push_back(Action::CloseData);
            self.data = Data::None;
        }
    }

    pub(super) fn on_listening(&mut self, extended: bool, port: u16) {
        self.data = Data::Passive { connected: false };
        if extended {
            return self.reply(229, &format!("Entering Extended Passive Mode (|||{port}|)"));
        }
        let ip = match (self.config.pasv_address, canonical_ip(self.local.ip())) {
            (Some(ip), _) | (None, IpAddr::V4(ip)) => ip,
            (None, IpAddr::V6(_)) => {
                self.close_data();
                return self.reply(425, "PASV needs IPv4; use EPSV.");
            }
        };
        let [a, b, c, d] = ip.octets();
        let [p1, p2] = port.to_be_bytes();
        self.reply(
            227,
            &format!("Entering Passive Mode ({a},{b},{c},{d},{p1},{p2})."),
        );
    }

    pub(super) fn on_data_connected(
        &mut self,
        now: Instant,
        peer: SocketAddr,
    ) -> Result<(), UnexpectedEvent> {
        let connecting =
            matches!(&self.awaiting, Awaiting::Transfer(t) if t.phase == Phase::Connecting);
        match self.data {
            Data::Passive { connected: false } => {
                if canonical_ip(peer.ip()) != canonical_ip(self.peer.ip()) {
                    warn!("{}: refused a data connection from {peer}", self.peer);
                    self.actions.push_back(Action::RejectData);
                    return Ok(());
                }
                // One connection per PASV: nobody else may come in now.
                self.data = Data::Passive { connected: true };
                self.actions.push_back(Action::StopListening);
            }
            Data::Active(addr) if connecting && addr == peer => {}
            _ => return Err(UnexpectedEvent(Event::DataConnected { peer })),
        }
        if connecting {
            self.start_running(now);
        }
        Ok(())
    }
}
