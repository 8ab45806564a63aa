//! The quota counter: a thread that walks a home folder and counts its
//! files and their bytes, so that a big home (a camera's year of
//! pictures) is never walked on the event loop. Its answers wake the
//! loop through the poll's waker, as the password and sync workers' do.
//!
//! The walk is bounded: at most [`MAX_ENTRIES`] entries a count (beyond,
//! what was counted so far stands, and the log says so), symlinks are not
//! followed (a link is not a file the user stored), and only regular
//! files count. Folders cost nothing: MKD is refused over quota, but a
//! folder adds neither bytes nor a file.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use log::warn;
use pocketftp_core::VirtualPath;

use super::Usage;
use crate::workers::Workers;

/// Entries one count reads at most (a million: a few seconds on an SD
/// card; a home beyond it is undercounted, and the log says so).
pub const MAX_ENTRIES: usize = 1_000_000;

/// Counts waiting for the thread; a reload that finds the queue full
/// leaves those homes to the next one (every home is at most once in a
/// users file, and this is well above what a users file holds).
pub const COUNT_QUEUE: usize = 1024;

/// A count asked for: the home (from the root) and which count of it.
pub struct Ask {
    pub home: VirtualPath,
    pub generation: u64,
    pub real: PathBuf,
}

/// A count done.
pub struct Counted {
    pub home: VirtualPath,
    pub generation: u64,
    pub usage: io::Result<Usage>,
}

/// The thread, its queue and its answers (one thread: counts are rare,
/// and one walk at a time keeps an SD card's reads in order).
pub struct Counter(Workers<(), Ask, Counted>);

impl Counter {
    /// Starts the thread, which wakes the loop with each answer.
    pub fn start(waker: Arc<mio::Waker>) -> io::Result<Counter> {
        Workers::start("quota-count", 1, COUNT_QUEUE, waker, count).map(Counter)
    }

    /// Queues a count; `false` when the queue is full.
    pub fn ask(&self, ask: Ask) -> bool {
        self.0.submit((), ask).is_ok()
    }

    /// The counts done by now.
    pub fn answers(&self) -> impl Iterator<Item = Counted> + '_ {
        self.0.answers().map(|((), counted)| counted)
    }
}

/// One count, on the thread.
fn count(ask: Ask) -> Counted {
    let usage = walk(&ask.real, &ask.home);
    Counted {
        home: ask.home,
        generation: ask.generation,
        usage,
    }
}

/// Counts the regular files under `real` and their bytes (bounded).
fn walk(real: &std::path::Path, home: &VirtualPath) -> io::Result<Usage> {
    let mut usage = Usage::default();
    let mut folders = vec![real.to_path_buf()];
    let mut entries = 0usize;
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder)? {
            entries += 1;
            if entries > MAX_ENTRIES {
                warn!("quota of {home}: counted the first {MAX_ENTRIES} entries only");
                return Ok(usage);
            }
            let Ok(entry) = entry else { continue };
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                folders.push(entry.path());
            } else if kind.is_file() {
                let size = entry.metadata().map_or(0, |m| m.len());
                usage.add(Usage {
                    bytes: size,
                    files: 1,
                });
            }
        }
    }
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::testing::TempDir;

    #[test]
    fn counts_files_and_bytes_not_folders_nor_links() {
        let dir = TempDir::new("quota-walk");
        fs::create_dir_all(dir.0.join("a/b")).unwrap();
        fs::write(dir.0.join("one"), b"12345").unwrap();
        fs::write(dir.0.join("a/b/two"), b"123").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.0.join("link")).unwrap();
        let usage = walk(&dir.0, &VirtualPath::root()).unwrap();
        assert_eq!(usage, Usage { bytes: 8, files: 2 });
        assert!(walk(&dir.0.join("missing"), &VirtualPath::root()).is_err());
    }
}
