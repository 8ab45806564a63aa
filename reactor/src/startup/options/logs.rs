//! What is logged: the log level and the xferlog.

use super::Kind::Value;
use super::{assign, Opt};
use crate::startup::values::log_level;

/// This concern's rows, in the order `--help` lists them.
pub(super) const LOGS: &[Opt] = &[
    Opt {
        name: "log-level",
        kind: Value("LEVEL"),
        in_file: true,
        help: "error | warn | info | debug | trace (default info)",
        set: |o, v| assign(&mut o.log_level, log_level(v)),
    },
    Opt {
        name: "xferlog",
        kind: Value("FILE"),
        in_file: true,
        help: "append a line per file transfer, in xferlog format",
        set: |o, v| assign(&mut o.xferlog, Ok(Some(v.into()))),
    },
];
