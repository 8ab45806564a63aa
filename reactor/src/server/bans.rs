//! Bans: an address from which `--ban-after` logins failed within
//! `--ban-window` is refused for `--ban-time`, and twice as long at each
//! ban after that (at most [`MAX_BAN`]). A refused connection gets `421`
//! right after accept and nothing more: no session slot, no TLS handshake,
//! no log line (one when the ban starts, one when it ends), so a password
//! spray costs the board next to nothing. `--max-login-failures` ends one
//! session; this ends the attacker's next ones.
//!
//! Failed logins count per address across sessions: a wrong password or
//! an unknown user (the password worker's one answer for both), and a TLS
//! handshake that fails on a control connection. An IPv6 client counts as
//! its /64: whoever has one address there has 2^64 of them. Addresses in
//! `--ban-safelist` (loopback, unless the option is given) are never
//! banned.
//!
//! The table belongs to the server, not to its settings: SIGHUP changes
//! the rules and keeps the bans. It is bounded ([`MAX_ADDRESSES`]): past
//! that, the address that failed least recently is forgotten first.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use pocketftp_core::{canonical_ip, Cidr};

/// Addresses (and IPv6 /64s) the table remembers, at most: about 100 bytes
/// each, 10 MB when full.
pub const MAX_ADDRESSES: usize = 100_000;
/// The longest a ban grows to by doubling.
pub const MAX_BAN: Duration = Duration::from_secs(7 * 24 * 3600);

/// When an address is banned, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanRules {
    /// Failed logins within `window` that ban an address; `None`: no bans.
    pub after: Option<u32>,
    pub window: Duration,
    /// The first ban's length; each further one lasts twice the last.
    pub time: Duration,
    /// Never banned.
    pub safelist: Vec<Cidr>,
}

impl BanRules {
    /// `--ban-safelist`'s default: loopback.
    pub fn loopback() -> Vec<Cidr> {
        let v4 = Cidr::new(IpAddr::from([127, 0, 0, 0]), 8);
        let v6 = Cidr::new(IpAddr::from(Ipv6Addr::LOCALHOST), 128);
        v4.into_iter().chain(v6).collect()
    }
}

/// What the table knows of one address.
struct Record {
    /// Failed logins since `since`, while within the window.
    failures: u32,
    since: Instant,
    /// Banned until then.
    until: Option<Instant>,
    /// Bans so far.
    bans: u32,
    /// When it last failed, in the table's own count (oldest forgotten first).
    touched: u64,
}

/// The ban table.
pub(crate) struct Bans {
    rules: BanRules,
    records: HashMap<IpAddr, Record>,
    /// Addresses by their last failure, oldest first.
    by_touch: BTreeMap<u64, IpAddr>,
    /// When each ban ends.
    ends: BTreeSet<(Instant, IpAddr)>,
    touches: u64,
    /// Bans imposed since start-up, for `/metrics`.
    imposed: u64,
}

impl Bans {
    pub fn new(rules: BanRules) -> Bans {
        Bans {
            rules,
            records: HashMap::new(),
            by_touch: BTreeMap::new(),
            ends: BTreeSet::new(),
            touches: 0,
            imposed: 0,
        }
    }

    /// SIGHUP: new rules for what happens from now on; the bans stay (a
    /// newly safelisted address is let in, and with bans off nobody is
    /// refused).
    pub fn set_rules(&mut self, rules: BanRules) {
        self.rules = rules;
    }

    /// Whether a new connection from `ip` is refused.
    pub fn refuses(&self, ip: IpAddr, now: Instant) -> bool {
        let banned = (self.records.get(&key(ip))).is_some_and(|r| r.until.is_some_and(|t| t > now));
        banned && self.rules.after.is_some() && !self.is_safe(ip)
    }

    /// A login from `ip` failed.
    pub fn failed_login(&mut self, ip: IpAddr, now: Instant) {
        let Some(after) = self.rules.after else {
            return;
        };
        if self.is_safe(ip) {
            return;
        }
        let (window, time) = (self.rules.window, self.rules.time);
        let key = key(ip);
        let record = self.touch(key, now);
        if record.until.is_some_and(|until| until > now) {
            return; // its sessions from before the ban fail on
        }
        if now.saturating_duration_since(record.since) > window {
            (record.failures, record.since) = (0, now);
        }
        record.failures += 1;
        if record.failures < after {
            return;
        }
        let length = ban_length(time, record.bans);
        let Some(until) = now.checked_add(length) else {
            return;
        };
        (record.failures, record.until) = (0, Some(until));
        record.bans = record.bans.saturating_add(1);
        let nth = match record.bans {
            1 => String::new(),
            n => format!(", ban {n} of this address"),
        };
        warn!(
            "{}: banned for {} s after {after} failed logins within {} s{nth}",
            Shown(key),
            length.as_secs(),
            window.as_secs()
        );
        self.ends.insert((until, key));
        self.imposed = self.imposed.saturating_add(1);
    }

    /// Ends the bans that are over (a line each).
    pub fn lift_expired(&mut self, now: Instant) {
        while let Some(&(until, key)) = self.ends.first().filter(|(until, _)| *until <= now) {
            self.ends.remove(&(until, key));
            if let Some(record) = self
                .records
                .get_mut(&key)
                .filter(|r| r.until == Some(until))
            {
                record.until = None;
                info!("{}: ban over", Shown(key));
            }
        }
    }

    /// Bans in force (until their end is seen), and bans imposed since
    /// start-up.
    pub fn counts(&self) -> (usize, u64) {
        (self.ends.len(), self.imposed)
    }

    /// The bans in force, the soonest to end first, at most `limit`: the
    /// address (an IPv6 one as its /64) and when its ban ends.
    pub fn in_force(
        &self,
        now: Instant,
        limit: usize,
    ) -> impl Iterator<Item = (String, Instant)> + '_ {
        (self.ends.iter())
            .filter(move |(until, _)| *until > now)
            .take(limit)
            .map(|&(until, key)| (Shown(key).to_string(), until))
    }

    /// When the next ban ends.
    pub fn next_end(&self) -> Option<Instant> {
        self.ends.first().map(|(until, _)| *until)
    }

    fn is_safe(&self, ip: IpAddr) -> bool {
        self.rules.safelist.iter().any(|net| net.contains(ip))
    }

    /// The record of `key`, made if new (forgetting the oldest one when
    /// the table is full), now the most recently touched.
    fn touch(&mut self, key: IpAddr, now: Instant) -> &mut Record {
        self.touches += 1;
        let touched = self.touches;
        if let Some(record) = self.records.get_mut(&key) {
            self.by_touch.remove(&record.touched);
        } else if self.records.len() >= MAX_ADDRESSES {
            self.forget_oldest();
        }
        self.by_touch.insert(touched, key);
        let record = self.records.entry(key).or_insert(Record {
            failures: 0,
            since: now,
            until: None,
            bans: 0,
            touched,
        });
        record.touched = touched;
        record
    }

    fn forget_oldest(&mut self) {
        let Some((_, key)) = self.by_touch.pop_first() else {
            return;
        };
        if let Some(Record {
            until: Some(until), ..
        }) = self.records.remove(&key)
        {
            self.ends.remove(&(until, key));
            debug!("{}: ban forgotten: the ban table is full", Shown(key));
        }
    }
}

/// The first ban's `time`, doubled for each of `bans` before, at most
/// [`MAX_BAN`].
fn ban_length(time: Duration, bans: u32) -> Duration {
    let factor = 2u32.checked_pow(bans).unwrap_or(u32::MAX);
    time.checked_mul(factor).unwrap_or(MAX_BAN).min(MAX_BAN)
}

/// What failures count against: the address, or an IPv6 address's /64.
fn key(ip: IpAddr) -> IpAddr {
    match canonical_ip(ip) {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

/// A key as the log shows it: `203.0.113.9`, `2001:db8:1:2::/64`.
struct Shown(IpAddr);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn rules() -> BanRules {
        BanRules {
            after: Some(3),
            window: 10 * MINUTE,
            time: MINUTE,
            safelist: BanRules::loopback(),
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn failures_within_the_window_ban_for_longer_each_time() {
        let mut bans = Bans::new(rules());
        let start = Instant::now();
        let attacker = ip("203.0.113.9");
        bans.failed_login(attacker, start);
        bans.failed_login(attacker, start + MINUTE);
        assert!(!bans.refuses(attacker, start + MINUTE));
        bans.failed_login(attacker, start + 2 * MINUTE);
        let banned_at = start + 2 * MINUTE;
        assert!(bans.refuses(attacker, banned_at));
        assert!(
            bans.refuses(ip("::ffff:203.0.113.9"), banned_at),
            "dual-stack"
        );
        assert!(!bans.refuses(ip("203.0.113.10"), banned_at));
        assert_eq!(bans.next_end(), Some(banned_at + MINUTE));
        // Failures during the ban (sessions from before) change nothing.
        bans.failed_login(attacker, banned_at + Duration::from_secs(30));
        bans.lift_expired(banned_at + Duration::from_secs(59));
        assert!(bans.refuses(attacker, banned_at + Duration::from_secs(59)));
        bans.lift_expired(banned_at + MINUTE);
        assert!(!bans.refuses(attacker, banned_at + MINUTE));
        assert_eq!(bans.next_end(), None);
        // The second ban lasts twice as long.
        let again = banned_at + 2 * MINUTE;
        for _ in 0..3 {
            bans.failed_login(attacker, again);
        }
        assert_eq!(bans.next_end(), Some(again + 2 * MINUTE));
    }

    #[test]
    fn failures_further_apart_than_the_window_do_not_add_up() {
        let mut bans = Bans::new(rules());
        let start = Instant::now();
        let slow = ip("203.0.113.9");
        for n in 0..10 {
            bans.failed_login(slow, start + n * 6 * MINUTE);
        }
        assert!(!bans.refuses(slow, start + 60 * MINUTE));
    }

    #[test]
    fn the_safelist_and_no_bans() {
        let start = Instant::now();
        let mut bans = Bans::new(rules());
        for _ in 0..10 {
            bans.failed_login(ip("127.0.0.5"), start);
            bans.failed_login(ip("::1"), start);
        }
        assert!(!bans.refuses(ip("127.0.0.5"), start) && !bans.refuses(ip("::1"), start));
        assert!(
            bans.records.is_empty(),
            "safe addresses are not even counted"
        );
        // A ban in force, then the rules change (SIGHUP): the ban stays,
        // but a safelisted address, or bans off, let it in.
        let attacker = ip("203.0.113.9");
        for _ in 0..3 {
            bans.failed_login(attacker, start);
        }
        bans.set_rules(BanRules {
            safelist: vec!["203.0.113.0/24".parse().unwrap()],
            ..rules()
        });
        assert!(!bans.refuses(attacker, start));
        bans.set_rules(BanRules {
            after: None,
            ..rules()
        });
        assert!(!bans.refuses(attacker, start));
        bans.set_rules(rules());
        assert!(bans.refuses(attacker, start), "the ban survived");
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64() {
        let mut bans = Bans::new(rules());
        let start = Instant::now();
        for host in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"] {
            bans.failed_login(ip(host), start);
        }
        assert!(bans.refuses(ip("2001:db8:1:2:abcd::9"), start));
        assert!(!bans.refuses(ip("2001:db8:1:3::1"), start));
        assert_eq!(
            Shown(key(ip("2001:db8:1:2::1"))).to_string(),
            "2001:db8:1:2::/64"
        );
    }

    #[test]
    fn bans_double_up_to_a_week() {
        assert_eq!(ban_length(MINUTE, 0), MINUTE);
        assert_eq!(ban_length(MINUTE, 3), 8 * MINUTE);
        assert_eq!(ban_length(MINUTE, 20), MAX_BAN);
        assert_eq!(ban_length(Duration::from_secs(86_400), u32::MAX), MAX_BAN);
    }

    #[test]
    fn the_table_forgets_the_oldest_past_its_cap() {
        let mut bans = Bans::new(BanRules {
            after: Some(1),
            ..rules()
        });
        let start = Instant::now();
        let address = |n: u32| IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n));
        for n in 0..MAX_ADDRESSES as u32 {
            bans.failed_login(address(n), start);
        }
        assert!(bans.refuses(address(0), start));
        // The oldest is forgotten for a newcomer, its ban with it.
        bans.failed_login(address(MAX_ADDRESSES as u32), start);
        assert_eq!(bans.records.len(), MAX_ADDRESSES);
        assert_eq!(
            (bans.by_touch.len(), bans.ends.len()),
            (MAX_ADDRESSES, MAX_ADDRESSES)
        );
        assert!(!bans.refuses(address(0), start));
        assert!(bans.refuses(address(1), start));
        assert!(bans.refuses(address(MAX_ADDRESSES as u32), start));
    }
}
