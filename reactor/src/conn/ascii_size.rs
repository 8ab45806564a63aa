//! `SIZE` in `TYPE A` (`Action::AsciiSize`): the bytes a `TYPE A` download
//! of a file would send, counted by reading it, since each LF goes out as
//! CRLF. The session bounds the read (`max_bytes`: 1 MiB, a few
//! milliseconds from the page cache), so a `SIZE` never reads a big file.

use std::io;

use pocketftp_core::{ascii, VirtualPath};

use crate::storage::jail::Jail;

/// Bytes read per step of the count.
const CHUNK: usize = 64 * 1024;

/// The network size of `path`, or `None` if it holds more than `max_bytes`.
pub(super) fn ascii_size(
    storage: &Jail,
    path: &VirtualPath,
    max_bytes: u64,
) -> io::Result<Option<u64>> {
    let mut source = storage.open_source(path, 0)?;
    if source.size() > max_bytes {
        return Ok(None);
    }
    let mut chunk = vec![0; CHUNK];
    let (mut read, mut size) = (0u64, 0u64);
    loop {
        let n = source.read(&mut chunk)?;
        if n == 0 {
            return Ok(Some(size));
        }
        // A file that grows while it is counted is still read no further.
        read = read.saturating_add(n as u64);
        if read > max_bytes {
            return Ok(None);
        }
        size = size.saturating_add(ascii::network_size(&chunk[..n]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::testing::{vp, TempDir};

    #[test]
    fn counts_each_lf_twice_and_stops_at_the_bound() {
        let dir = TempDir::new("ascii-size");
        std::fs::write(dir.0.join("text"), b"a\nbc\n\n").unwrap();
        std::fs::write(dir.0.join("big"), vec![b'\n'; 2 * CHUNK + 1]).unwrap();
        let jail = Jail::open(&dir.0).unwrap();
        assert_eq!(ascii_size(&jail, &vp("/text"), 100).unwrap(), Some(9));
        let big = (2 * CHUNK + 1) as u64;
        assert_eq!(ascii_size(&jail, &vp("/big"), big).unwrap(), Some(2 * big));
        assert_eq!(ascii_size(&jail, &vp("/big"), big - 1).unwrap(), None);
        assert!(ascii_size(&jail, &vp("/none"), 100).is_err());
    }
}
