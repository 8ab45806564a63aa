//! One request to the bucket carried to its answer on the loop, asked
//! again as `storage/s3/retry.rs` says: each attempt on a kept-alive
//! connection or a new one (`storage/s3/endpoint.rs` says which), a
//! deadline for progress, a wait on the connection's timer between
//! attempts. Nothing here blocks: the wait
//! is the timer's, the connect mio's.
//!
//! A streamed request ([`BucketRequest::stream`], a download's GET) hands
//! its answer's body out as it comes ([`BucketRequest::drain`]) and is
//! read on only as its caller has room. Broken once some of it was
//! taken, it cannot be sent again as it was: the caller asks again for
//! what did not arrive ([`Progress::Resume`], [`BucketRequest::resume`]),
//! signed anew, and the attempts count anew from a break that followed
//! progress.

use std::time::Instant;

use mio::{Interest, Registry, Token};

use crate::http::connection::Connection as HttpConnection;
use crate::http::{Exchange, ResponseHead};
use crate::storage::s3::endpoint::Endpoint;
use crate::storage::s3::retry::{Failure, GaveUp, Retry, REQUEST_TIMEOUT};
use crate::storage::s3::S3Request;

/// A request on its way, or waiting to be asked again.
pub(crate) struct BucketRequest {
    state: State,
    retry: Retry,
    /// The request, as log lines name it (`GET /photos/a.jpg`).
    pub asked: String,
    /// Where its connections go.
    endpoint: Endpoint,
    /// The token its sockets are registered with.
    token: Token,
    /// No progress by then: the attempt failed. Or, waiting: the next
    /// attempt's time.
    due: Instant,
    /// Streamed: the most of its body held at once (else `None`).
    streamed: Option<usize>,
    /// Body bytes were taken during the attempt under way.
    took: bool,
}

enum State {
    /// Boxed: a TLS connection is some 1.2 KB, the other states a tenth.
    Sending(Box<HttpConnection>),
    /// The next attempt waits for `due`.
    Waiting(Exchange),
    /// A streamed request broke: the next attempt waits for `due` and for
    /// its request ([`BucketRequest::resume`]).
    Broken,
    /// Answered, or failed for good.
    Over,
}

/// What became of the request at an event or its timer.
pub(crate) enum Progress {
    Pending,
    Answered(ResponseHead, Vec<u8>),
    /// It failed for good: why, naming the request and the status.
    Failed(String),
    /// A streamed request broke: the caller asks again for what did not
    /// arrive ([`BucketRequest::resume`]); it goes after a backoff.
    Resume,
}

impl BucketRequest {
    /// Sends `request` with `body`; its answer's body may hold `max_body`
    /// bytes at once.
    pub fn send(
        request: &S3Request,
        body: Vec<u8>,
        max_body: usize,
        endpoint: &Endpoint,
        token: Token,
        cx: (&Registry, Instant),
    ) -> Result<BucketRequest, String> {
        let exchange = (request.exchange_owning(body, max_body))
            .map_err(|e| format!("{}: {e}", request.describe()))?;
        BucketRequest::start(request, exchange, None, (endpoint, token), cx)
    }

    /// Sends `request` (no body), its answer's body streamed through
    /// `piece` bytes: taken as it comes ([`drain`](Self::drain)), read on
    /// only at [`on_ready`](Self::on_ready).
    pub fn stream(
        request: &S3Request,
        piece: usize,
        endpoint: &Endpoint,
        token: Token,
        cx: (&Registry, Instant),
    ) -> Result<BucketRequest, String> {
        let exchange =
            (request.exchange(&[], piece)).map_err(|e| format!("{}: {e}", request.describe()))?;
        BucketRequest::start(
            request,
            exchange.streamed(),
            Some(piece),
            (endpoint, token),
            cx,
        )
    }

    /// The first attempt at `request`, carried by `exchange`, to the
    /// endpoint with its sockets registered under the token.
    fn start(
        request: &S3Request,
        exchange: Exchange,
        streamed: Option<usize>,
        (endpoint, token): (&Endpoint, Token),
        cx: (&Registry, Instant),
    ) -> Result<BucketRequest, String> {
        let mut sent = BucketRequest {
            state: State::Waiting(exchange),
            retry: Retry::of(request),
            asked: request.describe(),
            endpoint: endpoint.clone(),
            token,
            due: cx.1,
            streamed,
            took: false,
        };
        match sent.attempt(cx.0, cx.1) {
            Progress::Failed(why) => Err(why),
            _ => Ok(sent),
        }
    }

    /// A streamed request that broke ([`Progress::Resume`]) is asked
    /// again as `request` (for what did not arrive), when its backoff ends.
    pub fn resume(&mut self, request: &S3Request) -> Result<(), String> {
        let (State::Broken, Some(piece)) = (&self.state, self.streamed) else {
            return Ok(());
        };
        let exchange =
            (request.exchange(&[], piece)).map_err(|e| format!("{}: {e}", self.asked))?;
        self.state = State::Waiting(exchange.streamed());
        Ok(())
    }

    /// A streamed answer's body bytes so far go to `take`, with its head,
    /// and out of the request's buffer: how many.
    pub fn drain(&mut self, take: impl FnOnce(&ResponseHead, &[u8])) -> usize {
        let State::Sending(http) = &mut self.state else {
            return 0;
        };
        let Some((head, body)) = http.exchange().streamed_body() else {
            return 0;
        };
        let n = body.len();
        if n > 0 {
            take(head, body);
            body.clear();
            self.took = true;
        }
        n
    }

    /// Its caller holds the answer back (no room for more of its body):
    /// the store owes no progress until it reads again.
    pub fn postpone(&mut self, now: Instant) {
        if let State::Sending(_) = self.state {
            self.due = now + REQUEST_TIMEOUT;
        }
    }

    /// No attempt after the one under way (`/healthz`'s probe: the
    /// store's state now, not in a few seconds).
    pub fn only_once(mut self) -> BucketRequest {
        self.retry = Retry::spent();
        self
    }

    /// When [`on_timer`](Self::on_timer) has something to do.
    pub fn due(&self) -> Instant {
        self.due
    }

    /// Its socket is ready: moves it on.
    pub fn on_ready(&mut self, registry: &Registry, now: Instant) -> Progress {
        let State::Sending(http) = &mut self.state else {
            return Progress::Pending;
        };
        match http.advance() {
            Ok(false) => {
                self.due = now + REQUEST_TIMEOUT;
                Progress::Pending
            }
            Ok(true) => self.answered(registry, now),
            Err(e) => {
                let failure = if http.connected() {
                    (Failure::Cut, GaveUp::Cut)
                } else {
                    (Failure::Refused, GaveUp::Refused)
                };
                self.failed(failure, e.to_string(), registry, now)
            }
        }
    }

    /// Its time came: an attempt that made no progress fails, a wait ends.
    pub fn on_timer(&mut self, registry: &Registry, now: Instant) -> Progress {
        if now < self.due {
            return Progress::Pending;
        }
        match &self.state {
            State::Waiting(_) => self.attempt(registry, now),
            State::Over | State::Broken => Progress::Pending,
            State::Sending(http) => {
                let failure = if http.connected() {
                    (Failure::Cut, GaveUp::Timeout)
                } else {
                    (Failure::Refused, GaveUp::Timeout)
                };
                let why = format!("no progress in {}s", REQUEST_TIMEOUT.as_secs());
                self.failed(failure, why, registry, now)
            }
        }
    }

    fn answered(&mut self, registry: &Registry, now: Instant) -> Progress {
        let Some(exchange) = self.take_exchange(registry, now) else {
            return Progress::Pending;
        };
        let status = exchange.head().map_or(0, |head| head.status);
        if Retry::is_transient(status) {
            if let Some(wait) = self.retry.after(Failure::Status(status)) {
                self.log_retry(&status.to_string(), wait);
                self.due = now + wait;
                self.state = State::Waiting(exchange.again());
                return Progress::Pending;
            }
            self.endpoint.errors().gave_up(GaveUp::Status);
        }
        match exchange.into_response() {
            Some((head, body)) => Progress::Answered(head, body),
            None => Progress::Failed(format!("{}: no complete answer", self.asked)),
        }
    }

    /// An attempt failed so (and, if it was the last, the request failed
    /// so for `/metrics`).
    fn failed(
        &mut self,
        (failure, gave_up): (Failure, GaveUp),
        why: String,
        registry: &Registry,
        now: Instant,
    ) -> Progress {
        let Some(exchange) = self.take_exchange(registry, now) else {
            return Progress::Pending;
        };
        if std::mem::take(&mut self.took) {
            self.retry.progressed();
        }
        match self.retry.after(failure) {
            Some(wait) => {
                self.log_retry(&why, wait);
                self.due = now + wait;
                if self.streamed.is_some() {
                    self.state = State::Broken;
                    return Progress::Resume;
                }
                self.state = State::Waiting(exchange.again());
                Progress::Pending
            }
            None => {
                self.endpoint.errors().gave_up(gave_up);
                Progress::Failed(format!("{}: {why}", self.asked))
            }
        }
    }

    /// The exchange out of a connection that is done with, its socket out
    /// of the poll (and kept for another request if it can carry one).
    fn take_exchange(&mut self, registry: &Registry, now: Instant) -> Option<Exchange> {
        match std::mem::replace(&mut self.state, State::Over) {
            State::Sending(mut http) => {
                let _ = registry.deregister(http.socket());
                let (exchange, idle) = http.into_parts();
                if let Some(idle) = idle {
                    self.endpoint.keep(idle, now);
                }
                Some(exchange)
            }
            State::Waiting(exchange) => Some(exchange),
            State::Over | State::Broken => None,
        }
    }

    /// The next attempt: on a kept connection if the request may be
    /// asked twice, else on a new one.
    fn attempt(&mut self, registry: &Registry, now: Instant) -> Progress {
        let State::Waiting(_) = &self.state else {
            return Progress::Pending;
        };
        let Some(exchange) = self.take_exchange(registry, now) else {
            return Progress::Pending;
        };
        let kept = (self.retry.is_idempotent())
            .then(|| self.endpoint.reuse(now))
            .flatten();
        let http = match kept {
            Some(idle) => Ok(idle.carry(exchange)),
            None => self.endpoint.connect(exchange),
        };
        let opened = http.and_then(|mut http| {
            let interest = Interest::READABLE | Interest::WRITABLE;
            registry.register(http.socket(), self.token, interest)?;
            Ok(http)
        });
        match opened {
            Ok(http) => {
                self.state = State::Sending(Box::new(http));
                self.due = now + REQUEST_TIMEOUT;
                Progress::Pending
            }
            Err(e) => {
                self.endpoint.errors().gave_up(GaveUp::Refused);
                Progress::Failed(format!("{}: {e}", self.asked))
            }
        }
    }

    fn log_retry(&self, why: &str, wait: std::time::Duration) {
        self.endpoint.errors().retried();
        log::info!(
            "{}: {why}; asked again in {} ms",
            self.asked,
            wait.as_millis()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::s3::request::tests::store;
    use crate::storage::s3::retry::ATTEMPTS;
    use crate::storage::testing::vp;
    use mio::Poll;
    use std::net::TcpListener;
    use std::time::Duration;

    /// A store that takes connections (the kernel's backlog) and never
    /// answers, and a request to it sent `at`.
    fn silent_store(request: &S3Request, poll: &Poll, at: Instant) -> (TcpListener, BucketRequest) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let endpoint = Endpoint::resolve(&url, None).unwrap();
        let sent = (BucketRequest::send(
            request,
            Vec::new(),
            1024,
            &endpoint,
            Token(0),
            (poll.registry(), at),
        ))
        .unwrap();
        (listener, sent)
    }

    /// Each attempt times out after REQUEST_TIMEOUT without progress, a GET
    /// is asked again after its backoff, and the last attempt fails naming
    /// the request and why (time simulated: the timer is called at `due`).
    #[test]
    fn a_store_that_never_answers_times_out_attempt_by_attempt() {
        let poll = Poll::new().unwrap();
        let request = store("").get_range(&vp("/f"), 0, 9).unwrap();
        let mut now = Instant::now();
        let (_store, mut sent) = silent_store(&request, &poll, now);
        for _ in 1..ATTEMPTS {
            assert_eq!(sent.due(), now + REQUEST_TIMEOUT);
            now = sent.due();
            assert!(matches!(
                sent.on_timer(poll.registry(), now),
                Progress::Pending
            ));
            assert!(sent.due() > now, "a backoff");
            now = sent.due();
            assert!(matches!(
                sent.on_timer(poll.registry(), now),
                Progress::Pending
            ));
        }
        let early = sent.on_timer(poll.registry(), now + Duration::from_secs(1));
        assert!(matches!(early, Progress::Pending));
        match sent.on_timer(poll.registry(), now + REQUEST_TIMEOUT) {
            Progress::Failed(why) => assert_eq!(why, "GET /photos/f: no progress in 30s"),
            _ => panic!("not failed after {ATTEMPTS} attempts"),
        }
    }

    /// A conditional PUT that reached the store and timed out is not sent
    /// again: the first may have made the object.
    #[test]
    fn a_request_that_must_not_run_twice_fails_at_its_first_timeout_once_sent() {
        let poll = Poll::new().unwrap();
        let request = store("").put(&vp("/f"), true).unwrap();
        let now = Instant::now();
        let (_store, mut sent) = silent_store(&request, &poll, now);
        let connected = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            let _ = sent.on_ready(poll.registry(), Instant::now());
            matches!(&sent.state, State::Sending(http) if http.connected())
        });
        assert!(connected);
        match sent.on_timer(poll.registry(), sent.due()) {
            Progress::Failed(why) => {
                assert!(why.starts_with("PUT /photos/f: no progress"), "{why}")
            }
            _ => panic!("a conditional PUT asked again"),
        }
    }
}
