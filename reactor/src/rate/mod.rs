//! Bandwidth limits (`--max-rate-down`, `--max-rate-up`, `--max-rate`) as
//! token buckets, with the clock passed in so they are tested with
//! simulated time.
//!
//! A bucket fills at `rate` bytes per second up to its depth; a transfer
//! step may move what the bucket holds and then pays for what it moved.
//! A step can move a little more than it was allowed (a TLS record, a
//! TYPE A chunk): the bucket then goes into debt, paid back before the next
//! step, so the long-run rate holds. The reactor never sleeps on a bucket: a
//! transfer without tokens is parked on a timer until
//! [`Bucket::ready_at`] and takes no turn of the loop meanwhile.
//!
//! `--max-rate` is one bucket every transfer draws from; [`Shared`] hands
//! it out in turns (`shared.rs`).

mod shared;

use std::time::{Duration, Instant};

pub use shared::Shared;

/// The fewest bytes a bucket holds when full: one good step even at small
/// rates, so a limited transfer is not woken for a few bytes at a time.
const MIN_DEPTH: u64 = 16 * 1024;
/// The fewest tokens a parked transfer waits for: at small rates a wake-up
/// per few kilobytes keeps the flow smooth without waking for crumbs.
const MIN_WAKE: u64 = 4 * 1024;
/// Wake-ups per second of a transfer limited by a large rate, at most:
/// steps of `rate / WAKES_PER_SECOND` bytes.
const WAKES_PER_SECOND: u64 = 20;
/// The slowest limit accepted, bytes/s: slower is of no use on a network,
/// and it bounds how long a parked transfer waits.
pub const MIN_RATE: u64 = 1024;
/// The fastest limit accepted, bytes/s (1024G): far beyond any link, and
/// small enough that no arithmetic below can overflow.
pub const MAX_RATE: u64 = 1 << 40;

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// The configured limits, bytes/s; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rates {
    /// Each session's downloads (and listings).
    pub down: Option<u64>,
    /// Each session's uploads.
    pub up: Option<u64>,
    /// All sessions together, both directions.
    pub total: Option<u64>,
}

/// One token bucket; a token is a byte.
#[derive(Debug, Clone)]
pub struct Bucket {
    rate: u64,
    depth: u64,
    /// Negative while a step's overshoot is being paid back.
    tokens: i64,
    /// Tokens are counted from here: `earned` of them so far. Counting
    /// from a fixed origin, not from the last refill, loses no fraction of
    /// a token however often the bucket is refilled.
    origin: Instant,
    earned: u128,
}

impl Bucket {
    /// A full bucket for `rate` bytes/s (clamped to
    /// [`MIN_RATE`]..=[`MAX_RATE`]): a transfer starts at once.
    pub fn new(rate: u64, now: Instant) -> Bucket {
        let rate = rate.clamp(MIN_RATE, MAX_RATE);
        let depth = (rate / 10).max(MIN_DEPTH);
        Bucket {
            rate,
            depth,
            tokens: depth as i64,
            origin: now,
            earned: 0,
        }
    }

    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// Adds the tokens earned since the last refill; a full bucket starts
    /// counting afresh.
    pub fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.origin).as_nanos();
        let total = elapsed.saturating_mul(u128::from(self.rate)) / NANOS_PER_SECOND;
        let new = total.saturating_sub(self.earned);
        let room = u128::try_from(self.depth as i64 - self.tokens).unwrap_or(0);
        if new >= room {
            self.tokens = self.depth as i64;
            self.origin = now;
            self.earned = 0;
            return;
        }
        // new < room <= depth + debt: fits an i64.
        self.tokens += new as i64;
        self.earned = total;
    }

    /// Bytes that may move now (after [`refill`](Self::refill)).
    pub fn available(&self) -> u64 {
        u64::try_from(self.tokens).unwrap_or(0)
    }

    /// Whether there are enough tokens for a step worth waking up for.
    pub fn ready(&self) -> bool {
        self.available() >= self.wake_at()
    }

    /// Pays for `bytes` moved; more than was available leaves a debt.
    pub fn spend(&mut self, bytes: u64) {
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        self.tokens = self.tokens.saturating_sub(bytes);
    }

    /// When the bucket will be [`ready`](Self::ready) again (at or before
    /// the last refill if it is already). Never overflows: a time beyond
    /// what `Instant` holds becomes a second from the origin.
    pub fn ready_at(&self) -> Instant {
        let missing = (self.wake_at() as i64).saturating_sub(self.tokens);
        let Ok(missing) = u128::try_from(missing) else {
            return self.origin;
        };
        let needed = self.earned.saturating_add(missing);
        let nanos = needed
            .saturating_mul(NANOS_PER_SECOND)
            .div_ceil(u128::from(self.rate));
        let wait = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        (self.origin.checked_add(wait))
            .or_else(|| self.origin.checked_add(Duration::from_secs(1)))
            .unwrap_or(self.origin)
    }

    /// One step's fair share of a bucket many transfers draw from: what a
    /// parked transfer waits for.
    pub fn share(&self) -> u64 {
        self.wake_at()
    }

    /// The tokens a parked transfer waits for: about a twentieth of a
    /// second's worth, at least [`MIN_WAKE`], at most a full bucket.
    fn wake_at(&self) -> u64 {
        (self.rate / WAKES_PER_SECOND).max(MIN_WAKE).min(self.depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    /// Drives a bucket like the reactor does: steps of at most `step`
    /// bytes while it is ready, otherwise a jump to `ready_at`. Returns the
    /// simulated time `total` bytes took and the number of wake-ups.
    fn simulate(rate: u64, total: u64, step: u64) -> (Duration, u32) {
        let start = Instant::now();
        let mut now = start;
        let mut bucket = Bucket::new(rate, now);
        let (mut moved, mut wakes) = (0, 0);
        while moved < total {
            bucket.refill(now);
            if !bucket.ready() {
                let at = bucket.ready_at();
                assert!(at > now, "a bucket that is not ready must wait");
                now = at;
                wakes += 1;
                continue;
            }
            let n = bucket.available().min(step).min(total - moved);
            bucket.spend(n);
            moved += n;
        }
        (now - start, wakes)
    }

    #[test]
    fn long_run_rate_holds() {
        // 6 MiB at 2 MiB/s: 3 s less the first, full bucket (0.1 s).
        let (took, wakes) = simulate(2 * MIB, 6 * MIB, 128 * 1024);
        let secs = took.as_secs_f64();
        assert!((2.85..=3.0).contains(&secs), "{secs}");
        // About twenty wake-ups a second, not one per byte or per step.
        assert!((40..=80).contains(&wakes), "{wakes}");
    }

    #[test]
    fn small_rates_are_smooth_and_exact() {
        // 64 KiB at 1 KiB/s: a 16 KiB bucket, then 4 KiB every 4 s.
        let (took, wakes) = simulate(1024, 64 * 1024, 128 * 1024);
        assert_eq!(took, Duration::from_secs(48));
        assert_eq!(wakes, 12);
    }

    #[test]
    fn no_tokens_are_lost_to_rounding() {
        // Refilled every 7 µs for a second at a rate that does not divide
        // a second evenly: the bucket still earns the whole second's worth.
        let rate = 3 * MIB + 7;
        let start = Instant::now();
        let mut bucket = Bucket::new(rate, start);
        bucket.spend(bucket.available());
        let mut earned = 0;
        let mut now = start;
        while now < start + Duration::from_secs(1) {
            now += Duration::from_micros(7);
            bucket.refill(now);
            earned += bucket.available();
            bucket.spend(bucket.available());
        }
        let expected = (now - start).as_nanos() * u128::from(rate) / NANOS_PER_SECOND;
        assert!(
            u128::from(earned).abs_diff(expected) <= 1,
            "{earned} vs {expected}"
        );
    }

    #[test]
    fn overshoot_is_a_debt_paid_back() {
        let start = Instant::now();
        let mut bucket = Bucket::new(MIB, start);
        let depth = bucket.available();
        bucket.spend(depth + MIB); // a step moved a second's worth too much
        bucket.refill(start + Duration::from_millis(500));
        assert_eq!(bucket.available(), 0);
        assert!(!bucket.ready());
        // Ready once the debt and a twentieth of a second are earned.
        let at = bucket.ready_at();
        let wait = at - start;
        assert!(
            wait >= Duration::from_millis(1049) && wait <= Duration::from_millis(1051),
            "{wait:?}"
        );
    }

    #[test]
    fn a_full_bucket_stays_at_its_depth() {
        let start = Instant::now();
        let mut bucket = Bucket::new(10 * MIB, start);
        bucket.refill(start + Duration::from_secs(3600));
        assert_eq!(bucket.available(), MIB);
        assert!(bucket.ready());
        assert!(bucket.ready_at() <= start + Duration::from_secs(3600));
    }

    #[test]
    fn extreme_rates_are_clamped_and_never_overflow() {
        let start = Instant::now();
        let mut slow = Bucket::new(0, start);
        assert_eq!(slow.rate(), MIN_RATE);
        slow.spend(u64::MAX);
        slow.refill(start + Duration::from_secs(1));
        // A debt of i64::MAX bytes: the wait is huge, but computed.
        let _ = slow.ready_at();
        let mut fast = Bucket::new(u64::MAX, start);
        assert_eq!(fast.rate(), MAX_RATE);
        fast.refill(start + Duration::from_secs(u64::from(u32::MAX)));
        assert_eq!(fast.available(), MAX_RATE / 10);
    }
}
