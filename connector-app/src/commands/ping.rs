//! `ml-connector ping`: logs in to SAP, gets an LWA token and lists marketplace participations,
//! saying exactly what failed and what to check.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use sap_b1_client::Error as SapError;
use sp_api_client::Error as AmazonError;

use super::engine::{load_engine, runtime};
use crate::cli::EXIT_CONFIG;

/// Checks both connections.
pub fn run(config_path: &Path) -> Result<ExitCode> {
    let engine = load_engine(config_path)?;
    let rt = runtime()?;
    rt.block_on(async {
        let cfg = &engine.config;
        let mut ok = true;
        match engine.sap.connect().await {
            Ok(info) => {
                println!(
                    "SAP: logged in to {} as {} at {} (Service Layer {}, session timeout {} min)",
                    cfg.sap.company_db,
                    cfg.sap.user,
                    cfg.sap.base_url,
                    info.version.as_deref().unwrap_or("version not reported"),
                    info.timeout.as_secs() / 60
                );
                match engine.key_table().await {
                    Ok(Some(t)) => println!(
                        "SAP: key table {} present: exactly-once is enforced by SAP (this instance: {})",
                        t.entity_set(),
                        t.instance()
                    ),
                    Ok(None) => match &cfg.sap.key_table {
                        Some(name) => println!(
                            "SAP: WARNING: key table U_{name} is not visible: run `ml-connector setup` and restart the Service Layer; until then exactly-once depends on this being the only connector writing to this company"
                        ),
                        None => println!(
                            "SAP: WARNING: sap.key_table is off: exactly-once depends on this being the only connector writing to this company"
                        ),
                    },
                    Err(e) => println!("SAP: could not check the key table: {e:#}"),
                }
                match engine.company().await {
                    Ok(Some(c)) => println!(
                        "SAP: company {} ({}), local currency {}",
                        c.company_name.as_deref().unwrap_or(&cfg.sap.company_db),
                        c.country.as_deref().unwrap_or("country not set"),
                        c.local_currency.as_deref().unwrap_or("not set")
                    ),
                    Ok(None) => println!("SAP: the company's settings (CompanyService_GetAdminInfo) are not readable"),
                    Err(e) => println!("SAP: could not read the company's settings: {e:#}"),
                }
                let _ = engine.sap.logout().await;
            }
            Err(e) => {
                ok = false;
                println!("SAP: FAILED: {e}");
                println!("  check: {}", sap_advice(&e, &cfg.sap.base_url));
            }
        }
        match engine.amazon.get_marketplace_participations().await {
            Ok(list) => {
                println!("Amazon: token obtained; seller {} participates in {} marketplace(s):", cfg.amazon.seller_id, list.len());
                for p in &list {
                    println!("  {} {} ({}, {})", p.marketplace.id, p.marketplace.name, p.marketplace.country_code, p.marketplace.default_currency_code);
                }
                for m in &cfg.amazon.marketplaces {
                    if !list.iter().any(|p| &p.marketplace.id == m) {
                        ok = false;
                        println!("  configured marketplace {m} is not among them: check amazon.marketplaces");
                    }
                }
            }
            Err(e) => {
                ok = false;
                println!("Amazon: FAILED: {e}");
                // A refusal of Login with Amazon carries its advice already.
                let advice = amazon_advice(&e);
                if !e.to_string().contains(&advice) {
                    println!("  check: {advice}");
                }
            }
        }
        Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(EXIT_CONFIG) })
    })
}

pub(crate) fn sap_advice(e: &SapError, url: &str) -> String {
    match e {
        SapError::Login(rejection) if !rejection.is_service_layer() => format!(
            "sap.base_url: {url} did not answer like SAP's Service Layer (no SAP error code), so user and password were not checked: use the Service Layer's own address (https://host:50000/b1s/v2) or check the proxy in front of it"
        ),
        SapError::Login(_) => {
            "the user, the password (`ml-connector credentials set sap`) and sap.company_db".into()
        }
        SapError::Transport { .. } => format!(
            "that {url} is reachable from here, the port, and TLS (sap.ca_file for a self-signed server)"
        ),
        SapError::Config(_) => "the [sap] section of the configuration".into(),
        _ => "the Service Layer's own log; the error above is what it answered".into(),
    }
}

pub(crate) fn amazon_advice(e: &AmazonError) -> String {
    match e {
        AmazonError::Auth(sp_api_client::LwaError::Rejected { code, .. }) => code.advice().to_owned(),
        AmazonError::Auth(_) => "network access to Login with Amazon (amazon.lwa_token_url if overridden)".into(),
        AmazonError::Parse(p) if !p.body_is_json() => "amazon.endpoint (leave it out to use Amazon's endpoint for amazon.region) and amazon.region: what answered is not the SP-API".into(),
        AmazonError::Transport { .. } => "network access to the SP-API and LWA hosts (amazon.endpoint / amazon.lwa_token_url if overridden)".into(),
        _ => "the app's SP-API roles (Sellers, Orders, Reports) and amazon.region".into(),
    }
}
