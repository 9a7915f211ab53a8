//! Rule key parts: exact values, `*`, and globs with `*`.

use std::fmt;

/// One key part: exact, any (`*`), or a glob.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// Matches anything.
    Any,
    /// Matches this value exactly.
    Exact(String),
    /// A glob with `*` wildcards.
    Glob(String),
}

impl Pattern {
    /// Parses `*`, a glob, or an exact value.
    pub fn parse(s: &str) -> Self {
        match s {
            "*" => Self::Any,
            s if s.contains('*') => Self::Glob(s.to_owned()),
            s => Self::Exact(s.to_owned()),
        }
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(e) => e == value,
            Self::Glob(g) => glob_match(g, value),
        }
    }

    pub(super) fn exact(&self) -> u32 {
        u32::from(matches!(self, Self::Exact(_)))
    }

    pub(super) fn literal_chars(&self) -> u32 {
        match self {
            Self::Glob(g) => g.chars().filter(|&c| c != '*').count() as u32,
            _ => 0,
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Exact(s) | Self::Glob(s) => f.write_str(s),
        }
    }
}

fn glob_match(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !value.starts_with(first) || value.len() < first.len() + last.len() || !value.ends_with(last)
    {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_shell_stars() {
        assert!(glob_match("FBA*", "FBAPerUnitFulfillmentFee"));
        assert!(glob_match("*Tax", "ShippingTax"));
        assert!(!glob_match("*Tax", "TaxDiscount"));
        assert!(glob_match("*Retrocharge*", "Order_Retrocharge"));
        assert!(glob_match("a*b*c", "abc"));
        assert!(!glob_match("a*b*c", "acb"));
    }
}
