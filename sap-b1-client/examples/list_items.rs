//! List items from a Service Layer, filtered, page by page.
//!
//! ```text
//! SAP_PASSWORD=... cargo run -p sap-b1-client --example list_items -- \
//!     https://sap.example.com:50000/b1s/v2 SBODEMOUS manager [--prefix A] [--since 2024-05-01] \
//!     [--page-size 50] [--ca-pem server.crt] [--insecure]
//! ```
//!
//! Uses only this crate: login, a `$filter` built from escaped literals, paging via nextLink,
//! logout. Set `RUST_LOG=sap_b1_client=debug` to watch the calls.

use std::process::ExitCode;

use chrono::NaiveDate;
use futures::StreamExt;
use sap_b1_client::{Filter, Order, Query, SapClient, SecretString, prop};

struct Args {
    base_url: String,
    company: String,
    user: String,
    prefix: Option<String>,
    since: Option<NaiveDate>,
    page_size: u32,
    ca_pem: Option<String>,
    insecure: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut args = Args {
        base_url: String::new(),
        company: String::new(),
        user: String::new(),
        prefix: None,
        since: None,
        page_size: 50,
        ca_pem: None,
        insecure: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--prefix" => args.prefix = Some(value("--prefix")?),
            "--since" => {
                let v = value("--since")?;
                args.since = Some(
                    NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                        .map_err(|e| format!("--since: {e}"))?,
                );
            }
            "--page-size" => {
                args.page_size = value("--page-size")?
                    .parse()
                    .map_err(|e| format!("--page-size: {e}"))?
            }
            "--ca-pem" => args.ca_pem = Some(value("--ca-pem")?),
            "--insecure" => args.insecure = true,
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}")),
            _ => positional.push(arg),
        }
    }
    let [base_url, company, user]: [String; 3] = positional
        .try_into()
        .map_err(|_| "usage: list_items BASE_URL COMPANY_DB USER [options]".to_string())?;
    args.base_url = base_url;
    args.company = company;
    args.user = user;
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let password = std::env::var("SAP_PASSWORD").map_err(|_| "set SAP_PASSWORD")?;
    let mut builder = SapClient::builder(&args.base_url)
        .company(&args.company)
        .credentials(&args.user, SecretString::from(password))
        .danger_accept_invalid_certs(args.insecure);
    if let Some(path) = &args.ca_pem {
        builder = builder.add_root_certificate_pem(std::fs::read(path)?);
    }
    let sap = builder.build()?;

    let mut filter: Option<Filter> = None;
    if let Some(prefix) = &args.prefix {
        filter = Some(prop("ItemCode").starts_with(prefix));
    }
    if let Some(since) = args.since {
        let changed = Filter::changed_on_or_after(since);
        filter = Some(match filter {
            Some(f) => f.and(changed),
            None => changed,
        });
    }
    let mut query = Query::new()
        .select([
            "ItemCode",
            "ItemName",
            "QuantityOnStock",
            "UpdateDate",
            "UpdateTime",
        ])
        .order_by("ItemCode", Order::Asc)
        .page_size(args.page_size);
    if let Some(f) = filter {
        query = query.filter(f);
    }

    let mut items = sap.items().stream(&query);
    let mut count = 0usize;
    while let Some(item) = items.next().await {
        let item = item?;
        count += 1;
        println!(
            "{}\t{}\t{}\t{}",
            item.item_code.unwrap_or_default(),
            item.item_name.unwrap_or_default(),
            item.quantity_on_stock
                .map(|q| q.to_string())
                .unwrap_or_default(),
            item.update_date.map(|d| d.to_string()).unwrap_or_default(),
        );
    }
    eprintln!("{count} items");
    sap.logout().await?;
    Ok(())
}
