//! What a logged-in user may do: the roles of the users file (PROTOCOL.md).

/// A logged-in session's role. Listing is implied by being logged in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// `super`: read and write.
    Super,
    /// `user`: read only.
    ReadOnly,
    /// `upload`: a drop box. May list, make folders and upload new files;
    /// may not download, overwrite, append, rename or delete.
    Upload,
}

impl Access {
    /// The role a users file or `--anonymous-role` names.
    pub fn from_role(role: &str) -> Option<Access> {
        match role {
            "super" => Some(Access::Super),
            "user" => Some(Access::ReadOnly),
            "upload" => Some(Access::Upload),
            _ => None,
        }
    }

    /// The role's name, as a users file spells it.
    pub fn role(self) -> &'static str {
        match self {
            Access::Super => "super",
            Access::ReadOnly => "user",
            Access::Upload => "upload",
        }
    }

    /// RETR.
    pub(crate) fn may_download(self) -> bool {
        self != Access::Upload
    }

    /// Overwrite, append, delete, rename, change times and modes.
    pub(crate) fn may_change(self) -> bool {
        self == Access::Super
    }

    /// Make folders and upload files that do not exist yet.
    pub(crate) fn may_create(self) -> bool {
        self != Access::ReadOnly
    }
}
