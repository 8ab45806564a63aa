//! `--on-upload PROGRAM`: the administrator's program, run once per
//! completed upload, as pure-ftpd's `pure-uploadscript` but without its
//! side daemon. It is executed directly, never through a shell: argv[1] is
//! the path as the client sees it and the rest of the event is in the
//! environment (`POCKETFTPD_*`), so a file name with newlines, quotes or
//! `$(…)` reaches it as data. The environment is otherwise clean (a
//! standard `PATH` only: the daemon's own variables are not the hook's),
//! and it runs as the daemon does, after `--run-as`.
//!
//! At most `--hook-workers` run at once; the other events wait in a queue
//! of [`MAX_QUEUED`]. A child is waited for through SIGCHLD (the loop's
//! signal pipe), its stderr is a pipe registered with the loop and drained
//! as it comes (a child that floods it never blocks on it, and only its
//! first line is kept, [`MAX_STDERR_LINE`] bytes at most), and it runs in
//! a process group of its own, killed whole after `--hook-timeout` (a
//! hook that forks takes its children with it). Its exit status and first
//! line of stderr are logged.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use log::{info, warn};
use mio::unix::pipe::Receiver;
use mio::{Interest, Registry};
use pocketftp_core::escape_for_log;

use super::counts::HookCounts;
use super::{seconds, Upload, MAX_QUEUED, MAX_WORKERS};
use crate::server::token::hook_token;

/// The first line of a hook's stderr kept for the log, at most.
const MAX_STDERR_LINE: usize = 256;

/// Reads of a child's stderr per readiness event: a child that floods it
/// is read on at the next turn, and cannot hold the loop.
const STDERR_READS: usize = 16;

/// The only variable of the hook's environment beside the event's.
const HOOK_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The upload hook: its program, the queue, the children running.
pub struct Programs {
    program: PathBuf,
    timeout: Duration,
    queue: VecDeque<Upload>,
    /// One slot per worker; the slot's index names its stderr's token.
    slots: Vec<Option<Running>>,
    /// Events dropped because the queue was full, since start-up.
    dropped: u64,
    /// Events whose program could not start, failed or was killed.
    failed: u64,
}

/// A child at work.
struct Running {
    child: Child,
    stderr: Option<Receiver>,
    /// Its stderr's first line so far, and whether it is complete.
    first_line: Vec<u8>,
    line_done: bool,
    /// Its stderr had more to read than one turn reads.
    more: bool,
    deadline: Instant,
    killed: bool,
    /// The upload's path as the client sees it, for the log.
    path: String,
}

/// The program must be a file someone may execute: said at start-up, not
/// at the first upload.
pub fn check_program(program: &Path) -> Result<(), String> {
    let meta =
        std::fs::metadata(program).map_err(|e| format!("on-upload: {}: {e}", program.display()))?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(format!(
            "on-upload: {} is not an executable file",
            program.display()
        ));
    }
    Ok(())
}

impl Programs {
    /// `workers` at once (1 to [`MAX_WORKERS`]), each killed after `timeout`.
    pub fn new(program: PathBuf, workers: usize, timeout: Duration) -> Result<Programs, String> {
        check_program(&program)?;
        let workers = workers.clamp(1, MAX_WORKERS);
        Ok(Programs {
            program,
            timeout,
            queue: VecDeque::new(),
            slots: (0..workers).map(|_| None).collect(),
            dropped: 0,
            failed: 0,
        })
    }

    /// Queues `upload`'s event and starts what may start.
    pub fn push(&mut self, upload: Upload, registry: &Registry, now: Instant) {
        if self.queue.len() >= MAX_QUEUED {
            self.dropped += 1;
            let path = escape_for_log(&upload.virtual_path);
            let dropped = self.dropped;
            warn!("upload hook: queue full ({MAX_QUEUED}): not run for {path} ({dropped} dropped since start-up)");
            return;
        }
        self.queue.push_back(upload);
        self.start_queued(registry, now);
    }

    /// Starts queued events in free slots.
    fn start_queued(&mut self, registry: &Registry, now: Instant) {
        while let Some(slot) = self.slots.iter().position(Option::is_none) {
            let Some(upload) = self.queue.pop_front() else {
                return;
            };
            match self.spawn(&upload, slot, registry, now) {
                Ok(running) => self.slots[slot] = Some(running),
                Err(e) => {
                    self.failed += 1;
                    let (program, path) =
                        (self.program.display(), escape_for_log(&upload.virtual_path));
                    warn!("upload hook {program}: cannot run it for {path}: {e}");
                }
            }
        }
    }

    fn spawn(
        &self,
        upload: &Upload,
        slot: usize,
        registry: &Registry,
        now: Instant,
    ) -> io::Result<Running> {
        let mut child = Command::new(&self.program)
            .arg(&upload.virtual_path)
            .env_clear()
            .env("PATH", HOOK_PATH)
            .envs(environment(upload))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()?;
        // Started, the child is waited for whatever happens to its pipe:
        // one the loop cannot watch is dropped (the child then gets EPIPE).
        let stderr = child
            .stderr
            .take()
            .map(Receiver::from)
            .and_then(|mut pipe| {
                pipe.set_nonblocking(true).ok()?;
                let token = hook_token(slot + 1);
                registry
                    .register(&mut pipe, token, Interest::READABLE)
                    .ok()?;
                Some(pipe)
            });
        Ok(Running {
            child,
            stderr,
            first_line: Vec::new(),
            line_done: false,
            more: false,
            deadline: now + self.timeout,
            killed: false,
            path: upload.virtual_path.clone(),
        })
    }

    /// The stderr of the child in `slot` is readable (or closed).
    pub fn on_ready(&mut self, slot: usize, registry: &Registry, now: Instant) {
        if let Some(Some(running)) = self.slots.get_mut(slot) {
            running.drain_stderr(registry);
        }
        // Its end may come before SIGCHLD is read: look now.
        self.reap(registry, now);
    }

    /// Collects the children that ended, logs them, and starts the next.
    pub fn reap(&mut self, registry: &Registry, now: Instant) {
        for slot in &mut self.slots {
            let Some(running) = slot else { continue };
            let status = match running.child.try_wait() {
                Ok(Some(status)) => Ok(status),
                Ok(None) => continue,
                Err(e) => Err(e),
            };
            running.drain_stderr(registry);
            if let Some(mut pipe) = running.stderr.take() {
                let _ = registry.deregister(&mut pipe);
            }
            if !log_end(running, status, self.timeout) {
                self.failed += 1;
            }
            *slot = None;
        }
        self.start_queued(registry, now);
    }

    /// Reads on the stderr of children that flood it, and kills (its
    /// whole process group) every child past its deadline; its end is
    /// logged when it is reaped.
    pub fn fire_timers(&mut self, registry: &Registry, now: Instant) {
        for running in self.slots.iter_mut().flatten() {
            if running.more {
                running.drain_stderr(registry);
            }
            if !running.killed && running.deadline <= now {
                running.killed = true;
                // The group of its own it was started in: its id is the child's.
                if let Ok(pid) = i32::try_from(running.child.id()) {
                    // SAFETY: kill has no memory-safety preconditions.
                    unsafe { libc::kill(-pid, libc::SIGKILL) };
                }
            }
        }
    }

    /// Events waiting and programs running.
    pub fn pending(&self) -> usize {
        self.queue.len() + self.slots.iter().flatten().count()
    }

    /// What `/metrics` shows of it.
    pub fn counts(&self) -> HookCounts {
        HookCounts {
            queued: self.queue.len(),
            dropped: self.dropped,
            failed: self.failed,
        }
    }

    /// The next child's deadline (now, for a stderr to read on).
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.slots.iter().flatten().any(|r| r.more) {
            return Some(Instant::now());
        }
        (self.slots.iter().flatten())
            .filter(|r| !r.killed)
            .map(|r| r.deadline)
            .min()
    }
}

impl Running {
    /// Reads what its stderr holds, keeping only the first line.
    fn drain_stderr(&mut self, registry: &Registry) {
        let Some(pipe) = &mut self.stderr else { return };
        let mut buf = [0; 4096];
        self.more = false;
        for read in 0.. {
            if read == STDERR_READS {
                self.more = true;
                return;
            }
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if !self.line_done {
                        let piece = &buf[..n];
                        let end = piece.iter().position(|&b| b == b'\n');
                        let take = end
                            .unwrap_or(n)
                            .min(MAX_STDERR_LINE - self.first_line.len());
                        self.first_line.extend_from_slice(&piece[..take]);
                        self.line_done = end.is_some() || self.first_line.len() == MAX_STDERR_LINE;
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => break,
            }
        }
        // Its end (or an error): nothing more will come.
        if let Some(mut pipe) = self.stderr.take() {
            let _ = registry.deregister(&mut pipe);
        }
    }
}

/// The event, as the hook's environment.
fn environment(upload: &Upload) -> [(&'static str, std::ffi::OsString); 7] {
    let yes_no = if upload.tls { "yes" } else { "no" };
    [
        ("POCKETFTPD_PATH", upload.real_path.clone().into_os_string()),
        (
            "POCKETFTPD_VIRTUAL_PATH",
            upload.virtual_path.clone().into(),
        ),
        ("POCKETFTPD_USER", upload.user.clone().into()),
        ("POCKETFTPD_CLIENT_IP", upload.client.to_string().into()),
        ("POCKETFTPD_SIZE", upload.size.to_string().into()),
        ("POCKETFTPD_KIND", upload.kind.word().into()),
        ("POCKETFTPD_TLS", yes_no.into()),
    ]
}

/// The log line of a child's end: its status, and its stderr's first line.
/// True if it succeeded (exit status 0, not killed).
fn log_end(running: &Running, status: io::Result<ExitStatus>, timeout: Duration) -> bool {
    let succeeded = matches!(&status, Ok(s) if !running.killed && s.success());
    let path = escape_for_log(&running.path);
    let line = String::from_utf8_lossy(&running.first_line);
    let stderr = match line.trim() {
        "" => String::new(),
        text => format!(": {}", escape_for_log(text)),
    };
    match status {
        Ok(status) if running.killed => {
            let limit = seconds(timeout);
            warn!("upload hook for {path}: killed after {limit} ({status}){stderr}");
        }
        Ok(status) if status.success() => info!("upload hook for {path}: exit status 0{stderr}"),
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => warn!("upload hook for {path}: exit status {code}{stderr}"),
            (None, Some(signal)) => {
                warn!("upload hook for {path}: killed by signal {signal}{stderr}")
            }
            (None, None) => warn!("upload hook for {path}: {status}{stderr}"),
        },
        Err(e) => warn!("upload hook for {path}: cannot wait for it: {e}"),
    }
    succeeded
}
