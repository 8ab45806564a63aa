//! Packing what a readiness event is about into a `mio::Token`: a slab key
//! and a two-bit tag, so the token fits 32 bits on 32-bit boards. No
//! generation is needed: a closed session's key is freed only after the
//! turn's events are handled, so a reused key never receives a stale event.

use mio::Token;

/// What a token points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Control = 0,
    DataListener = 1,
    Data = 2,
    /// The daemon's own: listening sockets (key = index), the waker and
    /// the signal pipe.
    Daemon = 3,
}

/// The largest key a token can hold.
pub(super) const MAX_KEY: usize = usize::MAX >> 2;
pub(super) const WAKER_KEY: usize = MAX_KEY;
pub(super) const SIGNALS_KEY: usize = MAX_KEY - 1;
/// The admin listener's listening sockets (`admin::MAX_LISTENERS` keys
/// from here), then its connections (`admin::MAX_CLIENTS` keys).
pub(super) const ADMIN_LISTENER_KEYS: usize =
    SIGNALS_KEY - crate::admin::MAX_LISTENERS - crate::admin::MAX_CLIENTS;
pub(super) const ADMIN_CLIENT_KEYS: usize = ADMIN_LISTENER_KEYS + crate::admin::MAX_LISTENERS;

/// Whether a daemon key is one of the admin listener's sockets.
pub(super) fn is_admin_key(key: usize) -> bool {
    (ADMIN_LISTENER_KEYS..SIGNALS_KEY).contains(&key)
}

pub(crate) fn token(key: usize, source: Source) -> Token {
    debug_assert!(key <= MAX_KEY);
    Token((key << 2) | source as usize)
}

pub(super) fn untoken(token: Token) -> (usize, Source) {
    let source = match token.0 & 3 {
        0 => Source::Control,
        1 => Source::DataListener,
        2 => Source::Data,
        _ => Source::Daemon,
    };
    (token.0 >> 2, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for (key, source) in [
            (0, Source::Control),
            (12345, Source::Data),
            (MAX_KEY - 7, Source::DataListener),
            (WAKER_KEY, Source::Daemon),
        ] {
            assert_eq!(untoken(token(key, source)), (key, source));
        }
    }
}
