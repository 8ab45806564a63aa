//! Sockets below the protocol: TLS as a layer of a connection (and which
//! TLS sessions a data connection may resume), and the socket options the
//! daemon sets; and the certificates TLS trusts as a client.

pub mod client_tls;
pub mod resumption;
pub(crate) mod sockopt;
pub mod tls;
