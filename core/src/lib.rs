//! # pocketftp-core: the FTP protocol, without the I/O
//!
//! A [`Session`] is the server side of one FTP control connection as a plain
//! state machine. It owns no socket, no file and no clock: the caller (the
//! `pocketftpd` reactor, a test harness, a fuzzer) feeds it input and carries
//! out what it asks.
//!
//! ## Inputs and outputs
//!
//! A session takes three kinds of input:
//!
//! 1. the control connection: bytes from the client
//!    (`handle_control_input`, at most `control_read_room()` of them), their
//!    end (`handle_control_eof`) or its loss (`handle_control_lost`), and how
//!    many reply bytes went out (`consume_control_transmit`);
//! 2. answers: what came of an action it asked for, an [`Event`]
//!    (`handle_event`), and the daemon's own news (`handle_shutdown`,
//!    `handle_shutdown_expired`);
//! 3. time going forward: `handle_timeout`, once the deadline has passed.
//!
//! In response, it has three kinds of output:
//!
//! 1. [`Action`]s, in order: what to do for it (open a file, connect, move
//!    a transfer's bytes, close);
//! 2. reply bytes for the control connection;
//! 3. its next deadline.
//!
//! The first two come from one call, `poll_output()`, as an [`Output`]:
//! every action first, then the reply bytes. The deadline is read after it
//! has said `None`, from `poll_timeout()`.
//!
//! ```text
//!   handle_control_input(now, bytes)    ──►  ┌─────────┐
//!   handle_control_eof(now)             ──►  │         │ ──►  poll_output()   Output::Action(Action)
//!   handle_control_lost(now)            ──►  │         │                      Output::Reply(bytes)
//!   consume_control_transmit(now, n)    ──►  │ Session │
//!   handle_event(now, Event)            ──►  │         │ ──►  poll_timeout()  next deadline
//!   handle_shutdown[_expired](now)      ──►  │         │
//!   handle_timeout(now)                 ──►  └─────────┘      control_read_room()  may I read?
//! ```
//!
//! ## The discipline
//!
//! Two rules, which the reactor and the simulation (`testing/sim/`)
//! follow alike:
//!
//! 1. **Drain after every input.** After each `handle_*` call and each
//!    `consume_control_transmit` (written replies may let the commands
//!    waiting behind them through), call `poll_output()` until it says
//!    `None`: carry out each action, in order, and write the reply bytes,
//!    telling the session how many went out. A socket that takes no more
//!    ends the writing, not the draining: actions that come later are
//!    still carried out (a transfer must not wait on a client that does not
//!    read its control connection). Then re-arm the timer at
//!    `poll_timeout()`.
//! 2. **Answers come after the drain.** What comes of an action (its
//!    [`Event`], even one known at once) goes into one queue, tagged, and
//!    is delivered through `handle_event` once the drain is over, in the
//!    order it came, each an input again (rule 1). One about a data
//!    connection or a transfer that a later `CloseData`, `AbortTransfer`,
//!    `RejectData` or `Close` dropped is discarded, not delivered (a
//!    pipelined `ABOR` cancels a connect that failed at once, however the
//!    client's bytes were split). The end of the control connection takes
//!    the same queue, behind the answers before it (a transfer done before
//!    its client left is done), and reaches the session
//!    (`handle_control_eof`, `handle_control_lost`) right after a
//!    `TransferProgress` with the count of a transfer still running, read
//!    then.
//!
//! So every outcome reaches the session one way, and a transfer's count
//! with it: the events that end a transfer carry it (`UploadReceived`,
//! `TransferDone`, `TransferFailed`), `TransferProgress` brings it now and
//! then and last before the end of the control connection, so a transfer
//! is logged, and written to the xferlog, with the bytes it really moved.
//!
//! The whole loop a caller writes, for one session. As in str0m's loop,
//! each input is followed by a drain that ends when the session has nothing
//! more to say; then the caller waits for the next input, or the deadline.
//!
//! ```no_run
//! # use std::collections::VecDeque;
//! # use std::time::Instant;
//! # use pocketftp_core::{Action, Config, Event, Output, Session};
//! # fn carry_out(_: Action, _: &mut VecDeque<News>, _: &mut u32) {}
//! # fn read_socket() -> Option<Vec<u8>> { None }
//! # fn write_socket(_: &[u8]) -> usize { 0 }
//! # fn transfer_count() -> Option<u64> { None }
//! # fn sleep_until(_: Option<Instant>) {}
//! # let (local, peer) = ("127.0.0.1:21".parse().unwrap(), "127.0.0.1:40000".parse().unwrap());
//! /// What reaches the session after the drain, in order (rule 2).
//! enum News {
//!     /// What came of an action, with the data epoch it was asked in.
//!     Answer(u32, Event),
//!     /// The client closed the control connection.
//!     ControlEof,
//! }
//!
//! /// The drain, after every input (rule 1).
//! fn drain(session: &mut Session, now: Instant, queue: &mut VecDeque<News>, epoch: &mut u32) {
//!     let mut writing = true;
//!     while let Some(output) = session.poll_output() {
//!         match output {
//!             // May queue an answer; bumps the epoch on CloseData,
//!             // AbortTransfer, RejectData and Close.
//!             Output::Action(action) => carry_out(action, queue, epoch),
//!             Output::Reply(bytes) if writing => {
//!                 let sent = write_socket(bytes);
//!                 writing = sent > 0; // a full socket ends the writing...
//!                 session.consume_control_transmit(now, sent);
//!             }
//!             Output::Reply(_) => break, // ...not the draining: no action is left
//!         }
//!     }
//! }
//!
//! let mut session = Session::new(Config::default().into(), Instant::now(), local, peer);
//! let (mut queue, mut epoch) = (VecDeque::new(), 0);
//! drain(&mut session, Instant::now(), &mut queue, &mut epoch); // the welcome
//! while !session.is_closed() {
//!     let now = Instant::now(); // once per turn of the loop
//!     // 1. The control connection: as many bytes as the session has room for.
//!     if session.control_read_room() > 0 {
//!         match read_socket() {
//!             Some(bytes) => session.handle_control_input(now, &bytes),
//!             None => queue.push_back(News::ControlEof),
//!         }
//!         drain(&mut session, now, &mut queue, &mut epoch);
//!     }
//!     // 2. The news, each an input again, stale answers dropped.
//!     while let Some(news) = queue.pop_front() {
//!         match news {
//!             News::Answer(asked_in, _) if asked_in != epoch => continue,
//!             News::Answer(_, event) => {
//!                 let _ = session.handle_event(now, event);
//!             }
//!             News::ControlEof => {
//!                 if let Some(bytes) = transfer_count() {
//!                     let _ = session.handle_event(now, Event::TransferProgress { bytes });
//!                 }
//!                 session.handle_control_eof(now);
//!             }
//!         }
//!         drain(&mut session, now, &mut queue, &mut epoch);
//!     }
//!     // 3. Time.
//!     if session.poll_timeout().is_some_and(|at| at <= now) {
//!         session.handle_timeout(now);
//!         drain(&mut session, now, &mut queue, &mut epoch);
//!     }
//!     // On SIGTERM: session.handle_shutdown(now); when the grace period is
//!     // over: session.handle_shutdown_expired(now). Both are inputs too.
//!     sleep_until(session.poll_timeout()); // or until a socket is ready
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
//!   (PORT, PASV, EPSV), `transfer.rs` (transfers, TYPE, REST),
//!   `place.rs` (working folder, file commands); `work.rs` what the
//!   session waits for, one thing at a time; `replies.rs` the reply
//!   tables. `session/tests/` mirrors the machines.
//! - `wire/`: the bytes of the protocol. `line.rs` splits command lines
//!   ([`MAX_LINE`]), `command.rs` parses them, `reply.rs` writes replies;
//!   [`proxy`] reads the PROXY protocol header (v1, v2) a load balancer
//!   sends before them.
//! - `boundary/`: what crosses to the caller. `action.rs`, `event.rs`,
//!   `config.rs`, `access.rs` (roles), `path.rs` ([`VirtualPath`]),
//!   `glob.rs` (listing patterns), `network.rs` ([`Cidr`], local
//!   networks), `notice.rs` (what the admin should hear, [`Notice`]).
//! - `format/`: pure formatters the reactor calls too. `listing.rs`,
//!   `ascii.rs` (TYPE A), `time.rs` (calendar), `xferlog.rs`, `escape.rs`
//!   (client text on its way into a log).
//! - `timers.rs`: a session's deadlines, a fixed table.
//! - `testing/` (in tests, and with the `fuzzing` feature): `sim/`, the
//!   simulated caller that runs every script whole and byte at a time (its
//!   file system `memfs.rs`, its side of each action `actions.rs`, the
//!   output's checks `checks.rs`);
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
pub use boundary::action::{Action, ListFormat, ListPattern, OpenMode, Shown};
pub use boundary::activity::{Activity, Direction};
pub use boundary::config::Config;
pub use boundary::event::{ErrorKind, Event, FileKind, Metadata, QuotaUse};
pub use boundary::glob::Glob;
pub use boundary::network::{canonical_addr, canonical_ip, Cidr};
pub use boundary::notice::Notice;
pub use boundary::output::Output;
pub use boundary::path::{PathError, VirtualPath};
pub use format::escape::escape_for_log;
pub use format::xferlog::TransferRecord;
pub use format::{ascii, listing};
pub use session::{Session, UnexpectedEvent};
#[cfg(any(test, feature = "fuzzing"))]
pub use testing::{fuzzing, sim};
pub use wire::command::parse_mode;
pub use wire::line::MAX_LINE;
pub use wire::proxy;
pub use wire::reply::{BANNED, TOO_MANY_CONNECTIONS, TOO_MANY_FROM_ADDRESS};
