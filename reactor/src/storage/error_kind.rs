//! Mapping operating-system errors onto the core's [`ErrorKind`], and the
//! errors of our own that carry a kind no errno has (markers inside an
//! `io::Error`).

use std::io;
use std::ops::RangeInclusive;

use pocketftp_core::ErrorKind;

/// The error of a REST offset beyond the end of the file.
pub fn bad_offset() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, BadOffset)
}

/// The marker inside [`bad_offset`]'s error.
#[derive(Debug)]
struct BadOffset;

impl std::fmt::Display for BadOffset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("restart offset beyond the end of the file")
    }
}

impl std::error::Error for BadOffset {}

/// Every port of the passive range `range` is in use (`--pasv-ports`).
pub fn ports_exhausted(range: &RangeInclusive<u16>) -> io::Error {
    io::Error::new(io::ErrorKind::AddrInUse, PortsExhausted(range.clone()))
}

/// The marker inside [`ports_exhausted`]'s error.
#[derive(Debug)]
struct PortsExhausted(RangeInclusive<u16>);

impl std::fmt::Display for PortsExhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (lo, hi) = (self.0.start(), self.0.end());
        let ports = crate::count(self.0.clone().count(), "port");
        write!(
            f,
            "every port of --pasv-ports {lo}-{hi} is in use ({ports}): widen the range"
        )
    }
}

impl std::error::Error for PortsExhausted {}

/// The file ended before the size `150` announced: the client must not get
/// `226` for a short copy. A local error (`451`), not a lost connection.
pub fn file_shrank() -> io::Error {
    io::Error::other("the file shrank during the transfer")
}

/// A TLS failure (rustls' error, in words) as an `io::Error` that maps to
/// [`ErrorKind::HandshakeFailed`].
pub fn tls_failure(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, TlsFailure(why))
}

/// Any error during a data connection's handshake (a reset, an early end,
/// a TLS alert) is that handshake failing, unless it already says why.
pub fn handshake_failed(e: io::Error) -> io::Error {
    if let Some(inner) = e.get_ref() {
        if inner.is::<TlsFailure>() || inner.is::<TlsRefusal>() {
            return e;
        }
    }
    io::Error::new(e.kind(), TlsFailure(e.to_string()))
}

/// A protected data connection that did not resume its control
/// connection's session: [`ErrorKind::SessionNotResumed`].
pub fn session_not_resumed() -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, TlsRefusal::NotResumed)
}

/// A protected upload that ended without `close_notify`:
/// [`ErrorKind::UploadCutShort`].
pub fn upload_cut_short() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, TlsRefusal::CutShort)
}

/// The marker inside [`session_not_resumed`]'s and [`upload_cut_short`]'s
/// errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsRefusal {
    NotResumed,
    CutShort,
}

impl std::fmt::Display for TlsRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TlsRefusal::NotResumed => "the data connection did not resume the session's TLS",
            TlsRefusal::CutShort => "the upload ended without TLS close_notify",
        })
    }
}

impl std::error::Error for TlsRefusal {}

/// The marker inside [`tls_failure`]'s and [`handshake_failed`]'s errors.
#[derive(Debug)]
struct TlsFailure(String);

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TLS: {}", self.0)
    }
}

impl std::error::Error for TlsFailure {}

/// What an `io::Error` means to the protocol.
pub fn kind_of(error: &io::Error) -> ErrorKind {
    if error.get_ref().is_some_and(|e| e.is::<BadOffset>()) {
        return ErrorKind::BadOffset;
    }
    if error.get_ref().is_some_and(|e| e.is::<TlsFailure>()) {
        return ErrorKind::HandshakeFailed;
    }
    match error.get_ref().and_then(|e| e.downcast_ref::<TlsRefusal>()) {
        Some(TlsRefusal::NotResumed) => return ErrorKind::SessionNotResumed,
        Some(TlsRefusal::CutShort) => return ErrorKind::UploadCutShort,
        None => {}
    }
    if error.get_ref().is_some_and(|e| e.is::<PortsExhausted>()) {
        return ErrorKind::PortsExhausted;
    }
    if let Some(errno) = error.raw_os_error() {
        return kind_of_errno(errno);
    }
    match error.kind() {
        io::ErrorKind::NotFound => ErrorKind::NotFound,
        io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
        io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
        io::ErrorKind::ConnectionRefused => ErrorKind::ConnectionRefused,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => ErrorKind::ConnectionLost,
        io::ErrorKind::TimedOut => ErrorKind::TimedOut,
        io::ErrorKind::StorageFull => ErrorKind::StorageFull,
        io::ErrorKind::QuotaExceeded => ErrorKind::QuotaExceeded,
        _ => ErrorKind::Other,
    }
}

fn kind_of_errno(errno: i32) -> ErrorKind {
    match errno {
        libc::ENOENT => ErrorKind::NotFound,
        libc::EACCES | libc::EPERM => ErrorKind::PermissionDenied,
        libc::EROFS => ErrorKind::ReadOnly,
        libc::EEXIST => ErrorKind::AlreadyExists,
        libc::ENOTDIR => ErrorKind::NotADirectory,
        libc::EISDIR => ErrorKind::IsADirectory,
        libc::ENOTEMPTY => ErrorKind::DirectoryNotEmpty,
        libc::ENAMETOOLONG | libc::EINVAL => ErrorKind::InvalidName,
        // RESOLVE_BENEATH answers EXDEV for a path (or symlink) leaving the root.
        libc::EXDEV | libc::ELOOP => ErrorKind::OutsideRoot,
        libc::ENOSPC | libc::EDQUOT | libc::EFBIG => ErrorKind::StorageFull,
        libc::ECONNREFUSED | libc::ENETUNREACH | libc::EHOSTUNREACH | libc::EADDRNOTAVAIL => {
            ErrorKind::ConnectionRefused
        }
        libc::ECONNRESET | libc::EPIPE | libc::ECONNABORTED => ErrorKind::ConnectionLost,
        libc::ETIMEDOUT => ErrorKind::TimedOut,
        _ => ErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_table() {
        let cases = [
            (libc::ENOENT, ErrorKind::NotFound),
            (libc::EACCES, ErrorKind::PermissionDenied),
            (libc::EROFS, ErrorKind::ReadOnly),
            (libc::EEXIST, ErrorKind::AlreadyExists),
            (libc::ENOTDIR, ErrorKind::NotADirectory),
            (libc::EISDIR, ErrorKind::IsADirectory),
            (libc::ENOTEMPTY, ErrorKind::DirectoryNotEmpty),
            (libc::EXDEV, ErrorKind::OutsideRoot),
            (libc::ENOSPC, ErrorKind::StorageFull),
            (libc::EDQUOT, ErrorKind::StorageFull),
            (libc::ECONNREFUSED, ErrorKind::ConnectionRefused),
            (libc::ECONNRESET, ErrorKind::ConnectionLost),
            (libc::EPIPE, ErrorKind::ConnectionLost),
            (libc::EIO, ErrorKind::Other),
        ];
        for (errno, kind) in cases {
            assert_eq!(
                kind_of(&io::Error::from_raw_os_error(errno)),
                kind,
                "errno {errno}"
            );
        }
        assert_eq!(
            kind_of(&io::ErrorKind::UnexpectedEof.into()),
            ErrorKind::ConnectionLost
        );
    }

    #[test]
    fn an_exhausted_port_range_says_so() {
        let e = ports_exhausted(&(50000..=50003));
        assert_eq!(kind_of(&e), ErrorKind::PortsExhausted);
        assert_eq!(
            e.to_string(),
            "every port of --pasv-ports 50000-50003 is in use (4 ports): widen the range"
        );
    }

    #[test]
    fn a_shrunk_file_is_a_local_error_not_a_lost_connection() {
        assert_eq!(kind_of(&file_shrank()), ErrorKind::Other);
    }

    /// The refusals of a protected data connection keep their kind through
    /// the handshake's wrapping.
    #[test]
    fn tls_refusals_say_why() {
        let not_resumed = handshake_failed(session_not_resumed());
        assert_eq!(kind_of(&not_resumed), ErrorKind::SessionNotResumed);
        assert_eq!(kind_of(&upload_cut_short()), ErrorKind::UploadCutShort);
        let reset = handshake_failed(io::ErrorKind::ConnectionReset.into());
        assert_eq!(kind_of(&reset), ErrorKind::HandshakeFailed);
    }
}
