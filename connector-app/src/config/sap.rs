//! `[sap]`: the Service Layer connection (the password is in the credential store under `sap`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Invalid, resolve};

/// SAP connection (password in the credential store under `sap`).
#[derive(Debug, Clone)]
pub struct SapConfig {
    /// Full Service Layer base URL, `/b1s/v1` or `/b1s/v2`.
    pub base_url: String,
    /// Company database.
    pub company_db: String,
    /// User name.
    pub user: String,
    /// Extra CA certificate (PEM) for self-signed on-premise servers.
    pub ca_file: Option<PathBuf>,
    /// Skip TLS verification (logged loudly; never in production).
    pub accept_invalid_certs: bool,
    /// Parallel Service Layer sessions.
    pub sessions: usize,
    /// UDF on documents that also carries the ledger key (e.g. `U_MLC_Key`).
    pub key_udf: Option<String>,
    /// The user-defined table of idempotency keys (`MLC_KEYS`, created by `ml-connector setup`);
    /// `None` (`key_table = ""`) turns SAP-enforced exactly-once off.
    pub key_table: Option<String>,
    /// ISO currency -> the company's own currency code, where `Currencies` does not say it
    /// through `InternationalDescription` (`[sap.currencies] USD = "US$"`).
    pub currencies: std::collections::BTreeMap<String, String>,
    /// New invoices of the orders flow per `$batch` request, each in its own changeset with its
    /// key row (needs the key table; 1 sends each alone).
    pub invoices_per_batch: usize,
}

/// The default of `sap.invoices_per_batch`.
pub const DEFAULT_INVOICES_PER_BATCH: usize = 20;

/// The default idempotency-key table.
pub const DEFAULT_KEY_TABLE: &str = "MLC_KEYS";

/// `[sap]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSap {
    base_url: String,
    company_db: String,
    user: String,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    accept_invalid_certs: bool,
    #[serde(default)]
    sessions: Option<usize>,
    #[serde(default)]
    key_udf: Option<String>,
    #[serde(default)]
    key_table: Option<String>,
    #[serde(default)]
    currencies: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    invoices_per_batch: Option<usize>,
}

impl RawSap {
    /// Validates the section; `dir` is the config file's directory (for `ca_file`).
    pub(super) fn validate(self, dir: &Path) -> Result<SapConfig, Invalid> {
        let base = self.base_url.trim().trim_end_matches('/').to_owned();
        let scheme_ok = base.starts_with("https://") || base.starts_with("http://");
        if !scheme_ok || !(base.ends_with("/b1s/v1") || base.ends_with("/b1s/v2")) {
            return Err(Invalid::new(
                "sap.base_url",
                format!(
                    "`{}` must be the full Service Layer URL, http(s)://host:port/b1s/v1 or /b1s/v2",
                    self.base_url
                ),
            ));
        }
        for (key, value) in [
            ("sap.company_db", &self.company_db),
            ("sap.user", &self.user),
        ] {
            if value.trim().is_empty() {
                return Err(Invalid::new(key, "must not be empty"));
            }
        }
        let sessions = self.sessions.unwrap_or(1);
        if !(1..=16).contains(&sessions) {
            return Err(Invalid::new(
                "sap.sessions",
                format!("{sessions} is outside 1-16"),
            ));
        }
        if let Some(udf) = &self.key_udf
            && !udf.starts_with("U_")
        {
            return Err(Invalid::new(
                "sap.key_udf",
                format!("`{udf}` is not a user-defined field (they start with U_)"),
            ));
        }
        let key_table = match self.key_table {
            None => Some(DEFAULT_KEY_TABLE.to_owned()),
            Some(t) if t.trim().is_empty() => None,
            Some(t) => {
                let t = t.trim().trim_start_matches('@').to_owned();
                // SAP: a user table's name is at most 19 characters, letters, digits, underscore.
                if t.len() > 19 || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(Invalid::new(
                        "sap.key_table",
                        format!("`{t}` is not a user table name (at most 19 letters, digits or _)"),
                    ));
                }
                Some(t)
            }
        };
        for (iso, code) in &self.currencies {
            let iso_ok = iso.len() == 3 && iso.chars().all(|c| c.is_ascii_uppercase());
            // SAP: a currency code is at most 3 characters (OCRN.CurrCode).
            let code_ok = !code.trim().is_empty() && code.chars().count() <= 3;
            if !iso_ok || !code_ok {
                return Err(Invalid::new(
                    format!("sap.currencies.{iso}"),
                    "maps an ISO code (3 capital letters) to SAP's currency code (1 to 3 characters)",
                ));
            }
        }
        let invoices_per_batch = self
            .invoices_per_batch
            .unwrap_or(DEFAULT_INVOICES_PER_BATCH);
        // SAP documents no limit on a $batch's size; a request of 100 invoices stays well inside
        // the 300 s a batch may take (B1SLayer's timeout) and keeps a lost answer's doubt small.
        if !(1..=100).contains(&invoices_per_batch) {
            return Err(Invalid::new(
                "sap.invoices_per_batch",
                format!("{invoices_per_batch} is outside 1-100"),
            ));
        }
        Ok(SapConfig {
            invoices_per_batch,
            key_table,
            currencies: self.currencies,
            base_url: base,
            company_db: self.company_db,
            user: self.user,
            ca_file: self.ca_file.map(|p| resolve(dir, p)),
            accept_invalid_certs: self.accept_invalid_certs,
            sessions,
            key_udf: self.key_udf,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{TEMPLATE, parse_at};

    #[test]
    fn the_base_url_must_be_the_service_layer() {
        let c = parse_at(TEMPLATE).unwrap();
        assert_eq!(c.sap.base_url, "https://sap.example.com:50000/b1s/v2");
        let bad = TEMPLATE.replace("/b1s/v2\"", "/api\"");
        assert_eq!(
            parse_at(&bad).unwrap_err().to_string(),
            "/etc/mlc/ml-connector.toml: key `sap.base_url`: `https://sap.example.com:50000/api` must be the full Service Layer URL, http(s)://host:port/b1s/v1 or /b1s/v2"
        );
    }

    #[test]
    fn currency_codes_map_iso_to_sap() {
        let text = format!("{TEMPLATE}\n[sap.currencies]\nUSD = \"US$\"\n");
        let c = parse_at(&text).unwrap();
        assert_eq!(c.sap.currencies["USD"], "US$");
        let bad = format!("{TEMPLATE}\n[sap.currencies]\nusd = \"DOLLAR\"\n");
        assert!(
            parse_at(&bad)
                .unwrap_err()
                .to_string()
                .contains("key `sap.currencies.usd`")
        );
    }

    #[test]
    fn sessions_and_key_udf_are_checked() {
        let bad = TEMPLATE.replace("sessions = 2", "sessions = 17");
        assert!(
            parse_at(&bad)
                .unwrap_err()
                .to_string()
                .contains("key `sap.sessions`: 17 is outside 1-16")
        );
        let bad = TEMPLATE.replace("# key_udf = \"U_MLC_Key\"", "key_udf = \"MLC_Key\"");
        assert!(
            parse_at(&bad)
                .unwrap_err()
                .to_string()
                .contains("key `sap.key_udf`")
        );
    }

    #[test]
    fn invoices_per_batch_defaults_to_20_and_is_bounded() {
        assert_eq!(parse_at(TEMPLATE).unwrap().sap.invoices_per_batch, 20);
        let five = TEMPLATE.replace("# invoices_per_batch = 20", "invoices_per_batch = 5");
        assert_eq!(parse_at(&five).unwrap().sap.invoices_per_batch, 5);
        let bad = TEMPLATE.replace("# invoices_per_batch = 20", "invoices_per_batch = 0");
        assert!(
            parse_at(&bad)
                .unwrap_err()
                .to_string()
                .contains("key `sap.invoices_per_batch`: 0 is outside 1-100")
        );
    }
}
