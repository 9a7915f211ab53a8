//! `ml-connector doctor`: every check a consultant runs before the first sync (see
//! [`crate::doctor`]), as a table; exit 0 only when a first sync would post.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use comfy_table::Table;

use super::engine::{load_engine, runtime};
use crate::cli::EXIT_CONFIG;
use crate::doctor::{Diagnosis, Level};

/// Runs the checks and prints what was found.
pub fn run(config_path: &Path) -> Result<ExitCode> {
    let engine = load_engine(config_path)?;
    let diagnosis = runtime()?.block_on(engine.doctor());
    println!("{}", render(&diagnosis));
    Ok(if diagnosis.ready() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_CONFIG)
    })
}

/// The findings as a table, then the verdict.
pub fn render(d: &Diagnosis) -> String {
    let mut table = Table::new();
    table.load_style(comfy_table::presets::NOTHING).set_header([
        "",
        "area",
        "checked",
        "found",
        "what to change",
    ]);
    for f in &d.findings {
        table.add_row([
            f.level.to_string(),
            f.area.to_owned(),
            f.subject.clone(),
            f.detail.clone(),
            f.fix.clone().unwrap_or_default(),
        ]);
    }
    let verdict = if d.ready() {
        format!(
            "ready: a first sync would post ({} warning(s))",
            d.count(Level::Warn)
        )
    } else {
        format!(
            "NOT ready: {} problem(s) would stop or mis-post a first sync; fix them and run `ml-connector doctor` again",
            d.count(Level::Fail)
        )
    };
    format!("{table}\n\n{verdict}")
}
