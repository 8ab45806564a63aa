//! The served files: paths resolved beneath the root by the kernel, the
//! hidden files uploads are written to, folder reading, and what a
//! file-system error means to the protocol.

pub mod dir;
pub mod error_kind;
pub mod jail;
pub mod resolve;
pub(crate) mod sys;
pub mod temps;
#[cfg(test)]
pub(crate) mod testing;
