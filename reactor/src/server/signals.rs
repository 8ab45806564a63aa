//! Signals: SIGHUP re-reads the settings and the users file; SIGTERM and
//! SIGINT stop accepting, let the sessions finish for the grace period,
//! then cut off the rest.

use std::sync::Arc;
use std::time::Instant;

use log::{error, info, warn};
use pocketftp_core::Session;

use super::settings::apply_umask;
use super::Server;
use crate::auth::users::Users;

impl Server {
    pub(super) fn on_signals(&mut self, now: Instant) {
        let pending: Vec<i32> = self.signals.pending().collect();
        for signal in pending {
            match signal {
                libc::SIGHUP => {
                    self.reload_settings();
                    self.reload_users();
                }
                _ => self.begin_shutdown(now),
            }
        }
    }

    /// SIGHUP: good new settings apply to sessions that start from now on;
    /// bad ones are logged and the old ones kept.
    fn reload_settings(&mut self) {
        let Some(reload) = &mut self.reload else {
            return;
        };
        match reload() {
            Ok(settings) => {
                let total = settings.limits.rates.total;
                self.schedule.set_total_rate(total, Instant::now());
                let announced = self.settings.config.pasv_address;
                self.settings = settings;
                self.pasv_name_reloaded(announced);
                self.bans.set_rules(self.settings.limits.bans.clone());
                apply_umask(self.settings.umask);
                info!("SIGHUP: settings re-read");
            }
            Err(e) => error!("SIGHUP: keeping the old settings: {e}"),
        }
    }

    /// SIGHUP: a good new users file replaces the old one; a bad one is
    /// logged and the old one stays. Sessions are not touched.
    fn reload_users(&mut self) {
        let (Some(path), Some(worker)) = (&self.users_file, &self.passwords) else {
            return info!("SIGHUP: no users file to re-read");
        };
        match Users::load(path).and_then(|u| u.check_homes(path, &self.root).map(|()| u)) {
            Ok(users) => {
                worker.replace_users(Arc::new(users));
                info!("SIGHUP: re-read {}", path.display());
            }
            Err(e) => error!("SIGHUP: keeping the old users: {e}"),
        }
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
