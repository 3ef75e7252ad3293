//! Typed access to a decoded input's members (AWS member names, values as the wire crate
//! decoded them). The wire layer has checked presence and shapes against the model; these
//! accessors read the values and guard direct callers. Each service passes its own error for
//! a missing member to [`required`].

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ServiceError;

/// An optional string member.
pub fn opt_str<'a>(input: &'a Value, key: &str) -> Option<&'a str> {
    input.get(key).and_then(Value::as_str)
}

/// A required string member, or the service's `missing` error for its name.
pub fn required<'a, E>(
    input: &'a Value,
    key: &str,
    missing: impl FnOnce(&str) -> E,
) -> Result<&'a str, E> {
    opt_str(input, key).ok_or_else(|| missing(key))
}

/// AWS's generic validation error for a missing member (`Value null at 'userName' ...`).
pub fn missing_member(key: &str) -> ServiceError {
    ServiceError::validation(format!(
        "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
        lower_first(key)
    ))
}

/// An optional boolean member.
pub fn opt_bool(input: &Value, key: &str) -> Option<bool> {
    input.get(key).and_then(Value::as_bool)
}

/// An optional integer member.
pub fn opt_int(input: &Value, key: &str) -> Option<i64> {
    input.get(key).and_then(Value::as_i64)
}

/// A list-of-strings member (absent: empty; entries that are not strings are skipped).
pub fn str_list(input: &Value, key: &str) -> Vec<String> {
    input
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A map member whose values are not all strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAStringMap;

/// A string-to-string map member, sorted by key (absent: empty).
pub fn str_map(input: &Value, key: &str) -> Result<BTreeMap<String, String>, NotAStringMap> {
    let mut out = BTreeMap::new();
    if let Some(map) = input.get(key).and_then(Value::as_object) {
        for (k, v) in map {
            let v = v.as_str().ok_or(NotAStringMap)?;
            out.insert(k.clone(), v.to_string());
        }
    }
    Ok(out)
}

/// The whole input as a typed value (serde field names are AWS member names); a mismatch is a
/// `ValidationError`.
pub fn parse<T: DeserializeOwned>(input: &Value) -> Result<T, ServiceError> {
    T::deserialize(input).map_err(|e| ServiceError::validation(format!("Invalid input: {e}")))
}

/// A member name as AWS's validation messages spell it (`UserName` → `userName`).
pub fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[test]
    fn scalar_members() {
        let v = json!({"S": "x", "B": true, "I": 7, "N": null});
        assert_eq!(opt_str(&v, "S"), Some("x"));
        assert_eq!(opt_str(&v, "B"), None);
        assert_eq!(opt_str(&v, "N"), None);
        assert_eq!(opt_bool(&v, "B"), Some(true));
        assert_eq!(opt_int(&v, "I"), Some(7));
        assert_eq!(opt_int(&v, "S"), None);
    }

    #[test]
    fn required_members_take_the_services_error() {
        let v = json!({"UserName": "a"});
        assert_eq!(required(&v, "UserName", |k| k.to_string()), Ok("a"));
        assert_eq!(
            required(&v, "KeyId", |k| format!("{k} is required.")),
            Err("KeyId is required.".to_string())
        );
        let e = missing_member("UserName");
        assert_eq!(e.code, "ValidationError");
        assert!(e.message.contains("'userName'"), "{}", e.message);
    }

    #[test]
    fn lists_and_maps() {
        let v = json!({"L": ["a", 1, "b"], "M": {"b": "2", "a": "1"}, "Bad": {"a": 1}});
        assert_eq!(str_list(&v, "L"), vec!["a", "b"]);
        assert!(str_list(&v, "Absent").is_empty());
        let m = str_map(&v, "M").unwrap();
        assert_eq!(
            m.into_iter().collect::<Vec<_>>(),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "2".to_string())
            ]
        );
        assert!(str_map(&v, "Absent").unwrap().is_empty());
        assert_eq!(str_map(&v, "Bad"), Err(NotAStringMap));
    }

    #[test]
    fn typed_inputs() {
        #[derive(Deserialize, Debug, PartialEq)]
        #[serde(rename_all = "PascalCase")]
        struct In {
            user_name: String,
            max_items: Option<u32>,
        }
        let got: In = parse(&json!({"UserName": "a", "MaxItems": 3})).unwrap();
        assert_eq!(
            got,
            In {
                user_name: "a".into(),
                max_items: Some(3)
            }
        );
        let e = parse::<In>(&json!({"MaxItems": 3})).unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert_eq!(lower_first(""), "");
    }
}
