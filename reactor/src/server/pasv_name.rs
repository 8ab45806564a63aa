//! A `--pasv-address` host name on the loop's side: the watcher thread
//! looks it up every `--pasv-address-refresh` (`net/resolve_name.rs`) and
//! its answers arrive through the waker; a new address goes into the
//! settings of sessions that start from then on. Sessions already running
//! keep the address they started with: when a home router's public address
//! changes, their connections through it are gone anyway. A failed lookup
//! keeps the last good address and is logged once, until one succeeds.

use std::net::Ipv4Addr;
use std::sync::Arc;

use log::{info, warn};
use pocketftp_core::Config;

use super::Server;
use crate::net::resolve_name::{NameWatcher, Watch};

/// The name being watched, and what it last resolved to.
pub(super) struct PasvName {
    watcher: NameWatcher,
    watch: Watch,
    /// The address sessions are told (`None` until a first lookup).
    address: Option<Ipv4Addr>,
    /// The last lookup failed (and was logged).
    failing: bool,
}

impl Server {
    /// Starts watching the name the settings give, whose address start-up
    /// looked up (it is in their `Config`).
    pub fn watch_pasv_name(&mut self) -> std::io::Result<()> {
        match self.settings.pasv_name.clone() {
            Some(watch) => self.start_watching(watch, self.settings.config.pasv_address),
            None => Ok(()),
        }
    }

    /// A watcher for `watch`'s name, which looks it up at once unless its
    /// `address` is known.
    fn start_watching(&mut self, watch: Watch, address: Option<Ipv4Addr>) -> std::io::Result<()> {
        let watcher = NameWatcher::start(watch.clone(), address.is_none(), self.waker())?;
        self.pasv_name = Some(PasvName {
            watcher,
            watch,
            address,
            failing: false,
        });
        Ok(())
    }

    /// The watcher's answers (after the waker fired).
    pub(super) fn pasv_name_answers(&mut self) {
        let Some(state) = &mut self.pasv_name else {
            return;
        };
        let answers: Vec<_> = state.watcher.answers().collect();
        for answer in answers.into_iter().filter(|a| a.name == state.watch.name) {
            let name = &answer.name;
            match answer.address {
                Ok(address) if state.address == Some(address) && !state.failing => {}
                Ok(address) => {
                    match (state.failing, state.address) {
                        (true, _) => info!("--pasv-address {name} resolves again, to {address}"),
                        (false, Some(old)) => {
                            info!("--pasv-address {name} is now {address} (was {old})")
                        }
                        (false, None) => info!("--pasv-address {name} is {address}"),
                    }
                    state.failing = false;
                    state.address = Some(address);
                    self.settings.config = with_pasv_address(&self.settings.config, address);
                }
                Err(_) if state.failing => {}
                Err(e) => {
                    state.failing = true;
                    match state.address {
                        Some(old) => warn!("{e}; --pasv-address stays {old} until it resolves"),
                        None => warn!("{e}; clients on the internet are told the control connection's address until it resolves"),
                    }
                }
            }
        }
    }

    /// SIGHUP re-read the settings: the same name keeps its address (and
    /// the watcher its pace, or the new one); a new name is looked up at
    /// once, its predecessor's address announced meanwhile; an address
    /// instead of a name ends the watching.
    pub(super) fn pasv_name_reloaded(&mut self, previous: Option<Ipv4Addr>) {
        let Some(watch) = self.settings.pasv_name.clone() else {
            self.pasv_name = None;
            return;
        };
        let Some(state) = &mut self.pasv_name else {
            // Until the name resolves, the address announced before.
            if let Some(address) = previous {
                self.settings.config = with_pasv_address(&self.settings.config, address);
            }
            info!("SIGHUP: looking up --pasv-address {}", watch.name);
            if let Err(e) = self.start_watching(watch, None) {
                warn!("SIGHUP: cannot start looking up --pasv-address: {e}");
            }
            return;
        };
        if state.watch.name != watch.name {
            info!("SIGHUP: looking up --pasv-address {}", watch.name);
            state.failing = false;
        }
        if let Some(address) = state.address {
            self.settings.config = with_pasv_address(&self.settings.config, address);
        }
        if state.watch != watch {
            state.watcher.watch(watch.clone());
            state.watch = watch;
        }
    }
}

/// `config` announcing `address` to clients on the internet.
pub fn with_pasv_address(config: &Arc<Config>, address: Ipv4Addr) -> Arc<Config> {
    Arc::new(Config {
        pasv_address: Some(address),
        ..Config::clone(config)
    })
}
