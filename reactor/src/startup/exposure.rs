//! Who can reach what: said once at start-up, as a warning when anyone may
//! log in. A bare `pocketftpd` serves the current folder to every address,
//! with any name and password; whoever starts it that way must learn it
//! from the first lines, not from a stranger's download.

use std::net::SocketAddr;
use std::path::Path;

use log::{info, warn};
use pocketftp_core::Access;

use crate::server::Listeners;
use crate::startup::options::Options;

/// Who can connect, in words: the listening addresses, or systemd's
/// sockets, and whether that is this machine alone.
pub struct Reach {
    words: String,
    /// Every listener is a loopback address.
    local_only: bool,
}

/// Who can connect through `listeners` (before they are bound).
pub fn reach(listeners: &Listeners) -> Reach {
    if !listeners.inherited.is_empty() {
        let words = "the sockets systemd passed".to_owned();
        return Reach {
            words,
            local_only: false,
        };
    }
    let addresses: Vec<&SocketAddr> = (listeners.plain.iter())
        .chain(&listeners.implicit_tls)
        .collect();
    let local_only = addresses.iter().all(|a| a.ip().is_loopback());
    let listed: Vec<String> = addresses.iter().map(ToString::to_string).collect();
    let mut words = listed.join(", ");
    if local_only {
        words += " (this machine only)";
    } else if addresses.iter().any(|a| a.ip().is_unspecified()) {
        words += " (every network this machine is on)";
    }
    Reach { words, local_only }
}

/// Says what `served` (the root as the admin knows it, or the bucket) is
/// served as, when anonymous login is on: a warning, unless only this
/// machine can connect.
pub fn announce(options: &Options, served: &str, reach: &Reach) {
    if let Some(line) = anonymous_line(options, served, reach) {
        if reach.local_only {
            info!("{line}");
        } else {
            warn!("{line}");
        }
    }
}

/// The line for anonymous access, if it is on.
fn anonymous_line(options: &Options, served: &str, reach: &Reach) -> Option<String> {
    if !options.anonymous_login() {
        return None;
    }
    let who = if options.users.is_some() {
        "as anonymous (or ftp) with any password"
    } else {
        "with any name and password"
    };
    let may = match options.anonymous_access {
        Access::ReadOnly => "read everything in",
        Access::Upload => "upload new files to",
        Access::Super => "read, upload, change and delete everything in",
    };
    let current = if options.storage.is_none() && options.root == Path::new(".") {
        " (the current folder: --root names another)"
    } else {
        ""
    };
    let dots = if options.dotfiles {
        "served too (--dotfiles)"
    } else {
        "hidden (--dotfiles serves them)"
    };
    Some(format!(
        "anyone who reaches {} may log in {who} and {may} {served}{current}; names starting with a dot are {dots}",
        reach.words,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::startup::command_line::tests::run;

    fn listening(addresses: &[&str]) -> Reach {
        reach(&Listeners {
            plain: addresses.iter().map(|a| a.parse().unwrap()).collect(),
            implicit_tls: Vec::new(),
            inherited: Vec::new(),
            proxy_protocol: Vec::new(),
        })
    }

    #[test]
    fn a_bare_start_says_who_may_read_what() {
        let line =
            |args: &[&str], reach: &Reach| anonymous_line(&run(args).unwrap(), "/home/pi", reach);
        let everyone = listening(&["0.0.0.0:52305"]);
        assert_eq!(
            line(&[], &everyone).unwrap(),
            "anyone who reaches 0.0.0.0:52305 (every network this machine is on) may log in with any name and password and read everything in /home/pi (the current folder: --root names another); names starting with a dot are hidden (--dotfiles serves them)"
        );
        let local = listening(&["127.0.0.1:2121", "[::1]:2121"]);
        assert!(local.local_only);
        let upload = line(&["--root", "/srv", "--anonymous-role", "upload"], &local).unwrap();
        assert!(
            upload.starts_with("anyone who reaches 127.0.0.1:2121, [::1]:2121 (this machine only) may log in with any name and password and upload new files to /home/pi;"),
            "{upload}"
        );
        let write = line(&["--write", "--dotfiles"], &everyone).unwrap();
        assert!(
            write.contains("read, upload, change and delete everything in"),
            "{write}"
        );
        assert!(write.ends_with("served too (--dotfiles)"), "{write}");
        let both = line(&["--users", "/etc/u", "--anonymous"], &everyone).unwrap();
        assert!(
            both.contains("as anonymous (or ftp) with any password"),
            "{both}"
        );
        assert_eq!(line(&["--users", "/etc/u"], &everyone), None);
    }
}
