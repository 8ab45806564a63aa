//! Quotas (issue 27): a user's `quota=BYTES[,FILES]` in the users file
//! caps the bytes and the files under the user's home. A camera that
//! uploads all night fills its own folder, not the card.
//!
//! The [`Ledger`] keeps one count per home that has a quota (users who
//! share a home share its count): counted once by a walk off the loop
//! (`count.rs`) when the users file is loaded, at start-up and on every
//! SIGHUP (files changed behind the daemon's back are found then), and
//! kept in between by what the daemon itself does: uploads (a replaced
//! file's old bytes go, an APPE's new ones come), deletes, and renames
//! into or out of a home, whoever makes them (a `super` user without a
//! home moving a file out of a camera's folder frees its quota). A
//! folder renamed across homes has its homes counted again.
//!
//! The counts are the daemon's view: between two counts, files changed by
//! others are not seen. Over quota, STOR, APPE, STOU and MKD get `552`;
//! an upload may use what was left when it began (`room`), and one that
//! would cross it is cut there (the sink, as the free-space guard's cut),
//! leaving no partial file and the old file whole. Two uploads of one
//! home at once may each use what was left: the quota is a fence against
//! a device that never stops, not a bank account.

mod count;
pub mod limit;

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use log::{info, warn};
use pocketftp_core::{QuotaUse, VirtualPath};

use crate::auth::users::Users;
use count::{Ask, Counter};
pub use limit::Quota;

/// Bytes and files under a home.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub bytes: u64,
    pub files: u64,
}

impl Usage {
    fn add(&mut self, more: Usage) {
        self.bytes = self.bytes.saturating_add(more.bytes);
        self.files = self.files.saturating_add(more.files);
    }

    fn take(&mut self, less: Usage) {
        self.bytes = self.bytes.saturating_sub(less.bytes);
        self.files = self.files.saturating_sub(less.files);
    }
}

/// One home's count.
#[derive(Debug, Default)]
struct Count {
    /// `None` until the first walk answered.
    usage: Option<Usage>,
    /// The walk whose answer counts (older ones' are dropped).
    generation: u64,
}

/// The counts of every home that has a quota.
pub struct Ledger {
    homes: HashMap<VirtualPath, Count>,
    /// The served root on disk, where the walks start.
    root: PathBuf,
    counter: Option<Counter>,
    waker: Arc<mio::Waker>,
    generation: u64,
}

impl Ledger {
    pub fn new(root: PathBuf, waker: Arc<mio::Waker>) -> Ledger {
        Ledger {
            homes: HashMap::new(),
            root,
            counter: None,
            waker,
            generation: 0,
        }
    }

    /// The homes of `users` that have a quota, each counted again (the
    /// counter thread starts with the first); counts of homes that no
    /// longer have one go. Until its walk answers, a home keeps its old
    /// count (a new one: uploads may use the whole quota).
    pub fn recount(&mut self, users: Option<&Users>) {
        let homes: Vec<VirtualPath> = users
            .map(|u| u.quota_homes().cloned().collect())
            .unwrap_or_default();
        self.homes.retain(|home, _| homes.contains(home));
        if homes.is_empty() {
            return;
        }
        if self.counter.is_none() {
            match Counter::start(Arc::clone(&self.waker)) {
                Ok(counter) => self.counter = Some(counter),
                Err(e) => return warn!("quotas: cannot start the counter thread: {e}"),
            }
        }
        for home in homes {
            self.count(home);
        }
    }

    /// Asks the counter to walk `home`.
    fn count(&mut self, home: VirtualPath) {
        let Some(counter) = &self.counter else { return };
        self.generation += 1;
        let real = self.root.join(home.relative());
        let ask = Ask {
            home: home.clone(),
            generation: self.generation,
            real,
        };
        if counter.ask(ask) {
            self.homes.entry(home).or_default().generation = self.generation;
        } else {
            warn!(
                "quota of {home}: not counted, {} counts wait",
                count::COUNT_QUEUE
            );
        }
    }

    /// The counter's answers, through the waker.
    pub fn counted(&mut self) {
        let Some(counter) = &self.counter else { return };
        for done in counter.answers() {
            let Some(count) = self.homes.get_mut(&done.home) else {
                continue;
            };
            if count.generation != done.generation {
                continue;
            }
            match done.usage {
                Ok(usage) => {
                    let files = usize::try_from(usage.files).unwrap_or(usize::MAX);
                    let (home, bytes, files) =
                        (&done.home, usage.bytes, crate::count(files, "file"));
                    info!("quota of {home}: {bytes} bytes in {files}");
                    count.usage = Some(usage);
                }
                Err(e) => warn!("quota of {}: cannot count it: {e}", done.home),
            }
        }
    }

    /// What the user of `home` may still upload under `quota`; a
    /// `QuotaExceeded` error when it is used up (`552`).
    pub fn room(&self, home: &VirtualPath, quota: Quota) -> io::Result<u64> {
        let usage = self.usage(home);
        let files_full = quota.max_files.is_some_and(|max| usage.files >= max);
        match quota.max_bytes.checked_sub(usage.bytes) {
            Some(room) if room > 0 && !files_full => Ok(room),
            _ => Err(exceeded(home, quota)),
        }
    }

    /// `SITE QUOTA`'s numbers.
    pub fn show(&self, home: &VirtualPath, quota: Quota) -> QuotaUse {
        let usage = self.usage(home);
        QuotaUse {
            bytes: usage.bytes,
            files: usage.files,
            max_bytes: quota.max_bytes,
            max_files: quota.max_files,
        }
    }

    fn usage(&self, home: &VirtualPath) -> Usage {
        (self.homes.get(home))
            .and_then(|c| c.usage)
            .unwrap_or_default()
    }

    /// Whether any home is counted: if none, nothing needs a look before
    /// a change.
    pub fn is_empty(&self) -> bool {
        self.homes.is_empty()
    }

    /// `path` (from the root) now holds `after` where it held `before`.
    pub fn changed(&mut self, path: &str, before: Usage, after: Usage) {
        for (home, count) in &mut self.homes {
            if let (true, Some(usage)) = (is_under(path, home.as_str()), &mut count.usage) {
                usage.take(before);
                usage.add(after);
            }
        }
    }

    /// `moved` (a file's usage; `None`: a folder) went from `from` to `to`
    /// (both from the root): the homes it left or entered are changed.
    pub fn moved(&mut self, from: &str, to: &str, moved: Option<Usage>) {
        let crossed: Vec<VirtualPath> = (self.homes.keys())
            .filter(|home| is_under(from, home.as_str()) != is_under(to, home.as_str()))
            .cloned()
            .collect();
        for home in crossed {
            let Some(moved) = moved else {
                self.count(home);
                continue;
            };
            let Some(usage) = self.homes.get_mut(&home).and_then(|c| c.usage.as_mut()) else {
                continue;
            };
            if is_under(from, home.as_str()) {
                usage.take(moved);
            } else {
                usage.add(moved);
            }
        }
    }
}

/// Whether `path` is `home` or below it (both from the root).
fn is_under(path: &str, home: &str) -> bool {
    home == "/"
        || path
            .strip_prefix(home)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The error of an upload or MKD the quota refuses, or of an upload it
/// cuts: `QuotaExceeded` (`552`), saying why in the log.
pub fn exceeded(home: &VirtualPath, quota: Quota) -> io::Error {
    let files = quota
        .max_files
        .map(|f| format!(" or {f} files"))
        .unwrap_or_default();
    let max = quota.max_bytes;
    io::Error::new(
        io::ErrorKind::QuotaExceeded,
        format!("the quota of {home} ({max} bytes{files}) is reached"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_parse() {
        let q = |b, f| {
            Ok(Quota {
                max_bytes: b,
                max_files: f,
            })
        };
        assert_eq!(Quota::parse("100"), q(100, None));
        assert_eq!(Quota::parse("2G,500"), q(2 << 30, Some(500)));
        assert_eq!(Quota::parse("1k"), q(1024, None));
        for bad in ["", "x", "10M,", "10M,x", "99999999999T", ",5"] {
            assert!(Quota::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_under_homes() {
        assert!(is_under("/a/b", "/a"));
        assert!(is_under("/a", "/a"));
        assert!(is_under("/x", "/"));
        assert!(!is_under("/ab", "/a"));
        assert!(!is_under("/", "/a"));
    }

    fn ledger(homes: &[&str]) -> Ledger {
        let poll = mio::Poll::new().unwrap();
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(1)).unwrap());
        let mut ledger = Ledger::new(PathBuf::from("/nowhere"), waker);
        for home in homes {
            let count = Count {
                usage: Some(Usage::default()),
                generation: 0,
            };
            let home = VirtualPath::resolve(&VirtualPath::root(), home).unwrap();
            ledger.homes.insert(home, count);
        }
        ledger
    }

    /// Changes count in every home they are under; moves in the homes
    /// they cross; a quota used up refuses.
    #[test]
    fn changes_and_moves() {
        let mut l = ledger(&["/a", "/a/b", "/c"]);
        let (a, ab, c) = (vp("/a"), vp("/a/b"), vp("/c"));
        let file = |bytes| Usage { bytes, files: 1 };
        l.changed("/a/b/x", Usage::default(), file(10));
        l.changed("/a/y", Usage::default(), file(5));
        l.changed("/a/y", file(5), file(7));
        assert_eq!(
            (l.usage(&a), l.usage(&ab)),
            (
                Usage {
                    bytes: 17,
                    files: 2
                },
                file(10)
            )
        );
        l.moved("/a/b/x", "/c/x", Some(file(10)));
        assert_eq!(
            (l.usage(&a), l.usage(&ab), l.usage(&c)),
            (file(7), Usage::default(), file(10))
        );
        l.moved("/a/y", "/a/b/y", Some(file(7)));
        assert_eq!((l.usage(&a), l.usage(&ab)), (file(7), file(7)));
        let quota = Quota {
            max_bytes: 10,
            max_files: Some(2),
        };
        assert_eq!(
            l.room(
                &c,
                Quota {
                    max_bytes: 15,
                    max_files: None
                }
            )
            .unwrap(),
            5
        );
        let e = l.room(&c, quota).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::QuotaExceeded);
        assert!(
            l.room(
                &c,
                Quota {
                    max_bytes: 99,
                    max_files: Some(1)
                }
            )
            .is_err(),
            "files"
        );
        l.changed("/c/x", file(10), Usage::default());
        assert_eq!(l.room(&c, quota).unwrap(), 10);
    }

    fn vp(p: &str) -> VirtualPath {
        VirtualPath::resolve(&VirtualPath::root(), p).unwrap()
    }
}
