//! Reading a password for `hash-password`: at a terminal, a prompt on
//! stderr and no echo (the password must not end up on the screen or in a
//! screen recording), twice, since a typo nobody saw would otherwise lock
//! the account out; from a pipe, one line, no prompt.

use std::io::{self, BufRead, Write};
use std::sync::OnceLock;

/// The terminal's settings before echo was turned off, for the SIGINT
/// handler to restore (a Ctrl-C at the prompt must not leave a terminal
/// that shows nothing typed).
static SAVED: OnceLock<libc::termios> = OnceLock::new();

/// Echo off on a terminal until dropped, whatever happens in between.
struct EchoOff {
    saved: libc::termios,
}

impl EchoOff {
    /// `None` when stdin is not a terminal (or its settings cannot be read:
    /// then it is read as it is).
    fn start() -> Option<EchoOff> {
        let fd = libc::STDIN_FILENO;
        // SAFETY: isatty/tcgetattr/tcsetattr on stdin with a termios we own;
        // a zeroed termios is a valid value to be filled in.
        unsafe {
            if libc::isatty(fd) != 1 {
                return None;
            }
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut saved) != 0 {
                return None;
            }
            let _ = SAVED.set(saved);
            libc::signal(
                libc::SIGINT,
                restore_and_die as *const () as libc::sighandler_t,
            );
            let mut quiet = saved;
            // No echo, but the Enter still moves to a new line.
            quiet.c_lflag &= !libc::ECHO;
            quiet.c_lflag |= libc::ECHONL;
            if libc::tcsetattr(fd, libc::TCSANOW, &quiet) != 0 {
                return None;
            }
            Some(EchoOff { saved })
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read from the same descriptor.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
            libc::signal(libc::SIGINT, libc::SIG_DFL);
        }
    }
}

/// SIGINT at the prompt: echo back on, then die of SIGINT as usual.
extern "C" fn restore_and_die(_: libc::c_int) {
    // SAFETY: tcsetattr, signal and raise are async-signal-safe; SAVED
    // was set before this handler was installed.
    unsafe {
        if let Some(saved) = SAVED.get() {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved);
        }
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::raise(libc::SIGINT);
    }
}

/// Reads the password: at a terminal prompted twice and not echoed (an
/// error if the two differ), from a pipe its one line. The error says what
/// went wrong in words.
pub fn read_password() -> Result<String, String> {
    let cannot = |e: io::Error| format!("cannot read the password: {e}");
    let Some(echo_off) = EchoOff::start() else {
        return read_line().map_err(cannot);
    };
    let first = prompted("Password: ").map_err(cannot)?;
    let again = prompted("Password again: ").map_err(cannot)?;
    drop(echo_off);
    if first != again {
        return Err("the two passwords differ: nothing was hashed".to_owned());
    }
    Ok(first)
}

/// Asks for a line on stderr and reads it.
fn prompted(prompt: &str) -> io::Result<String> {
    let mut stderr = io::stderr();
    write!(stderr, "{prompt}")?;
    stderr.flush()?;
    read_line()
}

/// One line of stdin, without its line end.
fn read_line() -> io::Result<String> {
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
