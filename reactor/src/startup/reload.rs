//! SIGHUP: the arguments parsed again, so an edited config file counts,
//! and every setting that can change without a restart changes: those of
//! new sessions, the limits, the umask, the log level, the users file (its
//! path too: setting `users =` and reloading turns accounts on), the TLS
//! pair, the transfer log's path. What cannot change in a running daemon
//! — where it listens, the root, `run-as`, the node id and its sweeps'
//! `sweep-foreign-after` — is named in a warning at every reload while it
//! differs ("`root` changed: restart to apply"), never silently ignored. A
//! users file, certificate or key that cannot be read keeps the one in
//! force and the rest applies: a key only root may read, under `run-as`,
//! must not stop every later setting.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use log::{error, info, warn};

use crate::auth::users::Users;
use crate::net::tls::{self, TlsConfigs};
use crate::server::{InForce, Reload, Reloaded};
use crate::startup::command_line::{self, Command};
use crate::startup::options::Options;
use crate::startup::settings::{build, open_xferlog, tls_files};
use crate::startup::{access, conflicts};

/// The reload SIGHUP runs: `args` are the daemon's arguments, `started`
/// the options it started with, `socket_activated` whether systemd passed
/// its listening sockets (then `listen` lines are not used anyway).
pub fn reloader(args: Vec<OsString>, started: &Options, socket_activated: bool) -> Reload {
    let mut reloader = Reloader {
        args,
        started: started.clone(),
        socket_activated,
        xferlog: started.xferlog.clone(),
    };
    Box::new(move |in_force| reloader.reload(in_force))
}

struct Reloader {
    args: Vec<OsString>,
    started: Options,
    socket_activated: bool,
    /// The transfer log's path in force.
    xferlog: Option<PathBuf>,
}

impl Reloader {
    fn reload(&mut self, in_force: InForce) -> Result<Reloaded, String> {
        let options = match command_line::parse(self.args.clone())? {
            Command::Run(options) => options,
            _ => return Err("the arguments no longer ask to run the daemon".to_owned()),
        };
        log::set_max_level(options.log_level);
        conflicts::warn(&options);
        let tls = tls_pair(&options, in_force.settings.tls.as_ref())?;
        self.name_what_needs_a_restart(&options);
        let users = users(&options, &in_force);
        access::check_on_reload(&self.started.root, &options, users.as_deref());
        let settings = build(&options, users.is_some(), tls);
        Ok(Reloaded {
            settings,
            users,
            xferlog: self.xferlog(&options),
        })
    }

    /// Warns of each setting that differs from the one started with and
    /// cannot apply without a restart.
    fn name_what_needs_a_restart(&self, new: &Options) {
        let started = &self.started;
        let listening = !self.socket_activated;
        let changed = [
            ("root", new.root != started.root),
            ("node-id", new.node_id != started.node_id),
            (
                "sweep-foreign-after",
                new.sweep_foreign_after != started.sweep_foreign_after,
            ),
            ("run-as", new.run_as != started.run_as),
            ("on-upload and on-upload-url", new.hooks != started.hooks),
            (
                "listen",
                listening && new.listen_addresses() != started.listen_addresses(),
            ),
            (
                "listen-tls",
                listening && new.listen_tls != started.listen_tls,
            ),
            (
                "proxy-protocol",
                new.proxy_protocol != started.proxy_protocol,
            ),
        ];
        for (key, _) in changed.iter().filter(|(_, changed)| *changed) {
            warn!("SIGHUP: `{key}` changed: restart to apply");
        }
    }

    /// The transfer log, if its path changed: the new file (or none). One
    /// that cannot be opened keeps the old one.
    fn xferlog(&mut self, options: &Options) -> Option<Option<std::fs::File>> {
        if options.xferlog == self.xferlog {
            return None;
        }
        let file = match &options.xferlog {
            Some(path) => match open_xferlog(path) {
                Ok(file) => Some(file),
                Err(e) => {
                    error!("SIGHUP: keeping the old transfer log: {e}");
                    return None;
                }
            },
            None => None,
        };
        self.xferlog.clone_from(&options.xferlog);
        Some(file)
    }
}

/// The TLS pair from now on: the new one, or, when it cannot be used, the
/// one in force (an error without one: TLS options need a pair).
fn tls_pair(
    options: &Options,
    in_force: Option<&TlsConfigs>,
) -> Result<Option<TlsConfigs>, String> {
    let Some((cert, key)) = tls_files(options)? else {
        return Ok(None);
    };
    match (tls::load(cert, key), in_force) {
        (Ok(new), _) => Ok(Some(new)),
        (Err(e), Some(old)) => {
            error!("SIGHUP: keeping the old TLS certificate and key: {e}");
            Ok(Some(old.clone()))
        }
        (Err(e), None) => Err(e),
    }
}

/// The accounts from now on: the users file the options name, re-read; the
/// accounts in force if it cannot be used; none without one.
fn users(options: &Options, in_force: &InForce) -> Option<Arc<Users>> {
    let old = in_force.users;
    let Some(path) = &options.users else {
        if old.is_some() {
            info!("SIGHUP: no users file any more: anonymous logins only");
        }
        return None;
    };
    let loaded = (Users::load(path).map_err(|e| e.to_string()))
        .and_then(|u| {
            (u.check_homes(path, in_force.root)
                .map_err(|e| e.to_string()))
            .map(|()| u)
        })
        .and_then(|u| super::bucket::refuse_quotas(options, Some(&u)).map(|()| u));
    match loaded {
        Ok(users) => {
            info!("SIGHUP: re-read {}", path.display());
            Some(Arc::new(users.with_decoy_of(old.map(AsRef::as_ref))))
        }
        Err(e) if old.is_some() => {
            error!("SIGHUP: keeping the old users: {e}");
            old.cloned()
        }
        Err(e) => {
            error!("SIGHUP: no users file yet, anonymous logins as before: {e}");
            None
        }
    }
}
