//! What a logged-in user may do.

/// Rights of a logged-in session. Read access is implied by being logged in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    /// May upload, delete, rename and create or remove folders.
    pub write: bool,
}

impl Access {
    pub const READ_ONLY: Access = Access { write: false };
    pub const READ_WRITE: Access = Access { write: true };
}
