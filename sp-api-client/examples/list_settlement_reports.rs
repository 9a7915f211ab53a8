//! Lists the DONE settlement reports (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`) of the last
//! N days against any SP-API base URL, e.g. the project's sandbox:
//!
//! ```text
//! SP_API_CLIENT_ID=… SP_API_CLIENT_SECRET=… SP_API_REFRESH_TOKEN=… \
//!   cargo run -p sp-api-client --example list_settlement_reports -- http://127.0.0.1:8080 [--days 30] [--download]
//! ```
//!
//! The LWA token URL defaults to `<base-url>/auth/o2/token` (override with `SP_API_LWA_URL`).
//! With `--download` the first report is downloaded, gunzipped and decoded, and its first lines
//! printed.

use std::process::ExitCode;

use futures::TryStreamExt;
use sp_api_client::{LwaCredentials, SpApiClient};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut base_url = None;
    let mut days = 90i64;
    let mut download = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--days" => days = args.next().ok_or("--days needs a number")?.parse()?,
            "--download" => download = true,
            "-h" | "--help" => {
                println!("usage: list_settlement_reports <base-url> [--days N] [--download]");
                return Ok(());
            }
            other => base_url = Some(other.to_owned()),
        }
    }
    let base_url =
        base_url.ok_or("usage: list_settlement_reports <base-url> [--days N] [--download]")?;
    let lwa_url = env_or(
        "SP_API_LWA_URL",
        &format!("{}/auth/o2/token", base_url.trim_end_matches('/')),
    );
    let client = SpApiClient::builder()
        .base_url(&base_url)
        .lwa_token_url(lwa_url)
        .credentials(LwaCredentials::new(
            env_or("SP_API_CLIENT_ID", "amzn1.application-oa2-client.example"),
            env_or("SP_API_CLIENT_SECRET", "example-secret"),
            env_or("SP_API_REFRESH_TOKEN", "Atzr|example"),
        ))
        .app_id("ml-connector-example/0.1")
        .build()?;

    let since = chrono::Utc::now() - chrono::Duration::days(days);
    let reports: Vec<_> = client.settlement_reports_since(since).try_collect().await?;
    println!(
        "{} settlement report(s) since {}",
        reports.len(),
        since.date_naive()
    );
    for r in &reports {
        println!(
            "{}\t{}\t{}\t{}",
            r.report_id,
            r.created_time,
            r.data_end_time.map(|t| t.to_string()).unwrap_or_default(),
            r.report_document_id
                .as_ref()
                .map(|d| d.as_str())
                .unwrap_or("-"),
        );
    }
    if download && let Some(first) = reports.first() {
        let doc = client
            .download_report(first, encoding_rs::WINDOWS_1252)
            .await?;
        println!(
            "\n{} ({}, gzip: {}):",
            first.report_id,
            doc.encoding.name(),
            doc.was_gzipped
        );
        for line in doc.text.lines().take(5) {
            println!("  {line}");
        }
    }
    Ok(())
}
