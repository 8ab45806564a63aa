//! The harness's own checks: its reply parsers, its port probe, its PRNG.

use std::net::{Ipv4Addr, TcpListener};

use crate::*;

#[test]
fn port_state_sees_a_listener_come_and_go() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    assert_eq!(port_state(port), "listening");
    drop(listener);
    assert_eq!(port_state(port), "NOT listening");
}

#[test]
fn parses_227_and_229() {
    assert_eq!(
        parse_227("Entering Passive Mode (127,0,0,1,195,80)."),
        Some((Ipv4Addr::LOCALHOST, 50000))
    );
    assert_eq!(parse_227("Entering Passive Mode (127,0,0,1,195)."), None);
    assert_eq!(
        parse_229("Entering Extended Passive Mode (|||50000|)"),
        Some(50000)
    );
    assert_eq!(parse_229("Entering Extended Passive Mode (50000)"), None);
}

#[test]
fn parses_codes() {
    assert_eq!(parse_code("220 hi"), Some(220));
    assert_eq!(parse_code("211-Features:"), Some(211));
    assert_eq!(parse_code(" EPSV"), None);
    assert_eq!(parse_code("22"), None);
}

#[test]
fn rng_is_deterministic() {
    let mut a = Rng(7);
    let mut b = Rng(7);
    assert_eq!(a.bytes(33), b.bytes(33));
    assert_eq!(a.name(12).len(), 12);
}
