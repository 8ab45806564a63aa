//! The simulated reactor's side of each action: data connections, the
//! transfers over them (held, received, committed as the script says), the
//! file system's answers, and the password check; every answer is deferred
//! until after the drain, as the reactor's answer queue does.

use std::net::SocketAddr;

use crate::{
    Access, Action, ErrorKind, Event, FileKind, ListFormat, ListPattern, OpenMode, Shown,
    VirtualPath,
};

use super::{Harness, WALL_CLOCK};

/// What `Open` opened, waiting for `StartTransfer`.
#[derive(Clone, Debug)]
pub(super) enum SimFile {
    Read(Vec<u8>),
    /// The file's new content, put at `path` by `CommitUpload`; `mark`:
    /// the account the upload is marked as.
    Write {
        path: String,
        keep: Vec<u8>,
        mark: Option<String>,
    },
}

/// The transfer `StartTransfer` started, until it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Running {
    /// Bytes are moving, this many so far (`Op::Progress`).
    Moving(u64),
    /// An upload's every byte is in, this many: it waits for `CommitUpload`.
    Received(u64),
    /// `CommitUpload` was asked while commits are held: its answer waits
    /// for `Op::FinishCommit`, as a reactor's waits for a slow disk's sync.
    Committing(u64),
}

impl Harness {
    /// Carries out one action; its answer, if it has one, is deferred.
    pub(super) fn carry_out(&mut self, action: Action) {
        if let Some(kind) = self.fault.take_if(|_| may_fail(&action)) {
            if let (Action::CommitUpload, Some(Running::Received(bytes))) = (&action, self.running)
            {
                self.end_transfer();
                return self.defer(Event::TransferFailed { kind, bytes });
            }
            return self.defer(Event::Failed(kind));
        }
        match action {
            Action::LogTransfer(_) | Action::Notice(_) => {}
            Action::SecureControl { early } => {
                // The scripted bytes stand for what TLS delivers: bytes
                // that came early are read again, as the handshake's end.
                for byte in early.into_iter().rev() {
                    self.input.push_front(byte);
                }
            }
            Action::RejectData => self.data_peer = None,
            Action::StopListening => self.listening = false,
            Action::CloseData | Action::AbortTransfer | Action::Close => self.drop_data(),
            Action::ListenData => {
                self.listening = true;
                self.defer(Event::Listening { port: 50_001 });
            }
            Action::ConnectData(addr) => self.connect(addr),
            Action::StartTransfer { .. } => self.start_transfer(),
            Action::CommitUpload => match self.running {
                Some(Running::Received(bytes)) if self.hold_commits => {
                    self.running = Some(Running::Committing(bytes));
                }
                _ => self.commit_upload(),
            },
            Action::VerifyPassword { user, password } => {
                self.defer(verify_password(&user, &password))
            }
            file => {
                let answer = self.file_action(file);
                self.defer(answer);
            }
        }
    }

    /// The data connection, a running transfer and answers still to come
    /// for them are gone.
    fn drop_data(&mut self) {
        self.opened = None;
        self.running = None;
        self.listening = false;
        self.data_peer = None;
        self.epoch += 1;
    }

    fn connect(&mut self, addr: SocketAddr) {
        if self.refuse_active {
            self.defer(Event::Failed(ErrorKind::ConnectionRefused));
        } else {
            self.data_peer = Some(addr);
            self.defer(Event::DataConnected { peer: addr });
        }
    }

    fn start_transfer(&mut self) {
        let client = self.session.peer().ip();
        assert_eq!(
            self.data_peer.map(|p| p.ip()),
            Some(client),
            "transfer over a foreign data connection"
        );
        assert!(self.opened.is_some(), "transfer without an opened file");
        self.running = Some(Running::Moving(0));
        if !self.hold {
            self.finish_transfer();
        }
    }

    /// An action on the file system, and what came of it.
    fn file_action(&mut self, action: Action) -> Event {
        match action {
            Action::Open { path, mode } => match self.open(&path, mode) {
                Ok((opened, size, unique_name)) => {
                    self.opened = Some(opened);
                    Event::Opened { size, unique_name }
                }
                Err(kind) => Event::Failed(kind),
            },
            Action::Stat(path) => self
                .fs
                .stat(&path)
                .map_or_else(Event::Failed, Event::Metadata),
            Action::AsciiSize { path, max_bytes } => match self.fs.file(path.as_str()) {
                Some(data) if data.len() as u64 > max_bytes => Event::AsciiSize(None),
                Some(data) => Event::AsciiSize(Some(crate::ascii::network_size(data))),
                None => Event::Failed(ErrorKind::NotFound),
            },
            Action::Quota => Event::Quota(self.fs.quota_use()),
            Action::ListToControl {
                path,
                max_bytes,
                pattern,
                shown,
            } => match self.listing(&path, ListFormat::Long, pattern.as_ref(), shown) {
                Ok(mut text) => {
                    text.truncate(max_bytes);
                    Event::Listing(text)
                }
                Err(kind) => Event::Failed(kind),
            },
            Action::SetModified { ref path, .. } => match self.fs.change(&action) {
                Ok(()) => self
                    .fs
                    .stat(path)
                    .map_or_else(Event::Failed, Event::Metadata),
                Err(kind) => Event::Failed(kind),
            },
            change => self
                .fs
                .change(&change)
                .map_or_else(Event::Failed, |()| Event::Done),
        }
    }

    fn open(
        &mut self,
        path: &VirtualPath,
        mode: OpenMode,
    ) -> Result<(SimFile, Option<u64>, Option<VirtualPath>), ErrorKind> {
        let existing = self.fs.stat(path);
        let write = |keep: Vec<u8>, mark: Option<String>| SimFile::Write {
            path: path.as_str().to_owned(),
            keep,
            mark,
        };
        match mode {
            OpenMode::Read { offset } => {
                let meta = existing?;
                if meta.kind == FileKind::Dir {
                    return Err(ErrorKind::IsADirectory);
                }
                let data = self.fs.file(path.as_str()).unwrap_or_default();
                let rest = data
                    .get(offset as usize..)
                    .ok_or(ErrorKind::BadOffset)?
                    .to_vec();
                Ok((SimFile::Read(rest), Some(meta.size), None))
            }
            OpenMode::List {
                format,
                ref pattern,
                shown,
                ..
            } => {
                let listing = self.listing(path, format, pattern.as_ref(), shown)?;
                Ok((SimFile::Read(listing), None, None))
            }
            OpenMode::CreateNew if existing.is_ok() => Err(ErrorKind::AlreadyExists),
            OpenMode::CreateOrReplaceOwn { ref account }
                if !self.fs.may_take(path, Some(account)) =>
            {
                Err(ErrorKind::AlreadyExists)
            }
            OpenMode::Write
            | OpenMode::CreateNew
            | OpenMode::CreateOrReplaceOwn { .. }
            | OpenMode::Append
            | OpenMode::WriteAt { .. } => {
                self.fs.require_dir(&path.parent())?;
                if existing.is_ok_and(|m| m.kind == FileKind::Dir) {
                    return Err(ErrorKind::IsADirectory);
                }
                let old = self.fs.file(path.as_str()).unwrap_or_default().to_vec();
                let keep = match mode {
                    OpenMode::Append => old,
                    OpenMode::WriteAt { offset } => old
                        .get(..offset as usize)
                        .ok_or(ErrorKind::BadOffset)?
                        .to_vec(),
                    _ => Vec::new(),
                };
                // A new file is marked only as its account's upload; one
                // written in place keeps its mark.
                let mark = match mode {
                    OpenMode::CreateOrReplaceOwn { account } => Some(account),
                    OpenMode::Append | OpenMode::WriteAt { .. } => {
                        self.fs.uploader(path.as_str()).map(str::to_owned)
                    }
                    _ => None,
                };
                Ok((write(keep, mark), None, None))
            }
            OpenMode::CreateUnique => {
                self.fs.require_dir(path)?;
                let unique = (1..)
                    .filter_map(|n| path.join(&format!("unique.{n}")))
                    .find(|p| !self.fs.exists(p.as_str()))
                    .ok_or(ErrorKind::Other)?;
                let opened = SimFile::Write {
                    path: unique.as_str().to_owned(),
                    keep: Vec::new(),
                    mark: None,
                };
                Ok((opened, None, Some(unique)))
            }
        }
    }

    /// A listing as the reactor makes it: a folder's entries or one file;
    /// when `path` does not exist, the entries of its folder that the
    /// pattern (if any) matches; only those `shown` shows.
    fn listing(
        &self,
        path: &VirtualPath,
        format: ListFormat,
        pattern: Option<&ListPattern>,
        shown: Shown,
    ) -> Result<Vec<u8>, ErrorKind> {
        let (entries, pattern) = match (self.fs.stat(path), pattern) {
            (Ok(meta), _) if meta.kind == FileKind::Dir => (self.fs.children(path), None),
            (Ok(meta), _) => (vec![(path.file_name().to_owned(), meta)], None),
            (Err(ErrorKind::NotFound), Some(pattern)) => {
                self.fs.require_dir(&path.parent())?;
                (self.fs.children(&path.parent()), Some(pattern))
            }
            (Err(kind), _) => return Err(kind),
        };
        let mut out = Vec::new();
        for (name, meta) in entries
            .into_iter()
            .filter(|(n, _)| shown.shows(n.as_bytes()))
        {
            let name = name.as_bytes();
            let meta = || Some(meta);
            crate::format::listing::write_listed(
                &mut out, format, true, pattern, name, meta, WALL_CLOCK,
            );
        }
        Ok(out)
    }

    /// Moves every byte of the running transfer: a download is done, an
    /// upload received, and committed once its settle time has passed.
    pub(super) fn finish_transfer(&mut self) {
        let Some(Running::Moving(_)) = self.running else {
            return;
        };
        if let Some(SimFile::Read(data)) = &self.opened {
            let bytes = data.len() as u64;
            if let Some(SimFile::Read(data)) = self.end_transfer() {
                self.downloads.push(data);
            }
            return self.defer(Event::TransferDone { bytes });
        }
        self.receive_upload();
        self.upload_settling = true;
    }

    /// Every byte of the running upload is in.
    pub(super) fn receive_upload(&mut self) {
        let (Some(SimFile::Write { keep, .. }), Some(Running::Moving(_))) =
            (&mut self.opened, self.running)
        else {
            return;
        };
        let upload = std::mem::take(&mut self.upload);
        keep.extend_from_slice(&upload);
        let bytes = upload.len() as u64;
        self.running = Some(Running::Received(bytes));
        self.defer(Event::UploadReceived { bytes });
    }

    /// `CommitUpload`: the received upload takes its place.
    pub(super) fn commit_upload(&mut self) {
        let Some(Running::Received(bytes)) = self.running else {
            panic!("CommitUpload without a received upload");
        };
        if let Some(SimFile::Write { path, keep, mark }) = self.end_transfer() {
            self.fs.put_upload(path, keep, mark);
        }
        self.defer(Event::TransferDone { bytes });
    }

    /// The running transfer ends, and its data connection with it; what it
    /// had opened is returned.
    pub(super) fn end_transfer(&mut self) -> Option<SimFile> {
        self.running = None;
        self.data_peer = None;
        self.opened.take()
    }
}

/// Whether a fault (`Op::Fault`) applies: only to actions whose answer
/// may be `Failed`.
fn may_fail(action: &Action) -> bool {
    !matches!(
        action,
        Action::RejectData
            | Action::StopListening
            | Action::CloseData
            | Action::AbortTransfer
            | Action::Close
            | Action::StartTransfer { .. }
            | Action::SecureControl { .. }
            | Action::LogTransfer(_)
            | Action::Notice(_)
    )
}

/// One account per role, all with the password "secret".
fn verify_password(user: &str, password: &str) -> Event {
    let role = match user {
        "alice" => Some(Access::Super),
        "bob" => Some(Access::ReadOnly),
        "dropbox" => Some(Access::Upload),
        _ => None,
    };
    Event::LoginChecked(role.filter(|_| password == "secret"))
}
