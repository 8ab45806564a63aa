//! Every option the daemon takes, in one table: [`OPTIONS`]. The command
//! line's parser and the config file's keys (`command_line`), `--help`
//! (`help`) and the "did you mean" hints are all read from it, so an option
//! is one row: its name, how it takes a value, its help, and how it sets
//! [`Options`].

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use log::LevelFilter;
use pocketftp_core::{Access, Cidr};

use crate::net::resolve_name::PasvAddress;
use crate::net::sockopt::Keepalive;
use crate::startup::internet::{add_pasv_map_entry, ban_count, keepalive};
use crate::startup::values::{
    address, age, boolean, durability, log_level, milliseconds, min_free, number, port_range,
    positive, rate, required, role, seconds, umask, MAX_LOGIN_DELAY_MS,
};
use crate::storage::durable::Durability;
use crate::storage::node::{NodeId, DEFAULT_FOREIGN_AFTER};
use crate::storage::s3::config::{Location, DEFAULT_REGION};
use crate::storage::space::MinFree;
use Kind::{Flag, Repeatable, Value};

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

/// Every option, in the order `--help` lists them.
pub const OPTIONS: &[Opt] = &[
    Opt {
        name: "config",
        kind: Value("FILE"),
        in_file: false,
        help: "key = value file; keys are these options without dashes",
        set: |o, v| assign(&mut o.config, Ok(Some(v.into()))),
    },
    Opt {
        name: "root",
        kind: Value("DIR"),
        in_file: true,
        help: "folder to serve (default: the current folder)",
        set: |o, v| assign(&mut o.root, Ok(v.into())),
    },
    Opt {
        name: "storage",
        kind: Value("s3://BUCKET[/PREFIX]"),
        in_file: true,
        help: "serve a bucket (or a prefix of one) instead of --root\n\
               keys: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or --s3-credentials",
        set: |o, v| assign(&mut o.storage, Location::parse(v).map(Some)),
    },
    Opt {
        name: "s3-endpoint",
        kind: Value("URL"),
        in_file: true,
        help: "the S3 server: http://HOST:PORT or https://HOST[:PORT]",
        set: |o, v| assign(&mut o.s3_endpoint, Ok(Some(v.to_owned()))),
    },
    Opt {
        name: "s3-region",
        kind: Value("NAME"),
        in_file: true,
        help: "the bucket's region, as signatures name it (default us-east-1)",
        set: |o, v| assign(&mut o.s3_region, Ok(v.to_owned())),
    },
    Opt {
        name: "s3-path-style",
        kind: Flag,
        in_file: true,
        help: "ask for ENDPOINT/BUCKET/KEY, not BUCKET.ENDPOINT/KEY (SeaweedFS, MinIO)",
        set: |o, v| assign(&mut o.s3_path_style, boolean(v)),
    },
    Opt {
        name: "s3-credentials",
        kind: Value("FILE"),
        in_file: true,
        help: "the keys, as AWS's credentials file ([default] section)",
        set: |o, v| assign(&mut o.s3_credentials, Ok(Some(v.into()))),
    },
    Opt {
        name: "s3-ca",
        kind: Value("FILE"),
        in_file: true,
        help: "CA certificates (PEM) an https endpoint's must chain to (default: the system's)",
        set: |o, v| assign(&mut o.s3_ca, Ok(Some(v.into()))),
    },
    Opt {
        name: "node-id",
        kind: Value("NAME"),
        in_file: true,
        help: "names this daemon's upload files (default: the host\n\
               name); each daemon on a shared folder needs its own",
        set: |o, v| assign(&mut o.node_id, NodeId::parse(v).map(Some)),
    },
    Opt {
        name: "sweep-foreign-after",
        kind: Value("S"),
        in_file: true,
        help: "other nodes' upload files count as a crash's once\n\
               unchanged for S seconds (default 86400)",
        set: |o, v| assign(&mut o.sweep_foreign_after, age(v)),
    },
    Opt {
        name: "dotfiles",
        kind: Flag,
        in_file: true,
        help: "serve names starting with a dot (.ssh, .env); without it they\n\
               are neither listed, read, written nor entered",
        set: |o, v| assign(&mut o.dotfiles, boolean(v)),
    },
    Opt {
        name: "run-as",
        kind: Value("USER"),
        in_file: true,
        help: "started as root: become USER once the ports are bound",
        set: |o, v| assign(&mut o.run_as, Ok(Some(v.to_owned()))),
    },
    Opt {
        name: "listen",
        kind: Repeatable("ADDR:PORT"),
        in_file: true,
        help: "address to listen on (default 0.0.0.0:52305)",
        set: |o, v| address(v).map(|a| o.add_listen(a)),
    },
    Opt {
        name: "banner",
        kind: Value("TEXT"),
        in_file: true,
        help: "text of the 220 welcome (default \"pocketftpd ready.\")",
        set: |o, v| assign(&mut o.banner, Ok(v.replace(['\r', '\n'], " "))),
    },
    Opt {
        name: "write",
        kind: Flag,
        in_file: true,
        help: "anonymous users may upload and change files (= --anonymous-role super)",
        set: |o, v| {
            let write = boolean(v)?;
            o.given_write = Some(write);
            assign(&mut o.anonymous_access, Ok(write_access(write)))
        },
    },
    Opt {
        name: "anonymous-role",
        kind: Value("ROLE"),
        in_file: true,
        help: "super | user | upload (a drop box) for anonymous sessions (default user)",
        set: |o, v| {
            let access = role(v)?;
            o.given_role = Some(access);
            assign(&mut o.anonymous_access, Ok(access))
        },
    },
    Opt {
        name: "upload-list-empty",
        kind: Flag,
        in_file: true,
        help: "the upload role's listings are empty: a drop box nobody can\n\
               look into",
        set: |o, v| assign(&mut o.upload_list_empty, boolean(v)),
    },
    Opt {
        name: "upload-replace-own",
        kind: Flag,
        in_file: true,
        help: "an upload account may replace a file it uploaded itself (a\n\
               camera's snapshot.jpg); anonymous sessions may not",
        set: |o, v| assign(&mut o.upload_replace_own, boolean(v)),
    },
    Opt {
        name: "users",
        kind: Value("FILE"),
        in_file: true,
        help: "users file (NAME:HASH:ROLE[:HOME] [quota=BYTES[,FILES]] lines);\n\
               turns anonymous login off",
        set: |o, v| assign(&mut o.users, Ok(Some(v.into()))),
    },
    Opt {
        name: "anonymous",
        kind: Flag,
        in_file: true,
        help: "keep anonymous login on alongside --users",
        set: |o, v| assign(&mut o.anonymous, boolean(v)),
    },
    Opt {
        name: "pasv-ports",
        kind: Value("LO-HI"),
        in_file: true,
        help: "passive port range (default: any free port)",
        set: |o, v| assign(&mut o.pasv_ports, port_range(v).map(Some)),
    },
    Opt {
        name: "pasv-address",
        kind: Value("IP|NAME"),
        in_file: true,
        help: "announced in 227 replies to clients on the\n\
               internet: the router's public IPv4 address, or a\n\
               (dynamic DNS) host name",
        set: |o, v| assign(&mut o.pasv_address, v.parse().map(Some)),
    },
    Opt {
        name: "pasv-address-refresh",
        kind: Value("S"),
        in_file: true,
        help: "seconds between lookups of a --pasv-address name\n\
               (default 300)",
        set: |o, v| assign(&mut o.pasv_address_refresh, positive(v).and_then(seconds)),
    },
    Opt {
        name: "pasv-address-map",
        kind: Repeatable("CIDR=IP"),
        in_file: true,
        help: "clients in network CIDR are told IP in 227 replies\n\
               (a VPN); without one, local clients are told the\n\
               address they reached",
        set: |o, v| add_pasv_map_entry(&mut o.pasv_address_map, v),
    },
    Opt {
        name: "max-clients",
        kind: Value("N"),
        in_file: true,
        help: "concurrent control connections (default 512)",
        set: |o, v| assign(&mut o.max_clients, positive(v)),
    },
    Opt {
        name: "max-per-ip",
        kind: Value("N"),
        in_file: true,
        help: "control connections per client address (default 32)",
        set: |o, v| assign(&mut o.max_per_ip, positive(v)),
    },
    Opt {
        name: "max-sessions-per-user",
        kind: Value("N"),
        in_file: true,
        help: "sessions one account of the users file may have at once;\n\
               beyond: 421 (default 0: no limit)",
        set: |o, v| {
            assign(
                &mut o.max_sessions_per_user,
                number(v).map(|n| (n > 0).then_some(n)),
            )
        },
    },
    Opt {
        name: "idle-timeout",
        kind: Value("S"),
        in_file: true,
        help: "seconds without a command before closing (default 300)",
        set: |o, v| assign(&mut o.idle_timeout, positive(v).and_then(seconds)),
    },
    Opt {
        name: "data-timeout",
        kind: Value("S"),
        in_file: true,
        help: "seconds to connect or without transfer progress (default 60)",
        set: |o, v| assign(&mut o.data_timeout, positive(v).and_then(seconds)),
    },
    Opt {
        name: "login-delay",
        kind: Value("MS"),
        in_file: true,
        help: "pause before answering a failed login (default 1000)",
        set: |o, v| assign(&mut o.login_delay, milliseconds(v, MAX_LOGIN_DELAY_MS)),
    },
    Opt {
        name: "max-login-failures",
        kind: Value("N"),
        in_file: true,
        help: "failed logins before closing (default 3)",
        set: |o, v| assign(&mut o.max_login_failures, positive(v)),
    },
    Opt {
        name: "tcp-keepalive",
        kind: Value("off|S"),
        in_file: true,
        help: "seconds of quiet before a control connection is\n\
               probed; 4 unanswered probes, a quarter of that\n\
               apart, close it (default 60)",
        set: |o, v| assign(&mut o.tcp_keepalive, keepalive(v)),
    },
    Opt {
        name: "ban-after",
        kind: Value("N"),
        in_file: true,
        help: "failed logins from one address that ban it\n\
               (default 10; 0: no bans); an IPv6 address counts\n\
               as its /64",
        set: |o, v| assign(&mut o.ban_after, ban_count(v)),
    },
    Opt {
        name: "ban-window",
        kind: Value("S"),
        in_file: true,
        help: "seconds within which they count (default 600)",
        set: |o, v| assign(&mut o.ban_window, positive(v).and_then(seconds)),
    },
    Opt {
        name: "ban-time",
        kind: Value("S"),
        in_file: true,
        help: "seconds of a first ban; each further one lasts\n\
               twice as long, up to a week (default 600)",
        set: |o, v| assign(&mut o.ban_time, positive(v).and_then(seconds)),
    },
    Opt {
        name: "ban-safelist",
        kind: Repeatable("CIDR"),
        in_file: true,
        help: "a network never banned (default loopback, which a\n\
               list given replaces)",
        set: |o, v| {
            v.parse()
                .map(|net| o.ban_safelist.get_or_insert_with(Vec::new).push(net))
        },
    },
    Opt {
        name: "shutdown-grace",
        kind: Value("S"),
        in_file: true,
        help: "on SIGTERM, seconds running transfers may finish (default 30)",
        set: |o, v| assign(&mut o.shutdown_grace, number(v).and_then(seconds)),
    },
    Opt {
        name: "log-level",
        kind: Value("LEVEL"),
        in_file: true,
        help: "error | warn | info | debug | trace (default info)",
        set: |o, v| assign(&mut o.log_level, log_level(v)),
    },
    Opt {
        name: "xferlog",
        kind: Value("FILE"),
        in_file: true,
        help: "append a line per file transfer, in xferlog format",
        set: |o, v| assign(&mut o.xferlog, Ok(Some(v.into()))),
    },
    Opt {
        name: "on-upload",
        kind: Value("PROGRAM"),
        in_file: true,
        help: "run PROGRAM (no shell) after each completed upload: argv[1]\n\
               is the path the client sees, POCKETFTPD_* variables the rest",
        set: |o, v| assign(&mut o.hooks.program, Ok(Some(v.into()))),
    },
    Opt {
        name: "hook-workers",
        kind: Value("N"),
        in_file: true,
        help: "upload hook programs running at once (default 2, at most 64)",
        set: |o, v| assign(&mut o.hooks.workers, positive(v).and_then(workers)),
    },
    Opt {
        name: "hook-timeout",
        kind: Value("S"),
        in_file: true,
        help: "seconds an upload hook may run before it is killed (default 60)",
        set: |o, v| assign(&mut o.hooks.timeout, positive(v).and_then(seconds)),
    },
    Opt {
        name: "on-upload-url",
        kind: Value("URL"),
        in_file: true,
        help: "POST each completed upload as JSON to this http:// or\n\
               https:// URL (retried 5 times, backing off)",
        set: |o, v| assign(&mut o.hooks.url, Ok(Some(v.to_owned()))),
    },
    Opt {
        name: "on-upload-ca",
        kind: Value("FILE"),
        in_file: true,
        help: "PEM CA certificates the webhook's server is checked with\n\
               (default: the system's, in /etc/ssl/certs)",
        set: |o, v| assign(&mut o.hooks.ca, Ok(Some(v.into()))),
    },
    Opt {
        name: "on-upload-header-file",
        kind: Value("FILE"),
        in_file: true,
        help: "a file whose one line (Name: value) the webhook sends as a\n\
               header, e.g. Authorization (kept out of ps)",
        set: |o, v| assign(&mut o.hooks.header_file, Ok(Some(v.into()))),
    },
    Opt {
        name: "on-upload-timeout",
        kind: Value("S"),
        in_file: true,
        help: "seconds one webhook attempt may take (default 10)",
        set: |o, v| assign(&mut o.hooks.url_timeout, positive(v).and_then(seconds)),
    },
    Opt {
        name: "umask",
        kind: Value("OCTAL"),
        in_file: true,
        help: "permission bits new uploads and folders lack (default 022:\n\
               files 644, folders 755)",
        set: |o, v| assign(&mut o.umask, umask(v)),
    },
    Opt {
        name: "sync",
        kind: Value("WHAT"),
        in_file: true,
        help: "uploads | all | off: what a reply waits for the disk\n\
               to hold. uploads (default): after a 226 the file\n\
               survives a power cut; all: MKD, RMD, DELE and RNTO\n\
               too; off: nothing synced, small uploads go faster,\n\
               and a power cut may lose them",
        set: |o, v| assign(&mut o.sync, durability(v)),
    },
    Opt {
        name: "tls-cert",
        kind: Value("FILE"),
        in_file: true,
        help: "PEM certificate chain; with --tls-key turns FTPS on (AUTH TLS)",
        set: |o, v| assign(&mut o.tls_cert, Ok(Some(v.into()))),
    },
    Opt {
        name: "tls-key",
        kind: Value("FILE"),
        in_file: true,
        help: "PEM private key (ECDSA, Ed25519 or RSA)",
        set: |o, v| assign(&mut o.tls_key, Ok(Some(v.into()))),
    },
    Opt {
        name: "tls-required",
        kind: Flag,
        in_file: true,
        help: "every login needs AUTH TLS first, every transfer PROT P",
        set: |o, v| assign(&mut o.tls_required, boolean(v)),
    },
    Opt {
        name: "tls-session-reuse",
        kind: Value("required|off"),
        in_file: true,
        help: "a protected data connection must resume a TLS\n\
               session of its user's from its address (default\n\
               required: another client there cannot take it)",
        set: |o, v| assign(&mut o.tls_session_reuse, required(v)),
    },
    Opt {
        name: "tls-close-notify",
        kind: Value("required|off"),
        in_file: true,
        help: "a protected upload must end with TLS\n\
               close_notify, or it is broken and the old file\n\
               kept (default required)",
        set: |o, v| assign(&mut o.tls_close_notify, required(v)),
    },
    Opt {
        name: "listen-tls",
        kind: Repeatable("ADDR:PORT"),
        in_file: true,
        help: "implicit FTPS listener (TLS from the first byte; usually\n\
               port 990)",
        set: |o, v| address(v).map(|a| o.listen_tls.push(a)),
    },
    Opt {
        name: "proxy-protocol",
        kind: Repeatable("ADDR:PORT"),
        in_file: true,
        help: "the --listen or --listen-tls listener at ADDR:PORT\n\
               takes connections from a load balancer that sends\n\
               a PROXY protocol header (v1 or v2) first; others\n\
               are closed",
        set: |o, v| address(v).map(|a| o.proxy_protocol.push(a)),
    },
    Opt {
        name: "max-rate-down",
        kind: Value("RATE"),
        in_file: true,
        help: "per-session download limit, bytes/s; K/M/G suffixes are\n\
               1024-based (10M); 0 means no limit (the default)",
        set: |o, v| assign(&mut o.max_rate_down, rate(v)),
    },
    Opt {
        name: "max-rate-up",
        kind: Value("RATE"),
        in_file: true,
        help: "per-session upload limit",
        set: |o, v| assign(&mut o.max_rate_up, rate(v)),
    },
    Opt {
        name: "max-rate",
        kind: Value("RATE"),
        in_file: true,
        help: "all sessions together, both directions",
        set: |o, v| assign(&mut o.max_rate, rate(v)),
    },
    Opt {
        name: "min-free",
        kind: Value("SIZE|PERCENT"),
        in_file: true,
        help: "uploads get 452 (and one under way is cut, leaving no\n\
               partial file) when the file system's free space is below\n\
               this: 200M, 2G or a share, 5% (default 1%; 0 turns it off;\n\
               a bucket, --storage s3://, is not measured)",
        set: |o, v| assign(&mut o.min_free, min_free(v)),
    },
    Opt {
        name: "admin-listen",
        kind: Repeatable("ADDR:PORT"),
        in_file: true,
        help: "admin listener: status page, /metrics, /healthz, kick (off by\n\
               default; an address other than loopback needs --admin-token-file)",
        set: |o, v| address(v).map(|a| o.admin_listen.push(a)),
    },
    Opt {
        name: "admin-token-file",
        kind: Value("FILE"),
        in_file: true,
        help: "bearer token the admin listener asks of clients not on loopback",
        set: |o, v| assign(&mut o.admin_token_file, Ok(Some(v.into()))),
    },
];

/// A setter's one step: the parsed value into its field, or the parser's
/// error.
fn assign<T>(field: &mut T, value: Result<T, String>) -> Result<(), String> {
    *field = value?;
    Ok(())
}

/// `--write` is `--anonymous-role super`; `write = false`, read-only.
fn write_access(write: bool) -> Access {
    if write {
        Access::Super
    } else {
        Access::ReadOnly
    }
}

/// The option spelled `name` (without dashes, exactly).
pub fn find(name: &str) -> Option<&'static Opt> {
    OPTIONS.iter().find(|opt| opt.name == name)
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

/// What runs when an upload completed (`crate::hooks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookOptions {
    /// `--on-upload`.
    pub program: Option<PathBuf>,
    pub workers: usize,
    pub timeout: Duration,
    /// `--on-upload-url`, parsed when the hooks are made.
    pub url: Option<String>,
    pub ca: Option<PathBuf>,
    pub header_file: Option<PathBuf>,
    pub url_timeout: Duration,
}

impl Default for HookOptions {
    fn default() -> Self {
        HookOptions {
            program: None,
            workers: 2,
            timeout: Duration::from_secs(60),
            url: None,
            ca: None,
            header_file: None,
            url_timeout: Duration::from_secs(10),
        }
    }
}

/// `--hook-workers`: at most [`MAX_WORKERS`](crate::hooks::MAX_WORKERS).
fn workers(n: usize) -> Result<usize, String> {
    let max = crate::hooks::MAX_WORKERS;
    if n > max {
        return Err(format!("at most {max}"));
    }
    Ok(n)
}

impl Options {
    fn add_listen(&mut self, addr: SocketAddr) {
        if std::mem::take(&mut self.listen_from_file) {
            self.listen.clear();
        }
        self.listen.push(addr);
    }

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
        for (i, opt) in OPTIONS.iter().enumerate() {
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
                OPTIONS[..i].iter().all(|other| other.name != name),
                "{name} twice"
            );
            assert!(
                !opt.help.is_empty() && !opt.help.ends_with('\n'),
                "{name}: help"
            );
            if opt.kind == Flag {
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
