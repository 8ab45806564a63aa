//! What every simulated run checks of the session's output: no action
//! names a malformed path or a pattern spanning folders, and every reply is
//! well formed, each `150` followed by exactly one final reply.

use crate::{Action, OpenMode, VirtualPath};

/// No action may name a path outside the root or a malformed one, nor a
/// listing pattern that spans folders.
pub(super) fn check_action(action: &Action) {
    if let Action::Open {
        mode: OpenMode::List {
            pattern: Some(p), ..
        },
        ..
    }
    | Action::ListToControl {
        pattern: Some(p), ..
    } = action
    {
        assert!(
            !p.glob.as_str().contains('/'),
            "pattern {p:?} spans folders"
        );
        assert!(
            !p.prefix.contains(['\r', '\n']),
            "prefix {p:?} breaks lines"
        );
    }
    let paths: Vec<&VirtualPath> = match action {
        Action::Open { path, .. }
        | Action::Stat(path)
        | Action::AsciiSize { path, .. }
        | Action::Delete(path)
        | Action::MakeDir(path)
        | Action::RemoveDir(path)
        | Action::ListToControl { path, .. }
        | Action::SetModified { path, .. } => vec![path],
        Action::SetMode { path, mode } => {
            assert!(*mode <= 0o777, "mode {mode:o} beyond permission bits");
            vec![path]
        }
        Action::Rename { from, to } | Action::RenameUpload { from, to, .. } => vec![from, to],
        _ => vec![],
    };
    for path in paths {
        let p = path.as_str();
        assert!(p.starts_with('/'), "relative path {p:?}");
        // A `\` may be part of a name: one that exists so (issue 27, 6a).
        assert!(!p.contains('\0'), "bad byte in {p:?}");
        assert!(p == "/" || !p.ends_with('/'), "trailing slash in {p:?}");
        assert!(
            p.split('/')
                .skip(1)
                .all(|c| p == "/" || !matches!(c, "" | "." | "..")),
            "bad component in {p:?}"
        );
    }
}

/// Every reply line is `NNN text`, `NNN-text` or, inside a multi-line
/// reply, a continuation starting with a space; every `150` is followed by
/// exactly one final transfer reply.
pub fn check_replies(replies: &[u8]) {
    assert!(
        replies.is_empty() || replies.ends_with(b"\r\n"),
        "reply does not end in CRLF"
    );
    let text = String::from_utf8_lossy(replies);
    let mut multi: Option<&str> = None;
    let mut in_transfer = false;
    for line in text.split_terminator("\r\n") {
        assert!(!line.contains(['\r', '\n']), "bare CR or LF in {line:?}");
        if let Some(code) = multi {
            if line.starts_with(' ') {
                continue;
            }
            assert!(
                line.starts_with(code),
                "continuation {line:?} inside {code}"
            );
        }
        let bytes = line.as_bytes();
        let shaped = bytes.len() >= 4
            && bytes[..3].iter().all(u8::is_ascii_digit)
            && matches!(bytes[3], b' ' | b'-');
        assert!(shaped, "malformed reply line {line:?}");
        let code = &line[..3];
        if bytes[3] == b'-' {
            multi.get_or_insert(code);
            continue;
        }
        multi = None;
        match code {
            "150" => {
                assert!(!in_transfer, "150 twice without a final reply");
                in_transfer = true;
            }
            "226" | "425" | "426" | "451" | "452" | "552" => in_transfer = false,
            "211" | "421" => {}
            other => assert!(!in_transfer, "{other} between 150 and its final reply"),
        }
    }
}
