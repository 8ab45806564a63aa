//! The process and the served folder before serving: room for every
//! session's descriptors, and no leftovers of a daemon that died.

use std::path::Path;
use std::time::{Duration, Instant};

use log::{debug, info, warn};

use crate::storage::jail::Jail;

/// Thousands of idle sessions need thousands of descriptors: use all the
/// hard limit allows.
pub fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write one rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Why a root under `/home` may be missing under systemd: the unit's
/// `ProtectHome=yes` hides it from the daemon (systemd sets `INVOCATION_ID`
/// for the processes of a unit). Empty elsewhere.
pub fn sandbox_hint(root: &Path) -> &'static str {
    let hidden = ["/home", "/root", "/run/user"];
    let absolute = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    if std::env::var_os("INVOCATION_ID").is_some() && hidden.iter().any(|h| absolute.starts_with(h))
    {
        " (under systemd, pocketftpd.service's ProtectHome=yes hides /home: the comment above root = in the config file says what to change)"
    } else {
        ""
    }
}

/// Entries the start-up sweep for stale upload files looks at, at most: a
/// second or so on a small board, however big the served tree.
const SWEEP_LIMIT: usize = 100_000;

/// How often a long sweep says how far it got.
const SWEEP_REPORT_INTERVAL: Duration = Duration::from_secs(2);

/// A daemon killed mid-upload leaves its hidden temporary file behind:
/// remove those before serving (see `storage/temps.rs`): this node's, and
/// other nodes' that have not changed for long (`storage/node.rs`). A
/// server nobody may upload to (`anyone_writes` false) has no business
/// deleting files, nor spending seconds walking a big tree at start-up: it
/// skips the sweep.
/// A long sweep says how far it got every few seconds, so that a slow
/// start-up is not taken for a hang.
pub fn sweep_stale_uploads(jail: &Jail, anyone_writes: bool) {
    if !anyone_writes {
        return debug!("nobody may upload: no sweep for stale upload files");
    }
    let node = jail.node();
    let foreign_after = node.foreign_after.as_secs();
    info!(
        "node id {}: other nodes' upload files count as a crash's after {foreign_after} s unchanged",
        node.id
    );
    let started = Instant::now();
    let mut reported = started;
    let sweep = jail.sweep_stale_temps(SWEEP_LIMIT, &mut |sweep| {
        if reported.elapsed() >= SWEEP_REPORT_INTERVAL {
            reported = Instant::now();
            info!(
                "looking for stale upload files: {} so far ({:.0?})",
                crate::count(sweep.visited, "name"),
                started.elapsed()
            );
        }
    });
    if reported != started {
        info!(
            "looked for stale upload files: {} in {:.1?}",
            crate::count(sweep.visited, "name"),
            started.elapsed()
        );
    }
    if sweep.removed > 0 {
        info!(
            "removed {} left by a daemon that died",
            crate::count(sweep.removed, "stale upload file")
        );
    }
    if sweep.recent > 0 {
        info!(
            "kept {} of other nodes (or of an older version) changed in the last {foreign_after} s: running there, or swept later",
            crate::count(sweep.recent, "upload file")
        );
    }
    if !sweep.complete {
        warn!(
            "stopped looking for stale upload files after {} entries; RMD still removes those of the folder it removes",
            sweep.visited
        );
    }
    if sweep.skipped > 0 {
        debug!(
            "did not look for stale upload files in {}",
            crate::count(sweep.skipped, "unreadable or deep folder")
        );
    }
}
