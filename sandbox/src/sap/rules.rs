//! Company-wide rules SAP applies to every object it adds, before the object's own checks:
//! posting periods and branches. Called by `entities::create` for every POST (and by the
//! cancellation of a document).
//!
//! Sources (tags as in `../shared/reference/notes/sap-b1.md`; PRAC-n as in the fidelity review):
//! - Posting periods: the real `$metadata` (M4) `FinancePeriod` {AbsoluteEntry, PeriodCode,
//!   PostingDateFrom, PostingDateTo, …, PeriodStatus: `PeriodStatusEnum`} with members
//!   `ltUnlocked`, `ltUnlockedExceptSales`, `ltPeriodClosing`, `ltLocked`, served through
//!   `CompanyService_GetFinancePeriods` / `CompanyService_UpdateFinancePeriod`. A posting dated in a
//!   locked period is refused with "Posting period locked; specify an alternative date"
//!   (PRAC-2395902923, PRAC-2400644648, which match that exact Service Layer text); practitioner
//!   code files the refusal under code `-4013` (PRAC-68550147568, PRAC-71399313808).
//! - Branches: M4 `AdminInfo.EnableBranches` (`BoYesNoEnum`); documents carry
//!   `BPL_IDAssignedToInvoice`, payments `BPLID`, journal entry lines `BPLID` (M4), each naming a
//!   `BusinessPlaces` entry (`BPLID`, `Disabled`). Many public integrations set them for
//!   multi-branch companies (review F10).
//!
//! INVENTED (no SAP text found; also in `sandbox/README.md`): the wording and codes of the
//! branch refusals and of a date outside every period; `ltPeriodClosing` lets the sandbox's
//! single (superuser) user post; `ltUnlockedExceptSales` refuses A/R documents only.

use serde_json::{Map, Value};

use super::accounts::{is_yes, s};
use super::company::admin_info;
use super::schema::{SapProfile, Scope};
use super::store::{Entity, Key, SapDb, UndoLog};
use super::validation::normalize;
use super::wire::{SapError, SapResponse, Version, render};
use crate::Sandbox;

/// The internal set of posting periods (`FinancePeriod` entities keyed by `AbsoluteEntry`).
pub const PERIODS_SET: &str = "_FinancePeriods";

/// The posting date SAP checks for a new entity of `set` (`DocDate`, or `ReferenceDate` for a
/// journal entry), defaulting to `today` as SAP does when the body has none.
pub fn posting_date<'a>(set: &str, e: &'a Entity, today: &'a str) -> &'a str {
    let prop = if set == "JournalEntries" {
        "ReferenceDate"
    } else {
        "DocDate"
    };
    s(e, prop).unwrap_or(today)
}

/// Checks company-wide rules for a new entity of set `set` posted on `today` (the server's
/// date, used when the body carries no posting date).
pub fn check_posting(db: &SapDb, set: &str, e: &Entity, today: &str) -> Result<(), SapError> {
    if !matches!(
        set,
        "Invoices"
            | "CreditNotes"
            | "IncomingPayments"
            | "VendorPayments"
            | "JournalEntries"
            | "InventoryGenEntries"
            | "InventoryGenExits"
            | "StockTransfers"
    ) {
        return Ok(());
    }
    check_period(db, set, posting_date(set, e, today))?;
    if branches_enabled(db) {
        check_branches(db, set, e)?;
    }
    Ok(())
}

/// The posting period rule for a posting of `set` dated `date` (`YYYY-MM-DD`). A company with
/// no periods recorded (older sandbox states) is not checked.
pub fn check_period(db: &SapDb, set: &str, date: &str) -> Result<(), SapError> {
    if db.count(PERIODS_SET) == 0 {
        return Ok(());
    }
    let period = db.masters(PERIODS_SET).map(|(_, p)| p).find(|p| {
        let from = s(p, "PostingDateFrom").unwrap_or("");
        let to = s(p, "PostingDateTo").unwrap_or("");
        from <= date && date <= to
    });
    let Some(period) = period else {
        // INVENTED: code and wording for a date no period covers ([?] B1's own message reads
        // "Date deviates from permissible range").
        return Err(SapError::rule(format!(
            "Date deviates from permissible range [{date}]"
        )));
    };
    let sales = matches!(set, "Invoices" | "CreditNotes");
    match s(period, "PeriodStatus") {
        Some("ltLocked") => Err(period_locked()),
        // INVENTED: "unlocked except sales" refuses A/R documents, lets payments and manual
        // journal entries through.
        Some("ltUnlockedExceptSales") if sales => Err(period_locked()),
        _ => Ok(()),
    }
}

fn period_locked() -> SapError {
    SapError::new(
        400,
        "-4013",
        "Posting period locked; specify an alternative date",
    )
}

/// Whether the company works with branches (`AdminInfo.EnableBranches`).
pub fn branches_enabled(db: &SapDb) -> bool {
    admin_info(db).is_some_and(|a| is_yes(a, "EnableBranches"))
}

fn check_branch(db: &SapDb, prop: &str, id: Option<i64>) -> Result<(), SapError> {
    // INVENTED: the wording and code of both branch refusals.
    let Some(id) = id else {
        return Err(SapError::rule(format!("Specify a branch ({prop})")));
    };
    match db.master("BusinessPlaces", &Key::Int(id)) {
        Some(b) if !is_yes(b, "Disabled") => Ok(()),
        Some(_) => Err(SapError::rule(format!("Branch {id} is inactive ({prop})"))),
        None => Err(SapError::not_found(400)),
    }
}

fn check_branches(db: &SapDb, set: &str, e: &Entity) -> Result<(), SapError> {
    let int = |o: &Entity, k: &str| o.get(k).and_then(Value::as_i64);
    match set {
        "Invoices" | "CreditNotes" => check_branch(
            db,
            "BPL_IDAssignedToInvoice",
            int(e, "BPL_IDAssignedToInvoice"),
        ),
        "IncomingPayments" | "VendorPayments" => check_branch(db, "BPLID", int(e, "BPLID")),
        "JournalEntries" => {
            let lines = e.get("JournalEntryLines").and_then(Value::as_array);
            for l in lines.into_iter().flatten().filter_map(Value::as_object) {
                check_branch(db, "BPLID", int(l, "BPLID"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The company-service calls on posting periods (M4 actions, M3 POST function imports):
/// `POST CompanyService_GetFinancePeriods {"PeriodCategoryParams": {...}}` → the periods;
/// `POST CompanyService_UpdateFinancePeriod {"FinancePeriod": {...}}` → 204 (an existing period
/// only; `PeriodStatus` is how a period is locked). `None` for other paths.
///
/// INVENTED: the sandbox has one period category, so `PeriodCategoryParams` is not read.
pub fn route_service(
    db: &mut SapDb,
    root: &str,
    version: Version,
    method: &str,
    rest: &str,
    body: &[u8],
    undo: &mut UndoLog,
) -> Result<Option<SapResponse>, SapError> {
    if method != "POST" {
        return Ok(None);
    }
    match rest {
        "CompanyService_GetFinancePeriods" => {
            let value: Vec<Value> = db
                .masters(PERIODS_SET)
                .map(|(_, p)| Value::Object(render("FinancePeriod", p, version)))
                .collect();
            let ctx = match version {
                Version::V1 => (
                    "odata.metadata",
                    format!("{root}/$metadata#SAPB1.FinancePeriod"),
                ),
                Version::V2 => (
                    "@odata.context",
                    format!("{root}/$metadata#Collection(SAPB1.FinancePeriod)"),
                ),
            };
            let mut out = Map::new();
            out.insert(ctx.0.into(), Value::from(ctx.1));
            out.insert("value".into(), Value::Array(value));
            Ok(Some(SapResponse::json(200, Value::Object(out))))
        }
        "CompanyService_UpdateFinancePeriod" => {
            let body: Value = serde_json::from_slice(body)
                .map_err(|_| SapError::malformed("Invalid JSON in the request body"))?;
            let period = body
                .get("FinancePeriod")
                .and_then(Value::as_object)
                .ok_or_else(|| SapError::malformed("Parameter 'FinancePeriod' is missing"))?;
            let scope = Scope {
                profile: SapProfile::Fp22xx,
                db,
            };
            let changes = normalize(&scope, "FinancePeriod", period)?;
            let key = Key::Int(
                changes
                    .get("AbsoluteEntry")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| SapError::not_found(400))?,
            );
            let mut stored = db
                .master(PERIODS_SET, &key)
                .cloned()
                .ok_or_else(|| SapError::not_found(400))?;
            stored.extend(changes);
            db.put(PERIODS_SET, key, stored, undo);
            Ok(Some(SapResponse::no_content()))
        }
        _ => Ok(None),
    }
}

impl Sandbox {
    /// Records (or replaces) a posting period: a `FinancePeriod` entity with `AbsoluteEntry`,
    /// `PeriodCode`, `PostingDateFrom`, `PostingDateTo` (`YYYY-MM-DD`) and `PeriodStatus`
    /// (`ltUnlocked`, `ltUnlockedExceptSales`, `ltPeriodClosing`, `ltLocked`). Once any period
    /// exists, every document, payment and journal entry must fall into an open one.
    ///
    /// # Panics
    /// If `period` is not a `FinancePeriod` SAP would accept (unknown property, bad date or
    /// status).
    pub fn sap_set_finance_period(&self, period: Value) {
        let mut db = self.shared.sap.db.lock().expect("db");
        let body = period.as_object().cloned().unwrap_or_default();
        let scope = Scope {
            profile: SapProfile::Fp22xx,
            db: &db,
        };
        let mut e = normalize(&scope, "FinancePeriod", &body)
            .unwrap_or_else(|err| panic!("not a FinancePeriod: {}", err.message));
        let key = e
            .get("AbsoluteEntry")
            .and_then(Value::as_i64)
            .unwrap_or(db.count(PERIODS_SET) as i64 + 1);
        e.insert("AbsoluteEntry".into(), Value::from(key));
        db.put(PERIODS_SET, Key::Int(key), e, &mut UndoLog::default());
    }

    /// Turns branches on or off in the company's `AdminInfo` (`EnableBranches`), keeping its
    /// other settings.
    pub fn sap_enable_branches(&self, enabled: bool) {
        let mut db = self.shared.sap.db.lock().expect("db");
        let mut info = admin_info(&db).cloned().unwrap_or_default();
        let flag = if enabled { "tYES" } else { "tNO" };
        info.insert("EnableBranches".into(), Value::from(flag));
        super::company::set_admin_info(&mut db, info, &mut UndoLog::default());
    }
}
