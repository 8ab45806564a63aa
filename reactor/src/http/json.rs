//! A JSON string, for the bodies the daemon writes: the webhook's events
//! and the admin listener's `/sessions.json`. Only strings need care (the
//! rest are numbers and words the daemon chose); one writer for both, so
//! a file name with quotes, backslashes or control characters reaches
//! every reader the same way.

use std::fmt::Write;

/// `s` as a JSON string, quotes included: quotes and backslashes escaped,
/// control characters as `\uXXXX`, and `<` too, so that the string is
/// safe inside an HTML `<script>` should a page ever embed it.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '<' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_backslashes_and_control_characters_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n<"), "\"a\\\"b\\\\c\\u000a\\u003c\"");
        assert_eq!(json_string("\u{1}"), "\"\\u0001\"");
        assert_eq!(json_string("café"), "\"café\"");
    }
}
