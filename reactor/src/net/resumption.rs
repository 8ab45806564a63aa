//! Which TLS sessions a protected data connection may resume
//! (`--tls-session-reuse required`, see `tls.rs`).
//!
//! Every session gets a ticket key and a TLS 1.2 session cache of its own
//! ([`SessionKeys`]): a ticket or session ID that decrypts or is found
//! there was issued to one of that session's own connections, so another
//! client, which cannot have it, gets a full handshake, and is refused.
//!
//! A client may run several control connections at once and keep one
//! session cache for all of them (rclone: one entry per server, which the
//! newest connection overwrites), so a data connection of one may offer the
//! session of another. Such sessions are one [`Family`]: those logged in
//! as the same user from the same address. A data connection may resume a
//! session of any live member of its session's family; the tickets it
//! issues itself are its own session's. An attacker behind the same address
//! is thus refused unless it logged in as the same user (for an account:
//! with its password; anonymously: it may read and write what the victim
//! may, through its own transfers, anyway).

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::{self, Rc};
use std::sync::{self, Arc};

use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};

/// TLS 1.2 sessions (by ID) one session's cache keeps: its control
/// connection's, and room for a few refused handshakes beside it.
const SESSION_CACHE_SIZE: usize = 8;

/// One session's ticket key and TLS 1.2 session cache.
#[derive(Debug)]
pub struct SessionKeys {
    pub ticketer: Arc<dyn ProducesTickets>,
    pub cache: Arc<dyn StoresServerSessions>,
}

impl SessionKeys {
    pub fn new() -> Result<SessionKeys, rustls::Error> {
        Ok(SessionKeys {
            ticketer: rustls::crypto::ring::Ticketer::new()?,
            cache: ServerSessionMemoryCache::new(SESSION_CACHE_SIZE),
        })
    }
}

/// The sessions of one user from one address, each while it lives.
#[derive(Default)]
pub struct Family {
    members: RefCell<Vec<sync::Weak<SessionKeys>>>,
}

impl Family {
    /// The ticket key and cache a data connection of `own` resumes from:
    /// its own session's, and those of the other live members.
    pub fn resumable(
        &self,
        own: &Arc<SessionKeys>,
    ) -> (Arc<dyn ProducesTickets>, Arc<dyn StoresServerSessions>) {
        let mut members = self.members.borrow_mut();
        members.retain(|m| m.strong_count() > 0);
        let others: Vec<Arc<SessionKeys>> = (members.iter())
            .filter_map(sync::Weak::upgrade)
            .filter(|m| !Arc::ptr_eq(m, own))
            .collect();
        if others.is_empty() {
            return (Arc::clone(&own.ticketer), Arc::clone(&own.cache));
        }
        let any = Arc::new(AnyOf {
            own: Arc::clone(own),
            others,
        });
        (any.clone(), any)
    }
}

/// The families by (address, user name as logged in), each kept while one
/// of its members lives. Bounded by the sessions: one entry each at most.
#[derive(Default)]
pub struct Families {
    by_client: HashMap<(IpAddr, String), rc::Weak<Family>>,
}

impl Families {
    /// The family of `user` at `peer`, which `keys` now belongs to.
    pub fn join(&mut self, peer: IpAddr, user: &str, keys: &Arc<SessionKeys>) -> Rc<Family> {
        self.by_client.retain(|_, family| family.strong_count() > 0);
        let key = (peer, user.to_owned());
        let family = match self.by_client.get(&key).and_then(rc::Weak::upgrade) {
            Some(family) => family,
            None => {
                let family = Rc::new(Family::default());
                self.by_client.insert(key, Rc::downgrade(&family));
                family
            }
        };
        let mut members = family.members.borrow_mut();
        members.retain(|m| m.strong_count() > 0);
        members.push(Arc::downgrade(keys));
        drop(members);
        family
    }
}

/// A data connection's ticket key and session cache: it issues and stores
/// as its own session, and takes what any member of the family issued.
#[derive(Debug)]
struct AnyOf {
    own: Arc<SessionKeys>,
    others: Vec<Arc<SessionKeys>>,
}

impl AnyOf {
    fn all(&self) -> impl Iterator<Item = &SessionKeys> {
        std::iter::once(&*self.own).chain(self.others.iter().map(|m| &**m))
    }
}

impl ProducesTickets for AnyOf {
    fn enabled(&self) -> bool {
        self.own.ticketer.enabled()
    }

    fn lifetime(&self) -> u32 {
        self.own.ticketer.lifetime()
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.own.ticketer.encrypt(plain)
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        self.all().find_map(|m| m.ticketer.decrypt(cipher))
    }
}

impl StoresServerSessions for AnyOf {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.own.cache.put(key, value)
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.all().find_map(|m| m.cache.get(key))
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.all().find_map(|m| m.cache.take(key))
    }

    fn can_cache(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Arc<SessionKeys> {
        Arc::new(SessionKeys::new().unwrap())
    }

    /// A data connection of `own` takes the tickets and session IDs of its
    /// family's live members, and issues its own session's; a session of
    /// another user, or from another address, is no member.
    #[test]
    fn a_family_is_one_users_sessions_from_one_address() {
        let mut families = Families::default();
        let here: IpAddr = [192, 0, 2, 1].into();
        let (alice1, alice2, bob, away) = (keys(), keys(), keys(), keys());
        let family = families.join(here, "alice", &alice1);
        families.join(here, "alice", &alice2);
        families.join(here, "bob", &bob);
        families.join([192, 0, 2, 2].into(), "alice", &away);
        let ticket = |k: &SessionKeys| k.ticketer.encrypt(b"session").unwrap();
        let (ticketer, cache) = family.resumable(&alice1);
        assert!(ticketer.decrypt(&ticket(&alice1)).is_some());
        assert!(ticketer.decrypt(&ticket(&alice2)).is_some());
        assert!(ticketer.decrypt(&ticket(&bob)).is_none());
        assert!(ticketer.decrypt(&ticket(&away)).is_none());
        // What it issues, alice1's own key opens.
        let issued = ticketer.encrypt(b"new").unwrap();
        assert_eq!(
            alice1.ticketer.decrypt(&issued).as_deref(),
            Some(&b"new"[..])
        );
        assert!(alice2.ticketer.decrypt(&issued).is_none());
        // TLS 1.2 session IDs: found in any member's cache, stored in its own.
        alice2.cache.put(b"id2".to_vec(), b"v2".to_vec());
        bob.cache.put(b"idb".to_vec(), b"vb".to_vec());
        assert_eq!(cache.get(b"id2").as_deref(), Some(&b"v2"[..]));
        assert!(cache.get(b"idb").is_none());
        cache.put(b"id1".to_vec(), b"v1".to_vec());
        assert!(alice1.cache.get(b"id1").is_some() && alice2.cache.get(b"id1").is_none());
        // A member that ended no longer counts (once the data connections
        // that hold its keys are gone too); a family alone is its own.
        drop((ticketer, cache, alice2));
        let (ticketer, _) = family.resumable(&alice1);
        assert!(ticketer.decrypt(&ticket(&bob)).is_none());
        assert_eq!(family.members.borrow().len(), 1);
    }

    /// Families go with their last member.
    #[test]
    fn families_are_forgotten_with_their_sessions() {
        let mut families = Families::default();
        let here: IpAddr = [192, 0, 2, 1].into();
        for user in ["a", "b", "c"] {
            drop(families.join(here, user, &keys()));
        }
        let kept = keys();
        let _family = families.join(here, "d", &kept);
        assert_eq!(families.by_client.len(), 1);
    }
}
