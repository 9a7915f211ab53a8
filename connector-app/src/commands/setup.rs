//! `ml-connector setup`: creates what the connector needs in the SAP company: the user table of
//! idempotency keys (`MLC_KEYS` and its fields), so SAP itself refuses a second copy of any
//! document (see `posting::keys`); `setup udf` creates the key UDF (`sap.key_udf`) on A/R
//! invoices.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::engine::{load_engine, runtime};
use crate::posting::{KeyTable, instance_id};
use sap_b1_client::Query;
use sap_b1_client::entities::UserFieldMD;
use sap_b1_client::query::prop;

/// What `setup` creates.
#[derive(Debug, clap::Args)]
pub struct SetupArgs {
    /// `udf`: the key UDF of `sap.key_udf` on A/R invoices (OINV) instead of the key table.
    #[command(subcommand)]
    pub what: Option<SetupWhat>,
}

/// The objects `setup` can create besides the key table.
#[derive(Debug, clap::Subcommand)]
pub enum SetupWhat {
    /// The alphanumeric UDF named by `sap.key_udf` on Marketing Documents (OINV), large enough
    /// for the connector's keys.
    Udf,
}

/// Size of the key UDF we create: our keys are about 55 characters; SAP refuses longer values
/// rather than truncating them.
const KEY_UDF_SIZE: i32 = 100;

/// Creates the key table and its fields (or, with `udf`, the key UDF) where they are missing.
pub fn run(config_path: &Path, args: SetupArgs) -> Result<ExitCode> {
    if let Some(SetupWhat::Udf) = args.what {
        return create_udf(config_path);
    }
    let engine = load_engine(config_path)?;
    let Some(name) = engine.config.sap.key_table.clone() else {
        println!("sap.key_table is off in the configuration: nothing to set up");
        return Ok(ExitCode::SUCCESS);
    };
    let table = KeyTable::new(name, instance_id(&engine.config.workspace.ledger));
    runtime()?.block_on(async {
        engine.sap.connect().await.context("SAP login")?;
        let created = table
            .create(&engine.sap)
            .await
            .with_context(|| format!("creating user table @{}", table.table()))?;
        if created.is_empty() {
            println!("user table @{} and its fields are in SAP already", table.table());
        }
        for c in &created {
            println!("created {c}");
        }
        let visible = table.exists(&engine.sap).await?;
        let _ = engine.sap.logout().await;
        if visible {
            println!(
                "{} is visible to the Service Layer: every document now goes into SAP with its key row, so SAP refuses a second copy",
                table.entity_set()
            );
        } else {
            println!(
                "SAP shows a new user table to the Service Layer only after the Service Layer is restarted: restart it (on Linux: `systemctl restart b1s`, or the SLD/Control Center), then run `ml-connector ping`, which says whether {} is visible",
                table.entity_set()
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn create_udf(config_path: &Path) -> Result<ExitCode> {
    let engine = load_engine(config_path)?;
    let Some(udf) = engine.config.sap.key_udf.clone() else {
        println!("sap.key_udf is not set in the configuration: nothing to set up");
        return Ok(ExitCode::SUCCESS);
    };
    let name = udf.strip_prefix("U_").unwrap_or(&udf).to_owned();
    runtime()?.block_on(async {
        engine.sap.connect().await.context("SAP login")?;
        let fields = engine.sap.entity_set::<UserFieldMD>();
        let existing = fields
            .first(&Query::new().filter(
                prop("TableName").eq("OINV").and(prop("Name").eq(name.as_str())),
            ))
            .await?;
        let outcome = match existing {
            Some(f) if f.size.is_some_and(|s| s < KEY_UDF_SIZE) => {
                println!(
                    "U_{name} exists on OINV with size {}: enlarge it to {KEY_UDF_SIZE} in the SAP client (Tools > Customization Tools > User-Defined Fields - Management), SAP refuses keys longer than the field",
                    f.size.unwrap_or(0)
                );
                ExitCode::from(crate::cli::EXIT_CONFIG)
            }
            Some(_) => {
                println!("U_{name} is on OINV already");
                ExitCode::SUCCESS
            }
            None => {
                fields
                    .create(&UserFieldMD {
                        name: Some(name.clone()),
                        field_type: Some("db_Alpha".into()),
                        size: Some(KEY_UDF_SIZE),
                        description: Some("ml-connector document key".into()),
                        table_name: Some("OINV".into()),
                        ..UserFieldMD::default()
                    })
                    .await
                    .with_context(|| format!("creating U_{name} on OINV"))?;
                println!(
                    "created U_{name} (alphanumeric, {KEY_UDF_SIZE}) on Marketing Documents (OINV); SAP shows it to the Service Layer only after the Service Layer is restarted: restart it, then run `ml-connector doctor`"
                );
                ExitCode::SUCCESS
            }
        };
        let _ = engine.sap.logout().await;
        Ok(outcome)
    })
}
