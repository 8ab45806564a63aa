//! Data connections: announcing them on the control connection (`PASV`,
//! `EPSV`, `PORT`, `EPRT`), making them, whole transfers over them and the
//! names in a listing; and the `SO_LINGER` trick that makes a socket end
//! with a reset.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::ctrl::{parse_227, parse_229, Ctrl, Reply, READ_TIMEOUT};

impl Ctrl {
    /// `PASV`, parse the 227 reply strictly, connect to the port on 127.0.0.1.
    pub fn pasv(&mut self) -> DataPlan {
        let r = self.cmd_ok("PASV", 227);
        let (ip, port) =
            parse_227(r.text()).unwrap_or_else(|| panic!("malformed 227 reply {:?}", r.lines[0]));
        assert_eq!(
            ip,
            Ipv4Addr::LOCALHOST,
            "227 announces {ip}, not the control address"
        );
        DataPlan::Passive(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    /// `EPSV`, parse `(|||port|)`.
    pub fn epsv(&mut self) -> DataPlan {
        let r = self.cmd_ok("EPSV", 229);
        let port =
            parse_229(r.text()).unwrap_or_else(|| panic!("malformed 229 reply {:?}", r.lines[0]));
        DataPlan::Passive(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    /// Listen on 127.0.0.1:0 and send `PORT` for it (expects 200).
    pub fn port(&mut self) -> DataPlan {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind active listener");
        let p = l.local_addr().unwrap().port();
        self.cmd_ok(&format!("PORT 127,0,0,1,{},{}", p >> 8, p & 0xff), 200);
        DataPlan::Active(l)
    }

    /// Listen on 127.0.0.1:0 and send `EPRT` for it (expects 200).
    pub fn eprt(&mut self) -> DataPlan {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind active listener");
        let p = l.local_addr().unwrap().port();
        self.cmd_ok(&format!("EPRT |1|127.0.0.1|{p}|"), 200);
        DataPlan::Active(l)
    }

    /// Send a transfer command over a fresh passive address, connecting the
    /// data socket if the daemon lets us (a refusal may come before or after
    /// the connection), and return the first reply.
    pub fn transfer_reply(&mut self, line: &str) -> Reply {
        self.transfer_reply_rest(None, line)
    }

    /// Like [`Ctrl::transfer_reply`], with `REST n` between PASV and the
    /// command.
    pub fn transfer_reply_rest(&mut self, rest: Option<u64>, line: &str) -> Reply {
        let plan = self.pasv();
        if let Some(n) = rest {
            self.cmd_ok(&format!("REST {n}"), 350);
        }
        self.send(line);
        let data = plan.try_open();
        let r = self.reply();
        drop(data);
        r
    }

    /// `TYPE I`, `PASV`, then `line` (a transfer command): makes the data
    /// connection and reads the 150/125, leaving the transfer under way.
    pub fn begin_transfer(&mut self, line: &str) -> TcpStream {
        self.cmd_ok("TYPE I", 200);
        let plan = self.pasv();
        self.send(line);
        let data = plan.open();
        self.expect_one_of(&[125, 150]);
        data
    }

    /// Run a download-like command (`RETR x`, `LIST`, `NLST`, `MLSD`) over a
    /// fresh passive connection; returns the bytes; asserts 150/125 and 226.
    pub fn download(&mut self, line: &str) -> Vec<u8> {
        self.download_rest(None, line)
    }

    /// Like [`Ctrl::download`], with `REST n` between PASV and the command
    /// (the order ftplib and curl use).
    pub fn download_rest(&mut self, rest: Option<u64>, line: &str) -> Vec<u8> {
        let plan = self.pasv();
        if let Some(n) = rest {
            self.cmd_ok(&format!("REST {n}"), 350);
        }
        self.download_via(plan, line)
    }

    /// Send a download-like command for an already announced data address,
    /// make the connection, assert 150/125, read to the end, assert 226.
    pub fn download_via(&mut self, plan: DataPlan, line: &str) -> Vec<u8> {
        self.send(line);
        let mut data = plan.open();
        self.expect_one_of(&[125, 150]);
        let mut out = Vec::new();
        data.read_to_end(&mut out).expect("read data connection");
        drop(data);
        self.expect_reply(226);
        out
    }

    /// Upload bytes with a command (`STOR x`, `APPE x`) over passive; asserts
    /// 150/125 then 226.
    pub fn upload(&mut self, line: &str, bytes: &[u8]) {
        self.upload_rest(None, line, bytes)
    }

    /// Like [`Ctrl::upload`], with `REST n` between PASV and the command.
    pub fn upload_rest(&mut self, rest: Option<u64>, line: &str, bytes: &[u8]) {
        let plan = self.pasv();
        if let Some(n) = rest {
            self.cmd_ok(&format!("REST {n}"), 350);
        }
        self.send(line);
        let mut data = plan.open();
        self.expect_one_of(&[125, 150]);
        data.write_all(bytes).expect("write data connection");
        data.shutdown(Shutdown::Write).ok();
        drop(data);
        self.expect_reply(226);
    }
}

/// A data connection about to be made.
pub enum DataPlan {
    /// Connect to this address once the command was sent.
    Passive(SocketAddr),
    /// Accept from this listener once the command was sent.
    Active(TcpListener),
}

impl DataPlan {
    /// Try to make the data connection; a passive connect gets 2 s, an
    /// active accept is not attempted (the daemon connects on its own).
    pub fn try_open(self) -> Option<TcpStream> {
        match self {
            DataPlan::Passive(addr) => {
                TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()
            }
            DataPlan::Active(_) => None,
        }
    }

    /// Make the data connection (bounded by [`READ_TIMEOUT`]).
    pub fn open(self) -> TcpStream {
        let s = match self {
            DataPlan::Passive(addr) => {
                TcpStream::connect_timeout(&addr, READ_TIMEOUT).expect("connect data (passive)")
            }
            DataPlan::Active(l) => accept_timeout(&l, READ_TIMEOUT)
                .expect("the daemon did not connect the active data connection"),
        };
        s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        s
    }
}

/// The lines of a name listing (NLST's, CRLF or LF), sorted.
pub fn sorted_lines(listing: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = String::from_utf8_lossy(listing)
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect();
    names.sort();
    names
}

/// Accept one connection within `timeout` (bounded poll).
pub fn accept_timeout(l: &TcpListener, timeout: Duration) -> io::Result<TcpStream> {
    l.set_nonblocking(true)?;
    let deadline = Instant::now() + timeout;
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false)?;
                return Ok(s);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "accept timed out"));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Make a socket send RST (not FIN) when dropped: `SO_LINGER` with timeout 0.
#[cfg(target_os = "linux")]
pub fn set_linger_zero(s: &TcpStream) {
    use std::os::fd::AsRawFd;
    #[repr(C)]
    struct Linger {
        l_onoff: i32,
        l_linger: i32,
    }
    extern "C" {
        fn setsockopt(fd: i32, level: i32, name: i32, val: *const Linger, len: u32) -> i32;
    }
    const SOL_SOCKET: i32 = 1;
    const SO_LINGER: i32 = 13;
    let l = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid fd owned by `s` and a correctly sized `struct linger`.
    let rc = unsafe {
        setsockopt(
            s.as_raw_fd(),
            SOL_SOCKET,
            SO_LINGER,
            &l,
            std::mem::size_of::<Linger>() as u32,
        )
    };
    assert_eq!(rc, 0, "setsockopt(SO_LINGER) failed");
}
