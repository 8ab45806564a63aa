//! `--pasv-address` as a host name (a dynamic DNS name that follows a home
//! router's changing public address): what a name may look like, looking
//! one up, and [`NameWatcher`], the thread that looks it up again every
//! `--pasv-address-refresh`. A lookup blocks (the system resolver: DNS,
//! `/etc/hosts`) for as long as the network makes it, so only start-up,
//! before the loop, may wait for one; afterwards the watcher does, and its
//! answers come through the loop's waker, as the password worker's do.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
use std::str::FromStr;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

/// What `--pasv-address` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasvAddress {
    Ip(Ipv4Addr),
    /// A host name (checked against RFC 1123's rules), looked up for its
    /// IPv4 address.
    Name(String),
}

impl PasvAddress {
    /// The address itself, when it is one.
    pub fn ip(&self) -> Option<Ipv4Addr> {
        match self {
            PasvAddress::Ip(ip) => Some(*ip),
            PasvAddress::Name(_) => None,
        }
    }
}

impl FromStr for PasvAddress {
    type Err = String;

    fn from_str(value: &str) -> Result<PasvAddress, String> {
        match value.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => return Ok(PasvAddress::Ip(ip)),
            Ok(IpAddr::V6(_)) => {
                return Err(format!(
                    "{value:?} is not an IPv4 address but an IPv6 one: a 227 reply carries \
                     IPv4 only (EPSV clients need none)"
                ))
            }
            Err(_) => {}
        }
        if is_host_name(value) {
            return Ok(PasvAddress::Name(value.to_owned()));
        }
        Err(format!(
            "{value:?} is neither an IPv4 address nor a host name (letters, digits and \
             hyphens, such as myhome.dyndns.example)"
        ))
    }
}

impl fmt::Display for PasvAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasvAddress::Ip(ip) => write!(f, "{ip}"),
            PasvAddress::Name(name) => f.write_str(name),
        }
    }
}

/// RFC 1123: labels of 1 to 63 letters, digits and hyphens, not starting
/// or ending with a hyphen, at most 253 bytes in all (a final dot aside);
/// the last label not all digits, so that a mistyped address (`192.168.1`)
/// is no name.
fn is_host_name(value: &str) -> bool {
    let name = value.strip_suffix('.').unwrap_or(value);
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let last_numeric =
        (name.rsplit('.').next()).is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
    (1..=253).contains(&name.len()) && name.split('.').all(label_ok) && !last_numeric
}

/// Looks `name` up (blocking) for its first IPv4 address.
pub fn resolve_ipv4(name: &str) -> Result<Ipv4Addr, String> {
    let addresses = (name, 0)
        .to_socket_addrs()
        .map_err(|e| format!("cannot look up {name:?}: {e}"))?;
    let mut others = Vec::new();
    for address in addresses {
        match address.ip() {
            IpAddr::V4(ip) => return Ok(ip),
            IpAddr::V6(ip) => others.push(ip),
        }
    }
    match others.first() {
        Some(v6) => Err(format!(
            "{name:?} has no IPv4 address, only IPv6 ones such as {v6}: a 227 reply carries \
             IPv4 only"
        )),
        None => Err(format!("{name:?} has no address")),
    }
}

/// What to look up, and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub name: String,
    pub every: Duration,
}

/// The outcome of one lookup of `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub name: String,
    pub address: Result<Ipv4Addr, String>,
}

/// Lookups waiting for the loop to take them, at most: the watcher makes
/// one per `every` (a second at the least), and the loop takes them as
/// soon as the waker fires.
const ANSWER_QUEUE: usize = 4;

/// A thread that looks a name up every so often and wakes the loop with
/// each answer. It ends when this handle is dropped.
pub struct NameWatcher {
    jobs: mpsc::Sender<Watch>,
    answers: mpsc::Receiver<Resolved>,
}

impl NameWatcher {
    /// Starts watching: the first lookup after `watch.every`, or at once
    /// (`now`) when nobody has looked the name up yet.
    pub fn start(watch: Watch, now: bool, waker: Arc<mio::Waker>) -> std::io::Result<NameWatcher> {
        let (jobs, job_queue) = mpsc::channel::<Watch>();
        let (answer_queue, answers) = mpsc::sync_channel(ANSWER_QUEUE);
        thread::Builder::new()
            .name("pasv-address".to_owned())
            .spawn(move || {
                let mut watch = watch;
                let mut due = now;
                loop {
                    if !due {
                        match job_queue.recv_timeout(watch.every) {
                            Ok(new) => {
                                // A new name is looked up at once.
                                due = new.name != watch.name;
                                watch = new;
                                continue;
                            }
                            Err(mpsc::RecvTimeoutError::Timeout) => {}
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                        }
                    }
                    due = false;
                    let address = resolve_ipv4(&watch.name);
                    let name = watch.name.clone();
                    if answer_queue.send(Resolved { name, address }).is_err()
                        || waker.wake().is_err()
                    {
                        return;
                    }
                }
            })?;
        Ok(NameWatcher { jobs, answers })
    }

    /// Watches another name, or the same one at another pace (SIGHUP).
    pub fn watch(&self, watch: Watch) {
        // The thread only stops when this handle is dropped.
        let _ = self.jobs.send(watch);
    }

    /// The answers ready now.
    pub fn answers(&self) -> impl Iterator<Item = Resolved> + '_ {
        self.answers.try_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_or_a_host_name() {
        let ip = |s: &str| s.parse::<PasvAddress>();
        assert_eq!(
            ip("203.0.113.7"),
            Ok(PasvAddress::Ip(Ipv4Addr::new(203, 0, 113, 7)))
        );
        for name in [
            "myhome.dyndns.example",
            "localhost",
            "pi-4.local.",
            "a1.b2.c3",
            "xn--bcher-kva.example",
        ] {
            assert_eq!(ip(name), Ok(PasvAddress::Name(name.to_owned())), "{name}");
        }
        let long_label = format!("{}.example", "a".repeat(64));
        let long_name = vec!["abcdefghi"; 26].join(".");
        for bad in [
            "",
            ".",
            "my_home.example",
            "-pi.example",
            "pi-.example",
            "a..b",
            "192.168.1",
            "300.1.1.1",
            "pi.example:21",
            "pi example",
            "ftp://pi.example",
            &long_label,
            &long_name,
        ] {
            let err = ip(bad).unwrap_err();
            assert!(
                err.contains("is neither an IPv4 address nor a host name"),
                "{bad:?}: {err}"
            );
        }
        let err = ip("2001:db8::7").unwrap_err();
        assert!(
            err.contains("is not an IPv4 address but an IPv6 one"),
            "{err}"
        );
    }

    /// Only `localhost`: any other name could ask the network. Failed
    /// lookups are tested end to end, with a resolver the test controls
    /// (`tests/tests/router.rs`).
    #[test]
    fn localhost_has_an_ipv4_address() {
        assert_eq!(resolve_ipv4("localhost"), Ok(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn the_watcher_answers_through_the_waker() {
        let mut poll = mio::Poll::new().unwrap();
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(5)).unwrap());
        let every = Duration::from_millis(50);
        let name = "localhost".to_owned();
        let watcher = NameWatcher::start(Watch { name, every }, true, waker).unwrap();
        let mut events = mio::Events::with_capacity(4);
        let mut answers = Vec::new();
        // At once, then again every 50 ms.
        while answers.len() < 2 {
            poll.poll(&mut events, Some(Duration::from_secs(30)))
                .unwrap();
            assert!(events.iter().any(|e| e.token() == mio::Token(5)));
            answers.extend(watcher.answers());
        }
        let want = Resolved {
            name: "localhost".to_owned(),
            address: Ok(Ipv4Addr::LOCALHOST),
        };
        assert!(answers.iter().all(|a| *a == want), "{answers:?}");
        // Another name is looked up at once, however long the pace.
        let name = "LocalHost".to_owned();
        let every = Duration::from_secs(3600);
        watcher.watch(Watch {
            name: name.clone(),
            every,
        });
        let answer = loop {
            poll.poll(&mut events, Some(Duration::from_secs(30)))
                .unwrap();
            if let Some(answer) = watcher.answers().find(|a| a.name == name) {
                break answer;
            }
        };
        assert_eq!(answer.address, Ok(Ipv4Addr::LOCALHOST));
    }
}
