//! Property test: any string becomes exactly one OData literal and never breaks out of it.

use proptest::prelude::*;
use sap_b1_client::query::quote;
use sap_b1_client::{Key, Query, prop};

/// Read one OData string literal at the start of `text`: returns (value, rest).
fn read_literal(text: &str) -> Option<(String, &str)> {
    let mut chars = text.char_indices();
    if chars.next()? != (0, '\'') {
        return None;
    }
    let mut value = String::new();
    let mut chars = chars.peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if matches!(chars.peek(), Some((_, '\''))) {
                chars.next();
                value.push('\'');
            } else {
                return Some((value, &text[i + 1..]));
            }
        } else {
            value.push(c);
        }
    }
    None
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

proptest! {
    #[test]
    fn any_string_round_trips_as_one_literal(s in any::<String>()) {
        let filter = prop("ItemCode").eq(s.as_str()).and(prop("Valid").eq("tYES"));
        let text = filter.as_str();
        let after_op = text.strip_prefix("(ItemCode eq ").unwrap();
        let (value, rest) = read_literal(after_op).expect("a closed literal");
        prop_assert_eq!(&value, &s);
        // Whatever the value, the rest of the expression is ours, unchanged.
        prop_assert_eq!(rest, ") and (Valid eq 'tYES')");
    }

    #[test]
    fn quoting_and_url_encoding_survive_the_trip(s in "[ -~]{0,40}|\\PC{0,20}") {
        let query = Query::new().filter(prop("ItemCode").contains(&s));
        let qs = query.to_query_string();
        // The encoded query has exactly one parameter: no value can inject `&` or `#`.
        prop_assert_eq!(qs.matches('&').count(), 0);
        prop_assert!(!qs.contains('#') && !qs.contains(' '));
        let decoded = percent_decode(qs.strip_prefix("$filter=").unwrap());
        prop_assert_eq!(decoded, format!("contains(ItemCode, {})", quote(&s)));
    }

    #[test]
    fn string_keys_round_trip_through_a_location(s in any::<String>()) {
        let segment = Key::from(s.as_str()).to_path_segment();
        prop_assert!(!segment.contains('/') && !segment.contains('?') && !segment.contains('#'));
        let location = format!("/b1s/v2/Items{segment}");
        prop_assert_eq!(Key::from_location(&location), Some(Key::Str(s)));
    }
}

#[test]
fn the_issue_example_sku() {
    let filter = prop("ItemCode").eq(r#"O'Brien's "mug""#);
    assert_eq!(filter.as_str(), r#"ItemCode eq 'O''Brien''s "mug"'"#);
}
