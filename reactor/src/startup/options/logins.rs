//! Where clients connect, what they are greeted with, and who may log in
//! doing what: the anonymous role, the upload role's rules, the users file.

use std::net::SocketAddr;

use pocketftp_core::Access;

use super::Kind::{Flag, Repeatable, Value};
use super::{assign, Opt, Options};
use crate::startup::values::{address, boolean, role};

/// This concern's rows, in the order `--help` lists them.
pub(super) const LOGINS: &[Opt] = &[
    Opt {
        name: "listen",
        kind: Repeatable("ADDR:PORT"),
        in_file: true,
        help: "address to listen on (default 0.0.0.0:52305)",
        set: |o, v| address(v).map(|a| o.add_listen(a)),
    },
    Opt {
        name: "banner",
        kind: Value("TEXT"),
        in_file: true,
        help: "text of the 220 welcome (default \"pocketftpd ready.\")",
        set: |o, v| assign(&mut o.banner, Ok(v.replace(['\r', '\n'], " "))),
    },
    Opt {
        name: "write",
        kind: Flag,
        in_file: true,
        help: "anonymous users may upload and change files (= --anonymous-role super)",
        set: |o, v| {
            let write = boolean(v)?;
            o.given_write = Some(write);
            assign(&mut o.anonymous_access, Ok(write_access(write)))
        },
    },
    Opt {
        name: "anonymous-role",
        kind: Value("ROLE"),
        in_file: true,
        help: "super | user | upload (a drop box) for anonymous sessions (default user)",
        set: |o, v| {
            let access = role(v)?;
            o.given_role = Some(access);
            assign(&mut o.anonymous_access, Ok(access))
        },
    },
    Opt {
        name: "upload-list-empty",
        kind: Flag,
        in_file: true,
        help: "the upload role's listings are empty: a drop box nobody can\n\
               look into",
        set: |o, v| assign(&mut o.upload_list_empty, boolean(v)),
    },
    Opt {
        name: "upload-replace-own",
        kind: Flag,
        in_file: true,
        help: "an upload account may replace a file it uploaded itself (a\n\
               camera's snapshot.jpg); anonymous sessions may not",
        set: |o, v| assign(&mut o.upload_replace_own, boolean(v)),
    },
    Opt {
        name: "users",
        kind: Value("FILE"),
        in_file: true,
        help: "users file (NAME:HASH:ROLE[:HOME] [quota=BYTES[,FILES]] lines);\n\
               turns anonymous login off",
        set: |o, v| assign(&mut o.users, Ok(Some(v.into()))),
    },
    Opt {
        name: "anonymous",
        kind: Flag,
        in_file: true,
        help: "keep anonymous login on alongside --users",
        set: |o, v| assign(&mut o.anonymous, boolean(v)),
    },
];

/// `--write` is `--anonymous-role super`; `write = false`, read-only.
fn write_access(write: bool) -> Access {
    if write {
        Access::Super
    } else {
        Access::ReadOnly
    }
}

impl Options {
    /// The first `--listen` on the command line replaces the config file's.
    fn add_listen(&mut self, addr: SocketAddr) {
        if std::mem::take(&mut self.listen_from_file) {
            self.listen.clear();
        }
        self.listen.push(addr);
    }
}
