//! The served folder, watched. The server holds a descriptor of its root,
//! which stays the folder it opened whatever happens at the root's path: a
//! USB disk mounted there after start-up (the daemon started first), a
//! disk unplugged and mounted again (a new folder, however alike), a
//! card the kernel made read-only after errors and the admin mounted
//! again after `fsck`, a root deleted and made again. Without a look, the
//! old folder would be served until a restart.
//!
//! So the server compares the folder `--root` names with the one it holds
//! when a session starts, after a disk fault (`storage/faults.rs`), and on
//! SIGHUP (two `stat`s). When the path names another folder, that one is
//! served from then on, by every session without a home folder at once
//! (sessions with one keep it until they log in again); when it names
//! nothing, the old one is kept, its errors are what sessions get, and the
//! log says so once.
//!
//! The daemon serves what the path names, as a restart would: serve a
//! folder inside the disk (`--root /mnt/usb/ftp`), not the mount point
//! itself, and an unmounted disk leaves the path naming nothing, rather
//! than the empty mount point folder of the SD card, where uploads would
//! then go.

use std::path::PathBuf;

use log::{error, info, warn};

use super::Server;
use crate::storage::jail::Jail;

/// The root's path, and what the last look found.
pub(super) struct RootWatch {
    path: PathBuf,
    /// The path named nothing at the last look (said once).
    gone: bool,
}

impl Server {
    /// Watches `path`, the path of the served folder (see the module's guide).
    pub fn watch_root(&mut self, path: PathBuf) {
        self.root_watch = Some(RootWatch { path, gone: false });
    }

    /// Looks whether the served folder is still the one its path names,
    /// and serves the one it names now if not.
    pub(super) fn check_root(&mut self) {
        let Some(watch) = &mut self.root_watch else {
            return;
        };
        let path = watch.path.display();
        let found = match self.root.is_at(&watch.path) {
            Ok(true) => Ok(None),
            Ok(false) => Jail::open(&watch.path).map(Some),
            Err(e) => Err(e),
        };
        let gone = found.is_err();
        match found {
            Ok(None) if watch.gone => info!("the served folder {path} is there again"),
            Ok(None) => {}
            Ok(Some(jail)) => {
                warn!("{path} names another folder now (a disk mounted or unmounted there, or the folder made again): serving it from now on");
                self.root = jail;
            }
            Err(e) if !watch.gone => error!(
                "the served folder was deleted or unmounted: {path}: {e}; sessions get errors until a folder is there again (looked for when a session starts, after a disk fault, and on SIGHUP)"
            ),
            Err(_) => return,
        }
        watch.gone = gone;
    }
}
