//! `demo --posting summary [--summary-from DATE]`: the demo workspace's `[posting]` section.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::NaiveDate;

use crate::config::PostingMode;

/// Adds `[posting]` to a demo workspace's config file (written without one by
/// [`super::write_workspace`]): every marketplace in `mode`, from `from` on when given.
pub fn write_posting(config_path: &Path, mode: PostingMode, from: Option<NaiveDate>) -> Result<()> {
    let mut text = std::fs::read_to_string(config_path)
        .with_context(|| format!("cannot read {}", config_path.display()))?;
    let mode = match mode {
        PostingMode::PerOrder => "per-order",
        PostingMode::Summary => "summary",
    };
    text.push_str(&format!("\n[posting]\nmode = \"{mode}\"\n"));
    if let Some(from) = from {
        text.push_str(&format!("summary_from = \"{from}\"\n"));
    }
    std::fs::write(config_path, text)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    // The section must read back: a typo here would only show on the next load.
    crate::config::Config::load(config_path)?;
    Ok(())
}
