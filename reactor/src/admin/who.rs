//! `pocketftpd who [--kick ID]`: asks a running daemon's admin listener
//! who is connected (`/sessions.txt`) or ends a session (`POST
//! /sessions/ID/kick`), as `pure-ftpwho` and `ftpdctl kick` do. A plain
//! blocking client: it runs once, outside the loop.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use super::routes::KICK_HEADER;
use super::Secret;
use crate::http::{parse_response, write::request_head};
use crate::startup::command_line::{self, Command};

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

/// How long `who` waits for the daemon, connecting and answering.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The longest answer read: 500 sessions' lines and change.
const MAX_ANSWER: u64 = 1 << 20;

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

/// Asks the daemon; the text to print, or why not.
pub fn run(args: &WhoArgs) -> Result<String, String> {
    let (configured, configured_token) = from_config(args)?;
    let admin = args.admin.or(configured).ok_or(
        "no admin listener named: give --admin ADDR:PORT, or --config FILE with admin-listen",
    )?;
    let token_file = args.token_file.clone().or(configured_token);
    let secret = token_file.as_deref().map(Secret::load).transpose()?;
    let admin = reachable(admin);
    let (method, target) = match args.kick {
        Some(id) => ("POST", format!("/sessions/{id}/kick")),
        None => ("GET", "/sessions.txt".to_owned()),
    };
    let (status, body) = ask(admin, method, &target, secret.as_ref())
        .map_err(|e| format!("cannot ask the admin listener at {admin}: {e}"))?;
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(format!(
            "the admin listener at {admin} answered {status}: {}",
            body.trim_end()
        ))
    }
}

/// The config file's first admin-listen and its admin-token-file.
fn from_config(args: &WhoArgs) -> Result<(Option<SocketAddr>, Option<PathBuf>), String> {
    let Some(config) = &args.config else {
        return Ok((None, None));
    };
    let words = [OsString::from("--config"), config.clone().into_os_string()];
    match command_line::parse(words)? {
        Command::Run(options) => Ok((
            options.admin_listen.first().copied(),
            options.admin_token_file,
        )),
        _ => Ok((None, None)),
    }
}

/// A wildcard listener is asked on loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// One request, `Connection: close`; the status and the body.
fn ask(
    admin: SocketAddr,
    method: &str,
    target: &str,
    secret: Option<&Secret>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&admin, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let host = admin.to_string();
    let bearer = secret.map(|s| format!("Bearer {}", s.as_str()));
    let mut headers = vec![("Host", host.as_str()), ("Connection", "close")];
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer));
    }
    if method == "POST" {
        headers.extend([(KICK_HEADER, "1"), ("Content-Length", "0")]);
    }
    let mut request = Vec::new();
    request_head(&mut request, method, target, &headers).map_err(std::io::Error::other)?;
    stream.write_all(&request)?;
    let mut answer = Vec::new();
    stream.take(MAX_ANSWER).read_to_end(&mut answer)?;
    let (head, len) = parse_response(&answer)
        .map_err(std::io::Error::other)?
        .ok_or_else(|| std::io::Error::other("the answer ended early"))?;
    let body = String::from_utf8_lossy(&answer[len..]).into_owned();
    Ok((head.status, body))
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

    #[test]
    fn wildcards_are_asked_on_loopback() {
        assert_eq!(
            reachable("0.0.0.0:1".parse().unwrap()),
            "127.0.0.1:1".parse().unwrap()
        );
        assert_eq!(
            reachable("[::]:1".parse().unwrap()),
            "[::1]:1".parse().unwrap()
        );
    }
}
