//! What runs once, before the loop.
//!
//! - `options`: every option in one table, and the `Options` it fills;
//!   `values` parses and bounds what the options take.
//! - `command_line`: the command line and the config file (its format in
//!   `config_file`) applied through that table; `help` is `--help`.
//! - `settings`: what the options make of the server, at start and on
//!   SIGHUP; `internet`, those of a server behind a router or on the
//!   internet (the announced address, its map).
//! - `logging`: the log on stderr; `prepare`: the descriptor limit raised
//!   and crash leftovers swept.
//! - `activation`: listening sockets passed by systemd.
//! - `privileges`: `--run-as`, and what that user will not be able to do.
//! - `prompt`: the password `hash-password` reads.

pub mod activation;
pub mod command_line;
mod config_file;
pub mod help;
pub mod internet;
pub mod logging;
pub mod options;
pub mod prepare;
pub mod privileges;
pub mod prompt;
pub mod settings;
mod values;
