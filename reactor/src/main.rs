//! The `pocketftpd` binary: parse the command line, set up, run the loop.

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use log::{debug, info, warn, LevelFilter};
use pocketftp_core::Access;
use pocketftpd::jail::Jail;
use pocketftpd::server::Server;
use pocketftpd::startup::command_line::{self, Command, HASH_PASSWORD_USAGE};
use pocketftpd::startup::help;
use pocketftpd::startup::options::Options;
use pocketftpd::startup::{privileges, prompt, settings};
use pocketftpd::users::{self, PasswordWorker, Users};

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let command = match command_line::parse(args.clone()) {
        Ok(command) => command,
        Err(why) => {
            eprintln!("pocketftpd: {why}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            print!("{}", help::usage());
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("pocketftpd {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::HashPassword => hash_password(),
        Command::HashPasswordHelp => {
            print!("{HASH_PASSWORD_USAGE}");
            ExitCode::SUCCESS
        }
        Command::Run(options) => match run(&options, args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(why) => {
                eprintln!("pocketftpd: {why}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Logs to stderr: our own crates at the configured level (SIGHUP may
/// change it: `log::set_max_level`), dependencies at most at `info`, since
/// their debug and trace lines are about their own internals (rustls
/// handshakes, mio registrations), not what an admin looks for.
fn start_logging(level: LevelFilter) {
    const OURS: &str = "pocketftp"; // pocketftpd and pocketftp_core
                                    // One thread, and the message says where: no thread id, no source line.
    let config = || {
        let mut builder = simplelog::ConfigBuilder::new();
        builder
            .set_time_format_rfc3339()
            .set_thread_level(LevelFilter::Off)
            .set_location_level(LevelFilter::Off);
        builder
    };
    let ours = config().add_filter_allow_str(OURS).build();
    let theirs = config().add_filter_ignore_str(OURS).build();
    // Only fails if a logger is already set, which cannot happen here.
    let _ = simplelog::CombinedLogger::init(vec![
        simplelog::WriteLogger::new(LevelFilter::Trace, ours, io::stderr()),
        simplelog::WriteLogger::new(LevelFilter::Info, theirs, io::stderr()),
    ]);
    log::set_max_level(level);
}

/// Reads a password (prompted, not echoed, at a terminal) and prints its hash.
fn hash_password() -> ExitCode {
    let password = match prompt::read_password() {
        Ok(password) => password,
        Err(e) => {
            eprintln!("pocketftpd: cannot read the password: {e}");
            return ExitCode::FAILURE;
        }
    };
    if password.is_empty() {
        eprintln!("pocketftpd: the password is empty");
        return ExitCode::FAILURE;
    }
    match users::hash_password(&password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("pocketftpd: {why}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options, args: Vec<OsString>) -> Result<(), String> {
    start_logging(options.log_level);

    let users = match &options.users {
        Some(path) => Some(Arc::new(Users::load(path).map_err(|e| e.to_string())?)),
        None => None,
    };
    let jail = Jail::open(&options.root)
        .map_err(|e| format!("cannot serve {}: {e}", options.root.display()))?;
    if let (Some(users), Some(path)) = (&users, &options.users) {
        users.check_homes(path, &jail).map_err(|e| e.to_string())?;
    }
    sweep_stale_uploads(&jail);
    raise_open_file_limit();
    let settings = settings::from_options(options, users.is_some())?;
    let listeners = settings::listeners(options)?;
    let mut server = Server::bind(listeners, settings, jail).map_err(|e| e.to_string())?;
    server.set_reload(settings::reloader(args, users.is_some()));
    if let Some(path) = &options.xferlog {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open the transfer log {}: {e}", path.display()))?;
        server.set_xferlog(file);
    }
    if let Some(user) = &options.run_as {
        privileges::run_as(user)?;
        info!("running as {user}");
        let writes = options.anonymous_access != Access::ReadOnly || options.users.is_some();
        let reread: Vec<&Path> = [&options.users, &options.tls_cert, &options.tls_key]
            .into_iter()
            .flatten()
            .map(|p| p.as_path())
            .collect();
        privileges::check_access(user, &options.root, writes, &reread);
    }
    if let (Some(users), Some(path)) = (users, &options.users) {
        let waker = server.waker().map_err(|e| e.to_string())?;
        let worker = PasswordWorker::start(users, waker)
            .map_err(|e| format!("cannot start the password worker: {e}"))?;
        server.set_password_worker(worker, path.clone());
    }
    info!(
        "serving {} ({})",
        options.root.display(),
        settings::access_summary(options)
    );
    server.run().map_err(|e| format!("event loop failed: {e}"))
}

/// Entries the start-up sweep for stale upload files looks at, at most: a
/// second or so on a small board, however big the served tree.
const SWEEP_LIMIT: usize = 100_000;

/// A daemon killed mid-upload leaves its hidden temporary file behind:
/// remove those before serving (see `pocketftpd::temps`).
fn sweep_stale_uploads(jail: &Jail) {
    let sweep = jail.sweep_stale_temps(SWEEP_LIMIT);
    if sweep.removed > 0 {
        info!(
            "removed {} left by a daemon that died",
            pocketftpd::count(sweep.removed, "stale upload file")
        );
    }
    if !sweep.complete {
        warn!(
            "stopped looking for stale upload files after {} entries; RMD still removes those of the folder it removes",
            sweep.visited
        );
    }
    if sweep.skipped > 0 {
        debug!(
            "did not look for stale upload files in {}",
            pocketftpd::count(sweep.skipped, "unreadable or deep folder")
        );
    }
}

/// Thousands of idle sessions need thousands of descriptors: use all the
/// hard limit allows.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write one rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
