//! Sockets below the protocol: TLS as a layer of a connection, the
//! socket options the daemon sets, and the lookups of a `--pasv-address`
//! host name.

pub mod resolve_name;
pub mod sockopt;
pub mod tls;
