//! Lookups over the property sets generated from the real v4 `$metadata`.

use super::metadata_gen::{ENUM_VALUES_V1, ENUMS, TYPES};

/// The shape of one property as declared in `$metadata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Edm.String`.
    String,
    /// `Edm.Int32` and friends.
    Int,
    /// `Edm.Double`.
    Double,
    /// `Edm.DateTimeOffset` (v2) / `Edm.DateTime` (v1).
    Date,
    /// `Edm.TimeOfDay` (v2) / `Edm.Time` (v1).
    Time,
    /// A `SAPB1` enum, serialised by member name.
    Enum(&'static str),
    /// A single complex value.
    Complex(&'static str),
    /// A collection of a complex type.
    Collection(&'static str),
    /// Anything else, accepted as is.
    Other(&'static str),
}

/// One entity or complex type.
#[derive(Debug)]
pub struct TypeDef {
    /// Type name without namespace.
    pub name: &'static str,
    /// Key property names (entity types only).
    pub key: &'static [&'static str],
    /// Declared properties (customer UDFs excluded).
    pub props: &'static [(&'static str, Kind)],
}

/// The type definition called `name` (generated, or a user-table type from
/// [`super::user_tables`]).
pub fn type_def(name: &str) -> Option<&'static TypeDef> {
    TYPES
        .iter()
        .find(|t| t.name == name)
        .or_else(|| super::user_tables::type_def(name))
}

/// The kind of `prop` on type `ty`, if declared.
pub fn prop_kind(ty: &str, prop: &str) -> Option<Kind> {
    type_def(ty)?
        .props
        .iter()
        .find(|(n, _)| *n == prop)
        .map(|(_, k)| *k)
}

/// Whether `member` is a member of enum `name`.
pub fn enum_has(name: &str, member: &str) -> bool {
    ENUMS
        .iter()
        .find(|(n, _)| *n == name)
        .is_some_and(|(_, members)| members.contains(&member))
}

/// The member name of a v1 enum value (`BoCardTypes`, `C` -> `cCustomer`).
pub fn v1_member(name: &str, value: &str) -> Option<&'static str> {
    ENUM_VALUES_V1
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, values)| values.iter().find(|(_, v)| *v == value))
        .map(|(m, _)| *m)
}
