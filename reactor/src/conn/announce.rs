//! A completed upload, told to the hooks (`crate::hooks`). The session's
//! transfer record says that an upload ended with `226`, and where; the
//! connection adds what only it knows: which command it was (from the
//! `Open`'s mode) and whether its data connection was protected (from
//! `StartTransfer`), and where its home folder is on disk, or, served from
//! a bucket, the object's address (`s3://BUCKET/KEY`).

use pocketftp_core::{OpenMode, TransferRecord};

use super::{wall_clock, Connection, Cx};
use crate::hooks::{Upload, UploadKind};

/// The upload under way, as far as the hooks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PendingUpload {
    kind: UploadKind,
    /// Over a protected data connection.
    tls: bool,
}

impl Connection {
    /// `Open` with `mode`: an upload's kind is kept until its record.
    pub(super) fn note_open(&mut self, mode: &OpenMode) {
        let kind = match mode {
            OpenMode::Write | OpenMode::CreateNew | OpenMode::WriteAt { .. } => UploadKind::Upload,
            OpenMode::Append => UploadKind::Append,
            OpenMode::CreateUnique => UploadKind::Unique,
            _ => {
                self.pending_upload = None;
                return;
            }
        };
        self.pending_upload = Some(PendingUpload { kind, tls: false });
    }

    /// `StartTransfer`: whether its data connection is protected.
    pub(super) fn note_start(&mut self, protected: bool) {
        if let Some(pending) = &mut self.pending_upload {
            pending.tls = protected;
        }
    }

    /// A transfer's record: a complete upload goes to the hooks.
    pub(super) fn announce(&mut self, record: &TransferRecord, cx: &mut Cx) {
        let pending = self.pending_upload.take();
        let Some(pending) = pending.filter(|_| record.complete && !record.outgoing) else {
            return;
        };
        if !cx.hooks.is_configured() {
            return;
        }
        let real_path = match self.bucket(cx) {
            Some(store) => store.address(&record.path).unwrap_or_default().into(),
            None => cx.hooks.real_path(self.home_path.as_ref(), &record.path),
        };
        let upload = Upload {
            virtual_path: record.path.as_str().to_owned(),
            real_path,
            user: record.user.clone(),
            client: record.peer,
            size: record.bytes,
            kind: pending.kind,
            tls: pending.tls,
            time: wall_clock(),
        };
        cx.hooks.uploaded(upload, cx.registry, cx.now);
    }
}
