//! What a [`Session`](crate::Session) has for its caller after an input:
//! one enum, polled until it says `None`, so every caller drains a session
//! with the same loop (see the crate's guide).

use crate::boundary::action::Action;

/// The next thing a session has for its caller, from
/// [`Session::poll_output`](crate::Session::poll_output): its actions
/// first, in order, then its reply bytes.
#[derive(Debug, PartialEq)]
pub enum Output<'a> {
    /// Carry this out; its answer, if it has one, comes back through
    /// [`Session::handle_event`](crate::Session::handle_event) once the
    /// drain is over.
    Action(Action),
    /// Reply bytes for the control connection, all of them queued so far.
    /// Say how many went out with
    /// [`Session::consume_control_transmit`](crate::Session::consume_control_transmit);
    /// until then, the same bytes come again.
    Reply(&'a [u8]),
}
