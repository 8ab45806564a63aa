//! # pocketftp-core: the FTP protocol, without the I/O
//!
//! A [`Session`] is the server side of one FTP control connection as a plain
//! state machine. It owns no socket, no file and no clock: the caller (the
//! `pocketftpd` reactor, a test harness, a fuzzer) feeds it input and carries
//! out what it asks.
//!
//! ```text
//!   handle_control_input(now, bytes)    ──►  ┌─────────┐ ──►  poll_control_transmit()  reply bytes
//!   handle_control_eof(now)             ──►  │ Session │ ──►  poll_action()            Action
//!   handle_event(now, Event)            ──►  │         │ ──►  poll_timeout()           next deadline
//!   handle_timeout(now)                 ──►  │         │      control_read_room()      may I read?
//!   handle_control_lost(now)            ──►  │         │
//!   handle_shutdown[_expired](now)      ──►  │         │
//!   consume_control_transmit(now, n)    ──►  └─────────┘
//! ```
//!
//! **The rule:** after every input — each `handle_*` call, and
//! `consume_control_transmit`, which may let commands waiting behind a full
//! reply buffer through — drain the outputs: write the reply bytes, carry
//! out every action in order, and re-arm the timer at `poll_timeout()`. An
//! action's answer ([`Event`]) goes back through `handle_event`. A
//! file-system action may be answered at once; an answer about a data
//! connection or a transfer never while the action queue is being drained:
//! queue it, tagged, and deliver it once the session has read the input it
//! has room for (the reactor queues every answer alike). An answer about
//! a data connection or transfer that a later `CloseData`, `AbortTransfer`,
//! `RejectData` or `Close` dropped is discarded, not delivered (a pipelined
//! `ABOR` cancels a connect that failed at once, however the client's bytes
//! were split).
//!
//! The whole loop a caller writes, for one session:
//!
//! ```no_run
//! # use std::collections::VecDeque;
//! # use std::time::Instant;
//! # use pocketftp_core::{Action, Config, Event, Session};
//! # fn carry_out(_: Action, _: &mut VecDeque<(u32, Event)>, _: &mut u32) {}
//! # fn read_socket() -> Option<Vec<u8>> { None }
//! # fn write_socket(_: &[u8]) -> usize { 0 }
//! # let (local, peer) = ("127.0.0.1:21".parse().unwrap(), "127.0.0.1:40000".parse().unwrap());
//! let mut session = Session::new(Config::default().into(), Instant::now(), local, peer);
//! let mut answers = VecDeque::new(); // (data epoch, event)
//! let mut epoch = 0; // carry_out bumps it on CloseData, AbortTransfer, RejectData, Close
//! while !session.is_closed() {
//!     let now = Instant::now(); // once per turn of the loop
//!     // Input: as many bytes as the session has room for (0: don't read).
//!     if session.control_read_room() > 0 {
//!         match read_socket() {
//!             Some(bytes) => session.handle_control_input(now, &bytes),
//!             None => session.handle_control_eof(now),
//!         }
//!     }
//!     // Outputs, drained after every input.
//!     while let Some(action) = session.poll_action() {
//!         carry_out(action, &mut answers, &mut epoch); // may queue (epoch, event)
//!     }
//!     let sent = write_socket(session.poll_control_transmit());
//!     session.consume_control_transmit(now, sent);
//!     // Answers, each an input again (drain after it), stale ones dropped.
//!     while let Some((asked_in, event)) = answers.pop_front() {
//!         if asked_in == epoch {
//!             let _ = session.handle_event(now, event);
//!         }
//!     }
//!     if session.poll_timeout().is_some_and(|at| at <= now) {
//!         session.handle_timeout(now);
//!     }
//!     // On SIGTERM: session.handle_shutdown(now); when the grace period is
//!     // over: session.handle_shutdown_expired(now).
//! }
//! ```
//!
//! Paths are [`VirtualPath`]s: absolute, normalised, inside the root by
//! construction. Time is an [`Instant`](std::time::Instant) passed in;
//! wall-clock values (modification times) arrive in [`Metadata`].
//!
//! ## Where things are
//!
//! - `session/`: the [`Session`]. `mod.rs` holds the API above and the
//!   command loop; `table.rs` every transition (commands, answers, timers)
//!   and the map of the machines; then one file a machine, each the only
//!   writer of its state: `login.rs`, `security.rs` (FTPS), `data.rs`
//!   (PORT, PASV, EPSV), `transfer.rs` (transfers, and what the session
//!   waits for), `place.rs` (working folder, file commands); `replies.rs`
//!   the reply tables. `session/tests/` mirrors the machines.
//! - `wire/`: the bytes of the protocol. `line.rs` splits command lines
//!   ([`MAX_LINE`]), `command.rs` parses them, `reply.rs` writes replies;
//!   [`proxy`] reads the PROXY protocol header (v1, v2) a load balancer
//!   sends before them.
//! - `boundary/`: what crosses to the caller. `action.rs`, `event.rs`,
//!   `config.rs`, `access.rs` (roles), `path.rs` ([`VirtualPath`]),
//!   `glob.rs` (listing patterns), `network.rs` ([`Cidr`], local
//!   networks), `notice.rs` (what the admin should hear, [`Notice`]).
//! - `format/`: pure formatters the reactor calls too. `listing.rs`,
//!   `ascii.rs` (TYPE A), `time.rs` (calendar), `xferlog.rs`.
//! - `timers.rs`: a session's deadlines, a fixed table.
//! - `testing/` (in tests, and with the `fuzzing` feature): `sim.rs`, the
//!   simulated caller that runs every script whole and byte at a time;
//!   `fuzzing.rs`, the bodies of the fuzz targets (command, path, session,
//!   proxy); `log_capture.rs`.

#![forbid(unsafe_code)]

mod boundary;
mod format;
mod session;
#[cfg(any(test, feature = "fuzzing"))]
mod testing;
mod timers;
mod wire;

pub use boundary::access::Access;
pub use boundary::action::{Action, ListFormat, ListPattern, OpenMode};
pub use boundary::config::Config;
pub use boundary::event::{ErrorKind, Event, FileKind, Metadata};
pub use boundary::glob::Glob;
pub use boundary::network::Cidr;
pub use boundary::notice::Notice;
pub use boundary::path::{PathError, VirtualPath};
pub use format::xferlog::TransferRecord;
pub use format::{ascii, listing};
pub use session::{canonical_ip, Session, UnexpectedEvent};
#[cfg(any(test, feature = "fuzzing"))]
pub use testing::{fuzzing, sim};
pub use wire::command::parse_mode;
pub use wire::line::MAX_LINE;
pub use wire::proxy;
pub use wire::reply::{BANNED, TOO_MANY_CONNECTIONS};
