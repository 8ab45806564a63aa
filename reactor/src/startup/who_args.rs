//! `pocketftpd who`'s own command line: its usage and its arguments
//! ([`WhoArgs`]), parsed here with the daemon's (`command_line.rs` hands
//! over what follows `who`) and used by `admin/who.rs`, which asks the
//! running daemon.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;

/// `pocketftpd who --help`.
pub const USAGE: &str = "\
Usage: pocketftpd who [--admin ADDR:PORT] [--config FILE] [--token-file FILE] [--kick ID]

Lists the sessions of a running pocketftpd (user, client, time connected,
TLS, what each is doing), asking its admin listener. --kick ID ends session
ID: its transfer is aborted (an upload's old file is kept), then 421.

  --admin ADDR:PORT    the admin listener (default: the config file's first
                       admin-listen)
  --config FILE        the daemon's config file, for admin-listen and
                       admin-token-file
  --token-file FILE    the bearer token (default: the config's
                       admin-token-file), needed when the daemon has one
";

/// What `pocketftpd who` was asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhoArgs {
    pub admin: Option<SocketAddr>,
    pub config: Option<PathBuf>,
    pub token_file: Option<PathBuf>,
    pub kick: Option<u32>,
    pub help: bool,
}

/// The arguments after `who`.
pub fn arguments(mut parser: lexopt::Parser) -> Result<WhoArgs, String> {
    use lexopt::prelude::*;
    let mut args = WhoArgs::default();
    fn value(parser: &mut lexopt::Parser) -> Result<String, String> {
        let v: OsString = parser.value().map_err(|e| e.to_string())?;
        v.into_string()
            .map_err(|_| "a value is not UTF-8".to_owned())
    }
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('h') | Long("help") => args.help = true,
            Long("admin") => args.admin = Some(admin_address(&value(&mut parser)?)?),
            Long("config") => args.config = Some(value(&mut parser)?.into()),
            Long("token-file") => args.token_file = Some(value(&mut parser)?.into()),
            Long("kick") => {
                let id = value(&mut parser)?;
                args.kick = Some(
                    id.parse()
                        .map_err(|_| format!("--kick {id:?}: not a session ID"))?,
                );
            }
            other => {
                return Err(format!(
                    "who: {} (see pocketftpd who --help)",
                    other.unexpected()
                ))
            }
        }
    }
    Ok(args)
}

/// `127.0.0.1:9090` or `http://127.0.0.1:9090/`.
fn admin_address(text: &str) -> Result<SocketAddr, String> {
    let bare = text.strip_prefix("http://").unwrap_or(text);
    let bare = bare.strip_suffix('/').unwrap_or(bare);
    bare.parse()
        .map_err(|_| format!("--admin {text:?}: expected ADDR:PORT, such as 127.0.0.1:9090"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<WhoArgs, String> {
        arguments(lexopt::Parser::from_args(words.iter().map(OsString::from)))
    }

    #[test]
    fn who_takes_its_own_options() {
        let args = parse(&["--admin", "http://127.0.0.1:9090/", "--kick", "42"]).unwrap();
        assert_eq!(args.admin, Some("127.0.0.1:9090".parse().unwrap()));
        assert_eq!(args.kick, Some(42));
        assert!(parse(&["--kick", "x"])
            .unwrap_err()
            .contains("not a session ID"));
        assert!(parse(&["--admin", "localhost"])
            .unwrap_err()
            .contains("ADDR:PORT"));
        assert!(parse(&["--root", "/"]).is_err());
    }
}
