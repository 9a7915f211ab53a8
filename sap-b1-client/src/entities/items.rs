//! `Items` (type `Item`, key `ItemCode`) with prices and per-warehouse stock.

use rust_decimal::Decimal;

use super::{Entity, SapDate, SapTime, YesNo, sap_type};

sap_type! {
    /// An item master record.
    pub struct Item as "Item" {
        /// Item code / SKU (key).
        "ItemCode" => item_code: String,
        /// Description.
        "ItemName" => item_name: String,
        /// Foreign-language description.
        "ForeignName" => foreign_name: String,
        /// Item group.
        "ItemsGroupCode" => items_group_code: i32,
        /// Main bar code.
        "BarCode" => bar_code: String,
        /// Stock-managed item.
        "InventoryItem" => inventory_item: YesNo,
        /// Sellable item.
        "SalesItem" => sales_item: YesNo,
        /// Purchasable item.
        "PurchaseItem" => purchase_item: YesNo,
        /// Active flag.
        "Valid" => valid: YesNo,
        /// Active from (with `Valid`: active only from this day).
        "ValidFrom" => valid_from: SapDate,
        /// Active to (with `Valid`: active only up to this day).
        "ValidTo" => valid_to: SapDate,
        /// Inactive flag.
        "Frozen" => frozen: YesNo,
        /// Inactive from (with `Frozen`: inactive only from this day).
        "FrozenFrom" => frozen_from: SapDate,
        /// Inactive to (with `Frozen`: inactive only up to this day).
        "FrozenTo" => frozen_to: SapDate,
        /// Total in stock over all warehouses.
        "QuantityOnStock" => quantity_on_stock: Decimal,
        /// Ordered from suppliers.
        "QuantityOrderedFromVendors" => quantity_ordered_from_vendors: Decimal,
        /// Committed to customers.
        "QuantityOrderedByCustomers" => quantity_ordered_by_customers: Decimal,
        /// Default warehouse.
        "DefaultWarehouse" => default_warehouse: String,
        /// Sales VAT group.
        "SalesVATGroup" => sales_vat_group: String,
        /// Batch-managed.
        "ManageBatchNumbers" => manage_batch_numbers: YesNo,
        /// Serial-managed.
        "ManageSerialNumbers" => manage_serial_numbers: YesNo,
        /// Creation date.
        "CreateDate" => create_date: SapDate,
        /// Creation time.
        "CreateTime" => create_time: SapTime,
        /// Last update date (stock movements may not change it).
        "UpdateDate" => update_date: SapDate,
        /// Last update time.
        "UpdateTime" => update_time: SapTime,
        /// Prices per price list.
        "ItemPrices" => item_prices: Vec<ItemPrice>,
        /// Stock per warehouse.
        "ItemWarehouseInfoCollection" => item_warehouse_info_collection: Vec<ItemWarehouseInfo>,
    }
}

impl Entity for Item {
    const ENTITY_SET: &'static str = "Items";
}

sap_type! {
    /// An item's price in one price list.
    pub struct ItemPrice as "ItemPrice" {
        /// Price list number.
        "PriceList" => price_list: i32,
        /// Price.
        "Price" => price: Decimal,
        /// Price currency.
        "Currency" => currency: String,
        /// Base price list.
        "BasePriceList" => base_price_list: i32,
        /// Factor against the base price list.
        "Factor" => factor: Decimal,
    }
}

sap_type! {
    /// An item's stock in one warehouse.
    pub struct ItemWarehouseInfo as "ItemWarehouseInfo" {
        /// Warehouse code.
        "WarehouseCode" => warehouse_code: String,
        /// In stock.
        "InStock" => in_stock: Decimal,
        /// Committed to customer orders.
        "Committed" => committed: Decimal,
        /// Ordered from suppliers.
        "Ordered" => ordered: Decimal,
        /// Minimum stock.
        "MinimalStock" => minimal_stock: Decimal,
        /// Maximum stock.
        "MaximalStock" => maximal_stock: Decimal,
        /// Locked for transactions.
        "Locked" => locked: YesNo,
        /// Average cost.
        "StandardAveragePrice" => standard_average_price: Decimal,
    }
}

impl ItemWarehouseInfo {
    /// `InStock - Committed`, when both are known.
    pub fn available(&self) -> Option<Decimal> {
        Some(self.in_stock? - self.committed?)
    }
}

impl Item {
    /// `UpdateDate` + `UpdateTime` as one timestamp (SAP server local time), for incremental syncs.
    pub fn updated_at(&self) -> Option<chrono::NaiveDateTime> {
        super::values::combine(self.update_date, self.update_time)
    }
}
