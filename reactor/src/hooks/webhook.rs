//! `--on-upload-url URL`: each completed upload POSTed as a JSON event
//! (`{"event":"upload","path":…,"size":…,"user":…,"client":…,"time":…}`),
//! over `http://` or `https://` (rustls, trusting the system's CA
//! certificates or `--on-upload-ca`'s), with an optional header line read
//! from a file (`--on-upload-header-file`: an `Authorization` that stays
//! out of `ps`).
//!
//! One request at a time, on a connection of its own (`Connection: close`),
//! a non-blocking socket of the loop. An answer other than 2xx, a refused
//! or broken connection, or no answer within `--on-upload-timeout` is a
//! failure: the event is tried again after 1 s, 2 s, 4 s, … (at most
//! [`MAX_BACKOFF`]), [`MAX_ATTEMPTS`] times in all, then dropped with one
//! log line; events behind it wait (the order is kept). At most
//! [`MAX_QUEUED`] events wait; past that they are dropped and counted.
//!
//! The host name is resolved once, at start-up (the loop never waits for
//! DNS); a host with several addresses has them tried in turn, one per
//! attempt.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use log::{debug, warn};
use mio::{Interest, Registry};
use pocketftp_core::escape_for_log;

use super::counts::HookCounts;
use super::{seconds, Upload, MAX_QUEUED};
use crate::http::client::{Exchange, Request};
use crate::http::connection::{Connection, TlsTarget};
use crate::http::json_string;
use crate::http::url::Url;
use crate::server::token::hook_token;

/// Attempts per event, the first included.
pub const MAX_ATTEMPTS: u32 = 5;

/// The first wait before a retry; each next one is twice as long.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The longest wait before a retry.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The response body read, at most (it is not used: only its status is).
const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// Where and how to POST.
pub struct WebhookConfig {
    pub url: Url,
    /// The host's addresses, resolved at start-up.
    pub addresses: Vec<SocketAddr>,
    /// `https://`: the trusted certificates and the server's name.
    pub tls: Option<TlsTarget>,
    /// `--on-upload-header-file`'s line: its name and value.
    pub header: Option<(String, String)>,
    /// How long one attempt may take, connection included.
    pub timeout: Duration,
}

/// The webhook: its queue and its one request in flight.
pub struct Webhook {
    config: WebhookConfig,
    queue: VecDeque<Event>,
    in_flight: Option<InFlight>,
    /// Events dropped because the queue was full, since start-up.
    dropped: u64,
    /// Events given up after their last attempt failed.
    failed: u64,
}

/// An event to send.
struct Event {
    json: Vec<u8>,
    /// The upload's path, for the log.
    path: String,
    attempts: u32,
    /// Not to be tried before then (a retry's backoff).
    not_before: Option<Instant>,
}

struct InFlight {
    event: Event,
    connection: Connection,
    deadline: Instant,
}

impl Webhook {
    pub fn new(config: WebhookConfig) -> Webhook {
        Webhook {
            config,
            queue: VecDeque::new(),
            in_flight: None,
            dropped: 0,
            failed: 0,
        }
    }

    /// Queues `upload`'s event, and sends it if nothing else is on its way.
    pub fn push(&mut self, upload: &Upload, registry: &Registry, now: Instant) {
        if self.queue.len() >= MAX_QUEUED {
            self.dropped += 1;
            let (path, dropped) = (escape_for_log(&upload.virtual_path), self.dropped);
            warn!("webhook: queue full ({MAX_QUEUED}): no event for {path} ({dropped} dropped since start-up)");
            return;
        }
        self.queue.push_back(Event {
            json: json(upload),
            path: upload.virtual_path.clone(),
            attempts: 0,
            not_before: None,
        });
        self.send_next(registry, now);
    }

    /// Starts the next request, if none is in flight and the next event's
    /// backoff is over.
    fn send_next(&mut self, registry: &Registry, now: Instant) {
        while self.in_flight.is_none() {
            let ready = self
                .queue
                .front()
                .is_some_and(|e| e.not_before.is_none_or(|t| t <= now));
            if !ready {
                return;
            }
            let Some(event) = self.queue.pop_front() else {
                return;
            };
            match self.connect(&event, registry) {
                Ok(connection) => {
                    let deadline = now + self.config.timeout;
                    self.in_flight = Some(InFlight {
                        event,
                        connection,
                        deadline,
                    });
                }
                Err(why) => self.failed(event, &why, now),
            }
        }
    }

    /// Opens a connection carrying `event`'s request, registered with the loop.
    fn connect(&self, event: &Event, registry: &Registry) -> Result<Connection, String> {
        let config = &self.config;
        let mut headers = vec![
            ("Content-Type", "application/json"),
            (
                "User-Agent",
                concat!("pocketftpd/", env!("CARGO_PKG_VERSION")),
            ),
            ("Connection", "close"),
        ];
        if let Some((name, value)) = &config.header {
            headers.push((name, value));
        }
        let request = Request {
            method: "POST",
            target: &config.url.target,
            host: &config.url.authority,
            headers: &headers,
            body: &event.json,
        };
        let exchange = Exchange::new(&request, MAX_RESPONSE_BODY).map_err(|e| e.to_string())?;
        // A host with several addresses: each attempt the next one.
        let count = config.addresses.len().max(1);
        let address =
            (config.addresses.get(event.attempts as usize % count)).ok_or("no address")?;
        let mut connection =
            Connection::open(*address, config.tls.as_ref(), exchange).map_err(|e| e.to_string())?;
        let interest = Interest::READABLE | Interest::WRITABLE;
        registry
            .register(connection.socket(), hook_token(0), interest)
            .map_err(|e| e.to_string())?;
        Ok(connection)
    }

    /// The socket of the request in flight is ready.
    pub fn on_ready(&mut self, registry: &Registry, now: Instant) {
        let Some(flight) = &mut self.in_flight else {
            return;
        };
        let outcome = match flight.connection.advance() {
            Ok(false) => return,
            Ok(true) => match flight.connection.exchange().head().map(|h| h.status) {
                Some(status) if (200..300).contains(&status) => Ok(()),
                Some(status) => Err(format!("HTTP status {status}")),
                None => Err("no response".to_owned()),
            },
            Err(e) => Err(e.to_string()),
        };
        self.finish(outcome, registry, now);
    }

    /// The request in flight is over: sent, or failed.
    fn finish(&mut self, outcome: Result<(), String>, registry: &Registry, now: Instant) {
        let Some(mut flight) = self.in_flight.take() else {
            return;
        };
        let _ = registry.deregister(flight.connection.socket());
        match outcome {
            Ok(()) => debug!(
                "webhook: event sent for {}",
                escape_for_log(&flight.event.path)
            ),
            Err(why) => self.failed(flight.event, &why, now),
        }
        self.send_next(registry, now);
    }

    /// An attempt failed: tried again later, or dropped after the last one.
    fn failed(&mut self, mut event: Event, why: &str, now: Instant) {
        event.attempts += 1;
        let path = escape_for_log(&event.path);
        if event.attempts >= MAX_ATTEMPTS {
            let attempts = event.attempts;
            self.failed += 1;
            warn!("webhook: event for {path} dropped after {attempts} attempts: {why}");
            return;
        }
        let wait = backoff(event.attempts);
        debug!(
            "webhook: event for {path} failed ({why}); again in {}",
            seconds(wait)
        );
        event.not_before = Some(now + wait);
        self.queue.push_front(event);
    }

    /// A request past its time fails; a retry whose wait is over starts.
    pub fn fire_timers(&mut self, registry: &Registry, now: Instant) {
        if self.in_flight.as_ref().is_some_and(|f| f.deadline <= now) {
            let why = format!("no answer within {}", seconds(self.config.timeout));
            self.finish(Err(why), registry, now);
        }
        self.send_next(registry, now);
    }

    /// Events waiting or on their way.
    pub fn pending(&self) -> usize {
        self.queue.len() + usize::from(self.in_flight.is_some())
    }

    /// What `/metrics` shows of it.
    pub fn counts(&self) -> HookCounts {
        HookCounts {
            queued: self.queue.len(),
            dropped: self.dropped,
            failed: self.failed,
        }
    }

    /// The request in flight's deadline, or the next retry's time.
    pub fn next_deadline(&self) -> Option<Instant> {
        match &self.in_flight {
            Some(flight) => Some(flight.deadline),
            None => self.queue.front().and_then(|e| e.not_before),
        }
    }
}

/// The wait after `attempts` failed attempts: 1 s, 2 s, 4 s, … at most
/// [`MAX_BACKOFF`].
fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    FIRST_BACKOFF
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF)
}

/// The event as JSON, one object on one line.
fn json(upload: &Upload) -> Vec<u8> {
    format!(
        "{{\"event\":\"upload\",\"path\":{},\"size\":{},\"user\":{},\"client\":{},\"time\":{},\"kind\":\"{}\",\"tls\":{}}}",
        json_string(&upload.virtual_path),
        upload.size,
        json_string(&upload.user),
        json_string(&upload.client.to_string()),
        upload.time,
        upload.kind.word(),
        upload.tls,
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::UploadKind;

    #[test]
    fn events_are_json() {
        let upload = Upload {
            virtual_path: "/cam/a \"b\"\n\\$(x).jpg".to_owned(),
            real_path: "/srv/cam/x".into(),
            user: "cam".to_owned(),
            client: "::1".parse().unwrap(),
            size: 42,
            kind: UploadKind::Append,
            tls: true,
            time: 1_700_000_000,
        };
        let json = String::from_utf8(json(&upload)).unwrap();
        assert_eq!(
            json,
            r#"{"event":"upload","path":"/cam/a \"b\"\u000a\\$(x).jpg","size":42,"user":"cam","client":"::1","time":1700000000,"kind":"append","tls":true}"#
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_bound() {
        let waits: Vec<u64> = (1..=8).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
