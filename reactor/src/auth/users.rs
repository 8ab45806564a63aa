//! The users file (`NAME:HASH:ROLE[:HOME] [quota=BYTES[,FILES]]`, see
//! PROTOCOL.md) and password checks. The quota is a key after a space at
//! the end of the line: a line without one reads as it always did, and a
//! key leaves room for more (a HOME holding ` quota=` cannot be written).
//!
//! Argon2 is slow on purpose, so checks run on a worker thread
//! ([`PasswordWorker`](super::worker::PasswordWorker)); the reactor hears
//! back through a `mio::Waker` and other sessions never wait for a login.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use argon2::password_hash::PasswordHash;
use pocketftp_core::{Access, VirtualPath};

use super::hashing;

use crate::quota::limit::Quota;
use crate::storage::jail::Jail;

/// A users file that could not be used, naming the file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersError(String);

impl fmt::Display for UsersError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsersError {}

#[derive(Debug, Clone)]
struct User {
    hash: String,
    account: Account,
    /// Where in the users file, for messages about it.
    line: usize,
}

/// What a user who logged in gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub access: Access,
    /// The folder below the root that is this user's `/`.
    pub home: Option<VirtualPath>,
    /// The bytes and files this user may keep under that home.
    pub quota: Option<Quota>,
}

/// The accounts of a users file.
#[derive(Debug, Clone)]
pub struct Users {
    users: HashMap<String, User>,
    /// Checked when the user is unknown, so that a wrong name costs the same
    /// time as a wrong password (no user enumeration by timing). Made on
    /// the password worker ([`Users::prepare`]), not when the file is
    /// loaded: a SIGHUP reload runs on the event loop, and one argon2 hash
    /// there stalls every session. Shared with the users a reload replaces
    /// ([`Users::with_decoy_of`]): one made per reload queued an argon2
    /// hash per SIGHUP before the next check (300 reloads, a 6 s login).
    decoy: Arc<OnceLock<String>>,
}

impl Users {
    /// Reads and validates a users file; any malformed line is an error.
    pub fn load(path: &Path) -> Result<Users, UsersError> {
        let text = crate::small_file::read_to_string(path)
            .map_err(|e| UsersError(format!("{}: cannot read users file: {e}", path.display())))?;
        Users::parse(&text)
            .map_err(|(line, why)| UsersError(format!("{}:{line}: {why}", path.display())))
    }

    /// Parses users-file text; errors carry the 1-based line number.
    pub(super) fn parse(text: &str) -> Result<Users, (usize, String)> {
        let mut users = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (line, quota) = split_quota(line).map_err(|why| (number, why))?;
            let fields: Vec<&str> = line.splitn(4, ':').collect();
            let (name, hash, role, home) = match fields[..] {
                [name, hash, role] => (name, hash, role, None),
                [name, hash, role, home] => (name, hash, role, Some(home)),
                _ => return Err((number, "expected NAME:HASH:ROLE[:HOME]".to_owned())),
            };
            if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err((number, format!("invalid user name {name:?}")));
            }
            let Ok(parsed) = PasswordHash::new(hash) else {
                return Err((
                    number,
                    format!(
                        "the hash of {name:?} is not a PHC string from `pocketftpd hash-password`"
                    ),
                ));
            };
            if let Err(why) = hashing::check_usable(&parsed) {
                return Err((
                    number,
                    format!("the hash of {name:?} cannot be used: {why}"),
                ));
            }
            let Some(access) = Access::from_role(role) else {
                let why = format!("role {role:?} must be `super`, `user` or `upload`");
                return Err((number, why));
            };
            let home = match home.map(|h| VirtualPath::resolve(&VirtualPath::root(), h)) {
                None => None,
                Some(Ok(home)) if home.is_root() => None,
                Some(Ok(home)) => Some(home),
                Some(Err(e)) => return Err((number, format!("home of {name:?}: {e:?}"))),
            };
            let user = User {
                hash: hash.to_owned(),
                account: Account {
                    access,
                    home,
                    quota,
                },
                line: number,
            };
            if users.insert(name.to_owned(), user).is_some() {
                return Err((number, format!("user {name:?} appears twice")));
            }
        }
        Ok(Users {
            users,
            decoy: Arc::default(),
        })
    }

    /// These users, with the decoy of `old` (the users they replace), made
    /// or still to be made once for both.
    pub fn with_decoy_of(mut self, old: Option<&Users>) -> Users {
        if let Some(old) = old {
            self.decoy = Arc::clone(&old.decoy);
        }
        self
    }

    /// Makes the decoy hash (slow: off the event loop). The worker does it
    /// before its first check with these users, so that even that check
    /// costs one argon2 verification, as every other does.
    pub(super) fn prepare(&self) -> &str {
        // Hashing with the default parameters and a fresh salt does not
        // fail; if it did, unknown users would merely be refused faster.
        self.decoy.get_or_init(|| {
            hashing::hash_password("decoy password for unknown users").unwrap_or_default()
        })
    }

    /// Each account's name and what it gets.
    pub fn accounts(&self) -> impl Iterator<Item = (&str, &Account)> {
        (self.users.iter()).map(|(name, user)| (name.as_str(), &user.account))
    }

    /// The homes (from the root; `/` for a user without one) whose users
    /// have a quota.
    pub fn quota_homes(&self) -> impl Iterator<Item = &VirtualPath> {
        static ROOT: OnceLock<VirtualPath> = OnceLock::new();
        let root = ROOT.get_or_init(VirtualPath::root);
        (self.users.values())
            .filter(|u| u.account.quota.is_some())
            .map(move |u| u.account.home.as_ref().unwrap_or(root))
    }

    /// Each user's home folder, with its line in the file.
    fn homes(&self) -> impl Iterator<Item = (&str, usize, &VirtualPath)> {
        (self.users.iter())
            .filter_map(|(name, u)| Some((name.as_str(), u.line, u.account.home.as_ref()?)))
    }

    /// Every home (of the users file at `path`) must be a folder below the
    /// root: the daemon does not start, nor reload, half-configured.
    pub fn check_homes(&self, path: &Path, jail: &Jail) -> Result<(), UsersError> {
        for (name, line, home) in self.homes() {
            if let Err(e) = jail.home(home) {
                let why =
                    format!("the home {home} of {name:?} is not a folder below the root: {e}");
                return Err(UsersError(format!("{}:{line}: {why}", path.display())));
            }
        }
        Ok(())
    }

    /// The user's account if the password is right. Slow: call it off the
    /// event loop.
    pub fn verify(&self, user: &str, password: &str) -> Option<Account> {
        let (hash, account) = match self.users.get(user) {
            Some(u) => (u.hash.as_str(), Some(&u.account)),
            None => (self.prepare(), None),
        };
        let parsed = PasswordHash::new(hash).ok()?;
        let ok = hashing::verify(&parsed, password.as_bytes());
        account.filter(|_| ok).cloned()
    }
}

/// A line's `quota=BYTES[,FILES]` key, after its last space, and what
/// comes before it.
fn split_quota(line: &str) -> Result<(&str, Option<Quota>), String> {
    let Some((before, key)) = line.rsplit_once(char::is_whitespace) else {
        return Ok((line, None));
    };
    let Some(value) = key.strip_prefix("quota=") else {
        return Ok((line, None));
    };
    let quota = Quota::parse(value).map_err(|why| format!("quota: {why}"))?;
    Ok((before.trim_end(), Some(quota)))
}

#[cfg(test)]
mod tests {
    use super::super::hashing::hash_password;
    use super::super::worker::{Check, Checked, PasswordWorker};
    use super::*;
    use std::sync::Arc;

    #[test]
    fn parse_verify_and_roles() {
        let alice = hash_password("wonderland").unwrap();
        let bob = hash_password("builder").unwrap();
        let text = format!(
            "# comment\n\nalice:{alice}:super\n  bob:{bob}:user  \ncam:{bob}:upload:/scans/cam:1\n"
        );
        let users = Users::parse(&text).unwrap();
        let account = |access, home: Option<&str>| Account {
            access,
            home: home.map(|h| VirtualPath::resolve(&VirtualPath::root(), h).unwrap()),
            quota: None,
        };
        assert_eq!(
            users.verify("alice", "wonderland"),
            Some(account(Access::Super, None))
        );
        assert_eq!(
            users.verify("bob", "builder"),
            Some(account(Access::ReadOnly, None))
        );
        assert_eq!(
            users.verify("cam", "builder"),
            Some(account(Access::Upload, Some("/scans/cam:1")))
        );
        let homes: Vec<_> = users.homes().map(|(n, l, h)| (n, l, h.as_str())).collect();
        assert_eq!(homes, [("cam", 5, "/scans/cam:1")]);
        assert_eq!(users.quota_homes().count(), 0);
        assert_eq!(users.verify("alice", "builder"), None);
        assert_eq!(users.verify("carol", "wonderland"), None);
        assert_eq!(users.verify("", ""), None);
    }

    /// `quota=BYTES[,FILES]` after a space; lines without one as before.
    #[test]
    fn quotas_end_a_line() {
        let h = hash_password("pw").unwrap();
        let text = format!(
            "cam:{h}:upload:/cams/front quota=10M,100\nold:{h}:user:/a b\nroot:{h}:super\tquota=1G\n"
        );
        let users = Users::parse(&text).unwrap();
        let cam = users.verify("cam", "pw").unwrap();
        assert_eq!(cam.home.unwrap().as_str(), "/cams/front");
        let limits = |b, f| {
            Some(Quota {
                max_bytes: b,
                max_files: f,
            })
        };
        assert_eq!(cam.quota, limits(10 << 20, Some(100)));
        let old = users.verify("old", "pw").unwrap();
        assert_eq!((old.home.unwrap().as_str(), old.quota), ("/a b", None));
        assert_eq!(
            users.verify("root", "pw").unwrap().quota,
            limits(1 << 30, None)
        );
        let mut homes: Vec<&str> = users.quota_homes().map(VirtualPath::as_str).collect();
        homes.sort_unstable();
        assert_eq!(homes, ["/", "/cams/front"]);
        let (line, why) = Users::parse(&format!("a:{h}:user\nb:{h}:user quota=lots")).unwrap_err();
        assert_eq!(line, 2);
        assert!(why.starts_with("quota: "), "{why}");
    }

    #[test]
    fn malformed_lines_name_their_number() {
        let good = hash_password("x").unwrap();
        let cases = [
            (
                format!("a:{good}:super\nb:{good}"),
                2,
                "expected NAME:HASH:ROLE[:HOME]",
            ),
            ("#\na:plaintext:super".to_owned(), 2, "is not a PHC string"),
            (
                format!("a:{good}:admin"),
                1,
                "must be `super`, `user` or `upload`",
            ),
            (format!("a:{good}:user:"), 1, "home of \"a\""),
            (format!("a:{good}:user\na:{good}:user"), 2, "appears twice"),
            (format!("a b:{good}:user"), 1, "invalid user name"),
            (format!(":{good}:user"), 1, "invalid user name"),
        ];
        for (text, line, why) in cases {
            let (got_line, got_why) = Users::parse(&text).unwrap_err();
            assert_eq!(got_line, line, "{text}");
            assert!(got_why.contains(why), "{got_why}");
        }
    }

    #[test]
    fn load_names_the_file() {
        let path = std::env::temp_dir().join(format!("pocketftpd-users-{}", std::process::id()));
        std::fs::write(&path, "x:y\n").unwrap();
        let err = Users::load(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(err.starts_with(&format!("{}:1: ", path.display())), "{err}");
    }

    /// Waits for the worker's one answer (bounded).
    fn one_answer(poll: &mut mio::Poll, worker: &PasswordWorker) -> Checked {
        let mut events = mio::Events::with_capacity(4);
        poll.poll(&mut events, Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut answers: Vec<Checked> = worker.answers().collect();
        assert_eq!(answers.len(), 1);
        answers.remove(0)
    }

    #[test]
    fn loading_hashes_nothing_the_worker_makes_the_decoy() {
        let hash = hash_password("pw").unwrap();
        let text = format!("u:{hash}:user");
        let users = Arc::new(Users::parse(&text).unwrap());
        assert!(users.decoy.get().is_none(), "parsing ran argon2");
        let mut poll = mio::Poll::new().unwrap();
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(1)).unwrap());
        let worker = PasswordWorker::start(Arc::clone(&users), waker).unwrap();
        let check = |user: &str| Check {
            key: 0,
            generation: 0,
            peer: [127, 0, 0, 1].into(),
            user: user.into(),
            password: "pw".into(),
        };
        worker.check(check("u")).unwrap();
        assert_eq!(
            one_answer(&mut poll, &worker).account.map(|a| a.access),
            Some(Access::ReadOnly)
        );
        assert!(users.decoy.get().is_some(), "the worker made no decoy");

        // A reload (SIGHUP) parses on the event loop; the worker hashes.
        let reloaded = Arc::new(Users::parse(&text).unwrap());
        assert!(reloaded.decoy.get().is_none(), "parsing ran argon2");
        worker.replace_users(Arc::clone(&reloaded));
        worker.check(check("u")).unwrap();
        assert_eq!(
            one_answer(&mut poll, &worker).account.map(|a| a.access),
            Some(Access::ReadOnly)
        );
        assert!(reloaded.decoy.get().is_some(), "the worker made no decoy");

        // A reload that keeps the decoy of the users it replaces needs none.
        let kept = Users::parse(&text).unwrap().with_decoy_of(Some(&reloaded));
        assert_eq!(kept.decoy.get(), reloaded.decoy.get());
    }
}
