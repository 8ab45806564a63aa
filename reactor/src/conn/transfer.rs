//! Moving bytes between what `Open` opened and a data connection, in bounded
//! steps so one big transfer cannot starve the other sessions.
//!
//! A step sees the storage only through the handle `Open` gave: a
//! [`Source`] sends a binary download straight to the socket (locally with
//! `sendfile(2)`, from an offset it keeps itself, so a `WouldBlock` loses
//! nothing) or hands out bytes; ASCII downloads, listings and anything over
//! TLS (`PROT P`: rustls encrypts in user space) go through a small
//! per-transfer buffer; uploads read into the reactor's one shared buffer
//! and give their bytes to a [`Sink`].

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use mio::Interest;
use pocketftp_core::ascii::{lf_to_crlf, CrlfToLf};

use super::open::Opened;
use crate::net::tls::{Channel, Handshake, TlsLayer};
use crate::storage::error_kind::{handshake_failed, session_not_resumed, upload_cut_short};
use crate::storage::s3::download::{self, Download};
use crate::storage::s3::object_upload::Upload;
use crate::storage::{Sink, Source};

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
    /// Its data connection resumed the TLS session of a session from the
    /// same address that has not logged in yet: it waits for that login
    /// (see `net/resumption.rs`).
    AwaitingLogin,
    /// An upload's every byte is in: [`Transfer::commit`] it when the
    /// session asks (`CommitUpload`), once its client is known to be still
    /// there.
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
        matches!(self.opened, Opened::Upload(_) | Opened::ObjectUpload(_))
    }

    /// The upload to the bucket this transfer receives, if it is one.
    pub fn upload_mut(&mut self) -> Option<&mut Upload> {
        match &mut self.opened {
            Opened::ObjectUpload(upload) => Some(upload),
            _ => None,
        }
    }

    /// The bucket's object this transfer sends, if it is one.
    pub fn download_mut(&mut self) -> Option<&mut Download> {
        match &mut self.opened {
            Opened::Object(download) => Some(download),
            _ => None,
        }
    }

    /// What readiness a blocked step waits for: the client's bytes for a
    /// plain upload, room in the socket for a plain download; TLS reads
    /// and writes both ways (its handshake, its `close_notify`). One way
    /// only, a plain upload is not woken by room to write it never uses.
    pub fn waits_for(&self) -> Interest {
        match (self.tls.is_some(), self.is_upload()) {
            (true, _) => Interest::READABLE | Interest::WRITABLE,
            (false, true) => Interest::READABLE,
            (false, false) => Interest::WRITABLE,
        }
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
            Some(Ok(Handshake::Blocked)) => Ok(Step::Blocked),
            Some(Ok(Handshake::AwaitingLogin)) => Ok(Step::AwaitingLogin),
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

    /// Refuses a data connection that waited for a login in vain (see
    /// [`Step::AwaitingLogin`]); the error says why.
    pub fn refuse(&mut self, data: &mut TcpStream) -> io::Error {
        let refusal = match self.tls.as_deref_mut() {
            Some(tls) => tls.refuse(data),
            None => session_not_resumed(),
        };
        handshake_failed(refusal)
    }

    fn move_bytes(
        &mut self,
        channel: &mut Channel,
        buffer: &mut [u8],
        budget: usize,
    ) -> io::Result<Step> {
        match &mut self.opened {
            Opened::Download(source) if !self.ascii && channel.tls.is_none() => {
                send_file(channel.socket, source, budget, &mut self.bytes)
            }
            Opened::Upload(_) | Opened::ObjectUpload(_) => self.receive(channel, buffer, budget),
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
                Opened::Download(source) => {
                    // Not much past the budget (a rate limit's tokens).
                    let room = (budget - sent).min(buffer.len()).min(CHUNK);
                    read_chunk(source, &mut buffer[..room], self.ascii, &mut self.unsent)?
                }
                Opened::Object(download) => {
                    let room = (budget - sent).min(buffer.len()).min(CHUNK);
                    match download.read(&mut buffer[..room])? {
                        // Its next chunk's arrival schedules the transfer.
                        download::Read::Waiting => return Ok(Step::Blocked),
                        download::Read::Done => false,
                        download::Read::Bytes(n) => {
                            append(&buffer[..n], self.ascii, &mut self.unsent);
                            true
                        }
                    }
                }
                Opened::Upload(_) | Opened::ObjectUpload(_) => false,
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
        let (sink, room): (&mut dyn Target, usize) = match &mut self.opened {
            Opened::Upload(sink) => {
                sink.start()?;
                (sink, usize::MAX)
            }
            // Two parts held: the part's answer schedules the transfer.
            Opened::ObjectUpload(upload) if upload.room() == 0 => return Ok(Step::Blocked),
            Opened::ObjectUpload(upload) => {
                let room = upload.room();
                (upload, room)
            }
            _ => return Ok(Step::Done),
        };
        // No more than the budget: a rate limit's tokens are the budget.
        let budget = budget.min(room);
        let size = budget.min(buffer.len());
        let buffer = &mut buffer[..size];
        let mut store = Store {
            sink,
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
                Ok(0) => break upload_ended(data),
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
        match self.end_upload()? {
            Some(sink) => sink.commit(),
            None => Ok(()),
        }
    }

    /// Ends a received upload to the disk as [`commit`](Self::commit)
    /// does, but hands its sink over instead of putting it in place (a
    /// durable commit does that off the loop); `None` for a download or an
    /// upload to a bucket.
    pub fn into_sink(mut self) -> io::Result<Option<Sink>> {
        self.end_upload()?;
        match self.opened {
            Opened::Upload(sink) => Ok(Some(sink)),
            _ => Ok(None),
        }
    }

    /// Writes the tail of a TYPE A conversion: the upload's sink is then
    /// ready to be put in place.
    fn end_upload(&mut self) -> io::Result<Option<&mut dyn Target>> {
        let sink: &mut dyn Target = match &mut self.opened {
            Opened::Upload(sink) => sink,
            Opened::ObjectUpload(upload) => upload,
            _ => return Ok(None),
        };
        if self.ascii {
            self.unsent.clear();
            self.converter.finish(&mut self.unsent);
            sink.write(&self.unsent)?;
        }
        Ok(Some(sink))
    }
}

/// What an upload writes to: a disk's sink, or a bucket's upload (whose
/// commit only starts the requests that make the object appear).
trait Target {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()>;
    fn commit(&mut self) -> io::Result<()>;
}

impl Target for Sink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        Sink::write(self, bytes)
    }
    fn commit(&mut self) -> io::Result<()> {
        Sink::commit(self)
    }
}

impl Target for Upload {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        Upload::write(self, bytes)
    }
    fn commit(&mut self) -> io::Result<()> {
        self.finish()
    }
}

/// Where an upload's bytes go: the sink, through the TYPE A conversion
/// (into `converted`) if `ascii`.
struct Store<'a> {
    sink: &'a mut dyn Target,
    ascii: bool,
    converter: &'a mut CrlfToLf,
    converted: &'a mut Vec<u8>,
}

impl Store<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if !self.ascii {
            return self.sink.write(bytes);
        }
        self.converted.clear();
        self.converter.convert(bytes, self.converted);
        self.sink.write(self.converted)
    }
}

/// The next chunk of a download that goes through a buffer, read into
/// `buffer` and appended to `out`, converted to CRLF if `ascii`; false
/// once every byte is read.
fn read_chunk(
    source: &mut Source,
    buffer: &mut [u8],
    ascii: bool,
    out: &mut Vec<u8>,
) -> io::Result<bool> {
    let n = source.read(buffer)?;
    append(&buffer[..n], ascii, out);
    Ok(n > 0)
}

/// Appends a download's bytes to `out`, converted to CRLF if `ascii`.
fn append(bytes: &[u8], ascii: bool, out: &mut Vec<u8>) {
    if ascii {
        lf_to_crlf(bytes, out);
    } else {
        out.extend_from_slice(bytes);
    }
}

/// A binary download without TLS: the source sends to the socket itself.
fn send_file(
    data: &mut TcpStream,
    source: &mut Source,
    budget: usize,
    bytes: &mut u64,
) -> io::Result<Step> {
    let mut sent = 0usize;
    while !source.is_done() {
        if sent >= budget {
            return Ok(Step::MoreWork);
        }
        match source.send_to(data, budget - sent) {
            Ok(n) => {
                *bytes += n as u64;
                sent += n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Step::Blocked),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
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

/// The client ended an upload's data connection: over TLS, a TCP end
/// without close_notify may be a cut, and the upload is broken
/// (--tls-close-notify required).
fn upload_ended(data: &mut Channel) -> io::Result<Step> {
    if let Some(tls) = &mut data.tls {
        if tls.cut_short() {
            return Err(upload_cut_short());
        }
        // Answer a client's close_notify with ours (ftplib waits for it);
        // its 24 bytes fit the socket, so no waiting.
        let _ = tls.finish(data.socket);
    }
    Ok(Step::Received)
}
