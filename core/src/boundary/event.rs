//! What the caller reports back to a [`Session`](crate::Session): the outcome of
//! an [`Action`](crate::Action) it asked for.

use std::net::SocketAddr;

use crate::boundary::access::Access;
use crate::boundary::path::VirtualPath;

/// Why an operation failed, as much as the protocol needs to know.
///
/// The reactor maps `std::io::ErrorKind` (and raw errno values) onto this; the
/// core never sees an `io::Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    NotFound,
    /// The file system's permissions refuse it (not the session's role,
    /// which the session knows itself).
    PermissionDenied,
    /// The file system is read-only (or the daemon's sandbox makes it so).
    ReadOnly,
    AlreadyExists,
    NotADirectory,
    IsADirectory,
    DirectoryNotEmpty,
    /// The name is not acceptable to the file system (too long, reserved, ...).
    InvalidName,
    /// A path (or a symlink inside it) leads outside the served root.
    OutsideRoot,
    /// A REST offset beyond the end of the file.
    BadOffset,
    /// Disk or quota full.
    StorageFull,
    /// The account's quota (bytes or files under its home) is used up,
    /// or an upload would cross it: `552`, as RFC 959 says of an exceeded
    /// storage allocation.
    QuotaExceeded,
    /// Every port of the passive range (`--pasv-ports`) is in use.
    PortsExhausted,
    /// The peer refused or could not be reached (data connections).
    ConnectionRefused,
    /// The peer reset or closed the connection before the transfer finished.
    ConnectionLost,
    /// No progress within the allowed time.
    TimedOut,
    /// The TLS handshake on a protected data connection failed.
    HandshakeFailed,
    /// A protected data connection did not resume its control connection's
    /// TLS session, as the server requires: it may be another client's.
    SessionNotResumed,
    /// A protected upload ended without the client's `close_notify`: it may
    /// have been cut short.
    UploadCutShort,
    /// Too much of this work waits already (password checks from this
    /// client): it was not even begun.
    Busy,
    /// The account already has as many sessions as it may
    /// (`--max-sessions-per-user`): a login refused although its password
    /// was right.
    TooManySessions,
    /// The storage cannot do this at all (a bucket has no object to
    /// write in place, no file mode, no settable modification time):
    /// `504`, RFC 959's "not implemented for that parameter", so a client
    /// tells it from a refusal of this one file.
    NotSupported,
    /// Anything else: reported to the client as a local error.
    Other,
}

/// An account's quota (`SITE QUOTA`): what is used under its home, and
/// the limits (`None`: no limit on files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QuotaUse {
    pub bytes: u64,
    pub files: u64,
    pub max_bytes: u64,
    pub max_files: Option<u64>,
}

/// File type as listings and MLST report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// What the reactor learned from `stat(2)`; wall-clock values travel here
/// because the core has no clock of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Metadata {
    pub kind: FileKind,
    pub size: u64,
    /// Modification time, seconds since the Unix epoch (UTC).
    pub modified: i64,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Hard link count (LIST's second column; rclone relies on it being there).
    pub links: u64,
}

/// The outcome of an action. Each variant names which actions it answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Answers [`Action::ListenData`](crate::Action::ListenData): the passive
    /// listener is bound to this port on the control connection's local address.
    Listening { port: u16 },
    /// A data connection exists: the active connect of
    /// [`Action::ConnectData`](crate::Action::ConnectData) succeeded, or the
    /// passive listener accepted a connection from `peer`. For a passive one
    /// the session may answer [`Action::RejectData`](crate::Action::RejectData).
    DataConnected { peer: SocketAddr },
    /// Answers [`Action::Open`](crate::Action::Open). `size` is the file's
    /// size for reads (none for listings and writes); `unique_name` is the
    /// name chosen for [`OpenMode::CreateUnique`](crate::OpenMode::CreateUnique).
    Opened {
        size: Option<u64>,
        unique_name: Option<VirtualPath>,
    },
    /// Answers [`Action::Stat`](crate::Action::Stat).
    Metadata(Metadata),
    /// Answers `Rename`, `Delete`, `MakeDir`, `RemoveDir` and `SetMode`.
    Done,
    /// News of a running transfer: `bytes` moved so far. Sent now and then
    /// (it keeps the stall timer from firing), and last right before the
    /// end of the control connection (see the crate's guide, rule 2), so a
    /// transfer that end interrupts is logged with the bytes it moved.
    TransferProgress { bytes: u64 },
    /// Answers [`Action::StartTransfer`](crate::Action::StartTransfer) of an
    /// upload: every byte of it is in (the client closed the data
    /// connection), `bytes` of them; it waits for
    /// [`Action::CommitUpload`](crate::Action::CommitUpload).
    UploadReceived { bytes: u64 },
    /// Answers [`Action::StartTransfer`](crate::Action::StartTransfer) of a
    /// download or a listing (every byte moved, the data connection flushed
    /// and closed) and [`Action::CommitUpload`](crate::Action::CommitUpload)
    /// (the upload is in place under its final name).
    TransferDone { bytes: u64 },
    /// Answers [`Action::AsciiSize`](crate::Action::AsciiSize): the size
    /// in network form, or `None` when the file holds more than `max_bytes`.
    AsciiSize(Option<u64>),
    /// Answers [`Action::Quota`](crate::Action::Quota): the account's use
    /// and limits; `None` when it has no quota.
    Quota(Option<QuotaUse>),
    /// Answers [`Action::ListToControl`](crate::Action::ListToControl): the
    /// formatted listing lines (already bounded by the caller).
    Listing(Vec<u8>),
    /// Answers [`Action::VerifyPassword`](crate::Action::VerifyPassword):
    /// `None` when the user is unknown or the password is wrong. A check
    /// that could not be made is [`Event::Failed`] with
    /// [`ErrorKind::Busy`].
    LoginChecked(Option<Access>),
    /// Answers [`Action::StartTransfer`](crate::Action::StartTransfer) and
    /// [`Action::CommitUpload`](crate::Action::CommitUpload): the transfer
    /// broke after moving `bytes`. The caller has already closed the data
    /// connection and discarded a partial upload.
    TransferFailed { kind: ErrorKind, bytes: u64 },
    /// The pending action failed (for a transfer that started,
    /// `TransferFailed`).
    Failed(ErrorKind),
}
