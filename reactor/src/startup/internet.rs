//! The options of a server behind a home router or on the open internet:
//! what they make of the settings (the bans' rules, the announced address
//! and its name's watch) and the start-up's word about them. Their values
//! are parsed beside their rows, in `options/sessions.rs`.

use std::net::SocketAddr;

use log::{info, warn};
use pocketftp_core::canonical_ip;

use crate::net::resolve_name::{resolve_ipv4, PasvAddress, Watch};
use crate::server::bans::BanRules;
use crate::server::pasv_name::with_pasv_address;
use crate::server::{Listeners, Settings};
use crate::startup::options::Options;

/// When an address is banned, from the `--ban-*` options.
pub fn ban_rules(options: &Options) -> BanRules {
    BanRules {
        after: options.ban_after,
        window: options.ban_window,
        time: options.ban_time,
        safelist: (options.ban_safelist.clone()).unwrap_or_else(BanRules::loopback),
    }
}

/// A `--pasv-address` host name, to be looked up every
/// `--pasv-address-refresh`.
pub fn pasv_name(options: &Options) -> Option<Watch> {
    match &options.pasv_address {
        Some(PasvAddress::Name(name)) => Some(Watch {
            name: name.clone(),
            every: options.pasv_address_refresh,
        }),
        _ => None,
    }
}

/// Start-up: a `--pasv-address` name is looked up now (the loop is not
/// running yet, so it may wait): a name that does not resolve stops the
/// start, as a bad address would.
pub fn resolve_pasv_name(settings: &mut Settings) -> Result<(), String> {
    let Some(watch) = &settings.pasv_name else {
        return Ok(());
    };
    let address = resolve_ipv4(&watch.name).map_err(|e| format!("--pasv-address: {e}"))?;
    info!(
        "--pasv-address {} is {address}; looked up again every {} s",
        watch.name,
        watch.every.as_secs()
    );
    settings.config = with_pasv_address(&settings.config, address);
    Ok(())
}

/// Every `--proxy-protocol` address must be one the daemon listens on:
/// a typo would leave the load balancer's connections without a session
/// and the listener meant open to clients without a header.
pub fn check_proxy_listeners(listeners: &Listeners) -> Result<(), String> {
    let addresses = listening_addresses(listeners);
    match (listeners.proxy_protocol.iter()).find(|a| !addresses.contains(a)) {
        Some(stray) => Err(format!(
            "--proxy-protocol: {stray} is not an address the daemon listens on (--listen, \
             --listen-tls, or a socket systemd passes)"
        )),
        None => Ok(()),
    }
}

/// Where the daemon will listen.
fn listening_addresses(listeners: &Listeners) -> Vec<SocketAddr> {
    let inherited = (listeners.inherited.iter()).filter_map(|i| i.listener.local_addr().ok());
    (listeners.plain.iter().chain(&listeners.implicit_tls))
        .copied()
        .chain(inherited)
        .collect()
}

/// A listener a router could forward to (not loopback) and passive ports
/// anywhere: a router forwards a fixed range, so say which option makes one.
pub fn warn_without_pasv_ports(listeners: &Listeners, options: &Options) {
    if options.pasv_ports.is_some() {
        return;
    }
    let addresses = listening_addresses(listeners);
    if let Some(exposed) = addresses
        .iter()
        .find(|a| !canonical_ip(a.ip()).is_loopback())
    {
        warn!(
            "listening on {exposed} without --pasv-ports: passive data connections get random \
             ports, which a router cannot forward; behind one, set --pasv-ports (such as \
             50000-50100) and forward that range as well as port {}",
            exposed.port()
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::startup::command_line::tests::run;
    use crate::storage::testing::TempDir;

    #[test]
    fn ban_options() {
        let rules = ban_rules(&run(&[]).unwrap());
        let minutes = |n: u64| Duration::from_secs(60 * n);
        assert_eq!(
            (rules.after, rules.window, rules.time),
            (Some(10), minutes(10), minutes(10))
        );
        assert_eq!(rules.safelist, BanRules::loopback());
        let o = run(&[
            "--ban-after",
            "5",
            "--ban-window",
            "60",
            "--ban-time=3600",
            "--ban-safelist",
            "192.168.1.0/24",
            "--ban-safelist",
            "fd00::/8",
        ])
        .unwrap();
        let rules = ban_rules(&o);
        assert_eq!(
            (rules.after, rules.window, rules.time),
            (Some(5), minutes(1), minutes(60))
        );
        let safelist: Vec<String> = rules.safelist.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            safelist,
            ["192.168.1.0/24", "fd00::/8"],
            "the default replaced"
        );
        assert_eq!(ban_rules(&run(&["--ban-after", "0"]).unwrap()).after, None);
        for (args, want) in [
            (
                &["--ban-after", "ten"][..],
                "--ban-after: \"ten\" is not a number of failed logins",
            ),
            (
                &["--ban-after", "-1"],
                "--ban-after: \"-1\" is not a number",
            ),
            (&["--ban-window", "0"], "--ban-window: must be at least 1"),
            (&["--ban-time", "86401"], "--ban-time: 86401 is too long"),
            (
                &["--ban-safelist", "192.168.1.1/24"],
                "--ban-safelist: \"192.168.1.1/24\" has bits set past its /24 prefix",
            ),
            (
                &["--ban-safelist", "lan"],
                "--ban-safelist: \"lan\" is not a network",
            ),
        ] {
            let got = run(args).unwrap_err();
            assert!(got.starts_with(want), "{args:?}: {got}");
        }
        let dir = TempDir::new("cli-bans");
        let file = dir.0.join("pocketftpd.conf");
        std::fs::write(&file, "ban-after = 3\nban-safelist = 10.0.0.0/8\n").unwrap();
        let o = run(&[
            "--config",
            file.to_str().unwrap(),
            "--ban-safelist",
            "127.0.0.1",
        ])
        .unwrap();
        let rules = ban_rules(&o);
        assert_eq!(rules.after, Some(3));
        assert_eq!(rules.safelist.len(), 2, "the file's and the command line's");
    }
}
