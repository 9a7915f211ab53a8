//! Lookups over the property sets generated from the real v4 `$metadata`, the 9.3-era profile
//! (property names from the real v3 `$metadata`), and the scope a request is checked in.

use super::metadata_gen::{ENUM_VALUES_V1, ENUMS, TYPES};
use super::metadata_v3_gen::{V3_MISSING, V3_PROPS};
use super::store::SapDb;
use super::udf::{self, FieldSpec};

/// Which Service Layer release the fake plays. Both serve `/b1s/v1` and `/b1s/v2`; they differ
/// in the properties the entity types declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SapProfile {
    /// 10.0 FP 22xx and later: the properties of the real v4 `$metadata` (M4).
    #[default]
    Fp22xx,
    /// 9.3 era: only the properties the real v3 `$metadata` of 2019 (M3) also declares, so
    /// `Document` has no `PaidToDate`, `PaidToDateFC`, `PaidToDateSys` (review F3). Types M3 does
    /// not declare at all keep their M4 properties.
    Sl93,
}

impl SapProfile {
    /// Whether this release declares `prop` on type `ty` (given M4 declares it).
    pub fn declares(self, ty: &str, prop: &str) -> bool {
        match self {
            SapProfile::Fp22xx => true,
            SapProfile::Sl93 => match V3_PROPS.iter().find(|(t, _)| *t == ty) {
                Some((_, props)) => props.contains(&prop),
                // Types M3 lacks entirely, and user-table types, keep their properties.
                None => V3_MISSING.contains(&ty) || !TYPES.iter().any(|t| t.name == ty),
            },
        }
    }

    /// Parses `fp22xx` / `9.3` (for `sandbox serve --sap-profile`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fp22xx" | "10.0" | "v4" => Some(SapProfile::Fp22xx),
            "9.3" | "sl93" | "v3" => Some(SapProfile::Sl93),
            _ => None,
        }
    }
}

/// What a request is checked against: the release's property sets and the company's UDFs.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The release the fake plays.
    pub profile: SapProfile,
    /// The company database (for the UDFs the running Service Layer serves).
    pub db: &'a SapDb,
}

impl Scope<'_> {
    /// The kind of a declared (non-UDF) property of `ty` in this release.
    pub fn prop_kind(&self, ty: &str, prop: &str) -> Option<Kind> {
        prop_kind(ty, prop).filter(|_| self.profile.declares(ty, prop))
    }

    /// The UDF `prop` (`U_x`) of `ty`, if the running Service Layer serves it.
    pub fn udf(&self, ty: &str, prop: &str) -> Option<FieldSpec> {
        udf::declared(self.db, ty, prop)
    }
}

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

/// Drops from a rendered entity of type `ty` the properties `profile` does not declare (a 9.3
/// server does not answer with `PaidToDate`), nested collections and complex values included.
pub fn prune(profile: SapProfile, ty: &str, e: &mut serde_json::Map<String, serde_json::Value>) {
    if profile == SapProfile::Fp22xx {
        return;
    }
    e.retain(|k, _| k.starts_with("U_") || k.contains("odata.") || profile.declares(ty, k));
    for (k, v) in e.iter_mut() {
        match (prop_kind(ty, k), v) {
            (Some(Kind::Collection(t)), serde_json::Value::Array(items)) => {
                for i in items
                    .iter_mut()
                    .filter_map(serde_json::Value::as_object_mut)
                {
                    prune(profile, t, i);
                }
            }
            (Some(Kind::Complex(t)), serde_json::Value::Object(o)) => prune(profile, t, o),
            _ => {}
        }
    }
}
