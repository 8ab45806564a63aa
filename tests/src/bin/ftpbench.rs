//! `ftpbench`: the load generator behind `bench/run` (issue 5).
//!
//! A minimal FTP client over `std::net` so that every server, pocketftpd and
//! its peers alike, is driven by the same code. Each run does one workload
//! against one server and prints `key=value` lines on stdout; it never judges
//! the numbers. Every socket has a timeout and every loop a bound, so a
//! misbehaving server ends a run with an error instead of hanging it.
//!
//! ```text
//! ftpbench WORKLOAD --addr 127.0.0.1:PORT [--user U --pass P] [--tls CERT.pem] [options]
//!   retr   --path P [--clients N] [--repeat R] [--pid PID | --cpu N]
//!                                                 aggregate download MB/s (server CPU s/GB)
//!   stor   --path P --size BYTES [--pid PID | --cpu N]
//!                                                 upload MB/s (server CPU s/GB)
//!   sessions [--threads N] [--secs S]             connect+USER+PASS+QUIT per s
//!   small  --dir D [--count N]                    RETRs of f000.. per s, one session
//!   smallup --dir D [--count N]                   STORs of 4 KiB u000.. per s, one session
//!   list   --dir D [--count N]                    LIST round trip ms, entries
//!   idle   --pid PID --count N                    PSS bytes per idle session, NOOP p50/p99
//!   uploads --pid PID --dir D --size BYTES [--clients N]
//!                                                 peak PSS bytes per running upload
//!   noop   --path P [--clients N] [--secs S]      NOOP p50/p99 under N looping RETRs
//!   stor-small --dir D [--size BYTES] [--count N] [--clients C]
//!                                                 STORs of new files per s, C sessions
//!   noop-stor --dir D [--size BYTES] [--clients N] [--secs S]
//!                                                 NOOP p50/p99 under N looping small STORs
//! ```
//!
//! MB is 10^6 bytes, GB 10^9.
//!
//! `--tls CERT.pem` makes every session explicit FTPS (RFC 4217): `AUTH TLS`
//! and a handshake right after the greeting, then USER/PASS, `PBSZ 0` and
//! `PROT P`, and every data connection a TLS client too, started after the
//! 125/150 reply. The server must present exactly the certificate in
//! CERT.pem (pinned: the bench's self-signed certificate is a CA, which a
//! WebPKI verifier refuses as a server's own). Each session gets its own
//! session cache, shared by its control and data connections: data
//! connections resume the control connection's TLS session, as vsftpd
//! (`require_ssl_reuse`) insists and curl or lftp do, while every login is a
//! full handshake, as a new client's would be.
//!
//! With `--pid`, `retr` and `stor` also print the server's CPU time over the
//! timed span (user + system of the process and all its descendants, so
//! forking servers count every session's processes) per GB moved. With
//! `--cpu N` instead (a server pinned to CPU N, this client elsewhere), that
//! time is CPU N's busy time from `/proc/stat`: everything the server made
//! the machine do there, its kernel work on the sockets included, and the
//! processes a forking server reaped and forgot.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, HandshakeKind, ProtocolVersion,
    SignatureScheme, StreamOwned,
};

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
    /// FTPS: the configuration each session's own is cloned from.
    tls: Option<Arc<ClientConfig>>,
}

/// Trusts exactly one certificate: the one the bench made for every server.
#[derive(Debug)]
struct Pinned {
    cert: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "not the pinned certificate".to_string(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client configuration (ring; TLS 1.3 and 1.2) that trusts the first
/// certificate in the PEM file `path`.
fn tls_config(path: &str) -> Result<Arc<ClientConfig>> {
    let cert = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("--tls {path}: {e}"))?
        .next()
        .ok_or_else(|| format!("--tls {path}: no certificate"))?
        .map_err(|e| format!("--tls {path}: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(Pinned {
        cert,
        provider: provider.clone(),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
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
        tls: match o.0.get("tls") {
            Some(path) => Some(tls_config(path)?),
            None => None,
        },
    };
    let meter = match (o.0.get("pid"), o.0.get("cpu")) {
        (Some(_), Some(_)) => return Err("--pid or --cpu, not both".into()),
        (Some(_), None) => CpuMeter::Tree(o.num("pid", None)?),
        (None, Some(_)) => CpuMeter::Core(o.num("cpu", None)?),
        (None, None) => CpuMeter::None,
    };
    match workload.as_str() {
        "retr" => retr(
            &target,
            &o.str("path", None)?,
            o.num("clients", Some(1))?,
            o.num("repeat", Some(1))?,
            meter,
        ),
        "stor" => stor(&target, &o.str("path", None)?, o.num("size", None)?, meter),
        "sessions" => sessions(&target, o.num("threads", Some(8))?, o.num("secs", Some(2))?),
        "small" => small(&target, &o.str("dir", None)?, o.num("count", Some(200))?),
        "smallup" => small_up(&target, &o.str("dir", None)?, o.num("count", Some(200))?),
        "list" => list(&target, &o.str("dir", None)?, o.num("count", Some(5))?),
        "idle" => idle(&target, o.num("pid", None)?, o.num("count", None)?),
        "uploads" => uploads(
            &target,
            o.num("pid", None)?,
            &o.str("dir", None)?,
            o.num("clients", Some(8))?,
            o.num("size", None)?,
        ),
        "noop" => noop_under_load(
            &target,
            &o.str("path", None)?,
            o.num("clients", Some(32))?,
            o.num("secs", Some(3))?,
        ),
        "stor-small" => stor_small(
            &target,
            &o.str("dir", None)?,
            o.num("size", Some(4096))?,
            o.num("count", Some(200))?,
            o.num("clients", Some(1))?,
        ),
        "noop-stor" => noop_under_uploads(
            &target,
            &o.str("dir", None)?,
            o.num("size", Some(4096))?,
            o.num("clients", Some(8))?,
            o.num("secs", Some(3))?,
        ),
        other => Err(format!("unknown workload {other:?}")),
    }
}

/// A control or data connection: plain TCP, or TLS over it (client side).
enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Conn {
    /// Starts TLS on `tcp` as a client with `config`; the handshake happens
    /// at the first read or write.
    fn tls(config: &Arc<ClientConfig>, tcp: TcpStream) -> Result<Conn> {
        let name = ServerName::IpAddress(tcp.peer_addr().map_err(|e| e.to_string())?.ip().into());
        let conn = ClientConnection::new(config.clone(), name).map_err(|e| e.to_string())?;
        Ok(Conn::Tls(Box::new(StreamOwned::new(conn, tcp))))
    }

    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => s.get_ref(),
        }
    }

    /// Runs the TLS handshake now (a no-op for plain TCP).
    fn handshake(&mut self) -> Result<()> {
        if let Conn::Tls(s) = self {
            while s.conn.is_handshaking() {
                s.conn
                    .complete_io(&mut s.sock)
                    .map_err(|e| format!("TLS handshake: {e}"))?;
            }
        }
        Ok(())
    }

    /// Whether this TLS connection resumed an earlier session; `None` for
    /// plain TCP or before the handshake.
    fn resumed(&self) -> Option<bool> {
        match self {
            Conn::Plain(_) => None,
            Conn::Tls(s) => s.conn.handshake_kind().map(|k| k == HandshakeKind::Resumed),
        }
    }

    /// Ends our sending side: a TLS `close_notify` first, then a TCP FIN.
    fn finish(&mut self) -> Result<()> {
        if let Conn::Tls(s) = self {
            s.conn.send_close_notify();
            s.flush().map_err(|e| format!("close_notify: {e}"))?;
        }
        self.tcp()
            .shutdown(Shutdown::Write)
            .map_err(|e| e.to_string())
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// What the data connections of one session did with TLS.
#[derive(Default, Clone, Copy)]
struct DataTls {
    conns: u64,
    resumed: u64,
}

/// One control connection: one socket (one fd, so 10,000 sessions fit under
/// the 20,000-fd limit), written through the `BufReader`.
struct Control {
    reader: BufReader<Conn>,
    /// FTPS: this session's configuration and session cache, for its data
    /// connections.
    tls: Option<Arc<ClientConfig>>,
    data_tls: DataTls,
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
            reader: BufReader::new(Conn::Plain(stream)),
            tls: None,
            data_tls: DataTls::default(),
        };
        control.expect(220)?;
        Ok(control)
    }

    /// Connects and logs in; a server may accept USER alone (230) or ask for PASS (331).
    /// With FTPS: `AUTH TLS` and the handshake first, `PBSZ 0` and `PROT P` after.
    fn login(t: &Target) -> Result<Control> {
        let mut c = Control::connect(t.addr)?;
        if let Some(base) = &t.tls {
            c.auth_tls(base)?;
        }
        if c.cmd(&format!("USER {}", t.user))?.0 == 331 {
            c.send(&format!("PASS {}", t.pass))?;
            c.expect(230)?;
        }
        if c.tls.is_some() {
            for line in ["PBSZ 0", "PROT P"] {
                match c.cmd(line)? {
                    (200, _) => {}
                    (_, text) => return Err(format!("{line}: {text}")),
                }
            }
        }
        Ok(c)
    }

    /// `AUTH TLS`, then the handshake, with a fresh session cache of its own
    /// (cloned from `base`): a full handshake, and a session for this
    /// session's data connections to resume.
    fn auth_tls(&mut self, base: &ClientConfig) -> Result<()> {
        match self.cmd("AUTH TLS")? {
            (234, _) => {}
            (_, text) => return Err(format!("AUTH TLS: {text}")),
        }
        if !self.reader.buffer().is_empty() {
            return Err("bytes after 234, before the TLS handshake".into());
        }
        let mut config = base.clone();
        config.resumption = Resumption::in_memory_sessions(1);
        let config = Arc::new(config);
        // TLS over a second handle on the socket; the first closes with the
        // plain reader it replaces, so a session still holds one descriptor.
        let tcp = self
            .reader
            .get_ref()
            .tcp()
            .try_clone()
            .map_err(|e| e.to_string())?;
        let mut conn = Conn::tls(&config, tcp)?;
        conn.handshake()?;
        self.reader = BufReader::new(conn);
        self.tls = Some(config);
        Ok(())
    }

    /// The negotiated TLS version as a number (1.2, 1.3) and cipher suite
    /// (its IANA number), `None` for plain FTP.
    fn tls_params(&self) -> Option<(f64, u16)> {
        match self.reader.get_ref() {
            Conn::Tls(s) => {
                let version = match s.conn.protocol_version() {
                    Some(ProtocolVersion::TLSv1_3) => 1.3,
                    Some(ProtocolVersion::TLSv1_2) => 1.2,
                    _ => -1.0,
                };
                let suite = s.conn.negotiated_cipher_suite()?.suite();
                Some((version, u16::from(suite)))
            }
            Conn::Plain(_) => None,
        }
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
    /// Under FTPS it is a TLS client whose handshake waits for its first
    /// read or write, that is for the 125/150 reply.
    fn data(&mut self) -> Result<Conn> {
        let peer = self
            .reader
            .get_ref()
            .tcp()
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
        match &self.tls {
            Some(config) => Conn::tls(config, s),
            None => Ok(Conn::Plain(s)),
        }
    }

    /// Counts a finished data connection's TLS handshake.
    fn count_data(&mut self, data: &Conn) {
        if let Some(resumed) = data.resumed() {
            self.data_tls.conns += 1;
            self.data_tls.resumed += u64::from(resumed);
        }
    }

    /// STORs `size` bytes (`buf` repeated) to `path` over `data`, through
    /// to the 226.
    fn store(&mut self, mut data: Conn, path: &str, size: u64, buf: &[u8]) -> Result<()> {
        self.start_transfer(&format!("STOR {path}"))?;
        let mut left = size;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            data.write_all(&buf[..n])
                .map_err(|e| format!("data write: {e}"))?;
            left -= n as u64;
        }
        data.finish()?;
        // Wait for the server to close its side too, then for the 226.
        let _ = data.read(&mut [0u8; 1]);
        self.count_data(&data);
        drop(data);
        self.expect(226)?;
        Ok(())
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
        self.count_data(&data);
        drop(data);
        self.expect(226).map_err(|e| format!("{line}: {e}"))?;
        Ok(bytes)
    }

    fn retr(&mut self, path: &str, buf: &mut [u8]) -> Result<u64> {
        self.fetch(&format!("RETR {path}"), buf, |_| {})
    }

    /// Uploads `bytes` to `path` and waits for the 226 (which, with
    /// `--sync`, follows the syncs); returns the bytes.
    fn put(&mut self, path: &str, bytes: &[u8]) -> Result<u64> {
        let mut data = self.data()?;
        self.start_transfer(&format!("STOR {path}"))?;
        data.write_all(bytes)
            .map_err(|e| format!("STOR {path}: data write: {e}"))?;
        data.finish()?;
        let _ = data.read(&mut [0u8; 1]);
        self.count_data(&data);
        drop(data);
        self.expect(226).map_err(|e| format!("STOR {path}: {e}"))?;
        Ok(bytes.len() as u64)
    }

    /// Binary mode, so downloads are byte-exact (and may use `sendfile`).
    fn binary(&mut self) -> Result<()> {
        match self.cmd("TYPE I")? {
            (200, _) => Ok(()),
            (_, text) => Err(format!("TYPE I: {text}")),
        }
    }

    fn quit(&mut self) -> Result<()> {
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

/// Where the server's CPU time is read.
#[derive(Clone, Copy)]
enum CpuMeter {
    None,
    /// A process and its descendants (`--pid`).
    Tree(u64),
    /// The busy time of the CPU the server is pinned to (`--cpu`).
    Core(u64),
}

/// Server CPU seconds so far, if a meter was asked for.
fn cpu_now(meter: CpuMeter) -> Result<Option<f64>> {
    match meter {
        CpuMeter::None => Ok(None),
        CpuMeter::Tree(pid) => cpu_tree_secs(pid).map(Some),
        CpuMeter::Core(cpu) => core_busy_secs(cpu).map(Some),
    }
}

/// Prints the server's CPU time between `before` and now, per GB moved.
fn print_cpu(meter: CpuMeter, before: Option<f64>, bytes: u64) -> Result<()> {
    if let (Some(before), Some(after)) = (before, cpu_now(meter)?) {
        let secs = after - before;
        println!("cpu_s={secs:.2}");
        println!("cpu_s_per_gb={:.3}", secs / (bytes.max(1) as f64 / 1e9));
    }
    Ok(())
}

/// FTPS facts of a run: the control connection's TLS version and cipher
/// suite, and how many data connections resumed their control connection's
/// session.
fn print_tls(controls: &[Control]) {
    let Some((version, suite)) = controls.first().and_then(Control::tls_params) else {
        return;
    };
    println!("tls_version={version}");
    println!("tls_suite={suite}");
    let conns: u64 = controls.iter().map(|c| c.data_tls.conns).sum();
    let resumed: u64 = controls.iter().map(|c| c.data_tls.resumed).sum();
    println!("data_tls_conns={conns}");
    println!("data_tls_resumed={resumed}");
}

/// `clients` sessions log in, then all RETR `path` `repeat` times at once.
/// Logins are outside the timed span: this row measures data throughput.
/// Sessions stay open until the last transfer ends, so the server's CPU time
/// (with `pid`) covers the transfers alone, not logins nor teardowns.
fn retr(t: &Target, path: &str, clients: u64, repeat: u64, meter: CpuMeter) -> Result<()> {
    // Twice: once all have logged in (the CPU count starts), then to go.
    let barrier = Arc::new(Barrier::new(clients as usize + 1));
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (t, path, barrier) = (t.clone(), path.to_string(), barrier.clone());
            thread::spawn(move || {
                let login = Control::login(&t).and_then(|mut c| c.binary().map(|_| c));
                barrier.wait();
                barrier.wait();
                let mut c = login?;
                let mut buf = vec![0u8; CHUNK];
                let mut bytes = 0;
                for _ in 0..repeat {
                    bytes += c.retr(&path, &mut buf)?;
                }
                Ok((bytes, Instant::now(), c))
            })
        })
        .collect();
    barrier.wait();
    let cpu = cpu_now(meter)?;
    barrier.wait();
    let start = Instant::now();
    let done = join_all(handles)?;
    let end = done.iter().map(|d| d.1).max().unwrap_or(start);
    let bytes = done.iter().map(|d| d.0).sum();
    println!("bytes={bytes}");
    println!("mbps={:.1}", mbps(bytes, end - start));
    print_cpu(meter, cpu, bytes)?;
    let controls: Vec<Control> = done.into_iter().map(|d| d.2).collect();
    print_tls(&controls);
    Ok(())
}

/// One session uploads `size` bytes to `path`, timed from STOR to its 226.
fn stor(t: &Target, path: &str, size: u64, meter: CpuMeter) -> Result<()> {
    let mut c = Control::login(t)?;
    c.binary()?;
    let buf: Vec<u8> = (0..CHUNK).map(|i| (i * 7 + 13) as u8).collect();
    let data = c.data()?;
    let cpu = cpu_now(meter)?;
    let start = Instant::now();
    c.store(data, path, size, &buf)?;
    let elapsed = start.elapsed();
    println!("bytes={size}");
    println!("mbps={:.1}", mbps(size, elapsed));
    print_cpu(meter, cpu, size)?;
    c.quit()?;
    print_tls(&[c]);
    Ok(())
}

/// One session STORs `count` files of 4 KiB into `dir` (`u000`, ...), one
/// after another: with upload hooks configured, what their queue costs.
fn small_up(t: &Target, dir: &str, count: u64) -> Result<()> {
    let mut c = Control::login(t)?;
    c.binary()?;
    let file: Vec<u8> = (0..4096).map(|i| (i * 7 + 13) as u8).collect();
    let start = Instant::now();
    for i in 0..count {
        let data = c.data()?;
        c.store(data, &format!("{dir}/u{i:03}"), file.len() as u64, &file)?;
    }
    let elapsed = start.elapsed();
    c.quit()?;
    println!("bytes={}", count * file.len() as u64);
    println!("per_sec={:.0}", count as f64 / elapsed.as_secs_f64());
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

/// The fields of `/proc/PID/stat` after the command name, from field 3 (state) on.
fn proc_stat(pid: u64) -> Option<Vec<String>> {
    // "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// `pid` and all its descendants.
fn process_tree(pid: u64) -> Result<Vec<u64>> {
    let mut parents: HashMap<u64, Vec<u64>> = HashMap::new();
    for entry in fs::read_dir("/proc").map_err(|e| e.to_string())?.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        let ppid = proc_stat(child).and_then(|f| f.get(1)?.parse().ok());
        if let Some(ppid) = ppid {
            parents.entry(ppid).or_default().push(child);
        }
    }
    let (mut tree, mut stack) = (Vec::new(), vec![pid]);
    while let Some(p) = stack.pop() {
        tree.push(p);
        stack.extend(parents.get(&p).into_iter().flatten());
    }
    Ok(tree)
}

/// Sum of `Pss` over `pid` and all its descendants, in KiB.
fn pss_tree_kib(pid: u64) -> Result<u64> {
    let mut total = 0;
    for p in process_tree(pid)? {
        // A process that exits meanwhile simply adds nothing.
        if let Ok(rollup) = fs::read_to_string(format!("/proc/{p}/smaps_rollup")) {
            total += rollup
                .lines()
                .find_map(|l| l.strip_prefix("Pss:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(total)
}

/// CPU seconds (user + system) that `pid` and its descendants have used:
/// for each live process its own time and that of the children it reaped
/// (utime, stime, cutime, cstime), so a forking server's finished sessions
/// count too. A process's figures cover all its threads.
fn cpu_tree_secs(pid: u64) -> Result<f64> {
    /// `USER_HZ`, the unit of these fields, is 100 on every Linux ABI.
    const TICKS_PER_SEC: f64 = 100.0;
    let mut ticks = 0u64;
    for p in process_tree(pid)? {
        if let Some(f) = proc_stat(p) {
            // Fields 14-17 of stat, counted from 3 here.
            ticks += f
                .get(11..15)
                .into_iter()
                .flatten()
                .filter_map(|v| v.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    Ok(ticks as f64 / TICKS_PER_SEC)
}

/// Seconds CPU `cpu` has been busy since boot: every field of its
/// `/proc/stat` line but idle and iowait.
fn core_busy_secs(cpu: u64) -> Result<f64> {
    /// `USER_HZ`, as for [`cpu_tree_secs`].
    const TICKS_PER_SEC: f64 = 100.0;
    let stat = fs::read_to_string("/proc/stat").map_err(|e| format!("/proc/stat: {e}"))?;
    let name = format!("cpu{cpu}");
    let fields: Vec<u64> = stat
        .lines()
        .map(|l| l.split_whitespace())
        .find_map(|mut f| (f.next() == Some(name.as_str())).then_some(f))
        .ok_or_else(|| format!("/proc/stat has no {name}"))?
        .map(|v| v.parse().map_err(|e| format!("/proc/stat {name}: {e}")))
        .collect::<Result<_>>()?;
    // user nice system idle iowait irq softirq steal (guest time is in user).
    let busy: u64 = fields
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    Ok(busy as f64 / TICKS_PER_SEC)
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

/// How often [`uploads`] weighs the server while its uploads run.
const PSS_SAMPLE_GAP: Duration = Duration::from_millis(100);

/// `clients` sessions log in, then all STOR `size` bytes at once (to
/// `dir/run-N`); reports the highest growth of the server's PSS seen while
/// they ran, per upload: what a running upload holds (for the S3 back-end,
/// its parts in memory), the idle session's share included.
fn uploads(t: &Target, pid: u64, dir: &str, clients: u64, size: u64) -> Result<()> {
    let before = pss_tree_kib(pid)?;
    let barrier = Arc::new(Barrier::new(clients as usize + 1));
    let running = Arc::new(AtomicU64::new(clients));
    let handles: Vec<_> = (0..clients)
        .map(|client| {
            let (t, barrier, running) = (t.clone(), barrier.clone(), running.clone());
            let path = format!("{dir}/run-{client}");
            thread::spawn(move || {
                let login = Control::login(&t).and_then(|mut c| c.binary().map(|_| c));
                barrier.wait();
                let upload = login.and_then(|mut c| {
                    let buf = small_content(CHUNK as u64);
                    let data = c.data()?;
                    c.store(data, &path, size, &buf)?;
                    c.quit()
                });
                running.fetch_sub(1, Ordering::Relaxed);
                upload
            })
        })
        .collect();
    barrier.wait();
    let mut peak = before;
    while running.load(Ordering::Relaxed) > 0 {
        peak = peak.max(pss_tree_kib(pid)?);
        thread::sleep(PSS_SAMPLE_GAP);
    }
    join_all(handles)?;
    println!("pss_before_kib={before}");
    println!("pss_peak_kib={peak}");
    println!(
        "bytes_per_upload={}",
        (peak.saturating_sub(before) * 1024) / clients.max(1)
    );
    Ok(())
}

/// `clients` sessions loop RETR `path` for `secs` seconds while one more
/// session times NOOPs every millisecond.
fn noop_under_load(t: &Target, path: &str, clients: u64, secs: u64) -> Result<()> {
    // Each session's thread gets a clone of the closure: a buffer of its own.
    let (path, mut buf) = (path.to_owned(), Vec::new());
    let (bytes, _, elapsed) = noop_while(t, clients, secs, move |c, _, _| {
        buf.resize(CHUNK, 0);
        c.retr(&path, &mut buf)
    })?;
    println!("mbps={:.1}", mbps(bytes, elapsed));
    Ok(())
}

/// `clients` sessions loop STOR of `size`-byte files into `dir` (each over
/// its own 100 names, so the disk holds a bounded set) for `secs` seconds
/// while one more session times NOOPs every millisecond: the loop must
/// answer while uploads wait for their syncs.
fn noop_under_uploads(t: &Target, dir: &str, size: u64, clients: u64, secs: u64) -> Result<()> {
    let (dir, content) = (dir.to_owned(), small_content(size));
    let (_, files, elapsed) = noop_while(t, clients, secs, move |c, client, n| {
        c.put(&format!("{dir}/c{client}-{:02}", n % 100), &content)
    })?;
    println!("files_per_sec={:.0}", files as f64 / elapsed.as_secs_f64());
    Ok(())
}

/// `clients` sessions upload `count` new `size`-byte files into `dir`
/// between them, each over its own data connection.
fn stor_small(t: &Target, dir: &str, size: u64, count: u64, clients: u64) -> Result<()> {
    let content = Arc::new(small_content(size));
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|client| {
            let (t, dir, content) = (t.clone(), dir.to_owned(), content.clone());
            thread::spawn(move || {
                let mut c = Control::login(&t)?;
                c.binary()?;
                let mine = (client..count).step_by(clients as usize);
                for i in mine.clone() {
                    c.put(&format!("{dir}/f{i:05}"), &content)?;
                }
                c.quit()?;
                Ok(mine.count() as u64)
            })
        })
        .collect();
    let files: u64 = join_all(handles)?.iter().sum();
    let elapsed = start.elapsed();
    println!("files={files}");
    println!("per_sec={:.0}", files as f64 / elapsed.as_secs_f64());
    println!("mbps={:.1}", mbps(files * size, elapsed));
    Ok(())
}

/// The bytes of a small upload.
fn small_content(size: u64) -> Vec<u8> {
    (0..size).map(|i| (i * 7 + 13) as u8).collect()
}

/// `clients` sessions (in binary mode) each run `work(session, client, n)`
/// for n = 0, 1, ... for `secs` seconds while one more session times NOOPs
/// every millisecond; prints the NOOP times, and returns the bytes `work`
/// moved, how many times it ran, and the time it had.
fn noop_while<W>(t: &Target, clients: u64, secs: u64, work: W) -> Result<(u64, u64, Duration)>
where
    W: FnMut(&mut Control, u64, u64) -> Result<u64> + Clone + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let (bytes, runs) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let barrier = Arc::new(Barrier::new(clients as usize + 1));
    let handles: Vec<_> = (0..clients)
        .map(|client| {
            let (t, stop, bytes, runs, barrier, mut work) = (
                t.clone(),
                stop.clone(),
                bytes.clone(),
                runs.clone(),
                barrier.clone(),
                work.clone(),
            );
            thread::spawn(move || {
                let login = Control::login(&t).and_then(|mut c| c.binary().map(|_| c));
                barrier.wait();
                let mut c = login?;
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    bytes.fetch_add(work(&mut c, client, n)?, Ordering::Relaxed);
                    runs.fetch_add(1, Ordering::Relaxed);
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
    let (bytes, runs) = (bytes.load(Ordering::Relaxed), runs.load(Ordering::Relaxed));
    Ok((bytes, runs, elapsed))
}
