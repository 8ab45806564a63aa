//! Reply formatting.
