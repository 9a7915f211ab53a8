//! `ml-connector status`: documents per flow and state, cursors, and the latest problems.
//!
//! Exits 2 (needs attention) when it lists a held, failed or unknown-outcome document, so a script
//! can tell a clean workspace from one a person must look at without parsing the text.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use serde_json::json;

use super::{load_config, open_ledger};
use crate::cli::{EXIT_ATTENTION, write_stdout};
use crate::flows::Flow;
use crate::ledger::{DocFilter, DocState, Ledger};

/// `status` arguments.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Prints the workspace status.
pub fn run(config_path: &Path, args: StatusArgs) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let ledger = open_ledger(&config)?;
    let counts = ledger.counts()?;
    let cursors = ledger.cursors()?;
    let mut problems = Vec::new();
    for state in [DocState::Held, DocState::Failed, DocState::Unknown] {
        problems.extend(ledger.list(&DocFilter {
            state: Some(state),
            limit: Some(20),
            ..DocFilter::default()
        })?);
    }
    // Settlements by state: the settlement documents themselves, not their parts.
    let mut settlements = ledger.list(&DocFilter {
        flow: Some(crate::flows::settlements::FLOW.to_owned()),
        ..DocFilter::default()
    })?;
    // A settlement is several documents (parts, credit notes, re-issues): counted per kind, so
    // that parts are not read as settlements.
    let mut by_kind: std::collections::BTreeMap<(String, DocState), usize> =
        std::collections::BTreeMap::new();
    for d in &settlements {
        *by_kind.entry((d.kind.clone(), d.state)).or_default() += 1;
    }
    settlements.retain(|d| d.kind == "settlement");
    let code = if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_ATTENTION)
    };
    let mut s = String::new();
    if args.json {
        let v = json!({
            "settlements": settlements.iter().map(|d| {
                let t = totals(d);
                json!({"key": d.key, "state": d.state, "reason": d.reason, "updated_at": d.updated_at,
                    "currency": t.as_ref().map(|t| &t.currency), "total": t.as_ref().map(|t| t.total_amount),
                    "total_local": t.as_ref().and_then(|t| t.total_local)})
            }).collect::<Vec<_>>(),
            "settlement_documents": by_kind.iter().map(|((kind, state), n)| json!({"kind": kind, "state": state, "count": n})).collect::<Vec<_>>(),
            "documents": counts.iter().map(|((flow, state), n)| json!({"flow": flow, "state": state, "count": n})).collect::<Vec<_>>(),
            "cursors": cursors.iter().map(|(flow, value, at)| json!({"flow": flow, "value": value, "updated_at": at})).collect::<Vec<_>>(),
            "problems": problems.iter().map(|d| json!({"key": d.key, "state": d.state, "reason": d.reason, "updated_at": d.updated_at})).collect::<Vec<_>>(),
        });
        let _ = writeln!(s, "{}", serde_json::to_string_pretty(&v)?);
        write_stdout(&s)?;
        return Ok(code);
    }
    let _ = writeln!(s, "ledger {}", super::ledger_location(&config));
    if counts.is_empty() {
        let _ = writeln!(s, "no documents yet");
    }
    // The registered flows in their order, each with its documents per state.
    for flow in Flow::ALL {
        let states: Vec<_> = counts
            .iter()
            .filter(|((f, _), _)| f == flow.name())
            .collect();
        if states.is_empty() {
            continue;
        }
        let _ = writeln!(s, "{flow}:");
        if flow == Flow::Settlements {
            for ((kind, state), n) in &by_kind {
                let _ = writeln!(s, "  {:<18} {state:<9} {n}", kind_label(kind));
            }
            continue;
        }
        for ((_, state), n) in states {
            let _ = writeln!(s, "  {state:<9} {n}");
        }
    }
    if !cursors.is_empty() {
        let _ = writeln!(s, "cursors:");
        for (flow, value, at) in &cursors {
            let _ = writeln!(s, "  {flow:<12} {}  (moved {})", when(value), when(at));
        }
    }
    if !settlements.is_empty() {
        let _ = writeln!(s, "settlements:");
        for d in &settlements {
            let id = d.key.rsplit(':').next().unwrap_or_default();
            // The amount in the settlement's currency, and in the company's when it differs.
            let amount = totals(d).map_or_else(String::new, |t| match t.total_local {
                Some(local) if local != t.total_amount => {
                    format!("{} {} ({local} local)", t.total_amount, t.currency)
                }
                _ => format!("{} {}", t.total_amount, t.currency),
            });
            let _ = writeln!(
                s,
                "  {id:<14} {:<9} {amount:<28} {}",
                d.state,
                d.reason.as_deref().unwrap_or("")
            );
        }
    }
    if !problems.is_empty() {
        let _ = writeln!(s, "needs attention:");
        for d in &problems {
            let _ = writeln!(
                s,
                "  {:<8} {}  {}",
                d.state,
                d.key,
                d.reason.as_deref().unwrap_or("")
            );
        }
    }
    write_stdout(&s)?;
    Ok(code)
}

/// How a settlement-flow document kind reads in `status`.
fn kind_label(kind: &str) -> &str {
    match kind {
        "settlement" => "settlements",
        "settlement_part" => "posting parts",
        "credit_note" => "credit notes",
        "settlement_reissue" => "re-issues",
        other => other,
    }
}

/// A stored time in the one format `status` prints: `2026-11-02 10:15:00 UTC` for an RFC 3339
/// time (any offset or fraction), `2026-11-02 10:15:00` for SAP's own (zoneless) time; what
/// follows the time in a compound cursor (the items cursor's ItemCode) is kept.
fn when(stored: &str) -> String {
    let (time, rest) = stored.split_once(' ').unwrap_or((stored, ""));
    let shown = if let Ok(t) = chrono::DateTime::parse_from_rfc3339(time) {
        t.to_utc().format("%Y-%m-%d %H:%M:%S UTC").to_string()
    } else if let Ok(t) = chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%dT%H:%M:%S%.f") {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        return stored.to_owned();
    };
    if rest.is_empty() {
        shown
    } else {
        format!("{shown} {rest}")
    }
}

/// A planned or posted settlement's totals, from its stored summary (a held one has none).
fn totals(d: &crate::ledger::DocRecord) -> Option<crate::flows::settlements::SettlementSummary> {
    serde_json::from_str(&d.payload).ok()
}

#[cfg(test)]
mod tests {
    use super::when;

    #[test]
    fn stored_times_print_in_one_format() {
        assert_eq!(
            when("2026-11-02T10:15:00.123456789+00:00"),
            "2026-11-02 10:15:00 UTC"
        );
        assert_eq!(when("2026-11-02T11:15:00+01:00"), "2026-11-02 10:15:00 UTC");
        assert_eq!(when("2026-11-02T10:15:00Z"), "2026-11-02 10:15:00 UTC");
        assert_eq!(
            when("2026-09-21T09:00:00 37d7d020ed6d"),
            "2026-09-21 09:00:00 37d7d020ed6d"
        );
        assert_eq!(when("not a time"), "not a time");
    }
}
