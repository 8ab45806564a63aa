//! Packing what a readiness event is about into a `mio::Token`: a slab key
//! and a three-bit tag, so the token fits 32 bits on 32-bit boards (keys up
//! to 2^29). No generation is needed: a closed session's key is freed only
//! after the turn's events are handled, so a reused key never receives a
//! stale event (nor a connection's that waited for its PROXY header).

use mio::Token;

/// What a token points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Control = 0,
    DataListener = 1,
    Data = 2,
    /// The daemon's own: listening sockets (key = index), the waker, the
    /// signal pipe, the hooks' sockets and pipes.
    Daemon = 3,
    /// A connection that has not sent its PROXY protocol header yet (key:
    /// in `proxied.rs`'s slab).
    ProxyHeader = 4,
    /// A request of the connection's to its S3 bucket.
    Store = 5,
}

/// The tag's bits.
const TAG_BITS: u32 = 3;
/// The largest key a token can hold.
pub(super) const MAX_KEY: usize = usize::MAX >> TAG_BITS;
pub(super) const WAKER_KEY: usize = MAX_KEY;
pub(super) const SIGNALS_KEY: usize = MAX_KEY - 1;
/// The hooks' sockets and pipes (`hooks/`): the keys below the signals'.
const HOOKS_KEY: usize = MAX_KEY - 2;
/// How many keys the hooks have: the webhook's and one per worker, so
/// `hooks::MAX_WORKERS` is this less one (the hooks read it from here).
pub(crate) const HOOK_KEYS: usize = 65;

/// The token of the hooks' `index`th socket or pipe.
pub(crate) fn hook_token(index: usize) -> Token {
    debug_assert!(index < HOOK_KEYS);
    token(HOOKS_KEY - index, Source::Daemon)
}

/// Which of the hooks' sockets or pipes a daemon key is, if it is one.
pub(super) fn hook_index(key: usize) -> Option<usize> {
    let index = HOOKS_KEY.checked_sub(key)?;
    (index < HOOK_KEYS).then_some(index)
}

/// Below the hooks' keys: the admin listener's listening sockets
/// (`admin::MAX_LISTENERS` keys from here), then its connections
/// (`admin::MAX_CLIENTS` keys).
pub(super) const ADMIN_LISTENER_KEYS: usize =
    HOOKS_KEY + 1 - HOOK_KEYS - crate::admin::MAX_LISTENERS - crate::admin::MAX_CLIENTS;
pub(super) const ADMIN_CLIENT_KEYS: usize = ADMIN_LISTENER_KEYS + crate::admin::MAX_LISTENERS;

/// How many keys the daemon's own requests to its bucket have
/// (`bucket_errands.rs`): `/healthz`'s probe and one per abort on its
/// way, so `ABORTS_AT_ONCE` is this less one (it reads it from here).
pub(super) const ERRAND_KEYS: usize = 5;

/// Below the admin listener's keys: the daemon's own requests to its
/// bucket.
pub(super) const BUCKET_KEYS: usize = ADMIN_LISTENER_KEYS - ERRAND_KEYS;

/// Which of the daemon's requests to its bucket a daemon key is, if any.
pub(super) fn bucket_index(key: usize) -> Option<usize> {
    let index = key.checked_sub(BUCKET_KEYS)?;
    (index < ERRAND_KEYS).then_some(index)
}

/// Whether a daemon key is one of the admin listener's sockets.
pub(super) fn is_admin_key(key: usize) -> bool {
    (ADMIN_LISTENER_KEYS..ADMIN_CLIENT_KEYS + crate::admin::MAX_CLIENTS).contains(&key)
}

pub(crate) fn token(key: usize, source: Source) -> Token {
    debug_assert!(key <= MAX_KEY);
    Token((key << TAG_BITS) | source as usize)
}

pub(super) fn untoken(token: Token) -> (usize, Source) {
    let source = match token.0 & ((1 << TAG_BITS) - 1) {
        0 => Source::Control,
        1 => Source::DataListener,
        2 => Source::Data,
        4 => Source::ProxyHeader,
        5 => Source::Store,
        _ => Source::Daemon,
    };
    (token.0 >> TAG_BITS, source)
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
            (255, Source::ProxyHeader),
            (MAX_KEY - 1, Source::Store),
        ] {
            assert_eq!(untoken(token(key, source)), (key, source));
        }
        for index in [0, HOOK_KEYS - 1] {
            let (key, _) = untoken(hook_token(index));
            assert_eq!(hook_index(key), Some(index));
        }
        assert_eq!(hook_index(SIGNALS_KEY), None);
        assert_eq!(hook_index(0), None);
    }
}
