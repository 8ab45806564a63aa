//! Options that do nothing together, said at start-up and on SIGHUP: each
//! one was met by a user who then wondered why the option did not work.

use log::warn;
use pocketftp_core::Access;

use crate::startup::options::Options;

/// Warns of each pair of options that does nothing together.
pub fn warn(options: &Options) {
    for conflict in conflicts(options) {
        warn!("{conflict}");
    }
}

/// What the options say that they will not do, in words that say why.
fn conflicts(options: &Options) -> Vec<String> {
    let mut found = Vec::new();
    let anonymous_off = options.users.is_some() && !options.anonymous;
    if anonymous_off && options.anonymous_access != Access::ReadOnly {
        found.push(format!(
            "{} does nothing: with --users anonymous login is off (add --anonymous to let anonymous sessions have it; accounts get their roles from the users file)",
            what_gave_the_role(options)
        ));
    }
    if let (Some(write), Some(role)) = (options.given_write, options.given_role) {
        let said = if write {
            Access::Super
        } else {
            Access::ReadOnly
        };
        if said != role {
            let write = if write { "--write" } else { "write = false" };
            found.push(format!(
                "{write} and --anonymous-role {} disagree (--write is --anonymous-role super): the last one given counts, so anonymous sessions have the role {}",
                role.role(),
                options.anonymous_access.role()
            ));
        }
    }
    if options.run_as.as_deref() == Some("root") {
        found.push(
            "--run-as root keeps every right of root: name an unprivileged user, such as ftp"
                .to_owned(),
        );
    }
    found
}

/// `--write`, or `--anonymous-role ROLE`: whichever set the anonymous role.
fn what_gave_the_role(options: &Options) -> String {
    match options.given_role {
        Some(role) if role == options.anonymous_access => {
            format!("--anonymous-role {}", role.role())
        }
        _ => "--write".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::startup::command_line::tests::run;

    fn said(args: &[&str]) -> Vec<String> {
        conflicts(&run(args).unwrap())
    }

    #[test]
    fn options_that_do_nothing_together_are_named() {
        assert!(said(&[]).is_empty());
        assert!(said(&["--write", "--users", "u", "--anonymous"]).is_empty());
        assert!(said(&["--write", "--anonymous-role", "super"]).is_empty());
        assert!(said(&["--run-as", "ftp"]).is_empty());
        let cases = [
            (
                &["--write", "--users", "u"][..],
                "--write does nothing: with --users anonymous login is off",
            ),
            (
                &["--anonymous-role", "upload", "--users", "u"],
                "--anonymous-role upload does nothing: with --users",
            ),
            (
                &["--write", "--anonymous-role", "user"],
                "--write and --anonymous-role user disagree (--write is --anonymous-role super): the last one given counts, so anonymous sessions have the role user",
            ),
            (
                &["--anonymous-role", "upload", "--write"],
                "--write and --anonymous-role upload disagree (--write is --anonymous-role super): the last one given counts, so anonymous sessions have the role super",
            ),
            (&["--run-as", "root"], "--run-as root keeps every right of root"),
        ];
        for (args, want) in cases {
            let got = said(args);
            assert!(
                got.len() == 1 && got[0].starts_with(want),
                "{args:?}: {got:?}"
            );
        }
    }
}
