//! The log: a line per event on stderr, which systemd's journal keeps.
//! Every line passes through [`escape_for_log`] on its way out, so a file
//! or user name a client chose (`ESC [ 2 J`, a CR or LF, U+2028) can
//! neither drive the admin's terminal nor forge a line, whichever log line
//! it reaches: the call sites need not remember it.
//!
//! On a terminal or in a file, each line starts with its time and level.
//! Under systemd, whose journal stamps every line itself, a second time
//! would only be noise, and the level must be one the journal understands:
//! there each line starts with its sd-daemon(3) priority instead (`<4>` a
//! warning, `<6>` information), so that `journalctl -p warning` shows the
//! warnings and errors alone.

use std::io::{self, Write};

use log::{Level, LevelFilter, Log, Metadata, Record};
use pocketftp_core::escape_for_log;

/// Our own crates: pocketftpd and pocketftp_core.
const OURS: &str = "pocketftp";

/// Logs to stderr: our own crates at the configured level (SIGHUP may
/// change it: `log::set_max_level`), dependencies at most at `info`, since
/// their debug and trace lines are about their own internals (rustls
/// handshakes, mio registrations), not what an admin looks for.
pub fn start(level: LevelFilter) {
    let lines: Box<dyn Log> = if stderr_is_the_journal() {
        Box::new(Journal)
    } else {
        plain()
    };
    // Only fails if a logger is already set, which cannot happen here.
    let _ = log::set_boxed_logger(Box::new(Escaping(lines)));
    log::set_max_level(level);
}

/// Time, level and message, for a terminal or a file.
fn plain() -> Box<simplelog::CombinedLogger> {
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
    simplelog::CombinedLogger::new(vec![
        simplelog::WriteLogger::new(LevelFilter::Trace, ours, io::stderr()),
        simplelog::WriteLogger::new(LevelFilter::Info, theirs, io::stderr()),
    ])
}

/// Whether stderr goes to the journal: systemd then sets `JOURNAL_STREAM`
/// to the device and inode of that stream (`DEV:INODE`, systemd.exec(5)).
/// A stderr redirected elsewhere by a child of the service no longer
/// matches it, and gets the plain lines.
fn stderr_is_the_journal() -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let mut st = std::mem::MaybeUninit::<libc::stat64>::uninit();
    // SAFETY: fstat64 (64-bit inode numbers on 32-bit boards too) fills
    // `st` on success; nothing else is read.
    if unsafe { libc::fstat64(libc::STDERR_FILENO, st.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: initialised by the successful fstat64 above.
    let st = unsafe { st.assume_init() };
    stream.to_str() == Some(&format!("{}:{}", st.st_dev, st.st_ino))
}

/// Lines for the journal: the priority, then the message.
struct Journal;

impl Log for Journal {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.target().starts_with(OURS) || metadata.level() <= Level::Info
    }

    fn log(&self, record: &Record) {
        if self.enabled(record.metadata()) {
            // One write per line: lines of one process never interleave.
            let line = format!("{}{}\n", priority(record.level()), record.args());
            let _ = io::stderr().lock().write_all(line.as_bytes());
        }
    }

    fn flush(&self) {}
}

/// The sd-daemon(3) prefix of a level: `journalctl -p` filters on it.
fn priority(level: Level) -> &'static str {
    match level {
        Level::Error => "<3>",
        Level::Warn => "<4>",
        Level::Info => "<6>",
        Level::Debug | Level::Trace => "<7>",
    }
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
