//! `--help`, made from the rows of [`options::all`] (README "Run it" points to
//! it, and the Debian package's man page is made from it by help2man, which
//! reads the usage lines and one entry per option).

use crate::startup::options::Kind::{Flag, Repeatable, Value};
use crate::startup::options::{self, Opt};

/// `--help`, above the options.
const USAGE_HEAD: &str = "\
pocketftpd — a small, fast, safe FTP server

Usage:
  pocketftpd [OPTIONS]          run the daemon (foreground; logs to stderr)
  pocketftpd hash-password      read a password, print its hash for a users file
  pocketftpd --help | --version

Options:
";

/// Where an option's help starts in `--help`. help2man (the Debian man page)
/// tells an option from its help by the two or more spaces between them; an
/// option too long to leave two has its help on the next line.
const HELP_COLUMN: usize = 26;

/// `--help`: the usage, then one entry per row of [`options::all`].
pub fn usage() -> String {
    let mut text = USAGE_HEAD.to_owned();
    for opt in options::all() {
        push_entry(&mut text, opt);
    }
    text
}

/// `--name VALUE`, and its help from [`HELP_COLUMN`] on.
fn push_entry(text: &mut String, opt: &Opt) {
    let mut left = format!("  --{}", opt.name);
    let mut help = opt.help.to_owned();
    match opt.kind {
        Flag => {}
        Value(value) => left = format!("{left} {value}"),
        Repeatable(value) => {
            left = format!("{left} {value}");
            help.push_str(", repeatable");
        }
    }
    if left.len() + 2 > HELP_COLUMN {
        text.push_str(&left);
        text.push('\n');
        left.clear();
    }
    for line in help.lines() {
        text.push_str(&format!("{left:HELP_COLUMN$}{line}\n"));
        left.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_has_an_entry_per_option_as_help2man_reads_them() {
        let help = usage();
        let (head, options) = help.split_once("\nOptions:\n").unwrap();
        assert!(head.starts_with("pocketftpd — "), "{head}");
        let mut lines = options.lines().peekable();
        for opt in options::all() {
            let first = lines.next().unwrap();
            let dashed = format!("--{}", opt.name);
            assert_eq!(first.split_whitespace().next(), Some(&*dashed), "{first}");
            // The option, two spaces or more and its help (or its help on
            // the lines below); or the option alone, too long for that,
            // and its help on the lines below.
            let alone = !first.trim_start().contains("  ");
            if first.len() > HELP_COLUMN && !alone {
                assert!(first[HELP_COLUMN - 2..].starts_with("  "), "{first}");
            }
            assert!(
                !alone || lines.peek().is_some_and(|l| !l.starts_with("  --")),
                "{first}"
            );
            while let Some(more) = lines.next_if(|l| !l.starts_with("  --")) {
                assert!(more.starts_with(&" ".repeat(HELP_COLUMN)), "{more}");
            }
        }
        assert_eq!(lines.next(), None);
        assert!(help.contains("  --write                 anonymous users may upload"));
        assert!(help.contains("  --listen ADDR:PORT      address to listen on"));
        assert!(help.contains("\n                          port 990), repeatable\n"));
    }

    #[test]
    fn a_long_option_has_its_help_on_the_next_line() {
        let opt = Opt {
            name: "on-upload-header-file",
            kind: Repeatable("FILE"),
            in_file: true,
            help: "a header line\nfor each request",
            set: |_, _| Ok(()),
        };
        let mut text = String::new();
        push_entry(&mut text, &opt);
        let indent = " ".repeat(HELP_COLUMN);
        assert_eq!(
            text,
            format!(
                "  --on-upload-header-file FILE\n{indent}a header line\n{indent}for each request, repeatable\n"
            )
        );
    }
}
