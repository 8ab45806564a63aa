//! Which daemon an upload's hidden file belongs to, when several serve one
//! shared folder (a `weed mount`, NFS, an `rclone mount` on each board).
//!
//! A crashed daemon's upload files are found by their lock: the daemon
//! writing one holds an `flock` on it (`temps.rs`). But a FUSE mount keeps
//! its locks to itself: on `weed mount`, a daemon on another board takes
//! the lock of a live upload as easily as that of a crash's leftover, and
//! its start-up sweep would delete the upload under its writer. So the
//! name decides: each upload file carries the id of the node that writes it
//! (`--node-id`, by default the host name), and a daemon removes at once
//! only its own node's leftovers (whose locks it can trust: they are taken
//! through the same mount); another node's, and those of an older version
//! that named no node, only once they have not changed for
//! `--sweep-foreign-after` (a day by default: longer than any upload runs,
//! since a live one is written to all the time, and a stalled one ends at
//! `--data-timeout`).

use std::time::Duration;

/// The longest node id: a Linux host name's longest (`HOST_NAME_MAX`), so
/// that every host name fits, and an upload file's name stays far below
/// the 255 bytes a name may have.
pub const MAX_NODE_ID: usize = 64;

/// How long another node's upload file must lie unchanged before a sweep
/// takes it for a crash's, unless `--sweep-foreign-after` says otherwise.
pub const DEFAULT_FOREIGN_AFTER: Duration = Duration::from_secs(24 * 3600);

/// A node's name, as it appears in the names of its upload files: 1 to
/// [`MAX_NODE_ID`] ASCII letters, digits, `-`, `_` and `.` (safe in a file
/// name on every file system, and never the `@` that sets it apart there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeId(String);

impl NodeId {
    /// A node id as given (`--node-id`), or why it cannot be one.
    pub fn parse(value: &str) -> Result<NodeId, String> {
        if value.is_empty() || value.len() > MAX_NODE_ID {
            return Err(format!(
                "{value:?} is not 1 to {MAX_NODE_ID} characters long"
            ));
        }
        if !value.bytes().all(allowed) {
            return Err(format!(
                "{value:?} has characters other than ASCII letters, digits, '-', '_' and '.'"
            ));
        }
        Ok(NodeId(value.to_owned()))
    }

    /// The host name, made a node id: a byte it cannot hold becomes `_`
    /// (a Linux host name is at most [`MAX_NODE_ID`] bytes already).
    pub fn of_host() -> NodeId {
        let mut buf = [0u8; MAX_NODE_ID + 1];
        // SAFETY: gethostname writes at most `len` bytes into `buf`.
        let got = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        let name = if got == 0 { &buf[..] } else { &[][..] };
        let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        let id: String = name[..len.min(MAX_NODE_ID)]
            .iter()
            .map(|&b| if allowed(b) { char::from(b) } else { '_' })
            .collect();
        if id.is_empty() {
            NodeId("localhost".to_owned())
        } else {
            NodeId(id)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

/// This daemon as a writer of upload files: the id it names them with, and
/// how long other nodes' must lie unchanged before its sweeps remove them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: NodeId,
    pub foreign_after: Duration,
}

impl Default for Node {
    /// The host's name, and [`DEFAULT_FOREIGN_AFTER`].
    fn default() -> Node {
        Node {
            id: NodeId::of_host(),
            foreign_after: DEFAULT_FOREIGN_AFTER,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_short_names_safe_in_a_file_name() {
        for good in ["pi-kitchen", "a", "node_2.lan", &"x".repeat(MAX_NODE_ID)] {
            assert_eq!(NodeId::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "a/b",
            "a@b",
            "a b",
            "..\0",
            "caf\u{e9}",
            &"x".repeat(MAX_NODE_ID + 1),
        ] {
            assert!(NodeId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_host_name_is_always_a_node_id() {
        let id = NodeId::of_host();
        assert_eq!(NodeId::parse(id.as_str()), Ok(id));
    }
}
