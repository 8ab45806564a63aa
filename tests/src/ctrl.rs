//! The control connection, raw: send lines or bytes, read whole replies
//! strictly (CRLF, codes, multi-line ends), keep a log of the dialogue for
//! failure messages. The commands that set up data connections and move
//! files over them are in `data.rs`.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use crate::ports::port_state;

/// How long any single read from the daemon may take before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(15);

/// One (possibly multi-line) reply.
#[derive(Clone, Debug)]
pub struct Reply {
    pub code: u16,
    /// Every line, without CRLF.
    pub lines: Vec<String>,
}

impl Reply {
    /// The first line's text after "NNN " / "NNN-".
    pub fn text(&self) -> &str {
        self.lines[0].get(4..).unwrap_or("")
    }

    pub fn is_multiline(&self) -> bool {
        self.lines.len() > 1
    }

    /// All lines joined with '\n'.
    pub fn full(&self) -> String {
        self.lines.join("\n")
    }
}

/// A raw control connection.
pub struct Ctrl {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
    /// Every reply and sent line, for failure messages.
    pub log: Vec<String>,
}

impl Ctrl {
    pub fn connect(addr: SocketAddr) -> Ctrl {
        let stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT).unwrap_or_else(|e| {
            panic!(
                "connect control to {addr}: {e} (port {})",
                port_state(addr.port())
            )
        });
        Ctrl::over(stream)
    }

    /// A control connection over `stream`, connected already.
    pub fn over(stream: TcpStream) -> Ctrl {
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Ctrl {
            reader,
            stream,
            log: Vec::new(),
        }
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    pub fn set_read_timeout(&self, t: Duration) {
        self.stream.set_read_timeout(Some(t)).unwrap();
    }

    /// Send raw bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.log
            .push(format!("C: {:?}", String::from_utf8_lossy(bytes)));
        self.stream.write_all(bytes).expect("write to control");
    }

    /// Send one command line (CRLF appended).
    pub fn send(&mut self, line: &str) {
        let mut b = line.as_bytes().to_vec();
        b.extend_from_slice(b"\r\n");
        self.send_raw(&b);
    }

    fn read_line(&mut self) -> io::Result<Option<String>> {
        let mut buf = Vec::new();
        let n = self.reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        assert!(
            buf.ends_with(b"\r\n"),
            "reply line not ending in CRLF: {:?}\n{}",
            String::from_utf8_lossy(&buf),
            self.log.join("\n")
        );
        buf.truncate(buf.len() - 2);
        Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
    }

    /// Read one full reply; `Err` on EOF or timeout.
    pub fn try_reply(&mut self) -> io::Result<Reply> {
        let eof = || io::Error::new(io::ErrorKind::UnexpectedEof, "control connection closed");
        let first = self.read_line()?.ok_or_else(eof)?;
        self.log.push(format!("S: {first}"));
        let code = parse_code(&first)
            .unwrap_or_else(|| panic!("malformed reply line {first:?}\n{}", self.log.join("\n")));
        let mut lines = vec![first.clone()];
        if first.as_bytes()[3] == b'-' {
            let end = format!("{code} ");
            let mut count = 0;
            loop {
                count += 1;
                assert!(count < 100_000, "endless multi-line reply");
                let l = self.read_line()?.ok_or_else(eof)?;
                self.log.push(format!("S: {l}"));
                let done = l.starts_with(&end) || l == end.trim_end();
                lines.push(l);
                if done {
                    break;
                }
            }
        }
        Ok(Reply { code, lines })
    }

    /// Read one full reply (panics on EOF/timeout).
    pub fn reply(&mut self) -> Reply {
        match self.try_reply() {
            Ok(r) => r,
            Err(e) => panic!("no reply: {e}\n{}", self.log.join("\n")),
        }
    }

    /// Read one reply and assert its code.
    pub fn expect_reply(&mut self, code: u16) -> Reply {
        let r = self.reply();
        assert_eq!(
            r.code,
            code,
            "expected {code}, got {:?}\n{}",
            r.lines,
            self.log.join("\n")
        );
        r
    }

    /// Read one reply and assert its code is one of `codes`.
    pub fn expect_one_of(&mut self, codes: &[u16]) -> Reply {
        let r = self.reply();
        assert!(
            codes.contains(&r.code),
            "expected one of {codes:?}, got {:?}\n{}",
            r.lines,
            self.log.join("\n")
        );
        r
    }

    /// Send a command and return its reply.
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send(line);
        self.reply()
    }

    /// Send a command and return its reply, or the error if none came.
    pub fn try_cmd(&mut self, line: &str) -> io::Result<Reply> {
        self.send(line);
        self.try_reply()
    }

    /// Send a command and assert the reply code.
    pub fn cmd_ok(&mut self, line: &str, code: u16) -> Reply {
        self.send(line);
        self.expect_reply(code)
    }

    /// Send a command and assert the reply code is one of `codes`.
    pub fn cmd_any(&mut self, line: &str, codes: &[u16]) -> Reply {
        self.send(line);
        self.expect_one_of(codes)
    }

    /// Assert the server closes the control connection (EOF or reset)
    /// within the read timeout, with no further reply.
    pub fn expect_closed(&mut self) {
        match self.read_line() {
            Ok(None) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            Ok(Some(l)) => panic!("expected close, got {l:?}\n{}", self.log.join("\n")),
            Err(e) => panic!("expected close, got error {e}\n{}", self.log.join("\n")),
        }
    }
}

/// The code of a reply line: three digits then ' ' or '-'.
pub fn parse_code(line: &str) -> Option<u16> {
    let b = line.as_bytes();
    if b.len() < 4 || !b[..3].iter().all(u8::is_ascii_digit) || !(b[3] == b' ' || b[3] == b'-') {
        return None;
    }
    line[..3].parse().ok()
}

/// `Entering Passive Mode (h1,h2,h3,h4,p1,p2).` → address and port.
pub fn parse_227(text: &str) -> Option<(Ipv4Addr, u16)> {
    let open = text.find('(')?;
    let close = text[open..].find(')')? + open;
    let nums: Vec<u8> = text[open + 1..close]
        .split(',')
        .map(|n| n.parse::<u8>())
        .collect::<Result<_, _>>()
        .ok()?;
    if nums.len() != 6 {
        return None;
    }
    let ip = Ipv4Addr::new(nums[0], nums[1], nums[2], nums[3]);
    Some((ip, u16::from(nums[4]) << 8 | u16::from(nums[5])))
}

/// `Entering Extended Passive Mode (|||port|)` → port.
pub fn parse_229(text: &str) -> Option<u16> {
    let open = text.find("(|||")?;
    let rest = &text[open + 4..];
    let end = rest.find("|)")?;
    rest[..end].parse().ok()
}
