//! The one path every outcome of an action takes back to its session: a
//! queue of answers, each tagged with whom it is for, delivered on the
//! answer phase of the loop's turn (after the session has read all the
//! input it could, never while its action queue is being drained). An
//! answer for a session that ended, or for a data connection it dropped,
//! is dropped here, in one place.

use std::rc::Rc;
use std::time::Instant;

use log::error;
use pocketftp_core::Event;

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

impl Server {
    /// Queues `event` for the session at `key`, tagged with its data epoch.
    pub(super) fn answer(&mut self, key: usize, event: Event) {
        self.answers.push_back((self.connections[key].tag, event));
    }

    /// Hands each queued answer to its session, unless the session ended or
    /// moved to another data epoch since. Answers queued meanwhile wait for
    /// the next turn, so one session's pipelined commands cannot hold the loop.
    pub(super) fn deliver_answers(&mut self, now: Instant) {
        for _ in 0..self.answers.len() {
            let Some((tag, event)) = self.answers.pop_front() else {
                return;
            };
            let Some(conn) = self.live(tag.key, tag.generation) else {
                continue;
            };
            if conn.tag.epoch != tag.epoch {
                continue;
            }
            if let Err(e) = conn.session.handle_event(now, event) {
                error!("reactor bug: {e:?}");
            }
            self.drive(tag.key, now);
        }
    }

    pub(super) fn password_answers(&mut self) {
        let answers: Vec<_> = self.passwords.iter().flat_map(|w| w.answers()).collect();
        for answer in answers {
            if self.live(answer.key, answer.generation).is_none() {
                continue;
            }
            let access = answer.account.and_then(|account| {
                let home = account.home.as_ref().map(|home| self.jail.home(home));
                match home {
                    Some(Err(e)) => {
                        let peer = self.connections[answer.key].session.peer();
                        error!("{peer}: login refused: its home folder cannot be opened: {e}");
                        None
                    }
                    Some(Ok(home)) => {
                        self.connections[answer.key].home = Some(Rc::new(home));
                        Some(account.access)
                    }
                    None => Some(account.access),
                }
            });
            self.answer(answer.key, Event::LoginChecked(access));
        }
    }
}
