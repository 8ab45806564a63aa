//! Signals: SIGHUP re-reads the settings, the users file among them
//! (`startup::reload` says what changes); SIGCHLD says an upload hook's
//! program may have ended (`hooks/program.rs`); SIGTERM and SIGINT stop
//! accepting, let the sessions finish for the grace period, then cut off
//! the rest.

use std::time::Instant;

use log::{error, info, warn};
use pocketftp_core::Session;

use super::settings::{apply_umask, InForce, Reloaded};
use super::Server;

impl Server {
    pub(super) fn on_signals(&mut self, now: Instant) {
        let pending: Vec<i32> = self.signals.pending().collect();
        for signal in pending {
            match signal {
                libc::SIGHUP => self.reload(now),
                libc::SIGCHLD => self.hooks.on_child_exit(self.poll.registry(), now),
                _ => self.begin_shutdown(now),
            }
        }
    }

    /// SIGHUP: good new settings apply to sessions that start from now on;
    /// bad ones are logged and the old ones kept.
    fn reload(&mut self, now: Instant) {
        self.check_root();
        let Some(reload) = &mut self.reload else {
            return;
        };
        let in_force = InForce {
            settings: &self.settings,
            users: self.users.as_ref(),
            root: &self.root,
        };
        match reload(in_force) {
            Ok(reloaded) => self.apply(reloaded, now),
            Err(e) => error!("SIGHUP: keeping the old settings: {e}"),
        }
    }

    /// What a reload made takes effect: the settings of new sessions and
    /// transfers, the shared rate, the `--pasv-address` name, the ban rules
    /// (bans in force stay), the umask, the transfer log, the users.
    fn apply(&mut self, reloaded: Reloaded, now: Instant) {
        self.set_total_rate(reloaded.settings.limits.rates.total, now);
        let announced = self.settings.config.pasv_address;
        self.settings = reloaded.settings;
        self.pasv_name_reloaded(announced);
        self.bans.set_rules(self.settings.limits.bans.clone());
        apply_umask(self.settings.umask);
        if let Some(xferlog) = reloaded.xferlog {
            self.xferlog = xferlog;
        }
        if let Err(e) = self.set_users(reloaded.users) {
            error!("SIGHUP: cannot start the password worker: {e}; logins with a password fail");
        }
        info!("SIGHUP: settings re-read");
    }

    /// SIGTERM/SIGINT: stop accepting, tell every session (idle ones close
    /// with 421, transfers finish), and give them the grace period.
    fn begin_shutdown(&mut self, now: Instant) {
        if self.stop_by.is_some() {
            return;
        }
        let sessions = crate::count(self.connections.len(), "session");
        info!("stopping: {sessions} to finish");
        for (mut listener, _) in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.stop_by = Some(now + self.settings.limits.shutdown_grace);
        self.each_session(now, Session::handle_shutdown);
    }

    /// The grace period is over: transfers still running get their final
    /// reply, every session its `421`, and all of them are closed.
    pub(super) fn cut_off_sessions(&mut self) {
        let sessions = crate::count(self.connections.len(), "session");
        warn!("grace period over: closing {sessions}");
        self.each_session(Instant::now(), Session::handle_shutdown_expired);
        self.remove_closed();
    }

    /// Gives `input` to every session and drains it.
    fn each_session(&mut self, now: Instant, input: fn(&mut Session, Instant)) {
        let keys: Vec<usize> = self.connections.iter().map(|(key, _)| key).collect();
        for key in keys {
            if let Some(conn) = self.connections.get_mut(key).filter(|c| !c.closing) {
                input(&mut conn.session, now);
                self.drive(key, now);
            }
        }
    }
}
