//! Virtual paths: what a client names, normalised against the session's
//! working folder into an absolute path below the served root.
//!
//! A [`VirtualPath`] is always absolute (`/` is the root), never holds `.`,
//! `..`, empty components, NUL or `\`, and is valid UTF-8. Escaping the root is
//! impossible by construction: `..` stops at `/`. Symlinks are the reactor's
//! business (it resolves paths beneath the root on the real file system).
//!
//! A `\` in a client's path separates names as `/` does: Windows Explorer,
//! and cameras and scanners with Windows firmware, send `CWD sub\inner` and
//! `LIST sub\*.*` (issue 27).

use std::fmt;

/// Why a client's path was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    /// Empty argument.
    Empty,
    /// A NUL byte.
    Nul,
}

/// An absolute, normalised path inside the served root.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VirtualPath(String);

impl VirtualPath {
    /// The root folder, `/`.
    pub fn root() -> Self {
        VirtualPath("/".to_owned())
    }

    /// Resolves a client's path argument against the working folder `cwd`;
    /// `\` separates names as `/` does.
    pub fn resolve(cwd: &VirtualPath, arg: &str) -> Result<VirtualPath, PathError> {
        VirtualPath::resolve_literal(cwd, &windows_separators(arg))
    }

    /// Like [`resolve`](Self::resolve), but a `\` in `arg` is part of a
    /// name, not a separator: for a name that really holds one.
    pub fn resolve_literal(cwd: &VirtualPath, arg: &str) -> Result<VirtualPath, PathError> {
        if arg.is_empty() {
            return Err(PathError::Empty);
        }
        if arg.contains('\0') {
            return Err(PathError::Nul);
        }
        let mut out = if arg.starts_with('/') {
            String::with_capacity(arg.len())
        } else {
            let mut s = String::with_capacity(cwd.0.len() + 1 + arg.len());
            s.push_str(cwd.0.trim_end_matches('/'));
            s
        };
        for component in arg.split('/') {
            match component {
                "" | "." => {}
                ".." => {
                    let cut = out.rfind('/').unwrap_or(0);
                    out.truncate(cut);
                }
                name => {
                    out.push('/');
                    out.push_str(name);
                }
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        Ok(VirtualPath(out))
    }

    /// The path as a string, starting with `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path relative to the root (`""` for the root itself), ready to be
    /// joined onto the real root folder.
    pub fn relative(&self) -> &str {
        &self.0[1..]
    }

    /// Whether this is the root folder.
    pub fn is_root(&self) -> bool {
        self.0.len() == 1
    }

    /// The containing folder (the root is its own parent).
    pub fn parent(&self) -> VirtualPath {
        match self.0.rfind('/') {
            Some(0) | None => VirtualPath::root(),
            Some(cut) => VirtualPath(self.0[..cut].to_owned()),
        }
    }

    /// The last component (`""` for the root).
    pub fn file_name(&self) -> &str {
        match self.0.rfind('/') {
            Some(cut) => &self.0[cut + 1..],
            None => "",
        }
    }

    /// This path with one more component. `name` must be a single valid
    /// component (no `/`, NUL, `\`, not `.` or `..`); otherwise `None`.
    pub fn join(&self, name: &str) -> Option<VirtualPath> {
        let valid =
            !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0']);
        if !valid {
            return None;
        }
        let mut s = self.0.clone();
        if !self.is_root() {
            s.push('/');
        }
        s.push_str(name);
        Some(VirtualPath(s))
    }
}

/// A client's path with Windows separators (`\`) as `/`: borrowed, at no
/// cost, when it has none.
pub(crate) fn windows_separators(arg: &str) -> std::borrow::Cow<'_, str> {
    if arg.contains('\\') {
        arg.replace('\\', "/").into()
    } else {
        arg.into()
    }
}

impl fmt::Display for VirtualPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for VirtualPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(cwd: &str, arg: &str) -> Result<String, PathError> {
        let cwd = VirtualPath::resolve(&VirtualPath::root(), cwd).unwrap();
        VirtualPath::resolve(&cwd, arg).map(|p| p.as_str().to_owned())
    }

    #[test]
    fn normalisation_table() {
        let cases: &[(&str, &str, Result<&str, PathError>)] = &[
            ("/", "a", Ok("/a")),
            ("/", "/a/b/", Ok("/a/b")),
            ("/x", "a", Ok("/x/a")),
            ("/x/y", "..", Ok("/x")),
            ("/x/y", "../..", Ok("/")),
            ("/x/y", "../../../../etc/passwd", Ok("/etc/passwd")),
            ("/x", "/../../etc", Ok("/etc")),
            ("/x", ".", Ok("/x")),
            ("/x", "./a/./b", Ok("/x/a/b")),
            ("/x", "a//b///c", Ok("/x/a/b/c")),
            ("/x", "//", Ok("/")),
            ("/x", "a/../../..", Ok("/")),
            ("/", "...", Ok("/...")),
            ("/", "a b/ü", Ok("/a b/ü")),
            ("/", "", Err(PathError::Empty)),
            ("/", "a\0b", Err(PathError::Nul)),
            ("/", "..\\..\\etc", Ok("/etc")),
            ("/x", "sub\\inner", Ok("/x/sub/inner")),
            ("/x", "\\sub\\*.*", Ok("/sub/*.*")),
            ("/x", "a\\..\\b/c", Ok("/x/b/c")),
            ("/", "%2e%2e/x", Ok("/%2e%2e/x")),
        ];
        for (cwd, arg, want) in cases {
            let got = at(cwd, arg);
            assert_eq!(
                got.as_deref().map_err(|e| *e),
                *want,
                "cwd={cwd:?} arg={arg:?}"
            );
        }
    }

    #[test]
    fn parent_name_and_join() {
        let p = VirtualPath::resolve(&VirtualPath::root(), "/a/b").unwrap();
        assert_eq!(p.parent().as_str(), "/a");
        assert_eq!(p.parent().parent().as_str(), "/");
        assert_eq!(VirtualPath::root().parent().as_str(), "/");
        assert_eq!(p.file_name(), "b");
        assert_eq!(p.relative(), "a/b");
        assert_eq!(VirtualPath::root().relative(), "");
        assert_eq!(p.join("c").unwrap().as_str(), "/a/b/c");
        assert_eq!(VirtualPath::root().join("c").unwrap().as_str(), "/c");
        for bad in ["", ".", "..", "a/b", "a\\b", "a\0"] {
            assert!(p.join(bad).is_none(), "{bad:?}");
        }
    }
}
