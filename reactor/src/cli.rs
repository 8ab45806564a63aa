//! The command line (README "Run it", `--help`) and `--config FILE`.
//!
//! Both feed one [`Options::set`]: the config file's settings first, then the
//! command line's, so a flag overrides the file.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use log::LevelFilter;

use pocketftp_core::Access;

use crate::config_file;
use crate::rate;

/// `pocketftpd hash-password --help`.
pub const HASH_PASSWORD_USAGE: &str = "\
Usage: pocketftpd hash-password

Reads a password (at a terminal: prompts for it without echoing it; from
a pipe: one line) and prints its argon2id hash for a users file line
NAME:HASH:ROLE, for example:

  echo 'a long passphrase' | pocketftpd hash-password
";

pub const USAGE: &str = "\
pocketftpd — a small, fast, safe FTP server

Usage:
  pocketftpd [OPTIONS]          run the daemon (foreground; logs to stderr)
  pocketftpd hash-password      read a password, print its hash for a users file
  pocketftpd --help | --version

Options:
  --config FILE           key = value file; keys are these options without dashes
  --root DIR              folder to serve (default: the current folder)
  --run-as USER           started as root: become USER once the ports are bound
  --listen ADDR:PORT      address to listen on, repeatable (default 0.0.0.0:52305)
  --banner TEXT           text of the 220 welcome (default \"pocketftpd ready.\")
  --write                 anonymous users may upload and change files (= --anonymous-role super)
  --anonymous-role ROLE   super | user | upload (a drop box) for anonymous sessions (default user)
  --users FILE            users file (NAME:HASH:ROLE lines); turns anonymous login off
  --anonymous             keep anonymous login on alongside --users
  --pasv-ports LO-HI      passive port range (default: any free port)
  --pasv-address IP       IPv4 address announced in 227 replies (NAT)
  --max-clients N         concurrent control connections (default 512)
  --max-per-ip N          control connections per client address (default 32)
  --idle-timeout S        seconds without a command before closing (default 300)
  --data-timeout S        seconds to connect or without transfer progress (default 60)
  --login-delay MS        pause before answering a failed login (default 1000)
  --max-login-failures N  failed logins before closing (default 3)
  --shutdown-grace S      on SIGTERM, seconds running transfers may finish (default 30)
  --log-level LEVEL       error | warn | info | debug | trace (default info)
  --xferlog FILE          append a line per file transfer, in xferlog format
  --umask OCTAL           permission bits new uploads and folders lack (default 022:
                          files 644, folders 755)
  --tls-cert FILE         PEM certificate chain; with --tls-key turns FTPS on (AUTH TLS)
  --tls-key FILE          PEM private key (ECDSA, Ed25519 or RSA)
  --tls-required          every login needs AUTH TLS first, every transfer PROT P
  --listen-tls ADDR:PORT  implicit FTPS listener (TLS from the first byte; usually
                          port 990), repeatable
  --max-rate-down RATE    per-session download limit, bytes/s; K/M/G suffixes are
                          1024-based (10M); 0 means no limit (the default)
  --max-rate-up RATE      per-session upload limit
  --max-rate RATE         all sessions together, both directions
";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(Box<Options>),
    HashPassword,
    HashPasswordHelp,
    Help,
    Version,
}

/// Everything the daemon is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub root: PathBuf,
    pub listen: Vec<SocketAddr>,
    pub banner: String,
    /// What anonymous sessions may do (`--anonymous-role`; `--write` is
    /// `super`).
    pub anonymous_access: Access,
    pub users: Option<PathBuf>,
    pub anonymous: bool,
    pub pasv_ports: Option<RangeInclusive<u16>>,
    pub pasv_address: Option<Ipv4Addr>,
    pub max_clients: usize,
    pub max_per_ip: usize,
    pub idle_timeout: Duration,
    pub data_timeout: Duration,
    pub login_delay: Duration,
    pub max_login_failures: u32,
    pub shutdown_grace: Duration,
    pub log_level: LevelFilter,
    pub xferlog: Option<PathBuf>,
    /// Bits taken from the mode of uploaded files (0666) and made folders (0777).
    pub umask: u32,
    pub run_as: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_required: bool,
    /// Implicit FTPS listeners.
    pub listen_tls: Vec<SocketAddr>,
    /// Bandwidth limits in bytes/s; `None` is no limit.
    pub max_rate_down: Option<u64>,
    pub max_rate_up: Option<u64>,
    pub max_rate: Option<u64>,
    /// `listen` still holds what the config file said: the first `--listen`
    /// on the command line replaces it rather than adding to it.
    listen_from_file: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            root: PathBuf::from("."),
            listen: Vec::new(),
            banner: "pocketftpd ready.".to_owned(),
            anonymous_access: Access::ReadOnly,
            users: None,
            anonymous: false,
            pasv_ports: None,
            pasv_address: None,
            max_clients: 512,
            max_per_ip: 32,
            idle_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(60),
            login_delay: Duration::from_millis(1000),
            max_login_failures: 3,
            shutdown_grace: Duration::from_secs(30),
            log_level: LevelFilter::Info,
            xferlog: None,
            umask: 0o022,
            run_as: None,
            tls_cert: None,
            tls_key: None,
            tls_required: false,
            listen_tls: Vec::new(),
            max_rate_down: None,
            max_rate_up: None,
            max_rate: None,
            listen_from_file: false,
        }
    }
}

/// Where a setting came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    File,
    CommandLine,
}

/// Options that take no value.
const FLAGS: [&str; 3] = ["write", "anonymous", "tls-required"];

/// Every option [`Options::set`] knows, for "did you mean" hints.
const KNOWN: [&str; 30] = [
    "root",
    "listen",
    "listen-tls",
    "tls-cert",
    "tls-key",
    "tls-required",
    "banner",
    "write",
    "anonymous",
    "anonymous-role",
    "users",
    "umask",
    "xferlog",
    "run-as",
    "pasv-ports",
    "pasv-address",
    "max-clients",
    "max-per-ip",
    "idle-timeout",
    "data-timeout",
    "login-delay",
    "max-login-failures",
    "shutdown-grace",
    "max-rate-down",
    "max-rate-up",
    "max-rate",
    "log-level",
    "config",
    "help",
    "version",
];

impl Options {
    /// Applies one option by its name without dashes.
    fn set(&mut self, key: &str, value: &str, origin: Origin) -> Result<(), String> {
        match key {
            "root" => self.root = PathBuf::from(value),
            "listen" => {
                let addr = address(value)?;
                if origin == Origin::CommandLine && self.listen_from_file {
                    self.listen.clear();
                }
                self.listen_from_file = origin == Origin::File;
                self.listen.push(addr);
            }
            "listen-tls" => self.listen_tls.push(address(value)?),
            "tls-cert" => self.tls_cert = Some(PathBuf::from(value)),
            "tls-key" => self.tls_key = Some(PathBuf::from(value)),
            "tls-required" => self.tls_required = boolean(value)?,
            "banner" => self.banner = value.replace(['\r', '\n'], " "),
            "write" => {
                self.anonymous_access = match boolean(value)? {
                    true => Access::Super,
                    false => Access::ReadOnly,
                }
            }
            "anonymous-role" => {
                self.anonymous_access = Access::from_role(value)
                    .ok_or_else(|| format!("{value:?} is not super, user or upload"))?;
            }
            "anonymous" => self.anonymous = boolean(value)?,
            "users" => self.users = Some(PathBuf::from(value)),
            "xferlog" => self.xferlog = Some(PathBuf::from(value)),
            "umask" => self.umask = umask(value)?,
            "run-as" => self.run_as = Some(value.to_owned()),
            "pasv-ports" => self.pasv_ports = Some(port_range(value)?),
            "pasv-address" => {
                self.pasv_address = Some(
                    value
                        .parse()
                        .map_err(|_| format!("{value:?} is not an IPv4 address"))?,
                );
            }
            "max-clients" => self.max_clients = positive(value)?,
            "max-per-ip" => self.max_per_ip = positive(value)?,
            "idle-timeout" => self.idle_timeout = seconds(positive(value)?)?,
            "data-timeout" => self.data_timeout = seconds(positive(value)?)?,
            "login-delay" => {
                let ms = at_most(number(value)?, MAX_LOGIN_DELAY_MS, "milliseconds")?;
                self.login_delay = Duration::from_millis(ms);
            }
            "max-login-failures" => self.max_login_failures = positive(value)?,
            "shutdown-grace" => self.shutdown_grace = seconds(number(value)?)?,
            "max-rate-down" => self.max_rate_down = rate(value)?,
            "max-rate-up" => self.max_rate_up = rate(value)?,
            "max-rate" => self.max_rate = rate(value)?,
            "log-level" => {
                self.log_level = match value.to_ascii_lowercase().as_str() {
                    "off" => LevelFilter::Off,
                    "error" => LevelFilter::Error,
                    "warn" => LevelFilter::Warn,
                    "info" => LevelFilter::Info,
                    "debug" => LevelFilter::Debug,
                    "trace" => LevelFilter::Trace,
                    _ => {
                        return Err(format!(
                            "{value:?} is not one of error, warn, info, debug, trace"
                        ))
                    }
                }
            }
            _ => return Err(unknown_option(key, Some(value), origin)),
        }
        Ok(())
    }

    /// The certificate and key files, when FTPS is on; an error for half
    /// a pair, or for TLS options without one.
    pub fn tls_files(&self) -> Result<Option<(&PathBuf, &PathBuf)>, String> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (Some(_), None) => Err("--tls-cert needs --tls-key".to_owned()),
            (None, Some(_)) => Err("--tls-key needs --tls-cert".to_owned()),
            (None, None) if self.tls_required || !self.listen_tls.is_empty() => {
                Err("--tls-required and --listen-tls need --tls-cert and --tls-key".to_owned())
            }
            (None, None) => Ok(None),
        }
    }

    /// Who may do what, for the start-up line: what is true, not what
    /// the default would be (`--write` means nothing when anonymous is off).
    pub fn access_summary(&self) -> String {
        let anonymous = match (
            self.users.is_some() && !self.anonymous,
            self.anonymous_access,
        ) {
            (true, _) => "anonymous off",
            (false, Access::Super) => "anonymous may write",
            (false, Access::ReadOnly) => "anonymous read-only",
            (false, Access::Upload) => "anonymous upload-only",
        };
        let users = match &self.users {
            Some(path) => format!("users from {}", path.display()),
            None => "no users file".to_owned(),
        };
        let tls = match (self.tls_cert.is_some(), self.tls_required) {
            (true, true) => ", TLS required",
            (true, false) => ", TLS offered",
            (false, _) => "",
        };
        format!("{anonymous}, {users}{tls}")
    }

    /// `[::]:P` already takes IPv4 connections on port P (the daemon binds
    /// it dual-stack), so `0.0.0.0:P` beside it could only fail with
    /// "Address already in use": say so before binding.
    fn check_listeners(&self) -> Result<(), String> {
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

    /// The addresses to listen on (the default when none was given).
    pub fn listen_addresses(&self) -> Vec<SocketAddr> {
        if self.listen.is_empty() {
            vec![SocketAddr::from(([0, 0, 0, 0], 52305))]
        } else {
            self.listen.clone()
        }
    }
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let mut given: Vec<(String, String)> = Vec::new();
    let mut config = None;
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Value(word) if word == "hash-password" && given.is_empty() => {
                return hash_password_arguments(parser)
            }
            Value(word) => {
                return Err(format!(
                    "unexpected argument {:?} (see --help)",
                    word.to_string_lossy()
                ))
            }
            Long("config") => {
                config = Some(PathBuf::from(parser.value().map_err(|e| e.to_string())?))
            }
            Long(name) if FLAGS.contains(&name) => given.push((name.to_owned(), "true".to_owned())),
            // Before taking a value: `--writ` at the end is a typo, not a
            // missing argument.
            Long(name) if !KNOWN.contains(&name) => {
                let name = name.to_owned();
                // `--port 2121`: the port goes into the hint.
                let value = if name == "port" {
                    parser.value().ok()
                } else {
                    parser.optional_value()
                };
                let value = value.map(|v| v.to_string_lossy().into_owned());
                let why = unknown_option(&name, value.as_deref(), Origin::CommandLine);
                return Err(format!("--{name}: {why}"));
            }
            Long(name) => {
                let name = name.to_owned();
                let value = parser.value().map_err(|e| format!("--{name}: {e}"))?;
                let value = value
                    .into_string()
                    .map_err(|_| format!("--{name}: the value is not UTF-8"))?;
                given.push((name, value));
            }
            Short(c) => return Err(format!("unknown option -{c} (see --help)")),
        }
    }
    let options = options_from(config, given)?;
    Ok(Command::Run(Box::new(options)))
}

/// The config file's settings, then the command line's over them.
fn options_from(config: Option<PathBuf>, given: Vec<(String, String)>) -> Result<Options, String> {
    let mut options = Options::default();
    if let Some(path) = config {
        for s in config_file::read(&path)? {
            options
                .set(&s.key, &s.value, Origin::File)
                .map_err(|why| format!("{}:{}: {}: {why}", path.display(), s.line, s.key))?;
        }
    }
    for (name, value) in given {
        options
            .set(&name, &value, Origin::CommandLine)
            .map_err(|why| format!("--{name}: {why}"))?;
    }
    options.check_listeners()?;
    Ok(options)
}

/// `hash-password [--help]`: nothing else follows it.
fn hash_password_arguments(mut parser: lexopt::Parser) -> Result<Command, String> {
    use lexopt::prelude::*;
    match parser.next().map_err(|e| e.to_string())? {
        None => Ok(Command::HashPassword),
        Some(Short('h') | Long("help")) => Ok(Command::HashPasswordHelp),
        Some(_) => Err("hash-password takes no arguments (see hash-password --help)".to_owned()),
    }
}

/// The error for an option nobody knows, with the hint that saves the
/// user an hour: `--port` is `--listen`, and a typo or an underscore gets
/// "did you mean" the nearest known option.
fn unknown_option(name: &str, value: Option<&str>, origin: Origin) -> String {
    let dashes = if origin == Origin::CommandLine {
        "--"
    } else {
        ""
    };
    let spelled = |option: &str| match origin {
        Origin::CommandLine => format!("--{option} "),
        Origin::File => format!("{option} = "),
    };
    if name.eq_ignore_ascii_case("port") {
        let port = value.filter(|v| v.parse::<u16>().is_ok()).unwrap_or("PORT");
        return format!(
            "unknown option: to listen on a port, use {}0.0.0.0:{port} (or [::]:{port} for IPv6 and IPv4)",
            spelled("listen")
        );
    }
    match nearest_option(name, origin) {
        Some(known) => format!("unknown option (did you mean {dashes}{known}?)"),
        None => "unknown option".to_owned(),
    }
}

/// The known option `name` most likely meant: the same after lowercasing
/// and turning `_` into `-`, or at most two edits away.
fn nearest_option(name: &str, origin: Origin) -> Option<&'static str> {
    let normal = name.to_ascii_lowercase().replace('_', "-");
    let command_line_only = |k: &str| matches!(k, "help" | "version" | "config");
    let candidates = (KNOWN.iter())
        .filter(|k| !matches!(**k, "help" | "version"))
        .filter(|k| origin == Origin::CommandLine || !command_line_only(k));
    let (distance, known) = candidates
        .map(|known| (edit_distance(&normal, known), *known))
        .min()?;
    let allowed = if normal.len() <= 4 { 1 } else { 2 };
    (distance <= allowed).then_some(known)
}

/// Levenshtein distance (insertions, deletions, substitutions), bytewise.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// `ADDR:PORT`, with the hint people need when it is not: IPv6 addresses
/// go in brackets, and a port alone needs an address.
fn address(value: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = value.parse() {
        return Ok(addr);
    }
    let mut why = format!("{value:?} is not ADDR:PORT");
    if let Ok(port) = value.parse::<u16>() {
        why += &format!(": give an address too, 0.0.0.0:{port} (or [::]:{port} for IPv6 and IPv4)");
    } else if let Some((host, port)) = value.rsplit_once(':') {
        if host.parse::<std::net::Ipv6Addr>().is_ok() && port.parse::<u16>().is_ok() {
            why += &format!(": an IPv6 address goes in brackets, [{host}]:{port}");
        }
    }
    Err(why)
}

/// `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`, in any case
/// (`write = YES` in a config file works).
fn boolean(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!(
            "{value:?} is not true or false (or yes/no, on/off, 1/0)"
        )),
    }
}

fn number<T: std::str::FromStr>(value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{value:?} is not a number"))
}

fn positive<T: std::str::FromStr + Default + PartialEq>(value: &str) -> Result<T, String> {
    let n: T = number(value)?;
    if n == T::default() {
        return Err("must be at least 1".to_owned());
    }
    Ok(n)
}

/// The longest timeout or shutdown grace, in seconds: a day. Longer is of
/// no use, and a huge one overflowed `Instant + Duration`, a panic at the
/// first connection.
const MAX_SECONDS: u64 = 24 * 3600;

/// The longest pause before answering a failed login, in milliseconds.
const MAX_LOGIN_DELAY_MS: u64 = 60_000;

/// A duration option given in seconds, at most [`MAX_SECONDS`].
fn seconds(n: u64) -> Result<Duration, String> {
    at_most(n, MAX_SECONDS, "seconds (a day)").map(Duration::from_secs)
}

fn at_most(n: u64, max: u64, unit: &str) -> Result<u64, String> {
    if n > max {
        return Err(format!("{n} is too long: at most {max} {unit}"));
    }
    Ok(n)
}

/// An octal umask of permission bits only (`022`, `0077`, `7`).
fn umask(value: &str) -> Result<u32, String> {
    pocketftp_core::parse_mode(value)
        .ok_or_else(|| format!("{value:?} is not an octal umask of at most 777 (such as 022)"))
}

/// A bandwidth in bytes/s: digits with an optional `K`, `M` or `G`
/// (1024-based, as `10M` means to people who count files); `0` is no limit,
/// so the command line can lift a limit the config file sets.
fn rate(value: &str) -> Result<Option<u64>, String> {
    let bad = || format!("{value:?} is not a rate in bytes/s such as 500K, 10M or 1G");
    let (digits, shift) = match value.as_bytes().last().map(u8::to_ascii_uppercase) {
        Some(b'K') => (&value[..value.len() - 1], 10),
        Some(b'M') => (&value[..value.len() - 1], 20),
        Some(b'G') => (&value[..value.len() - 1], 30),
        _ => (value, 0),
    };
    let n: u64 = digits.trim().parse().map_err(|_| bad())?;
    if n == 0 {
        return Ok(None);
    }
    let bytes = n
        .checked_mul(1 << shift)
        .filter(|b| *b <= rate::MAX_RATE)
        .ok_or_else(|| format!("{value:?} is too fast: at most 1024G"))?;
    if bytes < rate::MIN_RATE {
        return Err(format!(
            "{value:?} is too slow: at least 1K (0 for no limit)"
        ));
    }
    Ok(Some(bytes))
}

fn port_range(value: &str) -> Result<RangeInclusive<u16>, String> {
    let bad = || format!("{value:?} is not LO-HI with 1 <= LO <= HI <= 65535");
    let (lo, hi) = value.split_once('-').ok_or_else(bad)?;
    let (lo, hi): (u16, u16) = (
        lo.trim().parse().map_err(|_| bad())?,
        hi.trim().parse().map_err(|_| bad())?,
    );
    if lo == 0 || lo > hi {
        return Err(bad());
    }
    Ok(lo..=hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::testing::TempDir;

    fn run(args: &[&str]) -> Result<Options, String> {
        match parse(args.iter().map(OsString::from))? {
            Command::Run(options) => Ok(*options),
            other => Err(format!("{other:?}")),
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
        assert_eq!(o.pasv_address, Some(Ipv4Addr::new(192, 0, 2, 1)));
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
    }

    #[test]
    fn rates_take_1024_based_suffixes() {
        let o = run(&[
            "--max-rate-down",
            "10M",
            "--max-rate-up",
            "512k",
            "--max-rate",
            "1G",
        ])
        .unwrap();
        assert_eq!(o.max_rate_down, Some(10 * 1024 * 1024));
        assert_eq!(o.max_rate_up, Some(512 * 1024));
        assert_eq!(o.max_rate, Some(1024 * 1024 * 1024));
        assert_eq!(run(&["--max-rate", "4096"]).unwrap().max_rate, Some(4096));
        // 0 lifts a limit the config file set.
        let o = run(&["--max-rate-down", "1M", "--max-rate-down", "0"]).unwrap();
        assert_eq!(o.max_rate_down, None);
        assert_eq!(run(&[]).unwrap().max_rate, None);
        let errors = [
            ("10X", "is not a rate in bytes/s"),
            ("M", "is not a rate in bytes/s"),
            ("-1M", "is not a rate in bytes/s"),
            ("1.5M", "is not a rate in bytes/s"),
            ("1000", "is too slow: at least 1K"),
            ("2048G", "is too fast: at most 1024G"),
            ("18446744073709551615K", "is too fast"),
        ];
        for (value, want) in errors {
            let got = run(&["--max-rate-up", value]).unwrap_err();
            assert!(got.starts_with("--max-rate-up: "), "{got}");
            assert!(got.contains(want), "{value}: {got}");
        }
    }

    #[test]
    fn port_and_listen_mistakes_get_the_right_hint() {
        let cases = [
            (
                &["--port", "2121"][..],
                "--port: unknown option: to listen on a port, use --listen 0.0.0.0:2121 (or [::]:2121 for IPv6 and IPv4)",
            ),
            (
                &["--port"],
                "--port: unknown option: to listen on a port, use --listen 0.0.0.0:PORT (or [::]:PORT for IPv6 and IPv4)",
            ),
            (
                &["--listen", "::1:2121"],
                "--listen: \"::1:2121\" is not ADDR:PORT: an IPv6 address goes in brackets, [::1]:2121",
            ),
            (
                &["--listen", "fe80::1:21"],
                "--listen: \"fe80::1:21\" is not ADDR:PORT: an IPv6 address goes in brackets, [fe80::1]:21",
            ),
            (
                &["--listen", "2121"],
                "--listen: \"2121\" is not ADDR:PORT: give an address too, 0.0.0.0:2121 (or [::]:2121 for IPv6 and IPv4)",
            ),
            (
                &["--listen", "[::]:21", "--listen", "0.0.0.0:21"],
                "listen: [::]:21 already serves IPv4 too: drop the IPv4 address with port 21",
            ),
        ];
        for (args, want) in cases {
            assert_eq!(run(args).unwrap_err(), want, "{args:?}");
        }
        // Different ports, or one family each, are fine.
        let o = run(&["--listen", "[::]:21", "--listen", "0.0.0.0:2121"]).unwrap();
        assert_eq!(o.listen.len(), 2);
        let o = run(&["--listen", "[::1]:21", "--listen", "127.0.0.1:21"]).unwrap();
        assert_eq!(o.listen.len(), 2);
    }

    #[test]
    fn typos_get_did_you_mean() {
        let cases = [
            (
                &["--max-client", "5"][..],
                "--max-client: unknown option (did you mean --max-clients?)",
            ),
            (
                &["--max_clients", "5"],
                "--max_clients: unknown option (did you mean --max-clients?)",
            ),
            (
                &["--MAX-CLIENTS", "5"],
                "--MAX-CLIENTS: unknown option (did you mean --max-clients?)",
            ),
            (
                &["--writ"],
                "--writ: unknown option (did you mean --write?)",
            ),
            (
                &["--log_level", "debug"],
                "--log_level: unknown option (did you mean --log-level?)",
            ),
            (
                &["--max-rate-dwn", "1M"],
                "--max-rate-dwn: unknown option (did you mean --max-rate-down?)",
            ),
            (&["--frobnicate", "1"], "--frobnicate: unknown option"),
        ];
        for (args, want) in cases {
            assert_eq!(run(args).unwrap_err(), want, "{args:?}");
        }
        let dir = TempDir::new("cli-typos");
        let file = dir.0.join("pocketftpd.conf");
        let path = file.to_str().unwrap();
        let cases = [
            ("max_clients = 5\n", "max_clients: unknown option (did you mean max-clients?)"),
            ("max-client = 5\n", "max-client: unknown option (did you mean max-clients?)"),
            ("Write = yes\n", "Write: unknown option (did you mean write?)"),
            (
                "port = 21\n",
                "port: unknown option: to listen on a port, use listen = 0.0.0.0:21 (or [::]:21 for IPv6 and IPv4)",
            ),
            ("config = /etc/x\n", "config: unknown option"),
        ];
        for (text, want) in cases {
            std::fs::write(&file, text).unwrap();
            assert_eq!(
                run(&["--config", path]).unwrap_err(),
                format!("{path}:1: {want}")
            );
        }
    }

    #[test]
    fn every_known_option_is_one() {
        for name in KNOWN
            .iter()
            .filter(|n| !matches!(**n, "config" | "help" | "version"))
        {
            let mut o = Options::default();
            let value = match *name {
                "listen" | "listen-tls" => "127.0.0.1:21",
                "pasv-ports" => "1-2",
                "pasv-address" => "192.0.2.1",
                "log-level" => "info",
                "write" | "anonymous" | "tls-required" => "true",
                _ => "1K",
            };
            let result = o.set(name, value, Origin::CommandLine);
            assert!(
                !result.as_ref().is_err_and(|e| e.contains("unknown option")),
                "{name}: {result:?}"
            );
        }
    }

    #[test]
    fn booleans_in_any_case_and_as_digits() {
        for (value, want) in [
            ("YES", true),
            ("Yes", true),
            ("1", true),
            ("ON", true),
            ("True", true),
            ("No", false),
            ("0", false),
            ("OFF", false),
            ("FALSE", false),
        ] {
            assert_eq!(boolean(value), Ok(want), "{value}");
        }
        assert!(boolean("maybe")
            .unwrap_err()
            .contains("is not true or false"));
        let dir = TempDir::new("cli-bool");
        let file = dir.0.join("pocketftpd.conf");
        std::fs::write(&file, "write = YES\nanonymous = No\n").unwrap();
        let o = run(&["--config", file.to_str().unwrap()]).unwrap();
        assert!(o.anonymous_access == Access::Super && !o.anonymous);
    }

    #[test]
    fn hash_password_takes_help_and_nothing_else() {
        let words = |args: &[&str]| parse(args.iter().map(OsString::from));
        assert_eq!(words(&["hash-password"]), Ok(Command::HashPassword));
        assert_eq!(
            words(&["hash-password", "--help"]),
            Ok(Command::HashPasswordHelp)
        );
        assert_eq!(
            words(&["hash-password", "-h"]),
            Ok(Command::HashPasswordHelp)
        );
        assert!(words(&["hash-password", "secret"])
            .unwrap_err()
            .contains("hash-password takes no arguments"));
        assert!(HASH_PASSWORD_USAGE.starts_with("Usage: pocketftpd hash-password"));
    }

    #[test]
    fn the_start_line_says_what_is_true() {
        let summary = |args: &[&str]| run(args).unwrap().access_summary();
        assert_eq!(summary(&[]), "anonymous read-only, no users file");
        assert_eq!(summary(&["--write"]), "anonymous may write, no users file");
        assert_eq!(
            summary(&["--users", "/etc/u"]),
            "anonymous off, users from /etc/u"
        );
        assert_eq!(
            summary(&["--users", "/etc/u", "--write"]),
            "anonymous off, users from /etc/u"
        );
        assert_eq!(
            summary(&["--users", "/etc/u", "--anonymous"]),
            "anonymous read-only, users from /etc/u"
        );
        assert_eq!(
            summary(&[
                "--users",
                "/etc/u",
                "--anonymous",
                "--write",
                "--tls-cert",
                "c",
                "--tls-key",
                "k"
            ]),
            "anonymous may write, users from /etc/u, TLS offered"
        );
    }

    #[test]
    fn tls_options_come_in_pairs() {
        let o = run(&[
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--tls-required",
            "--listen-tls",
            "127.0.0.1:990",
        ])
        .unwrap();
        let (cert, key) = o.tls_files().unwrap().unwrap();
        assert_eq!(
            (cert.to_str(), key.to_str()),
            (Some("c.pem"), Some("k.pem"))
        );
        assert!(o.tls_required);
        assert_eq!(o.listen_tls, vec!["127.0.0.1:990".parse().unwrap()]);
        assert_eq!(run(&[]).unwrap().tls_files(), Ok(None));
        for (args, want) in [
            (&["--tls-cert", "c.pem"][..], "--tls-cert needs --tls-key"),
            (&["--tls-key", "k.pem"], "--tls-key needs --tls-cert"),
            (&["--tls-required"], "--tls-required and --listen-tls need"),
            (
                &["--listen-tls", "[::]:990"],
                "--tls-required and --listen-tls need",
            ),
        ] {
            let got = run(args).unwrap().tls_files().unwrap_err();
            assert!(got.starts_with(want), "{args:?}: {got}");
        }
    }

    #[test]
    fn commands_and_errors() {
        let parse_words = |args: &[&str]| parse(args.iter().map(OsString::from));
        assert_eq!(parse_words(&["--help"]), Ok(Command::Help));
        assert_eq!(parse_words(&["-V"]), Ok(Command::Version));
        assert_eq!(parse_words(&["hash-password"]), Ok(Command::HashPassword));
        let errors = [
            (
                &["--listen", "nowhere"][..],
                "--listen: \"nowhere\" is not ADDR:PORT",
            ),
            (&["--max-clients", "0"], "--max-clients: must be at least 1"),
            (
                &["--max-clients", "x"],
                "--max-clients: \"x\" is not a number",
            ),
            (
                &["--pasv-ports", "9-2"],
                "--pasv-ports: \"9-2\" is not LO-HI",
            ),
            (
                &["--pasv-address", "::1"],
                "--pasv-address: \"::1\" is not an IPv4 address",
            ),
            (
                &["--log-level", "loud"],
                "--log-level: \"loud\" is not one of",
            ),
            (&["--frobnicate", "1"], "--frobnicate: unknown option"),
            (&["--root"], "--root: missing argument"),
            (&["stray"], "unexpected argument \"stray\""),
        ];
        for (args, want) in errors {
            let got = parse_words(args).unwrap_err();
            assert!(got.starts_with(want), "{args:?}: {got}");
        }
    }

    #[test]
    fn umask_is_octal_permission_bits() {
        assert_eq!(run(&[]).unwrap().umask, 0o022);
        for (value, want) in [("077", 0o077), ("0027", 0o027), ("0", 0), ("777", 0o777)] {
            assert_eq!(run(&["--umask", value]).unwrap().umask, want, "{value}");
        }
        for bad in ["999", "1000", "0o22", "-22", "22 ", "", "u=rwx", "00022"] {
            let got = run(&["--umask", bad]).unwrap_err();
            let want = format!("--umask: {bad:?} is not an octal umask of at most 777");
            assert!(got.starts_with(&want), "{bad:?}: {got}");
        }
        let dir = TempDir::new("cli-umask");
        let file = dir.0.join("pocketftpd.conf");
        std::fs::write(&file, "umask = 077\n").unwrap();
        let path = file.to_str().unwrap();
        assert_eq!(run(&["--config", path]).unwrap().umask, 0o077);
        std::fs::write(&file, "umask = 8\n").unwrap();
        let got = run(&["--config", path]).unwrap_err();
        assert!(
            got.starts_with(&format!("{path}:1: umask: \"8\" is not")),
            "{got}"
        );
    }

    #[test]
    fn durations_are_bounded() {
        let errors = [
            (
                "idle-timeout",
                "18446744073709551615",
                "at most 86400 seconds",
            ),
            ("idle-timeout", "86401", "at most 86400 seconds"),
            ("data-timeout", "86401", "at most 86400 seconds"),
            ("shutdown-grace", "86401", "at most 86400 seconds"),
            ("login-delay", "60001", "at most 60000 milliseconds"),
        ];
        for (name, value, want) in errors {
            let flag = format!("--{name}");
            let got = run(&[&flag, value]).unwrap_err();
            assert!(got.starts_with(&format!("{flag}: ")), "{got}");
            assert!(got.contains(want), "{got}");
        }
        let o = run(&[
            "--idle-timeout",
            "86400",
            "--data-timeout",
            "86400",
            "--shutdown-grace",
            "86400",
            "--login-delay",
            "60000",
        ])
        .unwrap();
        let day = Duration::from_secs(86_400);
        assert_eq!(
            (o.idle_timeout, o.data_timeout, o.shutdown_grace),
            (day, day, day)
        );
        assert_eq!(o.login_delay, Duration::from_secs(60));

        let dir = TempDir::new("cli-bounds");
        let file = dir.0.join("pocketftpd.conf");
        std::fs::write(&file, "idle-timeout = 18446744073709551615\n").unwrap();
        let path = file.to_str().unwrap();
        let got = run(&["--config", path]).unwrap_err();
        assert!(
            got.starts_with(&format!("{path}:1: idle-timeout: ")),
            "{got}"
        );
        assert!(got.contains("at most 86400 seconds"), "{got}");
    }

    #[test]
    fn the_example_config_in_dist_is_valid() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../dist/pocketftpd.conf");
        let o = run(&["--config", example]).unwrap();
        assert_eq!(o.root, PathBuf::from("/srv/ftp"));
        assert_eq!(o.listen_addresses(), vec!["0.0.0.0:21".parse().unwrap()]);
        assert_eq!(
            (o.run_as.as_deref(), o.banner.as_str()),
            (Some("ftp"), "Pi FTP ready.")
        );
        assert_eq!((o.max_clients, o.max_per_ip), (64, 8));
    }

    #[test]
    fn config_file_is_overridden_by_flags() {
        let dir = TempDir::new("cli");
        let file = dir.0.join("pocketftpd.conf");
        std::fs::write(
            &file,
            "# test\nroot = /srv/ftp\nlisten = 127.0.0.1:1\nmax-clients = 50\nwrite = true\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let o = run(&[
            "--config",
            path,
            "--max-clients",
            "7",
            "--listen",
            "127.0.0.1:2",
        ])
        .unwrap();
        assert_eq!(
            (o.root, o.max_clients, o.anonymous_access == Access::Super),
            (PathBuf::from("/srv/ftp"), 7, true)
        );
        assert_eq!(o.listen, vec!["127.0.0.1:2".parse().unwrap()]);

        std::fs::write(&file, "root = /srv\n\nmax-clients = many\n").unwrap();
        let err = run(&["--config", path]).unwrap_err();
        assert_eq!(
            err,
            format!("{path}:3: max-clients: \"many\" is not a number")
        );
        std::fs::write(&file, "colour = blue\n").unwrap();
        assert_eq!(
            run(&["--config", path]).unwrap_err(),
            format!("{path}:1: colour: unknown option")
        );
    }
}
