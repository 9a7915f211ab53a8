//! `BusinessPartners` (type `BusinessPartner`, key `CardCode`).

use rust_decimal::Decimal;

use super::{Entity, SapDate, SapTime, YesNo, sap_enum, sap_type};

sap_enum! {
    /// SAP's `BoCardTypes`.
    pub enum CardType {
        /// `cCustomer`.
        Customer = "cCustomer",
        /// `cSupplier`.
        Supplier = "cSupplier",
        /// `cLid` (lead).
        Lead = "cLid",
    }
}

sap_type! {
    /// A customer, supplier or lead.
    pub struct BusinessPartner as "BusinessPartner" {
        /// Partner code (key).
        "CardCode" => card_code: String,
        /// Partner name.
        "CardName" => card_name: String,
        /// Customer, supplier or lead.
        "CardType" => card_type: CardType,
        /// Partner group.
        "GroupCode" => group_code: i32,
        /// Currency (`##` = all currencies).
        "Currency" => currency: String,
        /// Tax id.
        "FederalTaxID" => federal_tax_id: String,
        /// VAT group.
        "VatGroup" => vat_group: String,
        /// Price list number.
        "PriceListNum" => price_list_num: i32,
        /// Payment terms group.
        "PayTermsGrpCode" => pay_terms_grp_code: i32,
        /// Receivable control account.
        "DebitorAccount" => debitor_account: String,
        /// E-mail address.
        "EmailAddress" => email_address: String,
        /// Phone.
        "Phone1" => phone1: String,
        /// Account balance (local currency).
        "CurrentAccountBalance" => current_account_balance: Decimal,
        /// Active flag.
        "Valid" => valid: YesNo,
        /// Inactive flag.
        "Frozen" => frozen: YesNo,
        /// Creation date.
        "CreateDate" => create_date: SapDate,
        /// Creation time.
        "CreateTime" => create_time: SapTime,
        /// Last update date.
        "UpdateDate" => update_date: SapDate,
        /// Last update time (SAP filters compare it to the minute).
        "UpdateTime" => update_time: SapTime,
    }
}

impl Entity for BusinessPartner {
    const ENTITY_SET: &'static str = "BusinessPartners";
}

impl BusinessPartner {
    /// `UpdateDate` + `UpdateTime` as one timestamp (SAP server local time), for incremental syncs.
    pub fn updated_at(&self) -> Option<chrono::NaiveDateTime> {
        super::values::combine(self.update_date, self.update_time)
    }
}
