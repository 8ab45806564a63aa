//! Which TLS sessions a protected data connection may resume
//! (`--tls-session-reuse required`, see `tls.rs`).
//!
//! Every session gets a ticket key and a TLS 1.2 session cache of its own
//! ([`SessionKeys`]): a ticket or session ID that decrypts or is found
//! there was issued to one of that session's own connections, so another
//! client, which cannot have it, gets a full handshake, and is refused.
//! A data connection issues tickets and stores sessions (as its own
//! session) only once it is known to be of the family: after a full
//! handshake, or while it waits (below), a ticket of its session's would
//! hand the client it refuses the key to its next data connection.
//!
//! A client may run several control connections at once and keep one
//! session cache for all of them (rclone: one entry per server, which the
//! newest connection overwrites), so a data connection of one may offer the
//! session of another. Such sessions are one family: those logged in as
//! the same user from the same address. A data connection may resume a
//! session of any live member of its session's family, decided when its
//! client offers the ticket or session ID ([`Resumable`]), not when the
//! transfer starts. An attacker behind the same address is thus refused
//! unless it logged in as the same user (for an account: with its
//! password; anonymously: it may read and write what the victim may,
//! through its own transfers, anyway).
//!
//! The newest connection's session may be offered before that connection
//! has logged in (its `USER`/`PASS` still on their way: rclone under load).
//! Such a session is not of the family yet, nor of another: the data
//! connection that resumed it waits ([`Verdict::AwaitingLogin`]), moving
//! no byte, until that session logs in (as the same user: it goes on; as
//! another: it is refused), ends (refused), or `--data-timeout` passes
//! (refused). Every session from an address is therefore known to its
//! neighbours ([`Neighbours`]) from its TLS start, with its user once it
//! logged in.
//!
//! rustls wants tickets and caches `Send + Sync`: what a data connection
//! shares with its neighbours sits behind mutexes, which only the
//! reactor's one thread ever takes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};

use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};

/// TLS 1.2 sessions (by ID) one session's cache keeps: its control
/// connection's, and room for a few refused handshakes beside it.
const SESSION_CACHE_SIZE: usize = 8;

/// One session's ticket key and TLS 1.2 session cache, and the user it
/// logged in as.
#[derive(Debug)]
pub struct SessionKeys {
    pub ticketer: Arc<dyn ProducesTickets>,
    pub cache: Arc<dyn StoresServerSessions>,
    /// Set once, at its login.
    user: OnceLock<String>,
}

impl SessionKeys {
    pub fn new() -> Result<SessionKeys, rustls::Error> {
        Ok(SessionKeys {
            ticketer: rustls::crypto::ring::Ticketer::new()?,
            cache: ServerSessionMemoryCache::new(SESSION_CACHE_SIZE),
            user: OnceLock::new(),
        })
    }

    /// Its session logged in as `user`: from now on a member of that
    /// user's family. False if it was already known to have.
    pub fn log_in(&self, user: &str) -> bool {
        self.user.set(user.to_owned()).is_ok()
    }
}

/// The TLS sessions from one address, logged in or not yet, each while it
/// lives. Bounded by the sessions: one entry each at most.
#[derive(Debug, Default)]
pub struct Neighbours {
    members: Mutex<Vec<Weak<SessionKeys>>>,
}

/// The sessions of each address, each kept while one of them lives.
/// Bounded by the sessions: one entry each at most.
#[derive(Default)]
pub struct Neighbourhoods {
    by_peer: HashMap<IpAddr, Weak<Neighbours>>,
}

impl Neighbourhoods {
    /// The sessions from `peer`, which `keys` now is one of.
    pub fn join(&mut self, peer: IpAddr, keys: &Arc<SessionKeys>) -> Arc<Neighbours> {
        self.by_peer
            .retain(|_, neighbours| neighbours.strong_count() > 0);
        let neighbours = match self.by_peer.get(&peer).and_then(Weak::upgrade) {
            Some(neighbours) => neighbours,
            None => {
                let neighbours = Arc::new(Neighbours::default());
                self.by_peer.insert(peer, Arc::downgrade(&neighbours));
                neighbours
            }
        };
        let mut members = lock(&neighbours.members);
        members.retain(|m| m.strong_count() > 0);
        members.push(Arc::downgrade(keys));
        drop(members);
        neighbours
    }
}

/// Whose TLS session a data connection resumed, as far as it may go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Its own session's, or a family member's: it goes on.
    Family,
    /// A session from its address that has not logged in yet: it waits.
    AwaitingLogin,
    /// None, or another user's, or one that ended before it logged in.
    Stranger,
}

/// Who issued what a data connection's client offered, as decided when
/// it was opened.
#[derive(Debug)]
enum Issuer {
    /// Its own session, or a member of its family.
    Family,
    /// A session from its address, not logged in at the time.
    NotLoggedIn(Weak<SessionKeys>),
}

/// A data connection's ticket key and session cache: it issues and stores
/// as its own session, and opens what its own session or a neighbour
/// issued, deciding whose it is right then (see the module docs).
#[derive(Debug)]
pub struct Resumable {
    own: Arc<SessionKeys>,
    neighbours: Arc<Neighbours>,
    /// The issuer of the last ticket or session ID that opened: the one
    /// the handshake resumed, if it resumed one.
    issuer: Mutex<Option<Issuer>>,
}

impl Resumable {
    pub fn new(own: Arc<SessionKeys>, neighbours: Arc<Neighbours>) -> Resumable {
        Resumable {
            own,
            neighbours,
            issuer: Mutex::new(None),
        }
    }

    /// Whose session the handshake resumed, now: a session it waited for
    /// that logged in as the same user makes it family for good.
    pub fn verdict(&self) -> Verdict {
        let mut issuer = lock(&self.issuer);
        let verdict = match &*issuer {
            None => Verdict::Stranger,
            Some(Issuer::Family) => Verdict::Family,
            Some(Issuer::NotLoggedIn(session)) => match session.upgrade() {
                None => Verdict::Stranger,
                Some(session) => match (session.user.get(), self.own.user.get()) {
                    (None, _) => Verdict::AwaitingLogin,
                    (Some(theirs), Some(ours)) if theirs == ours => Verdict::Family,
                    _ => Verdict::Stranger,
                },
            },
        };
        if verdict == Verdict::Family {
            *issuer = Some(Issuer::Family);
        }
        verdict
    }

    /// The handshake went on in full: what opened on the way (a ticket
    /// whose cipher suite or name then did not fit) was not resumed, and
    /// makes its client no member. It is known with the ClientHello, a
    /// round trip before the end of a full handshake, where tickets and
    /// sessions are issued.
    pub fn resumed_nothing(&self) {
        *lock(&self.issuer) = None;
    }

    /// What `open_with` opens with the keys of its own session, or of the
    /// first neighbour it can that is not of another user; who that was
    /// is noted.
    fn open(&self, open_with: impl Fn(&SessionKeys) -> Option<Vec<u8>>) -> Option<Vec<u8>> {
        let (issuer, plain) = self.find(open_with)?;
        *lock(&self.issuer) = Some(issuer);
        Some(plain)
    }

    fn find(
        &self,
        open_with: impl Fn(&SessionKeys) -> Option<Vec<u8>>,
    ) -> Option<(Issuer, Vec<u8>)> {
        if let Some(plain) = open_with(&self.own) {
            return Some((Issuer::Family, plain));
        }
        let ours = self.own.user.get()?;
        let members = lock(&self.neighbours.members);
        let others = (members.iter())
            .filter_map(Weak::upgrade)
            .filter(|m| !Arc::ptr_eq(m, &self.own));
        for member in others {
            let issuer = match member.user.get() {
                Some(theirs) if theirs == ours => Issuer::Family,
                Some(_) => continue,
                None => Issuer::NotLoggedIn(Arc::downgrade(&member)),
            };
            if let Some(plain) = open_with(&member) {
                return Some((issuer, plain));
            }
        }
        None
    }

    /// Whether it may give its client a ticket or a session to come back
    /// with: only once that client is known to be of the family.
    fn may_issue(&self) -> bool {
        self.verdict() == Verdict::Family
    }
}

impl ProducesTickets for Resumable {
    fn enabled(&self) -> bool {
        self.own.ticketer.enabled()
    }

    fn lifetime(&self) -> u32 {
        self.own.ticketer.lifetime()
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.may_issue()
            .then(|| self.own.ticketer.encrypt(plain))
            .flatten()
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        self.open(|keys| keys.ticketer.decrypt(cipher))
    }
}

impl StoresServerSessions for Resumable {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.may_issue() && self.own.cache.put(key, value)
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.open(|keys| keys.cache.get(key))
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.open(|keys| keys.cache.take(key))
    }

    fn can_cache(&self) -> bool {
        true
    }
}

/// A mutex only the reactor's thread takes, which no panic can poison
/// (its holders do not panic): poisoned or not, its value.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: [u8; 4] = [192, 0, 2, 1];

    fn keys() -> Arc<SessionKeys> {
        Arc::new(SessionKeys::new().unwrap())
    }

    /// A session from `HERE` that started TLS and logged in as `user`
    /// (`None`: not yet); its neighbours with it.
    fn session(
        places: &mut Neighbourhoods,
        user: Option<&str>,
    ) -> (Arc<SessionKeys>, Arc<Neighbours>) {
        let keys = keys();
        let neighbours = places.join(HERE.into(), &keys);
        if let Some(user) = user {
            assert!(keys.log_in(user));
        }
        (keys, neighbours)
    }

    fn ticket(keys: &SessionKeys) -> Vec<u8> {
        keys.ticketer.encrypt(b"session").unwrap()
    }

    /// A data connection of `own` takes the tickets and session IDs of its
    /// family's live members, and issues its own session's; a session of
    /// another user, or from another address, is no member.
    #[test]
    fn a_family_is_one_users_sessions_from_one_address() {
        let mut places = Neighbourhoods::default();
        let (alice1, neighbours) = session(&mut places, Some("alice"));
        let (alice2, _) = session(&mut places, Some("alice"));
        let (bob, _) = session(&mut places, Some("bob"));
        let away = keys();
        places.join([192, 0, 2, 2].into(), &away);
        away.log_in("alice");
        let fresh = || Resumable::new(Arc::clone(&alice1), Arc::clone(&neighbours));
        for (issuer, opens) in [
            (&alice1, true),
            (&alice2, true),
            (&bob, false),
            (&away, false),
        ] {
            let data = fresh();
            assert_eq!(data.decrypt(&ticket(issuer)).is_some(), opens);
            let verdict = if opens {
                Verdict::Family
            } else {
                Verdict::Stranger
            };
            assert_eq!(data.verdict(), verdict);
        }
        // What it issues, alice1's own key opens.
        let data = fresh();
        data.decrypt(&ticket(&alice2)).unwrap();
        let issued = data.encrypt(b"new").unwrap();
        assert_eq!(
            alice1.ticketer.decrypt(&issued).as_deref(),
            Some(&b"new"[..])
        );
        assert!(alice2.ticketer.decrypt(&issued).is_none());
        // TLS 1.2 session IDs: found in any member's cache, stored in its own.
        alice2.cache.put(b"id2".to_vec(), b"v2".to_vec());
        bob.cache.put(b"idb".to_vec(), b"vb".to_vec());
        assert_eq!(data.get(b"id2").as_deref(), Some(&b"v2"[..]));
        assert!(data.get(b"idb").is_none());
        assert!(data.put(b"id1".to_vec(), b"v1".to_vec()));
        assert!(alice1.cache.get(b"id1").is_some() && alice2.cache.get(b"id1").is_none());
        // A member that ended no longer counts.
        let old = ticket(&alice2);
        drop(alice2);
        assert!(fresh().decrypt(&old).is_none());
        let late = keys();
        places.join(HERE.into(), &late);
        let members = lock(&neighbours.members);
        assert!(
            members.iter().all(|m| m.strong_count() > 0),
            "the ended one is forgotten"
        );
    }

    /// Membership is decided when the ticket is opened: a session that
    /// logged in after the data connection's TLS was set up counts.
    #[test]
    fn membership_is_decided_when_the_ticket_is_opened() {
        let mut places = Neighbourhoods::default();
        let (alice1, neighbours) = session(&mut places, Some("alice"));
        let data = Resumable::new(Arc::clone(&alice1), neighbours);
        let (alice2, _) = session(&mut places, Some("alice"));
        assert!(data.decrypt(&ticket(&alice2)).is_some());
        assert_eq!(data.verdict(), Verdict::Family);
    }

    /// A ticket of a neighbour that has not logged in yet opens, and the
    /// data connection waits, issuing nothing, for that login: as the same
    /// user it is family (and stays so when that session ends); as another
    /// user, or never (the session ended), it is a stranger.
    #[test]
    fn a_session_not_logged_in_yet_is_waited_for() {
        for (login, then) in [
            (Some("alice"), Verdict::Family),
            (Some("bob"), Verdict::Stranger),
            (None, Verdict::Stranger),
        ] {
            let mut places = Neighbourhoods::default();
            let (alice1, neighbours) = session(&mut places, Some("alice"));
            let (newest, _) = session(&mut places, None);
            let data = Resumable::new(alice1, neighbours);
            assert!(data.decrypt(&ticket(&newest)).is_some());
            assert_eq!(data.verdict(), Verdict::AwaitingLogin);
            assert!(data.encrypt(b"new").is_none(), "a ticket while it waits");
            assert!(!data.put(b"id".to_vec(), b"v".to_vec()));
            match login {
                Some(user) => assert!(newest.log_in(user)),
                None => drop(newest),
            }
            assert_eq!(data.verdict(), then, "{login:?}");
            assert_eq!(data.encrypt(b"new").is_some(), then == Verdict::Family);
            if then == Verdict::Family {
                drop(places);
                assert_eq!(data.verdict(), Verdict::Family);
            }
        }
    }

    /// A full handshake opened nothing: a stranger, which gets no ticket
    /// and no stored session of the victim's (a ticket there would open its
    /// next data connection). Nor does one that offered a ticket of the
    /// victim's it cannot use (seen on the wire, say), which opened, and
    /// then went on in full.
    #[test]
    fn a_stranger_is_issued_nothing() {
        let mut places = Neighbourhoods::default();
        let (alice, neighbours) = session(&mut places, Some("alice"));
        let (bob, _) = session(&mut places, Some("bob"));
        let data = Resumable::new(Arc::clone(&alice), neighbours);
        assert_eq!(data.verdict(), Verdict::Stranger);
        assert!(data.encrypt(b"new").is_none());
        assert!(!data.put(b"id".to_vec(), b"v".to_vec()));
        assert!(data.decrypt(&ticket(&bob)).is_none());
        assert!(data.encrypt(b"new").is_none());
        assert!(data.decrypt(&ticket(&alice)).is_some());
        data.resumed_nothing();
        assert_eq!(data.verdict(), Verdict::Stranger);
        assert!(data.encrypt(b"new").is_none());
        assert!(!data.put(b"id".to_vec(), b"v".to_vec()));
    }

    /// Neighbourhoods go with their last session.
    #[test]
    fn neighbourhoods_are_forgotten_with_their_sessions() {
        let mut places = Neighbourhoods::default();
        for last in [1, 2, 3] {
            drop(places.join([192, 0, 2, last].into(), &keys()));
        }
        let kept = keys();
        let _neighbours = places.join(HERE.into(), &kept);
        assert_eq!(places.by_peer.len(), 1);
    }
}
