//! Checks that `src/sap/metadata_gen.rs` is exactly what the real v4 `$metadata` in
//! `../shared/reference/sap-b1/` gives for the entity types the sandbox serves.
//! It also checks `src/sap/metadata_v3_gen.rs`: the property names the 9.3-era v3 `$metadata`
//! declares for the same types (the `SapProfile::Sl93` profile).
//! Regenerate with `SANDBOX_REGENERATE=1 cargo test -p sandbox --test metadata_generated`.

mod common;

use std::collections::{BTreeMap, BTreeSet};

const METADATA: &str = "sap-b1/sl-metadata-v4-odata4-fp22xx-customer.xml";
const METADATA_V3: &str = "sap-b1/sl-metadata-v3-odata3-sap-sdk-2019.xml";
const GENERATED: &str = "src/sap/metadata_gen.rs";
const GENERATED_V3: &str = "src/sap/metadata_v3_gen.rs";
const ROOTS: &[&str] = &[
    "BusinessPartner",
    "Item",
    "PriceList",
    "Warehouse",
    "ChartOfAccount",
    "Document",
    "Payment",
    "JournalEntry",
    "Currency",
    "AdditionalExpense",
    "VatGroup",
    "SalesTaxCode",
    "AdminInfo",
    "BusinessPlace",
    "FinancePeriod",
    "StockTransfer",
];

struct Block {
    keys: Vec<String>,
    props: Vec<(String, String)>,
}

fn attr<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let pat = format!(" {name}=\"");
    let start = line.find(&pat)? + pat.len();
    let end = line[start..].find('"')? + start;
    Some(&line[start..end])
}

/// Enum member values of the v3 metadata (`cCustomer` = `C`), which v1 filters accept too.
fn parse_v3_values(xml: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, Vec<(String, String)>)> = None;
    for line in xml.lines() {
        let t = line.trim();
        if t.starts_with("<EnumType ") {
            current = Some((attr(t, "Name").expect("enum").to_string(), vec![]));
        } else if t.starts_with("</EnumType>") {
            if let Some((n, m)) = current.take() {
                out.insert(n, m);
            }
        } else if t.starts_with("<Member ")
            && let Some((_, m)) = current.as_mut()
            && let (Some(n), Some(v)) = (attr(t, "Name"), attr(t, "Value"))
        {
            m.push((n.to_string(), v.to_string()));
        }
    }
    out
}

fn parse(xml: &str) -> (BTreeMap<String, Block>, BTreeMap<String, Vec<String>>) {
    let mut types = BTreeMap::new();
    let mut enums = BTreeMap::new();
    let mut current: Option<(String, Block)> = None;
    let mut current_enum: Option<(String, Vec<String>)> = None;
    for line in xml.lines() {
        let t = line.trim();
        if t.starts_with("<EntityType ") || t.starts_with("<ComplexType ") {
            let name = attr(t, "Name").expect("type name").to_string();
            let block = Block {
                keys: vec![],
                props: vec![],
            };
            if t.ends_with("/>") {
                types.insert(name, block);
            } else {
                current = Some((name, block));
            }
        } else if t.starts_with("</EntityType>") || t.starts_with("</ComplexType>") {
            if let Some((n, b)) = current.take() {
                types.insert(n, b);
            }
        } else if t.starts_with("<EnumType ") {
            current_enum = Some((attr(t, "Name").expect("enum name").to_string(), vec![]));
        } else if t.starts_with("</EnumType>") {
            if let Some((n, m)) = current_enum.take() {
                enums.insert(n, m);
            }
        } else if t.starts_with("<Member ") {
            if let Some((_, m)) = current_enum.as_mut() {
                m.push(attr(t, "Name").expect("member").to_string());
            }
        } else if t.starts_with("<PropertyRef ") {
            if let Some((_, b)) = current.as_mut() {
                b.keys.push(attr(t, "Name").expect("key").to_string());
            }
        } else if t.starts_with("<Property ")
            && let Some((_, b)) = current.as_mut()
        {
            // v3 UDO annotations (`<Property Table="@2_ODOC" .../>`) have no name: not properties.
            let Some(name) = attr(t, "Name").map(str::to_string) else {
                continue;
            };
            let ty = attr(t, "Type").expect("type").to_string();
            b.props.push((name, ty));
        }
    }
    (types, enums)
}

fn kind(ty: &str, enums: &BTreeMap<String, Vec<String>>) -> (String, Option<String>) {
    if let Some(inner) = ty
        .strip_prefix("Collection(SAPB1.")
        .and_then(|s| s.strip_suffix(')'))
    {
        return (
            format!("Kind::Collection(\"{inner}\")"),
            Some(inner.to_string()),
        );
    }
    if let Some(inner) = ty.strip_prefix("Collection(") {
        return (format!("Kind::Other(\"Collection({inner}\")"), None);
    }
    match ty {
        "Edm.String" | "Edm.Guid" => ("Kind::String".into(), None),
        "Edm.Int16" | "Edm.Int32" | "Edm.Int64" | "Edm.Byte" => ("Kind::Int".into(), None),
        "Edm.Double" | "Edm.Decimal" | "Edm.Single" => ("Kind::Double".into(), None),
        "Edm.DateTimeOffset" | "Edm.Date" | "Edm.DateTime" => ("Kind::Date".into(), None),
        "Edm.TimeOfDay" | "Edm.Time" => ("Kind::Time".into(), None),
        other => match other.strip_prefix("SAPB1.") {
            Some(n) if enums.contains_key(n) => (format!("Kind::Enum(\"{n}\")"), None),
            Some(n) => (format!("Kind::Complex(\"{n}\")"), Some(n.to_string())),
            None => (format!("Kind::Other(\"{other}\")"), None),
        },
    }
}

/// The types reachable from [`ROOTS`] in a parsed `$metadata`, and the enums they use.
fn reachable(
    types: &BTreeMap<String, Block>,
    enums: &BTreeMap<String, Vec<String>>,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut todo: Vec<String> = ROOTS.iter().map(|s| s.to_string()).collect();
    let mut seen = BTreeSet::new();
    let mut used_enums = BTreeSet::new();
    while let Some(t) = todo.pop() {
        if !seen.insert(t.clone()) {
            continue;
        }
        let block = types.get(&t).unwrap_or_else(|| panic!("type {t} missing"));
        for (_, ty) in &block.props {
            let (k, nested) = kind(ty, enums);
            if let Some(n) = k
                .strip_prefix("Kind::Enum(\"")
                .and_then(|s| s.strip_suffix("\")"))
            {
                used_enums.insert(n.to_string());
            }
            if let Some(n) = nested {
                todo.push(n);
            }
        }
    }
    (seen, used_enums)
}

fn render(xml: &str, v3: &str) -> String {
    let (types, enums) = parse(xml);
    let v3_values = parse_v3_values(v3);
    let (seen, used_enums) = reachable(&types, &enums);
    let mut out = String::new();
    out.push_str(
        "// @generated by tests/metadata_generated.rs from the real Service Layer v4 $metadata\n",
    );
    out.push_str(
        "// (../shared/reference/sap-b1/sl-metadata-v4-odata4-fp22xx-customer.xml). Do not edit.\n",
    );
    out.push_str("// Customer UDFs (`U_*`) of that tenant are left out on purpose.\n\n");
    out.push_str("use super::schema::{Kind, TypeDef};\n\n");
    out.push_str("/// Entity and complex types reachable from the served entity sets.\n");
    out.push_str("pub static TYPES: &[TypeDef] = &[\n");
    for t in &seen {
        let b = &types[t];
        out.push_str(&format!(
            "    TypeDef {{\n        name: \"{t}\",\n        key: &["
        ));
        out.push_str(
            &b.keys
                .iter()
                .map(|k| format!("\"{k}\""))
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push_str("],\n        props: &[\n");
        for (name, ty) in &b.props {
            if name.starts_with("U_") {
                continue;
            }
            let (k, _) = kind(ty, &enums);
            out.push_str(&format!("            (\"{name}\", {k}),\n"));
        }
        out.push_str("        ],\n    },\n");
    }
    out.push_str("];\n\n/// Member names of the enums those types use.\n");
    out.push_str("pub static ENUMS: &[(&str, &[&str])] = &[\n");
    for e in &used_enums {
        out.push_str(&format!("    (\n        \"{e}\",\n        &[\n"));
        for m in &enums[e] {
            out.push_str(&format!("            \"{m}\",\n"));
        }
        out.push_str("        ],\n    ),\n");
    }
    out.push_str(
        "];\n\n/// v1 (OData v3) member values of those enums, from the v3 `$metadata`.\n",
    );
    out.push_str("pub static ENUM_VALUES_V1: &[(&str, &[(&str, &str)])] = &[\n");
    for e in &used_enums {
        let Some(values) = v3_values.get(e) else {
            continue;
        };
        out.push_str(&format!("    (\n        \"{e}\",\n        &[\n"));
        for (m, v) in values {
            out.push_str(&format!("            (\"{m}\", \"{v}\"),\n"));
        }
        out.push_str("        ],\n    ),\n");
    }
    out.push_str("];\n");
    out
}

/// The v3 property names of every type the v4 property sets hold (same order: by type name).
fn render_v3(xml: &str, v3: &str) -> String {
    let (types, enums) = parse(xml);
    let (seen, _) = reachable(&types, &enums);
    let (types3, _) = parse(v3);
    let mut out = String::new();
    out.push_str(
        "// @generated by tests/metadata_generated.rs from the real Service Layer v3 $metadata\n",
    );
    out.push_str(
        "// (../shared/reference/sap-b1/sl-metadata-v3-odata3-sap-sdk-2019.xml, 9.3 era). Do not edit.\n",
    );
    out.push_str("// Customer UDFs (`U_*`) are left out on purpose.\n\n");
    out.push_str(
        "/// Property names of the served types as the 9.3-era v3 `$metadata` declares them.\n",
    );
    out.push_str("pub static V3_PROPS: &[(&str, &[&str])] = &[\n");
    let mut missing = vec![];
    for t in &seen {
        let Some(b) = types3.get(t) else {
            missing.push(t.clone());
            continue;
        };
        out.push_str(&format!("    (\n        \"{t}\",\n        &[\n"));
        for (name, _) in &b.props {
            if !name.starts_with("U_") {
                out.push_str(&format!("            \"{name}\",\n"));
            }
        }
        out.push_str("        ],\n    ),\n");
    }
    out.push_str("];\n\n/// Served types the v3 `$metadata` does not declare at all.\n");
    out.push_str("pub static V3_MISSING: &[&str] = &[\n");
    for t in &missing {
        out.push_str(&format!("    \"{t}\",\n"));
    }
    out.push_str("];\n");
    out
}

#[test]
fn generated_v3_property_names_match_the_real_v3_metadata() {
    let Some(xml) = common::reference(METADATA) else {
        return;
    };
    let v3 = common::reference(METADATA_V3).expect("v3 metadata next to the v4 one");
    let expected = render_v3(&xml, &v3);
    if std::env::var_os("SANDBOX_REGENERATE").is_some() {
        std::fs::write(GENERATED_V3, &expected).expect("write generated file");
    }
    let committed = std::fs::read_to_string(GENERATED_V3).expect("read generated file");
    assert!(
        committed == expected,
        "src/sap/metadata_v3_gen.rs is stale; rerun with SANDBOX_REGENERATE=1"
    );
    let (types3, _) = parse(&v3);
    assert!(
        !types3["Document"]
            .props
            .iter()
            .any(|(n, _)| n == "PaidToDate"),
        "the 9.3-era Document has no PaidToDate"
    );
}

#[test]
fn generated_property_sets_match_the_real_metadata() {
    let Some(xml) = common::reference(METADATA) else {
        return;
    };
    let v3 = common::reference(METADATA_V3).expect("v3 metadata next to the v4 one");
    let expected = render(&xml, &v3);
    if std::env::var_os("SANDBOX_REGENERATE").is_some() {
        std::fs::write(GENERATED, &expected).expect("write generated file");
    }
    let committed = std::fs::read_to_string(GENERATED).expect("read generated file");
    assert!(
        committed == expected,
        "src/sap/metadata_gen.rs is stale; rerun with SANDBOX_REGENERATE=1"
    );
}
