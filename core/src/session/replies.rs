//! What a session says: how replies are written, and the reply texts that
//! are tables or are said from more than one place (`FEAT`, `HELP`, the
//! status lines, the replies for failed file-system operations and broken
//! transfers). A reply said by one handler only stays next to the rule
//! that says it.

use log::trace;

use crate::boundary::event::ErrorKind;
use crate::wire::command::{ParseError, TransferType};
use crate::wire::reply;

use super::Session;

/// A reply code and its text.
pub(super) type Reply = (u16, &'static str);

/// A transfer's data connection was not made (refused, or not in time).
pub(super) const NO_DATA_CONNECTION: Reply = (425, "Failed to establish connection.");

/// `EPSV ALL` refuses every other way to set up a data connection.
pub(super) const EPSV_ALL_ONLY: Reply = (503, "EPSV ALL in effect; only EPSV is allowed.");

/// A passive listener could not be opened.
pub(super) const NO_PASSIVE_LISTENER: Reply = (425, "Could not open a passive data connection.");

/// Every port of the passive range is in use.
pub(super) const NO_PASSIVE_PORT: Reply = (
    425,
    "Every passive port of this server is in use; try again later.",
);

/// `PASV` answers with an IPv4 address, and there is none to give.
pub(super) const PASV_NEEDS_IPV4: Reply = (425, "PASV needs IPv4; use EPSV.");

pub(super) const DIRECTORY_CHANGED: Reply = (250, "Directory successfully changed.");

/// A path with a name starting with a dot, without `--dotfiles`: the same
/// answer whether it exists or not.
pub(super) const DOT_NAME_REFUSED: Reply = (550, "Names starting with a dot are not served.");

/// The final reply of a transfer that broke after its `150`.
pub(super) fn transfer_failure_reply(kind: ErrorKind) -> Reply {
    match kind {
        ErrorKind::ConnectionLost | ErrorKind::ConnectionRefused | ErrorKind::TimedOut => {
            (426, "Connection closed; transfer aborted.")
        }
        ErrorKind::HandshakeFailed => (426, "TLS on the data connection failed; transfer aborted."),
        // "session reuse required" is vsftpd's words too, what users search for.
        ErrorKind::SessionNotResumed => (
            425,
            "Session reuse required: the data connection must resume the control \
             connection's TLS session; use a client that does (see pocketftpd's README), \
             or ask for tls-session-reuse = off.",
        ),
        ErrorKind::UploadCutShort => (
            426,
            "Upload ended without TLS close_notify, maybe cut short; transfer aborted.",
        ),
        ErrorKind::StorageFull => (452, "Insufficient storage space; transfer aborted."),
        ErrorKind::QuotaExceeded => (552, "Quota exceeded; transfer aborted."),
        _ => (451, "Local error in processing; transfer aborted."),
    }
}

/// The reply for a failed file-system operation.
pub(super) fn file_error_reply(kind: ErrorKind) -> Reply {
    match kind {
        ErrorKind::NotFound => (550, "No such file or folder."),
        ErrorKind::PermissionDenied | ErrorKind::OutsideRoot => (550, "Permission denied."),
        ErrorKind::ReadOnly => (550, "Read-only file system."),
        ErrorKind::AlreadyExists => (550, "Already exists."),
        ErrorKind::NotADirectory => (550, "Not a folder."),
        ErrorKind::IsADirectory => (550, "Is a folder."),
        ErrorKind::DirectoryNotEmpty => (550, "Folder not empty."),
        ErrorKind::InvalidName => (553, "File name not allowed."),
        ErrorKind::BadOffset => (554, "Restart offset beyond the end of the file."),
        ErrorKind::StorageFull => (452, "Insufficient storage space."),
        ErrorKind::QuotaExceeded => (552, "Quota exceeded."),
        ErrorKind::NotSupported => (504, "Not supported on this storage."),
        ErrorKind::PortsExhausted
        | ErrorKind::ConnectionRefused
        | ErrorKind::ConnectionLost
        | ErrorKind::TimedOut
        | ErrorKind::HandshakeFailed
        | ErrorKind::SessionNotResumed
        | ErrorKind::UploadCutShort
        | ErrorKind::Busy
        | ErrorKind::TooManySessions
        | ErrorKind::Other => (451, "Local error in processing."),
    }
}

/// Features offered when a certificate is loaded.
const TLS_FEATURES: [&str; 3] = ["AUTH TLS", "PBSZ", "PROT"];

const FEATURES: [&str; 10] = [
    "EPRT",
    "EPSV",
    "MDTM",
    "MFMT",
    "MLST type*;size*;modify*;perm*;UNIX.mode*;",
    "PASV",
    "REST STREAM",
    "SIZE",
    "TVFS",
    "UTF8",
];

/// The commands `HELP` lists, in order.
const COMMANDS: [&str; 44] = [
    "ABOR", "ALLO", "APPE", "CDUP", "CWD", "DELE", "EPRT", "EPSV", "FEAT", "HELP", "LIST", "MDTM",
    "MFMT", "MKD", "MLSD", "MLST", "MODE", "NLST", "NOOP", "OPTS", "PASS", "PASV", "PORT", "PWD",
    "QUIT", "REST", "RETR", "RMD", "RNFR", "RNTO", "SITE", "SIZE", "STAT", "STOR", "STOU", "STRU",
    "SYST", "TYPE", "USER", "XCUP", "XCWD", "XMKD", "XPWD", "XRMD",
];

/// The commands `HELP` adds when a certificate is loaded.
const TLS_COMMANDS: [&str; 3] = ["AUTH", "PBSZ", "PROT"];

/// Commands on one line of the `HELP` reply.
const HELP_LINE_WORDS: usize = 14;

const SITE_HELP: [&str; 1] = ["CHMOD HELP QUOTA"];

impl Session {
    pub(super) fn reply(&mut self, code: u16, text: &str) {
        trace!("{}: -> {code} {text}", self.peer);
        reply::push(&mut self.output, code, text);
    }

    pub(super) fn reply_with(&mut self, (code, text): Reply) {
        self.reply(code, text);
    }

    pub(super) fn reply_multi<'a>(
        &mut self,
        code: u16,
        first: &str,
        lines: impl IntoIterator<Item = &'a str>,
        last: &str,
    ) {
        trace!("{}: -> {code}-{first} (multi-line)", self.peer);
        reply::push_multi(&mut self.output, code, first, lines, last);
    }

    pub(super) fn reply_features(&mut self) {
        let tls = if self.config.tls {
            &TLS_FEATURES[..]
        } else {
            &[]
        };
        let features = tls.iter().chain(&FEATURES).copied();
        self.reply_multi(211, "Features:", features, "End");
    }

    /// `HELP`: the commands this server answers, those of FTPS with them
    /// when it offers TLS.
    pub(super) fn reply_help(&mut self) {
        let tls = if self.config.tls {
            &TLS_COMMANDS[..]
        } else {
            &[]
        };
        let mut commands: Vec<&str> = COMMANDS.iter().chain(tls).copied().collect();
        commands.sort_unstable();
        let lines: Vec<String> = (commands.chunks(HELP_LINE_WORDS))
            .map(|line| line.join(" "))
            .collect();
        let first = "The following commands are recognized:";
        self.reply_multi(214, first, lines.iter().map(String::as_str), "Help OK.");
    }

    pub(super) fn reply_site_help(&mut self) {
        let first = "The following SITE commands are recognized:";
        self.reply_multi(214, first, SITE_HELP, "Help OK.");
    }

    /// `STAT` without an argument: who, how, and the transfer running.
    pub(super) fn reply_status(&mut self) {
        let mut lines = vec![format!("Connected to {}", self.peer)];
        if let Some(user) = self.login.user() {
            lines.push(format!("Logged in as {user}"));
        }
        let mode = match self.prefs.transfer_type() {
            TransferType::Ascii => "ASCII",
            TransferType::Binary => "BINARY",
        };
        lines.push(format!("TYPE: {mode}"));
        if let Some(t) = self.work.transfer() {
            lines.push(format!(
                "Transferring {}: {} bytes so far",
                t.path(),
                t.bytes()
            ));
        }
        self.reply_multi(
            211,
            "pocketftpd status:",
            lines.iter().map(String::as_str),
            "End of status.",
        );
    }

    pub(super) fn reply_parse_error(&mut self, error: ParseError) {
        match error {
            ParseError::Unknown => self.reply(500, "Unknown command."),
            ParseError::Syntax(why) => self.reply(501, why),
            ParseError::NotImplemented => self.reply(502, "Command not implemented."),
            ParseError::Unsupported(why) => self.reply(504, why),
            ParseError::Protocol => self.reply(522, "Network protocol not supported, use (1,2)."),
        }
    }
}
