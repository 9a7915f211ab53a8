//! `ml-connector demo`: start the sandbox on loopback, create a workspace for it, run the flows and
//! print what happened.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use sandbox::Sandbox;

use super::engine::runtime;
use crate::cli::EXIT_ATTENTION;
use crate::demo::{DemoSummary, SANDBOX_STATE_FILE, run_rounds, sandbox_config, write_workspace};

/// `demo` arguments.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Which sandbox world: `na` = a US company on Amazon.com, .ca and .com.mx (sales tax, USD);
    /// `eu` = a UK company on Amazon.co.uk, .de and .fr (VAT, GBP).
    #[arg(long, value_enum, default_value_t = crate::cli::WorldArg::Na)]
    pub world: crate::cli::WorldArg,
    /// World seed: the same seed gives the same catalog, orders and settlements.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Orders in the sandbox world.
    #[arg(long, default_value_t = 200)]
    pub orders: usize,
    /// Keep the workspace (config, key, credentials, ledger) in this directory; without it a
    /// throw-away directory is used and removed afterwards.
    #[arg(long)]
    pub workspace: Option<PathBuf>,
    /// Multiply Amazon's published refill rates by this, so the demo does not wait minutes for
    /// rate limits that a real run would respect.
    #[arg(long, default_value_t = 60.0)]
    pub time_scale: f64,
    /// Parallel SAP sessions for posting.
    #[arg(long, default_value_t = 2)]
    pub sessions: usize,
    /// Print the summary as one JSON document.
    #[arg(long)]
    pub json: bool,
    /// Inject faults into the sandbox: `chaos` = lost answers after commit, resets, 502/503 with
    /// HTML bodies, session expiry, 429 storms and an LWA outage. The run repeats until every
    /// document is settled and must end with the same documents as a clean run.
    #[arg(long, value_enum)]
    pub faults: Option<Faults>,
    /// How sales are posted: `per-order` (an invoice per order, the default) or `summary`
    /// (documents per settlement part, amounts from the settlement).
    #[arg(long, value_enum, default_value_t = PostingArg::PerOrder)]
    pub posting: PostingArg,
    /// With `--posting summary`: sales before this day (YYYY-MM-DD) stay per order.
    #[arg(long)]
    pub summary_from: Option<chrono::NaiveDate>,
}

/// `--posting` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PostingArg {
    /// An A/R invoice per order.
    PerOrder,
    /// Summary documents per settlement part.
    Summary,
}

/// Fault presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Faults {
    /// Every fault kind at the rates in `demo::chaos_faults`.
    Chaos,
}

/// Most rounds a faulty demo runs before it gives up.
const MAX_ROUNDS: u32 = 8;

/// Runs the demo.
pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let temp = match &args.workspace {
        Some(_) => None,
        None => Some(tempfile::tempdir()?),
    };
    let dir = args.workspace.clone().unwrap_or_else(|| {
        temp.as_ref()
            .map(|t| t.path().to_path_buf())
            .unwrap_or_default()
    });
    let summary = runtime()?.block_on(async {
        let mut sandbox = sandbox_config(args.seed, args.orders, args.time_scale);
        sandbox.world = args.world.into();
        sandbox.state_file = Some(dir.join(SANDBOX_STATE_FILE));
        std::fs::create_dir_all(&dir)?;
        let sb = Sandbox::start(sandbox).await?;
        if !args.json {
            println!(
                "sandbox: SAP {} and SP-API {} on loopback ({} world, seed {}, {} orders); Amazon's rate limits x{} so the demo runs in seconds",
                sb.sap_base_url(),
                sb.sp_api_base_url(),
                sb.world().kind,
                args.seed,
                args.orders,
                args.time_scale
            );
        }
        let config = write_workspace(&dir, &sb, args.sessions, args.time_scale)?;
        if args.posting == PostingArg::Summary {
            crate::demo::write_posting(
                &config,
                crate::config::PostingMode::Summary,
                args.summary_from,
            )?;
        }
        if args.faults == Some(Faults::Chaos) {
            for rule in crate::demo::chaos_faults() {
                sb.add_fault(rule);
            }
        }
        let summary = run_rounds(
            &sb,
            &config,
            args.seed,
            args.time_scale,
            args.faults.is_some(),
            MAX_ROUNDS,
        )
        .await;
        sb.close().await?;
        summary
    })?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_summary(&summary, args.workspace.is_some());
    }
    let attention = summary.held + summary.failed + summary.unknown + summary.settlements_held > 0
        || summary.settlements.needs_attention()
        || summary.items.needs_attention()
        || summary.duplicates_in_sap > 0;
    Ok(if attention {
        ExitCode::from(EXIT_ATTENTION)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_summary(s: &DemoSummary, kept: bool) {
    println!("orders -> invoices");
    println!("  orders seen            {:>6}", s.orders_seen);
    println!("  invoices posted        {:>6}", s.invoices_posted);
    println!("  found in SAP (kept)    {:>6}", s.invoices_found_in_sap);
    println!("  posted by earlier runs {:>6}", s.already_posted);
    println!("  not shipped yet        {:>6}", s.not_yet_shipped);
    println!("  cancelled / not synced {:>6}", s.orders_cancelled);
    if s.orders.summarised > 0 {
        println!("  summarised (summary)   {:>6}", s.orders.summarised);
    }
    println!("  held                   {:>6}", s.held);
    for p in s.orders.held.iter().take(10) {
        println!("    {}  {}", p.key, p.reason);
    }
    println!("  failed                 {:>6}", s.failed);
    for p in s.orders.failed.iter().take(10) {
        println!("    {}  {}", p.key, p.reason);
    }
    println!("settlements -> payments + journal entries");
    println!("  posted                 {:>6}", s.settlements_posted);
    println!("  tied out               {:>6}", s.settlements_tied_out);
    println!(
        "  posted by earlier runs {:>6}",
        s.settlements_already_posted
    );
    println!("  held                   {:>6}", s.settlements_held);
    for p in s.settlements.held.iter().take(10) {
        println!("    {}  {}", p.key, p.reason);
    }
    let b = &s.books;
    println!("  refunds (credit notes) {:>6}", b.credit_notes);
    println!(
        "  invoices left open     {:>6}  ({} in all)",
        b.invoices_left_open, b.amount_left_open
    );
    println!("  on account             {:>6}", b.amount_on_account);
    println!("  written off            {:>6}", b.written_off);
    for (currency, l) in &b.by_currency {
        println!(
            "    {currency}: left open {}, on account {}, written off {}",
            l.left_open, l.on_account, l.written_off
        );
    }
    println!(
        "  receipts held          {:>6}  ({} in all, on the clearing account until replayed)",
        b.receipts_held, b.amount_held
    );
    println!("SAP items -> Amazon listings");
    println!("  listings updated       {:>6}", s.listings_updated);
    for p in s.items.issues.iter().take(10) {
        println!("    {}  {}", p.key, p.reason);
    }
    println!("  duplicates in SAP      {:>6}", s.duplicates_in_sap);
    println!("  time                   {:>6.2} s", s.seconds);
    if s.rounds > 1 {
        println!("  rounds                 {:>6}", s.rounds);
        for e in &s.round_errors {
            println!("    {e}");
        }
    }
    if kept {
        println!(
            "workspace {} (run again: nothing new is posted; `ml-connector --config {}/ml-connector.toml status`)",
            s.workspace, s.workspace
        );
    }
}
