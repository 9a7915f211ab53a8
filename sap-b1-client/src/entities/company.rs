//! The company's settings (`AdminInfo`, read with `CompanyService_GetAdminInfo`) and its
//! `Currencies` (key `Code`).

use super::{Entity, YesNo, sap_type};

sap_type! {
    /// The company's administration settings (OADM), as `CompanyService_GetAdminInfo` answers.
    pub struct AdminInfo as "AdminInfo" {
        /// Company name.
        "CompanyName" => company_name: String,
        /// Country of the company (stands for its localisation: `US`, `GB`, `DE`, ...).
        "Country" => country: String,
        /// Local currency (SAP currency code, not necessarily ISO).
        "LocalCurrency" => local_currency: String,
        /// System (reporting) currency.
        "SystemCurrency" => system_currency: String,
        /// Branches (business places) in use: documents must name one.
        "EnableBranches" => enable_branches: YesNo,
        /// Check of the business partner's currency on documents.
        "MultiCurrencyCheck" => multi_currency_check: String,
    }
}

sap_type! {
    /// A currency of the company (OCRN). `Code` is SAP's own code (`$`, `EUR`, `Can`, ...);
    /// `InternationalDescription` is the ISO 4217 code.
    pub struct Currency as "Currency" {
        /// SAP's code (key, up to 3 characters).
        "Code" => code: String,
        /// Name.
        "Name" => name: String,
        /// ISO 4217 code.
        "InternationalDescription" => international_description: String,
    }
}

impl Entity for Currency {
    const ENTITY_SET: &'static str = "Currencies";
}
