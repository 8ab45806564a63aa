//! What runs once, before the loop: reading the options, turning them into
//! the server's settings, and preparing the process (sockets systemd passed,
//! the switch to `--run-as`).
//!
//! - `values`: the values options take, checked and bounded.
//! - `config_file`: the `--config FILE` format.
//! - `activation`: listening sockets passed by systemd.
//! - `privileges`: `--run-as`, and what that user will not be able to do.
//! - `prompt`: the password `hash-password` reads.

pub mod activation;
pub mod config_file;
pub mod privileges;
pub mod prompt;
pub mod values;
