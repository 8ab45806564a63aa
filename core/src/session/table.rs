//! Every transition entry point of a session: commands, answers, timers.

use std::time::Instant;

use crate::boundary::action::{Action, ListFormat, OpenMode};
use crate::boundary::event::{ErrorKind, Event};
use crate::timers::Timer;
use crate::wire::command::{Command, EpsvArg};

use super::place::{ChangeFor, StatFor};
use super::replies::{file_error_reply, FEATURES, HELP, TLS_FEATURES};
use super::transfer::{Awaiting, Phase, TransferKind};
use super::{Session, UnexpectedEvent};

impl Session {
    pub(super) fn dispatch(&mut self, now: Instant, command: Command<'_>) {
        use Command as C;
        // REST applies to the very next command only.
        let restart = self.take_restart_offset();
        match command {
            C::User(name) => self.cmd_user(name),
            C::Pass(password) => self.cmd_pass(password),
            C::Quit => {
                self.reply(221, "Goodbye.");
                self.close();
            }
            C::Noop => self.reply(200, "NOOP ok."),
            C::Syst => self.reply(215, "UNIX Type: L8"),
            C::Feat => {
                let tls = if self.config.tls {
                    &TLS_FEATURES[..]
                } else {
                    &[]
                };
                let features = tls.iter().chain(&FEATURES).copied();
                self.reply_multi(211, "Features:", features, "End");
            }
            C::Auth(known) => self.cmd_auth(known),
            C::Pbsz => self.cmd_pbsz(),
            C::Prot(level) => self.cmd_prot(level),
            C::Help => self.reply_multi(
                214,
                "The following commands are recognized:",
                HELP,
                "Help OK.",
            ),
            C::OptsUtf8 => self.reply(200, "Always in UTF8 mode."),
            C::OptsMlst => self.reply(200, "MLST OPTS type;size;modify;perm;UNIX.mode;"),
            C::Allo => self.reply(202, "ALLO command ignored."),
            C::ModeStream => self.reply(200, "Mode set to S."),
            C::StruFile => self.reply(200, "Structure set to F."),
            C::Type(t) => self.cmd_type(t),
            C::Pwd => self.cmd_pwd(),
            C::Cdup => self.cmd_cdup(),
            C::Rest(offset) => self.cmd_rest(offset),
            C::Abor if matches!(self.awaiting, Awaiting::Transfer(_)) => self.abort_transfer(now),
            C::Abor => self.reply(225, "No transfer to abort."),
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
            C::SiteHelp => self.reply_multi(
                214,
                "The following SITE commands are recognized:",
                ["CHMOD HELP"],
                "Help OK.",
            ),
            C::Mkd(arg) => self.cmd_change(ChangeFor::Mkd, arg, Action::MakeDir),
            C::Rmd(arg) => self.cmd_change(ChangeFor::Rmd, arg, Action::RemoveDir),
            C::Mfmt(modified, arg) => self.cmd_mfmt(modified, arg),
            C::Stat(None) => self.reply_status(),
            C::Stat(Some(arg)) => self.cmd_stat_listing(arg),
        }
    }

    pub(super) fn on_answer(
        &mut self,
        now: Instant,
        awaiting: Awaiting,
        event: Event,
    ) -> Result<(), UnexpectedEvent> {
        match (awaiting, event) {
            (Awaiting::Listen { extended }, Event::Listening { port }) => {
                self.on_listening(extended, port)
            }
            (Awaiting::Listen { .. }, Event::Failed(_)) => self.on_listen_failed(),
            (Awaiting::Stat(purpose, path), Event::Metadata(meta)) => {
                self.on_metadata(purpose, path, meta)
            }
            (Awaiting::Change(purpose, path), Event::Done) => self.on_done(purpose, path),
            (Awaiting::Change(purpose, path), Event::Failed(kind)) => {
                self.on_change_failed(purpose, path, kind)
            }
            (Awaiting::Stat(..) | Awaiting::StatusListing(_), Event::Failed(kind)) => {
                self.on_lookup_failed(kind)
            }
            (Awaiting::StatusListing(path), Event::Listing(lines)) => {
                self.on_status_listing(path, &lines)
            }
            (Awaiting::Password, Event::LoginChecked(access)) => {
                self.on_password_checked(now, access)?
            }
            (Awaiting::Transfer(t), Event::Opened { size, unique_name })
                if t.phase == Phase::Opening =>
            {
                self.on_opened(now, t, size, unique_name);
            }
            (Awaiting::Transfer(t), Event::Failed(kind)) if t.phase == Phase::Opening => {
                let (code, text) = file_error_reply(kind);
                self.conclude_transfer(now, &t, Some(Action::CloseData), code, text);
            }
            (Awaiting::Transfer(t), Event::Failed(_)) if t.phase == Phase::Connecting => {
                self.conclude_transfer(
                    now,
                    &t,
                    Some(Action::CloseData),
                    425,
                    "Failed to establish connection.",
                );
            }
            (Awaiting::Transfer(mut t), Event::TransferDone { bytes })
                if t.phase == Phase::Running =>
            {
                t.bytes = bytes;
                self.conclude_transfer(now, &t, None, 226, "Transfer complete.");
            }
            (Awaiting::Transfer(t), Event::Failed(kind)) if t.phase == Phase::Running => {
                let (code, text) = match kind {
                    ErrorKind::ConnectionLost
                    | ErrorKind::ConnectionRefused
                    | ErrorKind::TimedOut => (426, "Connection closed; transfer aborted."),
                    ErrorKind::HandshakeFailed => {
                        (426, "TLS on the data connection failed; transfer aborted.")
                    }
                    ErrorKind::StorageFull => {
                        (452, "Insufficient storage space; transfer aborted.")
                    }
                    _ => (451, "Local error in processing; transfer aborted."),
                };
                self.conclude_transfer(now, &t, None, code, text);
            }
            (awaiting, event) => {
                self.awaiting = awaiting;
                return Err(UnexpectedEvent(event));
            }
        }
        Ok(())
    }

    pub(super) fn on_timer(&mut self, now: Instant, timer: Timer) {
        match timer {
            Timer::Idle => {
                self.reply(421, "Timeout: closing control connection.");
                self.close();
            }
            Timer::DataConnect => {
                self.stop_transfer(
                    now,
                    Action::CloseData,
                    425,
                    "Failed to establish connection.",
                );
            }
            Timer::Stall => {
                self.stop_transfer(
                    now,
                    Action::AbortTransfer,
                    426,
                    "No progress; transfer aborted.",
                );
            }
            Timer::LoginDelay => self.on_login_delay_over(),
        }
    }
}
