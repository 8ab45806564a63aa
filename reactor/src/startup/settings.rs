//! What the options make of the server: its [`Settings`] (at start, and
//! again on SIGHUP: `reload.rs`), where it listens, the transfer log, and
//! the start line's summary of who may do what.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use log::info;
use pocketftp_core::{Access, Config};

use crate::net::resolve_name::PasvAddress;
use crate::net::tls::{self, TlsConfigs};
use crate::rate::Rates;
use crate::server::{Limits, Listeners, Settings};
use crate::startup::activation;
use crate::startup::internet;
use crate::startup::options::Options;
use crate::storage::node::{Node, NodeId};

/// What the options say about sessions, limits and TLS at start-up; a
/// certificate or key that cannot be used is an error naming it.
pub fn from_options(options: &Options, users: bool) -> Result<Settings, String> {
    let rules = tls::DataRules {
        session_reuse: options.tls_session_reuse,
        close_notify: options.tls_close_notify,
    };
    let tls = match tls_files(options)? {
        Some((cert, key)) => Some(tls::load(cert, key)?.with_rules(rules)),
        None => None,
    };
    Ok(build(options, users, tls))
}

/// The settings the options make, with `users` (whether a users file is in
/// force) and `tls` (the pair in force) decided by the caller.
pub(super) fn build(options: &Options, users: bool, tls: Option<TlsConfigs>) -> Settings {
    let config = Config {
        banner: options.banner.clone(),
        users,
        anonymous: !users || options.anonymous,
        anonymous_access: options.anonymous_access,
        pasv_address: options.pasv_address.as_ref().and_then(PasvAddress::ip),
        pasv_address_map: options.pasv_address_map.clone(),
        idle_timeout: options.idle_timeout,
        data_timeout: options.data_timeout,
        login_delay: options.login_delay,
        max_login_failures: options.max_login_failures,
        tls: tls.is_some(),
        tls_required: options.tls_required,
        dotfiles: options.dotfiles,
        upload_list_empty: options.upload_list_empty,
        upload_replace_own: options.upload_replace_own,
        ..Config::default() // upload_settle: no option sets it
    };
    let limits = Limits {
        max_clients: options.max_clients,
        max_per_ip: options.max_per_ip,
        max_sessions_per_user: options.max_sessions_per_user,
        pasv_ports: options.pasv_ports.clone(),
        shutdown_grace: options.shutdown_grace,
        rates: Rates {
            down: options.max_rate_down,
            up: options.max_rate_up,
            total: options.max_rate,
        },
        bans: internet::ban_rules(options),
        keepalive: options.tcp_keepalive,
        min_free: options.min_free,
    };
    Settings {
        config: Arc::new(config),
        limits,
        tls,
        umask: options.umask,
        pasv_name: internet::pasv_name(options),
        sync: options.sync,
    }
}

/// This daemon as a writer of upload files: `--node-id` (or the host
/// name) and `--sweep-foreign-after`.
pub fn node(options: &Options) -> Node {
    Node {
        id: options.node_id.clone().unwrap_or_else(NodeId::of_host),
        foreign_after: options.sweep_foreign_after,
    }
}

/// Opens `--xferlog` to append to, made if missing. Opened non-blocking (a
/// FIFO without a reader would block the open: on SIGHUP, the loop), and
/// neither a FIFO nor a socket, whose writes could block it.
pub fn open_xferlog(path: &Path) -> Result<File, String> {
    let failed =
        |e: &dyn std::fmt::Display| format!("cannot open the transfer log {}: {e}", path.display());
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| failed(&e))?;
    let kind = file.metadata().map_err(|e| failed(&e))?.file_type();
    if kind.is_fifo() || kind.is_socket() {
        return Err(failed(&"a FIFO or a socket, not a file"));
    }
    Ok(file)
}

/// The sockets systemd passed, or else the addresses the options name.
pub fn listeners(options: &Options) -> Result<Listeners, String> {
    let inherited = activation::listeners()?;
    let (plain, implicit_tls) = if inherited.is_empty() {
        (options.listen_addresses(), options.listen_tls.clone())
    } else {
        info!(
            "socket activation: {} from systemd; --listen and --listen-tls are not used",
            crate::count(inherited.len(), "socket")
        );
        (Vec::new(), Vec::new())
    };
    let listeners = Listeners {
        plain,
        implicit_tls,
        inherited,
        proxy_protocol: options.proxy_protocol.clone(),
    };
    internet::check_proxy_listeners(&listeners)?;
    Ok(listeners)
}

/// The certificate and key files, when FTPS is on; an error for half
/// a pair, or for TLS options without one (naming config keys when the
/// config file set them, flags otherwise).
pub(super) fn tls_files(options: &Options) -> Result<Option<(&PathBuf, &PathBuf)>, String> {
    let needs = |given: &str, needed: &[&str]| {
        let needed: Vec<String> = needed.iter().map(|n| options.spelled(n, given)).collect();
        Err(format!(
            "{} needs {}",
            options.spelled(given, given),
            needed.join(" and ")
        ))
    };
    match (&options.tls_cert, &options.tls_key) {
        (Some(cert), Some(key)) => Ok(Some((cert, key))),
        (Some(_), None) => needs("tls-cert", &["tls-key"]),
        (None, Some(_)) => needs("tls-key", &["tls-cert"]),
        (None, None) if options.tls_required => needs("tls-required", &["tls-cert", "tls-key"]),
        (None, None) if !options.listen_tls.is_empty() => {
            needs("listen-tls", &["tls-cert", "tls-key"])
        }
        (None, None) => Ok(None),
    }
}

/// Who may do what, for the start-up line: what is true, not what
/// the default would be (`--write` means nothing when anonymous is off).
pub fn access_summary(options: &Options) -> String {
    let anonymous = match (
        options.users.is_some() && !options.anonymous,
        options.anonymous_access,
    ) {
        (true, _) => "anonymous off",
        (false, Access::Super) => "anonymous may write",
        (false, Access::ReadOnly) => "anonymous read-only",
        (false, Access::Upload) => "anonymous upload-only",
    };
    let users = match &options.users {
        Some(path) => format!("users from {}", path.display()),
        None => "no users file".to_owned(),
    };
    let tls = match (options.tls_cert.is_some(), options.tls_required) {
        (true, true) => ", TLS required",
        (true, false) => ", TLS offered",
        (false, _) => "",
    };
    format!("{anonymous}, {users}{tls}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::startup::command_line::tests::run;

    #[test]
    fn the_transfer_log_is_a_file_never_a_fifo() {
        let dir = crate::storage::testing::TempDir::new("xferlog");
        let log = dir.0.join("xferlog");
        assert!(open_xferlog(&log).is_ok() && log.is_file());
        assert!(open_xferlog(Path::new("/dev/null")).is_ok());
        let fifo = dir.0.join("fifo");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(status.is_ok_and(|s| s.success()));
        let err = open_xferlog(&fifo).unwrap_err();
        assert!(err.starts_with("cannot open the transfer log"), "{err}");
    }

    #[test]
    fn the_start_line_says_what_is_true() {
        let summary = |args: &[&str]| access_summary(&run(args).unwrap());
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
        let (cert, key) = tls_files(&o).unwrap().unwrap();
        assert_eq!(
            (cert.to_str(), key.to_str()),
            (Some("c.pem"), Some("k.pem"))
        );
        assert!(o.tls_required);
        assert_eq!(o.listen_tls, vec!["127.0.0.1:990".parse().unwrap()]);
        assert_eq!(tls_files(&run(&[]).unwrap()), Ok(None));
        for (args, want) in [
            (&["--tls-cert", "c.pem"][..], "--tls-cert needs --tls-key"),
            (&["--tls-key", "k.pem"], "--tls-key needs --tls-cert"),
            (
                &["--tls-required"],
                "--tls-required needs --tls-cert and --tls-key",
            ),
            (
                &["--listen-tls", "[::]:990"],
                "--listen-tls needs --tls-cert and --tls-key",
            ),
        ] {
            let got = tls_files(&run(args).unwrap()).unwrap_err();
            assert!(got.starts_with(want), "{args:?}: {got}");
        }
        // From the config file: its keys. A flag over the file: the flag.
        let dir = crate::storage::testing::TempDir::new("tls-keys");
        let file = dir.0.join("pocketftpd.conf");
        std::fs::write(&file, "tls-cert = c.pem\ntls-required = yes\n").unwrap();
        let config = file.to_str().unwrap();
        let got = tls_files(&run(&["--config", config]).unwrap()).unwrap_err();
        assert_eq!(got, "tls-cert needs tls-key");
        let flagged = run(&["--config", config, "--tls-cert", "d.pem"]).unwrap();
        assert_eq!(
            tls_files(&flagged).unwrap_err(),
            "--tls-cert needs --tls-key"
        );
    }
}
