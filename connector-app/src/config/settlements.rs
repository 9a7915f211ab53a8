//! `[settlements]`: how Amazon settlements become SAP incoming payments and journal entries.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{Invalid, duration, resolve};

/// Settlement settings.
#[derive(Debug, Clone)]
pub struct SettlementsConfig {
    /// Mapping table file (TOML), relative to the config file.
    pub mapping: Option<PathBuf>,
    /// One incoming payment per settlement and customer, or one per order.
    pub receipts: ReceiptGrouping,
    /// What to do with an order the settlement pays that has no invoice in SAP.
    pub missing_invoice: MissingInvoice,
    /// Most documents in one `$batch` changeset; larger settlements are posted in parts.
    pub max_documents_per_batch: usize,
    /// How far back to list settlement reports (Amazon keeps 90 days).
    pub lookback: Duration,
    /// Whether a refund's credit note puts the units back into stock (default: no, "without
    /// quantity posting": Amazon refunds many FBA orders without a return).
    pub restock_refunds: bool,
    /// Residues up to this much per order are written off to `RoundingDifferences` (0: none).
    pub write_off: rust_decimal::Decimal,
    /// Settlement currencies (ISO) that Amazon Currency Converter for Sellers pays out in the
    /// company's own currency: their bank line is Amazon's converted amount (Finances
    /// `ConvertedTotal`), the difference from SAP's rate goes to `CurrencyConversion`.
    pub currency_converter: Vec<String>,
    /// Hold a settlement that would leave a marketplace's invoices open by the same share (a tax
    /// set-up mistake) instead of posting it (default: yes).
    pub hold_systematic_shortfall: bool,
    /// Hold the receipt of an order whose difference from its invoice is above `write_off`
    /// (its own ledger key, the rest of the settlement posts) instead of posting it and leaving the
    /// difference open or on account (`above_write_off = "hold-receipt"`, the default, or
    /// `"leave-open"`).
    pub hold_receipts: bool,
    /// Cut-over: settlements up to this one are not posted (listed as skipped).
    pub start_after: Option<StartAfter>,
    /// G/L account (as the chart shows it) that receipts of orders from before
    /// `orders.invoiced_from` are credited to: the receivable the earlier bookkeeping left.
    pub opening_receivable: Option<String>,
}

/// `settlements.start_after`: where posting starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartAfter {
    /// Settlements with this id or a lower one are skipped (Amazon numbers settlements in
    /// increasing order: the ids of the consecutive reference files grow with their periods).
    Settlement(u64),
    /// Settlements whose period ends on or before this day (UTC) are skipped.
    Date(chrono::NaiveDate),
}

impl StartAfter {
    /// Whether the settlement `id` ending at `end` comes before the cut-over (is skipped).
    pub fn skips(&self, id: &str, end: chrono::DateTime<chrono::Utc>) -> bool {
        match self {
            Self::Settlement(cut) => id.trim().parse::<u64>().is_ok_and(|n| n <= *cut),
            Self::Date(day) => end.date_naive() <= *day,
        }
    }
}

impl std::fmt::Display for StartAfter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Settlement(id) => write!(f, "settlement {id}"),
            Self::Date(day) => write!(f, "{day}"),
        }
    }
}

/// How receipts are grouped into incoming payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReceiptGrouping {
    /// One payment per settlement and customer, one line per invoice (default).
    PerSettlement,
    /// One payment per order.
    PerOrder,
}

/// An order paid by a settlement without an invoice in SAP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissingInvoice {
    /// Hold the whole settlement and list the orders (default).
    Hold,
    /// Post the amount as a payment on account of the marketplace's customer.
    OnAccount,
    /// Create the invoice from the settlement's own order rows (SKU, quantity, principal, shipping),
    /// then apply the receipt to it.
    CreateInvoice,
}

/// `[settlements]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSettlements {
    mapping: Option<PathBuf>,
    receipts: Option<ReceiptGrouping>,
    missing_invoice: Option<String>,
    max_documents_per_batch: Option<usize>,
    lookback: Option<String>,
    restock_refunds: Option<bool>,
    write_off: Option<String>,
    currency_converter: Option<Vec<String>>,
    hold_systematic_shortfall: Option<bool>,
    above_write_off: Option<String>,
    start_after: Option<toml::Value>,
    opening_receivable: Option<String>,
}

impl RawSettlements {
    /// Validates the section; `dir` is the config file's directory (for `mapping`).
    pub(super) fn validate(self, dir: &Path) -> Result<SettlementsConfig, Invalid> {
        let missing_invoice = match self.missing_invoice.as_deref().unwrap_or("hold") {
            "hold" => MissingInvoice::Hold,
            "on-account" => MissingInvoice::OnAccount,
            "create-invoice" => MissingInvoice::CreateInvoice,
            other => {
                return Err(Invalid::new(
                    "settlements.missing_invoice",
                    format!("`{other}` is not `hold`, `on-account` or `create-invoice`"),
                ));
            }
        };
        let max_documents_per_batch = self.max_documents_per_batch.unwrap_or(50);
        if !(1..=500).contains(&max_documents_per_batch) {
            return Err(Invalid::new(
                "settlements.max_documents_per_batch",
                format!("{max_documents_per_batch} is outside 1-500"),
            ));
        }
        Ok(SettlementsConfig {
            mapping: self.mapping.map(|p| resolve(dir, p)),
            receipts: self.receipts.unwrap_or(ReceiptGrouping::PerSettlement),
            missing_invoice,
            max_documents_per_batch,
            lookback: duration("settlements.lookback", self.lookback.as_deref(), "90d")?,
            restock_refunds: self.restock_refunds.unwrap_or(false),
            write_off: write_off(self.write_off.as_deref())?,
            currency_converter: currency_codes(self.currency_converter.unwrap_or_default())?,
            hold_systematic_shortfall: self.hold_systematic_shortfall.unwrap_or(true),
            hold_receipts: match self.above_write_off.as_deref().unwrap_or("hold-receipt") {
                "hold-receipt" => true,
                "leave-open" => false,
                other => {
                    return Err(Invalid::new(
                        "settlements.above_write_off",
                        format!("`{other}` is not `hold-receipt` or `leave-open`"),
                    ));
                }
            },
            start_after: self.start_after.as_ref().map(start_after).transpose()?,
            opening_receivable: match self.opening_receivable.as_deref().map(str::trim) {
                None => None,
                Some("") => {
                    return Err(Invalid::new(
                        "settlements.opening_receivable",
                        "is empty: give the G/L account code, or remove the key",
                    ));
                }
                Some(code) => Some(code.to_owned()),
            },
        })
    }
}

/// `settlements.start_after`: a settlement id (digits, as a string or a number) or a date
/// `YYYY-MM-DD`.
fn start_after(v: &toml::Value) -> Result<StartAfter, Invalid> {
    const KEY: &str = "settlements.start_after";
    let text = match v {
        toml::Value::Integer(n) => {
            return u64::try_from(*n)
                .map(StartAfter::Settlement)
                .map_err(|_| Invalid::new(KEY, format!("{n} is not a settlement id")));
        }
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::String(s) => s.trim().to_owned(),
        other => {
            return Err(Invalid::new(
                KEY,
                format!(
                    "{other} is neither a settlement id (\"24001234567\") nor a date (\"2026-07-01\")"
                ),
            ));
        }
    };
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map(StartAfter::Settlement)
            .map_err(|e| Invalid::new(KEY, format!("`{text}` is not a settlement id ({e})")));
    }
    chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map(StartAfter::Date)
        .map_err(|e| {
            Invalid::new(
                KEY,
                format!("`{text}` is neither a settlement id (digits) nor a date YYYY-MM-DD ({e})"),
            )
        })
}

/// `settlements.currency_converter`: ISO 4217 codes, upper case.
fn currency_codes(codes: Vec<String>) -> Result<Vec<String>, Invalid> {
    codes
        .into_iter()
        .map(|c| {
            let c = c.trim().to_ascii_uppercase();
            if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) {
                Ok(c)
            } else {
                Err(Invalid::new(
                    "settlements.currency_converter",
                    format!("`{c}` is not an ISO 4217 currency code (e.g. \"CAD\")"),
                ))
            }
        })
        .collect()
}

/// `settlements.write_off`: an amount from 0 to 1.00 (a tolerance for cent residues, not a way to
/// hide differences).
fn write_off(v: Option<&str>) -> Result<rust_decimal::Decimal, Invalid> {
    let Some(v) = v else {
        return Ok(rust_decimal::Decimal::ZERO);
    };
    let amount: rust_decimal::Decimal = v.trim().parse().map_err(|_| {
        Invalid::new(
            "settlements.write_off",
            format!("`{v}` is not an amount (e.g. \"0.05\")"),
        )
    })?;
    if amount.is_sign_negative() || amount > rust_decimal::Decimal::ONE {
        return Err(Invalid::new(
            "settlements.write_off",
            format!("{amount} is outside 0-1.00 per order"),
        ));
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::super::{TEMPLATE, parse_at};
    use super::{MissingInvoice, StartAfter};

    #[test]
    fn policies_and_limits_are_checked() {
        let c = parse_at(TEMPLATE).unwrap();
        assert_eq!(c.settlements.missing_invoice, MissingInvoice::Hold);
        assert_eq!(c.settlements.lookback, Duration::from_secs(90 * 86_400));
        let mapped = TEMPLATE.replace("# mapping = \"mapping.toml\"", "mapping = \"mapping.toml\"");
        assert_eq!(
            parse_at(&mapped).unwrap().settlements.mapping.as_deref(),
            Some(Path::new("/etc/mlc/mapping.toml"))
        );
        let bad = TEMPLATE.replace("missing_invoice = \"hold\"", "missing_invoice = \"skip\"");
        assert!(
            parse_at(&bad)
                .unwrap_err()
                .to_string()
                .contains("key `settlements.missing_invoice`")
        );
        let bad = TEMPLATE.replace(
            "max_documents_per_batch = 50",
            "max_documents_per_batch = 0",
        );
        assert!(
            parse_at(&bad)
                .unwrap_err()
                .to_string()
                .contains("0 is outside 1-500")
        );
    }

    #[test]
    fn the_cut_over_is_a_settlement_id_or_a_date_and_the_opening_account_is_named() {
        let with =
            |extra: &str| TEMPLATE.replace("[settlements]\n", &format!("[settlements]\n{extra}\n"));
        let c = parse_at(TEMPLATE).unwrap();
        assert_eq!(c.settlements.start_after, None);
        assert!(c.settlements.hold_receipts);
        assert_eq!(c.settlements.opening_receivable, None);
        for (text, want) in [
            (
                "start_after = \"24001234567\"",
                StartAfter::Settlement(24_001_234_567),
            ),
            (
                "start_after = 24001234567",
                StartAfter::Settlement(24_001_234_567),
            ),
            (
                "start_after = \"2026-07-01\"",
                StartAfter::Date(chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()),
            ),
            (
                "start_after = 2026-07-01",
                StartAfter::Date(chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()),
            ),
        ] {
            let c = parse_at(&with(text)).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(c.settlements.start_after, Some(want), "{text}");
        }
        for bad in [
            "start_after = \"1 July\"",
            "start_after = true",
            "start_after = -3",
        ] {
            let e = parse_at(&with(bad)).unwrap_err().to_string();
            assert!(e.contains("key `settlements.start_after`"), "{bad}: {e}");
        }
        let c = parse_at(&with("opening_receivable = \"1499\"").replace(
            "above_write_off = \"hold-receipt\"",
            "above_write_off = \"leave-open\"",
        ))
        .unwrap();
        assert_eq!(c.settlements.opening_receivable.as_deref(), Some("1499"));
        assert!(!c.settlements.hold_receipts);
        let e = parse_at(&with("opening_receivable = \" \""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("key `settlements.opening_receivable`"), "{e}");
        let e = parse_at(&TEMPLATE.replace(
            "above_write_off = \"hold-receipt\"",
            "above_write_off = \"hold\"",
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("key `settlements.above_write_off`"), "{e}");
        // The cut-over itself.
        let end = chrono::DateTime::parse_from_rfc3339("2026-07-01T08:00:00Z")
            .unwrap()
            .to_utc();
        let day = StartAfter::Date(chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap());
        assert!(day.skips("1", end));
        assert!(!day.skips("1", end + chrono::Duration::days(1)));
        let id = StartAfter::Settlement(50_018_020_314);
        assert!(id.skips("50011020300", end) && id.skips("50018020314", end));
        assert!(!id.skips("50034020328", end));
    }
}
