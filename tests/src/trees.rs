//! The files the tests make and compare: temporary folders, seeded random
//! bytes and names, a small tree of files, and comparisons that say where
//! two byte strings or trees differ without printing megabytes.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh folder under the system temp dir, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!(
            "pocketftpd-e2e-{label}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        fs::create_dir(&path).expect("create temp dir");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A tiny seeded PRNG (xorshift64*), so failures can be replayed.
pub struct Rng(
    /// The state; the harness sets it directly where nothing is to be
    /// replayed (free ports, its own checks).
    pub(crate) u64,
);

impl Rng {
    /// Seeded from `POCKETFTPD_SEED` if set, otherwise from `seed`; prints it.
    pub fn new(seed: u64) -> Rng {
        let seed = std::env::var("POCKETFTPD_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(seed);
        eprintln!("rng seed {seed} (set POCKETFTPD_SEED to replay)");
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            v.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        v.truncate(len);
        v
    }

    /// A random file name of safe characters, `len` long.
    pub fn name(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
        (0..len)
            .map(|_| CHARS[self.below(CHARS.len() as u64) as usize] as char)
            .collect()
    }
}

/// The first index where two byte strings differ (for readable failures).
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or(if a.len() == b.len() {
            None
        } else {
            Some(a.len().min(b.len()))
        })
}

/// Assert two byte strings are equal without printing megabytes.
#[track_caller]
pub fn assert_bytes_eq(what: &str, got: &[u8], want: &[u8]) {
    if let Some(i) = first_difference(got, want) {
        panic!(
            "{what}: {} bytes, expected {} bytes; first difference at offset {i}",
            got.len(),
            want.len()
        );
    }
}

/// Names in a real folder, sorted.
pub fn dir_names(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(p)
        .expect("read_dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    v.sort();
    v
}

/// A small tree: nested folders, an empty file, a > 1 MiB file, a space.
pub fn make_tree(dir: &Path, seed: u64) {
    let mut rng = Rng::new(seed);
    let files: [(&str, usize); 6] = [
        ("a.txt", 100),
        ("empty.bin", 0),
        ("sub/b c.bin", 70_000),
        ("sub/café ö.txt", 12),
        ("sub/deeper/big.bin", (1 << 20) + 3),
        ("sub/deeper/z.txt", 1),
    ];
    for (rel, size) in files {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, rng.bytes(size)).unwrap();
    }
}

/// Every regular file under `dir`, as (relative path, bytes), sorted.
pub fn tree_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in fs::read_dir(dir).expect("read_dir") {
            let e = e.expect("dir entry");
            let p = e.path();
            let ft = e.file_type().expect("file type");
            if ft.is_dir() {
                walk(base, &p, out);
            } else if ft.is_file() {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.push((rel, fs::read(&p).expect("read file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Assert two real trees hold the same files (relative paths and bytes).
#[track_caller]
pub fn assert_same_tree(got: &Path, want: &Path) {
    let got = tree_files(got);
    let want = tree_files(want);
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want), "file names differ");
    for ((name, g), (_, w)) in got.iter().zip(&want) {
        assert_bytes_eq(name, g, w);
    }
}
