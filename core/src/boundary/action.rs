//! What a [`Session`](crate::Session) asks its caller to do. Actions say *what*,
//! never *how*; every action that expects an answer names the
//! [`Event`](crate::Event)s that answer it, delivered after the drain (rule 2
//! of the crate's guide), even when known at once.

use std::net::SocketAddr;

use crate::boundary::glob::Glob;
use crate::boundary::notice::Notice;
use crate::boundary::path::VirtualPath;
use crate::format::xferlog::TransferRecord;

/// The format of a directory listing sent over a data connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListFormat {
    /// `LIST`: `ls -l` style lines.
    Long,
    /// `NLST`: bare names.
    Names,
    /// `MLSD`: RFC 3659 facts, one entry a line.
    Machine,
}

/// The last component of a `LIST`, `NLST` or `STAT` path, when it holds
/// wildcards: if no entry has that very name, the listing shows the entries
/// of the folder that match it (none is an empty listing, not an error).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ListPattern {
    pub glob: Glob,
    /// Put before each name of an `NLST` listing: the folder part of the
    /// client's argument (`pub/` for `NLST pub/*.txt`), so that the names
    /// can be fed back to `RETR`, as `mget` does and vsftpd answers. Empty
    /// for `LIST`, `MLSD` and `STAT`, whose lines carry bare names.
    pub prefix: String,
}

/// Which entries of a folder a listing shows; the daemon's own temporary
/// files never. Its caller filters each name with [`Shown::shows`] as it
/// reads the folder (the session never sees the names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shown {
    /// Every entry (`--dotfiles`).
    All,
    /// Every entry but those whose name starts with a dot (the default).
    NoDotfiles,
    /// None: an `upload` session's listing with `--upload-list-empty`. The
    /// path is looked up all the same (a missing folder is `Failed`).
    Nothing,
}

impl Shown {
    /// Whether an entry named `name` is listed.
    pub fn shows(self, name: &[u8]) -> bool {
        match self {
            Shown::All => true,
            Shown::NoDotfiles => !name.starts_with(b"."),
            Shown::Nothing => false,
        }
    }
}

/// How [`Action::Open`] opens its path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OpenMode {
    /// RETR: read from `offset` (REST). An offset beyond the end is
    /// `Failed(BadOffset)`.
    Read { offset: u64 },
    /// STOR: the file's new content (created if needed). The old content
    /// must survive a transfer that breaks: how is the caller's business.
    Write,
    /// STOR by an `upload` user: like `Write`, but only a file that does not
    /// exist yet (`Failed(AlreadyExists)` otherwise, also if one appears
    /// before the upload completes).
    CreateNew,
    /// STOR by an `upload` account with `--upload-replace-own`: like
    /// `CreateNew`, except that a file `account` uploaded itself may be
    /// replaced (now and at the commit). The upload is marked as
    /// `account`'s, so that it may replace it later in turn; how the
    /// caller marks and recognises a file is its business (a file it
    /// cannot tell is `account`'s is never replaced).
    CreateOrReplaceOwn { account: String },
    /// REST + STOR: write in place from `offset` (beyond the end:
    /// `Failed(BadOffset)`), truncating what follows it.
    WriteAt { offset: u64 },
    /// APPE: write in place at the end, creating the file if needed.
    Append,
    /// STOU: create a new file with a unique name in the folder `path`
    /// (reported in `Opened::unique_name`).
    CreateUnique,
    /// LIST / NLST / MLSD of a folder (or of a single file). `writable` says
    /// whether MLSD may advertise write permission facts. With a `pattern`
    /// (`path`'s last component, compiled) and no entry named `path`, the
    /// entries of `path`'s folder that match it are listed instead: an
    /// existing name is listed as it is, wildcards or not, as by vsftpd.
    /// Only the entries `shown` shows are listed.
    List {
        format: ListFormat,
        writable: bool,
        pattern: Option<ListPattern>,
        shown: Shown,
    },
}

/// A request from the session to its caller.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Close any data listener, data connection and opened file or listing
    /// (an unfinished upload is discarded). No answer.
    CloseData,
    /// Open a passive data listener on the control connection's local address.
    /// Answer: `Listening` or `Failed`; later, maybe, `DataConnected`.
    ListenData,
    /// Start a non-blocking connect to the client's data address (active mode).
    /// Answer: `DataConnected` or `Failed`.
    ConnectData(SocketAddr),
    /// Close the data connection just reported by `DataConnected` (it came from
    /// a foreign address) and keep listening. No answer.
    RejectData,
    /// Close the passive listener but keep the data connection it gave: a
    /// `PASV` admits one connection. No answer.
    StopListening,
    /// Open the source or sink of the next transfer.
    /// Answer: `Opened` or `Failed`.
    Open { path: VirtualPath, mode: OpenMode },
    /// Move bytes between what `Open` opened and the data connection
    /// (converting LF and CRLF when `ascii`), over TLS when `protected`
    /// (`PROT P`: the caller is the TLS server and its handshake comes
    /// first). Answer: `TransferProgress`*, then `TransferDone` or
    /// `TransferFailed`; for an upload, `UploadReceived` instead of
    /// `TransferDone`, once every byte is in (the session then asks for
    /// `CommitUpload`).
    StartTransfer { ascii: bool, protected: bool },
    /// Put the received upload in place (a `STOR` replaces its target only
    /// now) and close its data connection. Answer: `TransferDone` or
    /// `TransferFailed`.
    CommitUpload,
    /// Stop the running transfer at once: close the data connection and the
    /// file, discard an unfinished upload. No answer.
    AbortTransfer,
    /// Answer: `Metadata` or `Failed`. Symlinks are followed (inside the root).
    Stat(VirtualPath),
    /// Answer: `Done` or `Failed`.
    Rename { from: VirtualPath, to: VirtualPath },
    /// An `upload` session renames a file it uploaded (`x.part` to `x`):
    /// never over an existing name (`Failed(AlreadyExists)`), except, with
    /// `account`, over a file that account uploaded (see
    /// [`OpenMode::CreateOrReplaceOwn`]). Answer: `Done` or `Failed`.
    RenameUpload {
        from: VirtualPath,
        to: VirtualPath,
        account: Option<String>,
    },
    /// Delete a file. Answer: `Done` or `Failed`.
    Delete(VirtualPath),
    /// Answer: `Done` or `Failed`.
    MakeDir(VirtualPath),
    /// Remove an empty folder. Answer: `Done` or `Failed`.
    RemoveDir(VirtualPath),
    /// `SITE CHMOD`: set the permission bits (at most `0o777`) of a file or
    /// folder; a symlink's target inside the root. Answer: `Done` or `Failed`.
    SetMode { path: VirtualPath, mode: u32 },
    /// MFMT: set a file's modification time (Unix seconds, UTC).
    /// Answer: `Metadata` (as stored: file systems clamp) or `Failed`.
    SetModified { path: VirtualPath, modified: i64 },
    /// `SIZE` in `TYPE A`: how many bytes a `TYPE A` `RETR` of the file
    /// would send (each LF as CRLF), reading no more than `max_bytes` of it.
    /// Answer: `AsciiSize`, or `Failed`.
    AsciiSize { path: VirtualPath, max_bytes: u64 },
    /// `SITE QUOTA`: the logged-in account's use of its quota (the caller
    /// keeps the counts). Answer: `Quota`.
    Quota,
    /// `STAT path`: a `LIST`-style listing returned inline, cut off after
    /// about `max_bytes`; a `pattern` and `shown` as for [`OpenMode::List`].
    /// Answer: `Listing` or `Failed`.
    ListToControl {
        path: VirtualPath,
        max_bytes: usize,
        pattern: Option<ListPattern>,
        shown: Shown,
    },
    /// Check a password (slowly, off the event loop).
    /// Answer: `LoginChecked`.
    VerifyPassword { user: String, password: String },
    /// A file transfer ended: record it (for `--xferlog`). No answer.
    LogTransfer(TransferRecord),
    /// Tell the admin (the caller decides how often: see [`Notice`]). No
    /// answer.
    Notice(Notice),
    /// `AUTH TLS` was answered: write every reply byte queued so far in
    /// clear, then put TLS (as the server) on the control connection; from
    /// then on control bytes travel through it. `early` holds bytes the
    /// client sent after its `AUTH` line, which belong to the handshake. No
    /// answer: a failed handshake ends the connection like a reset.
    SecureControl { early: Vec<u8> },
    /// Flush the queued reply bytes, then close the control connection (and
    /// everything else of this session). The session is over.
    Close,
}
