//! Pure formatters: listing lines, TYPE A conversion, calendar time,
//! xferlog records and text escaped for logs; the session and the reactor
//! both call them.

pub mod ascii;
pub mod escape;
pub mod listing;
pub(crate) mod time;
pub(crate) mod xferlog;
