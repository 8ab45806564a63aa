//! The bytes of the protocol: control lines in, commands parsed, replies
//! out; and the PROXY protocol header a load balancer may send first.

pub(crate) mod command;
pub(crate) mod line;
pub mod proxy;
pub(crate) mod reply;
