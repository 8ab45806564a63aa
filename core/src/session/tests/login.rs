//! Login (`login.rs`): `USER`/`PASS`, anonymous and users-file logins, the
//! delay and the limit on failures.

use std::time::Duration;

use crate::testing::sim::{run_both, Op::*};
use crate::{Action, Config, ErrorKind};

use super::{files, run, LOGIN};

#[test]
fn login_rules() {
    let h = run(&[
        Send(b"RETR x\r\nPASV\r\nCWD /\r\nPASS x\r\nUSER\r\nAUTH TLS\r\nPBSZ 0\r\nBOGUS\r\n"),
        LOGIN,
        Send(b"PASS again\r\nUSER other\r\n"),
    ]);
    assert_eq!(
        h.codes(),
        [220, 530, 530, 530, 503, 501, 502, 502, 500, 331, 230, 230, 530]
    );
}

/// Logins against a users file, a second's pause after a failed one.
fn users_with_delay() -> Config {
    Config {
        users: true,
        anonymous: false,
        login_delay: Duration::from_millis(1000),
        ..Config::default()
    }
}

#[test]
fn users_file_logins_with_delay_and_limit() {
    let config = users_with_delay();
    let h = run_both(
        &config,
        &files(),
        &[Send(b"USER alice\r\nPASS secret\r\nSTOR x\r\n")],
    );
    assert_eq!(h.codes(), [220, 331, 230, 425]);
    assert!(h.actions.contains(&Action::VerifyPassword {
        user: "alice".into(),
        password: "secret".into()
    }));

    let h = run_both(
        &config,
        &files(),
        &[
            Send(b"USER alice\r\nPASS wrong\r\nNOOP\r\n"),
            Advance(Duration::from_millis(999)),
        ],
    );
    assert_eq!(h.codes(), [220, 331], "no answer before the delay");
    let h = run_both(
        &config,
        &files(),
        &[
            Send(b"USER alice\r\nPASS wrong\r\nNOOP\r\nUSER anonymous\r\nPASS x\r\nUSER bob\r\nPASS y\r\n"),
            Advance(Duration::from_secs(5)),
        ],
    );
    assert_eq!(h.codes(), [220, 331, 530, 200, 331, 530, 331, 530, 421]);
    assert!(h.session.is_closed());
}

/// A check the caller could not even begin (too many wait from this
/// address) is no wrong password: `421`, the session ends, no failure
/// counted, no login delay.
#[test]
fn a_password_check_not_made_ends_the_session_plainly() {
    let config = users_with_delay();
    let h = run_both(
        &config,
        &files(),
        &[
            Send(b"USER alice\r\n"),
            Fault(ErrorKind::Busy),
            Send(b"PASS secret\r\nNOOP\r\n"),
        ],
    );
    assert_eq!(h.codes(), [220, 331, 421]);
    assert!(h.text().contains("421 Too many logins are being checked"));
    assert!(h.session.is_closed());
}

/// An account at its `--max-sessions-per-user`: the right password gets
/// `421` (issue 27, 5), no failure is counted, the session ends.
#[test]
fn an_account_with_all_its_sessions_gets_421() {
    let h = run_both(
        &users_with_delay(),
        &files(),
        &[
            Send(b"USER alice\r\n"),
            Fault(ErrorKind::TooManySessions),
            Send(b"PASS secret\r\nNOOP\r\n"),
        ],
    );
    assert_eq!(h.codes(), [220, 331, 421]);
    assert!(h
        .text()
        .contains("421 Too many sessions for this user; try again later.\r\n"));
    assert!(h.session.is_closed());
}

#[test]
fn anonymous_alongside_users() {
    let config = Config {
        users: true,
        anonymous: true,
        ..Config::default()
    };
    let h = run_both(
        &config,
        &files(),
        &[Send(b"USER ftp\r\nPASS me@\r\nPWD\r\n")],
    );
    assert_eq!(h.codes(), [220, 331, 230, 257]);
}
