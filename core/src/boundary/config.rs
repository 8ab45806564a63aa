//! Protocol settings shared by every session.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::boundary::access::Access;
use crate::boundary::network::Cidr;

/// What a session needs to know about the daemon's configuration. The reactor
/// builds one from the command line and shares it (`Arc`) between sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Text after `220 ` in the welcome line.
    pub banner: String,
    /// Whether a users file exists: non-anonymous logins are then checked with
    /// [`Action::VerifyPassword`](crate::Action::VerifyPassword). Without one,
    /// every login is anonymous.
    pub users: bool,
    /// Anonymous login allowed (always, when `users` is false).
    pub anonymous: bool,
    /// The role of anonymous sessions (`--anonymous-role`).
    pub anonymous_access: Access,
    /// Address announced in `227` replies to clients on the internet
    /// instead of the control connection's (`--pasv-address`, a name
    /// already resolved by the caller).
    pub pasv_address: Option<Ipv4Addr>,
    /// `--pasv-address-map`: a client in one of these networks is told
    /// that address in `227` replies, whatever else applies. The caller
    /// keeps them from overlapping; the first that holds a client counts.
    pub pasv_address_map: Vec<(Cidr, Ipv4Addr)>,
    /// Without a command for this long, a session gets `421` and is closed.
    pub idle_timeout: Duration,
    /// Time to establish a data connection, and longest stall of a transfer.
    pub data_timeout: Duration,
    /// How long a received upload waits before it is committed, for the end
    /// of its control connection to show. A client killed mid-upload closes
    /// its data connection first (the kernel releases a dying process's
    /// sockets in reverse order): its control connection's end follows
    /// within microseconds, and must break the upload, not find it already
    /// in place.
    pub upload_settle: Duration,
    /// Pause before answering a failed `PASS`.
    pub login_delay: Duration,
    /// Failed `PASS` attempts before `421` and close.
    pub max_login_failures: u32,
    /// FTPS: the caller has a certificate, so `AUTH TLS` is offered.
    pub tls: bool,
    /// Every login needs `AUTH TLS` first and every transfer `PROT P`.
    pub tls_required: bool,
    /// Names starting with a dot (`.ssh`, `.env`) are served: listed, read,
    /// written and entered. Off, they are none of these: a client naming
    /// one gets `550`, and listings leave them out (`--dotfiles`).
    pub dotfiles: bool,
    /// Listings of `upload` sessions are empty: a drop box nobody can look
    /// into (`--upload-list-empty`).
    pub upload_list_empty: bool,
    /// An `upload` account (not an anonymous session) may replace a file it
    /// uploaded itself (`--upload-replace-own`).
    pub upload_replace_own: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            banner: "pocketftpd ready.".to_owned(),
            users: false,
            anonymous: true,
            anonymous_access: Access::ReadOnly,
            pasv_address: None,
            pasv_address_map: Vec::new(),
            idle_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(60),
            upload_settle: Duration::from_millis(5),
            login_delay: Duration::from_millis(1000),
            max_login_failures: 3,
            tls: false,
            tls_required: false,
            dotfiles: false,
            upload_list_empty: false,
            upload_replace_own: false,
        }
    }
}
