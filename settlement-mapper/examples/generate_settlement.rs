//! Writes a realistic generated V2 settlement file.
//!
//! `cargo run --release -p settlement-mapper --example generate_settlement -- ORDERS OUT.txt [eu|na|mixed] [SEED]`

use std::fs::File;

use settlement_mapper::synth::{Locale, SynthOptions, write_settlement};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(orders), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: generate_settlement ORDERS OUT.txt [eu|na|mixed] [SEED]");
        std::process::exit(1);
    };
    let locale = match args.get(2).map(String::as_str) {
        None | Some("eu") => Locale::Eu,
        Some("na") => Locale::Na,
        Some("mixed") => Locale::Mixed,
        Some(other) => return Err(format!("unknown locale {other} (eu, na, mixed)").into()),
    };
    let (currency, marketplace) = match locale {
        Locale::Eu => ("EUR", "Amazon.de"),
        _ => ("USD", "Amazon.com"),
    };
    let opts = SynthOptions {
        orders: orders.parse()?,
        seed: args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1),
        locale,
        currency: currency.to_owned(),
        marketplace: marketplace.to_owned(),
        ..SynthOptions::default()
    };
    let summary = write_settlement(&opts, File::create(out)?)?;
    eprintln!(
        "{out}: {} detail rows, total {} {currency}",
        summary.rows, summary.rows_sum
    );
    Ok(())
}
