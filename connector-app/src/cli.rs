//! The command line: parsing, logging set-up and exit codes.
//!
//! Exit codes scripts can rely on:
//! - `0`: done, nothing needs attention;
//! - `1`: failed (I/O, network, an unreadable file), with a message saying what and where;
//! - `2`: done, but records need attention (held or failed documents, a held settlement);
//! - `3`: configuration or credentials are invalid (file, key and reason are printed), including
//!   credentials SAP or Login with Amazon refuse and credentials that are not stored;
//! - `64`: the command line is wrong (unknown command or option, bad value); clap says which.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;

/// Exit code: records need attention.
pub const EXIT_ATTENTION: u8 = 2;
/// Exit code: configuration or credentials invalid.
pub const EXIT_CONFIG: u8 = 3;
/// Exit code: the command line is wrong (`EX_USAGE` of sysexits.h); clap's own is 2, which here
/// means "needs attention".
pub const EXIT_USAGE: u8 = 64;

/// Amazon Seller Central <-> SAP Business One connector.
#[derive(Debug, Parser)]
#[command(name = "ml-connector", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file.
    #[arg(
        long,
        global = true,
        env = "ML_CONNECTOR_CONFIG",
        default_value = "ml-connector.toml"
    )]
    pub config: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// More logging (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a commented configuration template and create the encryption key file.
    Init(commands::init::InitArgs),
    /// Store, list or delete credentials (encrypted at rest; values are never printed).
    #[command(subcommand)]
    Credentials(commands::credentials::CredentialsCommand),
    /// Log in to SAP, get an Amazon token, list marketplace participations; say what failed.
    Ping,
    /// Check everything a first sync needs (accounts, tax codes, customers, currencies and
    /// rates, key table, Amazon roles) and say what to change; exit 0 only when it would post.
    Doctor,
    /// Create what the connector needs in the SAP company (the idempotency-key table MLC_KEYS).
    Setup(commands::setup::SetupArgs),
    /// Run one flow now.
    #[command(subcommand)]
    Sync(commands::sync::SyncCommand),
    /// Run every flow on its schedule until SIGINT/SIGTERM (finishing the document in flight).
    Run,
    /// Re-plan a held or failed document from its stored source and post it if it is ready now.
    Replay {
        /// The document key (see `audit list`).
        key: String,
    },
    /// Decide that a held or refused document is not to be posted (kept in the ledger and audit
    /// trail; `replay KEY` re-opens it).
    Dismiss {
        /// The document key (see `status` and `audit list`).
        key: String,
        /// Why (kept in the audit trail).
        #[arg(long)]
        reason: String,
    },
    /// Documents per state, cursors and the latest problems.
    Status(commands::status::StatusArgs),
    /// The audit trail.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// Amazon settlements: preview offline, check against SAP, import a file.
    #[command(subcommand)]
    Settlement(commands::settlement::SettlementCommand),
    /// Amazon's FBA stock against SAP's FBA warehouse (`[fba]`).
    #[command(subcommand)]
    Fba(commands::fba::FbaCommand),
    /// Run every flow against the built-in sandbox on a throw-away workspace and report.
    Demo(commands::demo::DemoArgs),
    /// The offline fakes of SAP and Amazon.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// The sellers a fleet works (PostgreSQL ledger).
    #[command(subcommand)]
    Tenants(commands::tenants::TenantsCommand),
    /// Lease tenants from the fleet's ledger and run their flows until SIGINT/SIGTERM.
    Worker(commands::worker::WorkerArgs),
    /// The fleet's tenants, leases and workers.
    #[command(subcommand)]
    Fleet(commands::fleet::FleetCommand),
}

#[derive(Debug, Subcommand)]
enum SandboxCommand {
    /// Serve the fake Service Layer and SP-API on loopback until killed; prints URLs and credentials.
    Serve(SandboxServeArgs),
}

/// The sandbox world `--world` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WorldArg {
    /// A US company on Amazon.com, Amazon.ca and Amazon.com.mx (North America account).
    Na,
    /// A UK company on Amazon.co.uk, Amazon.de and Amazon.fr (EU account).
    Eu,
}

impl From<WorldArg> for sandbox::world::WorldKind {
    fn from(w: WorldArg) -> Self {
        match w {
            WorldArg::Na => sandbox::world::WorldKind::Na,
            WorldArg::Eu => sandbox::world::WorldKind::Eu,
        }
    }
}

/// Arguments of `sandbox serve`.
// The sandbox library takes them as a plain struct; the parsing lives here so it needs no clap.
#[derive(Debug, Clone, Args)]
struct SandboxServeArgs {
    /// Which world: `na` (a US seller, the default) or `eu` (a UK seller).
    #[arg(long, value_enum, default_value_t = WorldArg::Na)]
    world: WorldArg,
    /// World seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of orders in the world (a handful to 100000).
    #[arg(long, default_value_t = 500)]
    orders: usize,
    /// First port: the Service Layer listens here, SP-API + LWA on the next one (0 = any free ports).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Multiplies Amazon's token-bucket refill rates (1 = Amazon's real numbers).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Print the URLs and credentials as one JSON line.
    #[arg(long)]
    json: bool,
    /// Latency added to every Service Layer request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    sap_latency_ms: u64,
    /// Latency added to every SP-API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    sp_api_latency_ms: u64,
    /// Seconds after which the Service Layer closes idle connections (0 = never).
    #[arg(long, default_value_t = 5)]
    sap_keep_alive_secs: u64,
    /// Service Layer idle session timeout, in minutes.
    #[arg(long, default_value_t = 30)]
    session_timeout_minutes: i64,
    /// Keep the sandbox's state in this file: restored on start if it exists, saved on Ctrl-C /
    /// SIGTERM.
    #[arg(long, value_name = "PATH")]
    state_file: Option<PathBuf>,
    /// The Service Layer release to fake: `10.0` (FP 22xx metadata, the default) or `9.3` (the
    /// 9.3-era property sets: no `PaidToDate` on documents).
    #[arg(long, default_value = "10.0", value_parser = parse_sap_profile)]
    sap_profile: sandbox::sap::schema::SapProfile,
    /// Write a complete workspace for this sandbox into DIR (configuration with its URLs,
    /// marketplaces, tax codes and SKU map; settlement mapping; key; encrypted credentials), so
    /// `ml-connector --config DIR/ml-connector.toml sync orders` works as it is. Rewritten on
    /// every start; the ledger in DIR is kept.
    #[arg(long, value_name = "DIR")]
    write_workspace: Option<PathBuf>,
}

fn parse_sap_profile(s: &str) -> Result<sandbox::sap::schema::SapProfile, String> {
    sandbox::sap::schema::SapProfile::parse(s)
        .ok_or_else(|| format!("`{s}` is not a profile: use 10.0 or 9.3"))
}

impl From<SandboxServeArgs> for sandbox::serve::ServeArgs {
    fn from(a: SandboxServeArgs) -> Self {
        Self {
            world: a.world.into(),
            seed: a.seed,
            orders: a.orders,
            port: a.port,
            time_scale: a.time_scale,
            json: a.json,
            sap_latency_ms: a.sap_latency_ms,
            sp_api_latency_ms: a.sp_api_latency_ms,
            sap_keep_alive_secs: a.sap_keep_alive_secs,
            session_timeout_minutes: a.session_timeout_minutes,
            state_file: a.state_file,
            sap_profile: a.sap_profile,
        }
    }
}

/// The options every command takes (`global = true`), by their clap ids.
const GLOBAL_OPTIONS: [&str; 3] = ["config", "log_format", "verbose"];

/// The command line, with the global options listed once, in `ml-connector --help`: clap copies
/// them into every subcommand's help (clap-rs/clap#5355 asks for a switch; there is none in 4.6),
/// so they are hidden there after the copy. They are still accepted after a subcommand.
pub fn command() -> clap::Command {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    // Building copies the global options into the subcommands, which can then hide them.
    cmd.build();
    hide_global_options(&mut cmd);
    cmd
}

fn hide_global_options(cmd: &mut clap::Command) {
    for sub in cmd.get_subcommands_mut() {
        // `mut_args` keeps the arguments in place (the built command indexes them); `mut_arg`
        // would move the one it changes to the end.
        *sub = std::mem::take(sub)
            .mut_args(|a| {
                if GLOBAL_OPTIONS.contains(&a.get_id().as_str()) {
                    a.hide(true)
                } else {
                    a
                }
            })
            .after_help(
                "Options of every command (--config, --log-format, -v): see `ml-connector --help`.",
            );
        hide_global_options(sub);
    }
}

/// Writes a command's output to standard output and flushes it.
///
/// Its error is an [`std::io::Error`]: a reader that stopped early (`| head`) makes it
/// `BrokenPipe`, which [`main`] treats as a normal end.
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Parses the command line, runs the command and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let cli = match command()
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            // `--help` and `--version` come here too: they are not errors.
            return if err.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging(cli.log_format, cli.verbose);
    let config = cli.config.clone();
    let result = match cli.command {
        Command::Init(args) => commands::init::run(&config, args),
        Command::Credentials(cmd) => commands::credentials::run(&config, cmd),
        Command::Ping => commands::ping::run(&config),
        Command::Doctor => commands::doctor::run(&config),
        Command::Setup(args) => commands::setup::run(&config, args),
        Command::Sync(cmd) => commands::sync::run(&config, cmd),
        Command::Run => commands::daemon::run(&config),
        Command::Replay { key } => commands::replay::run(&config, &key),
        Command::Dismiss { key, reason } => commands::dismiss::run(&config, &key, &reason),
        Command::Status(args) => commands::status::run(&config, args),
        Command::Audit(cmd) => commands::audit::run(&config, cmd),
        Command::Settlement(cmd) => commands::settlement::run(&config, cmd),
        Command::Fba(cmd) => commands::fba::run(&config, cmd),
        Command::Sandbox(SandboxCommand::Serve(args)) => serve_sandbox(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Tenants(cmd) => commands::tenants::run(cmd),
        Command::Worker(args) => commands::worker::run(args),
        Command::Fleet(cmd) => commands::fleet::run(cmd),
    };
    match result {
        Ok(code) => code,
        // The reader of our output stopped early (`| head`): nothing failed on our side.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            if is_config_problem(&err) {
                ExitCode::from(EXIT_CONFIG)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn serve_sandbox(args: SandboxServeArgs) -> anyhow::Result<ExitCode> {
    let workspace = args.write_workspace.clone();
    let time_scale = args.time_scale;
    let serve = sandbox::serve::run_serve_with(args.into(), |sb| {
        let Some(dir) = workspace else {
            return Ok(Vec::new());
        };
        let config = crate::demo::write_workspace_by(
            &dir,
            sb,
            2,
            time_scale,
            "`ml-connector sandbox serve --write-workspace`; rewritten on every start",
        )
        .map_err(|e| format!("cannot write the workspace in {}: {e:#}", dir.display()))?;
        let config = config.display().to_string();
        Ok(vec![
            ("workspace_config", config.clone()),
            (
                "try",
                format!(
                    "ml-connector --config {config} sync orders (then sync settlements, sync items)"
                ),
            ),
        ])
    });
    commands::engine::runtime()?.block_on(serve)?;
    Ok(ExitCode::SUCCESS)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Ends the process quietly (exit 0) when a `println!` finds standard output closed.
///
/// Rust ignores SIGPIPE, so `ml-connector ... | head` makes `println!` panic once `head` exits.
/// Commands that print through [`write_stdout`] get a `BrokenPipe` error instead; this hook covers
/// every other `println!` without `unsafe` (resetting SIGPIPE would need it). Other panics go to
/// the default hook unchanged.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Whether the configuration or the credentials are at fault: invalid configuration, an unreadable
/// key or credentials file, credentials that are not stored, or credentials SAP or Login with
/// Amazon refuse (not their outages).
fn is_config_problem(err: &anyhow::Error) -> bool {
    use sp_api_client::LwaError;
    err.chain().any(|e| {
        e.is::<crate::config::ConfigError>()
            || e.is::<crate::credentials::CredentialError>()
            || e.is::<commands::engine::MissingCredentials>()
            || e.is::<crate::posting::SapSetupError>()
            || matches!(
                e.downcast_ref::<sap_b1_client::Error>(),
                Some(sap_b1_client::Error::Login(_))
            )
            || e.downcast_ref::<LwaError>().is_some_and(lwa_refused)
            // `Auth` is transparent: the LWA error is not a link of its own in the chain.
            || matches!(
                e.downcast_ref::<sp_api_client::Error>(),
                Some(sp_api_client::Error::Auth(lwa)) if lwa_refused(lwa)
            )
    })
}

/// Login with Amazon refused the credentials (not an outage of its own).
fn lwa_refused(err: &sp_api_client::LwaError) -> bool {
    use sp_api_client::{LwaError, LwaErrorCode};
    matches!(
        err,
        LwaError::Rejected { code, .. }
            if !matches!(code, LwaErrorCode::ServerError | LwaErrorCode::TemporarilyUnavailable)
    )
}

fn init_logging(format: LogFormat, verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Colours only for a person at a terminal: a log redirected to a file or journald gets
    // plain text (and NO_COLOR turns them off at a terminal too).
    use std::io::IsTerminal as _;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use sandbox::serve::ServeArgs;

    fn parse(args: &[&str]) -> Cli {
        let matches = command()
            .try_get_matches_from(std::iter::once(&"ml-connector").chain(args))
            .unwrap();
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap()
    }

    fn help_of(path: &[&str]) -> String {
        let mut cmd = command();
        let mut at = &mut cmd;
        for name in path {
            at = at.find_subcommand_mut(name).unwrap();
        }
        at.render_help().to_string()
    }

    #[test]
    fn global_options_are_listed_once_and_accepted_after_a_subcommand() {
        let top = help_of(&[]);
        assert!(
            top.contains("--log-format") && top.contains("--config"),
            "{top}"
        );
        for path in [
            &["sync", "orders"][..],
            &["sandbox", "serve"],
            &["demo"],
            &["status"],
        ] {
            let help = help_of(path);
            assert!(
                !help.contains("--log-format <") && !help.contains("--config <"),
                "{path:?}: {help}"
            );
            assert!(
                help.contains("see `ml-connector --help`"),
                "{path:?}: {help}"
            );
        }
        let cli = parse(&[
            "sync",
            "orders",
            "--dry-run",
            "--config",
            "/x/y.toml",
            "-vv",
        ]);
        assert_eq!(cli.config, PathBuf::from("/x/y.toml"));
        assert_eq!(cli.verbose, 2);
    }

    fn serve_args(args: &[&str]) -> ServeArgs {
        let cli = parse(&[&["sandbox", "serve"][..], args].concat());
        match cli.command {
            Command::Sandbox(SandboxCommand::Serve(a)) => a.into(),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn sandbox_serve_defaults_are_the_sandbox_defaults() {
        assert_eq!(serve_args(&[]), ServeArgs::default());
    }

    #[test]
    fn sandbox_serve_reads_every_argument() {
        let args = serve_args(&[
            "--world",
            "eu",
            "--seed",
            "7",
            "--orders",
            "20",
            "--port",
            "4000",
            "--time-scale",
            "60",
            "--json",
            "--sap-latency-ms",
            "3",
            "--sp-api-latency-ms",
            "4",
            "--sap-keep-alive-secs",
            "0",
            "--session-timeout-minutes",
            "2",
            "--state-file",
            "/tmp/sandbox.json",
            "--sap-profile",
            "9.3",
        ]);
        assert_eq!(
            args,
            ServeArgs {
                world: sandbox::world::WorldKind::Eu,
                seed: 7,
                orders: 20,
                port: 4000,
                time_scale: 60.0,
                json: true,
                sap_latency_ms: 3,
                sp_api_latency_ms: 4,
                sap_keep_alive_secs: 0,
                session_timeout_minutes: 2,
                state_file: Some(PathBuf::from("/tmp/sandbox.json")),
                sap_profile: sandbox::sap::schema::SapProfile::Sl93,
            }
        );
    }
}
