//! The transition table: every change of a session's state starts in one
//! of the three tables below, and nowhere else (h11's rule: what affects a
//! transition lives here, or in a handler named here).
//!
//! A session is five small machines and its life. Each machine's state is
//! a typed part of [`Session`] whose fields are private to its file, so
//! that file is its only writer; a handler elsewhere may read a part, and
//! changes it only through a method of the part's file (`ask`,
//! `data_used`, `forget_rename`, ...):
//!
//! | machine         | part                                     | written only in |
//! |-----------------|------------------------------------------|-----------------|
//! | login           | `Login`: USER/PASS state, failures       | `login.rs`      |
//! | security        | `Security`: AUTH, PBSZ, PROT             | `security.rs`   |
//! | data connection | `DataPlan`: the next one, EPSV ALL       | `data.rs`       |
//! | transfer        | `TransferState`: a transfer's phase, bytes; `Prefs`: TYPE, REST | `transfer.rs` |
//! | place           | `Place`: working folder, pending rename  | `place.rs`      |
//! | life            | `Life`: open, input ended, shutting down, closed | `mod.rs` |
//!
//! What the session waits for, `Work` (one machine's wait, or a transfer's
//! `TransferState`), is written only in `work.rs`: a machine asks and waits
//! through its methods (`ask`, `wait`, `take_work`, `end_work`).
//!
//! Three kinds of input move them:
//! - a command line: [`Session::dispatch`], one arm a command;
//! - an event: [`Session::on_event`], news of a data connection or a
//!   transfer's progress, or else the answer to what `Work` waits for,
//!   matched as a pair `(Work, Event)` in [`Session::on_answer`];
//! - a deadline: [`Session::on_timer`], one arm a timer.
//!
//! The caller's own inputs (the client's EOF, a lost connection, the
//! daemon's shutdown) are `Life`'s transitions, in `mod.rs` where the API
//! receives them.

use std::time::Instant;

use crate::boundary::action::{Action, ListFormat, OpenMode};
use crate::boundary::event::Event;
use crate::timers::Timer;
use crate::wire::command::{Command, EpsvArg};

use super::data::DataWait;
use super::login::LoginWait;
use super::place::{ChangeFor, PlaceWait, StatFor};
use super::transfer::{Phase, TransferKind};
use super::work::Work;
use super::{Session, UnexpectedEvent};

impl Session {
    /// A command from the client, logged in (or allowed before login).
    pub(super) fn dispatch(&mut self, now: Instant, command: Command<'_>) {
        use Command as C;
        // REST applies to the very next command only.
        let restart = self.take_restart_offset();
        match command {
            C::User(name) => self.cmd_user(name),
            C::Pass(password) => self.cmd_pass(password),
            C::Quit => self.cmd_quit(),
            C::Noop => self.reply(200, "NOOP ok."),
            C::Syst => self.reply(215, "UNIX Type: L8"),
            C::Feat => self.reply_features(),
            C::Auth(known) => self.cmd_auth(known),
            C::Pbsz => self.cmd_pbsz(),
            C::Prot(level) => self.cmd_prot(level),
            C::Help => self.reply_help(),
            C::OptsUtf8 => self.reply(200, "Always in UTF8 mode."),
            C::OptsMlst => self.reply(200, "MLST OPTS type;size;modify;perm;UNIX.mode;"),
            // 200, not 202: a camera model quits on 202 (issue 27), and
            // RFC 959 allows either for a server that needs no allocation.
            C::Allo => self.reply(200, "ALLO command ignored: no allocation needed."),
            C::ModeStream => self.reply(200, "Mode set to S."),
            C::StruFile => self.reply(200, "Structure set to F."),
            C::Type(t) => self.cmd_type(t),
            C::Pwd => self.cmd_pwd(),
            C::Cdup => self.cmd_cdup(),
            C::Rest(offset) => self.cmd_rest(offset),
            C::Abor => self.cmd_abor(now),
            C::Port(addr) => self.cmd_port(addr, "PORT"),
            C::Eprt(addr) => self.cmd_port(addr, "EPRT"),
            C::Pasv => self.cmd_passive(false, None),
            C::Epsv(EpsvArg::All) => self.cmd_epsv_all(),
            C::Epsv(EpsvArg::Any) => self.cmd_passive(true, None),
            C::Epsv(EpsvArg::Only(family)) => self.cmd_passive(true, Some(family)),
            C::Retr(arg) => self.cmd_retr(now, arg, restart),
            C::Stor(arg) => self.cmd_stor(now, arg, restart),
            C::Appe(arg) => self.cmd_transfer(now, TransferKind::Stor, arg, OpenMode::Append),
            C::Stou => self.cmd_transfer(now, TransferKind::Stou, ".", OpenMode::CreateUnique),
            C::List(arg) => self.cmd_list(now, arg, ListFormat::Long),
            C::Nlst(arg) => self.cmd_list(now, arg, ListFormat::Names),
            C::Mlsd(arg) => self.cmd_list(now, arg, ListFormat::Machine),
            C::Cwd(arg) => self.cmd_stat(StatFor::Cwd, arg),
            C::Size(arg) => self.cmd_stat(StatFor::Size, arg),
            C::Mdtm(arg) => self.cmd_stat(StatFor::Mdtm, arg),
            C::Mlst(arg) => self.cmd_stat(StatFor::Mlst, arg.unwrap_or(".")),
            C::Rnfr(arg) => self.cmd_rnfr(arg),
            C::Rnto(arg) => self.cmd_rnto(arg),
            C::Dele(arg) => self.cmd_change(ChangeFor::Dele, arg, Action::Delete),
            C::SiteChmod(mode, arg) => {
                self.cmd_change(ChangeFor::Chmod, arg, |path| Action::SetMode { path, mode })
            }
            C::SiteHelp => self.reply_site_help(),
            C::SiteQuota => self.ask(Action::Quota, PlaceWait::Quota),
            C::Mkd(arg) => self.cmd_change(ChangeFor::Mkd, arg, Action::MakeDir),
            C::Rmd(arg) => self.cmd_change(ChangeFor::Rmd, arg, Action::RemoveDir),
            C::Mfmt(modified, arg) => self.cmd_mfmt(modified, arg),
            C::Stat(None) => self.reply_status(),
            C::Stat(Some(arg)) => self.cmd_stat_listing(arg),
        }
    }

    /// An event from the caller: news of a data connection or of a running
    /// transfer, or the answer to what the session waits for.
    pub(super) fn on_event(&mut self, now: Instant, event: Event) -> Result<(), UnexpectedEvent> {
        match event {
            Event::DataConnected { peer } => self.on_data_connected(now, peer),
            Event::TransferProgress { bytes } => self.on_progress(now, bytes),
            event => {
                let work = self.take_work();
                self.on_answer(now, work, event)
            }
        }
    }

    /// The answer to the pending work; anything else is the caller's bug.
    fn on_answer(&mut self, now: Instant, work: Work, event: Event) -> Result<(), UnexpectedEvent> {
        use Event as E;
        use Work as W;
        match (work, event) {
            (W::Login(LoginWait::Password), E::LoginChecked(access)) => {
                self.on_password_checked(now, access)?
            }
            (W::Login(LoginWait::Password), E::Failed(kind)) => self.on_password_not_checked(kind),
            (W::Data(DataWait::Listen { extended }), E::Listening { port }) => {
                self.on_listening(extended, port)
            }
            (W::Data(DataWait::Listen { .. }), E::Failed(kind)) => self.on_listen_failed(kind),
            (W::Place(PlaceWait::Stat(purpose, path)), E::Metadata(meta)) => {
                self.on_metadata(purpose, path, meta)
            }
            (W::Place(PlaceWait::Change(purpose, path)), E::Done) => self.on_done(purpose, path),
            (W::Place(PlaceWait::Change(purpose, path)), E::Failed(kind)) => {
                self.on_change_failed(purpose, path, kind)
            }
            (W::Place(PlaceWait::AsciiSize), E::AsciiSize(size)) => self.reply_ascii_size(size),
            (W::Place(PlaceWait::Quota), E::Quota(quota)) => self.reply_quota(quota),
            (W::Place(PlaceWait::Backslash(line)), E::Metadata(_)) => {
                self.on_backslash_looked_up(now, &line, true)
            }
            (W::Place(PlaceWait::Backslash(line)), E::Failed(_)) => {
                self.on_backslash_looked_up(now, &line, false)
            }
            (
                W::Place(
                    PlaceWait::Stat(..)
                    | PlaceWait::StatusListing(_)
                    | PlaceWait::AsciiSize
                    | PlaceWait::Quota,
                ),
                E::Failed(kind),
            ) => self.on_lookup_failed(kind),
            (W::Place(PlaceWait::StatusListing(path)), E::Listing(lines)) => {
                self.on_status_listing(path, &lines)
            }
            (W::Transfer(t), E::Opened { size, unique_name }) if t.phase() == Phase::Opening => {
                self.on_opened(now, t, size, unique_name)
            }
            (W::Transfer(t), E::Failed(kind)) if t.phase() == Phase::Opening => {
                self.on_open_failed(now, t, kind)
            }
            (W::Transfer(t), E::Failed(_)) if t.phase() == Phase::Connecting => {
                self.on_connect_failed(now, t)
            }
            (W::Transfer(t), E::UploadReceived { bytes })
                if t.phase() == Phase::Running && t.is_upload() =>
            {
                self.on_upload_received(now, t, bytes)
            }
            (W::Transfer(t), E::TransferDone { bytes })
                if t.phase() == Phase::Running && !t.is_upload() =>
            {
                self.on_transfer_done(now, t, bytes)
            }
            (W::Transfer(t), E::TransferDone { bytes }) if t.phase() == Phase::Committing => {
                self.on_transfer_done(now, t, bytes)
            }
            (W::Transfer(t), E::TransferFailed { kind, bytes })
                if matches!(t.phase(), Phase::Running | Phase::Committing) =>
            {
                self.on_transfer_failed(now, t, kind, bytes)
            }
            (work, event) => {
                self.resume_work(work);
                return Err(UnexpectedEvent(event));
            }
        }
        Ok(())
    }

    /// A deadline of the timer table has passed.
    pub(super) fn on_timer(&mut self, now: Instant, timer: Timer) {
        match timer {
            Timer::Idle => self.on_idle_timeout(),
            Timer::DataConnect => self.on_data_connect_timeout(now),
            Timer::Stall => self.on_stall(now),
            Timer::Settle => self.on_settled(),
            Timer::LoginDelay => self.on_login_delay_over(),
        }
    }
}
