//! The bodies of the fuzz targets in `fuzz/`. They live here so that
//! ordinary `cargo test` compiles and runs them too (the seeded simulation
//! below, and the corpus replay in `fuzz/`), on stable Rust.
//!
//! Invariants, asserted by [`sim`](crate::testing::sim): no panic; every
//! reply line is `NNN text` / `NNN-text` / a continuation, and ends in CRLF;
//! each `150` is followed by exactly one final transfer reply; buffers stay
//! within their caps; no action names a path outside the root; a data
//! connection from a foreign address is never used; whole and byte-at-a-time
//! input agree.

use std::time::Duration;

use crate::testing::sim::{run_both_on, MemFs, Op};
use crate::wire::command;
use crate::wire::line::{Line, LineReader, MAX_LINE};
use crate::wire::proxy::{self, Parsed, ProxyHeader, MAX_HEADER};
use crate::{Access, Config, ErrorKind, VirtualPath};

/// Arbitrary bytes into the line reader and the command parser.
pub fn command(data: &[u8]) {
    let _ = command::parse(data);
    let mut reader = LineReader::default();
    for chunk in data.chunks(97) {
        reader.push(chunk);
        while let Some(peeked) = reader.peek() {
            reader.consume(&peeked);
            if let Line::Command(line) = peeked.line {
                assert!(line.len() < MAX_LINE);
                let _ = command::parse(&line);
            }
        }
        assert!(reader.room() <= 2 * MAX_LINE);
    }
}

/// Arbitrary working folder and argument (split at the first LF) into the
/// path normaliser: the result is absolute, normalised, and stable.
pub fn path(data: &[u8]) {
    let (cwd, arg) = match memchr::memchr(b'\n', data) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"/"[..], data),
    };
    let (Ok(cwd), Ok(arg)) = (std::str::from_utf8(cwd), std::str::from_utf8(arg)) else {
        return;
    };
    let Ok(cwd) = VirtualPath::resolve(&VirtualPath::root(), cwd) else {
        return;
    };
    let Ok(path) = VirtualPath::resolve(&cwd, arg) else {
        return;
    };
    let p = path.as_str();
    assert!(p.starts_with('/'));
    assert!(!p.contains(['\0', '\\']));
    assert!(
        p == "/" || p.split('/').skip(1).all(|c| !matches!(c, "" | "." | "..")),
        "{p:?}"
    );
    assert_eq!(
        VirtualPath::resolve(&VirtualPath::root(), p).as_ref(),
        Ok(&path)
    );
    assert_eq!(VirtualPath::resolve(&cwd, p).as_ref(), Ok(&path));
}

/// A whole session driven by an arbitrary list of operations against the
/// in-memory file system: control bytes in arbitrary chunks, EOF, clock
/// jumps, data connections from the client or elsewhere, transfer results
/// (an upload received, its commit waiting for its settle time) and
/// file-system faults.
pub fn session(data: &[u8]) {
    let Some((&settings, ops)) = data.split_first() else {
        return;
    };
    let config = Config {
        users: settings & 1 != 0,
        anonymous: settings & 2 != 0,
        anonymous_access: match settings & 4 != 0 {
            true => Access::Super,
            false if settings & 0x40 != 0 => Access::Upload,
            false => Access::ReadOnly,
        },
        login_delay: Duration::from_millis(u64::from(settings >> 4) * 100),
        max_login_failures: u32::from(settings >> 6) + 1,
        idle_timeout: Duration::from_secs(300),
        data_timeout: Duration::from_secs(60),
        tls: settings & 8 != 0,
        tls_required: settings & 8 != 0 && settings & 0x20 != 0,
        ..Config::default()
    };
    let implicit_tls = settings & 8 != 0 && settings & 0x10 != 0;
    let fs = MemFs::default()
        .with_file("/hello.txt", b"hello\nworld\n")
        .with_dir("/pub")
        .with_file("/pub/data.bin", &[7u8; 100]);
    run_both_on(&config, &fs, &decode(ops), implicit_tls);
}

/// Arbitrary bytes as the first bytes of a connection on a PROXY protocol
/// listener, whole and as each of their prefixes (a header split across
/// reads byte by byte): no panic; never `Incomplete` past [`MAX_HEADER`]
/// bytes; a header never longer than the bytes given; a prefix's verdict,
/// once not `Incomplete`, is the whole input's; a client's addresses
/// written back as a version 1 line parse to themselves.
pub fn proxy(data: &[u8]) {
    let whole = proxy::parse(data);
    for end in 0..=data.len() {
        match proxy::parse(&data[..end]) {
            Parsed::Incomplete => assert!(end < MAX_HEADER, "incomplete after {end} bytes"),
            verdict => {
                assert_eq!(verdict, whole, "after {end} bytes");
                break;
            }
        }
    }
    let Parsed::Complete { header, length } = whole else {
        return;
    };
    assert!(length <= data.len() && length <= MAX_HEADER);
    if let ProxyHeader::Proxied {
        source,
        destination,
    } = header
    {
        if source.is_ipv4() == destination.is_ipv4() {
            let family = if source.is_ipv4() { "TCP4" } else { "TCP6" };
            let (s, d) = (source, destination);
            let line = format!(
                "PROXY {family} {} {} {} {}\r\n",
                s.ip(),
                d.ip(),
                s.port(),
                d.port()
            );
            let length = line.len();
            assert_eq!(
                proxy::parse(line.as_bytes()),
                Parsed::Complete { header, length }
            );
        }
    }
}

/// Commands that reach deep states quickly; raw bytes cover the rest.
const DICTIONARY: &[&[u8]] = &[
    b"USER anonymous\r\n",
    b"USER alice\r\n",
    b"USER dropbox\r\n",
    b"PASS secret\r\n",
    b"PASS x\r\n",
    b"PASV\r\n",
    b"EPSV\r\n",
    b"EPSV ALL\r\n",
    b"EPSV 2\r\n",
    b"PORT 127,0,0,1,4,1\r\n",
    b"PORT 10,0,0,1,4,1\r\n",
    b"EPRT |1|127.0.0.1|5000|\r\n",
    b"EPRT |2|::1|5000|\r\n",
    b"RETR hello.txt\r\n",
    b"RETR pub/data.bin\r\n",
    b"RETR missing\r\n",
    b"RETR ../../etc/passwd\r\n",
    b"STOR up.bin\r\n",
    b"STOR hello.txt\r\n",
    b"APPE hello.txt\r\n",
    b"STOU\r\n",
    b"REST 3\r\n",
    b"REST 100\r\n",
    b"LIST\r\n",
    b"LIST -la\r\n",
    b"NLST pub\r\n",
    b"NLST *.txt\r\n",
    b"NLST pub/*\r\n",
    b"LIST pub/[!a-c]*.bin\r\n",
    b"LIST *a*a*a*a*b\r\n",
    b"STAT ?ello.*\r\n",
    b"STAT nothing*\r\n",
    b"MLSD\r\n",
    b"MLST hello.txt\r\n",
    b"STAT\r\n",
    b"STAT pub\r\n",
    b"ABOR\r\n",
    b"\xff\xf4\xff\xf2ABOR\r\n",
    b"CWD pub\r\n",
    b"CWD ..\r\n",
    b"CDUP\r\n",
    b"PWD\r\n",
    b"MKD new dir\r\n",
    b"RMD new dir\r\n",
    b"RMD pub\r\n",
    b"DELE hello.txt\r\n",
    b"RNFR hello.txt\r\n",
    b"RNTO moved.txt\r\n",
    b"SIZE hello.txt\r\n",
    b"MDTM hello.txt\r\n",
    b"MFMT 20000101000000 hello.txt\r\n",
    b"TYPE A\r\n",
    b"TYPE I\r\n",
    b"FEAT\r\n",
    b"NOOP\r\n",
    b"QUIT\r\n",
    b"OPTS UTF8 ON\r\n",
    b"AUTH TLS\r\n",
    b"AUTH SSL\r\n",
    b"AUTH GSSAPI\r\n",
    b"PBSZ 0\r\n",
    b"PROT P\r\n",
    b"PROT C\r\n",
    b"PROT S\r\n",
    b"CCC\r\n",
    b"NOOP\n",
    b"HELP\r\n",
    b"SITE HELP\r\n",
    b"SITE CHMOD 600 hello.txt\r\n",
    b"SITE CHMOD 0755 pub\r\n",
    b"SITE CHMOD 1777 pub\r\n",
    b"SITE CHMOD 644 /\r\n",
    b"SITE UMASK 022\r\n",
];

const KINDS: [ErrorKind; 23] = [
    ErrorKind::NotFound,
    ErrorKind::PermissionDenied,
    ErrorKind::AlreadyExists,
    ErrorKind::NotADirectory,
    ErrorKind::IsADirectory,
    ErrorKind::DirectoryNotEmpty,
    ErrorKind::InvalidName,
    ErrorKind::OutsideRoot,
    ErrorKind::BadOffset,
    ErrorKind::StorageFull,
    ErrorKind::QuotaExceeded,
    ErrorKind::ConnectionRefused,
    ErrorKind::ConnectionLost,
    ErrorKind::TimedOut,
    ErrorKind::HandshakeFailed,
    ErrorKind::SessionNotResumed,
    ErrorKind::UploadCutShort,
    ErrorKind::Busy,
    ErrorKind::Other,
    ErrorKind::PortsExhausted,
    ErrorKind::ReadOnly,
    ErrorKind::TooManySessions,
    ErrorKind::NotSupported,
];

/// Splits the first `n` bytes (or fewer, at the end) off `ops`.
fn take<'a>(n: usize, ops: &mut &'a [u8]) -> &'a [u8] {
    let (head, tail) = ops.split_at(n.min(ops.len()));
    *ops = tail;
    head
}

/// Decodes operations: an opcode byte, then its operand bytes.
fn decode(mut ops: &[u8]) -> Vec<Op<'_>> {
    let mut steps = Vec::new();
    while let Some((&op, rest)) = ops.split_first() {
        ops = rest;
        let arg = take(1, &mut ops).first().copied().unwrap_or(0);
        let step = match op % 16 {
            0..=5 => Op::Send(DICTIONARY[usize::from(arg) % DICTIONARY.len()]),
            6 => Op::Send(take(usize::from(arg % 64), &mut ops)),
            7 => Op::ConnectData(if arg % 4 == 0 {
                "10.0.0.9:40000"
            } else {
                "127.0.0.1:40001"
            }),
            8 => Op::Advance(Duration::from_millis(u64::from(arg) * 500)),
            9 => Op::HoldTransfers,
            10 => Op::FinishTransfer,
            11 => Op::FailTransfer(KINDS[usize::from(arg) % KINDS.len()]),
            12 => Op::Fault(KINDS[usize::from(arg) % KINDS.len()]),
            13 => Op::Upload(take(usize::from(arg % 64), &mut ops)),
            14 => match arg % 8 {
                0 => Op::Shutdown,
                1 => Op::GraceOver,
                2 | 3 => Op::StopReading,
                4 | 5 => Op::ReadReplies,
                6 => Op::RefuseActive,
                _ => Op::ReceiveUpload,
            },
            _ if arg % 8 == 7 => Op::Kick,
            _ => Op::Eof,
        };
        steps.push(step);
    }
    steps
}

#[cfg(test)]
mod tests {
    /// SplitMix64: a tiny, well-mixed generator, so every seed reproduces.
    fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                (z ^ (z >> 31)) as u8
            })
            .collect()
    }

    /// Thousands of random sessions from fixed seeds; a failure names its
    /// seed, and `session(&bytes(seed, 200))` reproduces it.
    #[test]
    fn seeded_simulation() {
        for seed in 0..3000 {
            let data = bytes(seed, 40 + (seed as usize % 160));
            let result = std::panic::catch_unwind(|| super::session(&data));
            assert!(result.is_ok(), "seed {seed} failed");
        }
    }

    /// Every corpus file and every crash ever found (`fuzz/regressions/`),
    /// through the same bodies as the fuzz targets, on stable Rust.
    #[test]
    fn replay_corpus_and_regressions() {
        let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        type Body = fn(&[u8]);
        let targets: [(&str, Body); 4] = [
            ("command", super::command),
            ("path", super::path),
            ("session", super::session),
            ("proxy", super::proxy),
        ];
        for (target, body) in targets {
            let mut replayed = 0;
            for folder in ["corpus", "regressions"] {
                let Ok(entries) = std::fs::read_dir(fuzz.join(folder).join(target)) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let data = std::fs::read(entry.path()).unwrap();
                    let result = std::panic::catch_unwind(|| body(&data));
                    assert!(result.is_ok(), "{} failed", entry.path().display());
                    replayed += 1;
                }
            }
            assert!(replayed >= 5, "only {replayed} seeds for {target}");
        }
    }

    #[test]
    fn seeded_parser_and_paths() {
        for seed in 0..3000 {
            let data = bytes(seed, seed as usize % 300);
            super::command(&data);
            super::path(&data);
        }
    }

    /// Random bytes after each way a header can start, so that the
    /// parser's deeper checks are reached, not only "not a header".
    #[test]
    fn seeded_proxy_headers() {
        let starts: [&[u8]; 4] = [
            b"",
            b"PROXY TCP4 ",
            b"\r\n\r\n\0\r\nQUIT\n\x21\x11",
            b"\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x24",
        ];
        for seed in 0..3000 {
            let start = starts[seed as usize % starts.len()];
            let data = [start, &bytes(seed, seed as usize % 120)].concat();
            super::proxy(&data);
        }
    }
}
