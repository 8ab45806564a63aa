//! pocketftpd: the reactor around pocketftp-core.

pub mod cli;
pub mod config_file;
pub mod dir;
pub mod errors;
pub mod jail;
pub mod privileges;
pub mod rate;
pub mod server;
pub mod temps;
pub mod tls;
pub mod transfer;
pub mod users;
