//! Setting a field of a JSON response object without `value["key"] = ..` (whose `IndexMut`
//! panics when the value is neither an object nor null).

use serde_json::{Map, Value};

/// Sets fields on a JSON object value.
pub trait SetField {
    /// Sets `key` to `value`, as `self[key] = value` does: a null becomes an empty object
    /// first. On a value that is neither an object nor null it does nothing.
    fn set_field(&mut self, key: &str, value: Value);
}

impl SetField for Value {
    #[inline]
    fn set_field(&mut self, key: &str, value: Value) {
        if self.is_null() {
            *self = Value::Object(Map::new());
        }
        if let Value::Object(fields) = self {
            fields.insert(key.to_owned(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sets_like_index_assignment() {
        let mut v = json!({"A": 1});
        v.set_field("B", json!(2));
        v.set_field("A", json!(3));
        assert_eq!(v, json!({"A": 3, "B": 2}));
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"A":3,"B":2}"#);
        let mut n = Value::Null;
        n.set_field("K", json!("v"));
        assert_eq!(n, json!({"K": "v"}));
        let mut s = json!("text");
        s.set_field("K", json!(1));
        assert_eq!(s, json!("text"));
    }
}
