//! The `--config FILE` format: `key = value` lines, `#` comments and blank
//! lines ignored. Each key is a command-line option without its dashes
//! (`max-clients = 50`); a flag option takes `true` or `false`. The lines
//! become option arguments so the file and the command line share one parser
//! (and flags given later override the file).
//!
//! A comment may follow a value too: a `#` after a space or tab starts one
//! (`max-clients = 50   # a Pi Zero`), so that a note beside a setting
//! never becomes part of it. A value that holds ` #` is quoted
//! (`banner = "Room #4"`); a `#` inside a word (`Room#4`) is the value's.

use std::path::Path;

/// One setting, with the line it came from (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub line: usize,
    pub key: String,
    pub value: String,
}

/// Reads a config file; a line that is not `key = value` is an error naming
/// the file and line.
pub fn read(path: &Path) -> Result<Vec<Setting>, String> {
    let text = crate::small_file::read_to_string(path)
        .map_err(|e| format!("{}: cannot read config file: {e}", path.display()))?;
    parse(&text).map_err(|(line, why)| format!("{}:{line}: {why}", path.display()))
}

fn parse(text: &str) -> Result<Vec<Setting>, (usize, String)> {
    let mut settings = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            return Err((line, format!("expected `key = value`, found {trimmed:?}")));
        };
        let key = key.trim();
        let value = value_of(value).map_err(|why| (line, format!("{key}: {why}")))?;
        // Underscores and capitals pass here so that the option parser can
        // answer `max_clients` with "did you mean max-clients?".
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err((line, format!("invalid key {key:?}")));
        }
        settings.push(Setting {
            line,
            key: key.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(settings)
}

/// What follows the `=`: without a trailing comment and the spaces around
/// it; `"text with  spaces"` keeps its inner spaces (quotes are optional,
/// and the first quote followed by nothing or a comment closes the value).
fn value_of(raw: &str) -> Result<&str, String> {
    let raw = raw.trim();
    let Some(quoted) = raw.strip_prefix('"') else {
        return Ok(without_comment(raw));
    };
    let ends = quoted.match_indices('"').map(|(at, _)| at);
    let mut closing = ends.filter(|&at| {
        let rest = quoted[at + 1..].trim_start();
        rest.is_empty() || rest.starts_with('#')
    });
    match closing.next() {
        Some(at) => Ok(&quoted[..at]),
        None => Err(format!(
            "the quoted value {raw:?} does not end with its quote (a comment may follow it)"
        )),
    }
}

/// An unquoted value up to the `#` that starts a comment (one after a space
/// or a tab), trimmed.
fn without_comment(value: &str) -> &str {
    let cut = (value.char_indices())
        .find(|&(at, c)| c == '#' && value[..at].ends_with([' ', '\t']))
        .map_or(value.len(), |(at, _)| at);
    value[..cut].trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_comments_and_quotes() {
        let text = "# pocketftpd\n\nroot = /srv/ftp\n  max-clients=50  \nbanner = \"Hello  there\"\nwrite = true\n";
        let got = parse(text).unwrap();
        let pairs: Vec<(usize, &str, &str)> = got
            .iter()
            .map(|s| (s.line, s.key.as_str(), s.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                (3, "root", "/srv/ftp"),
                (4, "max-clients", "50"),
                (5, "banner", "Hello  there"),
                (6, "write", "true")
            ]
        );
    }

    #[test]
    fn comments_after_values() {
        let text = "max-clients = 50   # a Pi Zero\nbanner = \"Room #4\"  # the lab\nbanner = Room#4\nroot = /srv/ftp\t# tab\nbanner = \"say \"hi\" now\"\nbanner = \"\" # none\nlisten=[::]:21 #both\n";
        let got = parse(text).unwrap();
        let values: Vec<&str> = got.iter().map(|s| s.value.as_str()).collect();
        assert_eq!(
            values,
            [
                "50",
                "Room #4",
                "Room#4",
                "/srv/ftp",
                "say \"hi\" now",
                "",
                "[::]:21"
            ]
        );
        let (line, why) = parse("root = /x\nbanner = \"open  # comment\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(why.starts_with("banner: the quoted value"), "{why}");
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse("root = /x\nnonsense\n").unwrap_err().0, 2);
        assert_eq!(parse("\n\nMax Clients = 5").unwrap_err().0, 3);
        assert_eq!(parse(" = 5").unwrap_err().0, 1);
    }
}
