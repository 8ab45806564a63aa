//! What is served: the config file, the folder or bucket (and the S3
//! client's settings), the names of this node's upload files, dot files,
//! and the user the daemon becomes.

use super::Kind::{Flag, Value};
use super::{assign, Opt};
use crate::startup::values::{age, boolean};
use crate::storage::node::NodeId;
use crate::storage::s3::config::Location;

/// This concern's rows, in the order `--help` lists them.
pub(super) const SERVED: &[Opt] = &[
    Opt {
        name: "config",
        kind: Value("FILE"),
        in_file: false,
        help: "key = value file; keys are these options without dashes",
        set: |o, v| assign(&mut o.config, Ok(Some(v.into()))),
    },
    Opt {
        name: "root",
        kind: Value("DIR"),
        in_file: true,
        help: "folder to serve (default: the current folder)",
        set: |o, v| assign(&mut o.root, Ok(v.into())),
    },
    Opt {
        name: "storage",
        kind: Value("s3://BUCKET[/PREFIX]"),
        in_file: true,
        help: "serve a bucket (or a prefix of one) instead of --root\n\
               keys: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or --s3-credentials",
        set: |o, v| assign(&mut o.storage, Location::parse(v).map(Some)),
    },
    Opt {
        name: "s3-endpoint",
        kind: Value("URL"),
        in_file: true,
        help: "the S3 server: http://HOST:PORT or https://HOST[:PORT]",
        set: |o, v| assign(&mut o.s3_endpoint, Ok(Some(v.to_owned()))),
    },
    Opt {
        name: "s3-region",
        kind: Value("NAME"),
        in_file: true,
        help: "the bucket's region, as signatures name it (default us-east-1)",
        set: |o, v| assign(&mut o.s3_region, Ok(v.to_owned())),
    },
    Opt {
        name: "s3-path-style",
        kind: Flag,
        in_file: true,
        help: "ask for ENDPOINT/BUCKET/KEY, not BUCKET.ENDPOINT/KEY (SeaweedFS, MinIO)",
        set: |o, v| assign(&mut o.s3_path_style, boolean(v)),
    },
    Opt {
        name: "s3-credentials",
        kind: Value("FILE"),
        in_file: true,
        help: "the keys, as AWS's credentials file ([default] section)",
        set: |o, v| assign(&mut o.s3_credentials, Ok(Some(v.into()))),
    },
    Opt {
        name: "s3-ca",
        kind: Value("FILE"),
        in_file: true,
        help: "CA certificates (PEM) an https endpoint's must chain to (default: the system's)",
        set: |o, v| assign(&mut o.s3_ca, Ok(Some(v.into()))),
    },
    Opt {
        name: "node-id",
        kind: Value("NAME"),
        in_file: true,
        help: "names this daemon's upload files (default: the host\n\
               name); each daemon on a shared folder needs its own",
        set: |o, v| assign(&mut o.node_id, NodeId::parse(v).map(Some)),
    },
    Opt {
        name: "sweep-foreign-after",
        kind: Value("S"),
        in_file: true,
        help: "other nodes' upload files count as a crash's once\n\
               unchanged for S seconds (default 86400)",
        set: |o, v| assign(&mut o.sweep_foreign_after, age(v)),
    },
    Opt {
        name: "dotfiles",
        kind: Flag,
        in_file: true,
        help: "serve names starting with a dot (.ssh, .env); without it they\n\
               are neither listed, read, written nor entered",
        set: |o, v| assign(&mut o.dotfiles, boolean(v)),
    },
    Opt {
        name: "run-as",
        kind: Value("USER"),
        in_file: true,
        help: "started as root: become USER once the ports are bound",
        set: |o, v| assign(&mut o.run_as, Ok(Some(v.to_owned()))),
    },
];
