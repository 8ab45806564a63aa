//! Sockets below the protocol: TLS as a layer of a connection (and which
//! TLS sessions a data connection may resume), the socket options the
//! daemon sets, the lookups of a `--pasv-address` host name, and the
//! certificates TLS trusts as a client.

pub mod client_tls;
pub mod resolve_name;
pub mod resumption;
pub mod sockopt;
pub mod tls;
