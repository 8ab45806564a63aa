//! The simulated file system: absolute virtual paths to files and folders,
//! with their times, modes and upload marks, changed by the session's file
//! actions as the reactor's storage would change a disk.

use std::collections::BTreeMap;

use crate::{Action, ErrorKind, FileKind, Metadata, QuotaUse, VirtualPath};

use super::WALL_CLOCK;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    File(Vec<u8>),
    Dir,
}

/// A file or folder with its modification time and permission bits.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Inode {
    node: Node,
    modified: i64,
    mode: u32,
}

impl Inode {
    fn file(data: Vec<u8>, modified: i64) -> Inode {
        Inode {
            node: Node::File(data),
            modified,
            mode: 0o644,
        }
    }

    fn dir(modified: i64) -> Inode {
        Inode {
            node: Node::Dir,
            modified,
            mode: 0o755,
        }
    }
}

/// A file system of absolute virtual paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemFs {
    nodes: BTreeMap<String, Inode>,
    /// Which account uploaded a file, as the reactor marks it for
    /// `OpenMode::CreateOrReplaceOwn`.
    uploaders: BTreeMap<String, String>,
    /// `SITE QUOTA`'s limits (bytes, files), counted against every file.
    quota: Option<(u64, Option<u64>)>,
}

impl Default for MemFs {
    fn default() -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert("/".to_owned(), Inode::dir(WALL_CLOCK - 86_400));
        MemFs {
            nodes,
            uploaders: BTreeMap::new(),
            quota: None,
        }
    }
}

impl MemFs {
    /// The account has a quota of `max_bytes` (and `max_files`).
    pub fn with_quota(mut self, max_bytes: u64, max_files: Option<u64>) -> Self {
        self.quota = Some((max_bytes, max_files));
        self
    }

    /// What the files use of the quota, as the reactor counts it.
    pub(super) fn quota_use(&self) -> Option<QuotaUse> {
        let (max_bytes, max_files) = self.quota?;
        let files = self.nodes.values().filter_map(|inode| match &inode.node {
            Node::File(data) => Some(data.len() as u64),
            _ => None,
        });
        let (bytes, files) = files.fold((0, 0), |(b, n), size| (b + size, n + 1));
        Some(QuotaUse {
            bytes,
            files,
            max_bytes,
            max_files,
        })
    }

    pub fn with_file(mut self, path: &str, data: &[u8]) -> Self {
        let file = Inode::file(data.to_vec(), WALL_CLOCK - 3600);
        self.nodes.insert(path.to_owned(), file);
        self
    }

    pub fn with_dir(mut self, path: &str) -> Self {
        self.nodes
            .insert(path.to_owned(), Inode::dir(WALL_CLOCK - 7200));
        self
    }

    pub fn file(&self, path: &str) -> Option<&[u8]> {
        match self.nodes.get(path) {
            Some(Inode {
                node: Node::File(data),
                ..
            }) => Some(data),
            _ => None,
        }
    }

    pub fn exists(&self, path: &str) -> bool {
        self.nodes.contains_key(path)
    }

    /// A file there, marked as `account`'s upload.
    pub fn with_upload_of(mut self, account: &str, path: &str, data: &[u8]) -> Self {
        self = self.with_file(path, data);
        self.uploaders.insert(path.to_owned(), account.to_owned());
        self
    }

    /// The account `path` is marked as uploaded by, if any.
    pub fn uploader(&self, path: &str) -> Option<&str> {
        self.uploaders.get(path).map(String::as_str)
    }

    /// Whether `path` may be put in the place of `to` by `account`'s
    /// upload: `to` is free, or `account` uploaded it.
    pub(super) fn may_take(&self, to: &VirtualPath, account: Option<&str>) -> bool {
        !self.exists(to.as_str()) || account.is_some_and(|a| self.uploader(to.as_str()) == Some(a))
    }

    /// Moves a node and its mark (a rename keeps the inode).
    fn rename(&mut self, from: &VirtualPath, to: &VirtualPath) -> Result<(), ErrorKind> {
        let node = (self.nodes.remove(from.as_str())).ok_or(ErrorKind::NotFound)?;
        self.nodes.insert(to.as_str().to_owned(), node);
        match self.uploaders.remove(from.as_str()) {
            Some(account) => self.uploaders.insert(to.as_str().to_owned(), account),
            None => self.uploaders.remove(to.as_str()),
        };
        Ok(())
    }

    /// The permission bits of `path`, if it exists.
    pub fn mode(&self, path: &str) -> Option<u32> {
        self.nodes.get(path).map(|inode| inode.mode)
    }

    pub(super) fn stat(&self, path: &VirtualPath) -> Result<Metadata, ErrorKind> {
        let inode = self.nodes.get(path.as_str()).ok_or(ErrorKind::NotFound)?;
        let (kind, size) = match &inode.node {
            Node::File(data) => (FileKind::File, data.len() as u64),
            Node::Dir => (FileKind::Dir, 4096),
        };
        Ok(Metadata {
            kind,
            size,
            modified: inode.modified,
            mode: inode.mode,
            links: 1,
        })
    }

    pub(super) fn require_dir(&self, path: &VirtualPath) -> Result<(), ErrorKind> {
        match self.stat(path)?.kind {
            FileKind::Dir => Ok(()),
            _ => Err(ErrorKind::NotADirectory),
        }
    }

    pub(super) fn children(&self, dir: &VirtualPath) -> Vec<(String, Metadata)> {
        self.nodes
            .keys()
            .filter_map(|p| VirtualPath::resolve(&VirtualPath::root(), p).ok())
            .filter(|p| !p.is_root() && p.parent() == *dir)
            .filter_map(|p| Some((p.file_name().to_owned(), self.stat(&p).ok()?)))
            .collect()
    }

    pub(super) fn change(&mut self, action: &Action) -> Result<(), ErrorKind> {
        match action {
            Action::Delete(p) => match self.stat(p)?.kind {
                FileKind::Dir => Err(ErrorKind::IsADirectory),
                _ => self
                    .nodes
                    .remove(p.as_str())
                    .map(drop)
                    .ok_or(ErrorKind::NotFound),
            },
            Action::MakeDir(p) => {
                self.require_dir(&p.parent())?;
                if self.exists(p.as_str()) {
                    return Err(ErrorKind::AlreadyExists);
                }
                self.nodes
                    .insert(p.as_str().to_owned(), Inode::dir(WALL_CLOCK));
                Ok(())
            }
            Action::RemoveDir(p) => {
                self.require_dir(p)?;
                if !self.children(p).is_empty() {
                    return Err(ErrorKind::DirectoryNotEmpty);
                }
                self.nodes.remove(p.as_str());
                Ok(())
            }
            Action::Rename { from, to } => self.rename(from, to),
            Action::RenameUpload { from, to, account } => {
                if !self.may_take(to, account.as_deref()) {
                    return Err(ErrorKind::AlreadyExists);
                }
                self.rename(from, to)
            }
            Action::SetModified { path, modified } => {
                let entry = self
                    .nodes
                    .get_mut(path.as_str())
                    .ok_or(ErrorKind::NotFound)?;
                // As ext4 does: times before 1901-12-13 are stored as that.
                entry.modified = (*modified).max(i64::from(i32::MIN));
                Ok(())
            }
            Action::SetMode { path, .. } if path.is_root() => Err(ErrorKind::PermissionDenied),
            Action::SetMode { path, mode } => {
                let entry = self
                    .nodes
                    .get_mut(path.as_str())
                    .ok_or(ErrorKind::NotFound)?;
                entry.mode = *mode;
                Ok(())
            }
            _ => Err(ErrorKind::Other),
        }
    }

    /// A committed upload takes its place at `path`, marked as `mark`'s
    /// (or unmarked).
    pub(super) fn put_upload(&mut self, path: String, keep: Vec<u8>, mark: Option<String>) {
        // A replaced file keeps its mode, as the reactor's do.
        let mode = self.mode(&path).unwrap_or(0o644);
        let mut file = Inode::file(keep, WALL_CLOCK);
        file.mode = mode;
        match mark {
            Some(account) => self.uploaders.insert(path.clone(), account),
            None => self.uploaders.remove(&path),
        };
        self.nodes.insert(path, file);
    }
}
