//! Listings: a folder's entries read and formatted a bounded batch at a
//! time, for a data connection (LIST, NLST, MLSD) or inline (`STAT path`).
//!
//! A glob may hide nearly every name, so a step over a data connection is
//! bounded by the names it reads, matching or not, not by what it sends:
//! `MAX_REFILLS` (`transfer.rs`) batches of [`LISTING_BATCH`] (2,048
//! names, under a millisecond), then the step ends, and the run queue
//! counts it as a full step (`server/schedule.rs`), so the loop polls its
//! sockets again after two such steps. Eight sessions listing a
//! 20,000-name folder with a hostile glob held every other session for
//! 5.6 s when matching and the turn were unbounded (issue 23).

use std::io;

use pocketftp_core::{listing, ListFormat, ListPattern, Metadata, Shown, VirtualPath};

use crate::storage::jail::Jail;
use crate::storage::Entries;

/// Entries read (and formatted, if shown) per refill of a listing.
const LISTING_BATCH: usize = 128;
/// Entries `STAT path` looks at, at most: its listing is answered in one
/// go, and a glob that matches little in a huge folder must not make it
/// read the whole folder while every other session waits.
const INLINE_ENTRY_LIMIT: usize = 64 * LISTING_BATCH;

/// `STAT path`: a `LIST`-style listing of at most about `cap` bytes (of
/// the entries `pattern`, if any, and `shown` show).
pub fn list_inline(
    storage: &Jail,
    path: &VirtualPath,
    pattern: Option<ListPattern>,
    shown: Shown,
    cap: usize,
    now: i64,
) -> io::Result<Vec<u8>> {
    let mut listing = Listing::open(storage, path, pattern, shown)?;
    let mut out = Vec::new();
    let mut looked_at = 0;
    while out.len() < cap && looked_at < INLINE_ENTRY_LIMIT {
        match listing.fill(&mut out, ListFormat::Long, false, now)? {
            0 => break,
            read => looked_at += read,
        }
    }
    Ok(out)
}

/// The entries of a folder read a batch at a time (those a glob pattern
/// matches, if there is one, and `shown` shows), or one file listed alone.
pub enum Listing {
    Folder(Entries, Option<ListPattern>, Shown),
    Single(Option<(Vec<u8>, Metadata)>),
    /// A bucket's folder, its pages fetched (`storage/s3/list_op.rs`).
    Fetched(std::vec::IntoIter<(String, Metadata)>, Option<ListPattern>),
}

impl Listing {
    /// Lists `path`; if nothing has that name and there is a `pattern`
    /// (see `OpenMode::List`), the entries of its folder that match it.
    pub(super) fn open(
        storage: &Jail,
        path: &VirtualPath,
        pattern: Option<ListPattern>,
        shown: Shown,
    ) -> io::Result<Listing> {
        match (Listing::open_name(storage, path, shown), pattern) {
            (Err(e), Some(pattern)) if e.kind() == io::ErrorKind::NotFound => {
                let entries = storage.entries(&path.parent())?;
                Ok(Listing::Folder(entries, Some(pattern), shown))
            }
            (listing, _) => listing,
        }
    }

    /// A folder's entries, or one file alone.
    fn open_name(storage: &Jail, path: &VirtualPath, shown: Shown) -> io::Result<Listing> {
        match storage.entries(path) {
            Ok(entries) => Ok(Listing::Folder(entries, None, shown)),
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
                let meta = storage.stat(path)?;
                let name = path.file_name().as_bytes();
                let entry = shown.shows(name).then(|| (name.to_vec(), meta));
                Ok(Listing::Single(entry))
            }
            Err(e) => Err(e),
        }
    }

    /// Formats up to [`LISTING_BATCH`] more entries and says how many it
    /// read; 0 when none are left. Entries a pattern hides count: a big
    /// folder with few matches is still read a bounded batch per step.
    pub(super) fn fill(
        &mut self,
        out: &mut Vec<u8>,
        format: ListFormat,
        writable: bool,
        now: i64,
    ) -> io::Result<usize> {
        match self {
            Listing::Single(entry) => match entry.take() {
                Some((name, meta)) => {
                    listing::write_entry(out, format, writable, &name, &meta, now);
                    Ok(1)
                }
                None => Ok(0),
            },
            Listing::Folder(entries, pattern, shown) => {
                let mut read = 0;
                while read < LISTING_BATCH {
                    let Some(entry) = entries.next()? else {
                        break;
                    };
                    read += 1;
                    if entry.is_hidden() || !shown.shows(entry.name()) {
                        continue;
                    }
                    // Only a name the pattern lists costs an `fstat`.
                    let meta = || entries.metadata(&entry);
                    let (pattern, name) = (pattern.as_ref(), entry.name());
                    listing::write_listed(out, format, writable, pattern, name, meta, now);
                }
                Ok(read)
            }
            Listing::Fetched(entries, pattern) => {
                let mut read = 0;
                for (name, meta) in entries.take(LISTING_BATCH) {
                    read += 1;
                    let (pattern, meta) = (pattern.as_ref(), || Some(meta));
                    listing::write_listed(
                        out,
                        format,
                        writable,
                        pattern,
                        name.as_bytes(),
                        meta,
                        now,
                    );
                }
                Ok(read)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::testing::{vp, TempDir};

    #[test]
    fn listing_batches_cover_every_entry() {
        let dir = TempDir::new("listing");
        for i in 0..300 {
            std::fs::write(dir.0.join(format!("f{i:03}")), b"x").unwrap();
        }
        std::fs::write(dir.0.join(".pocketftpd-upload-1"), b"hidden").unwrap();
        let jail = Jail::open(&dir.0).unwrap();
        let mut listing = Listing::open(&jail, &vp("/"), None, Shown::All).unwrap();
        let mut out = Vec::new();
        let mut batches = 0;
        while listing.fill(&mut out, ListFormat::Names, false, 0).unwrap() > 0 {
            batches += 1;
        }
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 300);
        assert!(!text.contains("pocketftpd"));
        assert!(batches >= 3);
    }

    fn pattern(glob: &str, prefix: &str) -> Option<ListPattern> {
        Some(ListPattern {
            glob: pocketftp_core::Glob::new(glob).unwrap(),
            prefix: prefix.to_owned(),
        })
    }

    /// Every batch reads its share of the folder, matching or not: a glob
    /// that matches nothing still ends, in bounded steps, with nothing.
    #[test]
    fn glob_listings_filter_as_they_read() {
        let dir = TempDir::new("listing-glob");
        for i in 0..300 {
            std::fs::write(dir.0.join(format!("f{i:03}.txt")), b"x").unwrap();
        }
        std::fs::write(dir.0.join("f1[x].jpg"), b"").unwrap();
        std::fs::write(dir.0.join("f1x.jpg"), b"").unwrap();
        std::fs::write(dir.0.join(".pocketftpd-upload-1"), b"hidden").unwrap();
        let jail = Jail::open(&dir.0).unwrap();
        let list = |glob: &str, prefix: &str| {
            let path = vp(&format!("/{glob}"));
            let mut listing =
                Listing::open(&jail, &path, pattern(glob, prefix), Shown::All).unwrap();
            let (mut out, mut batches) = (Vec::new(), 0);
            loop {
                match listing.fill(&mut out, ListFormat::Names, false, 0).unwrap() {
                    0 => break,
                    read => assert!(read <= LISTING_BATCH),
                }
                batches += 1;
            }
            let mut names: Vec<String> = String::from_utf8(out)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect();
            names.sort();
            (names, batches)
        };
        let (names, batches) = list("f29?.txt", "pub/");
        assert_eq!(names.len(), 10);
        assert_eq!(names[0], "pub/f290.txt");
        assert!(batches >= 3, "{batches} batches");
        assert_eq!(list("*.jpg", "").0, ["f1[x].jpg", "f1x.jpg"]);
        // A name that exists is listed as it is, though it holds brackets.
        assert_eq!(list("f1[x].jpg", "").0, ["f1[x].jpg"]);
        let (names, batches) = list("*.png", "");
        assert!(names.is_empty() && batches >= 3, "{names:?} in {batches}");
        // Wildcards in a folder that is a file: as for any path under it.
        std::fs::write(dir.0.join("plain"), b"").unwrap();
        let err = Listing::open(&jail, &vp("/plain/*"), pattern("*", ""), Shown::All).err();
        assert_eq!(err.and_then(|e| e.raw_os_error()), Some(libc::ENOTDIR));
        let err = Listing::open(&jail, &vp("/none/*"), pattern("*", ""), Shown::All).err();
        assert_eq!(err.and_then(|e| e.raw_os_error()), Some(libc::ENOENT));
    }

    #[test]
    fn inline_glob_listings_look_at_a_bounded_number_of_entries() {
        let dir = TempDir::new("inline-glob");
        for i in 0..(INLINE_ENTRY_LIMIT + 200) {
            std::fs::write(dir.0.join(format!("{i:05}")), b"").unwrap();
        }
        let jail = Jail::open(&dir.0).unwrap();
        let all = list_inline(
            &jail,
            &vp("/*"),
            pattern("*", ""),
            Shown::All,
            usize::MAX,
            0,
        )
        .unwrap();
        let lines = String::from_utf8(all).unwrap().lines().count();
        assert!(
            (INLINE_ENTRY_LIMIT..INLINE_ENTRY_LIMIT + LISTING_BATCH).contains(&lines),
            "{lines}"
        );
        let none = list_inline(
            &jail,
            &vp("/x*"),
            pattern("x*", ""),
            Shown::All,
            usize::MAX,
            0,
        )
        .unwrap();
        assert!(none.is_empty());
    }
}
