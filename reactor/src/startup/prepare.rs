//! The process and the served folder before serving: room for every
//! session's descriptors, and no leftovers of a daemon that died.

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

/// Entries the start-up sweep for stale upload files looks at, at most: a
/// second or so on a small board, however big the served tree.
const SWEEP_LIMIT: usize = 100_000;

/// A daemon killed mid-upload leaves its hidden temporary file behind:
/// remove those before serving (see `storage/temps.rs`): this node's, and
/// other nodes' that have not changed for long (`storage/node.rs`).
pub fn sweep_stale_uploads(jail: &Jail) {
    let node = jail.node();
    let foreign_after = node.foreign_after.as_secs();
    info!(
        "node id {}: other nodes' upload files count as a crash's after {foreign_after} s unchanged",
        node.id
    );
    let sweep = jail.sweep_stale_temps(SWEEP_LIMIT);
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
