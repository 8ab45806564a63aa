//! A logger for tests: each thread keeps its own records, so tests running
//! in parallel see only the lines of the sessions they drive.

use std::cell::RefCell;
use std::sync::Once;

use log::{Level, LevelFilter, Log, Metadata, Record};

thread_local! {
    static LINES: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
}

struct Capture;

impl Log for Capture {
    fn enabled(&self, _: &Metadata) -> bool {
        true
    }

    fn log(&self, record: &Record) {
        let line = (record.level(), record.args().to_string());
        LINES.with(|lines| lines.borrow_mut().push(line));
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture;

/// Runs `f` and returns what it logged on this thread, every level.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<(Level, String)>) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Only this module installs a logger in the core's tests.
        let _ = log::set_logger(&CAPTURE);
        log::set_max_level(LevelFilter::Trace);
    });
    LINES.with(|lines| lines.borrow_mut().clear());
    let out = f();
    (out, LINES.with(|lines| lines.take()))
}
