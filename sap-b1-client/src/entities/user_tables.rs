//! User-defined tables (UDTs): their definition (`UserTablesMD`, `UserFieldsMD`) and their rows.
//!
//! SAP exposes a user table `MLC_KEYS` as the entity set `U_MLC_KEYS`, keyed by `Code` (unique: a
//! second insert of the same `Code` is refused with -2035), with `Name` and the table's `U_*`
//! fields. A new table or field is visible to the Service Layer only after it is restarted
//! (Service Layer user guide, "Limitations").

use super::{Entity, YesNo, sap_type};

sap_type! {
    /// A user table's definition (`UserTablesMD`).
    pub struct UserTableMD as "UserTablesMD" {
        /// Name without `@` (at most 19 characters).
        "TableName" => table_name: String,
        /// Description shown in the client.
        "TableDescription" => table_description: String,
        /// `bott_NoObject` for a plain table keyed by `Code`.
        "TableType" => table_type: String,
        /// Whether rows may be archived.
        "Archivable" => archivable: YesNo,
    }
}

impl Entity for UserTableMD {
    const ENTITY_SET: &'static str = "UserTablesMD";
}

sap_type! {
    /// A user-defined field's definition (`UserFieldsMD`).
    pub struct UserFieldMD as "UserFieldMD" {
        /// Field name without `U_`.
        "Name" => name: String,
        /// `db_Alpha`, `db_Memo`, `db_Numeric`, `db_Date`, `db_Float`.
        "Type" => field_type: String,
        /// Size (`db_Alpha`: at most 254).
        "Size" => size: i32,
        /// Description shown in the client.
        "Description" => description: String,
        /// The table: `@NAME` for a user table, `OINV` etc. for a system table.
        "TableName" => table_name: String,
        /// SAP's field number within the table.
        "FieldID" => field_id: i32,
    }
}

impl Entity for UserFieldMD {
    const ENTITY_SET: &'static str = "UserFieldsMD";
}

sap_type! {
    /// A row of a no-object user table (`U_<TableName>`): `Code` (the primary key, at most 50
    /// characters), `Name`, and the table's `U_*` fields in `extra`.
    pub struct UserTableRow as "UserTableRow" {
        /// Primary key.
        "Code" => code: String,
        /// Name (at most 100 characters on a no-object table).
        "Name" => name: String,
    }
}

impl Entity for UserTableRow {
    /// Rows have no default set: use [`SapClient::user_table`](crate::SapClient::user_table).
    const ENTITY_SET: &'static str = "U_";
}
