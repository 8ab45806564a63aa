//! The options of a server behind a home router or on the open internet:
//! what their values may be (networks, the announced address and its map),
//! what they make of the settings, and the start-up's word about them.
//! Each error says what was expected, for the caller to prefix with the
//! option's name.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use log::{info, warn};
use pocketftp_core::{canonical_ip, Cidr, Config};

use crate::net::resolve_name::{resolve_ipv4, PasvAddress, Watch};
use crate::net::sockopt::Keepalive;
use crate::server::bans::BanRules;
use crate::server::{Listeners, Settings};
use crate::startup::options::Options;

/// `--tcp-keepalive`: `off`, or the seconds of quiet before the first
/// probe.
pub fn keepalive(value: &str) -> Result<Option<Keepalive>, String> {
    if value.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let max = Keepalive::MAX_IDLE.as_secs();
    let idle = (value.parse::<u64>().ok())
        .filter(|s| (1..=max).contains(s))
        .ok_or_else(|| format!("{value:?} is not off or a number of seconds from 1 to {max}"))?;
    Ok(Some(Keepalive {
        idle: Duration::from_secs(idle),
    }))
}

/// `--ban-after`: a number of failed logins, `0` for no bans.
pub fn ban_count(value: &str) -> Result<Option<u32>, String> {
    let n: u32 = value
        .parse()
        .map_err(|_| format!("{value:?} is not a number of failed logins (0: no bans)"))?;
    Ok(Some(n).filter(|n| *n > 0))
}

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

/// `config` announcing `address` to clients on the internet.
pub fn with_pasv_address(config: &Arc<Config>, address: Ipv4Addr) -> Arc<Config> {
    Arc::new(Config {
        pasv_address: Some(address),
        ..Config::clone(config)
    })
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

/// One `--pasv-address-map` entry, `CIDR=ADDRESS`, added to `map`: no two
/// entries may share an address (which one would count?), and an error
/// names both.
pub fn add_pasv_map_entry(map: &mut Vec<(Cidr, Ipv4Addr)>, value: &str) -> Result<(), String> {
    let (network, address) = value.split_once('=').ok_or_else(|| {
        format!("{value:?} is not NETWORK=ADDRESS, such as 192.168.1.0/24=192.168.1.10")
    })?;
    let network: Cidr = network.trim().parse()?;
    let address: Ipv4Addr = address.trim().parse().map_err(|_| {
        format!(
            "{value:?}: {:?} is not an IPv4 address (a 227 reply carries IPv4 only)",
            address.trim()
        )
    })?;
    if let Some((other, its)) = map.iter().find(|(other, _)| other.overlaps(&network)) {
        return Err(format!(
            "{network}={address} overlaps {other}={its}: a client in both would not know which \
             address it gets; make the networks disjoint"
        ));
    }
    map.push((network, address));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::startup::command_line::tests::run;
    use crate::storage::testing::TempDir;

    #[test]
    fn keepalive_is_off_or_seconds() {
        let idle = |args: &[&str]| run(args).unwrap().tcp_keepalive.map(|k| k.idle.as_secs());
        assert_eq!(idle(&[]), Some(60));
        assert_eq!(idle(&["--tcp-keepalive", "30"]), Some(30));
        assert_eq!(idle(&["--tcp-keepalive", "OFF"]), None);
        for bad in ["0", "7201", "-1", "1m", "no"] {
            let got = run(&["--tcp-keepalive", bad]).unwrap_err();
            let want = format!(
                "--tcp-keepalive: {bad:?} is not off or a number of seconds from 1 to 7200"
            );
            assert_eq!(got, want);
        }
    }

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

    #[test]
    fn the_pasv_address_map_takes_disjoint_networks() {
        let o = run(&[
            "--pasv-address-map",
            "192.168.1.0/24=192.168.1.10",
            "--pasv-address-map=10.8.0.0/16 = 10.8.0.1",
            "--pasv-address-map",
            "fd00::/8=192.168.1.10",
        ])
        .unwrap();
        let map: Vec<String> = (o.pasv_address_map.iter())
            .map(|(net, ip)| format!("{net}={ip}"))
            .collect();
        assert_eq!(
            map,
            [
                "192.168.1.0/24=192.168.1.10",
                "10.8.0.0/16=10.8.0.1",
                "fd00::/8=192.168.1.10"
            ]
        );
        for (value, want) in [
            ("192.168.1.0/24", "is not NETWORK=ADDRESS"),
            ("192.168.1.7/24=1.2.3.4", "the network is 192.168.1.0/24"),
            ("lan=1.2.3.4", "is not a network"),
            (
                "10.0.0.0/8=fd00::1",
                "is not an IPv4 address (a 227 reply carries IPv4 only)",
            ),
            ("10.0.0.0/8=pi.local", "is not an IPv4 address"),
        ] {
            let got = run(&["--pasv-address-map", value]).unwrap_err();
            assert!(got.starts_with("--pasv-address-map: "), "{got}");
            assert!(got.contains(want), "{value}: {got}");
        }
        let got = run(&[
            "--pasv-address-map",
            "10.0.0.0/8=10.0.0.1",
            "--pasv-address-map",
            "10.9.0.0/16=10.9.0.1",
        ])
        .unwrap_err();
        assert!(
            got.starts_with(
                "--pasv-address-map: 10.9.0.0/16=10.9.0.1 overlaps 10.0.0.0/8=10.0.0.1"
            ),
            "{got}"
        );
        // The config file's entries and the command line's go together.
        let dir = TempDir::new("cli-pasv-map");
        let file = dir.0.join("pocketftpd.conf");
        std::fs::write(&file, "pasv-address-map = 10.0.0.0/8=10.0.0.1\n").unwrap();
        let path = file.to_str().unwrap();
        let o = run(&[
            "--config",
            path,
            "--pasv-address-map",
            "192.168.0.0/16=192.168.1.10",
        ]);
        assert_eq!(o.unwrap().pasv_address_map.len(), 2);
        let got = run(&[
            "--config",
            path,
            "--pasv-address-map",
            "10.1.0.0/16=10.1.0.1",
        ]);
        assert!(got.unwrap_err().contains("overlaps 10.0.0.0/8=10.0.0.1"));
    }
}
