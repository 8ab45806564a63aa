//! Packing what a readiness event is about into a `mio::Token`: a slab key
//! and a three-bit tag, so the token fits 32 bits on 32-bit boards (keys
//! up to 2^29, far beyond any `--max-clients`). No
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
    /// A request of the connection's to its S3 bucket.
    Store = 4,
}

/// The bits of a token that say what it points at.
const SOURCE_BITS: u32 = 3;

/// The largest key a token can hold.
pub(super) const MAX_KEY: usize = usize::MAX >> SOURCE_BITS;
pub(super) const WAKER_KEY: usize = MAX_KEY;
pub(super) const SIGNALS_KEY: usize = MAX_KEY - 1;

pub(crate) fn token(key: usize, source: Source) -> Token {
    debug_assert!(key <= MAX_KEY);
    Token((key << SOURCE_BITS) | source as usize)
}

pub(super) fn untoken(token: Token) -> (usize, Source) {
    let source = match token.0 & ((1 << SOURCE_BITS) - 1) {
        0 => Source::Control,
        1 => Source::DataListener,
        2 => Source::Data,
        4 => Source::Store,
        _ => Source::Daemon,
    };
    (token.0 >> SOURCE_BITS, source)
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
            (MAX_KEY - 1, Source::Store),
        ] {
            assert_eq!(untoken(token(key, source)), (key, source));
        }
    }
}
