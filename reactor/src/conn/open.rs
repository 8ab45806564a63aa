//! `Action::Open`: the source or sink of the next transfer, opened and
//! held until `StartTransfer` (or until the session drops it).

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

use pocketftp_core::{ListFormat, OpenMode, VirtualPath};

use super::listing::Listing;
use crate::storage::error_kind::bad_offset;
use crate::storage::jail::Jail;
use crate::storage::sys;
use crate::storage::temps::TempFile;

/// The source or sink of a transfer, opened and waiting for `StartTransfer`.
pub enum Opened {
    /// A file to send from `offset` up to `end` (its size when opened).
    Download { file: File, offset: u64, end: u64 },
    Listing {
        listing: Listing,
        format: ListFormat,
        writable: bool,
    },
    Upload {
        file: File,
        temp: Option<TempFile>,
        /// REST+STOR's offset: the file is cut there only when the transfer
        /// starts, so a data connection that never comes leaves it whole.
        restart: Option<u64>,
    },
}

/// What `Open` reports besides the opened thing.
pub struct OpenResult {
    pub opened: Opened,
    pub size: Option<u64>,
    pub unique_name: Option<VirtualPath>,
}

/// Opens `path` as `mode` asks (see `pocketftp_core::OpenMode`).
pub fn open(jail: &Jail, path: &VirtualPath, mode: OpenMode) -> io::Result<OpenResult> {
    let plain = |opened| OpenResult {
        opened,
        size: None,
        unique_name: None,
    };
    match mode {
        OpenMode::Read { offset } => {
            let file = jail.open_read(path)?;
            let end = file.metadata()?.len();
            if offset > end {
                return Err(bad_offset());
            }
            let opened = Opened::Download { file, offset, end };
            Ok(OpenResult {
                opened,
                size: Some(end),
                unique_name: None,
            })
        }
        OpenMode::List {
            format,
            writable,
            pattern,
        } => {
            let listing = Listing::open(jail, path, pattern)?;
            Ok(plain(Opened::Listing {
                listing,
                format,
                writable,
            }))
        }
        OpenMode::Write | OpenMode::CreateNew => {
            // Atomic: a hidden file in the same folder, renamed over the
            // target only once the whole upload arrived (Transfer::commit).
            let replace = mode == OpenMode::Write;
            let (temp, file) = TempFile::create(jail.entry(path)?, replace)?;
            Ok(plain(Opened::Upload {
                file,
                temp: Some(temp),
                restart: None,
            }))
        }
        OpenMode::Append => {
            let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT;
            let file = jail.open_file(path, flags, sys::NEW_FILE_MODE)?;
            Ok(plain(Opened::Upload {
                file,
                temp: None,
                restart: None,
            }))
        }
        OpenMode::WriteAt { offset } => {
            let file = jail.open_file(path, libc::O_WRONLY, 0)?;
            if offset > file.metadata()?.len() {
                return Err(bad_offset());
            }
            Ok(plain(Opened::Upload {
                file,
                temp: None,
                restart: Some(offset),
            }))
        }
        OpenMode::CreateUnique => {
            let dir = jail.open_path(path, libc::O_PATH | libc::O_DIRECTORY, 0)?;
            let (name, file) = create_unique_name(dir.as_raw_fd())?;
            let unique_name = path.join(&name);
            Ok(OpenResult {
                opened: Opened::Upload {
                    file,
                    temp: None,
                    restart: None,
                },
                size: None,
                unique_name,
            })
        }
    }
}

/// How many random STOU names are tried before giving up: with 64 random
/// bits, even one collision means someone guessed or planted the names.
const UNIQUE_ATTEMPTS: usize = 16;

/// STOU: a new `upload.<16 hex digits>` with a random suffix, created with
/// O_EXCL. A counter (`upload.1`, `upload.2`, ...) costs one failed create
/// per existing name, blocking every session in a crowded folder; a random
/// name costs one create, whatever the folder holds.
fn create_unique_name(dir: RawFd) -> io::Result<(String, File)> {
    for _ in 0..UNIQUE_ATTEMPTS {
        let name = format!("upload.{:016x}", random_u64());
        let c_name = std::ffi::CString::new(name.clone())
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        match sys::create_at(dir, &c_name) {
            Ok(file) => return Ok((name, file)),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::from_raw_os_error(libc::EEXIST))
}

/// 64 bits clients cannot predict, without a system call: every
/// `RandomState` gets fresh SipHash keys (seeded from the OS once per
/// thread, then stepped), and hashing nothing with them scrambles the keys.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::testing::{vp, TempDir};

    #[test]
    fn open_modes() {
        let dir = TempDir::new("open");
        std::fs::create_dir(dir.0.join("d")).unwrap();
        std::fs::write(dir.0.join("f"), b"0123456789").unwrap();
        let jail = Jail::open(&dir.0).unwrap();
        let r = open(&jail, &vp("/f"), OpenMode::Read { offset: 4 }).unwrap();
        assert_eq!(r.size, Some(10));
        assert!(matches!(
            r.opened,
            Opened::Download {
                offset: 4,
                end: 10,
                ..
            }
        ));
        let err = open(&jail, &vp("/f"), OpenMode::Read { offset: 11 })
            .err()
            .unwrap();
        assert_eq!(
            crate::storage::error_kind::kind_of(&err),
            pocketftp_core::ErrorKind::BadOffset
        );
        assert!(open(&jail, &vp("/f"), OpenMode::WriteAt { offset: 11 }).is_err());
        // Opening alone changes nothing: the first step of the transfer cuts.
        drop(open(&jail, &vp("/f"), OpenMode::WriteAt { offset: 3 }).unwrap());
        assert_eq!(std::fs::read(dir.0.join("f")).unwrap(), b"0123456789");
        assert_eq!(
            open(&jail, &vp("/d"), OpenMode::Read { offset: 0 })
                .err()
                .unwrap()
                .raw_os_error(),
            Some(libc::EISDIR)
        );
        let unique = || {
            let r = open(&jail, &vp("/d"), OpenMode::CreateUnique).unwrap();
            let name = r.unique_name.unwrap().file_name().to_owned();
            let suffix = name.strip_prefix("upload.").unwrap().to_owned();
            assert_eq!(suffix.len(), 16, "{name}");
            assert!(suffix.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
            assert!(dir.0.join("d").join(&name).is_file(), "{name}");
            name
        };
        assert_ne!(unique(), unique());
    }
}
