//! The sessions' next deadlines in one min-heap of `(when, key, generation)`.
//!
//! A session re-armed earlier, or closed, leaves its old entry behind (a
//! heap cannot remove from the middle cheaply); entries are checked when they
//! come due. So that memory follows the live sessions and not the closed ones,
//! the heap is rebuilt without dead entries whenever they could outnumber the
//! live ones: linear work, done once per as many pushes, so O(1) amortised.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Entries tolerated beyond twice the live sessions before compacting.
const SLACK: usize = 64;

#[derive(Default)]
pub(crate) struct Deadlines {
    heap: BinaryHeap<Reverse<(Instant, usize, u32)>>,
}

impl Deadlines {
    pub(crate) fn push(&mut self, at: Instant, key: usize, generation: u32) {
        self.heap.push(Reverse((at, key, generation)));
    }

    /// The earliest entry's time (it may be a dead one: waking for it is harmless).
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Removes and returns the earliest entry due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, usize, u32)> {
        let Reverse(entry) = *self.heap.peek()?;
        if entry.0 > now {
            return None;
        }
        self.heap.pop();
        Some(entry)
    }

    /// Drops the entries `is_live` rejects, if there are enough entries for
    /// dead ones to dominate `live` sessions.
    pub fn compact(&mut self, live: usize, is_live: impl Fn(Instant, usize, u32) -> bool) {
        if self.heap.len() > 2 * live + SLACK {
            self.heap
                .retain(|Reverse((at, key, generation))| is_live(*at, *key, *generation));
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn closed_sessions_do_not_accumulate() {
        let start = Instant::now();
        let mut deadlines = Deadlines::default();
        // 200,000 short sessions, ten alive at any time, each with an
        // idle deadline far in the future.
        for generation in 0..200_000u32 {
            let at = start + Duration::from_secs(300);
            deadlines.push(at, generation as usize % 10, generation);
            let oldest_live = generation.saturating_sub(9);
            deadlines.compact(10, |_, _, g| g >= oldest_live);
            assert!(deadlines.len() <= 2 * 10 + SLACK + 1);
        }
    }

    #[test]
    fn due_entries_come_in_order() {
        let start = Instant::now();
        let mut deadlines = Deadlines::default();
        deadlines.push(start + Duration::from_secs(2), 1, 1);
        deadlines.push(start + Duration::from_secs(1), 2, 1);
        assert_eq!(deadlines.next(), Some(start + Duration::from_secs(1)));
        assert_eq!(deadlines.pop_due(start), None);
        let later = start + Duration::from_secs(3);
        assert_eq!(deadlines.pop_due(later).map(|e| e.1), Some(2));
        assert_eq!(deadlines.pop_due(later).map(|e| e.1), Some(1));
        assert_eq!(deadlines.pop_due(later), None);
    }
}
