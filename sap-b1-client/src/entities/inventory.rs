//! `PriceLists` (key `PriceListNo`) and `Warehouses` (key `WarehouseCode`).

use rust_decimal::Decimal;

use super::{Entity, SapDate, YesNo, sap_type};

sap_type! {
    /// A price list.
    pub struct PriceList as "PriceList" {
        /// Number (key).
        "PriceListNo" => price_list_no: i32,
        /// Name.
        "PriceListName" => price_list_name: String,
        /// Base price list.
        "BasePriceList" => base_price_list: i32,
        /// Factor against the base list.
        "Factor" => factor: Decimal,
        /// Prices include tax.
        "IsGrossPrice" => is_gross_price: YesNo,
        /// Active flag.
        "Active" => active: YesNo,
        /// Valid from.
        "ValidFrom" => valid_from: SapDate,
        /// Valid to.
        "ValidTo" => valid_to: SapDate,
        /// Primary currency.
        "DefaultPrimeCurrency" => default_prime_currency: String,
    }
}

impl Entity for PriceList {
    const ENTITY_SET: &'static str = "PriceLists";
}

sap_type! {
    /// A warehouse.
    pub struct Warehouse as "Warehouse" {
        /// Code (key).
        "WarehouseCode" => warehouse_code: String,
        /// Name.
        "WarehouseName" => warehouse_name: String,
        /// Counts toward available stock (MRP).
        "Nettable" => nettable: YesNo,
        /// Drop-ship warehouse.
        "DropShip" => drop_ship: YesNo,
        /// Branch (business place).
        "BusinessPlaceID" => business_place_id: i32,
        /// Country.
        "Country" => country: String,
    }
}

impl Entity for Warehouse {
    const ENTITY_SET: &'static str = "Warehouses";
}
