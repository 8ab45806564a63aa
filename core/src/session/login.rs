//! The login machine: `USER`/`PASS`, the pause after a failed password and
//! the limit on failures, and what the logged-in session may do.

use std::time::Instant;

use log::{info, warn};

use crate::boundary::access::Access;
use crate::boundary::action::{Action, OpenMode};
use crate::boundary::event::{ErrorKind, Event};
use crate::timers::Timer;

use super::{Session, UnexpectedEvent};

/// Who the client is, as far as `USER` and `PASS` got; written only here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Login {
    state: LoginState,
    /// Failed passwords since the last login; at `max_login_failures` the
    /// session ends.
    failures: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum LoginState {
    /// Waiting for `USER`.
    #[default]
    Start,
    /// `USER` given, waiting for `PASS`.
    User(String),
    LoggedIn {
        user: String,
        access: Access,
    },
}

impl Login {
    pub(super) fn is_logged_in(&self) -> bool {
        matches!(self.state, LoginState::LoggedIn { .. })
    }

    /// The logged-in user's name.
    pub(super) fn user(&self) -> Option<&str> {
        match &self.state {
            LoginState::LoggedIn { user, .. } => Some(user),
            _ => None,
        }
    }
}

/// What the login machine waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LoginWait {
    /// The answer to `VerifyPassword`.
    Password,
    /// The pause after a failed password (`Timer::LoginDelay`).
    Delay,
}

/// The names of anonymous login.
fn is_anonymous_name(user: &str) -> bool {
    ["anonymous", "ftp"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(user))
}

impl Session {
    pub(super) fn cmd_user(&mut self, name: &str) {
        if self.login.is_logged_in() {
            return self.reply(530, "Can't change to another user.");
        }
        if self.config.tls_required && !self.security.control() {
            return self.reply(530, "TLS is required: use AUTH TLS first.");
        }
        self.login.state = LoginState::User(name.to_owned());
        self.reply(331, "Please specify the password.");
    }

    pub(super) fn cmd_pass(&mut self, password: &str) {
        let user = match &self.login.state {
            LoginState::Start => return self.reply(503, "Login with USER first."),
            LoginState::LoggedIn { .. } => return self.reply(230, "Already logged in."),
            LoginState::User(user) => user.clone(),
        };
        let anonymous = !self.config.users || (self.config.anonymous && is_anonymous_name(&user));
        if anonymous {
            // Named `anonymous` from now on, never by the name typed: without
            // a users file any name logs in, and it proves nothing.
            self.log_in(
                "anonymous".to_owned(),
                Some(&user),
                self.config.anonymous_access,
            );
        } else {
            let verify = Action::VerifyPassword {
                user,
                password: password.to_owned(),
            };
            self.ask(verify, LoginWait::Password);
        }
    }

    /// The answer to `VerifyPassword`: logged in, or (`None`) refused once
    /// the login delay is over.
    pub(super) fn on_password_checked(
        &mut self,
        now: Instant,
        access: Option<Access>,
    ) -> Result<(), UnexpectedEvent> {
        match (std::mem::take(&mut self.login.state), access) {
            (LoginState::User(user), Some(access)) => self.log_in(user, None, access),
            (_, Some(access)) => return Err(UnexpectedEvent(Event::LoginChecked(Some(access)))),
            (state, None) => {
                self.login.failures += 1;
                let user = match state {
                    LoginState::User(user) => user,
                    _ => String::new(),
                };
                warn!(
                    "{}: failed login as {user:?} ({} so far)",
                    self.peer, self.login.failures
                );
                self.wait(LoginWait::Delay);
                self.timers
                    .arm(Timer::LoginDelay, now, self.config.login_delay);
            }
        }
        Ok(())
    }

    /// The password could not be checked (too many checks wait from this
    /// client's address), or was right for an account that has as many
    /// sessions as it may: not a wrong password, so not counted as one; the
    /// session ends, and a login later may work.
    pub(super) fn on_password_not_checked(&mut self, kind: ErrorKind) {
        let user = match std::mem::take(&mut self.login.state) {
            LoginState::User(user) => user,
            _ => String::new(),
        };
        if kind == ErrorKind::TooManySessions {
            warn!(
                "{}: login as {user:?} refused: it has as many sessions as it may",
                self.peer
            );
            self.reply(421, "Too many sessions for this user; try again later.");
        } else {
            warn!("{}: login not checked: too many checks waiting", self.peer);
            self.reply(
                421,
                "Too many logins are being checked for your address; try again later.",
            );
        }
        self.close();
    }

    /// The pause after a failed password is over: answer it, and end the
    /// session after too many.
    pub(super) fn on_login_delay_over(&mut self) {
        self.end_work();
        self.reply(530, "Login incorrect.");
        if self.login.failures >= self.config.max_login_failures {
            self.reply(421, "Too many failed logins.");
            self.close();
        }
    }

    /// Logs in as `user`; `typed`: the name given at `USER`, if another.
    fn log_in(&mut self, user: String, typed: Option<&str>, access: Access) {
        let control = if self.security.control() {
            "TLS"
        } else {
            "clear"
        };
        let typed = match typed.filter(|typed| *typed != user) {
            Some(typed) => format!("typed {typed:?}, "),
            None => String::new(),
        };
        info!(
            "{}: logged in as {user:?} ({typed}role {}, control in {control})",
            self.peer,
            access.role()
        );
        self.login.state = LoginState::LoggedIn { user, access };
        self.login.failures = 0;
        self.reply(230, "Login successful.");
    }

    /// Whether the logged-in user came in anonymously.
    pub(super) fn anonymous_login(&self) -> bool {
        match self.login.user() {
            Some(user) => !self.config.users || is_anonymous_name(user),
            None => false,
        }
    }

    /// What the logged-in session may do (nothing before login).
    pub(super) fn allows(&self, right: fn(Access) -> bool) -> bool {
        matches!(self.login.state, LoginState::LoggedIn { access, .. } if right(access))
    }

    /// May change what exists (the `super` role).
    pub(super) fn may_write(&self) -> bool {
        self.allows(Access::may_change)
    }

    /// An `upload` session: it may add, not change.
    pub(super) fn uploads_only(&self) -> bool {
        self.allows(|access| access == Access::Upload)
    }

    /// The account whose own uploads this session may replace: an `upload`
    /// account's name, with `--upload-replace-own`. Anonymous sessions
    /// have no account of their own: everyone shares them.
    pub(super) fn upload_owner(&self) -> Option<String> {
        let own = self.config.upload_replace_own && self.uploads_only() && !self.anonymous_login();
        own.then(|| self.user_name().to_owned())
    }

    /// How a `STOR` without the right to change opens its file: a new one
    /// only, or (see [`Session::upload_owner`]) one this account uploaded.
    pub(super) fn new_file_mode(&self) -> OpenMode {
        match self.upload_owner() {
            Some(account) => OpenMode::CreateOrReplaceOwn { account },
            None => OpenMode::CreateNew,
        }
    }

    /// The logged-in user's name, `-` before login (for log lines).
    pub(super) fn user_name(&self) -> &str {
        self.login.user().unwrap_or("-")
    }
}
