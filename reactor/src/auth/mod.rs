//! Who may log in: the users file, the argon2 hashes in it, and the thread
//! that checks passwords.

pub mod hashing;
pub mod users;
pub mod worker;
