//! `ml-connector setup`: creates what the connector needs in the SAP company: the user table of
//! idempotency keys (`MLC_KEYS` and its fields), so SAP itself refuses a second copy of any
//! document (see `posting::keys`).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::engine::{load_engine, runtime};
use crate::posting::{KeyTable, instance_id};

/// Creates the key table and its fields where they are missing.
pub fn run(config_path: &Path) -> Result<ExitCode> {
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
