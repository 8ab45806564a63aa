//! FTP paths as object keys. A bucket has no folders, only keys with `/`
//! in them: a file `/a/b.txt` is the key `PREFIX` + `a/b.txt`; a folder
//! `/a` is every key that starts with `PREFIX` + `a/`, and exists when one
//! does (MKD makes the empty key `a/`, a folder marker, as the S3 consoles
//! do). A home is a longer prefix, and the core's [`VirtualPath`] (which
//! has no `..` left in it) keeps a session inside its own: a key is only
//! ever built from one, so no client text reaches a key another way.

use pocketftp_core::VirtualPath;

/// A key prefix that names a folder: empty (the bucket's top) or folder
/// names, each followed by `/`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prefix(String);

impl Prefix {
    /// `a/b` or `a/b/` as the prefix `a/b/`; `""` as the top. `None` for an
    /// empty name (`a//b`), `.` or `..`.
    pub fn folder(text: &str) -> Option<Prefix> {
        let trimmed = text.strip_suffix('/').unwrap_or(text);
        if trimmed.is_empty() {
            return Some(Prefix::default());
        }
        let valid = trimmed
            .split('/')
            .all(|name| !matches!(name, "" | "." | ".."));
        valid.then(|| Prefix(format!("{trimmed}/")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of the file at `path`; the root is a folder, never a file.
    pub fn object(&self, path: &VirtualPath) -> Option<String> {
        (!path.is_root()).then(|| format!("{}{}", self.0, path.relative()))
    }

    /// The prefix of the folder at `path`: what a listing of it asks for,
    /// and, as a key, its marker.
    pub fn folder_at(&self, path: &VirtualPath) -> Prefix {
        if path.is_root() {
            return self.clone();
        }
        Prefix(format!("{}{}/", self.0, path.relative()))
    }

    /// What a listing of this folder shows for `key` (an object's key or a
    /// common prefix): its last name, without the `/` a sub-folder's has.
    /// `None` for the folder's own marker, and for a key that is not one
    /// name below this prefix.
    pub fn name_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        let rest = key.strip_prefix(self.0.as_str())?;
        let name = rest.strip_suffix('/').unwrap_or(rest);
        let addressable = !matches!(name, "" | "." | "..") && !name.contains(['/', '\0']);
        addressable.then_some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::testing::vp;

    #[test]
    fn paths_become_keys_under_the_prefix() {
        let top = Prefix::default();
        assert_eq!(top.object(&vp("/a/b.txt")).as_deref(), Some("a/b.txt"));
        assert_eq!(top.object(&vp("/")), None);
        assert_eq!(top.folder_at(&vp("/")).as_str(), "");
        assert_eq!(top.folder_at(&vp("/a")).as_str(), "a/");
        let cams = Prefix::folder("cams/front").unwrap();
        assert_eq!(
            cams.object(&vp("/x.jpg")).as_deref(),
            Some("cams/front/x.jpg")
        );
        let home = cams.folder_at(&vp("/alice"));
        assert_eq!(home.as_str(), "cams/front/alice/");
        assert_eq!(home.folder_at(&vp("/")).as_str(), "cams/front/alice/");
    }

    #[test]
    fn listed_keys_become_names_or_are_skipped() {
        let folder = Prefix::folder("a").unwrap();
        assert_eq!(folder.name_of("a/b.txt"), Some("b.txt"));
        assert_eq!(folder.name_of("a/sub/"), Some("sub"));
        for skipped in ["a/", "b/c", "a/./", "a/../", "a/x\0y", "a/x//"] {
            assert_eq!(folder.name_of(skipped), None, "{skipped:?}");
        }
    }

    #[test]
    fn prefixes_refuse_dot_names_and_empty_ones() {
        assert_eq!(Prefix::folder("a/b/").unwrap().as_str(), "a/b/");
        for bad in ["a//b", "./a", "a/..", "/a"] {
            assert!(Prefix::folder(bad).is_none(), "{bad}");
        }
    }
}
