//! What a hook's queue has done, for `/metrics`: a leaf of its own, so the
//! admin view reads it without importing the hooks' machinery.

/// A hook's queue and failures, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HookCounts {
    /// Events waiting (not yet started or sent).
    pub queued: usize,
    /// Events dropped because the queue was full ([`MAX_QUEUED`](super::MAX_QUEUED)).
    pub dropped: u64,
    /// Events whose hook failed: the program did not start, exited with
    /// an error or was killed; the webhook's last attempt failed.
    pub failed: u64,
}
