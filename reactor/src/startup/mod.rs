//! What runs once, before the loop.
//!
//! - `options`: every option in one table (a file of rows per concern),
//!   and the `Options` it fills;
//!   `values` parses and bounds what the options take.
//! - `command_line`: the command line and the config file (its format in
//!   `config_file`) applied through that table; `help` is `--help`.
//! - `settings`: what the options make of the server, at start and on
//!   SIGHUP; `reload`: what SIGHUP re-reads, and what it says needs a
//!   restart; `internet`, those of a server behind a router or on the
//!   internet (the announced address, its map).
//! - `conflicts`: options that do nothing together, said at start-up and
//!   on SIGHUP.
//! - `logging`: the log on stderr; `prepare`: the descriptor limit raised
//!   and crash leftovers swept.
//! - `activation`: listening sockets passed by systemd.
//! - `exposure`: who can reach what, said at start-up (a warning when
//!   anyone may log in).
//! - `hooks`: the upload hooks (`--on-upload`, `--on-upload-url`) made.
//! - `privileges`: `--run-as`; `access`: what the user the daemon serves
//!   as will not be able to do (at start-up and on SIGHUP).
//! - `prompt`: the password `hash-password` reads.
//! - `who_args`: `pocketftpd who`'s own command line (the client that asks
//!   a running daemon is `admin/who.rs`).
//! - `bucket`: `--storage s3://...`'s options gathered, and the bucket
//!   checked before serving.

pub mod access;
pub mod activation;
pub mod bucket;
pub mod command_line;
mod config_file;
pub mod conflicts;
pub mod exposure;
pub mod help;
pub mod hooks;
pub mod internet;
pub mod logging;
pub mod options;
pub mod prepare;
pub mod privileges;
pub mod prompt;
pub mod reload;
pub mod settings;
pub(crate) mod values;
pub mod who_args;
