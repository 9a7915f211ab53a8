//! `[ledger]`: where the ledger lives. Absent, it is the workspace's SQLite file
//! (`[workspace] ledger`); with `url = "postgres://…"` it is a PostgreSQL database shared by a
//! fleet, in which this configuration reads and writes the rows of one tenant.
//!
//! TLS: `sslmode` in the URL (`disable`, `prefer` (the default), `require`, `verify-full`; see
//! [`crate::ledger::postgres::connect`]); `ca_file` names the CA certificate(s) that `verify-full`
//! trusts instead of the system's roots (libpq's `sslrootcert`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Invalid;

/// Environment variable carrying the PostgreSQL password: secrets are not in the configuration
/// file (a `url` with a password is refused).
pub const PASSWORD_ENV: &str = "ML_CONNECTOR_DATABASE_PASSWORD";

/// The ledger's backend.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LedgerBackend {
    /// The workspace's SQLite file (the default: right for one seller on one machine).
    #[default]
    Sqlite,
    /// A PostgreSQL database.
    Postgres {
        /// `postgres://user@host[:port]/database` (no password).
        url: String,
        /// The tenant whose rows this configuration works on.
        tenant: String,
        /// CA certificate(s) (PEM) for `sslmode=verify-full` instead of the system's roots.
        ca_file: Option<PathBuf>,
    },
}

impl LedgerBackend {
    /// The URL to connect with: the configured one, with the password from
    /// [`PASSWORD_ENV`] when that is set and `ca_file` as its `sslrootcert`.
    pub fn connect_url(&self) -> Option<String> {
        let Self::Postgres { url, ca_file, .. } = self else {
            return None;
        };
        let password = std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty());
        let Ok(mut u) = url::Url::parse(url) else {
            return Some(url.clone());
        };
        if let Some(p) = password {
            let _ = u.set_password(Some(&p));
        }
        if let Some(ca) = ca_file {
            u.query_pairs_mut()
                .append_pair("sslrootcert", &ca.display().to_string());
        }
        Some(u.to_string())
    }
}

/// `[ledger]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLedger {
    url: Option<String>,
    tenant: Option<String>,
    ca_file: Option<PathBuf>,
}

/// Whether `id` can name a tenant: 1 to 64 of `a-z`, `0-9`, `-`, `_`, starting with a letter or
/// digit (it appears in lease rows, metrics labels and file names).
pub fn valid_tenant_id(id: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && id.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not a tenant id: use 1-64 of a-z, 0-9, `-` and `_`, starting with a letter or digit"
        ))
    }
}

impl RawLedger {
    /// Validates the section.
    pub(super) fn validate(self, dir: &Path) -> Result<LedgerBackend, Invalid> {
        let Some(url) = self.url else {
            if self.ca_file.is_some() {
                return Err(Invalid::new(
                    "ledger.ca_file",
                    "a CA file needs `ledger.url` (it verifies a PostgreSQL server)",
                ));
            }
            if self.tenant.is_some() {
                return Err(Invalid::new(
                    "ledger.tenant",
                    "a tenant needs `ledger.url` (tenants live in a PostgreSQL ledger)",
                ));
            }
            return Ok(LedgerBackend::Sqlite);
        };
        let parsed = url::Url::parse(&url)
            .map_err(|e| Invalid::new("ledger.url", format!("not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(Invalid::new(
                "ledger.url",
                format!(
                    "`{}:` is not a ledger: use postgres://user@host/database (or leave [ledger] out for the workspace's SQLite file)",
                    parsed.scheme()
                ),
            ));
        }
        if parsed.password().is_some() {
            return Err(Invalid::new(
                "ledger.url",
                format!(
                    "holds a password; secrets are not kept in this file: set {PASSWORD_ENV} instead"
                ),
            ));
        }
        if parsed.query_pairs().any(|(k, _)| k == "sslrootcert") {
            return Err(Invalid::new(
                "ledger.url",
                "name the CA file with `ledger.ca_file`, not `sslrootcert` in the URL",
            ));
        }
        let ca_file = self.ca_file.map(|p| super::resolve(dir, p));
        let backend = LedgerBackend::Postgres {
            url,
            tenant: self.tenant.unwrap_or_else(|| "default".to_owned()),
            ca_file,
        };
        // sslmode and the rest of the URL as the driver reads them (the CA file is read here too).
        if let Some(url) = backend.connect_url() {
            crate::ledger::postgres::Target::parse(&url)
                .map_err(|e| Invalid::new("ledger.url", e.to_string()))?;
        }
        let LedgerBackend::Postgres { tenant, .. } = &backend else {
            unreachable!("built above")
        };
        valid_tenant_id(tenant).map_err(|e| Invalid::new("ledger.tenant", e))?;
        Ok(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{TEMPLATE, parse_at};
    use super::*;

    fn with(section: &str) -> Result<LedgerBackend, String> {
        parse_at(&format!("{TEMPLATE}\n[ledger]\n{section}\n"))
            .map(|c| c.ledger)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_ledger_section_selects_postgres_for_one_tenant() {
        assert_eq!(parse_at(TEMPLATE).unwrap().ledger, LedgerBackend::Sqlite);
        assert_eq!(
            with("url = \"postgres://mlc@db.internal/mlc\"\ntenant = \"acme-us\""),
            Ok(LedgerBackend::Postgres {
                url: "postgres://mlc@db.internal/mlc".into(),
                tenant: "acme-us".into(),
                ca_file: None,
            })
        );
        let err = with("url = \"postgres://mlc:hunter2@db/mlc\"").unwrap_err();
        assert!(
            err.contains("key `ledger.url`: holds a password") && !err.contains("hunter2"),
            "{err}"
        );
        let err = with("url = \"mysql://db/mlc\"").unwrap_err();
        assert!(err.contains("`mysql:` is not a ledger"), "{err}");
        let err = with("url = \"postgres://db/mlc\"\ntenant = \"Acme US\"").unwrap_err();
        assert!(
            err.contains("key `ledger.tenant`: `Acme US` is not a tenant id"),
            "{err}"
        );
        let err = with("tenant = \"acme\"").unwrap_err();
        assert!(err.contains("a tenant needs `ledger.url`"), "{err}");
    }

    #[test]
    fn sslmode_and_the_ca_file_are_checked_with_the_configuration() {
        let err = with("url = \"postgres://db/mlc?sslmode=verify-ca\"").unwrap_err();
        assert!(
            err.contains("key `ledger.url`")
                && err.contains("sslmode `verify-ca` is not supported"),
            "{err}"
        );
        let err =
            with("url = \"postgres://db/mlc?sslmode=verify-full&sslrootcert=/x.pem\"").unwrap_err();
        assert!(
            err.contains("name the CA file with `ledger.ca_file`"),
            "{err}"
        );
        let err = with("ca_file = \"ca.pem\"").unwrap_err();
        assert!(err.contains("a CA file needs `ledger.url`"), "{err}");
        // Relative to the configuration's directory, read when the configuration is loaded.
        let err = with("url = \"postgres://db/mlc?sslmode=verify-full\"\nca_file = \"db-ca.pem\"")
            .unwrap_err();
        assert!(err.contains("sslrootcert /etc/mlc/db-ca.pem"), "{err}");
        let backend = LedgerBackend::Postgres {
            url: "postgres://mlc@db/mlc?sslmode=verify-full".into(),
            tenant: "t".into(),
            ca_file: Some("/etc/mlc/db-ca.pem".into()),
        };
        assert!(
            backend
                .connect_url()
                .unwrap()
                .ends_with("sslmode=verify-full&sslrootcert=%2Fetc%2Fmlc%2Fdb-ca.pem"),
            "{:?}",
            backend.connect_url()
        );
    }
}
