//! `PriceLists` (key `PriceListNo`), `Warehouses` (key `WarehouseCode`) and `StockTransfers`
//! (key `DocEntry`).

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

sap_type! {
    /// An inventory transfer between warehouses (`StockTransfers`, object 67).
    pub struct StockTransfer as "StockTransfer" {
        /// Internal key.
        "DocEntry" => doc_entry: i32,
        /// Document number.
        "DocNum" => doc_num: i32,
        /// Posting date.
        "DocDate" => doc_date: SapDate,
        /// Warehouse the units leave (default of the rows).
        "FromWarehouse" => from_warehouse: String,
        /// Warehouse the units arrive in (default of the rows).
        "ToWarehouse" => to_warehouse: String,
        /// Remarks.
        "Comments" => comments: String,
        /// Journal remark.
        "JournalMemo" => journal_memo: String,
        /// Reference 2 (free text).
        "Reference2" => reference2: String,
        /// Rows.
        "StockTransferLines" => stock_transfer_lines: Vec<StockTransferLine>,
    }
}

impl Entity for StockTransfer {
    const ENTITY_SET: &'static str = "StockTransfers";
}

sap_type! {
    /// A row of an inventory transfer.
    pub struct StockTransferLine as "StockTransferLine" {
        /// Row number.
        "LineNum" => line_num: i32,
        /// Item.
        "ItemCode" => item_code: String,
        /// Units moved.
        "Quantity" => quantity: Decimal,
        /// Warehouse the units leave.
        "FromWarehouseCode" => from_warehouse_code: String,
        /// Warehouse the units arrive in.
        "WarehouseCode" => warehouse_code: String,
    }
}
