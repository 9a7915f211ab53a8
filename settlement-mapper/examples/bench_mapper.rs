//! Benchmark: map a large generated settlement and report time and peak memory.
//!
//! ```text
//! cargo run --release -p settlement-mapper --example bench_mapper -- [ROWS] [eu|na|mixed]
//! ```
//! Generates a V2 file of about ROWS detail rows (default 500,000) into the temp directory, then maps
//! it from disk, streaming. Reports wall time of the mapping alone and the process's peak resident
//! memory (VmHWM from /proc/self/status, Linux). The figures are recorded in the crate README.

use std::fs::File;
use std::io::BufReader;
use std::time::Instant;

use settlement_mapper::synth::{Locale, SynthOptions, write_settlement};
use settlement_mapper::{MappingTable, map_settlement};

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let target_rows: usize = args
        .first()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(500_000);
    let locale = match args.get(1).map(String::as_str) {
        None | Some("eu") => Locale::Eu,
        Some("na") => Locale::Na,
        Some("mixed") => Locale::Mixed,
        Some(other) => return Err(format!("unknown locale {other}").into()),
    };
    // Generated orders average about 5.8 rows each.
    let opts = SynthOptions {
        orders: target_rows * 10 / 58,
        locale,
        seed: 42,
        ..SynthOptions::default()
    };
    let path =
        std::env::temp_dir().join(format!("ml-connector-bench-{target_rows}-{locale:?}.txt"));
    let generated = write_settlement(&opts, File::create(&path)?)?;
    let bytes = std::fs::metadata(&path)?.len();
    let rss_before = peak_rss_mib().unwrap_or(0.0);

    let table = MappingTable::default_table();
    let started = Instant::now();
    let postings = map_settlement(
        BufReader::with_capacity(1 << 18, File::open(&path)?),
        &table,
    )?;
    let elapsed = started.elapsed().as_secs_f64();
    let rss_after = peak_rss_mib().unwrap_or(0.0);

    assert!(
        postings.ties_out && postings.is_ready(),
        "{:?}",
        postings.held
    );
    assert_eq!(postings.rows, generated.rows);
    println!(
        "file:        {} ({:.1} MiB, {:?} locale)",
        path.display(),
        bytes as f64 / 1048576.0,
        locale
    );
    println!(
        "rows:        {} detail rows, {} orders, {} receipts, {} journal entries",
        postings.rows,
        opts.orders,
        postings.receipts.len(),
        postings.journal_entries.len()
    );
    println!(
        "map time:    {elapsed:.3} s ({:.0} rows/s, {:.1} MiB/s)",
        postings.rows as f64 / elapsed,
        bytes as f64 / 1048576.0 / elapsed
    );
    println!("peak RSS:    {rss_after:.1} MiB (before mapping: {rss_before:.1} MiB)");
    std::fs::remove_file(&path)?;
    Ok(())
}
