//! Quotas, from the connection's side (`crate::quota` keeps the counts):
//! a user with a quota is refused uploads and MKD once it is used up, and
//! an upload may write what is left; every session's changes (uploads,
//! deletes, renames) are told to the ledger, measured before and after,
//! for whichever homes with a quota they touch.

use std::io;

use pocketftp_core::{Action, Event, FileKind, TransferRecord, VirtualPath};

use super::{Connection, Cx};
use crate::quota::{Quota, Usage};
use crate::storage::jail::Jail;

/// What a file action's paths held before it: its subject, and (RNTO)
/// the file its target replaces.
pub(super) struct Before {
    subject: Option<Usage>,
    target: Usage,
}

impl Connection {
    /// The home the session's quota counts (`/` without one).
    fn quota_home(&self) -> VirtualPath {
        self.home_path.clone().unwrap_or_else(VirtualPath::root)
    }

    /// `path` as seen from the root, as the ledger keys it.
    fn seen_from_root(&self, path: &VirtualPath) -> String {
        match &self.home_path {
            Some(home) if path.is_root() => home.as_str().to_owned(),
            Some(home) => format!("{home}{path}"),
            None => path.as_str().to_owned(),
        }
    }

    /// Before an upload or MKD: refused (`QuotaExceeded`) when the user's
    /// quota is used up; otherwise what an upload may still write.
    pub(super) fn quota_room(&self, cx: &Cx) -> io::Result<Option<(u64, VirtualPath, Quota)>> {
        let Some(quota) = self.quota else {
            return Ok(None);
        };
        let home = self.quota_home();
        let room = cx.quotas.room(&home, quota)?;
        Ok(Some((room, home, quota)))
    }

    /// `Open` of an upload: what its target held, for its record.
    pub(super) fn note_upload_target(&mut self, path: &VirtualPath, cx: &Cx) {
        self.upload_before = (!cx.quotas.is_empty()).then(|| usage(self.storage(cx.root), path));
    }

    /// An upload's record (whole or not): the ledger learns what its file
    /// holds now.
    pub(super) fn count_upload(&mut self, record: &TransferRecord, cx: &mut Cx) {
        let Some(before) = self.upload_before.take().filter(|_| !record.outgoing) else {
            return;
        };
        let after = usage(self.storage(cx.root), &record.path);
        cx.quotas
            .changed(&self.seen_from_root(&record.path), before, after);
    }

    /// `MKD` over quota is refused; other actions pass.
    pub(super) fn quota_admits(&self, action: &Action, cx: &Cx) -> io::Result<()> {
        match action {
            Action::MakeDir(_) => self.quota_room(cx).map(drop),
            _ => Ok(()),
        }
    }

    /// What a delete or rename will change, measured before it.
    pub(super) fn quota_before(&self, action: &Action, cx: &Cx) -> Option<Before> {
        if cx.quotas.is_empty() {
            return None;
        }
        let storage = self.storage(cx.root);
        match action {
            Action::Delete(path) => Some(Before {
                subject: Some(usage(storage, path)),
                target: Usage::default(),
            }),
            Action::Rename { from, to } | Action::RenameUpload { from, to, .. } => {
                let subject = match storage.stat(from) {
                    Ok(meta) if meta.kind == FileKind::Dir => None,
                    _ => Some(usage(storage, from)),
                };
                let target = usage(storage, to);
                Some(Before { subject, target })
            }
            _ => None,
        }
    }

    /// A delete or rename was made: the ledger learns of it.
    pub(super) fn quota_after(
        &self,
        action: &Action,
        before: Option<Before>,
        event: &Event,
        cx: &mut Cx,
    ) {
        let Some(before) = before.filter(|_| *event == Event::Done) else {
            return;
        };
        match action {
            Action::Delete(path) => {
                let gone = before.subject.unwrap_or_default();
                cx.quotas
                    .changed(&self.seen_from_root(path), gone, Usage::default());
            }
            Action::Rename { from, to } | Action::RenameUpload { from, to, .. } => {
                let to = self.seen_from_root(to);
                cx.quotas.changed(&to, before.target, Usage::default());
                cx.quotas
                    .moved(&self.seen_from_root(from), &to, before.subject);
            }
            _ => {}
        }
    }

    /// `SITE QUOTA`: the numbers, for the session to word.
    pub(super) fn answer_quota(&self, cx: &mut Cx) {
        let shown = self
            .quota
            .map(|quota| cx.quotas.show(&self.quota_home(), quota));
        self.answer(cx.answers, Event::Quota(shown));
    }
}

/// What `path` holds: a file's bytes and itself; nothing if it is none.
fn usage(storage: &Jail, path: &VirtualPath) -> Usage {
    match storage.stat(path) {
        Ok(meta) if meta.kind == FileKind::File => Usage {
            bytes: meta.size,
            files: 1,
        },
        _ => Usage::default(),
    }
}
