//! What the session waits for: one thing at a time, so pipelined commands
//! are answered in order. Every machine asks and waits through the methods
//! here, the only writer of [`Work`] (a transfer's own state inside it,
//! [`TransferState`], is the transfer machine's, written in `transfer.rs`).

use crate::boundary::action::Action;

use super::data::DataWait;
use super::login::LoginWait;
use super::place::PlaceWait;
use super::transfer::{Phase, TransferState};
use super::Session;

/// What the session is busy with between a command and its answer: one
/// thing at a time, so pipelined commands are answered in order. Written
/// only here; the other machines ask through [`Session::ask`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum Work {
    #[default]
    Idle,
    /// The login machine waits (`login.rs`).
    Login(LoginWait),
    /// The data-connection machine waits (`data.rs`).
    Data(DataWait),
    /// The place machine waits for the file system (`place.rs`).
    Place(PlaceWait),
    /// A transfer, through its phases.
    Transfer(TransferState),
}

impl From<LoginWait> for Work {
    fn from(wait: LoginWait) -> Work {
        Work::Login(wait)
    }
}

impl From<DataWait> for Work {
    fn from(wait: DataWait) -> Work {
        Work::Data(wait)
    }
}

impl From<PlaceWait> for Work {
    fn from(wait: PlaceWait) -> Work {
        Work::Place(wait)
    }
}

impl From<TransferState> for Work {
    fn from(transfer: TransferState) -> Work {
        Work::Transfer(transfer)
    }
}

/// Which command lines the session answers now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Answering {
    /// Every one: nothing is pending.
    All,
    /// Only `ABOR` and `STAT`: a transfer waits for its data connection, or
    /// runs.
    DuringTransfer,
    /// None: an answer must come first.
    Nothing,
}

impl Work {
    pub(super) fn is_idle(&self) -> bool {
        *self == Work::Idle
    }

    pub(super) fn answering(&self) -> Answering {
        match self {
            Work::Idle => Answering::All,
            Work::Transfer(t) if t.phase() != Phase::Opening => Answering::DuringTransfer,
            _ => Answering::Nothing,
        }
    }

    /// The pending transfer, if any.
    pub(super) fn transfer(&self) -> Option<&TransferState> {
        match self {
            Work::Transfer(t) => Some(t),
            _ => None,
        }
    }

    /// The pending transfer, for the transfer machine to move through its
    /// phases (its fields are written only in `transfer.rs`).
    pub(super) fn transfer_mut(&mut self) -> Option<&mut TransferState> {
        match self {
            Work::Transfer(t) => Some(t),
            _ => None,
        }
    }

    /// Whether a transfer's file is open and it waits for its data
    /// connection.
    pub(super) fn waits_for_data(&self) -> bool {
        self.transfer()
            .is_some_and(|t| t.phase() == Phase::Connecting)
    }
}

impl Session {
    /// Asks the caller for `action` and waits for its answer.
    pub(super) fn ask(&mut self, action: Action, wait: impl Into<Work>) {
        self.actions.push_back(action);
        self.work = wait.into();
    }

    /// Waits for something that is not the answer to an action (a timer).
    pub(super) fn wait(&mut self, wait: impl Into<Work>) {
        self.work = wait.into();
    }

    /// The pending work, for the answer that ends it; the session is idle
    /// until a handler asks again.
    pub(super) fn take_work(&mut self) -> Work {
        std::mem::take(&mut self.work)
    }

    /// The pending transfer, to end it; other work stays pending.
    pub(super) fn take_transfer(&mut self) -> Option<TransferState> {
        match self.take_work() {
            Work::Transfer(transfer) => Some(transfer),
            other => {
                self.resume_work(other);
                None
            }
        }
    }

    /// Puts back work an event did not answer.
    pub(super) fn resume_work(&mut self, work: Work) {
        self.work = work;
    }

    /// Nothing is pending any more.
    pub(super) fn end_work(&mut self) {
        self.work = Work::Idle;
    }
}
