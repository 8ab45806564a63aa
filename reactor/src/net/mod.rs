//! Sockets below the protocol: TLS as a layer of a connection, and the
//! socket options the daemon sets.

pub(crate) mod sockopt;
pub mod tls;
