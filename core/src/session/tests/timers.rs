//! The session's deadlines: idle, data connect, stall.

use std::time::Duration;

use crate::testing::sim::{run_both, Op::*};
use crate::{Action, Config};

use super::{codes_after_login, files, writable, LOGIN};

#[test]
fn timers() {
    let config = Config {
        idle_timeout: Duration::from_secs(300),
        data_timeout: Duration::from_secs(60),
        ..writable()
    };
    // Idle: nothing for the idle timeout closes the session.
    let h = run_both(
        &config,
        &files(),
        &[
            LOGIN,
            Advance(Duration::from_secs(299)),
            Send(b"NOOP\r\n"),
            Advance(Duration::from_secs(299)),
        ],
    );
    assert_eq!(codes_after_login(&h), [200]);
    let h = run_both(
        &config,
        &files(),
        &[LOGIN, Advance(Duration::from_secs(301))],
    );
    assert_eq!(codes_after_login(&h), [421]);
    assert_eq!(h.actions.last(), Some(&Action::Close));
    // Data connect timeout: 425, and the session goes on.
    let h = run_both(
        &config,
        &files(),
        &[
            LOGIN,
            Send(b"PASV\r\nRETR hello.txt\r\n"),
            Advance(Duration::from_secs(61)),
            Send(b"NOOP\r\n"),
        ],
    );
    assert_eq!(codes_after_login(&h), [227, 425, 200]);
    // Stall: a transfer without progress is aborted with 426; progress keeps it alive.
    let h = run_both(
        &config,
        &files(),
        &[
            LOGIN,
            HoldTransfers,
            Send(b"PASV\r\nRETR hello.txt\r\n"),
            ConnectData("127.0.0.1:40001"),
            Advance(Duration::from_secs(61)),
            Send(b"NOOP\r\n"),
        ],
    );
    assert_eq!(codes_after_login(&h), [227, 150, 426, 200]);
    assert!(h.actions.contains(&Action::AbortTransfer));
    // A long transfer does not trip the idle timer.
    let h = run_both(
        &config,
        &files(),
        &[
            LOGIN,
            HoldTransfers,
            Send(b"PASV\r\nRETR hello.txt\r\n"),
            ConnectData("127.0.0.1:40001"),
            Advance(Duration::from_secs(50)),
        ],
    );
    let mut h2 = h;
    for _ in 0..10 {
        let result = h2
            .session
            .handle_event(h2.now, crate::Event::TransferProgress { bytes: 1 });
        assert!(result.is_ok());
        h2.run(&[Advance(Duration::from_secs(50))]);
    }
    h2.run(&[FinishTransfer]);
    assert_eq!(codes_after_login(&h2), [227, 150, 226]);
}
