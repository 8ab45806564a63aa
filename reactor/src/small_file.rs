//! The daemon's own small files — the config file, the users file, the
//! TLS certificate and key — read at start-up and again on every SIGHUP,
//! on the event loop. So a read must be short whatever the path names: the
//! file is opened non-blocking (a FIFO would otherwise block the open, and
//! then the read, until a writer came: every session frozen on a SIGHUP),
//! anything but a regular file is refused (`/dev/zero` as a certificate
//! was read whole: 2 GiB), and so is a file of more than [`MAX_SIZE`].
//!
//! What this cannot bound is a file system that does not answer (a hung
//! network mount): the loop already waits on the served files' file
//! system in the same way, so keep these files on a local disk.

use std::fs::{File, FileType, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The most such a file may hold: a users file of ten thousand accounts
/// (about 100 bytes a line), or a certificate chain, is far less.
pub const MAX_SIZE: u64 = 1024 * 1024;

/// Reads the regular file at `path`, of at most [`MAX_SIZE`] bytes.
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        let why = format!("{}, not a regular file", kind(meta.file_type()));
        return Err(io::Error::new(io::ErrorKind::InvalidInput, why));
    }
    if meta.len() > MAX_SIZE {
        return Err(too_big(meta.len()));
    }
    read_at_most(file, meta.len())
}

/// Reads the file at `path` as UTF-8 text (see [`read`]).
pub fn read_to_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read(path)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// Reads `file` to its end, which is expected after `len` bytes; a file
/// that grew meanwhile past [`MAX_SIZE`] is refused all the same.
fn read_at_most(file: File, len: u64) -> io::Result<Vec<u8>> {
    // `len` is at most MAX_SIZE: it fits a usize on every target.
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(MAX_SIZE + 1).read_to_end(&mut bytes)?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > MAX_SIZE {
        return Err(too_big(read));
    }
    Ok(bytes)
}

fn too_big(len: u64) -> io::Error {
    let why = format!(
        "{len} bytes, more than the {} KiB such a file may hold",
        MAX_SIZE / 1024
    );
    io::Error::new(io::ErrorKind::InvalidInput, why)
}

/// What a path that is not a regular file is, in a few words.
fn kind(kind: FileType) -> &'static str {
    if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::testing::TempDir;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::time::{Duration, Instant};

    fn error(path: &Path) -> String {
        read(path).unwrap_err().to_string()
    }

    #[test]
    fn reads_a_regular_file() {
        let dir = TempDir::new("small-file");
        let file = dir.0.join("users");
        std::fs::write(&file, "alice:x:super\n").unwrap();
        assert_eq!(read_to_string(&file).unwrap(), "alice:x:super\n");
        std::fs::write(&file, [0xff, 0xfe]).unwrap();
        assert_eq!(
            read_to_string(&file).unwrap_err().to_string(),
            "not UTF-8 text"
        );
    }

    #[test]
    fn refuses_what_is_not_a_regular_file_at_once() {
        let dir = TempDir::new("small-file-kinds");
        let fifo = dir.0.join("fifo");
        let c_path = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path; mkfifo reads nothing else.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let start = Instant::now();
        assert_eq!(error(&fifo), "a FIFO (named pipe), not a regular file");
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "blocked on a FIFO"
        );
        assert_eq!(
            error(Path::new("/dev/zero")),
            "a character device, not a regular file"
        );
        assert_eq!(error(&dir.0), "a folder, not a regular file");
    }

    #[test]
    fn refuses_a_file_over_the_cap() {
        let dir = TempDir::new("small-file-size");
        let file = dir.0.join("big.pem");
        let fits = vec![b'x'; usize::try_from(MAX_SIZE).unwrap()];
        std::fs::write(&file, &fits).unwrap();
        assert_eq!(read(&file).unwrap().len(), fits.len());
        std::fs::write(&file, [fits.as_slice(), b"x"].concat()).unwrap();
        assert_eq!(
            error(&file),
            "1048577 bytes, more than the 1024 KiB such a file may hold"
        );
    }
}
