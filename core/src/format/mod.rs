//! Pure formatters: listing lines, TYPE A conversion, calendar time and
//! xferlog records; the session and the reactor both call them.

pub mod ascii;
pub mod listing;
pub(crate) mod time;
pub(crate) mod xferlog;
