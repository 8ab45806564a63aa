//! Directory listing lines (LIST, NLST, MLSD) and MLST facts, formatted from
//! [`Metadata`]. Pure functions: the reactor reads the folder in bounded
//! batches and calls [`write_entry`] for each entry.

use std::io::Write;

use crate::boundary::action::{ListFormat, ListPattern};
use crate::boundary::event::{FileKind, Metadata};
use crate::format::time::CivilTime;

/// `ls -l` shows the year instead of the time for files older than this.
const SIX_MONTHS: i64 = 182 * 24 * 3600;

/// Appends one listing line for `name` (CRLF-terminated) and returns true, or
/// returns false and writes nothing when the name cannot be listed safely
/// (it holds CR or LF).
///
/// `now` is the wall clock (Unix seconds) deciding between `HH:MM` and the
/// year in LIST dates.
pub fn write_entry(
    out: &mut Vec<u8>,
    format: ListFormat,
    writable: bool,
    name: &[u8],
    meta: &Metadata,
    now: i64,
) -> bool {
    if name.iter().any(|&b| b == b'\r' || b == b'\n') {
        return false;
    }
    match format {
        ListFormat::Long => write_long(out, meta, now),
        ListFormat::Names => {}
        ListFormat::Machine => {
            write_facts(out, meta, writable);
            out.push(b' ');
        }
    }
    out.extend_from_slice(name);
    out.extend_from_slice(b"\r\n");
    true
}

/// [`write_entry`] for an entry of a folder listed through `pattern` (if
/// any): an entry whose name does not match is skipped (false), and an
/// `NLST` name gets the pattern's prefix. `meta` is asked for only once the
/// name is listed (the reactor's `fstat`), and `None` skips the entry (it
/// vanished). The reactor and the simulation both list through here, so
/// they filter alike.
pub fn write_listed(
    out: &mut Vec<u8>,
    format: ListFormat,
    writable: bool,
    pattern: Option<&ListPattern>,
    name: &[u8],
    meta: impl FnOnce() -> Option<Metadata>,
    now: i64,
) -> bool {
    if pattern.is_some_and(|p| !p.glob.matches(name)) {
        return false;
    }
    let Some(meta) = meta() else {
        return false;
    };
    match pattern {
        Some(p) if !p.prefix.is_empty() && format == ListFormat::Names => {
            let full = [p.prefix.as_bytes(), name].concat();
            write_entry(out, format, writable, &full, &meta, now)
        }
        _ => write_entry(out, format, writable, name, &meta, now),
    }
}

/// Appends the RFC 3659 facts for one entry, each ending in `;`
/// (`type=file;size=12;modify=20261125020000;perm=adfrw;UNIX.mode=0644;`),
/// without the space and name that follow them.
///
/// `UNIX.mode` is the permission bits in octal with a leading 0, as
/// pure-ftpd and proFTPD write it: lftp's `mirror` gives downloaded files
/// and folders these modes (from `perm` alone it makes them read-only).
/// Set-id and sticky bits are left out: a copy must not become setuid.
pub fn write_facts(out: &mut Vec<u8>, meta: &Metadata, writable: bool) {
    let (kind, perm) = match (meta.kind, writable) {
        (FileKind::Dir, true) => ("dir", "flcdmpe"),
        (FileKind::Dir, false) => ("dir", "el"),
        (_, true) => ("file", "adfrw"),
        (_, false) => ("file", "r"),
    };
    out.extend_from_slice(b"type=");
    out.extend_from_slice(kind.as_bytes());
    // Writing to a Vec cannot fail.
    let _ = write!(out, ";size={};modify=", meta.size);
    write_timestamp(out, meta.modified);
    out.extend_from_slice(b";perm=");
    out.extend_from_slice(perm.as_bytes());
    let _ = write!(out, ";UNIX.mode=0{:03o};", meta.mode & 0o777);
}

/// Appends `YYYYMMDDHHMMSS` (UTC), the MDTM and MLST `modify` format.
fn write_timestamp(out: &mut Vec<u8>, unix: i64) {
    out.extend_from_slice(CivilTime::from_unix(unix).timestamp().as_bytes());
}

fn write_long(out: &mut Vec<u8>, meta: &Metadata, now: i64) {
    let kind = match meta.kind {
        FileKind::File => '-',
        FileKind::Dir => 'd',
        FileKind::Symlink => 'l',
        FileKind::Other => '-',
    };
    let mut mode = String::with_capacity(10);
    mode.push(kind);
    for shift in [6, 3, 0] {
        let bits = (meta.mode >> shift) & 7;
        mode.push(if bits & 4 != 0 { 'r' } else { '-' });
        mode.push(if bits & 2 != 0 { 'w' } else { '-' });
        mode.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    let t = CivilTime::from_unix(meta.modified);
    let month = t.month_abbr();
    // Saturating: a hostile mtime (i64::MIN, i64::MAX) must not overflow.
    // Up to an hour in the future still counts as recent, as in `ls`.
    let age = now.saturating_sub(meta.modified);
    let recent = (-3600..SIX_MONTHS).contains(&age);
    let when = if recent {
        format!("{month} {:>2} {:02}:{:02}", t.day, t.hour, t.minute)
    } else {
        format!("{month} {:>2}  {:>4}", t.day, t.year)
    };
    let line = format!(
        "{mode} {:>3} ftp      ftp      {:>12} {when} ",
        meta.links.max(1),
        meta.size
    );
    out.extend_from_slice(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(kind: FileKind, size: u64, modified: i64) -> Metadata {
        Metadata {
            kind,
            size,
            modified,
            mode: 0o644,
            links: 1,
        }
    }

    fn line(format: ListFormat, m: &Metadata, now: i64) -> String {
        let mut out = Vec::new();
        assert!(write_entry(
            &mut out,
            format,
            true,
            "a b.txt".as_bytes(),
            m,
            now
        ));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn long_lines_recent_and_old() {
        let now = 1_795_575_600; // 2026-11-25 03:00:00
        let recent = meta(FileKind::File, 1234, now - 3600);
        assert_eq!(
            line(ListFormat::Long, &recent, now),
            "-rw-r--r--   1 ftp      ftp              1234 Nov 25 02:00 a b.txt\r\n"
        );
        let old = meta(FileKind::Dir, 4096, 951_782_400);
        let mut dir = old;
        dir.mode = 0o755;
        dir.links = 3;
        assert_eq!(
            line(ListFormat::Long, &dir, now),
            "drwxr-xr-x   3 ftp      ftp              4096 Feb 29  2000 a b.txt\r\n"
        );
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        for modified in [i64::MIN, i64::MAX] {
            for now in [i64::MIN, 0, 1_795_575_600, i64::MAX] {
                let m = meta(FileKind::File, 1, modified);
                let long = line(ListFormat::Long, &m, now);
                assert!(long.ends_with(" a b.txt\r\n"), "{long:?}");
                // "Recent" (HH:MM, not the year) only when it is now.
                let recent = long.contains(':');
                assert_eq!(recent, modified == now, "{modified} at {now}: {long:?}");
                line(ListFormat::Machine, &m, now);
            }
        }
    }

    #[test]
    fn names_and_facts() {
        let m = meta(FileKind::File, 7, 951_782_400);
        assert_eq!(line(ListFormat::Names, &m, 0), "a b.txt\r\n");
        assert_eq!(
            line(ListFormat::Machine, &m, 0),
            "type=file;size=7;modify=20000229000000;perm=adfrw;UNIX.mode=0644; a b.txt\r\n"
        );
        let mut dir = meta(FileKind::Dir, 0, 0);
        dir.mode = 0o2700;
        let mut out = Vec::new();
        write_facts(&mut out, &dir, false);
        assert_eq!(
            out,
            b"type=dir;size=0;modify=19700101000000;perm=el;UNIX.mode=0700;"
        );
    }

    #[test]
    fn unsafe_names_are_skipped() {
        let m = meta(FileKind::File, 1, 0);
        for name in [&b"a\r\nb"[..], b"x\n"] {
            let mut out = Vec::new();
            assert!(!write_entry(&mut out, ListFormat::Long, false, name, &m, 0));
            assert!(out.is_empty());
        }
    }
}
