//! Typed Service Layer entities. Every field is optional (SAP omits or nulls freely, and
//! `$select` trims), and every struct keeps UDFs (`U_*`) and unknown properties in `extra`.
//!
//! Each struct's JSON names are listed in its `FIELDS` constant; a test checks every one of them
//! against SAP's real `$metadata` (v3 and v4) so we never send a property SAP does not know.

mod accounting;
mod business_partners;
mod company;
mod documents;
mod inventory;
mod items;
mod payments;
mod user_tables;
mod values;

pub use accounting::{AccountType, ChartOfAccount, JournalEntry, JournalEntryLine};
pub use business_partners::{BusinessPartner, CardType};
pub use company::{AdminInfo, Currency};
pub use documents::{
    CancelStatus, DocEntry, Document, DocumentAdditionalExpense, DocumentLine, DocumentStatus,
    DocumentType,
};
pub use inventory::{PriceList, StockTransfer, StockTransferLine, Warehouse};
pub use items::{Item, ItemPrice, ItemWarehouseInfo};
pub use payments::{IncomingPayment, PaymentInvoice, PaymentInvoiceType, ReceiptType};
pub use user_tables::{UserFieldMD, UserTableMD, UserTableRow};
pub use values::{SapDate, SapTime, YesNo};

/// A top-level entity type with a default entity set.
pub trait Entity: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// Default entity set name (`Items`, `BusinessPartners`, ...).
    const ENTITY_SET: &'static str;
}

/// Define an entity or complex type: all fields `Option`, explicit SAP names, flattened extras.
macro_rules! sap_type {
    (
        $(#[$meta:meta])*
        pub struct $name:ident as $sap_type:literal {
            $( $(#[$fmeta:meta])* $sap:literal => $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(rename = $sap, default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
            /// UDFs (`U_*`), OData annotations and properties this crate does not model.
            #[serde(flatten)]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }

        impl $name {
            /// Name of the type in SAP's `$metadata`.
            pub const SAP_TYPE: &'static str = $sap_type;
            /// The JSON property names this struct reads and writes.
            pub const FIELDS: &'static [&'static str] = &[$($sap),*];

            /// The `@odata.etag` SAP sent with this record (v2), for `If-Match`.
            pub fn etag(&self) -> Option<&str> {
                self.extra.get("@odata.etag").and_then(serde_json::Value::as_str)
            }

            /// A user-defined field (`U_...`) by name.
            pub fn udf(&self, name: &str) -> Option<&serde_json::Value> {
                self.extra.get(name)
            }
        }
    };
}

/// Define a SAP enumeration carried by name, with an `Unknown` arm for values added later.
macro_rules! sap_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this crate does not know (newer SAP release); kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The name SAP uses in JSON.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )*
                    $name::Unknown(s) => s,
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(match s.as_str() {
                    $( $wire => $name::$variant, )*
                    _ => $name::Unknown(s),
                })
            }
        }

        impl From<$name> for crate::query::Literal {
            fn from(v: $name) -> Self {
                crate::query::Literal::String(v.as_str().to_string())
            }
        }
    };
}

pub(crate) use {sap_enum, sap_type};
