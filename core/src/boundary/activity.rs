//! What a session is moving, for whoever watches the daemon (the admin
//! listener's status page): read from the transfer machine's part, never
//! written through it.

use std::time::Instant;

use super::path::VirtualPath;

/// Which way a transfer moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `STOR`, `APPE`, `STOU`: from the client.
    Upload,
    /// `RETR`: to the client.
    Download,
    /// `LIST`, `NLST`, `MLSD`: a folder's listing to the client.
    Listing,
}

/// The pending transfer of a session, as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity<'a> {
    pub direction: Direction,
    pub path: &'a VirtualPath,
    /// The file's size, when a download knows it.
    pub size: Option<u64>,
    /// Bytes moved as last reported (every progress event).
    pub bytes: u64,
    /// When its command came.
    pub started: Instant,
    /// `150` was sent: bytes may move.
    pub running: bool,
}
