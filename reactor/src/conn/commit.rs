//! Durable commits (`--sync`), from the connection's side: a received
//! upload, and under `--sync all` a change of folder entries (MKD, RMD,
//! DELE, RNTO), handed to the sync worker (`storage/sync.rs`). The session
//! waits for the answer as for any action; its reply follows the syncs.
//! With `--sync off`, an upload is put in place on the loop at once, as
//! every change is.

use std::io;

use log::warn;
use pocketftp_core::{Action, Event, VirtualPath};

use super::transfer::Transfer;
use super::{Connection, Cx};
use crate::server::answers::Tag;
use crate::storage::durable::{Job, Pending};
use crate::storage::error_kind::kind_of;
use crate::storage::sync::SYNC_QUEUE;

/// Whom a sync's answer is for, and what it answers.
pub(crate) struct Synced {
    pub tag: Tag,
    /// What was synced, for log lines: the upload's path, or the changed
    /// entry's.
    pub path: VirtualPath,
    /// The bytes of the upload it commits; `None`: a change of entries.
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

impl Connection {
    /// Puts the received upload at `path` in place: at once under `--sync
    /// off`; otherwise on the sync worker, whose answer comes later (the
    /// hold on that commit is returned: dropped, the commit is abandoned).
    pub(super) fn commit(
        &self,
        mut transfer: Transfer,
        path: &VirtualPath,
        cx: &Cx,
    ) -> io::Result<Option<Pending>> {
        if !cx.settings.sync.uploads() {
            return transfer.commit().map(|()| None);
        }
        let bytes = transfer.bytes;
        let Some(sink) = transfer.into_sink()? else {
            return Ok(None);
        };
        let (commit, pending) = sink.into_commit()?;
        self.submit(path, Some(bytes), Job::Commit(commit), cx)?;
        Ok(Some(pending))
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
        let synced = folders.and_then(|folders| self.submit(last, None, Job::Folders(folders), cx));
        if let Err(e) = synced {
            self.answer(cx.answers, Event::Failed(kind_of(&e)));
        }
    }

    /// Hands `job` to the sync worker, for an answer to this session.
    fn submit(&self, path: &VirtualPath, upload: Option<u64>, job: Job, cx: &Cx) -> io::Result<()> {
        let synced = Synced {
            tag: self.tag,
            path: path.clone(),
            upload,
        };
        cx.syncs.submit(synced, job).map_err(|_refused| {
            let peer = self.session.peer();
            warn!("{peer}: {path} not synced: {SYNC_QUEUE} syncs wait already, the disk cannot keep up (451)");
            io::Error::other("the sync queue is full")
        })
    }
}
