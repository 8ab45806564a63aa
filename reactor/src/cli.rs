//! The command line (PROTOCOL.md "Command line") and `--config FILE`.
//!
//! Both feed one [`Options::set`]: the config file's settings first, then the
//! command line's, so a flag overrides the file.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use log::LevelFilter;

use crate::config_file;
use crate::rate;

pub const USAGE: &str = "\
pocketftpd — a small, fast, safe FTP server

Usage:
  pocketftpd [OPTIONS]          run the daemon (foreground; logs to stderr)
  pocketftpd hash-password      read a password from stdin, print its hash for a users file
  pocketftpd --help | --version

Options:
  --config FILE           key = value file; keys are these options without dashes
  --root DIR              folder to serve (default: the current folder)
  --run-as USER           started as root: become USER once the ports are bound
  --listen ADDR:PORT      address to listen on, repeatable (default 0.0.0.0:52305)
  --banner TEXT           text of the 220 welcome (default \"pocketftpd ready.\")
  --write                 anonymous users may upload and change files
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
    Help,
    Version,
}

/// Everything the daemon is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub root: PathBuf,
    pub listen: Vec<SocketAddr>,
    pub banner: String,
    pub write: bool,
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
            write: false,
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
            "write" => self.write = boolean(value)?,
            "anonymous" => self.anonymous = boolean(value)?,
            "users" => self.users = Some(PathBuf::from(value)),
            "xferlog" => self.xferlog = Some(PathBuf::from(value)),
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
            _ => return Err("unknown option".to_owned()),
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
                return Ok(Command::HashPassword)
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
    Ok(Command::Run(Box::new(options)))
}

fn address(value: &str) -> Result<SocketAddr, String> {
    value
        .parse()
        .map_err(|_| format!("{value:?} is not ADDR:PORT"))
}

fn boolean(value: &str) -> Result<bool, String> {
    match value {
        "true" | "yes" | "on" => Ok(true),
        "false" | "no" | "off" => Ok(false),
        _ => Err(format!("{value:?} is not true or false")),
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
    use crate::jail::tests::TempDir;

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
        assert!(!o.write && !o.anonymous && o.users.is_none());
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
            (o.banner.as_str(), o.write, o.anonymous),
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
            (o.root, o.max_clients, o.write),
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
