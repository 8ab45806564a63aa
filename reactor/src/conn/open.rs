//! `Action::Open`: the source or sink of the next transfer, opened and
//! held until `StartTransfer` (or until the session drops it).

use std::io;

use pocketftp_core::{ListFormat, OpenMode, VirtualPath};

use super::listing::Listing;
use crate::quota::Quota;
use crate::storage::jail::Jail;
use crate::storage::s3::download::Download;
use crate::storage::s3::object_upload::Upload;
use crate::storage::space::MinFree;
use crate::storage::{Folder, Replace, Sink, Source};

/// The source or sink of a transfer, opened and waiting for `StartTransfer`.
pub enum Opened {
    Download(Source),
    /// An object of the bucket, streamed from one GET (`bucket.rs`).
    Object(Download),
    /// An upload to the bucket, sent a part at a time (`bucket.rs`).
    ObjectUpload(Upload),
    Listing {
        listing: Listing,
        format: ListFormat,
        writable: bool,
    },
    Upload(Sink),
}

/// What `Open` reports besides the opened thing.
pub struct OpenResult {
    pub opened: Opened,
    pub size: Option<u64>,
    pub unique_name: Option<VirtualPath>,
}

/// Opens `path` as `mode` asks (see `pocketftp_core::OpenMode`); an upload
/// keeps `min_free` free on its file system (`storage/space.rs`).
pub fn open(
    storage: &Jail,
    path: &VirtualPath,
    mode: OpenMode,
    min_free: MinFree,
) -> io::Result<OpenResult> {
    let plain = |opened| OpenResult {
        opened,
        size: None,
        unique_name: None,
    };
    let guarded = |sink: Sink| Ok(plain(Opened::Upload(sink.keep_free(min_free))));
    // A file made in the folder: its guard is the admission's.
    // The folder, opened for the admission, is where the file is made.
    let (admitted, folder) = match upload_folder(path, &mode) {
        Some(folder) => {
            let (guard, opened) = storage.admit_upload(&folder, min_free)?;
            (Some(guard), opened)
        }
        None => (None, None),
    };
    let fresh = |sink: Sink| {
        let guard = admitted.unwrap_or_else(|| min_free.into());
        Ok(plain(Opened::Upload(sink.keep_free(guard))))
    };
    let upload = |replace, folder| fresh(storage.upload_to(path, replace, folder)?);
    match mode {
        OpenMode::Read { offset } => {
            let source = storage.open_source(path, offset)?;
            Ok(OpenResult {
                size: Some(source.size()),
                opened: Opened::Download(source),
                unique_name: None,
            })
        }
        OpenMode::List {
            format,
            writable,
            pattern,
            shown,
        } => {
            let listing = Listing::open(storage, path, pattern, shown)?;
            Ok(plain(Opened::Listing {
                listing,
                format,
                writable,
            }))
        }
        // Atomic: the upload takes the target's place only once it has
        // arrived whole (Transfer::commit).
        OpenMode::Write => upload(Replace::Any, folder),
        OpenMode::CreateNew => upload(Replace::Nothing, folder),
        OpenMode::CreateOrReplaceOwn { account } => upload(Replace::Own(account), folder),
        OpenMode::Append => guarded(storage.append_to(path)?),
        OpenMode::WriteAt { offset } => guarded(storage.write_at(path, offset)?),
        OpenMode::CreateUnique => {
            let (name, sink) = create_unique_name(&storage.folder(path, folder)?)?;
            let opened = fresh(sink)?.opened;
            Ok(OpenResult {
                opened,
                size: None,
                unique_name: path.join(&name),
            })
        }
    }
}

impl OpenResult {
    /// An upload kept within what is left of its user's quota.
    pub fn within_quota(mut self, room: Option<(u64, VirtualPath, Quota)>) -> OpenResult {
        if let (Opened::Upload(sink), Some((room, home, quota))) = (&mut self.opened, room) {
            sink.keep_within_quota(room, home, quota);
        }
        self
    }

    /// An upload whose 226 waits for its file's fsync when `durable`
    /// (`Sink::write_back_early`).
    pub fn durable(mut self, durable: bool) -> OpenResult {
        if let (Opened::Upload(sink), true) = (&mut self.opened, durable) {
            sink.write_back_early();
        }
        self
    }
}

/// The folder an upload writes into; `None` for a download or a listing.
fn upload_folder(path: &VirtualPath, mode: &OpenMode) -> Option<VirtualPath> {
    match mode {
        OpenMode::Read { .. } | OpenMode::List { .. } => None,
        OpenMode::CreateUnique => Some(path.clone()),
        _ => Some(path.parent()),
    }
}

/// How many random STOU names are tried before giving up: with 64 random
/// bits, even one collision means someone guessed or planted the names.
const UNIQUE_ATTEMPTS: usize = 16;

/// STOU: a new `upload.<16 hex digits>` with a random suffix, created with
/// O_EXCL. A counter (`upload.1`, `upload.2`, ...) costs one failed create
/// per existing name, blocking every session in a crowded folder; a random
/// name costs one create, whatever the folder holds.
fn create_unique_name(folder: &Folder) -> io::Result<(String, Sink)> {
    for _ in 0..UNIQUE_ATTEMPTS {
        let name = format!("upload.{:016x}", random_u64());
        match folder.create_new(&name) {
            Ok(sink) => return Ok((name, sink)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::ErrorKind::AlreadyExists.into())
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
        let open = |path: &str, mode| open(&jail, &vp(path), mode, MinFree::Off);
        let r = open("/f", OpenMode::Read { offset: 4 }).unwrap();
        assert_eq!(r.size, Some(10));
        let Opened::Download(mut source) = r.opened else {
            panic!("RETR opened no download");
        };
        let mut rest = [0; 16];
        let n = source.read(&mut rest).unwrap();
        assert_eq!(&rest[..n], b"456789", "from the offset to the end");
        let err = open("/f", OpenMode::Read { offset: 11 }).err().unwrap();
        assert_eq!(
            crate::storage::error_kind::kind_of(&err),
            pocketftp_core::ErrorKind::BadOffset
        );
        assert!(open("/f", OpenMode::WriteAt { offset: 11 }).is_err());
        // Opening alone changes nothing: the first step of the transfer cuts.
        drop(open("/f", OpenMode::WriteAt { offset: 3 }).unwrap());
        assert_eq!(std::fs::read(dir.0.join("f")).unwrap(), b"0123456789");
        assert_eq!(
            open("/d", OpenMode::Read { offset: 0 })
                .err()
                .unwrap()
                .raw_os_error(),
            Some(libc::EISDIR)
        );
        let unique = || {
            let r = open("/d", OpenMode::CreateUnique).unwrap();
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
