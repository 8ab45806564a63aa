//! Who may log in: the users file and the thread that checks passwords.

pub mod users;
