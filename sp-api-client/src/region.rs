//! Regions (NA/EU/FE), their production and sandbox hosts, and the marketplace id table.

use std::fmt;

/// An SP-API region. A refresh token only works in the region where the seller authorised the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Region {
    /// North America (CA, US, MX, BR).
    NorthAmerica,
    /// Europe, Middle East, India, Africa.
    Europe,
    /// Far East (SG, AU, JP).
    FarEast,
}

impl Region {
    /// Production endpoint.
    pub fn endpoint(self) -> &'static str {
        match self {
            Region::NorthAmerica => "https://sellingpartnerapi-na.amazon.com",
            Region::Europe => "https://sellingpartnerapi-eu.amazon.com",
            Region::FarEast => "https://sellingpartnerapi-fe.amazon.com",
        }
    }

    /// Amazon's static sandbox endpoint.
    pub fn sandbox_endpoint(self) -> &'static str {
        match self {
            Region::NorthAmerica => "https://sandbox.sellingpartnerapi-na.amazon.com",
            Region::Europe => "https://sandbox.sellingpartnerapi-eu.amazon.com",
            Region::FarEast => "https://sandbox.sellingpartnerapi-fe.amazon.com",
        }
    }

    /// Short code: `na`, `eu`, `fe`.
    pub fn code(self) -> &'static str {
        match self {
            Region::NorthAmerica => "na",
            Region::Europe => "eu",
            Region::FarEast => "fe",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A marketplace Amazon sells in, with its fixed marketplace id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Marketplace {
    /// Amazon's country code (UK is `UK`, not ISO `GB`).
    pub country_code: &'static str,
    /// Marketplace id, e.g. `A1PA6795UKMFR9`.
    pub id: &'static str,
    /// Region serving this marketplace.
    pub region: Region,
}

const fn m(country_code: &'static str, id: &'static str, region: Region) -> Marketplace {
    Marketplace {
        country_code,
        id,
        region,
    }
}

/// Every marketplace of Amazon's published table.
pub const MARKETPLACES: &[Marketplace] = &[
    m("CA", "A2EUQ1WTGCTBG2", Region::NorthAmerica),
    m("US", "ATVPDKIKX0DER", Region::NorthAmerica),
    m("MX", "A1AM78C64UM0Y8", Region::NorthAmerica),
    m("BR", "A2Q3Y263D00KWC", Region::NorthAmerica),
    m("IE", "A28R8C7NBKEWEA", Region::Europe),
    m("ES", "A1RKKUPIHCS9HS", Region::Europe),
    m("UK", "A1F83G8C2ARO7P", Region::Europe),
    m("FR", "A13V1IB3VIYZZH", Region::Europe),
    m("BE", "AMEN7PMS3EDWL", Region::Europe),
    m("NL", "A1805IZSGTT6HS", Region::Europe),
    m("DE", "A1PA6795UKMFR9", Region::Europe),
    m("IT", "APJ6JRA9NG5V4", Region::Europe),
    m("SE", "A2NODRKZP88ZB9", Region::Europe),
    m("ZA", "AE08WJ6YKNBMC", Region::Europe),
    m("PL", "A1C3SOZRARQ6R3", Region::Europe),
    m("EG", "ARBP9OOSHTCHU", Region::Europe),
    m("TR", "A33AVAJ2PDY3EV", Region::Europe),
    m("SA", "A17E79C6D8DWNP", Region::Europe),
    m("AE", "A2VIGQ35RCS4UG", Region::Europe),
    m("IN", "A21TJRUUN4KGV", Region::Europe),
    m("SG", "A19VAU5U5O7RUS", Region::FarEast),
    m("AU", "A39IBJ37TRP1C6", Region::FarEast),
    m("JP", "A1VC38T7YXB528", Region::FarEast),
];

impl Marketplace {
    /// Looks a marketplace up by country code (`GB` is accepted for `UK`), case-insensitively.
    pub fn by_country(code: &str) -> Option<Marketplace> {
        let code = if code.eq_ignore_ascii_case("GB") {
            "UK"
        } else {
            code
        };
        MARKETPLACES
            .iter()
            .copied()
            .find(|m| m.country_code.eq_ignore_ascii_case(code))
    }

    /// Looks a marketplace up by the sales channel reports print for it (`Amazon.de`,
    /// `Amazon.co.uk`): the marketplace's domain as in Amazon's Marketplace IDs table
    /// (https://developer-docs.amazon.com/sp-api/docs/marketplace-ids, "www.amazon.de"), with or
    /// without `www.`, case-insensitively. `Non-Amazon` and unknown names give `None`.
    pub fn by_sales_channel(name: &str) -> Option<Marketplace> {
        const DOMAINS: [(&str, &str); 23] = [
            ("amazon.ca", "CA"),
            ("amazon.com", "US"),
            ("amazon.com.mx", "MX"),
            ("amazon.com.br", "BR"),
            ("amazon.ie", "IE"),
            ("amazon.es", "ES"),
            ("amazon.co.uk", "UK"),
            ("amazon.fr", "FR"),
            ("amazon.com.be", "BE"),
            ("amazon.nl", "NL"),
            ("amazon.de", "DE"),
            ("amazon.it", "IT"),
            ("amazon.se", "SE"),
            ("amazon.co.za", "ZA"),
            ("amazon.pl", "PL"),
            ("amazon.eg", "EG"),
            ("amazon.com.tr", "TR"),
            ("amazon.sa", "SA"),
            ("amazon.ae", "AE"),
            ("amazon.in", "IN"),
            ("amazon.sg", "SG"),
            ("amazon.com.au", "AU"),
            ("amazon.co.jp", "JP"),
        ];
        let name = name.trim().to_ascii_lowercase();
        let name = name.strip_prefix("www.").unwrap_or(&name);
        DOMAINS
            .iter()
            .find(|(domain, _)| *domain == name)
            .and_then(|(_, country)| Marketplace::by_country(country))
    }

    /// Looks a marketplace up by its id.
    pub fn by_id(id: &str) -> Option<Marketplace> {
        MARKETPLACES.iter().copied().find(|m| m.id == id)
    }

    /// Encoding to assume for a report document that declares no charset and is not UTF-8.
    pub fn fallback_report_encoding(self) -> &'static encoding_rs::Encoding {
        if self.country_code == "JP" {
            encoding_rs::SHIFT_JIS
        } else {
            encoding_rs::WINDOWS_1252
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sales_channels_name_their_marketplace() {
        assert_eq!(
            Marketplace::by_sales_channel("Amazon.de").map(|m| m.id),
            Some("A1PA6795UKMFR9")
        );
        assert_eq!(
            Marketplace::by_sales_channel("www.amazon.co.uk").map(|m| m.id),
            Some("A1F83G8C2ARO7P")
        );
        assert_eq!(
            Marketplace::by_sales_channel("Amazon.com").map(|m| m.id),
            Some("ATVPDKIKX0DER")
        );
        assert_eq!(Marketplace::by_sales_channel("Non-Amazon"), None);
    }

    #[test]
    fn marketplace_table_is_complete_and_consistent() {
        assert_eq!(MARKETPLACES.len(), 23);
        for m in MARKETPLACES {
            assert_eq!(Marketplace::by_id(m.id), Some(*m));
            assert_eq!(Marketplace::by_country(m.country_code), Some(*m));
        }
        assert_eq!(Marketplace::by_country("gb").unwrap().id, "A1F83G8C2ARO7P");
        assert_eq!(
            Marketplace::by_country("DE").unwrap().region,
            Region::Europe
        );
        assert_eq!(
            Marketplace::by_country("JP").unwrap().region,
            Region::FarEast
        );
        assert_eq!(
            Marketplace::by_id("ATVPDKIKX0DER").unwrap().country_code,
            "US"
        );
    }

    #[test]
    fn each_region_has_a_production_and_a_sandbox_host() {
        for r in [Region::NorthAmerica, Region::Europe, Region::FarEast] {
            let prod = r.endpoint();
            assert!(prod.starts_with("https://sellingpartnerapi-"));
            assert_eq!(
                r.sandbox_endpoint(),
                prod.replace("https://", "https://sandbox.")
            );
        }
    }
}
