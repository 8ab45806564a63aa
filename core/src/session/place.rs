//! The place machine: the working folder and the commands on files and
//! folders (`CWD`, `CDUP`, `PWD`, `SIZE`, `MDTM`, `MLST`, `STAT path`,
//! `RNFR`/`RNTO`, `DELE`, `MKD`, `RMD`, `SITE CHMOD`, `MFMT`), and how a
//! client's path becomes a [`VirtualPath`].

use std::collections::VecDeque;
use std::time::Instant;

use log::info;

use crate::boundary::access::Access;
use crate::boundary::action::{Action, ListPattern, Shown};
use crate::boundary::event::{ErrorKind, FileKind, Metadata, QuotaUse};
use crate::boundary::glob::Glob;
use crate::boundary::path::{windows_separators, PathError, VirtualPath};
use crate::format::listing;
use crate::format::time::CivilTime;
use crate::wire::command::{Command, TransferType};
use crate::wire::reply::quote_path;

use super::replies::{file_error_reply, DIRECTORY_CHANGED, DOT_NAME_REFUSED};
use super::Session;

/// Most bytes of the listing in a `STAT path` reply.
const STATUS_LISTING_CAP: usize = 64 * 1024;

/// The largest file whose size `SIZE` gives in `TYPE A`: that size is
/// counted by reading the file (each LF is sent as CRLF), so a bigger one
/// gets `550`, as RFC 3659 allows, rather than a read of the whole file.
pub(super) const ASCII_SIZE_LIMIT: u64 = 1024 * 1024;

/// The files an `upload` session uploaded that it remembers, at most: it
/// may rename those (`x.part` to `x`), and a client renames what it just
/// uploaded; the oldest is forgotten first.
const UPLOADS_REMEMBERED: usize = 32;

/// Where the client is: the working folder, the source of a rename in
/// progress, and what an `upload` session uploaded; written only here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Place {
    cwd: VirtualPath,
    /// `RNFR`'s path, for the `RNTO` right after it.
    rename_from: Option<VirtualPath>,
    /// The files an `upload` session created in this session (at most
    /// [`UPLOADS_REMEMBERED`], the latest last), under their names now.
    uploads: VecDeque<VirtualPath>,
    /// The command being carried out names an entry whose name holds a
    /// `\` (see [`Session::literal_backslash`]).
    literal: bool,
}

impl Default for Place {
    fn default() -> Self {
        Place {
            cwd: VirtualPath::root(),
            rename_from: None,
            uploads: VecDeque::new(),
            literal: false,
        }
    }
}

impl Place {
    /// Remembers `path` as uploaded in this session (the oldest forgotten
    /// beyond [`UPLOADS_REMEMBERED`]).
    fn remember(&mut self, path: &VirtualPath) {
        self.uploads.retain(|known| known != path);
        if self.uploads.len() == UPLOADS_REMEMBERED {
            self.uploads.pop_front();
        }
        self.uploads.push_back(path.clone());
    }
}

/// What the place machine waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum PlaceWait {
    /// The `Metadata` of a path (for `MFMT`, after the change).
    Stat(StatFor, VirtualPath),
    /// `Done`: a change was made.
    Change(ChangeFor, VirtualPath),
    /// The `Listing` for `STAT path`.
    StatusListing(VirtualPath),
    /// The `AsciiSize` for `SIZE` in `TYPE A`.
    AsciiSize,
    /// The `Quota` for `SITE QUOTA`.
    Quota,
    /// Whether the path of this command line, written with `\`, names an
    /// entry as it is (`Metadata`) or not (`Failed`).
    Backslash(Vec<u8>),
}

/// Commands answered from a `Stat` action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StatFor {
    Cwd,
    Size,
    Mdtm,
    Mlst,
    Rnfr,
    /// After the change: the file system may clamp the time, so the reply
    /// says what it stored.
    Mfmt,
}

/// Commands answered from a `Done` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum ChangeFor {
    Dele,
    Mkd,
    Rmd,
    /// What is being renamed (for the log line).
    Rnto(VirtualPath),
    /// An `upload` session renames what it uploaded.
    RntoUpload(VirtualPath),
    /// `SITE CHMOD`.
    Chmod,
}

impl ChangeFor {
    /// The command, for log lines.
    fn verb(&self) -> &'static str {
        match self {
            ChangeFor::Dele => "DELE",
            ChangeFor::Mkd => "MKD",
            ChangeFor::Rmd => "RMD",
            ChangeFor::Rnto(_) | ChangeFor::RntoUpload(_) => "RNTO",
            ChangeFor::Chmod => "SITE CHMOD",
        }
    }

    /// The right the change needs: a new folder, or a new name for a file
    /// the session uploaded, is a creation (an upload role may make one);
    /// every other change alters what exists.
    fn right(&self) -> fn(Access) -> bool {
        match self {
            ChangeFor::Mkd | ChangeFor::RntoUpload(_) => Access::may_create,
            _ => Access::may_change,
        }
    }
}

/// The pattern of a listing of `path` (as the client wrote it: `arg`)
/// whose last component holds wildcards; `None` otherwise, and such a
/// listing is exactly what it was before globs. `names` (NLST): the listed
/// names carry the folder part of `arg`. A Windows client's `*.*` (its
/// path written with `\`) is DOS's "every name", dotted or not.
pub(super) fn list_pattern(arg: &str, path: &VirtualPath, names: bool) -> Option<ListPattern> {
    let glob = match path.file_name() {
        "*.*" if arg.contains('\\') => Glob::new("*"),
        name => Glob::new(name),
    }?;
    let prefix = if names {
        nlst_prefix(&windows_separators(arg), path.file_name(), &path.parent())
    } else {
        String::new()
    };
    Some(ListPattern { glob, prefix })
}

/// Whether a component of `path` starts with a dot (a normalised path
/// holds no `.` or `..`, so every such component is a hidden name).
fn has_dot_name(path: &VirtualPath) -> bool {
    path.as_str().split('/').any(|name| name.starts_with('.'))
}

/// The folder part of an NLST argument that ends in the glob: `pub/` for
/// `pub/*.txt`, nothing for `*.txt`, so that names come back as the client
/// will ask for them. If `.` or `..` followed the glob in `arg`, the
/// folder's absolute path instead.
fn nlst_prefix(arg: &str, glob: &str, folder: &VirtualPath) -> String {
    let trimmed = arg.trim_end_matches('/');
    let (written, last) = match trimmed.rfind('/') {
        Some(cut) => (&trimmed[..=cut], &trimmed[cut + 1..]),
        None => ("", trimmed),
    };
    match (last == glob, folder.is_root()) {
        (true, _) => written.to_owned(),
        (false, true) => "/".to_owned(),
        (false, false) => format!("{folder}/"),
    }
}

impl Session {
    /// Normalises a client path, answering the client itself when it is
    /// refused. Every path a client names passes here, so this is where a
    /// name starting with a dot is refused (without `--dotfiles`): it is
    /// then neither read, written, entered nor named in any command, and
    /// the listings leave it out ([`Session::shown`]).
    pub(super) fn resolve(&mut self, arg: &str) -> Option<VirtualPath> {
        let resolve = match self.place.literal {
            true => VirtualPath::resolve_literal,
            false => VirtualPath::resolve,
        };
        match resolve(&self.place.cwd, arg) {
            Ok(path) if !self.config.dotfiles && has_dot_name(&path) => {
                info!(
                    "{}: {:?} refused {path}: names starting with a dot are not served (--dotfiles serves them)",
                    self.peer,
                    self.user_name()
                );
                self.reply_with(DOT_NAME_REFUSED);
                None
            }
            Ok(path) => Some(path),
            Err(PathError::Nul | PathError::Empty) => {
                self.reply(501, "Invalid file name.");
                None
            }
        }
    }

    /// Which entries this session's listings show.
    pub(super) fn shown(&self) -> Shown {
        if self.config.upload_list_empty && self.uploads_only() {
            Shown::Nothing
        } else if self.config.dotfiles {
            Shown::All
        } else {
            Shown::NoDotfiles
        }
    }

    /// A file upload by an `upload` session completed: it may rename it.
    pub(super) fn uploaded(&mut self, path: &VirtualPath) {
        if self.uploads_only() {
            self.place.remember(path);
        }
    }

    pub(super) fn cmd_pwd(&mut self) {
        let text = format!(
            "{} is the current directory",
            quote_path(self.place.cwd.as_str())
        );
        self.reply(257, &text);
    }

    pub(super) fn cmd_cdup(&mut self) {
        self.place.cwd = self.place.cwd.parent();
        self.reply_with(DIRECTORY_CHANGED);
    }

    pub(super) fn cmd_stat(&mut self, purpose: StatFor, arg: &str) {
        if let Some(path) = self.resolve(arg) {
            self.ask(Action::Stat(path.clone()), PlaceWait::Stat(purpose, path));
        }
    }

    pub(super) fn cmd_change(
        &mut self,
        purpose: ChangeFor,
        arg: &str,
        action: impl FnOnce(VirtualPath) -> Action,
    ) {
        if let Some(path) = self.permitted_path(purpose.verb(), arg, purpose.right()) {
            self.ask(action(path.clone()), PlaceWait::Change(purpose, path));
        }
    }

    /// `RNFR`: a `super` session renames anything; an `upload` session
    /// only a file it uploaded in this session (a client's `x.part`).
    pub(super) fn cmd_rnfr(&mut self, arg: &str) {
        if self.may_write() {
            return self.cmd_stat(StatFor::Rnfr, arg);
        }
        if !self.uploads_only() {
            return self.refuse_write("RNFR", arg);
        }
        let Some(path) = self.resolve(arg) else {
            return;
        };
        if self.place.uploads.contains(&path) {
            self.ask(
                Action::Stat(path.clone()),
                PlaceWait::Stat(StatFor::Rnfr, path),
            );
        } else {
            self.log_refusal("RNFR", arg);
            self.reply(
                550,
                "Permission denied: only a file uploaded in this session may be renamed.",
            );
        }
    }

    pub(super) fn cmd_rnto(&mut self, arg: &str) {
        let Some(from) = self.place.rename_from.take() else {
            return self.reply(503, "RNFR required first.");
        };
        if self.may_write() {
            let purpose = ChangeFor::Rnto(from.clone());
            return self.cmd_change(purpose, arg, |to| Action::Rename { from, to });
        }
        // RNFR let an `upload` session through for its own upload only.
        let account = self.upload_owner();
        let purpose = ChangeFor::RntoUpload(from.clone());
        self.cmd_change(purpose, arg, |to| Action::RenameUpload {
            from,
            to,
            account,
        });
    }

    /// A rename is `RNFR` and `RNTO` in a row: any other command forgets it.
    pub(super) fn forget_rename(&mut self) {
        self.place.rename_from = None;
    }

    pub(super) fn cmd_mfmt(&mut self, modified: i64, arg: &str) {
        if let Some(path) = self.permitted_path("MFMT", arg, Access::may_change) {
            let set = Action::SetModified {
                path: path.clone(),
                modified,
            };
            self.ask(set, PlaceWait::Stat(StatFor::Mfmt, path));
        }
    }

    /// `STAT path`: the listing comes back over the control connection.
    pub(super) fn cmd_stat_listing(&mut self, arg: &str) {
        if let Some(path) = self.resolve(arg) {
            let pattern = list_pattern(arg, &path, false);
            let list = Action::ListToControl {
                path: path.clone(),
                max_bytes: STATUS_LISTING_CAP,
                pattern,
                shown: self.shown(),
            };
            self.ask(list, PlaceWait::StatusListing(path));
        }
    }

    /// The path of `arg` if the session has `right`; `None` when the client
    /// was answered instead.
    pub(super) fn permitted_path(
        &mut self,
        verb: &str,
        arg: &str,
        right: fn(Access) -> bool,
    ) -> Option<VirtualPath> {
        if !self.allows(right) {
            self.refuse_write(verb, arg);
            return None;
        }
        self.resolve(arg)
    }

    /// `550` for a write this session has no right to; logged, since an
    /// admin looks for refused writes (a client misconfigured, or probing).
    fn refuse_write(&mut self, verb: &str, arg: &str) {
        self.log_refusal(verb, arg);
        self.reply(550, "Permission denied.");
    }

    fn log_refusal(&self, verb: &str, arg: &str) {
        info!(
            "{}: {:?} may not write: refused {verb} {arg}",
            self.peer,
            self.user_name()
        );
    }

    pub(super) fn on_metadata(&mut self, purpose: StatFor, path: VirtualPath, meta: Metadata) {
        let is_dir = meta.kind == FileKind::Dir;
        match purpose {
            StatFor::Cwd if is_dir => {
                self.place.cwd = path;
                self.reply_with(DIRECTORY_CHANGED);
            }
            StatFor::Cwd => self.reply(550, "Failed to change directory: not a folder."),
            StatFor::Size if is_dir => self.reply(550, "Could not get file size: not a file."),
            StatFor::Size if self.prefs.transfer_type() == TransferType::Ascii => {
                self.ascii_size(path, meta.size)
            }
            StatFor::Size => self.reply(213, &meta.size.to_string()),
            StatFor::Mdtm => self.reply(213, &CivilTime::from_unix(meta.modified).timestamp()),
            StatFor::Mlst => {
                let mut facts = Vec::new();
                listing::write_facts(&mut facts, &meta, self.may_write());
                let line = format!("{} {}", String::from_utf8_lossy(&facts), path);
                self.reply_multi(250, &format!("Listing {path}"), [line.as_str()], "End.");
            }
            StatFor::Rnfr => {
                self.place.rename_from = Some(path);
                self.reply(350, "Ready for RNTO.");
            }
            StatFor::Mfmt => {
                let stamp = CivilTime::from_unix(meta.modified).timestamp();
                self.reply(213, &format!("Modify={stamp}; {path}"));
            }
        }
    }

    pub(super) fn on_done(&mut self, purpose: ChangeFor, path: VirtualPath) {
        let (peer, user) = (self.peer, self.user_name());
        match &purpose {
            ChangeFor::Dele => info!("{peer}: {user:?} deleted {path}"),
            ChangeFor::Mkd => info!("{peer}: {user:?} made folder {path}"),
            ChangeFor::Rmd => info!("{peer}: {user:?} removed folder {path}"),
            ChangeFor::Rnto(from) | ChangeFor::RntoUpload(from) => {
                info!("{peer}: {user:?} renamed {from} -> {path}")
            }
            ChangeFor::Chmod => info!("{peer}: {user:?} changed the mode of {path}"),
        }
        if let ChangeFor::RntoUpload(from) = &purpose {
            self.place.uploads.retain(|known| known != from);
            self.place.remember(&path);
        }
        match purpose {
            ChangeFor::Dele => self.reply(250, "Delete operation successful."),
            ChangeFor::Mkd => self.reply(257, &format!("{} created", quote_path(path.as_str()))),
            ChangeFor::Rmd => self.reply(250, "Remove directory operation successful."),
            ChangeFor::Rnto(_) | ChangeFor::RntoUpload(_) => self.reply(250, "Rename successful."),
            ChangeFor::Chmod => self.reply(200, "SITE CHMOD command ok."),
        }
    }

    /// `SIZE` in `TYPE A` answers what a `TYPE A` `RETR` would send (issue
    /// 27, 6b: the binary size made clients expect fewer bytes than came),
    /// counted for files up to [`ASCII_SIZE_LIMIT`].
    fn ascii_size(&mut self, path: VirtualPath, binary_size: u64) {
        if binary_size > ASCII_SIZE_LIMIT {
            return self.reply_ascii_size(None);
        }
        let count = Action::AsciiSize {
            path,
            max_bytes: ASCII_SIZE_LIMIT,
        };
        self.ask(count, PlaceWait::AsciiSize);
    }

    /// The answer to `SIZE` in `TYPE A`: the size, or `None` for a file too
    /// big to count.
    pub(super) fn reply_ascii_size(&mut self, size: Option<u64>) {
        match size {
            Some(size) => self.reply(213, &size.to_string()),
            None => self.reply(
                550,
                "SIZE in ASCII mode is counted for files of up to 1 MiB; use TYPE I for this one.",
            ),
        }
    }

    /// Issue 27, 6(a): a `\` in a path separates names, as Windows
    /// clients mean it, unless the path names an entry as it is written
    /// (a name that really holds a `\`, as a glob's characters name an
    /// entry that has them): a logged-in command whose path has a `\` is
    /// held while that is looked up. `true`: it waits.
    pub(super) fn literal_backslash(&mut self, command: &Command<'_>, line: &[u8]) -> bool {
        let Some(arg) = command.path_arg().filter(|arg| arg.contains('\\')) else {
            return false;
        };
        let Ok(literal) = VirtualPath::resolve_literal(&self.place.cwd, arg) else {
            return false;
        };
        self.ask(Action::Stat(literal), PlaceWait::Backslash(line.to_vec()));
        true
    }

    /// The held line is carried out: its `\` part of a name if one
    /// `exists` so, a separator otherwise.
    pub(super) fn on_backslash_looked_up(&mut self, now: Instant, line: &[u8], exists: bool) {
        let Ok(command) = crate::wire::command::parse(line) else {
            return;
        };
        self.place.literal = exists;
        self.dispatch(now, command);
        self.place.literal = false;
    }

    /// `SITE QUOTA`'s answer: what the account uses of its quota.
    pub(super) fn reply_quota(&mut self, quota: Option<QuotaUse>) {
        let Some(q) = quota else {
            return self.reply(200, "No quota for this account.");
        };
        let files = match q.max_files {
            Some(max) => format!("{} of {max} files", q.files),
            None => format!("{} files (no limit)", q.files),
        };
        let text = format!("Quota: {} of {} bytes, {files}.", q.bytes, q.max_bytes);
        self.reply(200, &text);
    }

    pub(super) fn on_change_failed(
        &mut self,
        purpose: ChangeFor,
        path: VirtualPath,
        kind: ErrorKind,
    ) {
        let (code, text) = file_error_reply(kind);
        info!(
            "{}: {:?} {} {path} failed: {code} {text}",
            self.peer,
            self.user_name(),
            purpose.verb()
        );
        self.reply(code, text);
    }

    /// A `Stat` or `ListToControl` failed.
    pub(super) fn on_lookup_failed(&mut self, kind: ErrorKind) {
        self.reply_with(file_error_reply(kind));
    }

    pub(super) fn on_status_listing(&mut self, path: VirtualPath, lines: &[u8]) {
        let text = String::from_utf8_lossy(lines);
        self.reply_multi(
            213,
            &format!("Status of {path}:"),
            text.lines(),
            "End of status.",
        );
    }
}
