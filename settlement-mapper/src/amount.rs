//! Exact parsing of locale-formatted settlement amounts.
//!
//! Amazon writes amounts in the marketplace's number format: `128,84` in EUR files, `253.43` in GBP and
//! USD files of the same account, and peers report both styles inside one report. Each cell is parsed on
//! its own into a [`Decimal`]; a cell whose meaning is not certain (`1,234` could be 1234 or 1.234) is an
//! error, never a guess.

use rust_decimal::Decimal;

/// Why a cell could not be read as an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    /// The cell is empty.
    #[error("the amount is empty")]
    Empty,
    /// The cell holds something other than a signed number with `,` or `.` separators.
    #[error("`{0}` is not a number")]
    Malformed(String),
    /// One separator followed by exactly three digits: a thousands group or three decimals.
    #[error(
        "`{0}` is ambiguous: the separator could mark thousands or decimals (write `1234`, `1.234,00` or `1,234.00`)"
    )]
    Ambiguous(String),
    /// More digits than a decimal can hold exactly.
    #[error("`{0}` has too many digits to be held exactly")]
    TooLarge(String),
}

/// Parses one amount cell (already trimmed) exactly.
///
/// Accepted: `128,84`, `-0,42`, `253.43`, `1.234,56`, `1,234.56`, `1.234.567`, `+5`, `1234`.
/// Rejected: empty cells, letters, spaces inside, separators without digits on both sides, bad
/// thousands grouping, and a lone separator followed by exactly three digits (`1,234`, `1.234`).
pub fn parse_amount(cell: &str) -> Result<Decimal, AmountError> {
    match parse_plain(cell.as_bytes()) {
        Some(d) => Ok(d),
        None => parse_general(cell),
    }
}

/// Every form [`parse_amount`] accepts, and the reason for every one it refuses.
fn parse_general(cell: &str) -> Result<Decimal, AmountError> {
    if cell.is_empty() {
        return Err(AmountError::Empty);
    }
    let malformed = || AmountError::Malformed(cell.to_owned());
    let (negative, body) = match cell.as_bytes()[0] {
        b'-' => (true, &cell[1..]),
        b'+' => (false, &cell[1..]),
        _ => (false, cell),
    };
    let bytes = body.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_digit() || !bytes[bytes.len() - 1].is_ascii_digit() {
        return Err(malformed());
    }
    let mut commas = 0usize;
    let mut dots = 0usize;
    let mut last_comma = 0usize;
    let mut last_dot = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'0'..=b'9' => {}
            b',' => {
                commas += 1;
                last_comma = i;
            }
            b'.' => {
                dots += 1;
                last_dot = i;
            }
            _ => return Err(malformed()),
        }
    }
    // Split into (integer part with its grouping separator, fraction digits).
    let (int_part, group_sep, fraction) = match (commas, dots) {
        (0, 0) => (body, None, ""),
        (1, 0) | (0, 1) => {
            let (pos, sep) = if commas == 1 {
                (last_comma, ',')
            } else {
                (last_dot, '.')
            };
            let (int_part, fraction) = (&body[..pos], &body[pos + 1..]);
            if fraction.len() == 3 && could_be_group_head(int_part) {
                return Err(AmountError::Ambiguous(cell.to_owned()));
            }
            let _ = sep;
            (int_part, None, fraction)
        }
        (n, 0) if n > 1 => (body, Some(b','), ""),
        (0, n) if n > 1 => (body, Some(b'.'), ""),
        _ => {
            // Both separators: the last one is the decimal mark and occurs once.
            let (dec_pos, group) = if last_comma > last_dot {
                (last_comma, b'.')
            } else {
                (last_dot, b',')
            };
            let dec_count = if group == b'.' { commas } else { dots };
            if dec_count != 1 {
                return Err(malformed());
            }
            (&body[..dec_pos], Some(group), &body[dec_pos + 1..])
        }
    };
    if let Some(sep) = group_sep
        && !valid_grouping(int_part.as_bytes(), sep)
    {
        return Err(malformed());
    }
    let mut mantissa: i128 = 0;
    let mut digits = 0u32;
    for &b in int_part.as_bytes().iter().chain(fraction.as_bytes()) {
        if b.is_ascii_digit() {
            mantissa = mantissa * 10 + i128::from(b - b'0');
            digits += 1;
            if digits > 28 {
                return Err(AmountError::TooLarge(cell.to_owned()));
            }
        }
    }
    let scale = fraction.len() as u32;
    if negative {
        mantissa = -mantissa;
    }
    Decimal::try_from_i128_with_scale(mantissa, scale)
        .map_err(|_| AmountError::TooLarge(cell.to_owned()))
}

/// The form almost every cell has, read in one pass: an optional sign, up to 16 digits, and
/// optionally one separator (`,` or `.`) followed by one or two digits. Such a cell can be neither
/// ambiguous nor grouped, and it means exactly what the general path below reads it as; `None`
/// sends every other cell there.
fn parse_plain(b: &[u8]) -> Option<Decimal> {
    let (negative, body) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let mut mantissa: i64 = 0;
    let mut int_digits = 0usize;
    let mut i = 0;
    while i < body.len() && body[i].is_ascii_digit() {
        mantissa = mantissa * 10 + i64::from(body[i] - b'0');
        int_digits += 1;
        if int_digits > 16 {
            return None;
        }
        i += 1;
    }
    if int_digits == 0 {
        return None;
    }
    let mut scale = 0u32;
    if i < body.len() {
        if !matches!(body[i], b',' | b'.') {
            return None;
        }
        let fraction = &body[i + 1..];
        if !(1..=2).contains(&fraction.len()) || !fraction.iter().all(u8::is_ascii_digit) {
            return None;
        }
        for &d in fraction {
            mantissa = mantissa * 10 + i64::from(d - b'0');
        }
        scale = fraction.len() as u32;
    }
    Some(Decimal::new(
        if negative { -mantissa } else { mantissa },
        scale,
    ))
}

/// An integer part that could be the first group of a thousands-grouped number (`1`..`999`).
fn could_be_group_head(int_part: &str) -> bool {
    (1..=3).contains(&int_part.len()) && !int_part.starts_with('0')
}

/// `1.234.567` / `1,234`: a head of one to three digits (no leading zero), then groups of three.
fn valid_grouping(int_part: &[u8], sep: u8) -> bool {
    let mut groups = int_part.split(|&b| b == sep);
    let Some(head) = groups.next() else {
        return false;
    };
    if head.is_empty() || head.len() > 3 || head[0] == b'0' || !head.iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    let mut any = false;
    for group in groups {
        any = true;
        if group.len() != 3 || !group.iter().all(u8::is_ascii_digit) {
            return false;
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn reads_both_number_locales() {
        for (cell, want) in [
            ("128,84", "128.84"),
            ("-0,42", "-0.42"),
            ("253.43", "253.43"),
            ("1.234,56", "1234.56"),
            ("1,234.56", "1234.56"),
            ("1.234.567,8", "1234567.8"),
            ("1,234,567", "1234567"),
            ("1.234.567", "1234567"),
            ("0,00", "0.00"),
            ("+5", "5"),
            ("1234", "1234"),
            ("1234,567", "1234.567"),
            ("0.125", "0.125"),
            ("-321.69", "-321.69"),
        ] {
            assert_eq!(parse_amount(cell).unwrap(), d(want), "{cell}");
        }
    }

    /// The one-pass path and the general one agree on every cell the first one takes.
    #[test]
    fn the_plain_path_reads_as_the_general_one() {
        for cell in [
            "0",
            "-0",
            "+0",
            "5",
            "-5",
            "0,00",
            "-0,00",
            "-0.0",
            "128,84",
            "-0,42",
            "253.43",
            "0123,45",
            "1234567890123456",
            "-1234567890123456,99",
            "99.9",
            "+7.5",
            "10,50",
        ] {
            let plain = parse_plain(cell.as_bytes()).unwrap_or_else(|| panic!("{cell}"));
            let general = parse_general(cell).unwrap();
            assert_eq!(plain.serialize(), general.serialize(), "{cell}");
            assert_eq!(plain, d(&cell.replace(',', ".")), "{cell}");
        }
        for cell in [
            "",
            "-",
            "+",
            ",5",
            "5,",
            "1,234",
            "1.234",
            "1,2345",
            "1.234,56",
            "1,2.3",
            "12 34",
            "12345678901234567",
            "1e5",
            "5€",
        ] {
            assert!(parse_plain(cell.as_bytes()).is_none(), "{cell:?}");
        }
    }

    #[test]
    fn keeps_the_written_scale() {
        assert_eq!(parse_amount("0,00").unwrap().to_string(), "0.00");
        assert_eq!(parse_amount("10,50").unwrap().to_string(), "10.50");
    }

    #[test]
    fn refuses_to_guess() {
        assert!(matches!(
            parse_amount("1,234"),
            Err(AmountError::Ambiguous(_))
        ));
        assert!(matches!(
            parse_amount("-1.234"),
            Err(AmountError::Ambiguous(_))
        ));
        for bad in [
            "",
            "-",
            "abc",
            "1,2.34",
            "1.23.45,6",
            "12 34",
            ",5",
            "5,",
            "1..2",
            "1,234,56",
            "€5",
            "1e5",
            "1.234,56,7",
            "0.234.567",
        ] {
            assert!(parse_amount(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(matches!(
            parse_amount("12345678901234567890123456789"),
            Err(AmountError::TooLarge(_))
        ));
    }
}
