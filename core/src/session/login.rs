//! Login: `USER`/`PASS`, and what the logged-in session may do.

use log::info;

use crate::boundary::access::Access;
use crate::boundary::action::Action;

use super::transfer::Awaiting;
use super::Session;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Login {
    /// Waiting for `USER`.
    Start,
    /// `USER` given, waiting for `PASS`.
    User(String),
    LoggedIn {
        user: String,
        access: Access,
    },
}

/// The names of anonymous login.
pub(super) fn is_anonymous_name(user: &str) -> bool {
    ["anonymous", "ftp"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(user))
}

impl Session {
    pub(super) fn cmd_user(&mut self, name: &str) {
        if matches!(self.login, Login::LoggedIn { .. }) {
            return self.reply(530, "Can't change to another user.");
        }
        if self.config.tls_required && !self.security.control {
            return self.reply(530, "TLS is required: use AUTH TLS first.");
        }
        self.login = Login::User(name.to_owned());
        self.reply(331, "Please specify the password.");
    }

    pub(super) fn cmd_pass(&mut self, password: &str) {
        let user = match &self.login {
            Login::Start => return self.reply(503, "Login with USER first."),
            Login::LoggedIn { .. } => return self.reply(230, "Already logged in."),
            Login::User(user) => user.clone(),
        };
        let anonymous = !self.config.users || (self.config.anonymous && is_anonymous_name(&user));
        if anonymous {
            self.log_in(user, self.config.anonymous_access);
        } else {
            let verify = Action::VerifyPassword {
                user,
                password: password.to_owned(),
            };
            self.ask(verify, Awaiting::Password);
        }
    }

    pub(super) fn log_in(&mut self, user: String, access: Access) {
        let control = if self.security.control {
            "TLS"
        } else {
            "clear"
        };
        info!(
            "{}: logged in as {user:?} (role {}, control in {control})",
            self.peer,
            access.role()
        );
        self.login = Login::LoggedIn { user, access };
        self.login_failures = 0;
        self.reply(230, "Login successful.");
    }

    /// Whether the logged-in user came in anonymously.
    pub(super) fn anonymous_login(&self) -> bool {
        match &self.login {
            Login::LoggedIn { user, .. } => !self.config.users || is_anonymous_name(user),
            _ => false,
        }
    }

    /// What the logged-in session may do (nothing before login).
    pub(super) fn allows(&self, right: fn(Access) -> bool) -> bool {
        matches!(self.login, Login::LoggedIn { access, .. } if right(access))
    }

    /// May change what exists (the `super` role).
    pub(super) fn may_write(&self) -> bool {
        self.allows(Access::may_change)
    }

    /// The logged-in user's name, `-` before login (for log lines).
    pub(super) fn user_name(&self) -> &str {
        match &self.login {
            Login::LoggedIn { user, .. } => user,
            _ => "-",
        }
    }
}
