//! Redaction of secrets and personal data before anything reaches the audit trail.

use serde_json::Value;

/// Field names (compared case-insensitively, ignoring `_` and `-`) whose values never reach the audit.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "pass",
    "refreshtoken",
    "accesstoken",
    "clientsecret",
    "xamzaccesstoken",
    "authorization",
    "cookie",
    "setcookie",
    "b1session",
    "sessionid",
    "token",
];

/// Personal data of buyers that the books do not need.
const PERSONAL_FIELDS: &[&str] = &[
    "buyeremail",
    "buyername",
    "buyerinfo",
    "email",
    "phone",
    "shippingaddress",
    "address",
    "addressline1",
    "addressline2",
    "addressline3",
    "recipient",
    "buyer",
    "deliveryaddress",
];

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Replaces secret and personal values in a JSON document with `"[redacted]"`, recursively.
pub fn redact(mut value: Value) -> Value {
    redact_in_place(&mut value);
    value
}

fn redact_in_place(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let n = normalise(k);
                if SECRET_FIELDS.contains(&n.as_str()) || PERSONAL_FIELDS.contains(&n.as_str()) {
                    *v = Value::String("[redacted]".to_owned());
                } else {
                    redact_in_place(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_in_place),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_and_buyer_data_are_masked_everywhere() {
        let v = redact(json!({
            "UserName": "manager",
            "Password": "s3cret",
            "nested": [{"refresh_token": "Atzr|x", "BuyerInfo": {"BuyerEmail": "a@b.c"}}],
            "headers": {"x-amz-access-token": "Atza|y", "Cookie": "B1SESSION=z"},
            "NumAtCard": "028-1234567-1234567"
        }));
        let text = v.to_string();
        for secret in ["s3cret", "Atzr|x", "a@b.c", "Atza|y", "B1SESSION=z"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(v["NumAtCard"], "028-1234567-1234567");
        assert_eq!(v["UserName"], "manager");
    }
}
