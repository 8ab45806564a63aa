//! Moving bytes between what `Open` opened and a data connection, in bounded
//! steps so one big transfer cannot starve the other sessions.
//!
//! Binary downloads use `sendfile(2)` with an offset we keep ourselves, so a
//! `WouldBlock` loses nothing. ASCII downloads, listings and anything over
//! TLS (`PROT P`: rustls encrypts in user space) go through a small
//! per-transfer buffer; uploads read into the reactor's one shared buffer.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::FileExt;

use mio::net::TcpStream;
use pocketftp_core::ascii::{lf_to_crlf, CrlfToLf};
use pocketftp_core::{listing, ListFormat, ListPattern, Metadata, OpenMode, VirtualPath};

use crate::dir::DirStream;
use crate::errors::bad_offset;
use crate::jail::{self, Jail, TempFile};
use crate::temps;
use crate::tls::{self, Channel, TlsLayer};

/// Entries formatted per refill of a listing.
const LISTING_BATCH: usize = 128;
/// Entries `STAT path` looks at, at most: its listing is answered in one
/// go, and a glob that matches little in a huge folder must not make it
/// read the whole folder while every other session waits.
const INLINE_ENTRY_LIMIT: usize = 64 * LISTING_BATCH;
/// Bytes read from a file per refill of an ASCII or TLS download.
const CHUNK: usize = 64 * 1024;
/// Refills of the send buffer per step, at most: more than a step's byte
/// budget of file chunks, and [`LISTING_BATCH`] entries each.
const MAX_REFILLS: usize = 16;

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
            let (temp, file) = TempFile::create(jail, path, replace)?;
            Ok(plain(Opened::Upload {
                file,
                temp: Some(temp),
                restart: None,
            }))
        }
        OpenMode::Append => {
            let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT;
            let file = jail.open_file(path, flags, jail::NEW_FILE_MODE)?;
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
        match jail::create_at(dir, &c_name) {
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

/// The entries of a folder read a batch at a time (those a glob pattern
/// matches, if there is one), or one file listed alone.
pub enum Listing {
    Folder(DirStream, Option<ListPattern>),
    Single(Option<(Vec<u8>, Metadata)>),
}

impl Listing {
    /// Lists `path`; if nothing has that name and there is a `pattern`
    /// (see `OpenMode::List`), the entries of its folder that match it.
    fn open(jail: &Jail, path: &VirtualPath, pattern: Option<ListPattern>) -> io::Result<Listing> {
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
    fn fill(
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
                    let meta = || jail::fstat_at(dir.fd(), &name).ok();
                    let (pattern, bytes) = (pattern.as_ref(), name.to_bytes());
                    listing::write_listed(out, format, writable, pattern, bytes, meta, now);
                }
                Ok(read)
            }
        }
    }
}

/// How far a transfer step got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The socket would block: wait for its readiness.
    Blocked,
    /// The budget ran out with work left: come back soon.
    MoreWork,
    /// Everything moved.
    Done,
    /// An upload's every byte is in: [`Transfer::commit`] it once its
    /// client is known to be still there.
    Received,
}

/// A running transfer.
pub struct Transfer {
    opened: Opened,
    ascii: bool,
    /// TLS on the data connection (`PROT P`); its handshake comes first.
    tls: Option<Box<TlsLayer>>,
    /// Bytes ready for the data connection, not yet written (ASCII
    /// downloads, listings, downloads over TLS).
    unsent: Vec<u8>,
    written: usize,
    converter: CrlfToLf,
    /// The wall clock when the transfer started, for listing dates.
    listing_clock: i64,
    /// Bytes moved over the data connection.
    pub bytes: u64,
}

impl Transfer {
    pub fn new(
        opened: Opened,
        ascii: bool,
        tls: Option<Box<TlsLayer>>,
        listing_clock: i64,
    ) -> Transfer {
        Transfer {
            opened,
            ascii,
            tls,
            unsent: Vec::new(),
            written: 0,
            converter: CrlfToLf::default(),
            listing_clock,
            bytes: 0,
        }
    }

    pub fn is_upload(&self) -> bool {
        matches!(self.opened, Opened::Upload { .. })
    }

    /// Moves up to about `budget` bytes; `buffer` is the reactor's shared one.
    pub fn step(
        &mut self,
        data: &mut TcpStream,
        buffer: &mut [u8],
        budget: usize,
    ) -> io::Result<Step> {
        let mut tls = self.tls.take();
        let step = match tls.as_deref_mut().map(|t| t.handshake(data)) {
            Some(Err(e)) => Err(tls::failed(e)),
            Some(Ok(false)) => Ok(Step::Blocked),
            _ => {
                let mut channel = Channel {
                    socket: data,
                    tls: tls.as_deref_mut(),
                };
                self.move_bytes(&mut channel, buffer, budget)
            }
        };
        self.tls = tls;
        step
    }

    fn move_bytes(
        &mut self,
        channel: &mut Channel,
        buffer: &mut [u8],
        budget: usize,
    ) -> io::Result<Step> {
        match &mut self.opened {
            Opened::Download { file, offset, end } if !self.ascii && channel.tls.is_none() => {
                send_file(channel.socket, file, offset, *end, budget, &mut self.bytes)
            }
            Opened::Upload { .. } => self.receive(channel, buffer, budget),
            _ => self.send_buffered(channel, buffer, budget),
        }
    }

    /// ASCII downloads, listings and TLS downloads: refill `unsent`, write
    /// it out.
    fn send_buffered(
        &mut self,
        data: &mut Channel,
        buffer: &mut [u8],
        budget: usize,
    ) -> io::Result<Step> {
        let mut sent = 0;
        let mut refills = 0;
        loop {
            while self.written < self.unsent.len() {
                match data.write(&self.unsent[self.written..]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => {
                        self.written += n;
                        sent += n;
                        self.bytes += n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Step::Blocked),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            self.unsent.clear();
            self.written = 0;
            // A glob that matches little turns refills into reads of the
            // folder with nothing to send: the step ends after a few all the same.
            if sent >= budget || refills == MAX_REFILLS {
                return Ok(Step::MoreWork);
            }
            refills += 1;
            let more = match &mut self.opened {
                Opened::Listing {
                    listing,
                    format,
                    writable,
                } => listing.fill(&mut self.unsent, *format, *writable, self.listing_clock)? > 0,
                Opened::Download { file, offset, end } => {
                    let chunk = Chunk {
                        file,
                        offset,
                        end: *end,
                    };
                    // Not much past the budget (a rate limit's tokens).
                    let room = (budget - sent).min(buffer.len());
                    chunk.read(&mut buffer[..room], self.ascii, &mut self.unsent)?
                }
                Opened::Upload { .. } => false,
            };
            if !more {
                return finish(data);
            }
        }
    }

    /// Reads what the client sent into `buffer` and writes it to the file
    /// when the buffer is full and when the step ends: a TLS read gives one
    /// record (16 KiB) at most, and the file is still written in large pieces.
    fn receive(
        &mut self,
        data: &mut Channel,
        buffer: &mut [u8],
        budget: usize,
    ) -> io::Result<Step> {
        let Opened::Upload { file, restart, .. } = &mut self.opened else {
            return Ok(Step::Done);
        };
        if let Some(offset) = restart.take() {
            cut_at(file, offset)?;
        }
        // No more than the budget: a rate limit's tokens are the budget.
        let size = budget.min(buffer.len());
        let buffer = &mut buffer[..size];
        let mut store = Store {
            file,
            ascii: self.ascii,
            converter: &mut self.converter,
            converted: &mut self.unsent,
        };
        let (mut received, mut filled) = (0, 0);
        let outcome = loop {
            if received >= budget {
                break Ok(Step::MoreWork);
            }
            if filled == buffer.len() {
                store.write(&buffer[..filled])?;
                filled = 0;
            }
            let room = (budget - received).min(buffer.len() - filled);
            match data.read(&mut buffer[filled..filled + room]) {
                Ok(0) => {
                    // Answer a client's close_notify with ours (ftplib waits
                    // for it); its 24 bytes fit the socket, so no waiting.
                    if let Some(tls) = &mut data.tls {
                        let _ = tls.finish(data.socket);
                    }
                    break Ok(Step::Received);
                }
                Ok(n) => {
                    filled += n;
                    received += n;
                    self.bytes += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(Step::Blocked),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        store.write(&buffer[..filled])?;
        outcome
    }

    /// Ends a received upload: writes the tail of a TYPE A conversion and
    /// puts the file in place (a `STOR` replaces its target only now).
    pub fn commit(&mut self) -> io::Result<()> {
        let Opened::Upload { file, temp, .. } = &mut self.opened else {
            return Ok(());
        };
        if self.ascii {
            self.unsent.clear();
            self.converter.finish(&mut self.unsent);
            file.write_all(&self.unsent)?;
        }
        match temp.take() {
            Some(temp) => temp.commit(),
            None => Ok(()),
        }
    }
}

/// Where an upload's bytes go: the file, through the TYPE A conversion
/// (into `converted`) if `ascii`.
struct Store<'a> {
    file: &'a mut File,
    ascii: bool,
    converter: &'a mut CrlfToLf,
    converted: &'a mut Vec<u8>,
}

impl Store<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if !self.ascii {
            return self.file.write_all(bytes);
        }
        self.converted.clear();
        self.converter.convert(bytes, self.converted);
        self.file.write_all(self.converted)
    }
}

/// REST+STOR: drops what follows `offset` and writes from there; the file
/// may have shrunk since it was opened, and a hole of zeros is no restart.
fn cut_at(file: &mut File, offset: u64) -> io::Result<()> {
    if offset > file.metadata()?.len() {
        return Err(bad_offset());
    }
    file.set_len(offset)?;
    file.seek(SeekFrom::Start(offset))?;
    Ok(())
}

/// The rest of a download that goes through a buffer: from our own offset
/// (which starts at REST's, counted in file bytes as vsftpd does) up to the
/// size announced at open.
struct Chunk<'a> {
    file: &'a File,
    offset: &'a mut u64,
    end: u64,
}

impl Chunk<'_> {
    /// Appends the next chunk to `out`, converted to CRLF if `ascii`;
    /// false once the end is reached.
    fn read(self, buffer: &mut [u8], ascii: bool, out: &mut Vec<u8>) -> io::Result<bool> {
        let left = usize::try_from(self.end.saturating_sub(*self.offset)).unwrap_or(usize::MAX);
        let len = left.min(CHUNK).min(buffer.len());
        if len == 0 {
            return Ok(false);
        }
        let chunk = &mut buffer[..len];
        let n = self.file.read_at(chunk, *self.offset)?;
        if n == 0 {
            return Err(file_shrank());
        }
        *self.offset += n as u64;
        if ascii {
            lf_to_crlf(&chunk[..n], out);
        } else {
            out.extend_from_slice(&chunk[..n]);
        }
        Ok(true)
    }
}

/// The file ended before the size `150` announced: the client must not get
/// `226` for a short copy. A local error (`451`), not a lost connection.
fn file_shrank() -> io::Error {
    io::Error::other("the file shrank during the transfer")
}

fn send_file(
    data: &mut TcpStream,
    file: &File,
    offset: &mut u64,
    end: u64,
    budget: usize,
    bytes: &mut u64,
) -> io::Result<Step> {
    let mut sent = 0usize;
    while *offset < end {
        if sent >= budget {
            return Ok(Step::MoreWork);
        }
        // On a 32-bit board more than 4 GiB may be left: no `as usize` here.
        let left = usize::try_from(end - *offset).unwrap_or(usize::MAX);
        let count = left.min(budget - sent).min(0x7fff_f000);
        let mut off = libc::off64_t::try_from(*offset).map_err(|_| bad_offset())?;
        // SAFETY: valid socket and file descriptors; `off` is a valid offset
        // that sendfile64 (64-bit even on 32-bit boards) advances.
        let n = unsafe { libc::sendfile64(data.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => return Ok(Step::Blocked),
                io::ErrorKind::Interrupted => continue,
                _ => return Err(e),
            }
        }
        if n == 0 {
            return Err(file_shrank());
        }
        *offset += n as u64;
        *bytes += n as u64;
        sent += n as usize;
    }
    finish(&mut Channel {
        socket: data,
        tls: None,
    })
}

/// All data handed to the kernel: say so to the peer (over TLS, with a
/// `close_notify` first: GnuTLS clients such as lftp insist on it).
fn finish(data: &mut Channel) -> io::Result<Step> {
    if let Some(tls) = &mut data.tls {
        if !tls.finish(data.socket)? {
            return Ok(Step::Blocked);
        }
    }
    match data.socket.shutdown(std::net::Shutdown::Write) {
        Ok(()) => Ok(Step::Done),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => {
            Err(io::ErrorKind::ConnectionReset.into())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jail::tests::{vp, TempDir};

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
            crate::errors::kind_of(&err),
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

    #[test]
    fn a_shrunk_file_is_a_local_error_not_a_lost_connection() {
        assert_eq!(
            crate::errors::kind_of(&file_shrank()),
            pocketftp_core::ErrorKind::Other
        );
    }

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
