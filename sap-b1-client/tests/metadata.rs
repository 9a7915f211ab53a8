//! Every property name we send must exist in SAP's real `$metadata` for that type (v4 and v3),
//! and the entity sets we address must exist with the type we expect.

use std::collections::BTreeSet;

use sap_b1_client::entities::*;

const V4: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/reference/sap-b1/sl-metadata-v4-odata4-fp22xx-customer.xml"
));
const V3: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/reference/sap-b1/sl-metadata-v3-odata3-sap-sdk-2019.xml"
));

/// Property and navigation-property names of `<EntityType|ComplexType Name="type">`.
fn properties(xml: &str, type_name: &str) -> BTreeSet<String> {
    let mut found = None;
    for kind in ["EntityType", "ComplexType"] {
        let open = format!("<{kind} Name=\"{type_name}\"");
        if let Some(start) = xml.find(&open) {
            let end = xml[start..]
                .find(&format!("</{kind}>"))
                .expect("closed type")
                + start;
            found = Some(&xml[start..end]);
        }
    }
    let block = found.unwrap_or_else(|| panic!("type {type_name} not in metadata"));
    let mut names = BTreeSet::new();
    for tag in ["<Property ", "<NavigationProperty "] {
        for (i, _) in block.match_indices(tag) {
            let rest = &block[i..];
            let name = rest
                .split("Name=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap();
            names.insert(name.to_string());
        }
    }
    names
}

/// Type of `<EntitySet EntityType="SAPB1.X" Name="set" ...>` (attributes in any order).
fn entity_set_type(xml: &str, set: &str) -> String {
    let name = format!("Name=\"{set}\"");
    xml.match_indices("<EntitySet ")
        .map(|(i, _)| &xml[i..i + xml[i..].find('>').unwrap()])
        .find(|tag| tag.contains(&name))
        .and_then(|tag| tag.split("EntityType=\"").nth(1))
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("entity set {set} missing"))
        .trim_start_matches("SAPB1.")
        .to_string()
}

fn check(type_name: &str, fields: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    for (label, xml) in [("v4", V4), ("v3", V3)] {
        let known = properties(xml, type_name);
        for f in fields {
            if !known.contains(*f) {
                problems.push(format!("{label}: {type_name}.{f} is not in $metadata"));
            }
        }
    }
    problems
}

#[test]
fn every_field_we_send_exists_in_the_real_metadata() {
    let types: &[(&str, &[&str])] = &[
        (BusinessPartner::SAP_TYPE, BusinessPartner::FIELDS),
        (Item::SAP_TYPE, Item::FIELDS),
        (ItemPrice::SAP_TYPE, ItemPrice::FIELDS),
        (ItemWarehouseInfo::SAP_TYPE, ItemWarehouseInfo::FIELDS),
        (PriceList::SAP_TYPE, PriceList::FIELDS),
        (Warehouse::SAP_TYPE, Warehouse::FIELDS),
        (StockTransfer::SAP_TYPE, StockTransfer::FIELDS),
        (StockTransferLine::SAP_TYPE, StockTransferLine::FIELDS),
        (Document::SAP_TYPE, Document::FIELDS),
        (DocumentLine::SAP_TYPE, DocumentLine::FIELDS),
        (
            DocumentAdditionalExpense::SAP_TYPE,
            DocumentAdditionalExpense::FIELDS,
        ),
        (IncomingPayment::SAP_TYPE, IncomingPayment::FIELDS),
        (PaymentInvoice::SAP_TYPE, PaymentInvoice::FIELDS),
        (JournalEntry::SAP_TYPE, JournalEntry::FIELDS),
        (JournalEntryLine::SAP_TYPE, JournalEntryLine::FIELDS),
        (ChartOfAccount::SAP_TYPE, ChartOfAccount::FIELDS),
        (AdminInfo::SAP_TYPE, AdminInfo::FIELDS),
        (Currency::SAP_TYPE, Currency::FIELDS),
        (UserTableMD::SAP_TYPE, UserTableMD::FIELDS),
        (UserFieldMD::SAP_TYPE, UserFieldMD::FIELDS),
    ];
    let problems: Vec<String> = types.iter().flat_map(|(t, f)| check(t, f)).collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn fields_constant_matches_what_serde_writes() {
    // A fully populated record serialises exactly the FIELDS names (plus extras), so the list
    // the metadata test checks is the list we really send.
    let mut object = serde_json::Map::new();
    for f in Warehouse::FIELDS {
        let v = match *f {
            "Nettable" | "DropShip" => serde_json::json!("tYES"),
            "BusinessPlaceID" => serde_json::json!(1),
            _ => serde_json::json!("x"),
        };
        object.insert(f.to_string(), v);
    }
    object.insert("U_Zone".into(), serde_json::json!("north"));
    let parsed: Warehouse = serde_json::from_value(object.clone().into()).unwrap();
    assert_eq!(parsed.udf("U_Zone"), Some(&serde_json::json!("north")));
    let written = serde_json::to_value(&parsed).unwrap();
    assert_eq!(written, serde_json::Value::Object(object));
}

#[test]
fn entity_sets_we_address_have_the_expected_types() {
    let sets = [
        (BusinessPartner::ENTITY_SET, BusinessPartner::SAP_TYPE),
        (Item::ENTITY_SET, Item::SAP_TYPE),
        (PriceList::ENTITY_SET, PriceList::SAP_TYPE),
        (Warehouse::ENTITY_SET, Warehouse::SAP_TYPE),
        ("Invoices", Document::SAP_TYPE),
        ("CreditNotes", Document::SAP_TYPE),
        (IncomingPayment::ENTITY_SET, IncomingPayment::SAP_TYPE),
        (JournalEntry::ENTITY_SET, JournalEntry::SAP_TYPE),
        (ChartOfAccount::ENTITY_SET, ChartOfAccount::SAP_TYPE),
        (Currency::ENTITY_SET, Currency::SAP_TYPE),
    ];
    for xml in [V4, V3] {
        for (set, ty) in sets {
            assert_eq!(entity_set_type(xml, set), ty, "{set}");
        }
    }
}

#[test]
fn an_invoice_we_would_post_uses_only_known_names() {
    // The JSON of a typical invoice (header, lines, freight), walked recursively.
    let invoice = Document {
        card_code: Some("C20000".into()),
        doc_date: SapDate::parse("2024-05-01"),
        num_at_card: Some("114-1234567-1234567".into()),
        doc_currency: Some("EUR".into()),
        document_lines: Some(vec![DocumentLine {
            item_code: Some("SKU-1".into()),
            quantity: Some(2.into()),
            unit_price: Some("19.99".parse().unwrap()),
            tax_code: Some("VAT19".into()),
            warehouse_code: Some("01".into()),
            ..Default::default()
        }]),
        document_additional_expenses: Some(vec![DocumentAdditionalExpense {
            expense_code: Some(1),
            line_total: Some("4.99".parse().unwrap()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let json = serde_json::to_value(&invoice).unwrap();
    let header = properties(V4, "Document");
    let lines = properties(V4, "DocumentLine");
    let expenses = properties(V4, "DocumentAdditionalExpense");
    for (k, v) in json.as_object().unwrap() {
        assert!(header.contains(k), "Document.{k}");
        let inner = match k.as_str() {
            "DocumentLines" => &lines,
            "DocumentAdditionalExpenses" => &expenses,
            _ => continue,
        };
        for row in v.as_array().unwrap() {
            for name in row.as_object().unwrap().keys() {
                assert!(inner.contains(name), "{k}.{name}");
            }
        }
    }
    // The exact body we send: None fields omitted, money as exact decimal strings.
    assert_eq!(
        json,
        serde_json::json!({
            "CardCode": "C20000",
            "DocDate": "2024-05-01",
            "NumAtCard": "114-1234567-1234567",
            "DocCurrency": "EUR",
            "DocumentLines": [{
                "ItemCode": "SKU-1", "Quantity": "2", "UnitPrice": "19.99",
                "TaxCode": "VAT19", "WarehouseCode": "01"
            }],
            "DocumentAdditionalExpenses": [{"ExpenseCode": 1, "LineTotal": "4.99"}]
        })
    );
}
