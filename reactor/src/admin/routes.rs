//! What a request asks for ([`Asked`], [`Route`]) and the answers' heads
//! ([`Reply`]). Decided from the request alone: the loop then fills in
//! what the route shows (`server/admin.rs`).

use super::Secret;
use crate::http::{write::response_head, HeadError, Request};

/// The header a kick must carry: a cross-site form or a plain link cannot
/// send it, so a page elsewhere cannot end sessions through an admin's
/// browser.
pub const KICK_HEADER: &str = "X-Pocketftpd-Kick";

/// What the loop needs of a request, owned (the input it came in is reused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Asked {
    pub route: Route,
    pub keep_alive: bool,
    /// `HEAD`: the answer's head alone.
    pub head_only: bool,
}

/// What a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Page,
    SessionsJson,
    SessionsText,
    Metrics,
    Health,
    /// `POST /sessions/ID/kick`.
    Kick(u32),
    /// Answered as it is: refused, or unknown.
    Refused(Refusal),
}

/// Why a request is answered with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Unauthorized,
    NotFound,
    MethodNotAllowed {
        allow: &'static str,
    },
    /// A kick without [`KICK_HEADER`].
    KickHeaderMissing,
}

impl Asked {
    pub fn of(head: &Request, local_only: bool, secret: Option<&Secret>) -> Asked {
        let authorization = head.headers.get("authorization");
        let admitted = match secret {
            Some(secret) => secret.admits(authorization),
            None => local_only,
        };
        let route = if admitted {
            route(head)
        } else {
            Route::Refused(Refusal::Unauthorized)
        };
        let connection = head.headers.get("connection").unwrap_or_default();
        let keep_alive = if head.minor_version == 0 {
            connection.eq_ignore_ascii_case(b"keep-alive")
        } else {
            !connection.eq_ignore_ascii_case(b"close")
        };
        let head_only = head.method == "HEAD";
        Asked {
            route,
            keep_alive,
            head_only,
        }
    }
}

/// The route of an admitted request. The target is matched whole (its
/// query dropped): `/../metrics` or `/%2e%2e/` are not `/metrics`, just
/// not found.
fn route(head: &Request) -> Route {
    let path = head.target.split('?').next().unwrap_or_default();
    let get = |route| match head.method {
        "GET" | "HEAD" => route,
        _ => Route::Refused(Refusal::MethodNotAllowed { allow: "GET, HEAD" }),
    };
    match path {
        "/" => get(Route::Page),
        "/metrics" => get(Route::Metrics),
        "/healthz" => get(Route::Health),
        "/sessions.json" => get(Route::SessionsJson),
        "/sessions.txt" => get(Route::SessionsText),
        _ => kick_route(head, path).unwrap_or(Route::Refused(Refusal::NotFound)),
    }
}

/// `POST /sessions/ID/kick`; `None` for any other path.
fn kick_route(head: &Request, path: &str) -> Option<Route> {
    let id = path.strip_prefix("/sessions/")?.strip_suffix("/kick")?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let id = id.parse().ok()?;
    Some(if head.method != "POST" {
        Route::Refused(Refusal::MethodNotAllowed { allow: "POST" })
    } else if head.headers.get(KICK_HEADER) != Some(b"1") {
        Route::Refused(Refusal::KickHeaderMissing)
    } else {
        Route::Kick(id)
    })
}

/// An answer: its status, its type and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub status: u16,
    pub reason: &'static str,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// One more header (`Allow`, `WWW-Authenticate`).
    pub extra: Option<(&'static str, &'static str)>,
    /// Answer a HEAD request: the head alone.
    pub head_only: bool,
}

pub const TEXT: &str = "text/plain; charset=utf-8";
pub const HTML: &str = "text/html; charset=utf-8";
pub const JSON: &str = "application/json";
/// The Prometheus text exposition format, version 0.0.4.
pub const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the status page may load: nothing but its own inline style.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";

impl Reply {
    pub fn ok(content_type: &'static str, body: Vec<u8>) -> Reply {
        Reply::with(200, "OK", content_type, body)
    }

    pub fn with(
        status: u16,
        reason: &'static str,
        content_type: &'static str,
        body: Vec<u8>,
    ) -> Reply {
        Reply {
            status,
            reason,
            content_type,
            body,
            extra: None,
            head_only: false,
        }
    }

    /// A short text answer: `status reason` and a line saying why.
    pub fn text(status: u16, reason: &'static str, why: &str) -> Reply {
        Reply::with(status, reason, TEXT, format!("{why}\n").into_bytes())
    }

    pub fn refused(refusal: Refusal) -> Reply {
        match refusal {
            Refusal::Unauthorized => Reply {
                extra: Some(("WWW-Authenticate", "Bearer")),
                ..Reply::text(
                    401,
                    "Unauthorized",
                    "a bearer token is needed (Authorization: Bearer ...)",
                )
            },
            Refusal::NotFound => Reply::text(404, "Not Found", "no such page"),
            Refusal::MethodNotAllowed { allow } => Reply {
                extra: Some(("Allow", allow)),
                ..Reply::text(405, "Method Not Allowed", "method not allowed here")
            },
            Refusal::KickHeaderMissing => Reply::text(
                403,
                "Forbidden",
                "a kick needs the header X-Pocketftpd-Kick: 1",
            ),
        }
    }

    /// The answer to a request that could not be parsed.
    pub fn refusal(error: HeadError) -> Reply {
        match error {
            HeadError::TooLarge | HeadError::TooManyHeaders => {
                Reply::text(431, "Request Header Fields Too Large", &error.to_string())
            }
            HeadError::BadVersion => {
                Reply::text(505, "HTTP Version Not Supported", &error.to_string())
            }
            HeadError::BadStartLine | HeadError::BadHeader => {
                Reply::text(400, "Bad Request", &error.to_string())
            }
        }
    }

    pub fn too_large_body() -> Reply {
        Reply::text(
            413,
            "Content Too Large",
            "request bodies are not taken here",
        )
    }

    pub fn length_required() -> Reply {
        Reply::text(
            411,
            "Length Required",
            "a body needs a valid Content-Length",
        )
    }

    /// The head and (unless `head_only`) the body, into `out`.
    pub fn write(&self, keep_alive: bool, out: &mut Vec<u8>) {
        let length = self.body.len().to_string();
        let mut headers = vec![
            ("Content-Type", self.content_type),
            ("Content-Length", length.as_str()),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            (
                "Connection",
                if keep_alive { "keep-alive" } else { "close" },
            ),
        ];
        if self.content_type == HTML {
            headers.push(("Content-Security-Policy", PAGE_POLICY));
        }
        headers.extend(self.extra);
        // Every field here is ours and checked: a failure is a bug, and
        // the client then gets a bare 500.
        if response_head(out, self.status, self.reason, &headers).is_err() {
            out.extend_from_slice(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return;
        }
        if !self.head_only {
            out.extend_from_slice(&self.body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::parse_request;

    /// A request to a loopback listener without a token.
    fn asked(raw: &str, local_only: bool) -> Asked {
        let (head, _) = parse_request(raw.as_bytes()).unwrap().unwrap();
        Asked::of(&head, local_only, None)
    }

    fn asked_with_token(raw: &str, local_only: bool) -> Asked {
        let secret = Secret::new(b"0123456789abcdef").unwrap();
        let (head, _) = parse_request(raw.as_bytes()).unwrap().unwrap();
        Asked::of(&head, local_only, Some(&secret))
    }

    #[test]
    fn routes_and_refusals() {
        let cases = [
            ("GET / HTTP/1.1\r\n\r\n", Route::Page),
            ("GET /metrics?x=1 HTTP/1.1\r\n\r\n", Route::Metrics),
            ("HEAD /healthz HTTP/1.1\r\n\r\n", Route::Health),
            ("GET /sessions.json HTTP/1.1\r\n\r\n", Route::SessionsJson),
            (
                "GET /../metrics HTTP/1.1\r\n\r\n",
                Route::Refused(Refusal::NotFound),
            ),
            (
                "GET /%2e%2e/metrics HTTP/1.1\r\n\r\n",
                Route::Refused(Refusal::NotFound),
            ),
            (
                "GET /metrics/ HTTP/1.1\r\n\r\n",
                Route::Refused(Refusal::NotFound),
            ),
            (
                "DELETE /metrics HTTP/1.1\r\n\r\n",
                Route::Refused(Refusal::MethodNotAllowed { allow: "GET, HEAD" }),
            ),
            (
                "POST /sessions/7/kick HTTP/1.1\r\nX-Pocketftpd-Kick: 1\r\n\r\n",
                Route::Kick(7),
            ),
            (
                "POST /sessions/7/kick HTTP/1.1\r\n\r\n",
                Route::Refused(Refusal::KickHeaderMissing),
            ),
            (
                "GET /sessions/7/kick HTTP/1.1\r\nX-Pocketftpd-Kick: 1\r\n\r\n",
                Route::Refused(Refusal::MethodNotAllowed { allow: "POST" }),
            ),
            (
                "POST /sessions/-1/kick HTTP/1.1\r\n\r\n",
                Route::Refused(Refusal::NotFound),
            ),
            (
                "POST /sessions/99999999999/kick HTTP/1.1\r\n\r\n",
                Route::Refused(Refusal::NotFound),
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(asked(raw, true).route, want, "{raw:?}");
        }
    }

    #[test]
    fn with_a_token_every_request_needs_it() {
        let unauthorized = Route::Refused(Refusal::Unauthorized);
        for local_only in [true, false] {
            let route = asked_with_token("GET /metrics HTTP/1.1\r\n\r\n", local_only).route;
            assert_eq!(route, unauthorized);
        }
        let wrong = "GET /metrics HTTP/1.1\r\nAuthorization: Bearer 0123456789abcdeF\r\n\r\n";
        assert_eq!(asked_with_token(wrong, false).route, unauthorized);
        let right = "GET /metrics HTTP/1.1\r\nAuthorization: Bearer 0123456789abcdef\r\n\r\n";
        assert_eq!(asked_with_token(right, false).route, Route::Metrics);
    }

    #[test]
    fn without_a_token_only_loopback_is_answered() {
        let route = asked("GET /metrics HTTP/1.1\r\n\r\n", false).route;
        assert_eq!(route, Route::Refused(Refusal::Unauthorized));
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection() {
        assert!(asked("GET / HTTP/1.1\r\n\r\n", true).keep_alive);
        assert!(!asked("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", true).keep_alive);
        assert!(!asked("GET / HTTP/1.0\r\n\r\n", true).keep_alive);
        assert!(asked("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true).keep_alive);
    }
}
