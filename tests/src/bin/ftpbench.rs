//! `ftpbench`: the load generator behind `bench/run` (issue 5).
//!
//! A minimal FTP client over `std::net` so that every server, pocketftpd and
//! its peers alike, is driven by the same code. Each run does one workload
//! against one server and prints `key=value` lines on stdout; it never judges
//! the numbers. Every socket has a timeout and every loop a bound, so a
//! misbehaving server ends a run with an error instead of hanging it.
//!
//! ```text
//! ftpbench WORKLOAD --addr 127.0.0.1:PORT [--user U --pass P] [options]
//!   retr   --path P [--clients N] [--repeat R]   aggregate download MB/s
//!   stor   --path P --size BYTES                  upload MB/s
//!   sessions [--threads N] [--secs S]             connect+USER+PASS+QUIT per s
//!   small  --dir D [--count N]                    RETRs of f000.. per s, one session
//!   list   --dir D [--count N]                    LIST round trip ms, entries
//!   idle   --pid PID --count N                    PSS bytes per idle session, NOOP p50/p99
//!   noop   --path P [--clients N] [--secs S]      NOOP p50/p99 under N looping RETRs
//! ```
//!
//! MB is 10^6 bytes.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// Longest wait for any single read, write or connect.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Most lines one reply may span before we call the server broken.
const MAX_REPLY_LINES: usize = 100_000;
/// Transfer buffer: large enough that syscalls are not what we measure.
const CHUNK: usize = 1 << 20;

type Result<T> = std::result::Result<T, String>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args) {
        eprintln!("ftpbench: {e}");
        std::process::exit(1);
    }
}

/// Parsed `--key value` options after the workload name.
struct Opts(HashMap<String, String>);

impl Opts {
    fn parse(args: &[String]) -> Result<Opts> {
        let mut map = HashMap::new();
        let mut it = args.iter();
        while let Some(key) = it.next() {
            let name = key
                .strip_prefix("--")
                .ok_or_else(|| format!("expected --option, got {key:?}"))?;
            let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            map.insert(name.to_string(), value.clone());
        }
        Ok(Opts(map))
    }

    fn str(&self, key: &str, default: Option<&str>) -> Result<String> {
        match (self.0.get(key), default) {
            (Some(v), _) => Ok(v.clone()),
            (None, Some(d)) => Ok(d.to_string()),
            (None, None) => Err(format!("--{key} is required")),
        }
    }

    fn num(&self, key: &str, default: Option<u64>) -> Result<u64> {
        match (self.0.get(key), default) {
            (Some(v), _) => v.parse().map_err(|_| format!("--{key}: not a number: {v}")),
            (None, Some(d)) => Ok(d),
            (None, None) => Err(format!("--{key} is required")),
        }
    }
}

/// Where and as whom to log in; shared by every thread of a workload.
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    user: String,
    pass: String,
}

fn run(args: &[String]) -> Result<()> {
    let (workload, rest) = args
        .split_first()
        .ok_or("usage: ftpbench WORKLOAD --addr A ...")?;
    let o = Opts::parse(rest)?;
    let target = Target {
        addr: o
            .str("addr", None)?
            .parse()
            .map_err(|e| format!("--addr: {e}"))?,
        user: o.str("user", Some("anonymous"))?,
        pass: o.str("pass", Some("bench@example.com"))?,
    };
    match workload.as_str() {
        "retr" => retr(
            &target,
            &o.str("path", None)?,
            o.num("clients", Some(1))?,
            o.num("repeat", Some(1))?,
        ),
        "stor" => stor(&target, &o.str("path", None)?, o.num("size", None)?),
        "sessions" => sessions(&target, o.num("threads", Some(8))?, o.num("secs", Some(2))?),
        "small" => small(&target, &o.str("dir", None)?, o.num("count", Some(200))?),
        "list" => list(&target, &o.str("dir", None)?, o.num("count", Some(5))?),
        "idle" => idle(&target, o.num("pid", None)?, o.num("count", None)?),
        "noop" => noop_under_load(
            &target,
            &o.str("path", None)?,
            o.num("clients", Some(32))?,
            o.num("secs", Some(3))?,
        ),
        other => Err(format!("unknown workload {other:?}")),
    }
}

/// One control connection: one socket (one fd, so 10,000 sessions fit under
/// the 20,000-fd limit), written through the `BufReader`.
struct Control {
    reader: BufReader<TcpStream>,
}

impl Control {
    /// Connects and reads the greeting.
    fn connect(addr: SocketAddr) -> Result<Control> {
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT)
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        stream
            .set_write_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        let mut control = Control {
            reader: BufReader::new(stream),
        };
        control.expect(220)?;
        Ok(control)
    }

    /// Connects and logs in; a server may accept USER alone (230) or ask for PASS (331).
    fn login(t: &Target) -> Result<Control> {
        let mut c = Control::connect(t.addr)?;
        if c.cmd(&format!("USER {}", t.user))?.0 == 331 {
            c.send(&format!("PASS {}", t.pass))?;
            c.expect(230)?;
        }
        Ok(c)
    }

    fn send(&mut self, line: &str) -> Result<()> {
        self.reader
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .map_err(|e| format!("send {line:?}: {e}"))
    }

    /// Reads one reply, multi-line or not; returns its code and last line.
    fn reply(&mut self) -> Result<(u32, String)> {
        let mut line = String::new();
        let mut first_code = None;
        for _ in 0..MAX_REPLY_LINES {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) => return Err("control connection closed".into()),
                Ok(_) => {}
                Err(e) => return Err(format!("reading reply: {e}")),
            }
            let code: Option<u32> = line.get(..3).and_then(|c| c.parse().ok());
            let first = *first_code.get_or_insert(code);
            // A reply ends on "NNN " with the code it began with.
            if code.is_some() && code == first && line.as_bytes().get(3) != Some(&b'-') {
                return Ok((code.unwrap_or(0), line.trim_end().to_string()));
            }
        }
        Err("reply too long".into())
    }

    fn cmd(&mut self, line: &str) -> Result<(u32, String)> {
        self.send(line)?;
        self.reply()
    }

    fn expect(&mut self, code: u32) -> Result<String> {
        let (got, text) = self.reply()?;
        if got == code {
            Ok(text)
        } else {
            Err(format!("expected {code}, got {text:?}"))
        }
    }

    /// Opens a passive data connection: EPSV, or PASV when EPSV is refused.
    fn data(&mut self) -> Result<TcpStream> {
        let peer = self
            .reader
            .get_ref()
            .peer_addr()
            .map_err(|e| e.to_string())?;
        let (code, text) = self.cmd("EPSV")?;
        let port = if code == 229 {
            let inner = text.split("|||").nth(1).and_then(|s| s.split('|').next());
            inner
                .and_then(|p| p.parse::<u16>().ok())
                .ok_or_else(|| format!("bad 229: {text}"))?
        } else {
            let (code, text) = self.cmd("PASV")?;
            let nums: Vec<u16> = text
                .rsplit('(')
                .next()
                .unwrap_or("")
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|s| s.parse().ok())
                .collect();
            if code != 227 || nums.len() < 6 {
                return Err(format!("bad PASV reply: {text}"));
            }
            nums[4] * 256 + nums[5]
        };
        let addr = SocketAddr::new(peer.ip(), port);
        let s = TcpStream::connect_timeout(&addr, TIMEOUT)
            .map_err(|e| format!("data connect {addr}: {e}"))?;
        s.set_read_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        s.set_write_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        Ok(s)
    }

    /// Sends a command that opens the data connection and expects 125 or 150.
    fn start_transfer(&mut self, line: &str) -> Result<()> {
        match self.cmd(line)? {
            (125 | 150, _) => Ok(()),
            (_, text) => Err(format!("{line}: {text}")),
        }
    }

    /// Downloads `path` (or a listing) into `buf`, handing each read to
    /// `seen`; returns the bytes. Downloads look at nothing: the client's
    /// CPU shares the machine with the server it measures.
    fn fetch(&mut self, line: &str, buf: &mut [u8], mut seen: impl FnMut(&[u8])) -> Result<u64> {
        let mut data = self.data()?;
        self.start_transfer(line)?;
        let mut bytes = 0u64;
        loop {
            match data.read(buf) {
                Ok(0) => break,
                Ok(n) => {
                    bytes += n as u64;
                    seen(&buf[..n]);
                }
                Err(e) => return Err(format!("{line}: data read: {e}")),
            }
        }
        drop(data);
        self.expect(226).map_err(|e| format!("{line}: {e}"))?;
        Ok(bytes)
    }

    fn retr(&mut self, path: &str, buf: &mut [u8]) -> Result<u64> {
        self.fetch(&format!("RETR {path}"), buf, |_| {})
    }

    /// Binary mode, so downloads are byte-exact (and may use `sendfile`).
    fn binary(&mut self) -> Result<()> {
        match self.cmd("TYPE I")? {
            (200, _) => Ok(()),
            (_, text) => Err(format!("TYPE I: {text}")),
        }
    }

    fn quit(mut self) -> Result<()> {
        self.send("QUIT")?;
        self.expect(221).map(drop)
    }
}

/// MB/s with MB = 10^6 bytes.
fn mbps(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / elapsed.as_secs_f64() / 1e6
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Joins every thread; the first error wins.
fn join_all<T>(handles: Vec<thread::JoinHandle<Result<T>>>) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(handles.len());
    let mut first_err = None;
    for h in handles {
        match h
            .join()
            .unwrap_or_else(|_| Err("worker thread panicked".into()))
        {
            Ok(v) => out.push(v),
            Err(e) => first_err = first_err.or(Some(e)),
        }
    }
    first_err.map_or(Ok(out), Err)
}

/// `clients` sessions log in, then all RETR `path` `repeat` times at once.
/// Logins are outside the timed span: this row measures data throughput.
fn retr(t: &Target, path: &str, clients: u64, repeat: u64) -> Result<()> {
    let barrier = Arc::new(Barrier::new(clients as usize + 1));
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (t, path, barrier) = (t.clone(), path.to_string(), barrier.clone());
            thread::spawn(move || {
                let login = Control::login(&t).and_then(|mut c| c.binary().map(|_| c));
                barrier.wait();
                let mut c = login?;
                let mut buf = vec![0u8; CHUNK];
                let mut bytes = 0;
                for _ in 0..repeat {
                    bytes += c.retr(&path, &mut buf)?;
                }
                Ok((bytes, Instant::now()))
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let done = join_all(handles)?;
    let end = done.iter().map(|d| d.1).max().unwrap_or(start);
    let bytes = done.iter().map(|d| d.0).sum();
    println!("bytes={bytes}");
    println!("mbps={:.1}", mbps(bytes, end - start));
    Ok(())
}

/// One session uploads `size` bytes to `path`, timed from STOR to its 226.
fn stor(t: &Target, path: &str, size: u64) -> Result<()> {
    let mut c = Control::login(t)?;
    c.binary()?;
    let buf: Vec<u8> = (0..CHUNK).map(|i| (i * 7 + 13) as u8).collect();
    let mut data = c.data()?;
    let start = Instant::now();
    c.start_transfer(&format!("STOR {path}"))?;
    let mut left = size;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        data.write_all(&buf[..n])
            .map_err(|e| format!("data write: {e}"))?;
        left -= n as u64;
    }
    data.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
    // Wait for the server to close its side too, then for the 226.
    let _ = data.read(&mut [0u8; 1]);
    drop(data);
    c.expect(226)?;
    let elapsed = start.elapsed();
    c.quit()?;
    println!("bytes={size}");
    println!("mbps={:.1}", mbps(size, elapsed));
    Ok(())
}

/// `threads` threads loop connect + USER/PASS + QUIT for `secs` seconds.
fn sessions(t: &Target, threads: u64, secs: u64) -> Result<()> {
    let stop = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let t = t.clone();
            thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < stop {
                    Control::login(&t)?.quit()?;
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    let total: u64 = join_all(handles)?.iter().sum();
    println!("sessions={total}");
    println!(
        "per_sec={:.0}",
        total as f64 / start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One session RETRs `dir/f000` .. `dir/f{count-1}`, each over its own data connection.
fn small(t: &Target, dir: &str, count: u64) -> Result<()> {
    let mut c = Control::login(t)?;
    c.binary()?;
    let mut buf = vec![0u8; 64 * 1024];
    let start = Instant::now();
    let mut bytes = 0;
    for i in 0..count {
        bytes += c.retr(&format!("{dir}/f{i:03}"), &mut buf)?;
    }
    let elapsed = start.elapsed();
    c.quit()?;
    println!("bytes={bytes}");
    println!("per_sec={:.0}", count as f64 / elapsed.as_secs_f64());
    Ok(())
}

/// One session LISTs `dir` `count` times; prints the median time and the line count.
fn list(t: &Target, dir: &str, count: u64) -> Result<()> {
    let mut c = Control::login(t)?;
    let mut buf = vec![0u8; CHUNK];
    let mut times = Vec::new();
    let mut lines = 0;
    for _ in 0..count {
        let start = Instant::now();
        lines = 0;
        c.fetch(&format!("LIST {dir}"), &mut buf, |read| {
            lines += read.iter().filter(|&&b| b == b'\n').count();
        })?;
        times.push(start.elapsed());
    }
    c.quit()?;
    times.sort();
    println!("entries={lines}");
    println!("ms={:.2}", percentile(&times, 50.0).as_secs_f64() * 1e3);
    Ok(())
}

/// Sum of `Pss` over `pid` and all its descendants, in KiB.
fn pss_tree_kib(pid: u64) -> Result<u64> {
    let mut parents: HashMap<u64, Vec<u64>> = HashMap::new();
    for entry in fs::read_dir("/proc").map_err(|e| e.to_string())?.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces.
        let Ok(stat) = fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok());
        if let Some(ppid) = ppid {
            parents.entry(ppid).or_default().push(child);
        }
    }
    let (mut total, mut stack) = (0, vec![pid]);
    while let Some(p) = stack.pop() {
        // A process that exits meanwhile simply adds nothing.
        if let Ok(rollup) = fs::read_to_string(format!("/proc/{p}/smaps_rollup")) {
            total += rollup
                .lines()
                .find_map(|l| l.strip_prefix("Pss:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0);
        }
        stack.extend(parents.get(&p).into_iter().flatten());
    }
    Ok(total)
}

/// Round trips of `n` NOOPs on `c`, sorted.
fn noop_times(c: &mut Control, n: usize, gap: Duration) -> Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let (code, text) = c.cmd("NOOP")?;
        if code != 200 {
            return Err(format!("NOOP: {text}"));
        }
        times.push(start.elapsed());
        thread::sleep(gap);
    }
    times.sort();
    Ok(times)
}

fn print_noop(times: &[Duration]) {
    println!("noop_p50_us={}", percentile(times, 50.0).as_micros());
    println!("noop_p99_us={}", percentile(times, 99.0).as_micros());
}

/// Opens `count` logged-in sessions and holds them; reports the growth of the
/// server's PSS per session, checks every session still answers a NOOP, and
/// times NOOPs on one more session while all are held.
fn idle(t: &Target, pid: u64, count: u64) -> Result<()> {
    let before = pss_tree_kib(pid)?;
    let mut held = Vec::with_capacity(count as usize);
    for i in 0..count {
        held.push(Control::login(t).map_err(|e| format!("session {i}: {e}"))?);
    }
    // Let forking servers finish settling their children before we weigh them.
    thread::sleep(Duration::from_secs(1));
    let after = pss_tree_kib(pid)?;
    // Pipelined so the sweep costs one pass, not `count` round trips.
    for c in held.iter_mut() {
        c.send("NOOP")?;
    }
    for c in held.iter_mut() {
        c.expect(200)?;
    }
    let mut probe = Control::login(t)?;
    let times = noop_times(&mut probe, 200, Duration::from_millis(1))?;
    println!("held={}", held.len());
    println!("pss_before_kib={before}");
    println!("pss_after_kib={after}");
    println!(
        "bytes_per_session={}",
        (after.saturating_sub(before) * 1024) / count.max(1)
    );
    print_noop(&times);
    Ok(())
}

/// `clients` sessions loop RETR `path` for `secs` seconds while one more
/// session times NOOPs every millisecond.
fn noop_under_load(t: &Target, path: &str, clients: u64, secs: u64) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let bytes = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(clients as usize + 1));
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (t, path, stop, bytes, barrier) = (
                t.clone(),
                path.to_string(),
                stop.clone(),
                bytes.clone(),
                barrier.clone(),
            );
            thread::spawn(move || {
                let login = Control::login(&t).and_then(|mut c| c.binary().map(|_| c));
                barrier.wait();
                let mut c = login?;
                let mut buf = vec![0u8; CHUNK];
                while !stop.load(Ordering::Relaxed) {
                    bytes.fetch_add(c.retr(&path, &mut buf)?, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    let mut probe = Control::login(t)?;
    barrier.wait();
    let start = Instant::now();
    let mut times = Vec::new();
    let mut failure = None;
    while start.elapsed() < Duration::from_secs(secs) && failure.is_none() {
        match noop_times(&mut probe, 1, Duration::from_millis(1)) {
            Ok(t) => times.extend(t),
            Err(e) => failure = Some(e),
        }
    }
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    join_all(handles)?;
    if let Some(e) = failure {
        return Err(e);
    }
    times.sort();
    println!("samples={}", times.len());
    print_noop(&times);
    println!("mbps={:.1}", mbps(bytes.load(Ordering::Relaxed), elapsed));
    Ok(())
}
