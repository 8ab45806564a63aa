//! Finished transfers, and their line in the standard `xferlog` format that
//! log analysers read (wu-ftpd, vsftpd, ProFTPD all write it).

use std::net::IpAddr;

use crate::boundary::path::VirtualPath;
use crate::format::escape::escape_for_log;
use crate::format::time::CivilTime;

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// One file transfer that started (`150` was sent), complete or not.
#[derive(Clone, Debug, PartialEq)]
pub struct TransferRecord {
    pub peer: IpAddr,
    pub path: VirtualPath,
    /// Bytes moved over the data connection.
    pub bytes: u64,
    pub seconds: f64,
    /// TYPE A (converted) rather than binary.
    pub ascii: bool,
    /// To the client (RETR) rather than from it.
    pub outgoing: bool,
    pub anonymous: bool,
    pub user: String,
    /// Ended with `226`.
    pub complete: bool,
}

impl TransferRecord {
    /// The xferlog line (no newline) for a transfer that ended at `now`
    /// (Unix seconds; written as UTC). Names are escaped as in every log
    /// ([`escape_for_log`]), then their blanks become `_`, so every line
    /// has the same fourteen fields and is one line.
    pub fn xferlog_line(&self, now: i64) -> String {
        let t = CivilTime::from_unix(now);
        let weekday = DAYS[(now.div_euclid(86_400) + 4).rem_euclid(7) as usize];
        let month = t.month_abbr();
        let blank_free = |s: &str| escape_for_log(s).replace(char::is_whitespace, "_");
        format!(
            "{weekday} {month} {:>2} {:02}:{:02}:{:02} {} {} {} {} {} {} _ {} {} {} ftp 0 * {}",
            t.day,
            t.hour,
            t.minute,
            t.second,
            t.year,
            self.seconds.round().max(1.0) as u64,
            self.peer,
            self.bytes,
            blank_free(self.path.as_str()),
            if self.ascii { 'a' } else { 'b' },
            if self.outgoing { 'o' } else { 'i' },
            if self.anonymous { 'a' } else { 'r' },
            blank_free(&self.user),
            if self.complete { 'c' } else { 'i' },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xferlog_lines() {
        let mut record = TransferRecord {
            peer: "127.0.0.1".parse().unwrap(),
            path: VirtualPath::resolve(&VirtualPath::root(), "/pub/a file.bin").unwrap(),
            bytes: 3_000_000,
            seconds: 0.004,
            ascii: false,
            outgoing: true,
            anonymous: true,
            user: "anonymous".into(),
            complete: true,
        };
        assert_eq!(
            record.xferlog_line(1_795_575_600),
            "Wed Nov 25 03:00:00 2026 1 127.0.0.1 3000000 /pub/a_file.bin b _ o a anonymous ftp 0 * c"
        );
        record.outgoing = false;
        record.anonymous = false;
        record.ascii = true;
        record.complete = false;
        record.user = "alice".into();
        record.seconds = 12.6;
        assert_eq!(
            record.xferlog_line(0),
            "Thu Jan  1 00:00:00 1970 13 127.0.0.1 3000000 /pub/a_file.bin a _ i r alice ftp 0 * i"
        );
        let name = "/\u{1b}]0;x\u{7}\u{1b}[2J\r\n\u{2028}.bin";
        record.path = VirtualPath::resolve(&VirtualPath::root(), name).unwrap();
        record.user = "a\u{1b}[1m b".into();
        assert_eq!(
            record.xferlog_line(0),
            "Thu Jan  1 00:00:00 1970 13 127.0.0.1 3000000 \
             /\\u{1b}]0;x\\u{7}\\u{1b}[2J\\r\\n\\u{2028}.bin a _ i r a\\u{1b}[1m_b ftp 0 * i"
        );
    }
}
