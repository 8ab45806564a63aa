//! What the server is started with and what SIGHUP may change: the
//! settings of new sessions, the limits the reactor enforces, TLS and the
//! umask; and where to listen.

use std::fs::File;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use pocketftp_core::Config;

use super::bans::BanRules;
use crate::auth::users::Users;
use crate::net::resolve_name::Watch;
use crate::net::sockopt::Keepalive;
use crate::net::tls::TlsConfigs;
use crate::rate::Rates;
use crate::startup::activation::Inherited;
use crate::storage::durable::Durability;
use crate::storage::jail::Jail;
use crate::storage::space::MinFree;

/// Limits the reactor enforces itself.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_clients: usize,
    pub max_per_ip: usize,
    /// `--max-sessions-per-user`: sessions one account may have at once.
    pub max_sessions_per_user: Option<usize>,
    pub pasv_ports: Option<RangeInclusive<u16>>,
    /// How long running transfers may go on after SIGTERM.
    pub shutdown_grace: Duration,
    /// Bandwidth limits: a new transfer takes the per-session ones when it
    /// starts, so SIGHUP changes them for transfers that start afterwards.
    pub rates: Rates,
    /// When an address is banned for failed logins (`server/bans.rs`).
    pub bans: BanRules,
    /// `--tcp-keepalive` on new control connections; `None`: off.
    pub keepalive: Option<Keepalive>,
    /// `--min-free`: the free space uploads leave (`storage/space.rs`);
    /// SIGHUP changes it for uploads that start afterwards.
    pub min_free: MinFree,
}

/// What SIGHUP may change: the settings of new sessions, the limits, the
/// TLS certificate and key, the umask and `--sync`.
pub struct Settings {
    pub config: Arc<Config>,
    pub limits: Limits,
    /// FTPS, when a certificate and key are configured.
    pub tls: Option<TlsConfigs>,
    /// `--umask`: the process umask while serving (see [`apply_umask`]).
    pub umask: u32,
    /// A `--pasv-address` host name and how often to look it up: `config`
    /// holds its address once known (`server/pasv_name.rs`).
    pub pasv_name: Option<Watch>,
    /// `--sync`: what a reply waits for the disk to hold; a change applies
    /// to the next commit.
    pub sync: Durability,
}

/// Where to listen.
pub struct Listeners {
    /// Plain FTP (FTPS after `AUTH TLS`).
    pub plain: Vec<SocketAddr>,
    /// Implicit FTPS: TLS from the first byte.
    pub implicit_tls: Vec<SocketAddr>,
    /// Sockets systemd bound for us (socket activation); with them, the
    /// addresses above are not bound.
    pub inherited: Vec<Inherited>,
    /// The listeners (of those above) whose connections start with a PROXY
    /// protocol header (`--proxy-protocol`).
    pub proxy_protocol: Vec<SocketAddr>,
}

/// What is in force when SIGHUP comes, for a reload to start from (a
/// users file or TLS pair that cannot be re-read is kept).
pub struct InForce<'a> {
    pub settings: &'a Settings,
    pub users: Option<&'a Arc<Users>>,
    /// The served folder, where the users' homes must be.
    pub root: &'a Jail,
}

/// What SIGHUP made of the config file and flags.
pub struct Reloaded {
    pub settings: Settings,
    /// The accounts from now on; `None`: no users file.
    pub users: Option<Arc<Users>>,
    /// `Some` when `--xferlog` changed: the file to append to now, if any.
    pub xferlog: Option<Option<File>>,
}

/// Re-reads the settings (the config file and flags) on SIGHUP; an error
/// keeps every old setting.
pub type Reload = Box<dyn FnMut(InForce) -> Result<Reloaded, String>>;

/// Makes `--umask` the process umask. The daemon creates uploads with mode
/// 0666 and folders with 0777 (see [`crate::storage::jail`]) and the kernel takes
/// the umask's bits away as it creates them, atomically — as vsftpd and
/// pure-ftpd do. Passing modes without this would still be cut by whatever
/// umask the daemon inherited. One thread creates files, so the
/// process-wide setting is the daemon's own; a file that an upload
/// replaces keeps its mode (`TempFile::create`).
pub(super) fn apply_umask(mask: u32) {
    // SAFETY: umask(2) only swaps the process's file mode creation mask.
    unsafe { libc::umask(mask as libc::mode_t) };
}
