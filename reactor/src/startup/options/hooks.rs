//! What runs after an upload: hook programs and webhooks, and the
//! [`HookOptions`] they fill.

use std::path::PathBuf;
use std::time::Duration;

use super::Kind::Value;
use super::{assign, Opt};
use crate::startup::values::{positive, seconds};

/// This concern's rows, in the order `--help` lists them.
pub(super) const HOOKS: &[Opt] = &[
    Opt {
        name: "on-upload",
        kind: Value("PROGRAM"),
        in_file: true,
        help: "run PROGRAM (no shell) after each completed upload: argv[1]\n\
               is the path the client sees, POCKETFTPD_* variables the rest",
        set: |o, v| assign(&mut o.hooks.program, Ok(Some(v.into()))),
    },
    Opt {
        name: "hook-workers",
        kind: Value("N"),
        in_file: true,
        help: "upload hook programs running at once (default 2, at most 64)",
        set: |o, v| assign(&mut o.hooks.workers, positive(v).and_then(workers)),
    },
    Opt {
        name: "hook-timeout",
        kind: Value("S"),
        in_file: true,
        help: "seconds an upload hook may run before it is killed (default 60)",
        set: |o, v| assign(&mut o.hooks.timeout, positive(v).and_then(seconds)),
    },
    Opt {
        name: "on-upload-url",
        kind: Value("URL"),
        in_file: true,
        help: "POST each completed upload as JSON to this http:// or\n\
               https:// URL (retried 5 times, backing off)",
        set: |o, v| assign(&mut o.hooks.url, Ok(Some(v.to_owned()))),
    },
    Opt {
        name: "on-upload-ca",
        kind: Value("FILE"),
        in_file: true,
        help: "PEM CA certificates the webhook's server is checked with\n\
               (default: the system's, in /etc/ssl/certs)",
        set: |o, v| assign(&mut o.hooks.ca, Ok(Some(v.into()))),
    },
    Opt {
        name: "on-upload-header-file",
        kind: Value("FILE"),
        in_file: true,
        help: "a file whose one line (Name: value) the webhook sends as a\n\
               header, e.g. Authorization (kept out of ps)",
        set: |o, v| assign(&mut o.hooks.header_file, Ok(Some(v.into()))),
    },
    Opt {
        name: "on-upload-timeout",
        kind: Value("S"),
        in_file: true,
        help: "seconds one webhook attempt may take (default 10)",
        set: |o, v| assign(&mut o.hooks.url_timeout, positive(v).and_then(seconds)),
    },
];

/// What runs when an upload completed (`crate::hooks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookOptions {
    /// `--on-upload`.
    pub program: Option<PathBuf>,
    pub workers: usize,
    pub timeout: Duration,
    /// `--on-upload-url`, parsed when the hooks are made.
    pub url: Option<String>,
    pub ca: Option<PathBuf>,
    pub header_file: Option<PathBuf>,
    pub url_timeout: Duration,
}

impl Default for HookOptions {
    fn default() -> Self {
        HookOptions {
            program: None,
            workers: 2,
            timeout: Duration::from_secs(60),
            url: None,
            ca: None,
            header_file: None,
            url_timeout: Duration::from_secs(10),
        }
    }
}

/// `--hook-workers`: at most [`MAX_WORKERS`](crate::hooks::MAX_WORKERS).
fn workers(n: usize) -> Result<usize, String> {
    let max = crate::hooks::MAX_WORKERS;
    if n > max {
        return Err(format!("at most {max}"));
    }
    Ok(n)
}
