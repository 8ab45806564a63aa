//! `http://host:port/path` and `https://…` as the options give them: what
//! to connect to, and what to ask for there. Only what a client needs:
//! no user info (credentials go in a header file, out of `ps`), no
//! fragment.

/// A parsed `http`/`https` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub https: bool,
    /// The host name or IP address (an IPv6 one without its brackets).
    pub host: String,
    pub port: u16,
    /// The path and query, `/` at least.
    pub target: String,
    /// `Host`'s value: the host (in brackets for IPv6), and the port where
    /// it is not the scheme's default.
    pub authority: String,
}

impl Url {
    /// Parses `url`; the error says what is wrong with it.
    pub fn parse(url: &str) -> Result<Url, String> {
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(format!("{url:?}: not an http:// or https:// URL"));
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        let target = match target {
            "" => "/".to_owned(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_owned(),
        };
        if target.contains('#') || !target.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "{url:?}: the path must be visible ASCII, without a fragment"
            ));
        }
        if authority.contains('@') {
            return Err(format!(
                "{url:?}: no user name or password in the URL (use a header file)"
            ));
        }
        let (host, port) = host_and_port(authority, if https { 443 } else { 80 })
            .ok_or_else(|| format!("{url:?}: a host and an optional port are needed"))?;
        Ok(Url {
            https,
            host: host.to_owned(),
            port,
            target,
            authority: authority.to_owned(),
        })
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn host_and_port(authority: &str, default: u16) -> Option<(&str, u16)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let name_like = |b: u8| b.is_ascii_alphanumeric() || b"-._:".contains(&b);
    if host.is_empty() || !host.bytes().all(name_like) {
        return None;
    }
    let port = match port {
        Some(p) => p.parse().ok().filter(|&p| p != 0)?,
        None => default,
    };
    Some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let url = Url::parse("https://hooks.example.org/a/b?c=1").unwrap();
        assert_eq!(
            (url.https, url.host.as_str(), url.port, url.target.as_str()),
            (true, "hooks.example.org", 443, "/a/b?c=1")
        );
        let url = Url::parse("http://[::1]:8080").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 8080));
        assert_eq!(
            (url.target.as_str(), url.authority.as_str()),
            ("/", "[::1]:8080")
        );
        assert_eq!(Url::parse("http://h?x").unwrap().target, "/?x");
        for bad in [
            "ftp://h/",
            "http://",
            "http://h:0/",
            "http://h:99999/",
            "http://u:p@h/",
            "http://h/a b",
            "http://h/#f",
            "http://[::1/",
            "http://h x/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }
}
