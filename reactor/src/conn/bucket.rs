//! A connection's requests to its S3 bucket (`--storage s3://...`): the
//! file actions (`storage/s3/file_ops.rs` says what each asks), a
//! listing's pages, a download's GET and an upload's parts, carried one
//! request at a time on sockets of the connection's own in the loop, their
//! readiness a [`Source::Store`] event, each asked again and timed out as
//! `bucket_request.rs` does (on the connection's timer). The session asks one file
//! action at a time, so one conversation at a time is all it needs; the
//! answer goes through the one answer queue, as a disk's does, only later.
//! No other session waits on it.

use std::io;
use std::time::Instant;

use log::warn;
use pocketftp_core::{
    Action, ErrorKind, Event, ListFormat, ListPattern, OpenMode, Shown, VirtualPath,
};

use super::bucket_request::{BucketRequest, Progress};
use super::listing::Listing;
use super::open::Opened;
use super::work::Work;
use super::{Connection, Cx};
use crate::http::ResponseHead;
use crate::server::token::{token, Source};
use crate::storage::error_kind::kind_of;
use crate::storage::s3::download::{Download, PIECE};
use crate::storage::s3::file_ops::{FileOp, Next};
use crate::storage::s3::list_op::{ListNext, ListOp};
use crate::storage::s3::object_upload::Upload;
use crate::storage::s3::reply::{object_metadata, refused};
use crate::storage::s3::request::LIST_PAGE_KEYS;
use crate::storage::s3::{S3Request, Store};

/// An answer's body a file action reads whole: an error document, a
/// one-key listing, a copy's result. Small; more is a broken store.
const MAX_ANSWER: usize = 64 * 1024;

/// A listing's page, read whole: [`LIST_PAGE_KEYS`] entries of up to 2 KiB
/// each (a key of at most 1 KiB, its ETag, size, time, owner and class).
/// At some 300 bytes a short key in SeaweedFS's answer (an estimate), 64
/// KiB failed a LIST of more than ~200 objects: the bench's 10,000 got a
/// 451 and "HTTP response body too large".
const MAX_LIST_PAGE: usize = LIST_PAGE_KEYS as usize * 2048;

/// A conversation under way, and the request it waits on.
pub(crate) struct StoreOp {
    asking: Asking,
    request: BucketRequest,
}

/// What a conversation is for.
pub(crate) enum Asking {
    /// A file action: its event when it ends.
    File(FileOp),
    /// A listing's pages, then the listing opened for the transfer.
    List(StoreListing),
    /// RETR: the object's HEAD (its size for the `150`), then the
    /// download opened for the transfer.
    Download { path: VirtualPath, offset: u64 },
}

/// A listing being fetched, and how it will be shown.
pub(crate) struct StoreListing {
    op: ListOp,
    path: VirtualPath,
    format: ListFormat,
    writable: bool,
    pattern: Option<ListPattern>,
    shown: Shown,
}

impl Connection {
    /// The bucket this session sees as `/`: its user's home, or the root;
    /// `None` when a folder is served.
    pub(super) fn bucket<'a>(&'a self, cx: &'a Cx) -> Option<&'a Store> {
        self.store.as_ref().or(cx.bucket)
    }

    /// A file action on the bucket: its first request goes out (or its
    /// answer, if it needs none, is queued at once).
    pub(super) fn start_store_op(&mut self, store: &Store, action: Action, cx: &mut Cx) {
        match FileOp::start(store, action) {
            Ok((op, request)) => self.send_store_request(store, Asking::File(op), request, cx),
            Err(event) => self.answer(cx.answers, event),
        }
    }

    /// `Open` on a bucket: RETR asks the object's size first; LIST, NLST,
    /// MLSD fetch the folder's pages; STOR opens an upload at once (its
    /// requests go as its parts fill). APPE, REST+STOR, STOU and the
    /// upload role's replace-own: `504`, not supported on this storage (a
    /// bucket has no object to write in place, nor owners).
    pub(super) fn start_store_open(
        &mut self,
        store: &Store,
        path: &VirtualPath,
        mode: OpenMode,
        cx: &mut Cx,
    ) {
        let (format, writable, pattern, shown) = match mode {
            OpenMode::List {
                format,
                writable,
                pattern,
                shown,
            } => (format, writable, pattern, shown),
            OpenMode::Write | OpenMode::CreateNew => {
                let upload = Upload::new(store, path.clone(), mode == OpenMode::CreateNew);
                self.work = Work::Opened(Box::new(Opened::ObjectUpload(upload)), path.clone());
                let opened = Event::Opened {
                    size: None,
                    unique_name: None,
                };
                return self.answer_opened(opened, cx);
            }
            OpenMode::Read { offset } => {
                let asking = Asking::Download {
                    path: path.clone(),
                    offset,
                };
                return match store.head(path) {
                    Ok(request) => self.send_store_request(store, asking, request, cx),
                    Err(e) => self.answer(cx.answers, Event::Failed(kind_of(&e))),
                };
            }
            _ => return self.answer(cx.answers, Event::Failed(ErrorKind::NotSupported)),
        };
        match ListOp::start(store, path, pattern.is_some()) {
            Ok((op, request)) => {
                let asking = Asking::List(StoreListing {
                    op,
                    path: path.clone(),
                    format,
                    writable,
                    pattern,
                    shown,
                });
                self.send_store_request(store, asking, request, cx);
            }
            Err(e) => self.answer(cx.answers, Event::Failed(kind_of(&e))),
        }
    }

    fn send_store_request(
        &mut self,
        store: &Store,
        asking: Asking,
        request: S3Request,
        cx: &mut Cx,
    ) {
        let max_body = match asking {
            Asking::List(_) => MAX_LIST_PAGE,
            Asking::File(_) | Asking::Download { .. } => MAX_ANSWER,
        };
        let store_token = token(self.tag.key, Source::Store);
        let sent = BucketRequest::send(
            &request,
            Vec::new(),
            max_body,
            store.endpoint(),
            store_token,
            (cx.registry, cx.now),
        );
        match sent {
            Ok(request) => {
                self.arm_timer(request.due(), cx);
                self.store_op = Some(Box::new(StoreOp { asking, request }));
            }
            Err(why) => self.store_failed(&why, ErrorKind::Other, cx),
        }
    }

    /// Its request's socket is ready: moves it on, and at its answer takes
    /// the conversation's next step.
    pub fn on_store_ready(&mut self, cx: &mut Cx) {
        if self.fetch.is_some() {
            self.read_fetch(cx);
        }
        if let Some(pending) = &mut self.store_op {
            let progress = pending.request.on_ready(cx.registry, cx.now);
            self.store_op_progressed(progress, cx);
        }
    }

    /// The connection's timer fired: a request to the bucket that made no
    /// progress fails (or is asked again), one waiting to be asked again
    /// goes; the timer is armed again for what still waits.
    pub fn on_store_timer(&mut self, cx: &mut Cx) {
        if let Some(fetch) = &mut self.fetch {
            // A download held back by its client owes the store nothing.
            if (self.work.download_mut()).is_some_and(|download| download.room() < PIECE) {
                fetch.postpone(cx.now);
            }
            let progress = fetch.on_timer(cx.registry, cx.now);
            self.fetch_progressed(progress, cx);
        }
        if let Some(pending) = &mut self.store_op {
            let progress = pending.request.on_timer(cx.registry, cx.now);
            self.store_op_progressed(progress, cx);
        }
    }

    /// The connection's timer goes off at `at` at the latest.
    fn arm_timer(&mut self, at: Instant, cx: &mut Cx) {
        if self.timer.is_none_or(|armed| at < armed) {
            self.timer = Some(at);
            cx.deadlines.push(at, self.tag.key, self.tag.generation);
        }
    }

    fn store_op_progressed(&mut self, progress: Progress, cx: &mut Cx) {
        let (head, body) = match progress {
            // Resume: streamed requests only, which a file action's are not.
            Progress::Pending | Progress::Resume => {
                if let Some(due) = self.store_op.as_ref().map(|op| op.request.due()) {
                    self.arm_timer(due, cx);
                }
                return;
            }
            Progress::Answered(head, body) => (head, body),
            Progress::Failed(why) => {
                self.drop_store_op();
                return self.store_failed(&why, ErrorKind::ConnectionRefused, cx);
            }
        };
        let Some(StoreOp { asking, .. }) = self.store_op.take().map(|op| *op) else {
            return;
        };
        let Some(store) = self.bucket(cx).cloned() else {
            return;
        };
        let failed = match asking {
            Asking::File(op) => self.file_answer(&store, op, &head, &body, cx),
            Asking::List(list) => self.list_answer(&store, list, &head, &body, cx),
            Asking::Download { path, offset } => {
                self.download_opened(path, offset, &head, &body, cx)
            }
        };
        if let Some(e) = failed {
            warn!("{}: {e}", self.session.peer());
            self.answer(cx.answers, Event::Failed(kind_of(&e)));
        }
    }

    /// A file action's next step; `Some` error if the store failed it.
    fn file_answer(
        &mut self,
        store: &Store,
        mut op: FileOp,
        head: &ResponseHead,
        body: &[u8],
        cx: &mut Cx,
    ) -> Option<io::Error> {
        match op.answer(store, head, body) {
            Next::Send(request) => self.send_store_request(store, Asking::File(op), request, cx),
            Next::Done(event) => self.answer(cx.answers, event),
            Next::Failed(e) => return Some(e),
        }
        None
    }

    /// A listing's next page, or the listing opened for its transfer.
    fn list_answer(
        &mut self,
        store: &Store,
        mut list: StoreListing,
        head: &ResponseHead,
        body: &[u8],
        cx: &mut Cx,
    ) -> Option<io::Error> {
        match list.op.answer(store, head, body) {
            ListNext::Send(request) => {
                self.send_store_request(store, Asking::List(list), request, cx)
            }
            ListNext::Done(mut entries) => {
                let StoreListing {
                    path,
                    format,
                    writable,
                    pattern,
                    shown,
                    ..
                } = list;
                entries.retain(|(name, _)| shown.shows(name.as_bytes()));
                let listing = Listing::Fetched(entries.into_iter(), pattern);
                let opened = Opened::Listing {
                    listing,
                    format,
                    writable,
                };
                self.work = Work::Opened(Box::new(opened), path);
                let opened = Event::Opened {
                    size: None,
                    unique_name: None,
                };
                self.answer_opened(opened, cx);
            }
            ListNext::Failed(e) => return Some(e),
        }
        None
    }

    /// RETR's HEAD answered: the download opens with the object's size.
    fn download_opened(
        &mut self,
        path: VirtualPath,
        offset: u64,
        head: &ResponseHead,
        body: &[u8],
        cx: &mut Cx,
    ) -> Option<io::Error> {
        if head.status == 404 {
            self.answer(cx.answers, Event::Failed(ErrorKind::NotFound));
            return None;
        }
        let opened = match head.status {
            200 => object_metadata(head)
                .and_then(|meta| Download::new(path.clone(), offset, meta.size)),
            status => Err(refused(format!("HEAD {path}"), status, body)),
        };
        match opened {
            Ok(download) => {
                let size = Some(download.size());
                self.work = Work::Opened(Box::new(Opened::Object(download)), path);
                let event = Event::Opened {
                    size,
                    unique_name: None,
                };
                self.answer_opened(event, cx);
                None
            }
            Err(e) if kind_of(&e) == ErrorKind::BadOffset => {
                self.answer(cx.answers, Event::Failed(ErrorKind::BadOffset));
                None
            }
            Err(e) => Some(e),
        }
    }

    /// A transfer to or from the bucket has a request due (a download's
    /// GET, an upload's part or its last request): it goes out on the
    /// connection's store socket, as a file action's.
    pub(super) fn send_transfer_request(&mut self, cx: &mut Cx) {
        if self.fetch.is_some() {
            // A download's GET is read on as the transfer makes room.
            if self.work.download_mut().is_some() {
                self.read_fetch(cx);
            }
            return;
        }
        let Some(store) = self.bucket(cx).cloned() else {
            return;
        };
        let store_token = token(self.tag.key, Source::Store);
        let at = (cx.registry, cx.now);
        let sent = if let Some(download) = self.work.download_mut() {
            match download.next_request(&store) {
                None => return,
                Some(Err(e)) => Err(e),
                Some(Ok(request)) => {
                    BucketRequest::stream(&request, PIECE, store.endpoint(), store_token, at)
                        .map_err(io::Error::other)
                }
            }
        } else if let Some(upload) = self.work.upload_mut() {
            match upload.next_request(&store) {
                None => return,
                Some(Err(e)) => Err(e),
                Some(Ok((request, body))) => (BucketRequest::send(
                    &request,
                    body,
                    MAX_ANSWER,
                    store.endpoint(),
                    store_token,
                    at,
                ))
                .map_err(io::Error::other),
            }
        } else {
            return;
        };
        match sent {
            Ok(request) => {
                self.arm_timer(request.due(), cx);
                self.fetch = Some(Box::new(request));
            }
            Err(e) => self.transfer_request_done(Err(e), cx),
        }
    }

    /// `CommitUpload` of an upload to the bucket: its last request (the
    /// one PUT, or the multipart completion) goes out, and the session
    /// hears of the upload when the object appears, as from a commit to
    /// the disk (`TransferDone` or `TransferFailed`). Whatever `--sync`
    /// says: a bucket has nothing to fsync, its answer is the commit.
    pub(super) fn commit_object(&mut self, cx: &mut Cx) {
        let Work::Received(transfer, _) = &mut self.work else {
            return;
        };
        let bytes = transfer.bytes;
        match transfer.commit() {
            Ok(()) => self.send_transfer_request(cx),
            Err(e) => {
                self.close_data();
                let kind = kind_of(&e);
                self.answer(cx.answers, Event::TransferFailed { kind, bytes });
            }
        }
    }

    /// The transfer's request moves on: a download's GET only while the
    /// download has room for a piece of its body, which it takes at once
    /// (the rest waits in the socket, and is read when the transfer has
    /// made room: `send_transfer_request` after each step).
    fn read_fetch(&mut self, cx: &mut Cx) {
        let mut took = 0;
        let progress = loop {
            let Some(fetch) = &mut self.fetch else {
                return;
            };
            let mut download = self.work.download_mut();
            if (download.as_ref()).is_some_and(|download| download.room() < PIECE) {
                break Progress::Pending;
            }
            let progress = fetch.on_ready(cx.registry, cx.now);
            let taken = (download.as_mut()).map_or(0, |download| {
                fetch.drain(|head, bytes| download.arrived(head, bytes))
            });
            took += taken;
            if taken == 0 || !matches!(progress, Progress::Pending) {
                break progress;
            }
        };
        if took > 0 {
            self.schedule(cx.schedule);
        }
        self.fetch_progressed(progress, cx);
    }

    /// The transfer's request moved on: at its answer, the download gets
    /// its last bytes or the upload its part's ETag, and the transfer runs
    /// again; an upload already received ends when its object appears. A
    /// download's GET that broke is asked again for what did not arrive.
    fn fetch_progressed(&mut self, progress: Progress, cx: &mut Cx) {
        let answer = match progress {
            Progress::Pending => {
                if let Some(due) = self.fetch.as_deref().map(BucketRequest::due) {
                    self.arm_timer(due, cx);
                }
                return;
            }
            Progress::Resume => return self.resume_fetch(cx),
            Progress::Answered(head, body) => Ok((head, body)),
            Progress::Failed(why) => Err(io::Error::other(why)),
        };
        self.fetch = None;
        self.transfer_request_done(answer, cx);
    }

    fn transfer_request_done(&mut self, answer: io::Result<(ResponseHead, Vec<u8>)>, cx: &mut Cx) {
        if let Some(download) = self.work.download_mut() {
            match answer {
                Ok((head, body)) => download.ended(&head, &body),
                Err(e) => download.broke(e),
            }
            if let Some(e) = download.failure() {
                warn!("{}: download failed: {e}", self.session.peer());
            }
        } else if let Some(upload) = self.work.upload_mut() {
            match answer {
                Ok((head, body)) => upload.arrived(&head, &body),
                Err(e) => upload.broke(e),
            }
        }
        if let Work::Received(transfer, _) = &mut self.work {
            let bytes = transfer.bytes;
            let ended = match transfer.upload_mut() {
                Some(upload) if upload.is_done() => Some(Event::TransferDone { bytes }),
                Some(upload) => upload.take_error().map(|e| {
                    warn!("{}: upload failed: {e}", self.session.peer());
                    Event::TransferFailed {
                        kind: kind_of(&e),
                        bytes,
                    }
                }),
                None => None,
            };
            if let Some(event) = ended {
                self.close_data();
                return self.answer(cx.answers, event);
            }
        }
        self.send_transfer_request(cx);
        self.schedule(cx.schedule);
    }

    /// A download's GET broke: it is asked again, signed anew, from the
    /// first byte that did not arrive, when its backoff ends.
    fn resume_fetch(&mut self, cx: &mut Cx) {
        let (Some(store), Some(download)) = (self.bucket(cx).cloned(), self.work.download_mut())
        else {
            self.fetch = None;
            return;
        };
        download.cut();
        let resumed = match (download.next_request(&store), &mut self.fetch) {
            (Some(request), Some(fetch)) => {
                request.and_then(|request| fetch.resume(&request).map_err(io::Error::other))
            }
            // Nothing left to ask for.
            _ => {
                self.fetch = None;
                return;
            }
        };
        match resumed {
            Ok(()) => self.fetch_progressed(Progress::Pending, cx),
            Err(e) => {
                self.fetch = None;
                self.transfer_request_done(Err(e), cx);
            }
        }
    }

    /// Drops the download's GET under way, its socket out of the poll.
    pub(super) fn drop_fetch(&mut self) {
        // Its socket leaves the poll as it closes.
        self.fetch = None;
    }

    /// A request that could not be sent or answered: logged with its
    /// name, and a failure for the session.
    fn store_failed(&mut self, why: &str, kind: ErrorKind, cx: &mut Cx) {
        warn!("{}: {why}", self.session.peer());
        self.answer(cx.answers, Event::Failed(kind));
    }

    /// Drops the request under way, its socket out of the poll.
    pub(super) fn drop_store_op(&mut self) {
        // Its socket leaves the poll as it closes.
        self.store_op = None;
    }
}
