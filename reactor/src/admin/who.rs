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
use crate::startup::who_args::WhoArgs;

/// How long `who` waits for the daemon, connecting and answering.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The longest answer read: 500 sessions' lines and change.
const MAX_ANSWER: u64 = 1 << 20;

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
