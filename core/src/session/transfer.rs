//! The transfer machine: `RETR`, `STOR`, `APPE`, `STOU`, `LIST`, `NLST`,
//! `MLSD` through their phases (open the file, get the data connection,
//! move the bytes), `ABOR`, and the `TYPE` and `REST` that shape them.

use std::time::Instant;

use log::info;

use crate::boundary::access::Access;
use crate::boundary::action::{Action, ListFormat, OpenMode};
use crate::boundary::activity::{Activity, Direction};
use crate::boundary::event::{ErrorKind, Event};
use crate::boundary::network::canonical_ip;
use crate::boundary::path::VirtualPath;
use crate::format::xferlog::TransferRecord;
use crate::timers::Timer;
use crate::wire::command::TransferType;

use super::place::list_pattern;
use super::replies::{file_error_reply, transfer_failure_reply, Reply, NO_DATA_CONNECTION};
use super::{Session, UnexpectedEvent};

/// How the next transfers go, as `TYPE` and `REST` set them; written only
/// here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Prefs {
    transfer_type: TransferType,
    /// Where the next `RETR` or `STOR` starts (`REST`).
    restart_offset: u64,
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            transfer_type: TransferType::Binary,
            restart_offset: 0,
        }
    }
}

impl Prefs {
    pub(super) fn transfer_type(&self) -> TransferType {
        self.transfer_type
    }
}

/// What kind of transfer a transfer command started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TransferKind {
    Retr,
    Stor,
    Stou,
    List,
}

impl TransferKind {
    /// The command, for log lines (`APPE` is a kind of `STOR`).
    fn verb(self) -> &'static str {
        match self {
            TransferKind::Retr => "RETR",
            TransferKind::Stor => "STOR",
            TransferKind::Stou => "STOU",
            TransferKind::List => "LIST",
        }
    }

    fn is_upload(self) -> bool {
        matches!(self, TransferKind::Stor | TransferKind::Stou)
    }

    /// What it moves, for log lines.
    fn noun(self) -> &'static str {
        match self {
            TransferKind::Retr => "download",
            TransferKind::Stor | TransferKind::Stou => "upload",
            TransferKind::List => "listing",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for `Opened`.
    Opening,
    /// Waiting for the data connection.
    Connecting,
    /// `150` sent, bytes moving.
    Running,
    /// An upload's every byte is in: it waits `upload_settle`, for the end
    /// of its control connection to show before it is committed.
    Settling,
    /// `CommitUpload` was asked: waiting for its answer.
    Committing,
}

impl Phase {
    /// Whether the transfer started (`150` was sent).
    fn started(self) -> bool {
        !matches!(self, Phase::Opening | Phase::Connecting)
    }
}

/// One transfer, from its command to its final reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct TransferState {
    kind: TransferKind,
    path: VirtualPath,
    phase: Phase,
    size: Option<u64>,
    bytes: u64,
    started: Instant,
    /// TYPE A conversion, fixed when the transfer starts.
    ascii: bool,
    /// Over TLS (`PROT P`), fixed when the transfer command came.
    protected: bool,
}

impl TransferState {
    pub(super) fn phase(&self) -> Phase {
        self.phase
    }

    pub(super) fn is_upload(&self) -> bool {
        self.kind.is_upload()
    }

    /// The file's path (the unique name, for `STOU`, once opened).
    pub(super) fn path(&self) -> &VirtualPath {
        &self.path
    }

    /// Bytes moved so far.
    pub(super) fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Session {
    /// The transfer this session has pending, if any: for the admin's
    /// status page, read only.
    pub fn activity(&self) -> Option<Activity<'_>> {
        let t = self.work.transfer()?;
        let direction = match t.kind {
            TransferKind::Retr => Direction::Download,
            TransferKind::Stor | TransferKind::Stou => Direction::Upload,
            TransferKind::List => Direction::Listing,
        };
        Some(Activity {
            direction,
            path: &t.path,
            size: t.size,
            bytes: t.bytes,
            started: t.started,
            running: t.phase.started(),
        })
    }

    pub(super) fn cmd_type(&mut self, transfer_type: TransferType) {
        self.prefs.transfer_type = transfer_type;
        match transfer_type {
            TransferType::Ascii => self.reply(200, "Switching to ASCII mode."),
            TransferType::Binary => self.reply(200, "Switching to Binary mode."),
        }
    }

    pub(super) fn cmd_rest(&mut self, offset: u64) {
        self.prefs.restart_offset = offset;
        self.reply(350, &format!("Restart position accepted ({offset})."));
    }

    /// The offset `REST` gave, for the command after it; every command
    /// takes it (and the next one gets 0), whether it uses it or not.
    pub(super) fn take_restart_offset(&mut self) -> u64 {
        std::mem::take(&mut self.prefs.restart_offset)
    }

    pub(super) fn cmd_retr(&mut self, now: Instant, arg: &str, offset: u64) {
        if !self.allows(Access::may_download) {
            return self.reply(550, "Permission denied: this account may only upload.");
        }
        self.cmd_transfer(now, TransferKind::Retr, arg, OpenMode::Read { offset });
    }

    pub(super) fn cmd_stor(&mut self, now: Instant, arg: &str, offset: u64) {
        let mode = match offset {
            0 if self.may_write() => OpenMode::Write,
            0 => self.new_file_mode(),
            offset => OpenMode::WriteAt { offset },
        };
        self.cmd_transfer(now, TransferKind::Stor, arg, mode);
    }

    pub(super) fn cmd_transfer(
        &mut self,
        now: Instant,
        kind: TransferKind,
        arg: &str,
        mode: OpenMode,
    ) {
        if !self.data_protection_ok() {
            return;
        }
        let right: fn(Access) -> bool = match mode {
            OpenMode::Read { .. } | OpenMode::List { .. } => |_| true,
            OpenMode::CreateNew | OpenMode::CreateOrReplaceOwn { .. } | OpenMode::CreateUnique => {
                Access::may_create
            }
            OpenMode::Write | OpenMode::WriteAt { .. } | OpenMode::Append => Access::may_change,
        };
        if let Some(path) = self.permitted_path(kind.verb(), arg, right) {
            self.open_for_transfer(now, kind, path, mode);
        }
    }

    /// Asks for the source or sink of a transfer of `path`, once a data
    /// connection is set up.
    fn open_for_transfer(
        &mut self,
        now: Instant,
        kind: TransferKind,
        path: VirtualPath,
        mode: OpenMode,
    ) {
        if !self.data.is_set_up() {
            return self.reply(425, "Use PORT or PASV first.");
        }
        let open = Action::Open {
            path: path.clone(),
            mode,
        };
        let transfer = TransferState {
            kind,
            path,
            phase: Phase::Opening,
            size: None,
            bytes: 0,
            started: now,
            ascii: false,
            protected: self.security.private_data(),
        };
        self.ask(open, transfer);
        self.timers.disarm(Timer::Idle);
    }

    pub(super) fn cmd_list(&mut self, now: Instant, arg: Option<&str>, format: ListFormat) {
        if !self.data_protection_ok() {
            return;
        }
        let arg = arg.unwrap_or(".");
        let Some(path) = self.resolve(arg) else {
            return;
        };
        // MLSD lists a folder (RFC 3659): no client sends it a glob.
        let pattern = match format {
            ListFormat::Machine => None,
            _ => list_pattern(arg, &path, format == ListFormat::Names),
        };
        let mode = OpenMode::List {
            format,
            writable: self.may_write(),
            pattern,
            shown: self.shown(),
        };
        self.open_for_transfer(now, TransferKind::List, path, mode);
    }

    pub(super) fn on_opened(
        &mut self,
        now: Instant,
        mut transfer: TransferState,
        size: Option<u64>,
        name: Option<VirtualPath>,
    ) {
        transfer.size = size;
        if let Some(name) = name {
            transfer.path = name;
        }
        transfer.phase = Phase::Connecting;
        let connected = self.connect_data();
        self.wait(transfer);
        if connected {
            self.start_running(now);
        } else {
            self.timers
                .arm(Timer::DataConnect, now, self.config.data_timeout);
        }
    }

    pub(super) fn start_running(&mut self, now: Instant) {
        let Some(transfer) = self.work.transfer_mut() else {
            return;
        };
        transfer.phase = Phase::Running;
        let ascii =
            self.prefs.transfer_type == TransferType::Ascii && transfer.kind != TransferKind::List;
        transfer.ascii = ascii;
        let protected = transfer.protected;
        let text = match transfer.kind {
            TransferKind::Retr => format!(
                "Opening {} mode data connection for {} ({} bytes).",
                if ascii { "ASCII" } else { "BINARY" },
                transfer.path.file_name(),
                transfer.size.unwrap_or(0)
            ),
            TransferKind::Stor => "Ok to send data.".to_owned(),
            TransferKind::Stou => format!("FILE: {}", transfer.path.file_name()),
            TransferKind::List => "Here comes the directory listing.".to_owned(),
        };
        self.timers.disarm(Timer::DataConnect);
        self.timers.arm(Timer::Stall, now, self.config.data_timeout);
        self.actions
            .push_back(Action::StartTransfer { ascii, protected });
        self.reply(150, &text);
    }

    /// How far the running transfer got: now and then while its bytes
    /// move, and last right before the end of the control connection,
    /// which may come while a received upload settles.
    pub(super) fn on_progress(&mut self, now: Instant, bytes: u64) -> Result<(), UnexpectedEvent> {
        match self.work.transfer_mut() {
            Some(t) if t.phase == Phase::Running => {
                t.bytes = bytes;
                self.timers.arm(Timer::Stall, now, self.config.data_timeout);
                Ok(())
            }
            Some(t) if t.phase == Phase::Settling => {
                t.bytes = bytes;
                Ok(())
            }
            _ => Err(UnexpectedEvent(Event::TransferProgress { bytes })),
        }
    }

    /// Every byte of the upload is in. It is committed once `upload_settle`
    /// has passed, unless its control connection ends first: a client
    /// killed mid-upload closes its data connection just before, and its
    /// upload is broken (see `handle_control_eof`), not put in place.
    pub(super) fn on_upload_received(
        &mut self,
        now: Instant,
        mut transfer: TransferState,
        bytes: u64,
    ) {
        transfer.bytes = bytes;
        transfer.phase = Phase::Settling;
        self.wait(transfer);
        self.timers.arm(Timer::Stall, now, self.config.data_timeout);
        self.timers
            .arm(Timer::Settle, now, self.config.upload_settle);
    }

    /// The received upload has settled, its client still there to hear the
    /// `226`: it may be put in place. From now on the session waits for
    /// the server's own disk (a commit syncs the file and its folder, which
    /// on an SD card may take longer than `data_timeout`), not for the
    /// client: that is no stall, as a wait for any other action is none.
    pub(super) fn on_settled(&mut self) {
        if let Some(t) = self.work.transfer_mut() {
            if t.phase == Phase::Settling {
                t.phase = Phase::Committing;
                self.timers.disarm(Timer::Stall);
                self.actions.push_back(Action::CommitUpload);
            }
        }
    }

    /// Ends the pending transfer (already stopped by the caller, or to be
    /// stopped by `stop`), logs it, and answers its command with `reply`.
    fn conclude_transfer(
        &mut self,
        now: Instant,
        transfer: &TransferState,
        stop: Option<Action>,
        (code, text): Reply,
    ) {
        if let Some(action) = stop {
            self.actions.push_back(action);
        }
        self.data_used();
        self.timers.disarm(Timer::DataConnect);
        self.timers.disarm(Timer::Stall);
        self.timers.disarm(Timer::Settle);
        self.arm_idle(now);
        self.log_transfer(now, transfer, code, text);
        self.reply(code, text);
    }

    /// Logs how a transfer ended; one that started (`150`) and moved a file
    /// also gets its xferlog record, incomplete unless it ended with `226`.
    fn log_transfer(&mut self, now: Instant, transfer: &TransferState, code: u16, text: &str) {
        let user = self.user_name().to_owned();
        let seconds = now
            .saturating_duration_since(transfer.started)
            .as_secs_f64();
        let (peer, path, bytes) = (self.peer, &transfer.path, transfer.bytes);
        let what = transfer.kind.noun();
        let data = if transfer.protected { "TLS" } else { "clear" };
        match transfer.phase {
            Phase::Opening | Phase::Connecting => {
                info!("{peer}: {user:?} {what} {path} failed: {code} {text}")
            }
            _ if code == 226 => info!(
                "{peer}: {user:?} {what} {path} complete: {bytes} bytes in {seconds:.3}s, data in {data}"
            ),
            _ => info!(
                "{peer}: {user:?} {what} {path} interrupted after {bytes} bytes in {seconds:.3}s, data in {data}: {code} {text}"
            ),
        }
        if transfer.phase.started() && transfer.kind != TransferKind::List {
            let record = TransferRecord {
                peer: canonical_ip(peer.ip()),
                path: transfer.path.clone(),
                bytes,
                seconds,
                ascii: transfer.ascii,
                outgoing: transfer.kind == TransferKind::Retr,
                anonymous: self.anonymous_login(),
                user,
                complete: code == 226,
            };
            self.actions.push_back(Action::LogTransfer(record));
        }
    }

    /// The client is gone with a transfer pending: nobody will read its
    /// final reply, but the log and the xferlog must still say it was
    /// interrupted (the caller drops the transfer with the session).
    pub(super) fn record_interrupted(&mut self, now: Instant) {
        if let Some(transfer) = self.work.transfer() {
            let transfer = transfer.clone();
            let text = "Control connection gone; transfer interrupted.";
            self.log_transfer(now, &transfer, 426, text);
        }
    }

    /// Stops the pending transfer ourselves (`stop` tells the caller how)
    /// and answers its command with `reply`; false if no transfer was
    /// pending.
    pub(super) fn stop_transfer(&mut self, now: Instant, stop: Action, reply: Reply) -> bool {
        let Some(transfer) = self.take_transfer() else {
            return false;
        };
        self.conclude_transfer(now, &transfer, Some(stop), reply);
        true
    }

    pub(super) fn cmd_abor(&mut self, now: Instant) {
        if self.stop_transfer(now, Action::AbortTransfer, (426, "Transfer aborted.")) {
            self.reply(226, "ABOR successful.");
        } else {
            self.reply(225, "No transfer to abort.");
        }
    }

    pub(super) fn on_open_failed(
        &mut self,
        now: Instant,
        transfer: TransferState,
        kind: ErrorKind,
    ) {
        let reply = file_error_reply(kind);
        self.conclude_transfer(now, &transfer, Some(Action::CloseData), reply);
    }

    pub(super) fn on_connect_failed(&mut self, now: Instant, transfer: TransferState) {
        let reply = NO_DATA_CONNECTION;
        self.conclude_transfer(now, &transfer, Some(Action::CloseData), reply);
    }

    pub(super) fn on_transfer_done(
        &mut self,
        now: Instant,
        mut transfer: TransferState,
        bytes: u64,
    ) {
        transfer.bytes = bytes;
        if matches!(transfer.kind, TransferKind::Stor | TransferKind::Stou) {
            self.uploaded(&transfer.path);
        }
        self.conclude_transfer(now, &transfer, None, (226, "Transfer complete."));
    }

    pub(super) fn on_transfer_failed(
        &mut self,
        now: Instant,
        mut transfer: TransferState,
        kind: ErrorKind,
        bytes: u64,
    ) {
        transfer.bytes = bytes;
        let reply = transfer_failure_reply(kind);
        self.conclude_transfer(now, &transfer, None, reply);
    }

    /// The data connection did not come in `data_timeout`.
    pub(super) fn on_data_connect_timeout(&mut self, now: Instant) {
        self.report_passive_not_reached();
        self.stop_transfer(now, Action::CloseData, NO_DATA_CONNECTION);
    }

    /// A running transfer made no progress in `data_timeout`.
    pub(super) fn on_stall(&mut self, now: Instant) {
        let reply = (426, "No progress; transfer aborted.");
        self.stop_transfer(now, Action::AbortTransfer, reply);
    }
}
