//! How uploaded files and made folders land on the disk: their mode
//! bits and what a reply waits for the disk to hold.

use super::Kind::Value;
use super::{assign, Opt};
use crate::startup::values::{durability, umask};

/// This concern's rows, in the order `--help` lists them.
pub(super) const FILES: &[Opt] = &[
    Opt {
        name: "umask",
        kind: Value("OCTAL"),
        in_file: true,
        help: "permission bits new uploads and folders lack (default 022:\n\
               files 644, folders 755)",
        set: |o, v| assign(&mut o.umask, umask(v)),
    },
    Opt {
        name: "sync",
        kind: Value("WHAT"),
        in_file: true,
        help: "uploads | all | off: what a reply waits for the disk\n\
               to hold. uploads (default): after a 226 the file\n\
               survives a power cut; all: MKD, RMD, DELE and RNTO\n\
               too; off: nothing synced, small uploads go faster,\n\
               and a power cut may lose them",
        set: |o, v| assign(&mut o.sync, durability(v)),
    },
];
