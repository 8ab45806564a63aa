//! Connections and sessions: passive mode and the address it announces,
//! how many clients, how long they may idle, failed logins, keepalive,
//! bans, and the grace a shutdown gives.

use super::Kind::{Repeatable, Value};
use super::{assign, Opt};
use crate::startup::internet::{add_pasv_map_entry, ban_count, keepalive};
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
