//! Test support: the simulated caller, the fuzz target bodies, and (in the
//! core's own tests) a log capture.

pub mod fuzzing;
#[cfg(test)]
pub(crate) mod log_capture;
pub mod sim;
