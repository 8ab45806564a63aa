//! The data-connection machine: `PORT`/`EPRT`, `PASV`/`EPSV`, `EPSV ALL`,
//! who may connect, the data connection a transfer gets, and the address
//! a `227` announces to each client ([`Session::pasv_target`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use log::warn;

use crate::boundary::action::Action;
use crate::boundary::event::{ErrorKind, Event};
use crate::boundary::network::{canonical_addr, canonical_ip, is_local_network};
use crate::boundary::notice::Notice;
use crate::wire::command::Family;

use super::replies::{EPSV_ALL_ONLY, NO_PASSIVE_LISTENER, NO_PASSIVE_PORT, PASV_NEEDS_IPV4};
use super::{Session, UnexpectedEvent};

/// The data connection of the next transfer, as PORT/EPRT/PASV/EPSV set it
/// up; written only here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct DataPlan {
    next: Connection,
    /// `EPSV ALL` (RFC 2428): from now on, only `EPSV` sets one up.
    epsv_all: bool,
}

impl DataPlan {
    /// Whether a data connection is set up for the next transfer.
    pub(super) fn is_set_up(&self) -> bool {
        self.next != Connection::None
    }
}

/// What the data connection will be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Connection {
    #[default]
    None,
    /// Connect to the client here when a transfer starts.
    Active(SocketAddr),
    /// A listener is open; `connected` once the client's connection
    /// arrived. `address` is what the `227` announced (`None`: `EPSV`).
    Passive {
        connected: bool,
        address: Option<Ipv4Addr>,
        port: u16,
    },
}

/// What the data-connection machine waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DataWait {
    /// The answer to `ListenData` (`extended`: for `EPSV`).
    Listen { extended: bool },
}

impl Session {
    pub(super) fn cmd_port(&mut self, addr: SocketAddr, verb: &str) {
        if self.data.epsv_all {
            return self.reply_with(EPSV_ALL_ONLY);
        }
        let to_us = canonical_ip(addr.ip()) == canonical_ip(self.local.ip())
            && addr.port() == self.local.port();
        if canonical_ip(addr.ip()) != canonical_ip(self.peer.ip()) || addr.port() < 1024 || to_us {
            warn!("{}: refused {verb} to {}", self.peer, canonical_addr(addr));
            return self.reply(
                504,
                "Data connections go only to the client's own address, port 1024 or above.",
            );
        }
        self.close_data();
        self.data.next = Connection::Active(addr);
        self.reply(
            200,
            &format!("{verb} command successful. Consider using PASV."),
        );
    }

    pub(super) fn cmd_epsv_all(&mut self) {
        self.data.epsv_all = true;
        self.reply(200, "EPSV ALL ok.");
    }

    pub(super) fn cmd_passive(&mut self, extended: bool, family: Option<Family>) {
        if self.data.epsv_all && !extended {
            return self.reply_with(EPSV_ALL_ONLY);
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
        if !extended && self.pasv_target().is_none() {
            return self.reply_with(PASV_NEEDS_IPV4);
        }
        self.close_data();
        self.ask(Action::ListenData, DataWait::Listen { extended });
    }

    /// Drops whatever data connection was set up before.
    fn close_data(&mut self) {
        if self.data.is_set_up() {
            self.actions.push_back(Action::CloseData);
            self.data.next = Connection::None;
        }
    }

    pub(super) fn on_listen_failed(&mut self, kind: ErrorKind) {
        match kind {
            ErrorKind::PortsExhausted => self.reply_with(NO_PASSIVE_PORT),
            _ => self.reply_with(NO_PASSIVE_LISTENER),
        }
    }

    pub(super) fn on_listening(&mut self, extended: bool, port: u16) {
        let address = match extended {
            true => None,
            false => match self.pasv_target() {
                Some(ip) => Some(ip),
                None => {
                    // Checked before listening; were it to change, the
                    // listener goes with the refusal.
                    self.actions.push_back(Action::CloseData);
                    return self.reply_with(PASV_NEEDS_IPV4);
                }
            },
        };
        let connected = false;
        self.data.next = Connection::Passive {
            connected,
            address,
            port,
        };
        let Some(ip) = address else {
            return self.reply(229, &format!("Entering Extended Passive Mode (|||{port}|)"));
        };
        self.notice_private_address(ip);
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
        let connecting = self.work.waits_for_data();
        match &mut self.data.next {
            Connection::Passive { connected, .. } if !*connected => {
                if canonical_ip(peer.ip()) != canonical_ip(self.peer.ip()) {
                    let from = canonical_addr(peer);
                    warn!("{}: refused a data connection from {from}", self.peer);
                    self.actions.push_back(Action::RejectData);
                    return Ok(());
                }
                // One connection per PASV: nobody else may come in now.
                *connected = true;
                self.actions.push_back(Action::StopListening);
            }
            Connection::Active(addr) if connecting && *addr == peer => {}
            _ => return Err(UnexpectedEvent(Event::DataConnected { peer })),
        }
        if connecting {
            self.start_running(now);
        }
        Ok(())
    }

    /// The file of a transfer is open: connects to the client's active
    /// address; true if a passive connection is already there.
    pub(super) fn connect_data(&mut self) -> bool {
        if let Connection::Active(addr) = self.data.next {
            self.actions.push_back(Action::ConnectData(addr));
        }
        matches!(
            self.data.next,
            Connection::Passive {
                connected: true,
                ..
            }
        )
    }

    /// A transfer ended: its data connection went with it (the caller
    /// closed it, or was told to), so the next one needs its own.
    pub(super) fn data_used(&mut self) {
        self.data.next = Connection::None;
    }

    /// The data connection of a transfer did not come in time: if the
    /// client was to connect to a passive port, the admin hears what it
    /// was told (the `425` itself says nothing a user can act on).
    pub(super) fn report_passive_not_reached(&mut self) {
        if let Connection::Passive {
            connected: false,
            address,
            port,
        } = self.data.next
        {
            let waited = self.config.data_timeout;
            let notice = Notice::PassiveNotReached {
                address,
                port,
                waited,
            };
            self.actions.push_back(Action::Notice(notice));
        }
    }

    /// A client on the internet is about to be told `ip`, on a local
    /// network: unless the admin mapped the client's network to it, the
    /// admin hears of it (the client cannot connect there).
    fn notice_private_address(&mut self, ip: Ipv4Addr) {
        let client = canonical_ip(self.peer.ip());
        let mapped = self.mapped_address(client).is_some();
        if !is_local_network(client) && is_local_network(ip.into()) && !mapped {
            let notice = Notice::PrivateAddressToPublicClient { address: ip };
            self.actions.push_back(Action::Notice(notice));
        }
    }

    /// The address a `227` tells this client to connect to, by the first
    /// rule that applies:
    /// 1. a `--pasv-address-map` network holds the client: its address;
    /// 2. the client is on a local network (private, loopback,
    ///    link-local): the control connection's own address, which it
    ///    reached us at (a router's public address may not loop back);
    /// 3. `--pasv-address`, for clients on the internet;
    /// 4. the control connection's own address.
    ///
    /// `None` when none of them is IPv4 (a `227` carries IPv4 only).
    fn pasv_target(&self) -> Option<Ipv4Addr> {
        let client = canonical_ip(self.peer.ip());
        if let Some(address) = self.mapped_address(client) {
            return Some(address);
        }
        let local = match canonical_ip(self.local.ip()) {
            IpAddr::V4(local) => Some(local),
            IpAddr::V6(_) => None,
        };
        match local {
            Some(local) if is_local_network(client) => Some(local),
            _ => self.config.pasv_address.or(local),
        }
    }

    /// The address of the `--pasv-address-map` network that holds
    /// `client`, if one does: the admin's choice for that network.
    fn mapped_address(&self, client: IpAddr) -> Option<Ipv4Addr> {
        let mut map = self.config.pasv_address_map.iter();
        map.find(|(net, _)| net.contains(client))
            .map(|(_, address)| *address)
    }
}
