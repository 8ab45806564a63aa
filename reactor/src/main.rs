//! The `pocketftpd` binary: parse the command line, set up, run the loop.

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;

use log::info;
use pocketftpd::admin::{self, who};
use pocketftpd::auth::hashing;
use pocketftpd::auth::users::Users;
use pocketftpd::server::Server;
use pocketftpd::startup::command_line::{self, Command, HASH_PASSWORD_USAGE};
use pocketftpd::startup::help;
use pocketftpd::startup::options::Options;
use pocketftpd::startup::who_args;
use pocketftpd::startup::{
    access, bucket, conflicts, exposure, hooks, internet, logging, prepare, privileges, prompt,
    reload, settings,
};
use pocketftpd::storage::jail::Jail;
use pocketftpd::storage::s3::{S3Config, Store};

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
        Command::Who(who) if who.help => {
            print!("{}", who_args::USAGE);
            ExitCode::SUCCESS
        }
        Command::Who(who) => match who::run(&who) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(why) => {
                eprintln!("pocketftpd who: {why}");
                ExitCode::FAILURE
            }
        },
        Command::Run(options) => match run(&options, args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(why) => {
                eprintln!("pocketftpd: {why}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Reads a password (prompted, not echoed, at a terminal) and prints its hash.
fn hash_password() -> ExitCode {
    let password = match prompt::read_password() {
        Ok(password) => password,
        Err(why) => {
            eprintln!("pocketftpd: {why}");
            return ExitCode::FAILURE;
        }
    };
    if password.is_empty() {
        eprintln!("pocketftpd: the password is empty");
        return ExitCode::FAILURE;
    }
    match hashing::hash_password(&password) {
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
    logging::start(options.log_level);
    conflicts::warn(options);

    let users = match &options.users {
        Some(path) => Some(Arc::new(Users::load(path).map_err(|e| e.to_string())?)),
        None => None,
    };
    let (jail, bucket) = open_storage(options, users.as_deref())?;
    prepare::raise_open_file_limit();
    let mut settings = settings::from_options(options, users.is_some())?;
    internet::resolve_pasv_name(&mut settings)?;
    let listeners = settings::listeners(options)?;
    let socket_activated = !listeners.inherited.is_empty();
    let reach = exposure::reach(&listeners);
    let (served, shown) = match &bucket {
        Some((_, config)) => {
            let at = format!("{} at {}", config.location, config.endpoint);
            (at.clone(), at)
        }
        None => (
            options.root.display().to_string(),
            jail.host().display().to_string(),
        ),
    };
    internet::warn_without_pasv_ports(&listeners, options);
    let mut server = Server::bind(listeners, settings, jail).map_err(|e| e.to_string())?;
    match bucket {
        Some((store, _)) => server.set_bucket(store),
        None => server.watch_root(options.root.clone()),
    }
    server.set_reload(reload::reloader(args, options, socket_activated));
    if let Some(path) = &options.xferlog {
        server.set_xferlog(settings::open_xferlog(path)?);
    }
    server.set_hooks(hooks::from_options(options)?);
    let admin = admin::setup(&options.admin_listen, options.admin_token_file.as_deref())?;
    server.listen_admin(admin).map_err(|e| e.to_string())?;
    if let Some(user) = &options.run_as {
        privileges::run_as(user)?;
        info!("running as {user}");
    }
    // Threads start once the process is what it will stay (--run-as).
    (server.watch_pasv_name())
        .map_err(|e| format!("cannot start looking up --pasv-address: {e}"))?;
    access::check_at_start(options, users.as_deref());
    server
        .set_users(users)
        .map_err(|e| format!("cannot start the password worker: {e}"))?;
    info!("serving {} ({})", served, settings::access_summary(options));
    exposure::announce(options, &shown, &reach);
    server.run().map_err(|e| format!("event loop failed: {e}"))
}

/// The served folder, and the bucket served instead of it if `--storage`
/// names one: then homes are key prefixes (nothing to check), and no
/// upload leaves a file behind to sweep.
fn open_storage(
    options: &Options,
    users: Option<&Users>,
) -> Result<(Jail, Option<(Store, S3Config)>), String> {
    let jail = Jail::open(&options.root)
        .map_err(|e| {
            let hint = prepare::sandbox_hint(&options.root);
            format!("cannot serve {}: {e}{hint}", options.root.display())
        })?
        .for_node(settings::node(options));
    bucket::refuse_quotas(options, users)?;
    if let Some(config) = bucket::s3_config(options)? {
        return Ok((jail, Some((bucket::open(&config)?, config))));
    }
    if let (Some(users), Some(path)) = (users, &options.users) {
        users.check_homes(path, &jail).map_err(|e| e.to_string())?;
    }
    prepare::sweep_stale_uploads(&jail, access::anyone_writes(options, users));
    Ok((jail, None))
}
