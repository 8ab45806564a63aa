//! `GET /metrics`: the Prometheus text format (0.0.4), read from the
//! counters and the census the daemon keeps (nothing is counted here); names and types as
//! Prometheus asks (`_total` counters, units in names, a `# HELP` and a
//! `# TYPE` for each family).

use std::fmt::Write;

use super::census::Mark;
use super::Overview;
use crate::hooks::counts::HookCounts;
use crate::storage::s3::endpoint::Endpoint;
use crate::storage::s3::retry::GaveUp;

/// The text of a scrape.
pub(crate) fn render(o: &Overview) -> String {
    let s = o.stats;
    let c = &s.census;
    let count = |bit| c.count(bit) as f64;
    let mut out = String::with_capacity(4096);
    let mut family = |name: &str, kind: &str, help: &str, samples: &[(&str, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let f = |n: u64| n as f64;
    family(
        "pocketftpd_sessions_open",
        "gauge",
        "Client sessions open, by control connection security.",
        &[
            ("{security=\"tls\"}", count(Mark::TLS)),
            ("{security=\"clear\"}", count(Mark::OPEN) - count(Mark::TLS)),
        ],
    );
    family(
        "pocketftpd_sessions_logged_in",
        "gauge",
        "Sessions logged in, by role.",
        &[
            ("{role=\"anonymous\"}", count(Mark::ANONYMOUS)),
            (
                "{role=\"user\"}",
                count(Mark::LOGGED_IN) - count(Mark::ANONYMOUS),
            ),
        ],
    );
    family(
        "pocketftpd_sessions_total",
        "counter",
        "Client sessions started since the daemon started.",
        &[("", f(s.sessions))],
    );
    family(
        "pocketftpd_logins_total",
        "counter",
        "Logins, by result (failed: a password refused).",
        &[
            ("{result=\"ok\"}", f(s.logins)),
            ("{result=\"failed\"}", f(s.logins_failed)),
        ],
    );
    family(
        "pocketftpd_received_bytes_total",
        "counter",
        "Bytes received on data connections (uploads).",
        &[("", f(s.bytes_received))],
    );
    family(
        "pocketftpd_sent_bytes_total",
        "counter",
        "Bytes sent on data connections (downloads and listings).",
        &[("", f(s.bytes_sent))],
    );
    let [[up_ok, up_broken], [down_ok, down_broken]] = s.transfers;
    family(
        "pocketftpd_transfers_total",
        "counter",
        "File transfers ended, by direction and result.",
        &[
            ("{direction=\"upload\",result=\"complete\"}", f(up_ok)),
            ("{direction=\"upload\",result=\"broken\"}", f(up_broken)),
            ("{direction=\"download\",result=\"complete\"}", f(down_ok)),
            ("{direction=\"download\",result=\"broken\"}", f(down_broken)),
        ],
    );
    family(
        "pocketftpd_transfers_running",
        "gauge",
        "Transfers under way, by direction.",
        &[
            ("{direction=\"upload\"}", count(Mark::UPLOAD)),
            ("{direction=\"download\"}", count(Mark::DOWNLOAD)),
            ("{direction=\"listing\"}", count(Mark::LISTING)),
        ],
    );
    family(
        "pocketftpd_data_connections",
        "gauge",
        "Data connections open.",
        &[("", count(Mark::DATA))],
    );
    family(
        "pocketftpd_kicks_total",
        "counter",
        "Sessions ended by the administrator.",
        &[("", f(s.kicks))],
    );
    let (banned, bans) = o.bans;
    family(
        "pocketftpd_bans_active",
        "gauge",
        "Client addresses banned now for failed logins.",
        &[("", banned as f64)],
    );
    family(
        "pocketftpd_bans_total",
        "counter",
        "Bans imposed for failed logins since the daemon started.",
        &[("", f(bans))],
    );
    hook_families(&mut family, &o.hooks);
    if let Some(store) = o.store {
        store_families(&mut family, store);
    }
    if let (Some(free), Some(size)) = (o.free_bytes, o.total_bytes) {
        family(
            "pocketftpd_filesystem_free_bytes",
            "gauge",
            "Bytes free for unprivileged users on the served file system.",
            &[("", f(free))],
        );
        family(
            "pocketftpd_filesystem_size_bytes",
            "gauge",
            "Size of the served file system in bytes.",
            &[("", f(size))],
        );
    }
    family(
        "pocketftpd_uptime_seconds",
        "gauge",
        "Seconds since the daemon started.",
        &[("", s.uptime(o.now).as_secs_f64())],
    );
    if let Some(resident) = resident_bytes() {
        family(
            "pocketftpd_resident_memory_bytes",
            "gauge",
            "Resident memory of the daemon in bytes (from /proc/self/statm).",
            &[("", f(resident))],
        );
    }
    family(
        "pocketftpd_loop_busy_seconds_total",
        "counter",
        "Time the event loop spent working (not waiting for events).",
        &[("", s.busy.as_secs_f64())],
    );
    out
}

/// The upload hooks' families, with a sample per configured hook (none
/// configured: no family).
fn hook_families(
    family: &mut impl FnMut(&str, &str, &str, &[(&str, f64)]),
    hooks: &[(&'static str, Option<HookCounts>)],
) {
    let labelled: Vec<(String, &HookCounts)> = (hooks.iter())
        .filter_map(|(name, counts)| Some((format!("{{hook=\"{name}\"}}"), counts.as_ref()?)))
        .collect();
    if labelled.is_empty() {
        return;
    }
    let samples = |value: fn(&HookCounts) -> f64| -> Vec<(&str, f64)> {
        (labelled.iter())
            .map(|(label, c)| (label.as_str(), value(c)))
            .collect()
    };
    family(
        "pocketftpd_upload_hook_queued",
        "gauge",
        "Upload events waiting for their hook.",
        &samples(|c| c.queued as f64),
    );
    family(
        "pocketftpd_upload_hook_dropped_total",
        "counter",
        "Upload events dropped because the hook's queue was full.",
        &samples(|c| c.dropped as f64),
    );
    family(
        "pocketftpd_upload_hook_failures_total",
        "counter",
        "Upload events whose hook failed (program error or kill, webhook given up).",
        &samples(|c| c.failed as f64),
    );
}

/// The bucket's failed requests, by how they failed, its retries and
/// the connections opened to it.
fn store_families(family: &mut impl FnMut(&str, &str, &str, &[(&str, f64)]), store: &Endpoint) {
    let errors = store.errors();
    let labels = GaveUp::ALL.map(|how| (format!("{{kind=\"{}\"}}", how.label()), how));
    let samples: Vec<(&str, f64)> = (labels.iter())
        .map(|(label, how)| (label.as_str(), errors.count(*how) as f64))
        .collect();
    family(
        "pocketftpd_store_request_errors_total",
        "counter",
        "Requests to the S3 bucket that failed for good, by kind (after their retries).",
        &samples,
    );
    family(
        "pocketftpd_store_request_retries_total",
        "counter",
        "Attempts at requests to the S3 bucket that failed and were asked again.",
        &[("", errors.retries() as f64)],
    );
    family(
        "pocketftpd_store_connections_total",
        "counter",
        "Connections opened to the S3 endpoint (kept-alive ones carry several requests).",
        &[("", store.opened() as f64)],
    );
}

/// Resident memory, from the second field of `/proc/self/statm` (pages).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages.checked_mul(u64::try_from(page).ok()?)
}
