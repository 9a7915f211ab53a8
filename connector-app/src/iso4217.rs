//! ISO 4217 minor units: how many decimals an amount in a currency has (JPY none, KWD three).
//!
//! From the ISO 4217 list (SIX, "List one: Currency, fund and precious metal codes", column
//! "Minor unit"): every active currency with 0 or 3 (or 4) decimals is named here; all others
//! have 2. Units of account without a minor unit in the list (XAU, XDR...) never price a listing.

/// Currencies whose amounts have no decimals.
const NONE: [&str; 17] = [
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];
/// Currencies whose amounts have three decimals.
const THREE: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
/// Currencies whose amounts have four decimals.
const FOUR: [&str; 2] = ["CLF", "UYW"];

/// Decimals of an amount in `currency` (an ISO code, any case).
pub fn minor_units(currency: &str) -> u32 {
    let c = currency.trim().to_ascii_uppercase();
    if NONE.contains(&c.as_str()) {
        0
    } else if THREE.contains(&c.as_str()) {
        3
    } else if FOUR.contains(&c.as_str()) {
        4
    } else {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::minor_units;

    #[test]
    fn yen_has_no_cents_and_dinar_has_fils() {
        assert_eq!(minor_units("JPY"), 0);
        assert_eq!(minor_units("jpy"), 0);
        assert_eq!(minor_units("KWD"), 3);
        assert_eq!(minor_units("EUR"), 2);
        assert_eq!(minor_units("MXN"), 2);
    }
}
