//! Parsing one control line into a [`Command`].
