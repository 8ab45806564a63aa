//! Reading the options: the command line (lexopt) and the config file it
//! names, each value applied by its row of [`options::all`]. `--config` comes
//! first, then the file's settings, then the rest of the command line over
//! them, so a flag overrides the file. An option no row has gets the hint
//! that saves the user an hour: `--port` is `--listen`, and a typo or an
//! underscore gets "did you mean" the nearest option.

use std::ffi::OsString;
use std::path::Path;

use crate::startup::config_file;
use crate::startup::options::{self, Kind, Opt, Options};

/// `pocketftpd hash-password --help`.
pub const HASH_PASSWORD_USAGE: &str = "\
Usage: pocketftpd hash-password

Reads a password (at a terminal: prompts for it twice without echoing it;
from a pipe: one line) and prints its argon2id hash for a users file line
NAME:HASH:ROLE[:HOME], for example:

  echo 'a long passphrase' | pocketftpd hash-password
";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(Box<Options>),
    HashPassword,
    HashPasswordHelp,
    /// `pocketftpd who`: asks a running daemon's admin listener.
    Who(crate::startup::who_args::WhoArgs),
    Help,
    Version,
}

/// Where a setting came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    File,
    CommandLine,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let mut given: Vec<(&Opt, String)> = Vec::new();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Value(word) if word == "hash-password" && given.is_empty() => {
                return hash_password_arguments(parser)
            }
            Value(word) if word == "who" && given.is_empty() => {
                return crate::startup::who_args::arguments(parser).map(Command::Who)
            }
            Value(word) => {
                return Err(format!(
                    "unexpected argument {:?} (see --help)",
                    word.to_string_lossy()
                ))
            }
            Long(name) => match options::find(name) {
                Some(opt) => given.push((opt, value_of(opt, &mut parser)?)),
                None => {
                    let name = name.to_owned();
                    return Err(unknown_on_command_line(&name, &mut parser));
                }
            },
            Short(c) => return Err(format!("unknown option -{c} (see --help)")),
        }
    }
    Ok(Command::Run(Box::new(options_from(&given)?)))
}

/// What `--name` was given: `true` for a flag, else the next word (or the
/// one after `=`).
fn value_of(opt: &Opt, parser: &mut lexopt::Parser) -> Result<String, String> {
    let name = opt.name;
    if opt.kind == Kind::Flag {
        return Ok("true".to_owned());
    }
    let value = parser.value().map_err(|e| format!("--{name}: {e}"))?;
    value
        .into_string()
        .map_err(|_| format!("--{name}: the value is not UTF-8"))
}

/// The error for `--name` that no row has. A value is taken only when
/// attached: `--writ` at the end is a typo, not a missing argument. But
/// `--port 2121`: the port goes into the hint.
fn unknown_on_command_line(name: &str, parser: &mut lexopt::Parser) -> String {
    let value = if name == "port" {
        parser.value().ok()
    } else {
        parser.optional_value()
    };
    let value = value.map(|v| v.to_string_lossy().into_owned());
    let why = unknown_option(name, value.as_deref(), Origin::CommandLine);
    format!("--{name}: {why}")
}

/// The options only the command line gives first (`--config` says where
/// the rest is), then the config file's settings, then the rest of the
/// command line over them.
fn options_from(given: &[(&Opt, String)]) -> Result<Options, String> {
    let mut options = Options::default();
    let (first, rest): (Vec<_>, Vec<_>) = given.iter().partition(|(opt, _)| !opt.in_file);
    for (opt, value) in first {
        set_from_command_line(&mut options, opt, value)?;
    }
    if let Some(path) = options.config.clone() {
        read_config_file(&mut options, &path)?;
    }
    options.file_read();
    for (opt, value) in rest {
        set_from_command_line(&mut options, opt, value)?;
    }
    options.check_listeners()?;
    Ok(options)
}

/// `--name VALUE` applied; an error names the option.
fn set_from_command_line(options: &mut Options, opt: &Opt, value: &str) -> Result<(), String> {
    (opt.set)(options, value).map_err(|why| format!("--{}: {why}", opt.name))?;
    options.set_by(opt.name, false);
    Ok(())
}

/// Applies the config file's settings; an error names the file, the line
/// and the key.
fn read_config_file(options: &mut Options, path: &Path) -> Result<(), String> {
    for s in config_file::read(path)? {
        let result = match options::find(&s.key).filter(|opt| opt.in_file) {
            Some(opt) => (opt.set)(options, &s.value).map(|()| options.set_by(opt.name, true)),
            None => Err(unknown_option(&s.key, Some(&s.value), Origin::File)),
        };
        result.map_err(|why| format!("{}:{}: {}: {why}", path.display(), s.line, s.key))?;
    }
    Ok(())
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
    if let Some(hint) = other_name(name, spelled) {
        return format!("unknown option: {hint}");
    }
    match nearest_option(name, origin) {
        Some(known) => format!("unknown option (did you mean {dashes}{known}?)"),
        None => "unknown option".to_owned(),
    }
}

/// An option other FTP servers (or habits) have, and what it is here.
struct OtherName {
    /// How it is spelled there (lowercase, words joined by dashes).
    names: &'static [&'static str],
    /// What to say; `@` stands for `option`, spelled as where the mistake
    /// was (`--xferlog ` on the command line, `xferlog = ` in the file).
    hint: &'static str,
    option: &'static str,
}

const OTHER_NAMES: &[OtherName] = &[
    OtherName {
        names: &[
            "pasv-range",
            "pasv-port-range",
            "passive-ports",
            "passive-port-range",
            "pasv-min-port",
            "pasv-max-port",
        ],
        hint: "the passive port range is @LO-HI",
        option: "pasv-ports",
    },
    OtherName {
        names: &["logfile", "log-file", "log-path", "logpath", "syslog"],
        hint: "the log goes to stderr (under systemd: the journal, journalctl -u pocketftpd); @FILE adds a line per transfer",
        option: "xferlog",
    },
    OtherName {
        names: &["daemon", "daemonize", "background", "detach", "fork"],
        hint: "pocketftpd runs in the foreground: start it as a systemd service (dist/pocketftpd.service), or end the command with & in a shell",
        option: "",
    },
    OtherName {
        names: &["pidfile", "pid-file"],
        hint: "pocketftpd writes no pid file: systemd knows its pid (systemctl show -p MainPID pocketftpd), a shell has it in $!",
        option: "",
    },
];

/// The hint for an option other servers have, if `name` (in any case,
/// with `_` or `-`) is one; `spelled` writes an option as the user would.
fn other_name(name: &str, spelled: impl Fn(&str) -> String) -> Option<String> {
    let normal = name.to_ascii_lowercase().replace('_', "-");
    let other = OTHER_NAMES
        .iter()
        .find(|other| other.names.contains(&normal.as_str()))?;
    Some(other.hint.replace('@', &spelled(other.option)))
}

/// The option `name` most likely meant, among those that may be given
/// where it was: the same after lowercasing and turning `_` into `-`, or at
/// most two edits away.
fn nearest_option(name: &str, origin: Origin) -> Option<&'static str> {
    let normal = name.to_ascii_lowercase().replace('_', "-");
    let candidates = options::all().filter(|opt| origin == Origin::CommandLine || opt.in_file);
    let (distance, known) = candidates
        .map(|opt| (edit_distance(&normal, opt.name), opt.name))
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::storage::testing::TempDir;
    use pocketftp_core::Access;
    use std::path::PathBuf;

    /// The options `args` ask to run with, or the error they get.
    pub(crate) fn run(args: &[&str]) -> Result<Options, String> {
        match parse(args.iter().map(OsString::from))? {
            Command::Run(options) => Ok(*options),
            other => Err(format!("{other:?}")),
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
                &["--listen", ":2130"],
                "--listen: \":2130\" is not ADDR:PORT: give an address too, 0.0.0.0:2130 (or [::]:2130 for IPv6 and IPv4)",
            ),
            (
                &["--listen", "localhost:2130"],
                "--listen: \"localhost:2130\" is not ADDR:PORT: host names are not taken: 127.0.0.1:2130 (or [::1]:2130 for IPv6)",
            ),
            (
                &["--listen", "pi.local:21"],
                "--listen: \"pi.local:21\" is not ADDR:PORT: host names are not taken: give an address of this machine (ip -brief address lists them), or 0.0.0.0:21 for all of them",
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
            (
                &["--pasv-range", "50000-50100"],
                "--pasv-range: unknown option: the passive port range is --pasv-ports LO-HI",
            ),
            (
                &["--logfile", "/var/log/ftp.log"],
                "--logfile: unknown option: the log goes to stderr (under systemd: the journal, journalctl -u pocketftpd); --xferlog FILE adds a line per transfer",
            ),
            (
                &["--daemon"],
                "--daemon: unknown option: pocketftpd runs in the foreground: start it as a systemd service (dist/pocketftpd.service), or end the command with & in a shell",
            ),
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
            (
                "pasv_range = 50000-50100\n",
                "pasv_range: unknown option: the passive port range is pasv-ports = LO-HI",
            ),
            ("Daemon = yes\n", "Daemon: unknown option: pocketftpd runs in the foreground: start it as a systemd service (dist/pocketftpd.service), or end the command with & in a shell"),
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
            (
                &["--node-id", "pi/a"],
                "--node-id: \"pi/a\" has characters other than ASCII letters",
            ),
            (
                &["--sweep-foreign-after", "31536001"],
                "--sweep-foreign-after: 31536001 is too long: at most 31536000 seconds (a year)",
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
