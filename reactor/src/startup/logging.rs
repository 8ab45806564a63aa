//! The log: a line per event on stderr, which systemd's journal keeps.

use std::io;

use log::LevelFilter;

/// Logs to stderr: our own crates at the configured level (SIGHUP may
/// change it: `log::set_max_level`), dependencies at most at `info`, since
/// their debug and trace lines are about their own internals (rustls
/// handshakes, mio registrations), not what an admin looks for.
pub fn start(level: LevelFilter) {
    // pocketftpd and pocketftp_core.
    const OURS: &str = "pocketftp";
    // One thread, and the message says where: no thread id, no source line.
    let config = || {
        let mut builder = simplelog::ConfigBuilder::new();
        builder
            .set_time_format_rfc3339()
            .set_thread_level(LevelFilter::Off)
            .set_location_level(LevelFilter::Off);
        builder
    };
    let ours = config().add_filter_allow_str(OURS).build();
    let theirs = config().add_filter_ignore_str(OURS).build();
    // Only fails if a logger is already set, which cannot happen here.
    let _ = simplelog::CombinedLogger::init(vec![
        simplelog::WriteLogger::new(LevelFilter::Trace, ours, io::stderr()),
        simplelog::WriteLogger::new(LevelFilter::Info, theirs, io::stderr()),
    ]);
    log::set_max_level(level);
}
