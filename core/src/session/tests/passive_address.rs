//! The address a `227` announces to each client (`data.rs`'s
//! `pasv_target`): `--pasv-address-map`, local networks, `--pasv-address`,
//! and what the admin is told when a passive connection cannot work.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::testing::sim::{run_both_between, Harness, Op::*};
use crate::{Action, Config, Notice};

use super::{files, LOGIN};

/// A Pi on a home LAN behind a router whose public address is 198.51.100.7.
const PI: &str = "192.168.1.10:21";
const LAN_CLIENT: &str = "192.168.1.50:40000";
const INTERNET_CLIENT: &str = "203.0.113.9:40000";
const PUBLIC: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);

fn behind_router() -> Config {
    Config {
        pasv_address: Some(PUBLIC),
        ..Config::default()
    }
}

/// `PASV` from `peer` to `local`: the 227's address, and the notices.
fn pasv(config: &Config, local: &str, peer: &str) -> (String, Vec<Notice>) {
    let h = run_both_between(config, &files(), &[LOGIN, Send(b"PASV\r\n")], (local, peer));
    let last = h.text().lines().last().unwrap_or_default().to_owned();
    (last, notices(&h))
}

fn notices(h: &Harness) -> Vec<Notice> {
    let notices = h.actions.iter().filter_map(|a| match a {
        Action::Notice(notice) => Some(*notice),
        _ => None,
    });
    notices.collect()
}

fn entering(address: &str) -> String {
    format!("227 Entering Passive Mode ({address},195,81).")
}

#[test]
fn the_internet_is_told_the_public_address_and_the_lan_the_local_one() {
    let config = behind_router();
    let (reply, said) = pasv(&config, PI, INTERNET_CLIENT);
    assert_eq!((reply, said), (entering("198,51,100,7"), vec![]));
    // The router's public address may not loop back to the LAN.
    let (reply, said) = pasv(&config, PI, LAN_CLIENT);
    assert_eq!((reply, said), (entering("192,168,1,10"), vec![]));
    // Loopback, link-local, and an IPv4 client of a dual-stack listener.
    for (local, peer) in [
        ("127.0.0.1:21", "127.0.0.1:40000"),
        ("169.254.7.1:21", "169.254.7.2:40000"),
        ("[::ffff:192.168.1.10]:21", "[::ffff:192.168.1.50]:40000"),
    ] {
        let (reply, said) = pasv(&config, local, peer);
        let want = local.trim_start_matches("[::ffff:");
        let want = want
            .split([']', ':'])
            .next()
            .unwrap_or_default()
            .replace('.', ",");
        assert_eq!((reply, said), (entering(&want), vec![]), "{peer}");
    }
    let (reply, _) = pasv(
        &config,
        "[::ffff:192.168.1.10]:21",
        "[::ffff:203.0.113.9]:4000",
    );
    assert_eq!(reply, entering("198,51,100,7"));
}

#[test]
fn a_map_entry_wins_for_its_network() {
    let config = Config {
        pasv_address_map: vec![
            ("10.8.0.0/16".parse().unwrap(), Ipv4Addr::new(10, 8, 0, 1)),
            (
                "203.0.113.0/24".parse().unwrap(),
                Ipv4Addr::new(192, 168, 1, 10),
            ),
        ],
        ..behind_router()
    };
    // A VPN's clients are told the VPN address, not the LAN's.
    let (reply, said) = pasv(&config, PI, "10.8.3.4:40000");
    assert_eq!((reply, said), (entering("10,8,0,1"), vec![]));
    // A private address for a public network is the admin's choice: no
    // warning about it.
    let (reply, said) = pasv(&config, PI, INTERNET_CLIENT);
    assert_eq!((reply, said), (entering("192,168,1,10"), vec![]));
    // Outside the map, the rules as before.
    let (reply, _) = pasv(&config, PI, "198.18.0.1:40000");
    assert_eq!(reply, entering("198,51,100,7"));
    let (reply, _) = pasv(&config, PI, LAN_CLIENT);
    assert_eq!(reply, entering("192,168,1,10"));
}

#[test]
fn a_public_client_told_a_private_address_is_a_notice() {
    let (reply, said) = pasv(&Config::default(), PI, INTERNET_CLIENT);
    assert_eq!(reply, entering("192,168,1,10"), "the reply stays as it was");
    let address = Ipv4Addr::new(192, 168, 1, 10);
    assert_eq!(said, [Notice::PrivateAddressToPublicClient { address }]);
    // A public control address, or a LAN client: nothing to say.
    let (_, said) = pasv(&Config::default(), "198.51.100.7:21", INTERNET_CLIENT);
    assert_eq!(said, []);
    let (_, said) = pasv(&Config::default(), PI, LAN_CLIENT);
    assert_eq!(said, []);
}

#[test]
fn over_ipv6_pasv_needs_an_ipv4_address_to_announce() {
    let (local, internet, lan) = ("[fd00::10]:21", "[2001:db8::5]:4000", "[fd00::5]:4000");
    let (reply, _) = pasv(&Config::default(), local, internet);
    assert_eq!(reply, "425 PASV needs IPv4; use EPSV.");
    let (reply, _) = pasv(&behind_router(), local, internet);
    assert_eq!(reply, entering("198,51,100,7"));
    // A local client of an IPv6 control connection: the control address
    // is no IPv4 one, so the public address it is.
    let (reply, _) = pasv(&behind_router(), local, lan);
    assert_eq!(reply, entering("198,51,100,7"));
    let config = Config {
        pasv_address_map: vec![("fd00::/8".parse().unwrap(), Ipv4Addr::new(192, 168, 1, 10))],
        ..Config::default()
    };
    let (reply, _) = pasv(&config, local, lan);
    assert_eq!(reply, entering("192,168,1,10"));
    let (reply, _) = pasv(&config, local, internet);
    assert_eq!(reply, "425 PASV needs IPv4; use EPSV.");
}

#[test]
fn a_passive_port_nobody_reached_is_a_notice_with_what_was_announced() {
    let config = Config {
        data_timeout: Duration::from_secs(60),
        ..behind_router()
    };
    let waited = Duration::from_secs(60);
    for (command, address) in [("PASV", Some(PUBLIC)), ("EPSV", None)] {
        let line = format!("{command}\r\nLIST\r\nNOOP\r\n");
        let steps = [
            LOGIN,
            Send(line.as_bytes()),
            Advance(Duration::from_secs(61)),
        ];
        let h = run_both_between(&config, &files(), &steps, (PI, INTERNET_CLIENT));
        let codes = h.codes();
        assert_eq!(
            codes[3..],
            [if address.is_some() { 227 } else { 229 }, 425, 200]
        );
        let port = 50_001;
        assert_eq!(
            notices(&h),
            [Notice::PassiveNotReached {
                address,
                port,
                waited
            }]
        );
    }
    // The client came: nothing to say.
    let steps = [
        LOGIN,
        Send(b"PASV\r\nLIST\r\n"),
        Advance(Duration::from_secs(30)),
        ConnectData("203.0.113.9:40001"),
        Advance(Duration::from_secs(61)),
    ];
    let h = run_both_between(&config, &files(), &steps, (PI, INTERNET_CLIENT));
    assert_eq!(h.codes()[3..], [227, 150, 226]);
    assert_eq!(notices(&h), []);
    // An active connection that never came is the client's own firewall:
    // not a passive notice.
    let steps = [
        LOGIN,
        Send(b"PORT 203,0,113,9,4,1\r\nLIST\r\n"),
        Advance(Duration::from_secs(61)),
    ];
    let h = run_both_between(&config, &files(), &steps, (PI, INTERNET_CLIENT));
    assert_eq!(notices(&h), []);
}
