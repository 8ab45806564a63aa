//! The `pocketftpd` binary: parse the command line, set up, run the loop.

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use log::{debug, info, warn, LevelFilter};
use pocketftp_core::{Access, Config};
use pocketftpd::activation;
use pocketftpd::auth::users::{self, PasswordWorker, Users};
use pocketftpd::cli::{self, Command, Options, HASH_PASSWORD_USAGE, USAGE};
use pocketftpd::net::tls;
use pocketftpd::privileges;
use pocketftpd::prompt;
use pocketftpd::rate::Rates;
use pocketftpd::server::{Limits, Listeners, Reload, Server, Settings};
use pocketftpd::storage::jail::Jail;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let command = match cli::parse(args.clone()) {
        Ok(command) => command,
        Err(why) => {
            eprintln!("pocketftpd: {why}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            print!("{USAGE}");
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

/// What the options say about sessions, limits and TLS (at start and on
/// SIGHUP); a certificate or key that cannot be used is an error naming it.
fn settings(options: &Options, users: bool) -> Result<Settings, String> {
    let tls = match options.tls_files()? {
        Some((cert, key)) => Some(tls::load(cert, key)?),
        None => None,
    };
    let config = Config {
        banner: options.banner.clone(),
        users,
        anonymous: !users || options.anonymous,
        anonymous_access: options.anonymous_access,
        pasv_address: options.pasv_address,
        idle_timeout: options.idle_timeout,
        data_timeout: options.data_timeout,
        login_delay: options.login_delay,
        max_login_failures: options.max_login_failures,
        tls: tls.is_some(),
        tls_required: options.tls_required,
    };
    let limits = Limits {
        max_clients: options.max_clients,
        max_per_ip: options.max_per_ip,
        pasv_ports: options.pasv_ports.clone(),
        shutdown_grace: options.shutdown_grace,
        rates: Rates {
            down: options.max_rate_down,
            up: options.max_rate_up,
            total: options.max_rate,
        },
    };
    Ok(Settings {
        config: Arc::new(config),
        limits,
        tls,
        umask: options.umask,
    })
}

/// SIGHUP parses the same arguments again, so an edited config file counts.
/// Where to listen, the root, the users file's path, `run-as` and the
/// transfer log stay as they were started.
fn reloader(args: Vec<OsString>, users: bool) -> Reload {
    Box::new(move || match cli::parse(args.clone())? {
        Command::Run(options) => {
            log::set_max_level(options.log_level);
            settings(&options, users)
        }
        _ => Err("the arguments no longer ask to run the daemon".to_owned()),
    })
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
    let settings = settings(options, users.is_some())?;
    let inherited = activation::listeners()?;
    let (plain, implicit_tls) = if inherited.is_empty() {
        (options.listen_addresses(), options.listen_tls.clone())
    } else {
        info!(
            "socket activation: {} from systemd; --listen and --listen-tls are not used",
            pocketftpd::count(inherited.len(), "socket")
        );
        (Vec::new(), Vec::new())
    };
    let listeners = Listeners {
        plain,
        implicit_tls,
        inherited,
    };
    let mut server = Server::bind(listeners, settings, jail).map_err(|e| e.to_string())?;
    server.set_reload(reloader(args, users.is_some()));
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
        options.access_summary()
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
