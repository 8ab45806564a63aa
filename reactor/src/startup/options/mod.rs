//! Every option the daemon takes, in one table: [`all`], the rows of one
//! file per concern (`GROUPS`, in the order `--help` lists them). The
//! command line's parser and the config file's keys (`command_line`),
//! `--help` (`help`) and the "did you mean" hints are all read from it, so
//! an option is one row: its name, how it takes a value, its help, and how
//! it sets [`Options`].

mod admin;
mod files;
mod hooks;
mod limits;
mod logins;
mod logs;
mod served;
mod sessions;
mod tls;

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use log::LevelFilter;
use pocketftp_core::{Access, Cidr};

use crate::net::resolve_name::PasvAddress;
use crate::net::sockopt::Keepalive;
use crate::storage::durable::Durability;
use crate::storage::node::{NodeId, DEFAULT_FOREIGN_AFTER};
use crate::storage::s3::config::{Location, DEFAULT_REGION};
use crate::storage::space::MinFree;

pub use hooks::HookOptions;

/// How an option takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--write`: nothing follows it on the command line; in the config file
    /// it takes `true` or `false`.
    Flag,
    /// `--root DIR`: one value (given twice, the last one counts), and what
    /// `--help` calls it.
    Value(&'static str),
    /// `--listen ADDR:PORT`: each time adds one.
    Repeatable(&'static str),
}

/// One option.
pub struct Opt {
    /// Without dashes: `--name` on the command line, `name =` in the file.
    pub name: &'static str,
    pub kind: Kind,
    /// Whether the config file may set it (`--config` itself may not).
    pub in_file: bool,
    /// Its `--help` text; each `\n` continues it on a line of its own.
    pub help: &'static str,
    /// Applies one value: the word given (`true` for a flag on the command
    /// line), or an error saying what was expected.
    pub set: fn(&mut Options, &str) -> Result<(), String>,
}

/// Every option, a table per concern, in the order `--help` lists them.
const GROUPS: &[&[Opt]] = &[
    served::SERVED,
    logins::LOGINS,
    sessions::SESSIONS,
    logs::LOGS,
    hooks::HOOKS,
    files::FILES,
    tls::TLS,
    limits::LIMITS,
    admin::ADMIN,
];

/// Every option, in the order `--help` lists them.
pub fn all() -> impl Iterator<Item = &'static Opt> + Clone {
    GROUPS.iter().flat_map(|group| group.iter())
}

/// A setter's one step: the parsed value into its field, or the parser's
/// error.
fn assign<T>(field: &mut T, value: Result<T, String>) -> Result<(), String> {
    *field = value?;
    Ok(())
}

/// The option spelled `name` (without dashes, exactly).
pub fn find(name: &str) -> Option<&'static Opt> {
    all().find(|opt| opt.name == name)
}

/// Everything the daemon is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `--config`: the file read before the command line's other options.
    pub config: Option<PathBuf>,
    pub root: PathBuf,
    /// `--storage s3://...`: a bucket served instead of `root`, with the
    /// `s3_*` options below.
    pub storage: Option<Location>,
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
    pub s3_path_style: bool,
    pub s3_credentials: Option<PathBuf>,
    pub s3_ca: Option<PathBuf>,
    /// `--node-id`; `None`: the host name.
    pub node_id: Option<NodeId>,
    /// `--sweep-foreign-after`: see `storage/node.rs`.
    pub sweep_foreign_after: Duration,
    pub listen: Vec<SocketAddr>,
    pub banner: String,
    /// What anonymous sessions may do (`--anonymous-role`; `--write` is
    /// `super`).
    pub anonymous_access: Access,
    /// What `--write` and `--anonymous-role` said, when given: both set
    /// `anonymous_access` (the last one given counts), and a warning says
    /// when they disagree.
    pub given_write: Option<bool>,
    pub given_role: Option<Access>,
    pub users: Option<PathBuf>,
    pub anonymous: bool,
    /// `--dotfiles`: names starting with a dot are served.
    pub dotfiles: bool,
    /// `--upload-list-empty`: the upload role lists nothing.
    pub upload_list_empty: bool,
    /// `--upload-replace-own`: an upload account replaces its own uploads.
    pub upload_replace_own: bool,
    pub pasv_ports: Option<RangeInclusive<u16>>,
    pub pasv_address: Option<PasvAddress>,
    /// How often a `--pasv-address` name is looked up again.
    pub pasv_address_refresh: Duration,
    /// `--pasv-address-map`: disjoint networks, each with its address.
    pub pasv_address_map: Vec<(Cidr, Ipv4Addr)>,
    pub max_clients: usize,
    pub max_per_ip: usize,
    pub max_sessions_per_user: Option<usize>,
    pub idle_timeout: Duration,
    pub data_timeout: Duration,
    pub login_delay: Duration,
    pub max_login_failures: u32,
    /// `None`: off.
    pub tcp_keepalive: Option<Keepalive>,
    /// Failed logins that ban an address; `None`: no bans.
    pub ban_after: Option<u32>,
    pub ban_window: Duration,
    pub ban_time: Duration,
    /// `None`: the default, loopback.
    pub ban_safelist: Option<Vec<Cidr>>,
    pub shutdown_grace: Duration,
    pub log_level: LevelFilter,
    pub xferlog: Option<PathBuf>,
    /// Bits taken from the mode of uploaded files (0666) and made folders (0777).
    pub umask: u32,
    /// What a reply waits for the disk to hold (`--sync`).
    pub sync: Durability,
    pub run_as: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_required: bool,
    /// `--tls-session-reuse required`: see `net/tls.rs`.
    pub tls_session_reuse: bool,
    /// `--tls-close-notify required`: see `net/tls.rs`.
    pub tls_close_notify: bool,
    /// Implicit FTPS listeners.
    pub listen_tls: Vec<SocketAddr>,
    /// Listeners whose connections start with a PROXY protocol header.
    pub proxy_protocol: Vec<SocketAddr>,
    /// `--on-upload`, `--on-upload-url` and theirs.
    pub hooks: HookOptions,
    /// Bandwidth limits in bytes/s; `None` is no limit.
    pub max_rate_down: Option<u64>,
    pub max_rate_up: Option<u64>,
    pub max_rate: Option<u64>,
    /// `--min-free`: see `storage/space.rs`.
    pub min_free: MinFree,
    /// `--admin-listen`: the admin listener's addresses (none: off).
    pub admin_listen: Vec<SocketAddr>,
    pub admin_token_file: Option<PathBuf>,
    /// `listen` still holds what the config file said: the first `--listen`
    /// on the command line replaces it rather than adding to it.
    listen_from_file: bool,
    /// The options whose value the config file gave (and no flag replaced),
    /// so that a message about them names the key, not the flag.
    from_file: Vec<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config: None,
            root: PathBuf::from("."),
            storage: None,
            s3_endpoint: None,
            s3_region: DEFAULT_REGION.to_owned(),
            s3_path_style: false,
            s3_credentials: None,
            s3_ca: None,
            node_id: None,
            sweep_foreign_after: DEFAULT_FOREIGN_AFTER,
            listen: Vec::new(),
            banner: "pocketftpd ready.".to_owned(),
            anonymous_access: Access::ReadOnly,
            given_write: None,
            given_role: None,
            users: None,
            anonymous: false,
            dotfiles: false,
            upload_list_empty: false,
            upload_replace_own: false,
            pasv_ports: None,
            pasv_address: None,
            pasv_address_refresh: Duration::from_secs(300),
            pasv_address_map: Vec::new(),
            max_clients: 512,
            max_per_ip: 32,
            max_sessions_per_user: None,
            idle_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(60),
            login_delay: Duration::from_millis(1000),
            max_login_failures: 3,
            tcp_keepalive: Some(Keepalive {
                idle: Duration::from_secs(60),
            }),
            ban_after: Some(10),
            ban_window: Duration::from_secs(600),
            ban_time: Duration::from_secs(600),
            ban_safelist: None,
            shutdown_grace: Duration::from_secs(30),
            log_level: LevelFilter::Info,
            xferlog: None,
            umask: 0o022,
            sync: Durability::Uploads,
            run_as: None,
            tls_cert: None,
            tls_key: None,
            tls_required: false,
            tls_session_reuse: true,
            tls_close_notify: true,
            listen_tls: Vec::new(),
            proxy_protocol: Vec::new(),
            hooks: HookOptions::default(),
            max_rate_down: None,
            max_rate_up: None,
            max_rate: None,
            min_free: MinFree::Percent(1),
            admin_listen: Vec::new(),
            admin_token_file: None,
            listen_from_file: false,
            from_file: Vec::new(),
        }
    }
}

impl Options {
    /// `name` was set, by the config file (`in_file`) or by a flag.
    pub(super) fn set_by(&mut self, name: &'static str, in_file: bool) {
        self.from_file.retain(|given| *given != name);
        if in_file {
            self.from_file.push(name);
        }
    }

    /// How a message names the option `name`: as the config file's key
    /// (`tls-key`) when the option `like` (the one the message is about)
    /// came from the file, else as a flag (`--tls-key`).
    pub fn spelled(&self, name: &str, like: &str) -> String {
        if self.from_file.contains(&like) {
            name.to_owned()
        } else {
            format!("--{name}")
        }
    }

    /// The config file has been read: what follows comes from the command
    /// line.
    pub(super) fn file_read(&mut self) {
        self.listen_from_file = !self.listen.is_empty();
    }

    /// `[::]:P` already takes IPv4 connections on port P (the daemon binds
    /// it dual-stack), so `0.0.0.0:P` beside it could only fail with
    /// "Address already in use": say so before binding.
    pub(super) fn check_listeners(&self) -> Result<(), String> {
        let all = self.listen.iter().chain(&self.listen_tls);
        for v6 in all
            .clone()
            .filter(|a| a.is_ipv6() && a.ip().is_unspecified())
        {
            let port = v6.port();
            if all.clone().any(|a| a.is_ipv4() && a.port() == port) {
                return Err(format!(
                    "listen: {v6} already serves IPv4 too: drop the IPv4 address with port {port}"
                ));
            }
        }
        Ok(())
    }

    /// Whether anonymous sessions may log in: always without a users file,
    /// with one only with `--anonymous`.
    pub fn anonymous_login(&self) -> bool {
        self.users.is_none() || self.anonymous
    }

    /// The addresses to listen on (the default when none was given).
    pub fn listen_addresses(&self) -> Vec<SocketAddr> {
        if self.listen.is_empty() {
            vec![SocketAddr::from(([0, 0, 0, 0], 52305))]
        } else {
            self.listen.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::startup::command_line::tests::run;

    #[test]
    fn the_table_is_well_formed() {
        let options: Vec<&Opt> = all().collect();
        for (i, opt) in options.iter().enumerate() {
            let name = opt.name;
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !name.starts_with('-'),
                "{name}: a name is lowercase words joined by dashes"
            );
            assert!(
                !matches!(name, "help" | "version"),
                "{name}: answered before the table is read"
            );
            assert!(
                options[..i].iter().all(|other| other.name != name),
                "{name} twice"
            );
            assert!(
                !opt.help.is_empty() && !opt.help.ends_with('\n'),
                "{name}: help"
            );
            if opt.kind == Kind::Flag {
                // `--write` sets `true`; the config file may say either.
                let mut o = Options::default();
                assert_eq!((opt.set)(&mut o, "true"), Ok(()), "{name}");
                assert_eq!((opt.set)(&mut o, "false"), Ok(()), "{name}");
            }
        }
    }

    #[test]
    fn defaults() {
        let o = run(&[]).unwrap();
        assert_eq!(o.root, PathBuf::from("."));
        assert_eq!(o.listen_addresses(), vec!["0.0.0.0:52305".parse().unwrap()]);
        assert_eq!(o.anonymous_access, Access::ReadOnly);
        assert!(!o.anonymous && o.users.is_none());
        assert_eq!(
            (o.max_clients, o.max_per_ip, o.max_login_failures),
            (512, 32, 3)
        );
        assert_eq!(o.idle_timeout, Duration::from_secs(300));
        assert_eq!(
            (o.node_id, o.sweep_foreign_after),
            (None, Duration::from_secs(86400))
        );
    }

    #[test]
    fn every_option() {
        let o = run(&[
            "--root",
            "/srv",
            "--listen",
            "127.0.0.1:2121",
            "--listen=[::1]:2121",
            "--banner",
            "hi",
            "--write",
            "--users",
            "/etc/u",
            "--anonymous",
            "--pasv-ports",
            "50000-50010",
            "--pasv-address",
            "192.0.2.1",
            "--max-clients",
            "5",
            "--max-per-ip",
            "2",
            "--idle-timeout",
            "30",
            "--data-timeout",
            "7",
            "--login-delay",
            "0",
            "--max-login-failures",
            "9",
            "--log-level",
            "debug",
            "--node-id",
            "pi-kitchen",
            "--sweep-foreign-after",
            "0",
        ])
        .unwrap();
        assert_eq!(o.root, PathBuf::from("/srv"));
        assert_eq!(
            o.listen_addresses(),
            vec![
                "127.0.0.1:2121".parse().unwrap(),
                "[::1]:2121".parse().unwrap()
            ]
        );
        assert_eq!(
            (
                o.banner.as_str(),
                o.anonymous_access == Access::Super,
                o.anonymous
            ),
            ("hi", true, true)
        );
        assert_eq!(o.users, Some(PathBuf::from("/etc/u")));
        assert_eq!(o.pasv_ports, Some(50000..=50010));
        let pasv_address = Some(PasvAddress::Ip(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(o.pasv_address, pasv_address);
        assert_eq!(
            (o.max_clients, o.max_per_ip, o.max_login_failures),
            (5, 2, 9)
        );
        assert_eq!(
            (o.idle_timeout, o.data_timeout),
            (Duration::from_secs(30), Duration::from_secs(7))
        );
        assert_eq!(
            (o.login_delay, o.log_level),
            (Duration::ZERO, LevelFilter::Debug)
        );
        assert_eq!(
            (
                o.node_id.as_ref().map(NodeId::as_str),
                o.sweep_foreign_after
            ),
            (Some("pi-kitchen"), Duration::ZERO)
        );
    }
}
