//! pocketftpd: the reactor around pocketftp-core.

pub mod activation;
pub mod auth;
pub mod cli;
pub mod config_file;
mod conn;
pub mod net;
pub mod privileges;
pub mod prompt;
pub mod rate;
pub mod server;
pub mod storage;

/// `1 session`, `2 sessions`: a count in a log line, in words that read
/// right for every number (not "1 sessions", not "session(s)").
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_read_right() {
        assert_eq!(super::count(0, "session"), "0 sessions");
        assert_eq!(super::count(1, "session"), "1 session");
        assert_eq!(super::count(2, "stale upload file"), "2 stale upload files");
    }
}
