//! A session's deadlines: a fixed table with one slot per kind of timer, not
//! a heap of boxes. Time is passed in; nothing here reads a clock.

use std::time::{Duration, Instant};

/// The kinds of deadline a session has, in the order they fire when several
/// are due at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The pause before answering a failed `PASS`.
    LoginDelay,
    /// The data connection of a transfer was not made in `data_timeout`.
    DataConnect,
    /// A running transfer made no progress for `data_timeout`.
    Stall,
    /// A received upload has waited `upload_settle`: it may be committed.
    Settle,
    /// No command for `idle_timeout` (not armed during transfers).
    Idle,
}

impl Timer {
    const ALL: [Timer; 5] = [
        Timer::LoginDelay,
        Timer::DataConnect,
        Timer::Stall,
        Timer::Settle,
        Timer::Idle,
    ];
}

/// One optional deadline per [`Timer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Timers {
    slots: [Option<Instant>; Timer::ALL.len()],
}

impl Timers {
    /// Arms `timer` to fire `after` from `now`. A delay too large for the
    /// clock (a configuration of centuries) means "never".
    pub fn arm(&mut self, timer: Timer, now: Instant, after: Duration) {
        self.slots[timer as usize] = now.checked_add(after);
    }

    pub fn disarm(&mut self, timer: Timer) {
        self.slots[timer as usize] = None;
    }

    pub fn disarm_all(&mut self) {
        self.slots = [None; Timer::ALL.len()];
    }

    /// The earliest armed deadline.
    pub fn next(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// Disarms and returns the first timer due at `now`, in [`Timer::ALL`]
    /// order.
    pub fn take_due(&mut self, now: Instant) -> Option<Timer> {
        let due = Timer::ALL
            .into_iter()
            .find(|&t| self.slots[t as usize].is_some_and(|at| at <= now))?;
        self.disarm(due);
        Some(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_timers_fire_once_in_order() {
        let start = Instant::now();
        let mut timers = Timers::default();
        timers.arm(Timer::Idle, start, Duration::from_secs(1));
        timers.arm(Timer::LoginDelay, start, Duration::from_secs(2));
        assert_eq!(timers.next(), Some(start + Duration::from_secs(1)));
        let later = start + Duration::from_secs(5);
        assert_eq!(timers.take_due(later), Some(Timer::LoginDelay));
        assert_eq!(timers.take_due(later), Some(Timer::Idle));
        assert_eq!(timers.take_due(later), None);
        assert_eq!(timers.next(), None);
    }

    #[test]
    fn an_absurd_delay_never_fires_instead_of_overflowing() {
        let mut timers = Timers::default();
        timers.arm(Timer::Idle, Instant::now(), Duration::MAX);
        assert_eq!(timers.next(), None);
    }
}
