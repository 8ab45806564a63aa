//! Listings: a folder's entries read and formatted a bounded batch at a
//! time, for a data connection (LIST, NLST, MLSD) or inline (`STAT path`).

use std::io;

use pocketftp_core::{listing, ListFormat, ListPattern, Metadata, VirtualPath};

use crate::storage::dir::DirStream;
use crate::storage::jail::Jail;
use crate::storage::sys;
use crate::storage::temps;

/// Entries formatted per refill of a listing.
const LISTING_BATCH: usize = 128;
/// Entries `STAT path` looks at, at most: its listing is answered in one
/// go, and a glob that matches little in a huge folder must not make it
/// read the whole folder while every other session waits.
const INLINE_ENTRY_LIMIT: usize = 64 * LISTING_BATCH;

/// `STAT path`: a `LIST`-style listing of at most about `cap` bytes (of
/// the entries `pattern` shows, if any).
pub fn list_inline(
    jail: &Jail,
    path: &VirtualPath,
    pattern: Option<ListPattern>,
    cap: usize,
    now: i64,
) -> io::Result<Vec<u8>> {
    let mut listing = Listing::open(jail, path, pattern)?;
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
/// matches, if there is one), or one file listed alone.
pub enum Listing {
    Folder(DirStream, Option<ListPattern>),
    Single(Option<(Vec<u8>, Metadata)>),
}

impl Listing {
    /// Lists `path`; if nothing has that name and there is a `pattern`
    /// (see `OpenMode::List`), the entries of its folder that match it.
    pub(super) fn open(
        jail: &Jail,
        path: &VirtualPath,
        pattern: Option<ListPattern>,
    ) -> io::Result<Listing> {
        match (Listing::open_name(jail, path), pattern) {
            (Err(e), Some(pattern)) if e.raw_os_error() == Some(libc::ENOENT) => {
                let folder = path.parent();
                let fd = jail.open_path(&folder, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
                Ok(Listing::Folder(DirStream::new(fd)?, Some(pattern)))
            }
            (listing, _) => listing,
        }
    }

    /// A folder's entries, or one file alone.
    fn open_name(jail: &Jail, path: &VirtualPath) -> io::Result<Listing> {
        match jail.open_path(path, libc::O_RDONLY | libc::O_DIRECTORY, 0) {
            Ok(fd) => Ok(Listing::Folder(DirStream::new(fd)?, None)),
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                let meta = jail.stat(path)?;
                Ok(Listing::Single(Some((
                    path.file_name().as_bytes().to_vec(),
                    meta,
                ))))
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
            Listing::Folder(dir, pattern) => {
                let mut read = 0;
                while read < LISTING_BATCH {
                    let Some((name, _)) = dir.next_name() else {
                        if let Some(error) = dir.take_error() {
                            return Err(error);
                        }
                        break;
                    };
                    read += 1;
                    if temps::is_reserved(name.to_bytes()) {
                        continue;
                    }
                    // Only a name the pattern lists costs an `fstat`.
                    let meta = || sys::fstat_at(dir.fd(), &name).ok();
                    let (pattern, bytes) = (pattern.as_ref(), name.to_bytes());
                    listing::write_listed(out, format, writable, pattern, bytes, meta, now);
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
        let mut listing = Listing::open(&jail, &vp("/"), None).unwrap();
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
            let mut listing = Listing::open(&jail, &path, pattern(glob, prefix)).unwrap();
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
        let err = Listing::open(&jail, &vp("/plain/*"), pattern("*", "")).err();
        assert_eq!(err.and_then(|e| e.raw_os_error()), Some(libc::ENOTDIR));
        let err = Listing::open(&jail, &vp("/none/*"), pattern("*", "")).err();
        assert_eq!(err.and_then(|e| e.raw_os_error()), Some(libc::ENOENT));
    }

    #[test]
    fn inline_glob_listings_look_at_a_bounded_number_of_entries() {
        let dir = TempDir::new("inline-glob");
        for i in 0..(INLINE_ENTRY_LIMIT + 200) {
            std::fs::write(dir.0.join(format!("{i:05}")), b"").unwrap();
        }
        let jail = Jail::open(&dir.0).unwrap();
        let all = list_inline(&jail, &vp("/*"), pattern("*", ""), usize::MAX, 0).unwrap();
        let lines = String::from_utf8(all).unwrap().lines().count();
        assert!(
            (INLINE_ENTRY_LIMIT..INLINE_ENTRY_LIMIT + LISTING_BATCH).contains(&lines),
            "{lines}"
        );
        let none = list_inline(&jail, &vp("/x*"), pattern("x*", ""), usize::MAX, 0).unwrap();
        assert!(none.is_empty());
    }
}
