//! `[amazon]`: the SP-API connection (LWA client id, secret and refresh token are in the credential
//! store under `amazon`).

use serde::Deserialize;

use super::Invalid;

/// Amazon region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegionName {
    /// North America.
    Na,
    /// Europe (incl. UK, India, Middle East).
    Eu,
    /// Far East.
    Fe,
}

/// Amazon connection (LWA client id, secret and refresh token in the credential store under `amazon`).
#[derive(Debug, Clone)]
pub struct AmazonConfig {
    /// Region.
    pub region: RegionName,
    /// Merchant token (seller id).
    pub seller_id: String,
    /// Marketplaces to sync.
    pub marketplaces: Vec<String>,
    /// SP-API base URL override (sandbox, tests).
    pub endpoint: Option<String>,
    /// LWA token URL override (sandbox, tests).
    pub lwa_token_url: Option<String>,
    /// Multiplies Amazon's published rate limits: only for the sandbox, whose clock runs faster.
    pub rate_scale: f64,
}

/// `[amazon]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAmazon {
    region: RegionName,
    seller_id: String,
    marketplaces: Vec<String>,
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    lwa_token_url: Option<String>,
    #[serde(default)]
    rate_scale: Option<f64>,
}

impl RawAmazon {
    /// Validates the section.
    pub(super) fn validate(self) -> Result<AmazonConfig, Invalid> {
        if self.seller_id.trim().is_empty() {
            return Err(Invalid::new("amazon.seller_id", "must not be empty"));
        }
        if self.marketplaces.is_empty() {
            return Err(Invalid::new(
                "amazon.marketplaces",
                "list at least one marketplace id",
            ));
        }
        for (key, value) in [
            ("amazon.endpoint", &self.endpoint),
            ("amazon.lwa_token_url", &self.lwa_token_url),
        ] {
            if let Some(v) = value
                && !(v.starts_with("https://") || v.starts_with("http://"))
            {
                return Err(Invalid::new(key, format!("`{v}` is not an http(s) URL")));
            }
        }
        let rate_scale = self.rate_scale.unwrap_or(1.0);
        if !(rate_scale.is_finite() && rate_scale >= 1.0) {
            return Err(Invalid::new(
                "amazon.rate_scale",
                format!("{rate_scale} must be 1 or more (and above 1 only against the sandbox)"),
            ));
        }
        Ok(AmazonConfig {
            region: self.region,
            seller_id: self.seller_id,
            marketplaces: self.marketplaces,
            endpoint: self.endpoint,
            lwa_token_url: self.lwa_token_url,
            rate_scale,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{TEMPLATE, parse_at};
    use super::RegionName;

    #[test]
    fn an_unknown_region_names_the_file_and_the_value() {
        assert_eq!(parse_at(TEMPLATE).unwrap().amazon.region, RegionName::Eu);
        let bad = TEMPLATE.replace("region = \"eu\"", "region = \"mars\"");
        let e = parse_at(&bad).unwrap_err().to_string();
        assert!(
            e.contains("/etc/mlc/ml-connector.toml") && e.contains("mars"),
            "{e}"
        );
    }

    #[test]
    fn endpoints_are_urls_and_rate_scale_is_at_least_one() {
        let bad = TEMPLATE.replace(
            "# endpoint = \"http://127.0.0.1:8443\"",
            "endpoint = \"127.0.0.1\"",
        );
        assert!(
            parse_at(&bad)
                .unwrap_err()
                .to_string()
                .contains("key `amazon.endpoint`")
        );
        let bad = TEMPLATE.replace(
            "seller_id = \"A1EXAMPLESELLER\"",
            "seller_id = \"A1\"\nrate_scale = 0.5",
        );
        assert!(
            parse_at(&bad)
                .unwrap_err()
                .to_string()
                .contains("key `amazon.rate_scale`")
        );
    }
}
