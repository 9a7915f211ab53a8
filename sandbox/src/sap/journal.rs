//! Journal entries: balanced lines on accounts that take postings, amounts in local currency
//! (`Debit`/`Credit`) with a foreign-currency twin (`FCCurrency`, `FCDebit`/`FCCredit`), tax lines
//! added for `AutoVAT` entries, and the entries SAP posts by itself (exchange-rate differences).

use rust_decimal::Decimal;
use serde_json::Value;

use super::accounts::{check_account, check_manual_account, is_yes, round2, s};
use super::company;
use super::entities::Stamp;
use super::store::{Entity, Key, SapDb, SetDef, UndoLog, set_def};
use super::tax;
use super::validation::{decimal, number};
use super::wire::SapError;

/// Checks that account `code` can take an amount in `currency`: an account whose `AcctCurrency`
/// is a single currency takes only that currency; `##` takes all (SAP blog "How does SAP Business
/// One handle Exchange Rate Differences", 2020-07-01: a G/L account is Local, Foreign or All
/// Currencies).
// INVENTED: the text and code of the refusal; SAP's wording is not quoted in our sources.
pub fn check_account_currency(db: &SapDb, code: &str, currency: &str) -> Result<(), SapError> {
    let acct_currency = db
        .master("ChartOfAccounts", &Key::Str(code.to_string()))
        .and_then(|a| s(a, "AcctCurrency"))
        .unwrap_or("##");
    if acct_currency == "##" || acct_currency == currency {
        return Ok(());
    }
    Err(SapError::rule(format!(
        "Account '{code}' is kept in currency '{acct_currency}'; a posting in '{currency}' is not allowed"
    )))
}

/// Adds a journal entry SAP posts by itself (no manual-posting checks): `lines` are
/// (account or BP code, debit LC, credit LC); BP lines carry `bp_currency` as their
/// `FCCurrency` (with no foreign amount) when it is given.
pub fn post_automatic(
    db: &mut SapDb,
    date: &str,
    memo: &str,
    (original, base_ref): (&str, i64),
    lines: &[(String, Decimal, Decimal)],
    bp_currency: Option<&str>,
    undo: &mut UndoLog,
) -> Result<i64, SapError> {
    let def = set_def("JournalEntries").ok_or_else(|| SapError::not_found(400))?;
    let mut out = Vec::with_capacity(lines.len());
    for (i, (short, d, c)) in lines.iter().enumerate() {
        let (account, is_bp) = match db.master("BusinessPartners", &Key::Str(short.clone())) {
            Some(bp) => (s(bp, "DebitorAccount").unwrap_or("1400").to_string(), true),
            None => {
                check_account(db, short)?;
                (short.clone(), false)
            }
        };
        let mut line = serde_json::json!({
            "Line_ID": i, "AccountCode": account, "ShortName": short,
            "Debit": number(*d), "Credit": number(*c), "ReferenceDate1": date,
        });
        if let (true, Some(cur)) = (is_bp, bp_currency) {
            line["FCCurrency"] = Value::from(cur);
            line["FCDebit"] = Value::from(0);
            line["FCCredit"] = Value::from(0);
        }
        out.push(line);
    }
    let (entry, num) = db.next_numbers(def, undo);
    let mut e = Entity::new();
    e.insert("JdtNum".into(), Value::from(entry));
    e.insert("Number".into(), Value::from(num));
    e.insert("ReferenceDate".into(), Value::from(date));
    e.insert("DueDate".into(), Value::from(date));
    e.insert("TaxDate".into(), Value::from(date));
    e.insert("Memo".into(), Value::from(memo));
    e.insert("OriginalJournal".into(), Value::from(original));
    e.insert("BaseReference".into(), Value::from(base_ref.to_string()));
    e.insert("JournalEntryLines".into(), Value::Array(out));
    db.put(def.name, Key::Int(entry), e, undo);
    Ok(entry)
}

/// A line's amounts in the company's currencies: sets `Debit`/`Credit` from `FCDebit`/`FCCredit`
/// at the day's rate when only the foreign amounts are sent, and checks the account's currency.
fn line_currency(
    db: &SapDb,
    l: &mut Entity,
    account: &str,
    date: &str,
    line_no: usize,
) -> Result<(), SapError> {
    let Some(local) = company::local_currency(db).map(str::to_string) else {
        return Ok(());
    };
    let currency = s(l, "FCCurrency").unwrap_or(&local).to_string();
    if currency != local {
        company::check_currency(db, &currency)?;
        // SDK JournalEntries_Lines~FCDebit: "the amount of debit in foreign currency".
        let (fd, fc) = (decimal(l.get("FCDebit")), decimal(l.get("FCCredit")));
        if decimal(l.get("Debit")).is_zero() && decimal(l.get("Credit")).is_zero() {
            let rate = company::doc_rate(db, &currency, date, Decimal::ZERO, "JDT1")?;
            l.insert("Debit".into(), number(round2(fd * rate)));
            l.insert("Credit".into(), number(round2(fc * rate)));
        }
        l.insert("FCDebit".into(), number(fd));
        l.insert("FCCredit".into(), number(fc));
    }
    check_account_currency(db, account, &currency)
        .map_err(|e| SapError::rule(format!("{} [JDT1.Account][line: {line_no}]", e.message)))
}

/// The tax line SAP adds for a line with a tax group when the entry uses automatic VAT
/// (SDK `JournalEntries~AutoVAT`: "whether or not to use automatic VAT calculation";
/// `JournalEntries_Lines~VatLine`: "the transaction line refers to tax account").
fn auto_vat_line(db: &SapDb, l: &mut Entity, date: &str) -> Result<Option<Entity>, SapError> {
    let Some((code, rate)) = tax::row_tax(db, l, "TaxGroup", "TaxCode", date)? else {
        return Ok(None);
    };
    // INVENTED: the text for a tax code without a tax account (sales tax codes post through
    // their authorities, which the sandbox does not model).
    let account = tax::tax_account(db, &code)
        .ok_or_else(|| SapError::rule(format!("Define the tax account of tax code '{code}'")))?;
    let pct = rate / Decimal::ONE_HUNDRED;
    let (d, c) = (decimal(l.get("Debit")), decimal(l.get("Credit")));
    let (td, tc) = (round2(d * pct), round2(c * pct));
    l.insert("BaseSum".into(), number(d + c));
    l.insert("TotalTax".into(), number(td + tc));
    l.insert("GrossValue".into(), number(d + c + td + tc));
    let mut t = Entity::new();
    t.insert("AccountCode".into(), Value::from(account.clone()));
    t.insert("ShortName".into(), Value::from(account));
    t.insert("Debit".into(), number(td));
    t.insert("Credit".into(), number(tc));
    t.insert("VatLine".into(), Value::from("tYES"));
    t.insert("TaxGroup".into(), Value::from(code));
    t.insert("BaseSum".into(), number(d + c));
    for k in ["FCCurrency", "FCDebit", "FCCredit"] {
        if let Some(v) = l.get(k) {
            let v = if k == "FCCurrency" {
                v.clone()
            } else {
                number(round2(decimal(Some(v)) * pct))
            };
            t.insert(k.into(), v);
        }
    }
    Ok(Some(t))
}

/// Adds a journal entry; debits must equal credits and every account must take postings.
pub fn create_journal(
    db: &mut SapDb,
    def: &'static SetDef,
    mut e: Entity,
    stamp: &Stamp,
    undo: &mut UndoLog,
) -> Result<(Key, Entity), SapError> {
    let lines = e
        .get("JournalEntryLines")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if lines.len() < 2 {
        // INVENTED: the text for a one-row journal entry; not quoted in our sources.
        return Err(SapError::rule("A journal entry needs at least two rows"));
    }
    let date = s(&e, "ReferenceDate")
        .map(|d| d.get(..10).unwrap_or(d).to_string())
        .unwrap_or_else(|| stamp.date.clone());
    let auto_vat = is_yes(&e, "AutoVAT");
    let (mut debit, mut credit) = (Decimal::ZERO, Decimal::ZERO);
    let mut out = Vec::with_capacity(lines.len());
    let mut tax_lines = Vec::new();
    for (i, l) in lines.into_iter().enumerate() {
        let mut l = l.as_object().cloned().unwrap_or_default();
        match (
            s(&l, "AccountCode").map(str::to_string),
            s(&l, "ShortName").map(str::to_string),
        ) {
            (Some(a), _) => {
                check_manual_account(db, &a, s(&e, "ReferenceDate").unwrap_or(&stamp.date))?;
                l.entry("ShortName").or_insert(Value::from(a));
            }
            (None, Some(short)) => {
                if let Some(bp) = db.master("BusinessPartners", &Key::Str(short.clone())) {
                    let control = bp
                        .get("DebitorAccount")
                        .and_then(Value::as_str)
                        .unwrap_or("1400")
                        .to_string();
                    l.insert("AccountCode".into(), Value::from(control));
                } else {
                    check_account(db, &short)?;
                    l.insert("AccountCode".into(), Value::from(short));
                }
            }
            (None, None) => return Err(SapError::not_found(400)),
        }
        let account = s(&l, "AccountCode").unwrap_or_default().to_string();
        tax::check_journal_group(db, s(&l, "TaxGroup"))?;
        line_currency(db, &mut l, &account, &date, i + 1)?;
        let d = decimal(l.get("Debit"));
        let c = decimal(l.get("Credit"));
        if d < Decimal::ZERO || c < Decimal::ZERO {
            // INVENTED: the text for a negative journal amount; not quoted in our sources.
            return Err(SapError::rule(format!(
                "Negative amounts are not allowed [JDT1.Debit][line: {}]",
                i + 1
            )));
        }
        if auto_vat && let Some(t) = auto_vat_line(db, &mut l, &date)? {
            debit += decimal(t.get("Debit"));
            credit += decimal(t.get("Credit"));
            tax_lines.push(t);
        }
        debit += d;
        credit += c;
        l.insert("Line_ID".into(), Value::from(i as i64));
        l.insert("Debit".into(), number(d));
        l.insert("Credit".into(), number(c));
        out.push(Value::Object(l));
    }
    for mut t in tax_lines {
        t.insert("Line_ID".into(), Value::from(out.len() as i64));
        out.push(Value::Object(t));
    }
    if debit != credit {
        // INVENTED: the -5002 text for an unbalanced journal entry (-5002 is SAP's generic validation code, the text is ours).
        return Err(SapError::new(
            400,
            "-5002",
            format!("Unbalanced transaction (debit {debit}, credit {credit})"),
        ));
    }
    let (entry, num) = db.next_numbers(def, undo);
    e.insert("JdtNum".into(), Value::from(entry));
    e.insert("Number".into(), Value::from(num));
    e.entry("ReferenceDate")
        .or_insert(Value::from(stamp.date.clone()));
    let rd = e.get("ReferenceDate").cloned().unwrap_or_default();
    e.entry("DueDate").or_insert(rd.clone());
    e.entry("TaxDate").or_insert(rd);
    e.insert("JournalEntryLines".into(), Value::Array(out));
    let key = Key::Int(entry);
    db.put(def.name, key.clone(), e.clone(), undo);
    Ok((key, e))
}

/// Posts a realized exchange-rate difference (local currency; positive: the customer was
/// credited more than booked, a gain) between business partner `card_code` and the company's
/// gain or loss account, for the document `origin` (its `TransTypesEnum` name and `DocEntry`).
/// SAP "creates automatic postings for the realized exchange rate differences" (SAP blog "How
/// does SAP Business One handle Exchange Rate Differences", 2020-07-01).
// INVENTED: SAP puts these lines into the originating document's own journal entry; the sandbox
// does not post documents' journal entries, so it adds a separate one (`OriginalJournal` and
// `BaseReference` naming the document) holding only the difference.
pub fn post_exchange_difference(
    db: &mut SapDb,
    date: &str,
    origin: (&str, i64),
    (card_code, fc_currency): (&str, Option<&str>),
    difference: Decimal,
    undo: &mut UndoLog,
) -> Result<(), SapError> {
    // INVENTED: the text for a company without exchange-difference accounts.
    let (gain, loss) = company::exchange_difference_accounts(db).ok_or_else(|| {
        SapError::rule(
            "Define the realized exchange rate difference accounts in G/L account determination",
        )
    })?;
    let amount = difference.abs();
    let lines = if difference > Decimal::ZERO {
        vec![
            (card_code.to_string(), amount, Decimal::ZERO),
            (gain, Decimal::ZERO, amount),
        ]
    } else {
        vec![
            (loss, amount, Decimal::ZERO),
            (card_code.to_string(), Decimal::ZERO, amount),
        ]
    };
    post_automatic(
        db,
        date,
        "Exchange rate differences",
        origin,
        &lines,
        fc_currency,
        undo,
    )?;
    Ok(())
}
