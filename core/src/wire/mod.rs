//! The bytes of the protocol: control lines in, commands parsed, replies out.

pub(crate) mod command;
pub(crate) mod line;
pub(crate) mod reply;
