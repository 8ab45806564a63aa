//! Client-controlled text on its way into a log: file names, user names,
//! command lines. A log is read in a terminal (`journalctl`, `tail -f`),
//! parsed line by line (fail2ban, xferlog analysers) and searched; a name
//! holding `ESC ] 0 ; … BEL` retitles the admin's window, `ESC [ 2 J`
//! clears it, a CR or LF (or U+2028, which editors and browsers break
//! lines at) forges a line of its own, and the bidirectional overrides
//! show a line in another order than it is written. So these characters
//! are written as Rust writes them in `{:?}` (`\n`, `\u{1b}`), as user
//! names already were: the escape sequence they start is then plain text.
//!
//! One function, [`escape_for_log`], used wherever such text leaves the
//! daemon: the reactor passes every log line through it, and the xferlog
//! line goes through it too.

use std::borrow::Cow;

/// Whether `c` must not reach a log as it is: the C0 controls, DEL and the
/// C1 controls (`char::is_control`: TAB, CR, LF, ESC, the 8-bit CSI
/// U+009B, NEL U+0085), the line and paragraph separators, and the
/// bidirectional marks, embeddings, overrides and isolates.
fn is_unsafe_in_log(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every character a log must not hold written as its Rust
/// escape (`\r`, `\n`, `\t`, `\0`, `\u{1b}`, `\u{2028}`); borrowed, at no
/// cost, when there is none (nearly always).
pub fn escape_for_log(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_in_log) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe_in_log(c) {
            escaped.extend(c.escape_debug());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_separators_and_overrides_are_escaped() {
        let cases = [
            ("plain name.txt", "plain name.txt"),
            ("a\rb\nc\td\0", "a\\rb\\nc\\td\\0"),
            // A window title and a clear screen become text.
            (
                "\u{1b}]0;pwned\u{7}\u{1b}[2J",
                "\\u{1b}]0;pwned\\u{7}\\u{1b}[2J",
            ),
            ("del\u{7f}", "del\\u{7f}"),
            ("csi\u{9b}31m nel\u{85}", "csi\\u{9b}31m nel\\u{85}"),
            ("line\u{2028}para\u{2029}", "line\\u{2028}para\\u{2029}"),
            ("\u{202e}txt.exe\u{2066}", "\\u{202e}txt.exe\\u{2066}"),
            // Printable text beyond ASCII stays as it is; so do backslashes
            // and quotes (`{:?}` output passes through unchanged).
            ("café ünïcode 日本", "café ünïcode 日本"),
            ("\"a\\u{1b}\"", "\"a\\u{1b}\""),
        ];
        for (text, want) in cases {
            assert_eq!(escape_for_log(text), want, "{text:?}");
        }
        assert!(matches!(escape_for_log("calm"), Cow::Borrowed(_)));
    }

    /// Whatever the input, the output holds no character a terminal or a
    /// line-based reader acts on.
    #[test]
    fn nothing_unsafe_survives() {
        let every: String = (0..=0x3000u32).filter_map(char::from_u32).collect();
        let escaped = escape_for_log(&every);
        assert!(!escaped.chars().any(is_unsafe_in_log));
        assert!(escaped.contains("\\u{1b}") && escaped.contains("\\n"));
    }
}
