//! The company side of the world's SAP database: settings (`AdminInfo`), currencies and daily
//! rates, tax codes and the chart of accounts, per [`WorldKind`].
//!
//! Shapes follow the Service Layer's `$metadata` (types `AdminInfo`, `Currency`, `SalesTaxCode`,
//! `VatGroup` with `VatGroups_Lines`, `ChartOfAccount`); the stores are `crate::sap::company` and
//! the entity sets.

use chrono::{Duration, NaiveDate};
use serde_json::{Map, Value, json};

use super::{HISTORY_DAYS, World, WorldKind};
use crate::sap::company::{set_admin_info, set_rate};
use crate::sap::store::{SapDb, UndoLog};

/// An account of the chart: code, name, postable, inactive, currency (SAP code; `##` = all),
/// manual postings locked (control accounts), account type.
pub type Account = (
    &'static str,
    &'static str,
    bool,
    bool,
    &'static str,
    bool,
    &'static str,
);

/// The SAP code of ISO currency `iso` in the company of `kind`. The US company follows SAP's US
/// demo database, whose local currency code is `$`; every other code is the ISO one.
pub fn sap_currency(kind: WorldKind, iso: &str) -> String {
    match (kind, iso) {
        (WorldKind::Na, "USD") => "$".into(),
        _ => iso.into(),
    }
}

/// The clearing account for settlements in ISO currency `iso` (one per settlement currency, each
/// kept in that currency).
pub fn clearing_account(kind: WorldKind, iso: &str) -> &'static str {
    match (kind, iso) {
        (WorldKind::Na, "USD") | (WorldKind::Eu, "GBP") => "1420",
        (WorldKind::Na, "CAD") | (WorldKind::Eu, "EUR") => "1421",
        _ => "1422",
    }
}

const O: &str = "at_Other";
const R: &str = "at_Revenues";
const E: &str = "at_Expenses";

/// The chart of accounts of the company of `kind`.
pub fn accounts(kind: WorldKind) -> Vec<Account> {
    let mut v: Vec<Account> = vec![
        ("1000", "Assets", false, false, "##", false, O),
        ("1200", "Bank", true, false, "", false, O),
        ("1400", "Accounts receivable", true, false, "##", true, O),
        (
            "1425",
            "Amazon reserved balances",
            true,
            false,
            "##",
            false,
            O,
        ),
        (
            "1430",
            "Marketplace facilitator tax clearing",
            true,
            false,
            "##",
            false,
            O,
        ),
        (
            "1499",
            "Old Amazon clearing (inactive)",
            true,
            true,
            "##",
            false,
            O,
        ),
        ("2000", "Liabilities", false, false, "##", false, O),
        ("2100", "Accounts payable", true, false, "##", true, O),
        ("4000", "Sales revenue", true, false, "##", false, R),
        ("4010", "Shipping revenue", true, false, "##", false, R),
        ("4900", "Amazon reimbursements", true, false, "##", false, R),
        ("6000", "Expenses", false, false, "##", false, E),
        ("6100", "Amazon selling fees", true, false, "##", false, E),
        ("6110", "FBA fees", true, false, "##", false, E),
        (
            "6120",
            "Storage and inbound fees",
            true,
            false,
            "##",
            false,
            E,
        ),
        ("6190", "Other Amazon charges", true, false, "##", false, E),
        ("7000", "Refunds and returns", true, false, "##", false, R),
        ("8110", "Rounding differences", true, false, "##", false, E),
        (
            "8120",
            "Amazon currency conversion",
            true,
            false,
            "##",
            false,
            E,
        ),
        (
            "8100",
            "Exchange rate differences",
            true,
            false,
            "##",
            false,
            E,
        ),
    ];
    match kind {
        WorldKind::Na => v.extend([
            ("1420", "Amazon clearing USD", true, false, "$", false, O),
            ("1421", "Amazon clearing CAD", true, false, "CAD", false, O),
            ("1422", "Amazon clearing MXN", true, false, "MXN", false, O),
            ("2200", "Sales tax payable", true, false, "##", false, O),
            (
                "2210",
                "GST/HST payable (Canada)",
                true,
                false,
                "##",
                false,
                O,
            ),
            ("2220", "IVA payable (Mexico)", true, false, "##", false, O),
        ]),
        WorldKind::Eu => v.extend([
            ("1420", "Amazon clearing GBP", true, false, "GBP", false, O),
            ("1421", "Amazon clearing EUR", true, false, "EUR", false, O),
            ("1500", "Input VAT", true, false, "##", false, O),
            ("2200", "Output VAT", true, false, "##", false, O),
        ]),
    }
    v.sort_by_key(|a| a.0);
    v
}

fn currencies(kind: WorldKind) -> &'static [(&'static str, &'static str, &'static str)] {
    match kind {
        WorldKind::Na => &[
            ("$", "USD", "US Dollar"),
            ("CAD", "CAD", "Canadian Dollar"),
            ("MXN", "MXN", "Mexican Peso"),
            ("EUR", "EUR", "Euro"),
            ("GBP", "GBP", "British Pound"),
        ],
        WorldKind::Eu => &[
            ("GBP", "GBP", "British Pound"),
            ("EUR", "EUR", "Euro"),
            ("USD", "USD", "US Dollar"),
        ],
    }
}

/// US `SalesTaxCodes`: (code, name, rate). `MPF` is the code of lines whose tax Amazon collects as
/// marketplace facilitator (the seller's invoice carries none); `EX` no-tax states; the state
/// codes serve the seller's own (non-Amazon) sales.
// INVENTED: the codes and names (SAP's US localisation builds codes from jurisdictions the
// company defines itself; there is no standard list).
pub const SALES_TAX_CODES: &[(&str, &str, &str)] = &[
    ("EX", "Exempt / no sales tax", "0"),
    ("MPF", "Marketplace facilitator collects (0 %)", "0"),
    ("COHR", "Colorado home-rule city, seller collects", "3.86"),
    ("CA", "California state", "7.25"),
    ("NY", "New York state", "4"),
    ("TX", "Texas state", "6.25"),
    ("WA", "Washington state", "6.5"),
    ("GST5", "Canada GST 5 %", "5"),
    ("HST13", "Canada HST Ontario 13 %", "13"),
    ("IVA16", "Mexico IVA 16 %", "16"),
    ("IVA0", "Mexico IVA 0 %", "0"),
];

/// UK `VatGroups`: (code, name, category, tax account, [(effective from, rate)], reverse charge).
/// Rates from HMRC: standard 17.5 % until 3 January 2011 and 20 % since 4 January 2011, reduced
/// 5 %, zero 0 %. `OS` holds the EU sales Amazon makes as deemed supplier (outside the scope of
/// UK VAT); `I1` the 20 % VAT on Amazon's fees since 1 August 2024, `IRC` the reverse charge on
/// them before.
// INVENTED: the codes (SAP UK demo databases use similar O1/I1 names).
pub type VatGroupSeed = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    bool,
);

/// The UK company's VAT groups.
pub const VAT_GROUPS: &[VatGroupSeed] = &[
    (
        "O1",
        "Standard rated sales",
        "bovcOutputTax",
        "2200",
        &[("2010-01-01", "17.5"), ("2011-01-04", "20")],
        false,
    ),
    (
        "O5",
        "Reduced rate sales 5 %",
        "bovcOutputTax",
        "2200",
        &[("1997-09-01", "5")],
        false,
    ),
    (
        "O0",
        "Zero rated sales",
        "bovcOutputTax",
        "2200",
        &[("1973-04-01", "0")],
        false,
    ),
    (
        "OX",
        "Exempt sales",
        "bovcOutputTax",
        "2200",
        &[("1973-04-01", "0")],
        false,
    ),
    (
        "OS",
        "Outside the scope: EU sales, Amazon deemed supplier",
        "bovcOutputTax",
        "2200",
        &[("2021-07-01", "0")],
        false,
    ),
    (
        "I1",
        "Standard rated purchases",
        "bovcInputTax",
        "1500",
        &[("2010-01-01", "17.5"), ("2011-01-04", "20")],
        false,
    ),
    (
        "I0",
        "Zero rated purchases",
        "bovcInputTax",
        "1500",
        &[("1973-04-01", "0")],
        false,
    ),
    (
        "IRC",
        "Reverse charge: services from abroad",
        "bovcInputTax",
        "1500",
        &[("2011-01-04", "20")],
        true,
    ),
];

/// Seeds settings, currencies, daily rates, tax codes and the chart of accounts of `world`'s
/// company; `add` creates entities through the Service Layer's create path.
pub(super) fn seed(world: &World, db: &mut SapDb, add: &mut dyn FnMut(&mut SapDb, &str, Value)) {
    let kind = world.kind;
    let local = sap_currency(kind, kind.local_currency());
    let (name, country) = match kind {
        WorldKind::Na => ("Sandbox Trading Inc.", "US"),
        WorldKind::Eu => ("Sandbox Trading Ltd", "GB"),
    };
    let info: Map<String, Value> = json!({
        "CompanyName": name,
        "Country": country,
        "LocalCurrency": local,
        "SystemCurrency": local,
        // G/L account determination for realized exchange differences on A/R payments (the
        // real AdminInfo/PeriodCategory property names), so foreign-currency payments post.
        "ARGainRealizedExchngeDif": "8100",
        "ARLossRealizedExchangeDi": "8100",
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    set_admin_info(db, info, &mut UndoLog::default());
    for (code, iso, name) in currencies(kind) {
        add(
            db,
            "Currencies",
            json!({"Code": code, "Name": name, "InternationalDescription": iso, "DocumentsCode": iso, "Decimals": "cd2Digits"}),
        );
    }
    let first = (world.anchor - Duration::days(HISTORY_DAYS + 30)).date_naive();
    let last = (world.anchor + Duration::days(60)).date_naive();
    for iso in super::rates::foreign_currencies(kind) {
        let code = sap_currency(kind, iso);
        let mut day: NaiveDate = first;
        while day <= last {
            if let Some(r) = world.exchange_rate(iso, day) {
                let date = day.format("%Y-%m-%d").to_string();
                set_rate(db, &code, &date, r, &mut UndoLog::default());
            }
            day += Duration::days(1);
        }
    }
    for (code, name, postable, inactive, currency, locked, acct_type) in accounts(kind) {
        add(
            db,
            "ChartOfAccounts",
            json!({
                "Code": code, "Name": name,
                "ActiveAccount": yes(postable), "FrozenFor": yes(inactive),
                "AcctCurrency": currency, "LockManualTransaction": yes(locked),
                "AccountType": acct_type,
            }),
        );
    }
    match kind {
        WorldKind::Na => {
            for (code, name, rate) in SALES_TAX_CODES {
                add(
                    db,
                    "SalesTaxCodes",
                    json!({"Code": code, "Name": name, "Rate": rate_number(rate), "ValidForAR": "tYES", "ValidForAP": "tYES", "Freight": "tYES", "Inactive": "tNO"}),
                );
            }
        }
        WorldKind::Eu => {
            for (code, name, category, account, lines, reverse) in VAT_GROUPS {
                let lines: Vec<Value> = lines
                    .iter()
                    .map(|(from, rate)| json!({"Effectivefrom": from, "Rate": rate_number(rate)}))
                    .collect();
                add(
                    db,
                    "VatGroups",
                    json!({"Code": code, "Name": name, "Category": category, "TaxAccount": account, "AcquisitionReverse": yes(*reverse), "Inactive": "tNO", "VatGroups_Lines": lines}),
                );
            }
        }
    }
}

fn yes(b: bool) -> &'static str {
    if b { "tYES" } else { "tNO" }
}

/// A rate written as text in the tables above, as the JSON number SAP returns.
fn rate_number(rate: &str) -> Value {
    crate::sap::validation::number(rate.parse::<rust_decimal::Decimal>().unwrap_or_default())
}
