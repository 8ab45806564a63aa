//! pocketftpd: the reactor around pocketftp-core.

pub mod users;
