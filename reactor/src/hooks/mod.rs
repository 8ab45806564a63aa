//! What runs when an upload has arrived: `--on-upload PROGRAM` (a program
//! of the administrator's, `program.rs`) and `--on-upload-url URL` (a JSON
//! event POSTed, `webhook.rs`). Only a complete upload counts: its file is
//! in place and its `226` is on its way (a broken, refused or aborted one
//! never reaches here), so a hook never sees half a file.
//!
//! Neither may slow the loop or the uploads: events wait in bounded queues
//! ([`MAX_QUEUED`]; past it an event is dropped, logged and counted),
//! programs run as children with bounded concurrency, waited for through
//! SIGCHLD and their stderr pipes registered with the loop, and webhook
//! requests are non-blocking sockets of the same loop. Nothing here blocks.

pub mod counts;
mod program;
mod webhook;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use log::warn;
use mio::Registry;
use pocketftp_core::VirtualPath;

use counts::HookCounts;

pub use program::{check_program, Programs};
pub use webhook::{Webhook, WebhookConfig};

/// Events a queue holds, at most (the program's, the webhook's).
pub const MAX_QUEUED: usize = 1000;

/// Children run at once, at most (`--hook-workers`): 64, each with a
/// daemon key of its own beside the webhook's (`server/token.rs`).
pub const MAX_WORKERS: usize = crate::server::token::HOOK_KEYS - 1;

/// An upload that completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The path as the client sees it (from its home folder).
    pub virtual_path: String,
    /// The file on disk.
    pub real_path: PathBuf,
    pub user: String,
    pub client: IpAddr,
    /// Bytes received.
    pub size: u64,
    pub kind: UploadKind,
    /// The data connection was protected (`PROT P`).
    pub tls: bool,
    /// When it completed, in Unix seconds.
    pub time: i64,
}

/// Which command uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    /// `STOR`.
    Upload,
    /// `APPE`.
    Append,
    /// `STOU`.
    Unique,
}

impl UploadKind {
    pub fn word(self) -> &'static str {
        match self {
            UploadKind::Upload => "upload",
            UploadKind::Append => "append",
            UploadKind::Unique => "unique",
        }
    }
}

/// The hooks configured: none, a program, a webhook, or both. Every
/// readiness event, signal and deadline of theirs comes through here.
#[derive(Default)]
pub struct Hooks {
    /// The served folder on disk, for the real paths of uploads.
    root: PathBuf,
    program: Option<Programs>,
    webhook: Option<Webhook>,
}

impl Hooks {
    pub fn new(root: PathBuf, program: Option<Programs>, webhook: Option<Webhook>) -> Hooks {
        Hooks {
            root,
            program,
            webhook,
        }
    }

    /// Whether any hook is: if none, no event is made.
    pub fn is_configured(&self) -> bool {
        self.program.is_some() || self.webhook.is_some()
    }

    /// The file on disk at `path` in a home folder (`home`, from the root)
    /// or in the root.
    pub fn real_path(&self, home: Option<&VirtualPath>, path: &VirtualPath) -> PathBuf {
        let mut real = self.root.clone();
        for part in [home.map_or("", VirtualPath::relative), path.relative()] {
            if !part.is_empty() {
                real.push(part);
            }
        }
        real
    }

    /// An upload completed: its event is queued for each hook (and started
    /// at once where one is free).
    pub fn uploaded(&mut self, upload: Upload, registry: &Registry, now: Instant) {
        if let Some(webhook) = &mut self.webhook {
            webhook.push(&upload, registry, now);
        }
        if let Some(program) = &mut self.program {
            program.push(upload, registry, now);
        }
    }

    /// A readiness event of the hooks' socket or pipe `index` (0: the
    /// webhook's request; 1 and up: the programs' stderr, one per worker).
    pub fn on_ready(&mut self, index: usize, registry: &Registry, now: Instant) {
        match index {
            0 => {
                if let Some(webhook) = &mut self.webhook {
                    webhook.on_ready(registry, now);
                }
            }
            slot => {
                if let Some(program) = &mut self.program {
                    program.on_ready(slot - 1, registry, now);
                }
            }
        }
    }

    /// SIGCHLD: a child may have ended.
    pub fn on_child_exit(&mut self, registry: &Registry, now: Instant) {
        if let Some(program) = &mut self.program {
            program.reap(registry, now);
        }
    }

    /// Kills programs past their time, retries and times out webhooks.
    pub fn fire_timers(&mut self, registry: &Registry, now: Instant) {
        if let Some(program) = &mut self.program {
            program.fire_timers(registry, now);
        }
        if let Some(webhook) = &mut self.webhook {
            webhook.fire_timers(registry, now);
        }
    }

    /// The daemon stops: says what the hooks leave undone (running
    /// programs go on to their end, on their own).
    pub fn stop(&self) {
        let program = self.program.as_ref().map_or(0, Programs::pending);
        let webhook = self.webhook.as_ref().map_or(0, Webhook::pending);
        if program + webhook > 0 {
            let (program, webhook) = (
                crate::count(program, "event"),
                crate::count(webhook, "event"),
            );
            warn!("stopping with upload hook work left: {program} for the program, {webhook} for the webhook");
        }
    }

    /// The program's and the webhook's counts, where configured.
    pub fn counts(&self) -> [(&'static str, Option<HookCounts>); 2] {
        [
            ("program", self.program.as_ref().map(Programs::counts)),
            ("webhook", self.webhook.as_ref().map(Webhook::counts)),
        ]
    }

    /// When [`fire_timers`](Self::fire_timers) has something to do next.
    pub fn next_deadline(&self) -> Option<Instant> {
        let program = self.program.as_ref().and_then(Programs::next_deadline);
        let webhook = self.webhook.as_ref().and_then(Webhook::next_deadline);
        program.into_iter().chain(webhook).min()
    }
}

/// `Duration` in log lines: `60s`, `1.5s`.
fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}
