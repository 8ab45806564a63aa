//! FTPS and the listeners' front: certificate, key, what TLS requires,
//! implicit-TLS listeners and the PROXY protocol.

use super::Kind::{Flag, Repeatable, Value};
use super::{assign, Opt};
use crate::startup::values::{address, boolean, required};

/// This concern's rows, in the order `--help` lists them.
pub(super) const TLS: &[Opt] = &[
    Opt {
        name: "tls-cert",
        kind: Value("FILE"),
        in_file: true,
        help: "PEM certificate chain; with --tls-key turns FTPS on (AUTH TLS)",
        set: |o, v| assign(&mut o.tls_cert, Ok(Some(v.into()))),
    },
    Opt {
        name: "tls-key",
        kind: Value("FILE"),
        in_file: true,
        help: "PEM private key (ECDSA, Ed25519 or RSA)",
        set: |o, v| assign(&mut o.tls_key, Ok(Some(v.into()))),
    },
    Opt {
        name: "tls-required",
        kind: Flag,
        in_file: true,
        help: "every login needs AUTH TLS first, every transfer PROT P",
        set: |o, v| assign(&mut o.tls_required, boolean(v)),
    },
    Opt {
        name: "tls-session-reuse",
        kind: Value("required|off"),
        in_file: true,
        help: "a protected data connection must resume a TLS\n\
               session of its user's from its address (default\n\
               required: another client there cannot take it)",
        set: |o, v| assign(&mut o.tls_session_reuse, required(v)),
    },
    Opt {
        name: "tls-close-notify",
        kind: Value("required|off"),
        in_file: true,
        help: "a protected upload must end with TLS\n\
               close_notify, or it is broken and the old file\n\
               kept (default required)",
        set: |o, v| assign(&mut o.tls_close_notify, required(v)),
    },
    Opt {
        name: "listen-tls",
        kind: Repeatable("ADDR:PORT"),
        in_file: true,
        help: "implicit FTPS listener (TLS from the first byte; usually\n\
               port 990)",
        set: |o, v| address(v).map(|a| o.listen_tls.push(a)),
    },
    Opt {
        name: "proxy-protocol",
        kind: Repeatable("ADDR:PORT"),
        in_file: true,
        help: "the --listen or --listen-tls listener at ADDR:PORT\n\
               takes connections from a load balancer that sends\n\
               a PROXY protocol header (v1 or v2) first; others\n\
               are closed",
        set: |o, v| address(v).map(|a| o.proxy_protocol.push(a)),
    },
];
