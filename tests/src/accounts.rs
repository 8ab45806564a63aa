//! A served folder with users and homes, for the users-file tests
//! (accounts.rs) and their fallback-resolver twins (fallback.rs).

use crate::{password_hash, Ctrl, Daemon, Options, TempDir};

/// A root with `/secret.txt`, `/homes/cam/old.pdf` and
/// `/homes/ann/docs/a.txt`, and a users file whose every user has the
/// password `pw`.
pub struct Site {
    pub root: TempDir,
    pub users: TempDir,
}

impl Site {
    /// `lines` are (name, role and home) pairs: `("ann", "user:homes/ann")`.
    pub fn new(lines: &[(&str, &str)]) -> Site {
        let root = TempDir::new("accounts");
        std::fs::write(root.join("secret.txt"), b"top secret").unwrap();
        std::fs::create_dir_all(root.join("homes/cam")).unwrap();
        std::fs::create_dir_all(root.join("homes/ann/docs")).unwrap();
        std::fs::write(root.join("homes/cam/old.pdf"), b"old scan").unwrap();
        std::fs::write(root.join("homes/ann/docs/a.txt"), b"ann's").unwrap();
        let users = TempDir::new("users");
        let hash = password_hash("pw");
        let text: String = lines
            .iter()
            .map(|(name, rest)| format!("{name}:{hash}:{rest}\n"))
            .collect();
        std::fs::write(users.join("users"), text).unwrap();
        Site { root, users }
    }

    /// `--users` and no login delay.
    pub fn args(&self) -> Vec<String> {
        let users = self.users.join("users");
        vec![
            "--users".into(),
            users.to_str().unwrap().into(),
            "--login-delay".into(),
            "0".into(),
        ]
    }

    /// The options that serve this site.
    pub fn options(&self) -> Options {
        Options {
            root: Some(self.root.path().to_path_buf()),
            extra: self.args(),
            ..Options::default()
        }
    }

    pub fn start(&self) -> Daemon {
        Daemon::with(self.options())
    }
}

/// A logged-in session of `user` (password `pw`).
pub fn login(d: &Daemon, user: &str) -> Ctrl {
    let mut c = d.connect();
    c.cmd_ok(&format!("USER {user}"), 331);
    c.cmd_ok("PASS pw", 230);
    c
}
