//! Limits on what sessions take: bandwidth, and the free space uploads
//! leave.

use super::Kind::Value;
use super::{assign, Opt};
use crate::startup::values::{min_free, rate};

/// This concern's rows, in the order `--help` lists them.
pub(super) const LIMITS: &[Opt] = &[
    Opt {
        name: "max-rate-down",
        kind: Value("RATE"),
        in_file: true,
        help: "per-session download limit, bytes/s; K/M/G suffixes are\n\
               1024-based (10M); 0 means no limit (the default)",
        set: |o, v| assign(&mut o.max_rate_down, rate(v)),
    },
    Opt {
        name: "max-rate-up",
        kind: Value("RATE"),
        in_file: true,
        help: "per-session upload limit",
        set: |o, v| assign(&mut o.max_rate_up, rate(v)),
    },
    Opt {
        name: "max-rate",
        kind: Value("RATE"),
        in_file: true,
        help: "all sessions together, both directions",
        set: |o, v| assign(&mut o.max_rate, rate(v)),
    },
    Opt {
        name: "min-free",
        kind: Value("SIZE|PERCENT"),
        in_file: true,
        help: "uploads get 452 (and one under way is cut, leaving no\n\
               partial file) when the file system's free space is below\n\
               this: 200M, 2G or a share, 5% (default 1%; 0 turns it off;\n\
               a bucket, --storage s3://, is not measured)",
        set: |o, v| assign(&mut o.min_free, min_free(v)),
    },
];
