//! A connection's requests to its S3 bucket (`--storage s3://...`): the
//! file actions (`storage/s3/file_ops.rs` says what each asks), carried
//! one request at a time on a socket of the connection's own in the loop,
//! its readiness a [`Source::Store`] event. The session asks one file
//! action at a time, so one conversation at a time is all it needs; the
//! answer goes through the one answer queue, as a disk's does, only later.
//! No other session waits on it.

use log::warn;
use mio::{Interest, Registry};
use pocketftp_core::{Action, ErrorKind, Event};

use super::{Connection, Cx};
use crate::http::connection::Connection as HttpConnection;
use crate::server::token::{token, Source};
use crate::storage::error_kind::kind_of;
use crate::storage::s3::file_ops::{FileOp, Next};
use crate::storage::s3::{S3Request, Store};

/// An answer's body a file action reads whole: an error document, a
/// one-key listing, a copy's result. Small; more is a broken store.
const MAX_ANSWER: usize = 64 * 1024;

/// A file action under way, and the request it waits on.
pub(crate) struct StoreOp {
    op: FileOp,
    http: HttpConnection,
    /// The request, as log lines name it.
    asked: String,
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
            Ok((op, request)) => self.send_store_request(store, op, request, cx),
            Err(event) => self.answer(cx.answers, event),
        }
    }

    fn send_store_request(&mut self, store: &Store, op: FileOp, request: S3Request, cx: &mut Cx) {
        let asked = request.describe();
        let opened =
            (request.exchange(b"", MAX_ANSWER).map_err(|e| e.to_string())).and_then(|exchange| {
                store
                    .endpoint()
                    .connect(exchange)
                    .map_err(|e| e.to_string())
            });
        let mut http = match opened {
            Ok(http) => http,
            Err(e) => return self.store_failed(&asked, &e, ErrorKind::Other, cx),
        };
        let interest = Interest::READABLE | Interest::WRITABLE;
        let store_token = token(self.tag.key, Source::Store);
        if let Err(e) = cx.registry.register(http.socket(), store_token, interest) {
            return self.store_failed(&asked, &e.to_string(), ErrorKind::Other, cx);
        }
        self.store_op = Some(StoreOp { op, http, asked });
    }

    /// Its request's socket is ready: moves it on, and at its answer takes
    /// the conversation's next step.
    pub fn on_store_ready(&mut self, cx: &mut Cx) {
        let Some(pending) = &mut self.store_op else {
            return;
        };
        match pending.http.advance() {
            Ok(false) => return,
            Ok(true) => {}
            Err(e) => {
                let (asked, why) = (pending.asked.clone(), e.to_string());
                self.drop_store_op(cx.registry);
                return self.store_failed(&asked, &why, ErrorKind::ConnectionRefused, cx);
            }
        }
        let Some(StoreOp {
            mut op, mut http, ..
        }) = self.store_op.take()
        else {
            return;
        };
        let _ = cx.registry.deregister(http.socket());
        let Some((head, body)) = http.into_exchange().into_response() else {
            return self.answer(cx.answers, Event::Failed(ErrorKind::Other));
        };
        let Some(store) = self.bucket(cx).cloned() else {
            return;
        };
        match op.answer(&store, &head, &body) {
            Next::Send(request) => self.send_store_request(&store, op, request, cx),
            Next::Done(event) => self.answer(cx.answers, event),
            Next::Failed(e) => {
                warn!("{}: {e}", self.session.peer());
                self.answer(cx.answers, Event::Failed(kind_of(&e)));
            }
        }
    }

    /// A request that could not be sent or answered: logged with its
    /// name, and a failure for the session.
    fn store_failed(&mut self, asked: &str, why: &str, kind: ErrorKind, cx: &mut Cx) {
        warn!("{}: {asked}: {why}", self.session.peer());
        self.answer(cx.answers, Event::Failed(kind));
    }

    /// Drops the request under way, its socket out of the poll.
    pub(super) fn drop_store_op(&mut self, registry: &Registry) {
        if let Some(mut pending) = self.store_op.take() {
            let _ = registry.deregister(pending.http.socket());
        }
    }
}
