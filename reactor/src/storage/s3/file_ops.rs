//! The file actions on a bucket, each a short conversation of requests,
//! sans-IO: [`FileOp::start`] gives the first request, [`FileOp::answer`]
//! takes each answer and gives the next request or the event the session
//! hears. The loop carries the requests; nothing here waits.
//!
//! S3 answers some things differently from a disk, and these bridge it:
//!
//! - DELETE of a missing key succeeds, so DELE asks HEAD first (a `550`
//!   for a name that is not there, as on a disk).
//! - A folder has no object: a HEAD of `a` misses, and a listing of `a/`
//!   (one key) says whether the folder exists.
//! - A rename is a copy and a delete; a copy may fail *after* its `200`
//!   (an `<Error>` in the body), which is read as the failure it is.
//! - A folder is renamed by no copy (that would be one request per key,
//!   and not atomic): its HEAD misses, and RNTO answers `550`.
//! - MFMT and SITE CHMOD: a bucket keeps neither (`550`).

use std::io;

use pocketftp_core::{Action, ErrorKind, Event, FileKind, VirtualPath};

use super::listing::{self, metadata};
use super::reply::{object_metadata, refused};
use super::request::Store;
use super::signed::S3Request;
use super::xml::{first, BadXml};
use crate::http::ResponseHead;
use crate::storage::error_kind::kind_of;

/// What comes after an answer.
#[derive(Debug)]
pub enum Next {
    Send(S3Request),
    /// The action's outcome, as the session hears it.
    Done(Event),
    /// The store refused or answered nonsense: worth a log line (which
    /// names the request and its status), then a failure for the session.
    Failed(io::Error),
}

/// A file action under way.
#[derive(Debug)]
pub struct FileOp {
    step: Step,
    /// The request whose answer comes next, as errors name it.
    asked: String,
}

#[derive(Debug)]
enum Step {
    /// Stat: the object's HEAD, then (a miss) the folder's listing.
    StatObject(VirtualPath),
    StatFolder,
    /// Delete: HEAD (is it there?), then DELETE.
    DeleteCheck(VirtualPath),
    MakeDir,
    /// Remove a folder: what it holds (its marker, at most one more), then
    /// the marker's DELETE.
    RemoveDirList(VirtualPath),
    /// Rename: HEAD of the source (a file?), the copy, the source's DELETE.
    RenameCheck(VirtualPath, VirtualPath),
    RenameCopy(VirtualPath),
    /// The last request: its success is the action's.
    Last,
}

/// Keys a folder check asks for: its marker and one more.
const FOLDER_PROBE_KEYS: u16 = 2;

/// How a conversation goes on: the next request, or how it ends.
type Went = Result<(Step, io::Result<S3Request>), Ended>;

/// How a conversation ends: an outcome, or an error worth logging.
enum Ended {
    Event(Event),
    Error(io::Error),
}

impl From<Event> for Ended {
    fn from(event: Event) -> Ended {
        Ended::Event(event)
    }
}

impl FileOp {
    /// The first request of `action`, or its event at once (an action that
    /// needs none, or that the bucket cannot do).
    pub fn start(store: &Store, action: Action) -> Result<(FileOp, S3Request), Event> {
        let (step, request) = match action {
            Action::Stat(path) if path.is_root() => return Err(folder()),
            Action::Stat(path) => (Step::StatObject(path.clone()), store.head(&path)),
            Action::Delete(path) => (Step::DeleteCheck(path.clone()), store.head(&path)),
            Action::MakeDir(path) => (Step::MakeDir, store.make_folder(&path)),
            Action::RemoveDir(path) => {
                let probe = store.list(&path, None, FOLDER_PROBE_KEYS);
                (Step::RemoveDirList(path), probe)
            }
            Action::Rename { from, to } => {
                let head = store.head(&from);
                (Step::RenameCheck(from, to), head)
            }
            // SIZE in TYPE A would read the whole object: `550`, as RFC
            // 3659 4 lets a server answer when it cannot tell the size.
            Action::AsciiSize { .. } => return Err(Event::Failed(ErrorKind::PermissionDenied)),
            // SITE CHMOD, MFMT: a bucket keeps no modes, nor times of its own.
            _ => return Err(Event::Failed(ErrorKind::NotSupported)),
        };
        let request = request.map_err(|e| failed(&e))?;
        let asked = request.describe();
        Ok((FileOp { step, asked }, request))
    }

    /// Takes the answer to the last request: its head and body.
    pub fn answer(&mut self, store: &Store, head: &ResponseHead, body: &[u8]) -> Next {
        let step = std::mem::replace(&mut self.step, Step::Last);
        match self.next(step, store, head, body) {
            Ok((step, Ok(request))) => {
                self.step = step;
                self.asked = request.describe();
                Next::Send(request)
            }
            Ok((_, Err(e))) | Err(Ended::Error(e)) => Next::Failed(e),
            Err(Ended::Event(event)) => Next::Done(event),
        }
    }

    fn next(&self, step: Step, store: &Store, head: &ResponseHead, body: &[u8]) -> Went {
        let (ok, missing) = ((200..300).contains(&head.status), head.status == 404);
        let looks = matches!(
            step,
            Step::StatObject(_) | Step::DeleteCheck(_) | Step::RenameCheck(..)
        );
        // A 404 that a step looks for is its answer; any other failure ends it.
        let answered = ok || (missing && looks);
        if !answered {
            return Err(Ended::Error(refused(self.asked.clone(), head.status, body)));
        }
        match step {
            Step::StatObject(_) if ok => Err(object_metadata(head)
                .map_or_else(Ended::Error, |meta| Event::Metadata(meta).into())),
            Step::StatObject(path) => Ok((Step::StatFolder, store.list(&path, None, 1))),
            Step::StatFolder => match keys(body)?.len() {
                0 => Err(Event::Failed(ErrorKind::NotFound).into()),
                _ => Err(folder().into()),
            },
            Step::DeleteCheck(_) | Step::RenameCheck(..) if missing => {
                Err(Event::Failed(ErrorKind::NotFound).into())
            }
            Step::DeleteCheck(path) => Ok((Step::Last, store.delete(&path))),
            Step::RemoveDirList(path) => {
                let marker = store.prefix().folder_at(&path);
                match keys(body)?.as_slice() {
                    [] => Err(Event::Failed(ErrorKind::NotFound).into()),
                    [only] if only == marker.as_str() => {
                        Ok((Step::Last, store.remove_folder(&path)))
                    }
                    _ => Err(Event::Failed(ErrorKind::DirectoryNotEmpty).into()),
                }
            }
            Step::RenameCheck(from, to) => {
                let copy = store.copy(&from, &to);
                Ok((Step::RenameCopy(from), copy))
            }
            Step::RenameCopy(from) => match first(body, "Code") {
                // A 200 whose body is an <Error>: the copy failed midway.
                Ok(Some(_)) => Err(Ended::Error(refused(self.asked.clone(), 500, body))),
                _ => Ok((Step::Last, store.delete(&from))),
            },
            Step::MakeDir | Step::Last => Err(Event::Done.into()),
        }
    }
}

/// A folder's metadata: a bucket keeps no time or size for one.
fn folder() -> Event {
    Event::Metadata(metadata(FileKind::Dir, 0, 0))
}

fn failed(e: &io::Error) -> Event {
    Event::Failed(kind_of(e))
}

/// Every key of a raw listing page: objects and common prefixes.
fn keys(body: &[u8]) -> Result<Vec<String>, Ended> {
    let page = listing::raw(body).map_err(|BadXml(why)| {
        Ended::Error(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("S3 listing: {why}"),
        ))
    })?;
    Ok(page.entries.into_iter().map(|(key, _)| key).collect())
}
