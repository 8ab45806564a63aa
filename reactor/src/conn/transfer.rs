//! Moving bytes between what `Open` opened and a data connection, in bounded
//! steps so one big transfer cannot starve the other sessions.
//!
//! Binary downloads use `sendfile(2)` with an offset we keep ourselves, so a
//! `WouldBlock` loses nothing. ASCII downloads, listings and anything over
//! TLS (`PROT P`: rustls encrypts in user space) go through a small
//! per-transfer buffer; uploads read into the reactor's one shared buffer.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

use mio::net::TcpStream;
use pocketftp_core::ascii::{lf_to_crlf, CrlfToLf};

use super::open::Opened;
use crate::net::tls::{Channel, TlsLayer};
use crate::storage::error_kind::{bad_offset, file_shrank, handshake_failed};

/// Bytes read from a file per refill of an ASCII or TLS download.
const CHUNK: usize = 64 * 1024;
/// Refills of the send buffer per step, at most: more than a step's byte
/// budget of file chunks, and [`LISTING_BATCH`](super::listing::LISTING_BATCH) entries each.
const MAX_REFILLS: usize = 16;

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
            Some(Err(e)) => Err(handshake_failed(e)),
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
