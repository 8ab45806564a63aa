//! The log: a line per event on stderr, which systemd's journal keeps.
//! Every line passes through [`escape_for_log`] on its way out, so a file
//! or user name a client chose (`ESC [ 2 J`, a CR or LF, U+2028) can
//! neither drive the admin's terminal nor forge a line, whichever log line
//! it reaches: the call sites need not remember it.

use std::io;

use log::{LevelFilter, Log, Metadata, Record};
use pocketftp_core::escape_for_log;

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
    let lines = simplelog::CombinedLogger::new(vec![
        simplelog::WriteLogger::new(LevelFilter::Trace, ours, io::stderr()),
        simplelog::WriteLogger::new(LevelFilter::Info, theirs, io::stderr()),
    ]);
    // Only fails if a logger is already set, which cannot happen here.
    let _ = log::set_boxed_logger(Box::new(Escaping(lines)));
    log::set_max_level(level);
}

/// A logger whose lines are escaped before `0` writes them.
struct Escaping<L>(L);

impl<L: Log> Log for Escaping<L> {
    fn enabled(&self, metadata: &Metadata) -> bool {
        self.0.enabled(metadata)
    }

    fn log(&self, record: &Record) {
        if !self.0.enabled(record.metadata()) {
            return;
        }
        let text = record.args().to_string();
        self.0.log(
            &Record::builder()
                .metadata(record.metadata().clone())
                .args(format_args!("{}", escape_for_log(&text)))
                .module_path(record.module_path())
                .file(record.file())
                .line(record.line())
                .build(),
        );
    }

    fn flush(&self) {
        self.0.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Lines(Mutex<Vec<String>>);

    impl Log for Lines {
        fn enabled(&self, _: &Metadata) -> bool {
            true
        }

        fn log(&self, record: &Record) {
            self.0.lock().unwrap().push(record.args().to_string());
        }

        fn flush(&self) {}
    }

    #[test]
    fn lines_are_escaped_on_their_way_out() {
        let logger = Escaping(Lines::default());
        let name = "/a\u{1b}[2J\r\nb\u{2028}";
        logger.log(
            &Record::builder()
                .args(format_args!("made folder {name} for {:?}", "u\u{1b}"))
                .build(),
        );
        let lines = logger.0 .0.lock().unwrap();
        assert_eq!(
            *lines,
            ["made folder /a\\u{1b}[2J\\r\\nb\\u{2028} for \"u\\u{1b}\""]
        );
    }
}
