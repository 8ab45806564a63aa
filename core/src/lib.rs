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
//!   handle_timeout(now)                 ──►  └─────────┘      control_read_room()      may I read?
//! ```
//!
//! **The rule:** after every `handle_*` call, drain the outputs — write the
//! reply bytes, carry out every action in order (answering each with the
//! [`Event`] it names), and re-arm the timer at `poll_timeout()`.
//! File-system actions may be answered at once. Data connections and
//! transfers (`ConnectData`, `StartTransfer`) are answered later, from the
//! event loop, never while the queue is being drained: a `CloseData` or
//! `AbortTransfer` queued behind them (a pipelined `ABOR`) must get to cancel
//! them first, whatever way the client's bytes were split.
//!
//! Paths are [`VirtualPath`]s: absolute, normalised, inside the root by
//! construction. Time is an [`Instant`](std::time::Instant) passed in;
//! wall-clock values (modification times) arrive in [`Metadata`].

#![forbid(unsafe_code)]

mod access;
mod action;
pub mod ascii;
mod command;
mod config;
mod event;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod line;
pub mod listing;
mod path;
mod reply;
mod session;
#[cfg(test)]
mod session_tests;
#[cfg(any(test, feature = "fuzzing"))]
pub mod sim;
mod time;
mod xferlog;

pub use access::Access;
pub use action::{Action, ListFormat, OpenMode};
pub use config::Config;
pub use event::{ErrorKind, Event, FileKind, Metadata};
pub use path::{PathError, VirtualPath, RESERVED_PREFIX};
pub use session::{Session, UnexpectedEvent, MAX_LINE};
pub use xferlog::TransferRecord;
