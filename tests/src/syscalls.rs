//! The daemon's system calls, recorded with `strace` attached to its
//! every thread (`-f -p`: the sync worker's too), with each descriptor's
//! path (`-y`), so a test can assert their order: a reply sent only after
//! the syncs it promises.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::daemon::wait_until;
use crate::programs::{is_root, need_program, skip};
use crate::trees::TempDir;

/// Can this test trace the daemon: strace installed, and root (attaching
/// to a process that is not strace's child needs it)? If not, the test is
/// skipped (a failure under `CI`, which installs strace and runs as root).
pub fn need_strace() -> bool {
    if !need_program("strace") {
        return false;
    }
    if !is_root() {
        skip("strace attaches to the daemon: run the test as root");
        return false;
    }
    true
}

/// The calls recorded: what durability is made of, and what replies.
const TRACED: &str = "trace=fsync,fdatasync,sync_file_range,rename,renameat,renameat2,sendto,write";

/// `strace` attached to a running process.
pub struct Trace {
    strace: Child,
    out: PathBuf,
    _dir: TempDir,
}

/// One system call: its name, its arguments and result as strace wrote
/// them, and the places in the trace where it started and where it
/// returned (a call another thread's interrupts takes two lines).
#[derive(Debug, Clone)]
pub struct Call {
    pub name: String,
    pub text: String,
    pub started: usize,
    pub ended: usize,
}

impl Trace {
    /// Attaches to every thread of `pid`; returns once strace says so.
    pub fn attach(pid: u32) -> Trace {
        let dir = TempDir::new("strace");
        let (out, err) = (dir.join("trace"), dir.join("stderr"));
        let strace = Command::new("strace")
            .args(["-f", "-y", "-s", "64", "-e", TRACED, "-o"])
            .arg(&out)
            .args(["-p", &pid.to_string()])
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(&err).expect("strace's stderr"))
            .spawn()
            .expect("run strace");
        let attached = wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(&err).is_ok_and(|e| e.contains("attached"))
        });
        let trace = Trace {
            strace,
            out,
            _dir: dir,
        };
        assert!(
            attached,
            "strace did not attach: {}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
        trace
    }

    /// Detaches, and returns the calls in the order they started.
    pub fn finish(mut self) -> Vec<Call> {
        self.stop();
        let text = std::fs::read_to_string(&self.out).expect("read the trace");
        parse(&text)
    }

    fn stop(&mut self) {
        let pid = self.strace.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let stopped = wait_until(Duration::from_secs(10), || {
            matches!(self.strace.try_wait(), Ok(Some(_)))
        });
        if !stopped {
            let _ = self.strace.kill();
            let _ = self.strace.wait();
        }
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        if matches!(self.strace.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}

/// strace -f's lines: `PID name(args) = result`, or a call cut in two,
/// `PID name(args <unfinished ...>` then `PID <... name resumed>rest`.
fn parse(text: &str) -> Vec<Call> {
    let mut calls: Vec<Call> = Vec::new();
    let mut unfinished: Vec<(String, usize)> = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        let Some((pid, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(resumed) = rest.strip_prefix("<... ") {
            if let Some(at) = unfinished.iter().position(|(p, _)| p == pid) {
                let (_, index) = unfinished.remove(at);
                calls[index].ended = line_no;
                calls[index].text.push_str(resumed);
            }
            continue;
        }
        let Some((name, _)) = rest.split_once('(') else {
            continue; // signals, exits
        };
        let cut = rest.ends_with("<unfinished ...>");
        if cut {
            unfinished.push((pid.to_owned(), calls.len()));
        }
        calls.push(Call {
            name: name.to_owned(),
            text: rest.to_owned(),
            started: line_no,
            ended: line_no,
        });
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_cut_in_two_end_where_they_resume() {
        let text = "\
10 sendto(9<TCP>, \"150 Ok\\r\\n\", 8, MSG_NOSIGNAL, NULL, 0) = 8
11 fsync(13</r/.pocketftpd-upload-1> <unfinished ...>
10 write(2<pipe>, \"x\", 1) = 1
11 <... fsync resumed>) = 0
+++ exited with 0 +++
10 sendto(9<TCP>, \"226 Done\\r\\n\", 10, MSG_NOSIGNAL, NULL, 0) = 10
";
        let calls = parse(text);
        let names: Vec<_> = calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["sendto", "fsync", "write", "sendto"]);
        assert_eq!((calls[1].started, calls[1].ended), (1, 3));
        assert!(calls[1].text.ends_with(") = 0"));
        assert_eq!((calls[3].started, calls[3].ended), (5, 5));
    }
}
