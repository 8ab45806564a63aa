//! Durable commits (`--sync`), from the connection's side: a received
//! upload, and under `--sync all` a change of folder entries (MKD, RMD,
//! DELE, RNTO), handed to the sync worker (`storage/sync.rs`). The session
//! waits for the answer as for any action; its reply follows the syncs.
//! With `--sync off`, an upload is put in place on the loop at once, as
//! every change is.
//!
//! Under `--sync`, an upload's file is synced as soon as its last byte is
//! in ([`Early`]), while its session lets the end of the control
//! connection show (the settle, `Config::upload_settle`): the commit (the
//! rename, the folder's sync) starts once both are over, whichever ends
//! last. A small STOR so waits for one `fsync` after the settle, not two
//! (4 KiB files on one session: see `/tmp/notes/stor-small.md`). A client
//! killed in the settle costs the early `fsync` only: its sink is dropped
//! when it comes back, its hidden file removed, the old file kept.

use std::io;

use log::warn;
use pocketftp_core::{Action, Event, VirtualPath};

use super::transfer::Transfer;
use super::work::Work;
use super::{Connection, Cx};
use crate::server::answers::Tag;
use crate::storage::durable::Job;
use crate::storage::error_kind::kind_of;
use crate::storage::sync::SYNC_QUEUE;
use crate::storage::Sink;

/// Whom a sync's answer is for, and what it answers.
pub(crate) struct Synced {
    pub tag: Tag,
    /// What was synced, for log lines: the upload's path, or the changed
    /// entry's.
    pub path: VirtualPath,
    /// The bytes of the upload it commits; `None`: a change of entries,
    /// or an early sync of an upload's file (whose answer brings its sink
    /// back: [`Connection::file_synced`]).
    upload: Option<u64>,
}

impl Synced {
    /// The event that tells the session what came of the syncs.
    pub fn event(&self, result: &io::Result<()>) -> Event {
        match (result, self.upload) {
            (Ok(()), Some(bytes)) => Event::TransferDone { bytes },
            (Ok(()), None) => Event::Done,
            (Err(e), Some(bytes)) => Event::TransferFailed {
                kind: kind_of(e),
                bytes,
            },
            (Err(e), None) => Event::Failed(kind_of(e)),
        }
    }
}

/// A received upload to the disk under `--sync`, its file synced early.
pub(crate) struct Early {
    path: VirtualPath,
    bytes: u64,
    sink: Held,
}

impl Early {
    /// How far the upload got, while its session still counts it as
    /// received and not yet committing (see `Work::count`).
    pub fn count(&self) -> Option<u64> {
        match self.sink {
            Held::OnWorker { commit_asked: true } => None,
            _ => Some(self.bytes),
        }
    }
}

/// Where an [`Early`] upload's sink is.
enum Held {
    /// On the sync worker; `CommitUpload` came already if `commit_asked`.
    OnWorker { commit_asked: bool },
    /// Back, synced (or what went wrong), waiting for `CommitUpload`.
    Back(io::Result<Box<Sink>>),
}

impl Connection {
    /// The work of an upload whose every byte is in: under `--sync`, to
    /// the disk, its file goes to the sync worker at once.
    pub(super) fn received(&self, mut transfer: Transfer, path: VirtualPath, cx: &mut Cx) -> Work {
        if !cx.settings.sync.uploads() || transfer.upload_mut().is_some() {
            return Work::Received(Box::new(transfer), path);
        }
        let bytes = transfer.bytes;
        let sink = match transfer.into_sink() {
            Ok(Some(sink)) => Ok(Box::new(sink)),
            Ok(None) => Err(io::Error::other("an upload without a sink")),
            Err(e) => {
                cx.faults
                    .note(self.session.peer(), "put in place", &path, &e);
                Err(e)
            }
        };
        let held = match sink {
            Ok(sink) => match self.submit(&path, None, Job::File(sink), cx) {
                Ok(()) => Held::OnWorker {
                    commit_asked: false,
                },
                // A full queue: the commit syncs the file itself.
                Err(Job::File(sink)) => Held::Back(Ok(sink)),
                Err(_) => Held::Back(Err(io::Error::other("the sync queue is full"))),
            },
            Err(e) => Held::Back(Err(e)),
        };
        Work::Early(Box::new(Early {
            path,
            bytes,
            sink: held,
        }))
    }

    /// `CommitUpload` of an [`Early`] upload: put in place once its file
    /// is synced.
    pub(super) fn commit_early(&mut self, mut early: Box<Early>, cx: &mut Cx) {
        match early.sink {
            Held::OnWorker { .. } => {
                early.sink = Held::OnWorker { commit_asked: true };
                self.work = Work::Early(early);
            }
            Held::Back(sink) => self.commit_synced(early.path, early.bytes, sink, cx),
        }
    }

    /// The sync worker gave an [`Early`] upload's sink back: put in place
    /// now if its commit was asked for; dropped (its hidden file removed)
    /// if the upload was given up meanwhile.
    pub(crate) fn file_synced(&mut self, sink: io::Result<Box<Sink>>, cx: &mut Cx) {
        let Work::Early(early) = &mut self.work else {
            return;
        };
        match early.sink {
            Held::OnWorker { commit_asked: true } => {
                if let Work::Early(early) = std::mem::take(&mut self.work) {
                    self.commit_synced(early.path, early.bytes, sink, cx);
                }
            }
            Held::OnWorker {
                commit_asked: false,
            } => early.sink = Held::Back(sink),
            Held::Back(_) => log::error!("reactor bug: a synced upload came back twice"),
        }
    }

    /// Hands a synced upload's commit (the rename, the folder's sync) to
    /// the sync worker, whose answer is the session's. A sink that could
    /// not be synced (noted as its sync failed) fails the upload.
    fn commit_synced(
        &mut self,
        path: VirtualPath,
        bytes: u64,
        sink: io::Result<Box<Sink>>,
        cx: &mut Cx,
    ) {
        let sink = match sink {
            Ok(sink) => sink,
            Err(e) => {
                let kind = kind_of(&e);
                return self.answer(cx.answers, Event::TransferFailed { kind, bytes });
            }
        };
        let submitted = sink.into_commit().and_then(|(commit, pending)| {
            self.submit(&path, Some(bytes), Job::Commit(commit), cx)
                .map_err(|_refused| io::Error::other("the sync queue is full"))?;
            Ok(pending)
        });
        match submitted {
            Ok(pending) => self.work = Work::Committing { _hold: pending },
            Err(e) => {
                let event = self.not_put_in_place(&path, &e, bytes, cx);
                self.answer(cx.answers, event);
            }
        }
    }

    /// Answers a file action: under `--sync all`, a change of entries
    /// (`Done` for MKD, RMD, DELE, RNTO) is made durable first (the folders
    /// that hold them are synced, and their answer is the action's).
    pub(super) fn answer_change(&self, action: &Action, event: Event, cx: &mut Cx) {
        let entries = match action {
            _ if event != Event::Done || !cx.settings.sync.folders() => Vec::new(),
            Action::MakeDir(path) | Action::RemoveDir(path) | Action::Delete(path) => vec![path],
            Action::Rename { from, to } | Action::RenameUpload { from, to, .. } => {
                if from.parent() == to.parent() {
                    vec![to]
                } else {
                    vec![from, to]
                }
            }
            _ => Vec::new(),
        };
        let Some(last) = entries.last() else {
            return self.answer(cx.answers, event);
        };
        let storage = self.storage(cx.root);
        let folders: io::Result<Vec<_>> =
            entries.iter().map(|p| storage.folder_to_sync(p)).collect();
        let synced = folders.and_then(|folders| {
            self.submit(last, None, Job::Folders(folders), cx)
                .map_err(|_refused| io::Error::other("the sync queue is full"))
        });
        if let Err(e) = synced {
            self.answer(cx.answers, Event::Failed(kind_of(&e)));
        }
    }

    /// Hands `job` to the sync worker, for an answer to this session; a
    /// full queue gives it back.
    fn submit(
        &self,
        path: &VirtualPath,
        upload: Option<u64>,
        job: Job,
        cx: &Cx,
    ) -> Result<(), Job> {
        let synced = Synced {
            tag: self.tag,
            path: path.clone(),
            upload,
        };
        cx.syncs.submit(synced, job).inspect_err(|_refused| {
            let peer = self.session.peer();
            warn!("{peer}: {path} not synced: {SYNC_QUEUE} syncs wait already, the disk cannot keep up (451)");
        })
    }
}
