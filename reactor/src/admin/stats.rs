//! The daemon's counters, kept as it runs: each is bumped where its event
//! happens (a login answered, a step of a transfer, a transfer's end, a
//! turn of the loop), so a scrape reads them and recomputes nothing. All
//! of it is fixed-size: a few integers and the ring of the last
//! [`RECENT_TRANSFERS`] finished transfers.

use std::time::{Duration, Instant};

use pocketftp_core::TransferRecord;

use super::census::Census;

/// Finished transfers the status page lists (the ring's size).
pub const RECENT_TRANSFERS: usize = 16;

/// Longest file name a ring entry keeps, in bytes (cut at a character).
const MAX_RECENT_PATH: usize = 256;

/// Totals since the daemon started.
pub struct Stats {
    pub started: Instant,
    pub sessions: u64,
    pub logins: u64,
    pub logins_failed: u64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    /// Finished file transfers: `[upload, download]`, each `[complete, broken]`.
    pub transfers: [[u64; 2]; 2],
    /// Time the loop spent in its turns (not waiting in poll).
    pub busy: Duration,
    pub kicks: u64,
    /// The open sessions by what they are and do.
    pub census: Census,
    recent: [Option<Recent>; RECENT_TRANSFERS],
    /// Where the next finished transfer goes in `recent`.
    next: usize,
}

/// A finished transfer, as the status page lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recent {
    pub user: String,
    pub path: String,
    pub upload: bool,
    pub complete: bool,
    pub bytes: u64,
    pub seconds: f64,
    /// Seconds since the daemon started, when it ended.
    pub ended: u64,
}

impl Stats {
    pub fn new(started: Instant) -> Stats {
        Stats {
            started,
            sessions: 0,
            logins: 0,
            logins_failed: 0,
            bytes_received: 0,
            bytes_sent: 0,
            transfers: [[0; 2]; 2],
            busy: Duration::ZERO,
            kicks: 0,
            census: Census::default(),
            recent: Default::default(),
            next: 0,
        }
    }

    /// A step of a transfer moved `bytes`.
    pub fn moved(&mut self, upload: bool, bytes: u64) {
        let total = if upload {
            &mut self.bytes_received
        } else {
            &mut self.bytes_sent
        };
        *total = total.saturating_add(bytes);
    }

    /// A file transfer ended (the record the xferlog is written from).
    pub fn transfer_ended(&mut self, record: &TransferRecord, now: Instant) {
        let upload = !record.outgoing;
        let count = &mut self.transfers[usize::from(!upload)][usize::from(!record.complete)];
        *count = count.saturating_add(1);
        let mut path = record.path.as_str().to_owned();
        cut_at_char(&mut path, MAX_RECENT_PATH);
        self.recent[self.next] = Some(Recent {
            user: record.user.clone(),
            path,
            upload,
            complete: record.complete,
            bytes: record.bytes,
            seconds: record.seconds,
            ended: now.saturating_duration_since(self.started).as_secs(),
        });
        self.next = (self.next + 1) % RECENT_TRANSFERS;
    }

    /// The finished transfers kept, the latest first.
    pub fn recent(&self) -> impl Iterator<Item = &Recent> {
        let (older, newer) = self.recent.split_at(self.next);
        newer.iter().chain(older).rev().flatten()
    }

    pub fn uptime(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }
}

/// Cuts `s` to at most `max` bytes, at a character's boundary.
fn cut_at_char(s: &mut String, max: usize) {
    let mut at = max.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s.truncate(at);
}

#[cfg(test)]
mod tests {
    use super::*;
    use pocketftp_core::VirtualPath;

    fn record(name: &str, outgoing: bool, complete: bool) -> TransferRecord {
        TransferRecord {
            peer: [127, 0, 0, 1].into(),
            path: VirtualPath::resolve(&VirtualPath::root(), name).unwrap(),
            bytes: 10,
            seconds: 0.5,
            ascii: false,
            outgoing,
            anonymous: true,
            user: "ftp".into(),
            complete,
        }
    }

    #[test]
    fn the_ring_keeps_the_latest_first_and_counts_every_one() {
        let t0 = Instant::now();
        let mut stats = Stats::new(t0);
        for i in 0..RECENT_TRANSFERS + 3 {
            stats.transfer_ended(&record(&format!("/f{i}"), i % 2 == 0, i != 4), t0);
        }
        let paths: Vec<_> = stats.recent().map(|r| r.path.clone()).collect();
        assert_eq!(paths.len(), RECENT_TRANSFERS);
        assert_eq!(paths[0], format!("/f{}", RECENT_TRANSFERS + 2));
        assert_eq!(paths[RECENT_TRANSFERS - 1], "/f3");
        let all: u64 = stats.transfers.iter().flatten().sum();
        assert_eq!(all, RECENT_TRANSFERS as u64 + 3);
        assert_eq!(stats.transfers[1][1], 1, "one broken download (f4)");
    }

    #[test]
    fn long_names_are_cut_at_a_character() {
        let mut stats = Stats::new(Instant::now());
        let name = format!("/{}", "é".repeat(200));
        stats.transfer_ended(&record(&name, true, true), Instant::now());
        let kept = &stats.recent().next().unwrap().path;
        assert!(kept.len() <= MAX_RECENT_PATH && name.starts_with(kept.as_str()));
    }
}
