//! Connections and sessions: passive mode and the address it announces,
//! how many clients, how long they may idle, failed logins, keepalive,
//! bans, and the grace a shutdown gives; with the parsers of the values
//! only these rows take (keepalive, ban count, the address map), each error
//! saying what was expected, for the caller to prefix with the option's
//! name.

use std::net::Ipv4Addr;
use std::time::Duration;

use pocketftp_core::Cidr;

use super::Kind::{Repeatable, Value};
use super::{assign, Opt};
use crate::net::sockopt::Keepalive;
use crate::startup::values::{
    milliseconds, number, port_range, positive, seconds, MAX_LOGIN_DELAY_MS,
};

/// This concern's rows, in the order `--help` lists them.
pub(super) const SESSIONS: &[Opt] = &[
    Opt {
        name: "pasv-ports",
        kind: Value("LO-HI"),
        in_file: true,
        help: "passive port range (default: any free port)",
        set: |o, v| assign(&mut o.pasv_ports, port_range(v).map(Some)),
    },
    Opt {
        name: "pasv-address",
        kind: Value("IP|NAME"),
        in_file: true,
        help: "announced in 227 replies to clients on the\n\
               internet: the router's public IPv4 address, or a\n\
               (dynamic DNS) host name",
        set: |o, v| assign(&mut o.pasv_address, v.parse().map(Some)),
    },
    Opt {
        name: "pasv-address-refresh",
        kind: Value("S"),
        in_file: true,
        help: "seconds between lookups of a --pasv-address name\n\
               (default 300)",
        set: |o, v| assign(&mut o.pasv_address_refresh, positive(v).and_then(seconds)),
    },
    Opt {
        name: "pasv-address-map",
        kind: Repeatable("CIDR=IP"),
        in_file: true,
        help: "clients in network CIDR are told IP in 227 replies\n\
               (a VPN); without one, local clients are told the\n\
               address they reached",
        set: |o, v| add_pasv_map_entry(&mut o.pasv_address_map, v),
    },
    Opt {
        name: "max-clients",
        kind: Value("N"),
        in_file: true,
        help: "concurrent control connections (default 512)",
        set: |o, v| assign(&mut o.max_clients, positive(v)),
    },
    Opt {
        name: "max-per-ip",
        kind: Value("N"),
        in_file: true,
        help: "control connections per client address (default 32)",
        set: |o, v| assign(&mut o.max_per_ip, positive(v)),
    },
    Opt {
        name: "max-sessions-per-user",
        kind: Value("N"),
        in_file: true,
        help: "sessions one account of the users file may have at once;\n\
               beyond: 421 (default 0: no limit)",
        set: |o, v| {
            assign(
                &mut o.max_sessions_per_user,
                number(v).map(|n| (n > 0).then_some(n)),
            )
        },
    },
    Opt {
        name: "idle-timeout",
        kind: Value("S"),
        in_file: true,
        help: "seconds without a command before closing (default 300)",
        set: |o, v| assign(&mut o.idle_timeout, positive(v).and_then(seconds)),
    },
    Opt {
        name: "data-timeout",
        kind: Value("S"),
        in_file: true,
        help: "seconds to connect or without transfer progress (default 60)",
        set: |o, v| assign(&mut o.data_timeout, positive(v).and_then(seconds)),
    },
    Opt {
        name: "login-delay",
        kind: Value("MS"),
        in_file: true,
        help: "pause before answering a failed login (default 1000)",
        set: |o, v| assign(&mut o.login_delay, milliseconds(v, MAX_LOGIN_DELAY_MS)),
    },
    Opt {
        name: "max-login-failures",
        kind: Value("N"),
        in_file: true,
        help: "failed logins before closing (default 3)",
        set: |o, v| assign(&mut o.max_login_failures, positive(v)),
    },
    Opt {
        name: "tcp-keepalive",
        kind: Value("off|S"),
        in_file: true,
        help: "seconds of quiet before a control connection is\n\
               probed; 4 unanswered probes, a quarter of that\n\
               apart, close it (default 60)",
        set: |o, v| assign(&mut o.tcp_keepalive, keepalive(v)),
    },
    Opt {
        name: "ban-after",
        kind: Value("N"),
        in_file: true,
        help: "failed logins from one address that ban it\n\
               (default 10; 0: no bans); an IPv6 address counts\n\
               as its /64",
        set: |o, v| assign(&mut o.ban_after, ban_count(v)),
    },
    Opt {
        name: "ban-window",
        kind: Value("S"),
        in_file: true,
        help: "seconds within which they count (default 600)",
        set: |o, v| assign(&mut o.ban_window, positive(v).and_then(seconds)),
    },
    Opt {
        name: "ban-time",
        kind: Value("S"),
        in_file: true,
        help: "seconds of a first ban; each further one lasts\n\
               twice as long, up to a week (default 600)",
        set: |o, v| assign(&mut o.ban_time, positive(v).and_then(seconds)),
    },
    Opt {
        name: "ban-safelist",
        kind: Repeatable("CIDR"),
        in_file: true,
        help: "a network never banned (default loopback, which a\n\
               list given replaces)",
        set: |o, v| {
            v.parse()
                .map(|net| o.ban_safelist.get_or_insert_with(Vec::new).push(net))
        },
    },
    Opt {
        name: "shutdown-grace",
        kind: Value("S"),
        in_file: true,
        help: "on SIGTERM, seconds running transfers may finish (default 30)",
        set: |o, v| assign(&mut o.shutdown_grace, number(v).and_then(seconds)),
    },
];

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
