//! The admin listener: its addresses and its bearer token.

use super::Kind::{Repeatable, Value};
use super::{assign, Opt};
use crate::startup::values::address;

/// This concern's rows, in the order `--help` lists them.
pub(super) const ADMIN: &[Opt] = &[
    Opt {
        name: "admin-listen",
        kind: Repeatable("ADDR:PORT"),
        in_file: true,
        help: "admin listener: status page, /metrics, /healthz, kick (off by\n\
               default; an address other than loopback needs --admin-token-file)",
        set: |o, v| address(v).map(|a| o.admin_listen.push(a)),
    },
    Opt {
        name: "admin-token-file",
        kind: Value("FILE"),
        in_file: true,
        help: "bearer token the admin listener asks of clients not on loopback",
        set: |o, v| assign(&mut o.admin_token_file, Ok(Some(v.into()))),
    },
];
