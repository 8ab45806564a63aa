//! The security machine, FTPS (RFC 4217): `AUTH`, `PBSZ` and `PROT`, and
//! whether a transfer may go over the data protection in force.

use log::info;

use crate::boundary::action::Action;
use crate::wire::command::ProtectionLevel;

use super::Session;

/// FTPS state (RFC 4217): how far `AUTH`, `PBSZ` and `PROT` got; written
/// only here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Security {
    /// The control connection is TLS (after `AUTH TLS`, or implicit).
    control: bool,
    /// `PBSZ` was given (or implied by an implicit TLS connection).
    pbsz: bool,
    /// `PROT P`: data connections are TLS.
    private_data: bool,
}

impl Security {
    /// An implicit FTPS connection: the handshake came first, and data
    /// connections are protected by default.
    pub(super) fn implicit() -> Security {
        Security {
            control: true,
            pbsz: true,
            private_data: true,
        }
    }

    /// Whether the control connection is TLS.
    pub(super) fn control(&self) -> bool {
        self.control
    }

    /// Whether data connections are TLS (`PROT P`).
    pub(super) fn private_data(&self) -> bool {
        self.private_data
    }
}

impl Session {
    pub(super) fn cmd_auth(&mut self, known_mechanism: bool) {
        if !self.tls_configured() {
            return;
        }
        if self.security.control {
            return self.reply(503, "The control connection is already protected.");
        }
        if !known_mechanism {
            return self.reply(504, "Only AUTH TLS is supported.");
        }
        self.reply(234, "Proceed with negotiation.");
        // Anything after the AUTH line is the client's TLS handshake.
        let early = self.input.take_unread();
        self.actions.push_back(Action::SecureControl { early });
        self.security.control = true;
        info!("{}: control connection switching to TLS", self.peer);
    }

    pub(super) fn cmd_pbsz(&mut self) {
        if !self.tls_configured() {
            return;
        }
        if !self.security.control {
            return self.reply(503, "PBSZ needs AUTH TLS first.");
        }
        self.security.pbsz = true;
        self.reply(200, "PBSZ=0");
    }

    pub(super) fn cmd_prot(&mut self, level: ProtectionLevel) {
        if !self.tls_configured() {
            return;
        }
        if !self.security.pbsz {
            return self.reply(503, "PROT needs PBSZ first.");
        }
        match level {
            ProtectionLevel::Private => {
                self.security.private_data = true;
                self.reply(200, "Protection level set to Private.");
            }
            ProtectionLevel::Clear => {
                self.security.private_data = false;
                self.reply(200, "Protection level set to Clear.");
            }
            ProtectionLevel::Unsupported => {
                self.reply(536, "Only the C and P protection levels are supported.")
            }
        }
    }

    /// Whether a transfer may go over this data protection level; answers
    /// `521` when `--tls-required` wants `PROT P` first.
    pub(super) fn data_protection_ok(&mut self) -> bool {
        let ok = !self.config.tls_required || self.security.private_data;
        if !ok {
            self.reply(521, "Data connections must be protected: use PROT P.");
        }
        ok
    }

    /// Whether a certificate is loaded; answers `502` when none is.
    fn tls_configured(&mut self) -> bool {
        if !self.config.tls {
            self.reply(502, "TLS is not configured on this server.");
        }
        self.config.tls
    }
}
