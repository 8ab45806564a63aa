//! One client exchange, sans-IO: one request out, one response in. The
//! request's head and body are written once into bytes to send
//! ([`Exchange::outgoing`], [`Exchange::sent`]); the response is parsed from
//! bytes fed in pieces of any split ([`Exchange::receive`]), its head kept
//! (owned, bounded by [`MAX_HEAD`]) and its body decoded into a buffer
//! bounded by the caller's `max_body`. A caller that streams a large body
//! drains it as it comes ([`Exchange::take_body`]); the bound is on what
//! is held at once. Past the bound, a body fails the exchange, or, for an
//! exchange [`streamed`](Exchange::streamed), waits: it takes no more
//! input ([`Exchange::input_room`]) until the caller drains it, so a body
//! of any length goes through a buffer of a fixed size. Interim responses
//! (`1xx` but `101`) are read past.
//!
//! The same machine serves the upload webhook and the S3 back-end: it knows
//! nothing of either, nor of sockets or TLS (`connection.rs` carries it).

use super::body::{BodyError, Decoder, Framing};
use super::head::{parse_response, HeadError, MAX_HEAD};
use super::write::{request_head, BadField};

/// A request to send.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The request target: the path and query (`/hook?x=1`).
    pub target: &'a str,
    /// `Host`: the server's name, and its port where not the default.
    pub host: &'a str,
    /// More header lines; `Host` and `Content-Length` are written here.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// A response head, owned: its status and header lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl ResponseHead {
    /// The value of the first header named `name` (in any case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        (self.headers.iter())
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// Why an exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientError {
    /// The request cannot be written (a field with a CR, LF or NUL).
    BadRequest(BadField),
    /// The response head is malformed or too large.
    Head(HeadError),
    /// The response body is malformed or cut short.
    Body(BodyError),
    /// The body is longer than the exchange may hold at once.
    BodyTooLarge,
    /// `101 Switching Protocols`, which no request of ours asks for.
    UnexpectedUpgrade,
    /// The peer closed before the response head was complete.
    Closed,
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::BadRequest(e) => e.fmt(f),
            ClientError::Head(e) => e.fmt(f),
            ClientError::Body(e) => e.fmt(f),
            ClientError::BodyTooLarge => f.write_str("HTTP response body too large"),
            ClientError::UnexpectedUpgrade => f.write_str("unexpected 101 Switching Protocols"),
            ClientError::Closed => f.write_str("connection closed before the response"),
        }
    }
}

impl std::error::Error for ClientError {}

/// One request and its response.
#[derive(Debug)]
pub struct Exchange {
    /// The request's bytes, sent before `body`: all of them, or its head
    /// alone when the body was moved in ([`Exchange::owning`]).
    outgoing: Vec<u8>,
    /// A body moved in: an upload's part is sent without a copy, so it is
    /// not held twice while it goes.
    body: Vec<u8>,
    sent: usize,
    /// HEAD: the response has no body whatever its head says.
    to_head: bool,
    max_body: usize,
    /// A successful (`2xx`) body is drained by the caller as it comes, and
    /// input waits while `max_body` of it is held (an error document is
    /// read whole, as by any exchange).
    streamed: bool,
    state: State,
}

#[derive(Debug)]
enum State {
    /// The response head's bytes so far.
    Head(Vec<u8>),
    Body {
        head: ResponseHead,
        decoder: Decoder,
        body: Vec<u8>,
    },
    Done {
        head: ResponseHead,
        body: Vec<u8>,
    },
}

impl Exchange {
    /// Writes `request` out; the response's body may hold up to `max_body`
    /// bytes at once.
    pub fn new(request: &Request, max_body: usize) -> Result<Exchange, ClientError> {
        let mut outgoing = request_head_for(request, request.body.len())?;
        outgoing.reserve_exact(request.body.len());
        outgoing.extend_from_slice(request.body);
        Ok(Exchange::sending(request, outgoing, Vec::new(), max_body))
    }

    /// As [`Exchange::new`] with `body` as the request's body, moved in,
    /// not copied (`request.body` is not read).
    pub fn owning(
        request: &Request,
        body: Vec<u8>,
        max_body: usize,
    ) -> Result<Exchange, ClientError> {
        let head = request_head_for(request, body.len())?;
        Ok(Exchange::sending(request, head, body, max_body))
    }

    fn sending(request: &Request, outgoing: Vec<u8>, body: Vec<u8>, max_body: usize) -> Exchange {
        Exchange {
            outgoing,
            body,
            sent: 0,
            to_head: request.method == "HEAD",
            max_body,
            streamed: false,
            state: State::Head(Vec::new()),
        }
    }

    /// The exchange, its successful answer's body read through a buffer
    /// of `max_body` bytes that the caller drains ([`Exchange::take_body`]):
    /// at the bound the exchange waits for room instead of failing.
    pub fn streamed(self) -> Exchange {
        Exchange {
            streamed: true,
            ..self
        }
    }

    /// Response bytes [`receive`](Exchange::receive) may be given now:
    /// none while a streamed body holds `max_body` bytes, at most the room
    /// left under it (a body's bytes are never more than the input's), and
    /// no limit for an exchange not streamed (its bound fails it instead).
    pub fn input_room(&self) -> usize {
        match &self.state {
            State::Body { head, body, .. } if self.streamed && is_success(head.status) => {
                self.max_body.saturating_sub(body.len())
            }
            State::Head(_) if self.streamed => self.max_body,
            _ => usize::MAX,
        }
    }

    /// The same request, to send again from its first byte (a retry),
    /// its response not yet begun.
    pub fn again(self) -> Exchange {
        Exchange {
            sent: 0,
            state: State::Head(Vec::new()),
            ..self
        }
    }

    /// The request bytes not yet sent.
    pub fn outgoing(&self) -> &[u8] {
        match self.sent.checked_sub(self.outgoing.len()) {
            None => &self.outgoing[self.sent..],
            Some(at) => &self.body[at..],
        }
    }

    /// `n` more request bytes went out.
    pub fn sent(&mut self, n: usize) {
        let all = self.outgoing.len() + self.body.len();
        self.sent = self.sent.saturating_add(n).min(all);
    }

    /// Takes response bytes from the start of `input`: how many it took.
    /// Bytes after the response's end are not taken.
    pub fn receive(&mut self, mut input: &[u8]) -> Result<usize, ClientError> {
        let mut taken = 0;
        while !input.is_empty() && !self.is_done() {
            let n = self.step(input)?;
            taken += n;
            input = &input[n..];
        }
        Ok(taken)
    }

    /// One piece of input: into the head, or into the body.
    fn step(&mut self, input: &[u8]) -> Result<usize, ClientError> {
        match &mut self.state {
            State::Head(buf) => {
                let before = buf.len();
                let fits = input.len().min(MAX_HEAD.saturating_sub(before));
                buf.extend_from_slice(&input[..fits]);
                let Some((head, len)) = parse_response(buf).map_err(ClientError::Head)? else {
                    return Ok(fits);
                };
                let framing = Framing::of_response(head.status, &head.headers, self.to_head)
                    .map_err(ClientError::Body)?;
                let interim = (100..200).contains(&head.status);
                if head.status == 101 {
                    return Err(ClientError::UnexpectedUpgrade);
                }
                let owned = own(&head);
                let used = len - before;
                self.state = if interim {
                    State::Head(Vec::new())
                } else {
                    body_state(owned, framing)
                };
                Ok(used)
            }
            State::Body { decoder, body, .. } => {
                let (n, data) = decoder.decode(input).map_err(ClientError::Body)?;
                if body.len().saturating_add(data.len()) > self.max_body {
                    return Err(ClientError::BodyTooLarge);
                }
                body.extend_from_slice(data);
                self.finish_if_done();
                Ok(n)
            }
            State::Done { .. } => Ok(0),
        }
    }

    /// The peer closed its side: the end of a body that runs until then,
    /// an error anywhere else before the response is complete.
    pub fn peer_closed(&mut self) -> Result<(), ClientError> {
        match &mut self.state {
            State::Head(_) => Err(ClientError::Closed),
            State::Body { decoder, .. } => {
                decoder.finish().map_err(ClientError::Body)?;
                self.finish_if_done();
                Ok(())
            }
            State::Done { .. } => Ok(()),
        }
    }

    fn finish_if_done(&mut self) {
        if let State::Body { decoder, .. } = &self.state {
            if decoder.is_done() {
                let state = std::mem::replace(&mut self.state, State::Head(Vec::new()));
                if let State::Body { head, body, .. } = state {
                    self.state = State::Done { head, body };
                }
            }
        }
    }

    /// The whole response has arrived.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done { .. })
    }

    /// The response head, once it has arrived.
    pub fn head(&self) -> Option<&ResponseHead> {
        match &self.state {
            State::Head(_) => None,
            State::Body { head, .. } | State::Done { head, .. } => Some(head),
        }
    }

    /// The body bytes decoded and not yet taken.
    pub fn take_body(&mut self) -> Vec<u8> {
        match &mut self.state {
            State::Head(_) => Vec::new(),
            State::Body { body, .. } | State::Done { body, .. } => std::mem::take(body),
        }
    }

    /// A streamed answer's head and its body bytes decoded and not yet
    /// taken, for the caller to drain (what it takes, it removes): `None`
    /// before the head, and for an answer not streamed.
    pub fn streamed_body(&mut self) -> Option<(&ResponseHead, &mut Vec<u8>)> {
        match &mut self.state {
            State::Body { head, body, .. } | State::Done { head, body }
                if self.streamed && is_success(head.status) =>
            {
                Some((head, body))
            }
            _ => None,
        }
    }

    /// The complete response: its head and the body bytes not taken.
    pub fn into_response(self) -> Option<(ResponseHead, Vec<u8>)> {
        match self.state {
            State::Done { head, body } => Some((head, body)),
            _ => None,
        }
    }
}

/// `request`'s head for a body of `length` bytes.
fn request_head_for(request: &Request, length: usize) -> Result<Vec<u8>, ClientError> {
    let sends_body = length > 0 || matches!(request.method, "POST" | "PUT" | "PATCH");
    let length_text = length.to_string();
    let mut headers = vec![("Host", request.host)];
    if sends_body {
        headers.push(("Content-Length", &length_text));
    }
    headers.extend_from_slice(request.headers);
    let mut outgoing = Vec::with_capacity(256);
    request_head(&mut outgoing, request.method, request.target, &headers)
        .map_err(ClientError::BadRequest)?;
    Ok(outgoing)
}

/// A `2xx` status: the body is what was asked for, not an error document.
pub fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

fn body_state(head: ResponseHead, framing: Framing) -> State {
    let body = Vec::new();
    let decoder = Decoder::new(framing);
    // No body, or `Content-Length: 0` (S3's answer to a PUT): done now, as
    // no more bytes may come on a kept-alive connection.
    if decoder.is_done() {
        return State::Done { head, body };
    }
    State::Body {
        head,
        decoder,
        body,
    }
}

fn own(head: &super::head::Response) -> ResponseHead {
    ResponseHead {
        status: head.status,
        minor_version: head.minor_version,
        headers: (head.headers.iter())
            .map(|h| (h.name.to_owned(), h.value.to_vec()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &[u8]) -> Exchange {
        let request = Request {
            method: "POST",
            target: "/hook",
            host: "127.0.0.1:8080",
            headers: &[("Content-Type", "application/json")],
            body,
        };
        Exchange::new(&request, 64).unwrap()
    }

    #[test]
    fn a_body_moved_in_goes_after_the_head() {
        let request = Request {
            method: "PUT",
            target: "/o",
            host: "h",
            headers: &[],
            body: b"ignored",
        };
        let mut exchange = Exchange::owning(&request, b"part".to_vec(), 0).unwrap();
        let head = b"PUT /o HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n";
        assert_eq!(exchange.outgoing(), head);
        exchange.sent(head.len() - 1);
        assert_eq!(exchange.outgoing(), b"\n");
        exchange.sent(1);
        assert_eq!(exchange.outgoing(), b"part");
        exchange.sent(2);
        assert_eq!(exchange.outgoing(), b"rt");
        exchange.sent(usize::MAX);
        assert!(exchange.outgoing().is_empty());
    }

    #[test]
    fn the_request_is_written_with_host_and_length() {
        let mut exchange = post(b"{}");
        assert_eq!(
            exchange.outgoing(),
            b"POST /hook HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 2\r\n\
              Content-Type: application/json\r\n\r\n{}"
        );
        exchange.sent(5);
        assert!(exchange.outgoing().starts_with(b"/hook"));
        exchange.sent(usize::MAX);
        assert!(exchange.outgoing().is_empty());
        exchange.receive(b"HTTP/1.1 503 Slow").unwrap();
        let exchange = exchange.again();
        assert!(exchange.outgoing().starts_with(b"POST /hook HTTP/1.1\r\n"));
        assert!(exchange.head().is_none());
        let bad = Request {
            method: "GET",
            target: "/",
            host: "a\r\nEvil: 1",
            headers: &[],
            body: b"",
        };
        assert!(matches!(
            Exchange::new(&bad, 1),
            Err(ClientError::BadRequest(_))
        ));
    }

    /// The same response, interim head and chunked body and a byte after
    /// it, fed at every split size.
    #[test]
    fn responses_arrive_in_any_split() {
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nX-Id: 7\r\n\
                    Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nZ";
        for step in 1..raw.len() {
            let mut exchange = post(b"{}");
            let mut at = 0;
            while at < raw.len() && !exchange.is_done() {
                let end = (at + step).min(raw.len());
                at += exchange.receive(&raw[at..end]).unwrap();
            }
            assert_eq!(&raw[at..], b"Z", "step {step}");
            let (head, body) = exchange.into_response().unwrap();
            assert_eq!((head.status, head.header("x-id")), (201, Some(&b"7"[..])));
            assert_eq!(body, b"abcde");
        }
    }

    /// `Content-Length: 0` ends the response with its head: nothing more
    /// comes on a kept-alive connection (SeaweedFS answers a PUT so).
    #[test]
    fn an_empty_length_body_is_done_with_the_head() {
        let mut exchange = post(b"{}");
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(exchange.receive(raw).unwrap(), raw.len());
        assert!(exchange.is_done());
        assert_eq!(exchange.into_response().unwrap().1, b"");
    }

    /// A streamed exchange takes a successful body's bytes up to its bound
    /// and then none until they are drained; an error document is read
    /// whole, bounded as by any exchange.
    #[test]
    fn a_streamed_body_is_held_to_its_bound_and_an_error_read_whole() {
        let mut exchange = post(b"").streamed();
        assert_eq!(exchange.input_room(), 64);
        let head = b"HTTP/1.1 206 Partial\r\nContent-Length: 100\r\n\r\n";
        exchange.receive(head).unwrap();
        exchange.receive(&[b'a'; 60]).unwrap();
        assert_eq!(exchange.input_room(), 4);
        let (got, body) = exchange.streamed_body().unwrap();
        assert_eq!((got.status, body.len()), (206, 60));
        body.clear();
        assert_eq!(exchange.input_room(), 64);
        exchange.receive(&[b'a'; 40]).unwrap();
        assert!(exchange.is_done());
        assert_eq!(exchange.streamed_body().unwrap().1.len(), 40);
        let mut refused = post(b"").streamed();
        refused
            .receive(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 65\r\n\r\n")
            .unwrap();
        assert_eq!(refused.input_room(), usize::MAX);
        assert!(refused.streamed_body().is_none());
        assert_eq!(refused.receive(&[b'x'; 65]), Err(ClientError::BodyTooLarge));
        assert_eq!(post(b"").input_room(), usize::MAX, "not streamed");
    }

    #[test]
    fn bodies_are_bounded_and_ends_checked() {
        let mut exchange = post(b"");
        let big = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n".as_slice(),
            &[b'a'; 65],
        ]
        .concat();
        assert_eq!(exchange.receive(&big), Err(ClientError::BodyTooLarge));
        // Drained as it comes, a long body stays within the bound.
        let mut exchange = post(b"");
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
        exchange.receive(head).unwrap();
        for _ in 0..2 {
            exchange.receive(&[b'a'; 50]).unwrap();
            assert_eq!(exchange.take_body().len(), 50);
        }
        assert!(exchange.is_done());
        let mut exchange = post(b"");
        exchange.receive(b"HTTP/1.1 200 OK\r\n\r\nuntil").unwrap();
        assert!(!exchange.is_done());
        exchange.peer_closed().unwrap();
        assert_eq!(exchange.into_response().unwrap().1, b"until");
        let mut exchange = post(b"");
        exchange
            .receive(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab")
            .unwrap();
        assert_eq!(
            exchange.peer_closed(),
            Err(ClientError::Body(BodyError::Truncated))
        );
        let mut exchange = post(b"");
        exchange.receive(b"HTTP/1.1 2").unwrap();
        assert_eq!(exchange.peer_closed(), Err(ClientError::Closed));
        let mut exchange = post(b"");
        let upgrade = exchange.receive(b"HTTP/1.1 101 Switching\r\n\r\n");
        assert_eq!(upgrade, Err(ClientError::UnexpectedUpgrade));
    }

    #[test]
    fn heads_are_bounded_and_head_requests_have_no_body() {
        let mut exchange = post(b"");
        exchange.receive(b"HTTP/1.1 200 OK\r\nX: ").unwrap();
        let piece = [b'a'; 1000];
        let err = (0..=MAX_HEAD / piece.len())
            .find_map(|_| exchange.receive(&piece).err())
            .unwrap();
        assert_eq!(err, ClientError::Head(HeadError::TooLarge));
        let request = Request {
            method: "HEAD",
            target: "/o",
            host: "h",
            headers: &[],
            body: b"",
        };
        let mut exchange = Exchange::new(&request, 0).unwrap();
        assert!(!exchange
            .outgoing()
            .windows(14)
            .any(|w| w == b"Content-Length"));
        exchange
            .receive(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
            .unwrap();
        assert!(exchange.is_done());
    }
}
