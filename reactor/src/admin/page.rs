//! The status page (`GET /`), `/sessions.json` and `/sessions.txt`: the
//! same sessions, for a person, a tool and a terminal. Every string a
//! client controls (user names, file names) is escaped for where it goes:
//! HTML text, a JSON string, a terminal line.
//!
//! The page is one HTML document with its style inline (the answer's
//! Content-Security-Policy allows nothing else), laid out for a phone
//! first, and refreshes itself every [`REFRESH_SECONDS`].

use std::fmt::Write;
use std::time::Duration;

use pocketftp_core::Direction;

use super::census::Mark;
use super::stats::Recent;
use super::{Overview, SessionView};
use crate::http::json_string;

/// How often the page reloads itself.
const REFRESH_SECONDS: u32 = 5;

const STYLE: &str = "\
body{font:15px/1.4 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}\
header{background:#1d2330;color:#fff;padding:12px 16px}h1{font-size:18px;margin:0 0 8px}\
.cards{display:flex;flex-wrap:wrap;gap:8px}.card{background:#2c3445;border-radius:6px;padding:6px 10px;min-width:120px}\
.card b{display:block;font-size:18px}main{padding:8px 12px}h2{font-size:16px;margin:16px 0 6px}\
table{border-collapse:collapse;width:100%;background:#fff;font-size:14px}\
th,td{padding:6px 8px;border-bottom:1px solid #e3e5ea;text-align:left;vertical-align:top;overflow-wrap:anywhere}\
th{background:#e9ebf0}progress{width:100%;max-width:220px}.tls{color:#18794e}.clear{color:#a15c00}\
.broken{color:#b42318}.muted{color:#6b7280}\
@media(max-width:640px){thead{display:none}tr{display:block;border-bottom:2px solid #d0d4dc}\
td{display:block;border:0;padding:2px 8px}td[data-label]::before{content:attr(data-label)\": \";color:#6b7280}}";

/// The status page.
pub(crate) fn html(o: &Overview, sessions: &[SessionView], unlisted: usize) -> String {
    let mut out = String::with_capacity(8192 + sessions.len() * 512);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\
         <title>pocketftpd</title><style>{STYLE}</style></head><body>"
    );
    header(&mut out, o);
    out.push_str("<main><h2>Sessions</h2>");
    session_table(&mut out, o, sessions, unlisted);
    out.push_str("<h2>Recent transfers</h2>");
    recent_table(&mut out, o);
    out.push_str("<h2>Bans</h2>");
    ban_table(&mut out, o);
    out.push_str(
        "<p class=\"muted\">End a session: <code>pocketftpd who --kick ID</code>. \
         Also: <a href=\"/metrics\">/metrics</a>, <a href=\"/sessions.json\">/sessions.json</a>, \
         <a href=\"/healthz\">/healthz</a>.</p></main></body></html>\n",
    );
    out
}

fn header(out: &mut String, o: &Overview) {
    let s = o.stats;
    let free = o.free_bytes.map_or_else(|| "unknown".to_owned(), size);
    let cards = [
        ("uptime", duration(s.uptime(o.now))),
        ("sessions", o.stats.census.count(Mark::OPEN).to_string()),
        ("sent", size(s.bytes_sent)),
        ("received", size(s.bytes_received)),
        ("free disk", free),
        ("banned", o.bans.0.to_string()),
    ];
    out.push_str("<header><h1>pocketftpd</h1><div class=\"cards\">");
    for (name, value) in cards {
        let _ = write!(
            out,
            "<div class=\"card\" id=\"{}\">{name}<b>{value}</b></div>",
            name.replace(' ', "-")
        );
    }
    out.push_str("</div></header>");
}

fn session_table(out: &mut String, o: &Overview, sessions: &[SessionView], unlisted: usize) {
    if sessions.is_empty() {
        out.push_str("<p class=\"muted\" id=\"no-sessions\">Nobody is connected.</p>");
        return;
    }
    out.push_str(
        "<table id=\"sessions\"><thead><tr><th>ID</th><th>User</th><th>Client</th>\
         <th>Connected</th><th>Security</th><th>Doing</th></tr></thead><tbody>",
    );
    for v in sessions {
        let user = v
            .user
            .map_or_else(|| "(not logged in)".to_owned(), escape_html);
        let (class, security) = if v.tls {
            ("tls", "TLS")
        } else {
            ("clear", "clear")
        };
        let _ = write!(
            out,
            "<tr class=\"session\" data-id=\"{}\"><td data-label=\"ID\">{}</td>\
             <td data-label=\"User\" class=\"user\">{user}</td><td data-label=\"Client\">{}</td>\
             <td data-label=\"Connected\">{}</td><td data-label=\"Security\" class=\"{class}\">{security}</td>\
             <td data-label=\"Doing\" class=\"doing\">",
            v.id,
            v.id,
            v.peer,
            duration(v.age)
        );
        doing(out, o, v);
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table>");
    if unlisted > 0 {
        let _ = write!(out, "<p class=\"muted\">and {unlisted} more</p>");
    }
}

/// The Doing cell: idle, or the transfer with its bytes, speed and bar.
fn doing(out: &mut String, o: &Overview, v: &SessionView) {
    let Some(a) = &v.activity else {
        return out.push_str("<span class=\"muted\">idle</span>");
    };
    let bytes = v.moved.unwrap_or(a.bytes);
    let verb = match a.direction {
        Direction::Upload => "uploading",
        Direction::Download => "downloading",
        Direction::Listing => "listing",
    };
    let seconds = o.now.saturating_duration_since(a.started).as_secs_f64();
    let speed = if seconds > 0.0 {
        bytes as f64 / seconds
    } else {
        0.0
    };
    let _ = write!(
        out,
        "{verb} <span class=\"file\">{}</span><br>{}",
        escape_html(a.path.as_str()),
        size(bytes)
    );
    if let Some(total) = a.size.filter(|_| a.direction == Direction::Download) {
        let _ = write!(
            out,
            " of {} at {}/s<br><progress value=\"{bytes}\" max=\"{total}\"></progress>",
            size(total),
            size(speed as u64)
        );
    } else {
        let _ = write!(out, " at {}/s", size(speed as u64));
    }
}

fn recent_table(out: &mut String, o: &Overview) {
    let mut recent = o.stats.recent().peekable();
    if recent.peek().is_none() {
        out.push_str("<p class=\"muted\">No transfer has ended yet.</p>");
        return;
    }
    out.push_str(
        "<table id=\"recent\"><thead><tr><th>Ended</th><th>User</th><th>File</th>\
         <th>Bytes</th><th>Result</th></tr></thead><tbody>",
    );
    let uptime = o.stats.uptime(o.now).as_secs();
    for r in recent {
        let ago = Duration::from_secs(uptime.saturating_sub(r.ended));
        let arrow = if r.upload { "&uarr;" } else { "&darr;" };
        let (class, result) = if r.complete {
            ("", "complete")
        } else {
            ("broken", "broken")
        };
        let _ = write!(
            out,
            "<tr class=\"recent\"><td data-label=\"Ended\">{} ago</td><td data-label=\"User\">{}</td>\
             <td data-label=\"File\">{arrow} {}</td><td data-label=\"Bytes\">{}</td>\
             <td data-label=\"Result\" class=\"{class}\">{result}</td></tr>",
            duration(ago),
            escape_html(&r.user),
            escape_html(&r.path),
            size(r.bytes)
        );
    }
    out.push_str("</tbody></table>");
}

/// The addresses banned for failed logins, and for how long yet.
fn ban_table(out: &mut String, o: &Overview) {
    if o.banned.is_empty() {
        out.push_str("<p class=\"muted\" id=\"no-bans\">Nobody is banned.</p>");
        return;
    }
    out.push_str(
        "<table id=\"bans\"><thead><tr><th>Address</th><th>Banned for</th></tr></thead><tbody>",
    );
    for (address, left) in &o.banned {
        let _ = write!(
            out,
            "<tr class=\"ban\"><td data-label=\"Address\" class=\"address\">{}</td>\
             <td data-label=\"Banned for\">{}</td></tr>",
            escape_html(address),
            duration(*left)
        );
    }
    out.push_str("</tbody></table>");
    let unlisted = o.bans.0.saturating_sub(o.banned.len());
    if unlisted > 0 {
        let _ = write!(out, "<p class=\"muted\">and {unlisted} more</p>");
    }
}

/// `/sessions.json`: the sessions, the recent transfers and the bans.
pub(crate) fn json(o: &Overview, sessions: &[SessionView], unlisted: usize) -> String {
    let mut out = String::with_capacity(1024 + sessions.len() * 256);
    let s = o.stats;
    let _ = write!(
        out,
        "{{\"uptime_seconds\":{},\"sessions_open\":{},\"unlisted\":{unlisted},\
         \"bytes_sent\":{},\"bytes_received\":{},\"free_bytes\":{},\"sessions\":[",
        s.uptime(o.now).as_secs(),
        o.stats.census.count(Mark::OPEN),
        s.bytes_sent,
        s.bytes_received,
        o.free_bytes
            .map_or_else(|| "null".to_owned(), |b| b.to_string()),
    );
    for (i, v) in sessions.iter().enumerate() {
        let comma = if i == 0 { "" } else { "," };
        let user = v.user.map_or_else(|| "null".to_owned(), json_string);
        let _ = write!(
            out,
            "{comma}{{\"id\":{},\"user\":{user},\"anonymous\":{},\"client\":\"{}\",\
             \"connected_seconds\":{},\"tls\":{},\"transfer\":",
            v.id,
            v.anonymous,
            v.peer,
            v.age.as_secs(),
            v.tls
        );
        match &v.activity {
            None => out.push_str("null}"),
            Some(a) => {
                let _ = write!(
                    out,
                    "{{\"direction\":\"{}\",\"path\":{},\"bytes\":{},\"size\":{},\"seconds\":{:.3}}}}}",
                    direction_word(a.direction),
                    json_string(a.path.as_str()),
                    v.moved.unwrap_or(a.bytes),
                    a.size.map_or_else(|| "null".to_owned(), |n| n.to_string()),
                    o.now.saturating_duration_since(a.started).as_secs_f64()
                );
            }
        }
    }
    out.push_str("],\"recent\":[");
    for (i, r) in s.recent().enumerate() {
        let comma = if i == 0 { "" } else { "," };
        let _ = write!(out, "{comma}{}", recent_json(r));
    }
    let _ = write!(out, "],\"bans_active\":{},\"bans\":[", o.bans.0);
    for (i, (address, left)) in o.banned.iter().enumerate() {
        let comma = if i == 0 { "" } else { "," };
        let _ = write!(
            out,
            "{comma}{{\"address\":{},\"seconds_left\":{}}}",
            json_string(address),
            left.as_secs()
        );
    }
    out.push_str("]}\n");
    out
}

fn recent_json(r: &Recent) -> String {
    format!(
        "{{\"user\":{},\"path\":{},\"direction\":\"{}\",\"complete\":{},\"bytes\":{},\"seconds\":{:.3}}}",
        json_string(&r.user),
        json_string(&r.path),
        if r.upload { "upload" } else { "download" },
        r.complete,
        r.bytes,
        r.seconds
    )
}

/// `/sessions.txt`: what `pocketftpd who` prints, a line per session as
/// `pure-ftpwho` lays them out.
pub(crate) fn text(o: &Overview, sessions: &[SessionView], unlisted: usize) -> String {
    let mut out = format!(
        "{:>10}  {:<16} {:<40} {:>8}  {:<5}  DOING\n",
        "ID", "USER", "CLIENT", "TIME", "TLS"
    );
    for v in sessions {
        let user = v.user.map_or_else(|| "-".to_owned(), escape_terminal);
        let doing = match &v.activity {
            None => "idle".to_owned(),
            Some(a) => format!(
                "{} {} {}{}",
                direction_word(a.direction),
                escape_terminal(a.path.as_str()),
                size(v.moved.unwrap_or(a.bytes)),
                a.size
                    .map_or_else(String::new, |n| format!(" of {}", size(n)))
            ),
        };
        let _ = writeln!(
            out,
            "{:>10}  {:<16} {:<40} {:>8}  {:<5}  {doing}",
            v.id,
            user,
            v.peer.to_string(),
            duration(v.age),
            if v.tls { "yes" } else { "no" }
        );
    }
    if unlisted > 0 {
        let _ = writeln!(out, "and {unlisted} more");
    }
    let _ = writeln!(
        out,
        "{} open, up {}",
        crate::count(o.stats.census.count(Mark::OPEN) as usize, "session"),
        duration(o.stats.uptime(o.now))
    );
    out
}

fn direction_word(d: Direction) -> &'static str {
    match d {
        Direction::Upload => "upload",
        Direction::Download => "download",
        Direction::Listing => "listing",
    }
}

/// Text for HTML, in an element or a quoted attribute.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A line for a terminal: control characters (an escape sequence in a
/// file name) shown as `\xNN`.
fn escape_terminal(s: &str) -> String {
    pocketftp_core::escape_for_log(s).into_owned()
}

/// `1.5 MiB`.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `3d 4h`, `2h 5m`, `4m 10s`, `12s`.
fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_strings_are_escaped_for_where_they_go() {
        let hostile = "<script>alert('x')</script>&\"\u{1b}[2J";
        let html = escape_html(hostile);
        assert!(!html.contains('<') && !html.contains('"') && !html.contains('\''));
        assert!(html.starts_with("&lt;script&gt;alert(&#39;x&#39;)"));
        assert!(!escape_terminal(hostile).contains('\u{1b}'));
    }

    #[test]
    fn sizes_and_durations_read_short() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(5 << 30), "5.0 GiB");
        assert_eq!(duration(Duration::from_secs(59)), "59s");
        assert_eq!(duration(Duration::from_secs(3599)), "59m 59s");
        assert_eq!(duration(Duration::from_secs(90061)), "1d 1h");
    }
}
