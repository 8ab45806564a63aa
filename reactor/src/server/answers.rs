//! The one path every outcome of an action takes back to its session: a
//! queue of answers, each tagged with whom it is for, delivered on the
//! answer phases of the loop's turn (after the session has read all the
//! input it could, never while it is being drained). The end of a control
//! connection takes the same path, behind the answers before it. An
//! answer for a session that ended, or for a data connection it dropped,
//! is dropped here, in one place.

use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Instant;

use log::error;
use pocketftp_core::{ErrorKind, Event};

use super::Server;

/// Who an answer is for: a connection (key and generation, so a reused key
/// is told apart) and its data epoch, which moves on whenever the session
/// drops its data connection — so an answer about a transfer that was
/// aborted, or a connection that closed, is dropped instead of delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tag {
    pub key: usize,
    pub generation: u32,
    pub epoch: u32,
}

/// What the queue brings a session.
pub(crate) enum Answer {
    /// What came of an action, or news of a running transfer.
    Event(Event),
    /// The control connection ended. It waits behind the answers queued
    /// before it, so the session hears first what happened first (a
    /// transfer done before its client left is done).
    ControlEnded(ControlEnd),
}

/// How a control connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ControlEnd {
    /// The client closed its side.
    Eof,
    /// It broke: a reset, a failed write, a TLS start that failed.
    Lost,
}

/// Outcomes of actions on their way to their sessions.
#[derive(Default)]
pub(crate) struct Answers {
    queue: VecDeque<(Tag, Answer)>,
}

impl Answers {
    /// Queues `event` for the session `tag` names.
    pub fn push(&mut self, tag: Tag, event: Event) {
        self.queue.push_back((tag, Answer::Event(event)));
    }

    /// Queues the end of the control connection of the session `tag` names.
    pub fn push_end(&mut self, tag: Tag, end: ControlEnd) {
        self.queue.push_back((tag, Answer::ControlEnded(end)));
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

impl Server {
    /// Hands each queued answer to its session, unless the session ended or
    /// (for an event) moved to another data epoch since. Answers queued
    /// meanwhile wait for the next delivery (twice a turn: after the
    /// sockets, after the transfers), so one session's pipelined commands
    /// cannot hold the loop.
    pub(super) fn deliver_answers(&mut self, now: Instant) {
        for _ in 0..self.answers.queue.len() {
            let Some((tag, answer)) = self.answers.queue.pop_front() else {
                return;
            };
            let addressee = match answer {
                Answer::Event(_) => self.addressee(tag, now),
                Answer::ControlEnded(_) => self.live(tag.key, tag.generation, now),
            };
            let Some((conn, _)) = addressee else {
                continue;
            };
            conn.hear(answer, now);
            self.drive(tag.key, now);
        }
    }

    /// The sync worker's answers: each tells its session, if it still
    /// waits for it, what came of its commit or change.
    pub(super) fn sync_answers(&mut self, now: Instant) {
        let answers: Vec<_> = self.syncs.answers().collect();
        for (synced, ran) in answers {
            let Some((conn, mut cx)) = self.addressee(synced.tag, now) else {
                continue;
            };
            if let Err(e) = &ran.result {
                cx.faults.note(conn.session.peer(), "sync", &synced.path, e);
            }
            if let Some(sink) = ran.sink {
                conn.file_synced(ran.result.map(|()| sink), &mut cx);
                continue;
            }
            conn.work.synced();
            cx.answers.push(conn.tag, synced.event(&ran.result));
        }
    }

    /// The password worker's answers: a user with a home folder sees it as
    /// `/` from now on; an account that has all the sessions
    /// `--max-sessions-per-user` allows gets none more.
    pub(super) fn password_answers(&mut self, now: Instant) {
        let answers: Vec<_> = self.passwords.iter().flat_map(|w| w.answers()).collect();
        for answer in answers {
            let refused = answer.account.is_none();
            let full = answer.account.is_some() && self.sessions_full(&answer.user);
            let Some((conn, cx)) = self.live(answer.key, answer.generation, now) else {
                continue;
            };
            if full {
                // Not a failed login: the password was right.
                cx.answers
                    .push(conn.tag, Event::Failed(ErrorKind::TooManySessions));
                continue;
            }
            let peer = conn.session.peer();
            conn.quota = answer.account.as_ref().and_then(|account| account.quota);
            let access = answer.account.and_then(|account| {
                if let Some(bucket) = cx.bucket {
                    // A home in a bucket is a longer prefix: nothing to open.
                    conn.store = account.home.as_ref().map(|home| bucket.home(home));
                    return Some(account.access);
                }
                let home = account.home.as_ref().map(|home| cx.root.home(home));
                conn.home_path.clone_from(&account.home);
                match home {
                    Some(Err(e)) => {
                        error!("{peer}: login refused: its home folder cannot be opened: {e}");
                        None
                    }
                    Some(Ok(home)) => {
                        conn.home = Some(Rc::new(home));
                        Some(account.access)
                    }
                    None => Some(account.access),
                }
            });
            if access.is_some() {
                conn.account = Some(answer.user);
            } else {
                cx.stats.logins_failed = cx.stats.logins_failed.saturating_add(1);
            }
            cx.answers.push(conn.tag, Event::LoginChecked(access));
            if refused {
                self.bans.failed_login(peer.ip(), now);
            }
        }
    }

    /// Whether `user` has as many sessions as `--max-sessions-per-user`
    /// allows (a look at every connection: at most `--max-clients`, once
    /// per login).
    fn sessions_full(&self, user: &str) -> bool {
        let Some(limit) = self.settings.limits.max_sessions_per_user else {
            return false;
        };
        let open = self
            .connections
            .iter()
            .filter(|(_, conn)| !conn.closing && conn.account.as_deref() == Some(user));
        open.count() >= limit
    }
}
