//! Tenants: one seller with one SAP company, its configuration and its sealed credentials, stored
//! in the PostgreSQL ledger.
//!
//! The credentials are a credential store (see [`crate::credentials`]) sealed with the fleet's key:
//! XChaCha20-Poly1305, the key in a key file or `ML_CONNECTOR_KEY` on the workers, never in the
//! database; the whole store is sealed once more bound to the tenant id ([`super::sealing`]). The
//! configuration is the seller's `ml-connector.toml` text; it is validated when the tenant is
//! added and again when a worker loads it. The files it names (settlement mapping, SAP CA
//! certificate) are stored with it: a worker on any machine writes them to a private temporary
//! directory while it works the tenant, so nothing has to exist on the workers' disks.

use std::path::{Path, PathBuf};

use ::postgres::Client;
use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;

use super::sealing::Unbound;
use crate::config::Config;
use crate::config::ledger::valid_tenant_id;
use crate::connect::Secrets;
use crate::credentials::{CredentialKey, CredentialStore};
use crate::ledger::postgres::off_runtime;

/// What `tenants list` and `fleet status` show of a tenant (never its credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantInfo {
    /// Tenant id.
    pub id: String,
    /// Amazon seller id.
    pub seller_id: String,
    /// SAP company database.
    pub sap_company: String,
    /// Added (RFC 3339).
    pub created_at: String,
    /// Removed (RFC 3339): its work stopped, its ledger rows are kept.
    pub removed_at: Option<String>,
}

/// A tenant as a worker loads it.
pub struct LoadedTenant {
    /// Its validated configuration (its files' paths in [`LoadedTenant::files`]).
    pub config: Config,
    /// Its decrypted secrets.
    pub secrets: Secrets,
    /// Its stored files, written out while the tenant is worked (removed when dropped).
    pub files: Option<tempfile::TempDir>,
}

/// A tenant as `tenants add` stores it.
pub struct NewTenant {
    /// Its configuration, files named by [`MAPPING_FILE`] and [`CA_FILE`].
    pub config: String,
    /// Its credential store sealed with the fleet's key and bound to the tenant id.
    pub credentials: Vec<u8>,
    /// The settlement mapping file's content.
    pub mapping: Option<Vec<u8>>,
    /// The SAP CA certificate file's content.
    pub ca: Option<Vec<u8>>,
}

/// The name a tenant's settlement mapping file has beside its stored configuration.
pub const MAPPING_FILE: &str = "settlement-mapping.toml";
/// The name a tenant's SAP CA file has beside its stored configuration.
pub const CA_FILE: &str = "sap-ca.pem";

/// Where a tenant's configuration seems to live (for messages and relative paths).
pub fn virtual_path(id: &str) -> PathBuf {
    PathBuf::from(format!("tenant:{id}/ml-connector.toml"))
}

/// A credential store sealed with `key`, held in a private temporary file while it is read or
/// written (the file holds only ciphertext).
fn with_store_file<R>(
    sealed: Option<&[u8]>,
    key: CredentialKey,
    f: impl FnOnce(&mut CredentialStore) -> Result<R>,
) -> Result<(R, Vec<u8>)> {
    let dir = tempfile::tempdir().context("temporary directory for a credential store")?;
    let path = dir.path().join("credentials.json");
    if let Some(bytes) = sealed {
        #[cfg(unix)]
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .and_then(|mut f| f.write_all(bytes))
                .context("writing a sealed credential store")?;
        }
        #[cfg(not(unix))]
        std::fs::write(&path, bytes).context("writing a sealed credential store")?;
    }
    let mut store = CredentialStore::open(&path, key)?;
    let r = f(&mut store)?;
    let bytes = std::fs::read(&path).unwrap_or_default();
    Ok((r, bytes))
}

/// Reads a seller's workspace (its config file and the files it names, and its credentials with
/// its own key) as tenant `id`: the credentials re-sealed with the fleet's `fleet_key`.
pub fn from_workspace(config_path: &Path, fleet_key: CredentialKey, id: &str) -> Result<NewTenant> {
    let config = Config::load(config_path)?;
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let text = portable_config(&text)?;
    let read = |key: &str, path: Option<&PathBuf>| {
        path.map(|p| std::fs::read(p).with_context(|| format!("{key} {}", p.display())))
            .transpose()
    };
    let mapping = read("settlements.mapping", config.settlements.mapping.as_ref())?;
    let ca = read("sap.ca_file", config.sap.ca_file.as_ref())?;
    let aead = fleet_key.cipher();
    let env = std::env::var(crate::credentials::KEY_ENV)
        .ok()
        .map(secrecy::SecretString::from);
    let own_key = CredentialKey::load(&config.workspace.key_file, env)?;
    let own = CredentialStore::open(&config.workspace.credentials, own_key)?;
    // Both sets must be there: a tenant a worker cannot connect is refused now, not at 3 a.m.
    Secrets::load(&own)?;
    let now = chrono::Utc::now();
    let ((), sealed) = with_store_file(None, fleet_key, |fleet| {
        for info in own.list() {
            let cred = own
                .get(&info.name)?
                .ok_or_else(|| anyhow!("no `{}` credentials", info.name))?;
            let fields = info
                .fields
                .iter()
                .filter_map(|f| cred.field(f).map(|v| (f.clone(), v.clone())))
                .collect();
            fleet.set(&info.name, fields, now)?;
        }
        Ok(())
    })?;
    Ok(NewTenant {
        config: text,
        credentials: super::sealing::bind(&aead, id, &sealed),
        mapping,
        ca,
    })
}

/// The configuration as a worker reads it: the files it names (settlement mapping, SAP CA file)
/// renamed to the names they are stored under (written beside it at load), without the seller's
/// `[workspace]` and `[ledger]` (the fleet's database is the ledger; the credentials are in the
/// tenant row).
fn portable_config(text: &str) -> Result<String> {
    let mut table: toml::Table = toml::from_str(text).context("re-reading the configuration")?;
    table.remove("workspace");
    table.remove("ledger");
    for (section, key, name) in [
        ("settlements", "mapping", MAPPING_FILE),
        ("sap", "ca_file", CA_FILE),
    ] {
        if let Some(toml::Value::Table(t)) = table.get_mut(section)
            && t.contains_key(key)
        {
            t.insert(key.into(), toml::Value::String(name.into()));
        }
    }
    Ok(toml::to_string(&table)?)
}

/// Adds tenant `id` (or replaces the configuration and credentials of a removed or existing one
/// when `replace`).
pub fn add(client: &mut Client, id: &str, tenant: &NewTenant, replace: bool) -> Result<()> {
    valid_tenant_id(id).map_err(|e| anyhow!(e))?;
    let config = Config::parse(&virtual_path(id), &tenant.config)?;
    let (seller, company) = (
        config.amazon.seller_id.clone(),
        config.sap.company_db.clone(),
    );
    off_runtime(|| -> Result<()> {
        let mut tx = client.transaction()?;
        let existing = tx.query_opt("SELECT 1 FROM tenants WHERE id = $1", &[&id])?;
        if existing.is_some() && !replace {
            bail!(
                "tenant `{id}` exists already (add --replace to change its configuration and credentials)"
            );
        }
        tx.execute(
            "INSERT INTO tenants (id, seller_id, sap_company, config, credentials, mapping_file, ca_file)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET seller_id = excluded.seller_id, sap_company = excluded.sap_company,
                 config = excluded.config, credentials = excluded.credentials,
                 mapping_file = excluded.mapping_file, ca_file = excluded.ca_file, removed_at = NULL",
            &[&id, &seller, &company, &tenant.config, &tenant.credentials, &tenant.mapping, &tenant.ca],
        )?;
        tx.execute(
            "INSERT INTO leases (tenant_id) VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING",
            &[&id],
        )?;
        tx.commit()?;
        Ok(())
    })
}

/// Marks tenant `id` removed: workers stop its work at their next heartbeat and nobody leases it
/// again; its ledger rows (and audit trail) are kept. Returns whether it was active.
pub fn remove(client: &mut Client, id: &str) -> Result<bool> {
    off_runtime(|| {
        let n = client.execute(
            "UPDATE tenants SET removed_at = now() WHERE id = $1 AND removed_at IS NULL",
            &[&id],
        )?;
        if n == 0
            && client
                .query_opt("SELECT 1 FROM tenants WHERE id = $1", &[&id])?
                .is_none()
        {
            bail!("no tenant `{id}`");
        }
        Ok(n > 0)
    })
}

/// Every tenant, removed ones included, by id.
pub fn list(client: &mut Client) -> Result<Vec<TenantInfo>> {
    off_runtime(|| {
        Ok(client
            .query(
                "SELECT id, COALESCE(seller_id, ''), COALESCE(sap_company, ''),
                        to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                        to_char(removed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
                 FROM tenants ORDER BY id",
                &[],
            )?
            .iter()
            .map(|r| TenantInfo {
                id: r.get(0),
                seller_id: r.get(1),
                sap_company: r.get(2),
                created_at: r.get(3),
                removed_at: r.get(4),
            })
            .collect())
    })
}

/// One tenant's stored configuration text.
pub fn config_text(client: &mut Client, id: &str) -> Result<String> {
    off_runtime(|| {
        let row = client
            .query_opt("SELECT config FROM tenants WHERE id = $1", &[&id])?
            .ok_or_else(|| anyhow!("no tenant `{id}`"))?;
        row.get::<_, Option<String>>(0).ok_or_else(|| {
            anyhow!("tenant `{id}` has no configuration (add it with `ml-connector tenants add`)")
        })
    })
}

/// The files stored with tenant `id` (name and size), for `tenants show`.
pub fn stored_files(client: &mut Client, id: &str) -> Result<Vec<(&'static str, usize)>> {
    off_runtime(|| {
        let row = client
            .query_opt(
                "SELECT length(mapping_file), length(ca_file) FROM tenants WHERE id = $1",
                &[&id],
            )?
            .ok_or_else(|| anyhow!("no tenant `{id}`"))?;
        Ok([
            (MAPPING_FILE, row.get::<_, Option<i32>>(0)),
            (CA_FILE, row.get(1)),
        ]
        .into_iter()
        .filter_map(|(name, len)| len.map(|n| (name, n as usize)))
        .collect())
    })
}

/// Loads tenant `id`'s configuration (its stored files written to a private temporary directory)
/// and decrypts its credentials with the fleet's `key`. Credentials stored before they were bound
/// to the tenant are re-sealed bound, once.
pub fn load(client: &mut Client, id: &str, key: CredentialKey) -> Result<LoadedTenant> {
    type Row = (
        Option<String>,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
    );
    let (text, sealed, mapping, ca) = off_runtime(|| -> Result<Row> {
        let row = client
            .query_opt(
                "SELECT config, credentials, mapping_file, ca_file FROM tenants
                 WHERE id = $1 AND removed_at IS NULL",
                &[&id],
            )?
            .ok_or_else(|| anyhow!("no active tenant `{id}`"))?;
        Ok((row.get(0), row.get(1), row.get(2), row.get(3)))
    })?;
    let text = text.ok_or_else(|| anyhow!("tenant `{id}` has no configuration"))?;
    let sealed = sealed.ok_or_else(|| anyhow!("tenant `{id}` has no credentials"))?;
    let aead = key.cipher();
    let (store, legacy) = match super::sealing::unbind(&aead, id, &sealed)? {
        Unbound::Bound(store) => (store, false),
        Unbound::Legacy(store) => (store, true),
    };
    let files = materialise(id, mapping.as_deref(), ca.as_deref())?;
    let path = match &files {
        Some(dir) => dir.path().join("ml-connector.toml"),
        None => virtual_path(id),
    };
    let config = Config::parse(&path, &text)?;
    let (secrets, _) = with_store_file(Some(&store), key, |store| Secrets::load(store))
        .with_context(|| format!("tenant `{id}`: credentials"))?;
    if legacy {
        let bound = super::sealing::bind(&aead, id, &store);
        off_runtime(|| {
            client.execute(
                "UPDATE tenants SET credentials = $2 WHERE id = $1 AND credentials = $3",
                &[&id, &bound, &sealed],
            )
        })
        .with_context(|| format!("tenant `{id}`: binding its credentials to the tenant"))?;
        tracing::info!(tenant = %id, "credentials re-sealed bound to the tenant");
    }
    Ok(LoadedTenant {
        config,
        secrets,
        files,
    })
}

/// Writes a tenant's stored files into a private temporary directory (none stored: `None`).
fn materialise(
    id: &str,
    mapping: Option<&[u8]>,
    ca: Option<&[u8]>,
) -> Result<Option<tempfile::TempDir>> {
    if mapping.is_none() && ca.is_none() {
        return Ok(None);
    }
    let dir = tempfile::Builder::new()
        .prefix(&format!("mlc-tenant-{id}-"))
        .tempdir()
        .with_context(|| format!("tenant `{id}`: a directory for its files"))?;
    for (name, content) in [(MAPPING_FILE, mapping), (CA_FILE, ca)] {
        if let Some(content) = content {
            std::fs::write(dir.path().join(name), content)
                .with_context(|| format!("tenant `{id}`: writing its {name}"))?;
        }
    }
    Ok(Some(dir))
}

#[cfg(test)]
mod tests;
