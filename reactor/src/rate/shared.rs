//! `--max-rate`: one bucket for every transfer, handed out in turns.
//!
//! A bucket alone is not fair when many draw from it: every transfer short
//! of tokens waits for the same refill and the first one back takes it all.
//! Under `--max-rate 100K` the first download took every refill; a second
//! client's 10 KB download or a LIST waited ~9 s for it to end, and a short
//! `--data-timeout` aborted them (issue 24). Here a transfer that finds
//! others waiting, or the bucket short of a share, joins a queue; whenever
//! the bucket holds a share again, the front of the queue gets the turn:
//! one share (a twentieth of a second's worth, see [`Bucket::share`]), then
//! the back of the queue. N transfers each move about rate/N, and a small
//! one is done after its few turns, however big the others.
//!
//! The queue holds at most one entry per waiting transfer, plus those of
//! transfers that ended while they waited until the owner drops them
//! ([`Shared::retain`]).

use std::collections::VecDeque;
use std::time::Instant;

use super::Bucket;

/// The shared bucket and the transfers (`T` names one) waiting their turn.
#[derive(Debug)]
pub struct Shared<T> {
    bucket: Bucket,
    queue: VecDeque<T>,
    /// The transfer taken off the queue by [`next_turn`](Self::next_turn):
    /// it alone may take a share until its next step, or the next turn.
    turn: Option<T>,
}

impl<T: Copy + PartialEq> Shared<T> {
    /// A full bucket for `rate` bytes/s, nobody waiting.
    pub fn new(rate: u64, now: Instant) -> Shared<T> {
        Shared {
            bucket: Bucket::new(rate, now),
            queue: VecDeque::new(),
            turn: None,
        }
    }

    pub fn rate(&self) -> u64 {
        self.bucket.rate()
    }

    /// SIGHUP: a changed rate starts a new, full bucket; the queue stays.
    pub fn set_rate(&mut self, rate: u64, now: Instant) {
        if rate != self.rate() {
            self.bucket = Bucket::new(rate, now);
        }
    }

    /// The bytes `who` may move in this step: a share, if the turn is its
    /// own, or nobody waits and the bucket holds a share. Otherwise `None`,
    /// and `who` waits at the back of the queue until
    /// [`next_turn`](Self::next_turn) names it.
    pub fn take(&mut self, who: T, now: Instant) -> Option<u64> {
        self.bucket.refill(now);
        let own_turn = self.turn == Some(who);
        if own_turn {
            self.turn = None;
        }
        let free = own_turn || (self.turn.is_none() && self.queue.is_empty());
        if free && self.bucket.ready() {
            return Some(self.bucket.available().min(self.bucket.share()));
        }
        self.queue.push_back(who);
        None
    }

    /// Pays for `bytes` moved.
    pub fn spend(&mut self, bytes: u64) {
        self.bucket.spend(bytes);
    }

    /// The transfer whose turn it is now, taken off the queue: the front
    /// one, once the bucket holds a share. The previous turn, if its
    /// transfer did not take it (it ended meanwhile), is lost.
    pub fn next_turn(&mut self, now: Instant) -> Option<T> {
        self.turn = None;
        if self.queue.is_empty() {
            return None;
        }
        self.bucket.refill(now);
        if self.bucket.ready() {
            self.turn = self.queue.pop_front();
        }
        self.turn
    }

    /// When the front of the queue gets its turn; `None`: nobody waits.
    pub fn next_turn_at(&self) -> Option<Instant> {
        (!self.queue.is_empty()).then(|| self.bucket.ready_at())
    }

    /// The transfers waiting their turn, front first.
    pub fn waiting(&self) -> impl Iterator<Item = T> + '_ {
        self.queue.iter().copied()
    }

    /// Keeps in the queue only the transfers `keep` accepts (those still
    /// running), in their order.
    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.queue.retain(keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const KIB: u64 = 1024;

    /// Transfers of `sizes` bytes under one shared `rate`, driven as the
    /// reactor drives them: each turn of the loop first gives the turn,
    /// then lets every transfer not waiting take a step; with nothing to
    /// do, the clock jumps to the next turn. Returns when each finished
    /// and the longest any of them waited for bytes.
    fn simulate(rate: u64, sizes: &[u64]) -> (Vec<Duration>, Duration) {
        let start = Instant::now();
        let mut now = start;
        let mut shared = Shared::new(rate, now);
        let mut left = sizes.to_vec();
        let mut done = vec![None; sizes.len()];
        let mut waiting = vec![false; sizes.len()];
        let mut last_bytes = vec![start; sizes.len()];
        let mut longest = Duration::ZERO;
        while done.iter().any(Option::is_none) {
            if let Some(who) = shared.next_turn(now) {
                waiting[who] = false;
            }
            let mut moved_any = false;
            for who in 0..sizes.len() {
                if done[who].is_some() || waiting[who] {
                    continue;
                }
                let Some(share) = shared.take(who, now) else {
                    waiting[who] = true;
                    continue;
                };
                let n = share.min(left[who]);
                shared.spend(n);
                left[who] -= n;
                longest = longest.max(now - last_bytes[who]);
                last_bytes[who] = now;
                moved_any = true;
                if left[who] == 0 {
                    done[who] = Some(now - start);
                }
            }
            if !moved_any {
                let at = shared.next_turn_at().expect("someone waits");
                assert!(at >= now, "time runs forwards");
                now = at.max(now + Duration::from_micros(1));
            }
        }
        (done.into_iter().map(Option::unwrap).collect(), longest)
    }

    #[test]
    fn a_small_transfer_is_not_stuck_behind_big_ones() {
        // Two 1 MiB downloads and a 4 KiB listing at 100 KiB/s.
        let (done, longest) = simulate(100 * KIB, &[1024 * KIB, 1024 * KIB, 4 * KIB]);
        assert!(done[2] < Duration::from_millis(200), "{:?}", done[2]);
        // Each waited about two turns (a twentieth of a second each) at most.
        assert!(longest <= Duration::from_millis(110), "{longest:?}");
        // The two big ones shared the rate: both end near 20.5 s.
        for big in &done[..2] {
            let secs = big.as_secs_f64();
            assert!((20.0..=20.7).contains(&secs), "{secs}");
        }
    }

    #[test]
    fn the_total_holds_however_many_share_it() {
        for n in [1, 2, 7, 40] {
            let sizes = vec![64 * KIB; n];
            let (done, _) = simulate(256 * KIB, &sizes);
            let last = done.iter().max().unwrap().as_secs_f64();
            // n × 64 KiB at 256 KiB/s, less the full bucket at the start.
            let expected = (n as f64 * 64.0 - 25.6) / 256.0;
            assert!(
                (expected - 0.06..=expected + 0.06).contains(&last),
                "{n} transfers: {last} s, expected {expected}"
            );
        }
    }

    #[test]
    fn turns_go_round_in_order() {
        let start = Instant::now();
        let mut shared = Shared::new(100 * KIB, start);
        // The full bucket: the first comers take shares until it is short.
        while let Some(share) = shared.take('a', start) {
            shared.spend(share);
        }
        assert_eq!(shared.take('b', start), None);
        assert_eq!(shared.next_turn(start), None, "the bucket is short");
        let at = shared.next_turn_at().unwrap();
        assert!(at > start);
        assert_eq!(shared.next_turn(at), Some('a'));
        // Not b's turn: it waits (again) behind the queue.
        assert_eq!(shared.take('c', at), None);
        let share = shared.take('a', at).expect("a's turn");
        shared.spend(share);
        let order: Vec<char> = shared.waiting().collect();
        assert_eq!(order, ['b', 'c']);
        shared.retain(|who| *who != 'b');
        let later = shared.next_turn_at().unwrap();
        assert_eq!(shared.next_turn(later), Some('c'));
        assert_eq!(shared.next_turn_at(), None);
    }
}
