//! What the open sessions are and do, kept as they change: each connection
//! carries the [`Mark`] it is counted under, and after every drive the
//! loop moves it from its old mark to its new one ([`Census::recount`]),
//! and out of the census when it closes. A scrape then reads a few
//! integers, whatever the number of sessions.

/// What one session is counted as: a set of bits.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Mark(u8);

impl Mark {
    /// Not counted: a session that ended, or not started.
    pub const NONE: Mark = Mark(0);
    pub const OPEN: Mark = Mark(1);
    pub const TLS: Mark = Mark(1 << 1);
    pub const LOGGED_IN: Mark = Mark(1 << 2);
    pub const ANONYMOUS: Mark = Mark(1 << 3);
    pub const UPLOAD: Mark = Mark(1 << 4);
    pub const DOWNLOAD: Mark = Mark(1 << 5);
    pub const LISTING: Mark = Mark(1 << 6);
    pub const DATA: Mark = Mark(1 << 7);

    /// `self` with `bit` too, if `on`.
    pub fn with(self, bit: Mark, on: bool) -> Mark {
        if on {
            Mark(self.0 | bit.0)
        } else {
            self
        }
    }

    pub fn has(self, bit: Mark) -> bool {
        self.0 & bit.0 != 0
    }
}

/// The open sessions, counted by what they are and do.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Census {
    /// By bit of [`Mark`]: sessions open, in TLS, logged in, anonymous,
    /// uploading, downloading, listing, with a data connection.
    counts: [u64; 8],
}

impl Census {
    /// A session counted under `old` is now `new`.
    pub fn recount(&mut self, old: Mark, new: Mark) {
        for (bit, count) in self.counts.iter_mut().enumerate() {
            let bit = Mark(1 << bit);
            match (old.has(bit), new.has(bit)) {
                (false, true) => *count = count.saturating_add(1),
                (true, false) => *count = count.saturating_sub(1),
                _ => {}
            }
        }
    }

    /// Sessions whose mark has `bit`.
    pub fn count(&self, bit: Mark) -> u64 {
        self.counts[bit.0.trailing_zeros() as usize % 8]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_move_between_counts() {
        let mut census = Census::default();
        let open = Mark::OPEN;
        let downloading = open.with(Mark::LOGGED_IN, true).with(Mark::DOWNLOAD, true);
        census.recount(Mark::NONE, open);
        census.recount(Mark::NONE, open);
        census.recount(open, downloading);
        assert_eq!(census.count(Mark::OPEN), 2);
        assert_eq!(census.count(Mark::DOWNLOAD), 1);
        assert_eq!(census.count(Mark::LOGGED_IN), 1);
        census.recount(downloading, Mark::NONE);
        census.recount(open, Mark::NONE);
        assert_eq!(census, Census::default());
    }
}
