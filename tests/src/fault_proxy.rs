//! A TCP proxy the test controls, between the daemon and a store (`weed
//! mini`'s S3 gateway), for the S3 back-end's fault tests (`s3_faults.rs`):
//! it can answer `503 SlowDown` to the next N requests, cut the answer to
//! the next request of a method after N bytes, hold each request back for
//! a while, or go down (its listener closed: connections refused, and
//! those under way cut, as a store that goes down takes its own with it).
//!
//! A connection here is a request: its head is read first (to see its
//! method and decide its fault), then it is passed on to the store with
//! `Connection: close` (so the daemon keeps none alive through the proxy,
//! and every request meets its faults), and the answer back, each way on
//! a thread of its own. Every request line
//! seen is kept ([`FaultProxy::requests`]), and every `Range` asked for
//! ([`FaultProxy::ranges`]). The threads end with their
//! connections; the accepting one when the proxy is dropped or goes down.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the proxy does to the requests to come.
#[derive(Debug, Default)]
struct Faults {
    /// Requests still to answer `503 SlowDown`.
    slow_downs: u32,
    /// The next request with this method: its answer cut after so many bytes.
    cut: Option<(String, u64)>,
    /// Each request held back this long before it goes on.
    delay: Duration,
    /// The request lines seen, in order.
    seen: Vec<String>,
    /// The `Range` headers' values seen, in order.
    ranges: Vec<String>,
}

/// The connections under way, each way's socket, by a number of their own
/// (taken out as they end): what going down cuts.
#[derive(Debug, Default)]
struct Live {
    next: AtomicU64,
    sockets: Mutex<HashMap<u64, [TcpStream; 2]>>,
}

/// A running proxy; stops accepting when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    faults: Arc<Mutex<Faults>>,
    down: Arc<AtomicBool>,
    live: Arc<Live>,
}

impl FaultProxy {
    /// Listens on a port of its own of 127.0.0.1, passing on to `upstream`
    /// (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream: SocketAddr = (upstream.trim_start_matches("http://").parse())
            .expect("the store's address: http://IP:PORT");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let proxy = FaultProxy {
            addr: listener.local_addr().expect("the proxy's address"),
            faults: Arc::default(),
            down: Arc::default(),
            live: Arc::default(),
        };
        let (faults, down) = (Arc::clone(&proxy.faults), Arc::clone(&proxy.down));
        let live = Arc::clone(&proxy.live);
        thread::spawn(move || {
            while !down.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let (faults, live) = (Arc::clone(&faults), Arc::clone(&live));
                        thread::spawn(move || {
                            let _ = carry(client, upstream, &faults, &live);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        proxy
    }

    /// `http://127.0.0.1:PORT`, for `--s3-endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` requests are answered `503 SlowDown`.
    pub fn slow_down(&self, n: u32) {
        self.faults.lock().unwrap().slow_downs = n;
    }

    /// The answer to the next `method` request is cut after `bytes`.
    pub fn cut_next(&self, method: &str, bytes: u64) {
        self.faults.lock().unwrap().cut = Some((method.to_owned(), bytes));
    }

    /// Every request from now on is held back `delay` before it goes on.
    pub fn delay(&self, delay: Duration) {
        self.faults.lock().unwrap().delay = delay;
    }

    /// The listener closes: connections are refused from now on, and
    /// those under way are cut both ways.
    pub fn go_down(&self) {
        self.down.store(true, Ordering::SeqCst);
        for sockets in self.live.sockets.lock().unwrap().values() {
            for socket in sockets {
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
        // The accepting thread sees it within its next sleep; after that
        // the port refuses.
        thread::sleep(Duration::from_millis(50));
    }

    /// The request lines seen so far (`GET /photos/a?...`, without the
    /// query), in order.
    pub fn requests(&self) -> Vec<String> {
        self.faults.lock().unwrap().seen.clone()
    }

    /// The `Range` headers' values seen so far (`bytes=0-99`), in order.
    pub fn ranges(&self) -> Vec<String> {
        self.faults.lock().unwrap().ranges.clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.down.store(true, Ordering::SeqCst);
    }
}

/// One connection: its request head read, its fault decided, then passed on.
fn carry(
    client: TcpStream,
    upstream: SocketAddr,
    faults: &Mutex<Faults>,
    live: &Live,
) -> io::Result<()> {
    client.set_nonblocking(false)?;
    let number = live.next.fetch_add(1, Ordering::SeqCst);
    let carried = pass_on(client, upstream, faults, live, number);
    live.sockets.lock().unwrap().remove(&number);
    carried
}

/// [`carry`]'s work: its sockets known to `live` as `number` while the
/// answer goes.
fn pass_on(
    mut client: TcpStream,
    upstream: SocketAddr,
    faults: &Mutex<Faults>,
    live: &Live,
    number: u64,
) -> io::Result<()> {
    let head = read_head(&mut client)?;
    let line = String::from_utf8_lossy(&head[..head.iter().position(|&b| b == b'\r').unwrap_or(0)])
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let method = line.split(' ').next().unwrap_or_default().to_owned();
    let (slow_down, cut, delay) = {
        let mut f = faults.lock().unwrap();
        f.seen.push(line);
        f.ranges.extend(range_of(&head));
        let slow_down = f.slow_downs > 0;
        f.slow_downs = f.slow_downs.saturating_sub(1);
        let cut = match &f.cut {
            Some((m, bytes)) if !slow_down && *m == method => Some(*bytes),
            _ => None,
        };
        if cut.is_some() {
            f.cut = None;
        }
        (slow_down, cut, f.delay)
    };
    thread::sleep(delay);
    if slow_down {
        return slow_down_answer(client, &head);
    }
    let mut store = TcpStream::connect(upstream)?;
    let sockets = [client.try_clone()?, store.try_clone()?];
    live.sockets.lock().unwrap().insert(number, sockets);
    // One request per connection: the store is asked to close after its
    // answer (and says so to the daemon, which then keeps no connection
    // alive), so every request meets the proxy and its faults.
    let head_end = head.len().saturating_sub(2);
    store.write_all(&head[..head_end])?;
    store.write_all(b"Connection: close\r\n\r\n")?;
    let (mut up_from, mut up_to) = (client.try_clone()?, store.try_clone()?);
    let upward = thread::spawn(move || {
        let _ = io::copy(&mut up_from, &mut up_to);
        let _ = up_to.shutdown(Shutdown::Write);
    });
    let limit = cut.unwrap_or(u64::MAX);
    let copied = io::copy(&mut (&mut store).take(limit), &mut client);
    if cut.is_some() {
        // Cut: both sides closed at once, mid-answer.
        let _ = store.shutdown(Shutdown::Both);
        let _ = client.shutdown(Shutdown::Both);
    } else {
        let _ = client.shutdown(Shutdown::Write);
    }
    let _ = upward.join();
    copied.map(drop)
}

/// The value of the request's `Range` header, if it has one.
fn range_of(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    (text.lines()).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("range")
            .then(|| value.trim().to_owned())
    })
}

/// The request's head, up to its blank line.
fn read_head(client: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(head)
}

/// Reads the request's body (its `Content-Length`) and answers `503
/// SlowDown`, as S3 does when asked too fast.
fn slow_down_answer(mut client: TcpStream, head: &[u8]) -> io::Result<()> {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let length = (text.lines())
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    io::copy(&mut (&mut client).take(length), &mut io::sink())?;
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
                <Message>Please reduce your request rate.</Message></Error>";
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(answer.as_bytes())?;
    client.shutdown(Shutdown::Write)
}
