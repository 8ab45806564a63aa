//! The `--config FILE` format: `key = value` lines, `#` comments and blank
//! lines ignored. Each key is a command-line option without its dashes
//! (`max-clients = 50`); a flag option takes `true` or `false`. The lines
//! become option arguments so the file and the command line share one parser
//! (and flags given later override the file).

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
        let (key, value) = (key.trim(), unquote(value.trim()));
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

/// `"text with  spaces"` keeps its inner spaces; quotes are optional.
fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
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
    fn errors_name_the_line() {
        assert_eq!(parse("root = /x\nnonsense\n").unwrap_err().0, 2);
        assert_eq!(parse("\n\nMax Clients = 5").unwrap_err().0, 3);
        assert_eq!(parse(" = 5").unwrap_err().0, 1);
    }
}
