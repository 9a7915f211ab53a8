//! `ml-connector`: keeps a seller's SAP Business One books and Amazon Seller Central channel in
//! agreement. This binary composes the workspace's crates; see the README for the commands.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Amazon Seller Central <-> SAP Business One connector.
#[derive(Debug, Parser)]
#[command(name = "ml-connector", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Amazon settlement reports: preview how they post, offline.
    #[command(subcommand)]
    Settlement(commands::settlement::SettlementCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Settlement(cmd) => commands::settlement::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
