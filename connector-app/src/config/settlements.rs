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
        })
    }
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
    use super::MissingInvoice;

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
}
