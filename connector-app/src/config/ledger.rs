//! `[ledger]`: where the ledger lives. Absent, it is the workspace's SQLite file
//! (`[workspace] ledger`); with `url = "postgres://…"` it is a PostgreSQL database shared by a
//! fleet, in which this configuration reads and writes the rows of one tenant.

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
    },
}

impl LedgerBackend {
    /// The URL to connect with: the configured one, with the password from
    /// [`PASSWORD_ENV`] when that is set.
    pub fn connect_url(&self) -> Option<String> {
        let Self::Postgres { url, .. } = self else {
            return None;
        };
        let password = std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty());
        if let (Ok(mut u), Some(p)) = (url::Url::parse(url), password)
            && u.set_password(Some(&p)).is_ok()
        {
            return Some(u.to_string());
        }
        Some(url.clone())
    }
}

/// `[ledger]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLedger {
    url: Option<String>,
    tenant: Option<String>,
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
    pub(super) fn validate(self) -> Result<LedgerBackend, Invalid> {
        let Some(url) = self.url else {
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
        let tenant = self.tenant.unwrap_or_else(|| "default".to_owned());
        valid_tenant_id(&tenant).map_err(|e| Invalid::new("ledger.tenant", e))?;
        Ok(LedgerBackend::Postgres { url, tenant })
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
                tenant: "acme-us".into()
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
}
