//! Builds the two API clients from the configuration and the credential store.

use anyhow::{Context, Result, anyhow};
use sap_b1_client::{SapClient, SapClientBuilder};
use secrecy::{ExposeSecret, SecretString};
use sp_api_client::{LwaCredentials, Region, SpApiClient, SpApiClientBuilder};

use crate::config::{Config, RegionName};
use crate::credentials::CredentialStore;

/// The product name and version sent to Amazon in the User-Agent.
pub const APP_ID: &str = concat!("ml-connector/", env!("CARGO_PKG_VERSION"));

/// Secrets the clients need, read from the credential store.
pub struct Secrets {
    /// SAP user's password.
    pub sap_password: SecretString,
    /// LWA client id, secret and refresh token.
    pub lwa: LwaCredentials,
}

impl Secrets {
    /// Reads both credential sets; says which one is missing and how to add it.
    pub fn load(store: &CredentialStore) -> Result<Self> {
        let sap = store.get("sap")?.ok_or_else(|| {
            anyhow!("no SAP credentials stored: run `ml-connector credentials set sap`")
        })?;
        let amazon = store.get("amazon")?.ok_or_else(|| {
            anyhow!("no Amazon credentials stored: run `ml-connector credentials set amazon`")
        })?;
        let field = |c: &crate::credentials::Credential, system: &str, name: &str| {
            c.field(name).cloned().ok_or_else(|| {
                anyhow!("the stored {system} credentials lack `{name}`: set them again")
            })
        };
        let client_id = field(&amazon, "amazon", "client_id")?;
        Ok(Self {
            sap_password: field(&sap, "sap", "password")?,
            lwa: LwaCredentials::new(
                client_id.expose_secret().to_owned(),
                field(&amazon, "amazon", "client_secret")?,
                field(&amazon, "amazon", "refresh_token")?,
            ),
        })
    }
}

/// The SP-API region of a configured region name.
pub fn region(name: RegionName) -> Region {
    match name {
        RegionName::Na => Region::NorthAmerica,
        RegionName::Eu => Region::Europe,
        RegionName::Fe => Region::FarEast,
    }
}

/// The Service Layer client for this configuration.
pub fn sap_client(config: &Config, password: SecretString) -> Result<SapClient> {
    sap_builder(config, password)?
        .build()
        .context("SAP Service Layer client")
}

/// The Service Layer client's builder for this configuration (to add an observer).
pub fn sap_builder(config: &Config, password: SecretString) -> Result<SapClientBuilder> {
    let sap = &config.sap;
    let mut builder = SapClient::builder(sap.base_url.clone())
        .company(sap.company_db.clone())
        .credentials(sap.user.clone(), password)
        .sessions(sap.sessions)
        .danger_accept_invalid_certs(sap.accept_invalid_certs);
    if let Some(ca) = &sap.ca_file {
        let pem = std::fs::read(ca).with_context(|| format!("sap.ca_file {}", ca.display()))?;
        builder = builder.add_root_certificate_pem(pem);
    }
    Ok(builder)
}

/// The SP-API client for this configuration.
pub fn amazon_client(config: &Config, lwa: LwaCredentials) -> Result<SpApiClient> {
    amazon_builder(config, lwa).build().context("SP-API client")
}

/// The SP-API client's builder for this configuration (to add an observer).
pub fn amazon_builder(config: &Config, lwa: LwaCredentials) -> SpApiClientBuilder {
    let a = &config.amazon;
    let mut builder = SpApiClient::builder()
        .region(region(a.region))
        .credentials(lwa)
        .seller_id(a.seller_id.clone())
        .app_id(APP_ID);
    if let Some(url) = &a.endpoint {
        builder = builder.base_url(url.clone());
    }
    if let Some(url) = &a.lwa_token_url {
        builder = builder.lwa_token_url(url.clone());
    }
    if a.rate_scale != 1.0 {
        builder = builder.rate_limiter(sp_api_client::RateLimiter::with_time_scale(a.rate_scale));
    }
    builder
}
