//! Management policies (tag, backup, AI services opt-out, chatbot, declarative and the other
//! non-authorization types): their JSON syntax with AWS's inheritance operators, and the
//! effective policy an account gets from the policies attached along its path (root, OUs,
//! account).
//!
//! A value is set with a value-setting operator (`@@assign`, `@@append`, `@@remove`); a node
//! may restrict the operators its descendants use in child policies with
//! `@@operators_allowed_for_child_policies` (`@@all`, `@@none`, or a list of value-setting
//! operators). A child policy's use of an operator its ancestors disallow is ignored, so the
//! inherited value stands. The effective policy keeps values under `@@assign` and drops the
//! child-control operators, as AWS shows it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// `@@assign`.
pub const ASSIGN: &str = "@@assign";
/// `@@append`.
pub const APPEND: &str = "@@append";
/// `@@remove`.
pub const REMOVE: &str = "@@remove";
/// `@@operators_allowed_for_child_policies`.
pub const CHILD_CONTROL: &str = "@@operators_allowed_for_child_policies";

const VALUE_OPERATORS: [&str; 3] = [ASSIGN, APPEND, REMOVE];

/// Why a management policy document is malformed.
pub type Malformed = String;

/// Checks a management policy document's syntax: a JSON object whose `@@` keys are known
/// operators, where a node sets its value with at most one value-setting operator and then has
/// no other settings, `@@append` and `@@remove` take arrays, and the child-control operator
/// takes `["@@all"]`, `["@@none"]` or value-setting operators.
pub fn validate(policy_type: &str, content: &str) -> Result<(), Malformed> {
    let doc: Value = serde_json::from_str(content).map_err(|e| e.to_string())?;
    let Value::Object(map) = &doc else {
        return Err("The policy must be a JSON object.".into());
    };
    check_node(map, "")?;
    if policy_type == super::model::TAG_POLICY {
        check_tags(map)?;
    }
    Ok(())
}

fn check_node(map: &Map<String, Value>, path: &str) -> Result<(), Malformed> {
    let ops: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| VALUE_OPERATORS.contains(k))
        .collect();
    if ops.len() > 1 {
        return Err(format!(
            "{path}: only one value-setting operator per setting."
        ));
    }
    let settings = map.keys().filter(|k| !k.starts_with("@@")).count();
    if !ops.is_empty() && settings > 0 {
        return Err(format!(
            "{path}: a setting with a value-setting operator has no nested settings."
        ));
    }
    for (k, v) in map {
        let here = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        match k.as_str() {
            ASSIGN => check_value(v, &here, false)?,
            APPEND | REMOVE => check_value(v, &here, true)?,
            CHILD_CONTROL => check_child_control(v, &here)?,
            op if op.starts_with("@@") => return Err(format!("{here}: unknown operator.")),
            _ => match v {
                Value::Object(m) => check_node(m, &here)?,
                _ => check_value(v, &here, false)?,
            },
        }
    }
    Ok(())
}

/// An operator's value: a scalar or an array of scalars (`multi`: an array only).
fn check_value(v: &Value, path: &str, multi: bool) -> Result<(), Malformed> {
    match v {
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => Ok(()),
        Value::String(_) | Value::Number(_) | Value::Bool(_) if !multi => Ok(()),
        _ if multi => Err(format!("{path}: this operator takes an array of values.")),
        _ => Err(format!(
            "{path}: a value must be a scalar or an array of scalars."
        )),
    }
}

fn check_child_control(v: &Value, path: &str) -> Result<(), Malformed> {
    let Some(items) = v.as_array() else {
        return Err(format!("{path}: must be an array."));
    };
    let names: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
    if names.len() != items.len() || names.is_empty() {
        return Err(format!("{path}: must list operators."));
    }
    let exclusive = names.iter().any(|n| *n == "@@all" || *n == "@@none");
    if exclusive && names.len() > 1 {
        return Err(format!("{path}: @@all and @@none stand alone."));
    }
    if names
        .iter()
        .all(|n| *n == "@@all" || *n == "@@none" || VALUE_OPERATORS.contains(n))
    {
        Ok(())
    } else {
        Err(format!("{path}: unknown operator."))
    }
}

/// Tag policies: everything is under `tags`, which holds objects keyed by policy key; a
/// `tag_key` assigns a string equal to its policy key but for case.
fn check_tags(map: &Map<String, Value>) -> Result<(), Malformed> {
    if map.keys().any(|k| k != "tags") {
        return Err("A tag policy starts with the key tags.".into());
    }
    let Some(tags) = map.get("tags") else {
        return Ok(());
    };
    let Value::Object(tags) = tags else {
        return Err("tags: must be an object.".into());
    };
    for (name, tag) in tags {
        let Value::Object(t) = tag else {
            return Err(format!("tags.{name}: must be an object."));
        };
        let key = match t.get("tag_key") {
            None => continue,
            Some(Value::Object(k)) => k.get(ASSIGN),
            Some(other) => Some(other),
        };
        match key.and_then(Value::as_str) {
            Some(k) if k.eq_ignore_ascii_case(name) => {}
            Some(_) => return Err(format!("tags.{name}.tag_key: must match the policy key.")),
            None => return Err(format!("tags.{name}.tag_key: must assign a string.")),
        }
    }
    Ok(())
}

/// A tag policy with its policy keys lower-cased, since AWS compares them ignoring case.
pub fn fold_tag_keys(doc: Value) -> Value {
    let Value::Object(mut top) = doc else {
        return doc;
    };
    if let Some(Value::Object(tags)) = top.remove("tags") {
        let folded: Map<String, Value> = tags
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v))
            .collect();
        top.insert("tags".into(), Value::Object(folded));
    }
    Value::Object(top)
}

/// The effective policy being built, with the child-control restrictions inherited so far.
#[derive(Debug, Default)]
pub struct Effective {
    /// The merged settings (values under `@@assign`).
    pub doc: Map<String, Value>,
    /// Operators allowed at a path (and below it), by the ancestors that restricted them.
    restrictions: BTreeMap<Vec<String>, Vec<String>>,
}

impl Effective {
    /// Applies the policies attached at one level (the root, an OU, the account): each merges
    /// into the result under the restrictions of the levels above; their own restrictions
    /// then bind the levels below.
    pub fn apply_level(&mut self, policies: &[Value]) {
        let mut found = BTreeMap::new();
        for p in policies {
            if let Value::Object(m) = p {
                merge_node(
                    &mut self.doc,
                    m,
                    &mut Vec::new(),
                    &self.restrictions,
                    &mut found,
                );
            }
        }
        for (path, ops) in found {
            let merged: Vec<String> = match self.restrictions.get(&path) {
                Some(prev) => prev.iter().filter(|o| ops.contains(o)).cloned().collect(),
                None => ops,
            };
            self.restrictions.insert(path, merged);
        }
    }
}

/// True when the restrictions on `path` and its ancestors allow `op`.
fn allowed(restrictions: &BTreeMap<Vec<String>, Vec<String>>, path: &[String], op: &str) -> bool {
    restrictions
        .iter()
        .filter(|(p, _)| path.starts_with(p))
        .all(|(_, ops)| ops.iter().any(|o| o == op))
}

/// The operators a child-control value allows.
fn child_ops(v: &Value) -> Vec<String> {
    let names: Vec<&str> = v
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if names.contains(&"@@all") {
        VALUE_OPERATORS.iter().map(|s| s.to_string()).collect()
    } else {
        names
            .into_iter()
            .filter(|n| VALUE_OPERATORS.contains(n))
            .map(str::to_string)
            .collect()
    }
}

fn merge_node(
    out: &mut Map<String, Value>,
    node: &Map<String, Value>,
    path: &mut Vec<String>,
    restrictions: &BTreeMap<Vec<String>, Vec<String>>,
    found: &mut BTreeMap<Vec<String>, Vec<String>>,
) {
    for (k, v) in node {
        if k == CHILD_CONTROL {
            found.insert(path.clone(), child_ops(v));
            continue;
        }
        if k.starts_with("@@") {
            continue;
        }
        path.push(k.clone());
        match v {
            Value::Object(m) if VALUE_OPERATORS.iter().any(|o| m.contains_key(*o)) => {
                if let Some(c) = m.get(CHILD_CONTROL) {
                    found.insert(path.clone(), child_ops(c));
                }
                set_value(out, k, m, path, restrictions);
            }
            Value::Object(m) => {
                let child = out
                    .entry(k.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !child.is_object() {
                    *child = Value::Object(Map::new());
                }
                if let Value::Object(c) = child {
                    merge_node(c, m, path, restrictions, found);
                }
            }
            bare => {
                if allowed(restrictions, path, ASSIGN) {
                    out.insert(k.clone(), assigned(bare.clone()));
                }
            }
        }
        path.pop();
    }
}

fn assigned(v: Value) -> Value {
    let mut m = Map::new();
    m.insert(ASSIGN.into(), v);
    Value::Object(m)
}

/// Applies one setting's value-setting operator to the inherited value.
fn set_value(
    out: &mut Map<String, Value>,
    key: &str,
    ops: &Map<String, Value>,
    path: &[String],
    restrictions: &BTreeMap<Vec<String>, Vec<String>>,
) {
    let Some((op, v)) = VALUE_OPERATORS
        .iter()
        .find_map(|o| ops.get(*o).map(|v| (*o, v)))
    else {
        return;
    };
    if !allowed(restrictions, path, op) {
        return;
    }
    let inherited: Option<Vec<Value>> = out
        .get(key)
        .and_then(|e| e.get(ASSIGN))
        .and_then(Value::as_array)
        .cloned();
    let given: Vec<Value> = v.as_array().cloned().unwrap_or_default();
    match op {
        APPEND => {
            let mut list = inherited.unwrap_or_default();
            for g in given {
                if !list.contains(&g) {
                    list.push(g);
                }
            }
            out.insert(key.into(), assigned(Value::Array(list)));
        }
        REMOVE => {
            if let Some(list) = inherited {
                let kept = list.into_iter().filter(|i| !given.contains(i)).collect();
                out.insert(key.into(), assigned(Value::Array(kept)));
            }
        }
        _ => {
            out.insert(key.into(), assigned(v.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TAG: &str = "TAG_POLICY";

    #[test]
    fn documents_follow_the_operator_grammar() {
        let ok = r#"{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"},"tag_value":{"@@append":["1"]},"@@operators_allowed_for_child_policies":["@@none"]}}}"#;
        assert!(validate(TAG, ok).is_ok());
        for bad in [
            "[1]",
            "not json",
            r#"{"a":{"@@bogus":"x"}}"#,
            r#"{"a":{"@@append":"x"}}"#,
            r#"{"a":{"@@assign":"x","@@remove":["x"]}}"#,
            r#"{"a":{"@@assign":"x","b":{"@@assign":"y"}}}"#,
            r#"{"a":{"@@assign":{"nested":1}}}"#,
            r#"{"a":{"@@operators_allowed_for_child_policies":["@@none","@@assign"]}}"#,
            r#"{"a":{"@@operators_allowed_for_child_policies":"@@none"}}"#,
            r#"{"tags":{"cc":{"tag_key":{"@@assign":["x"]}}}}"#,
        ] {
            assert!(validate(TAG, bad).is_err(), "{bad}");
        }
        let enforced = r#"{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"},"enforced_for":{"@@assign":["ec2:instance"]}}}}"#;
        assert!(validate(TAG, enforced).is_ok());
        // A tag policy lives under `tags`, and each tag_key matches its policy key.
        assert!(validate(TAG, r#"{"other":{}}"#).is_err());
        assert!(validate(TAG, r#"{"tags":{"cc":{"tag_key":{"@@assign":"Project"}}}}"#).is_err());
        assert_eq!(
            fold_tag_keys(serde_json::json!({"tags": {"CostCenter": {}}})),
            serde_json::json!({"tags": {"costcenter": {}}})
        );
    }

    fn effective(levels: &[Vec<Value>]) -> Value {
        let mut e = Effective::default();
        for l in levels {
            e.apply_level(l);
        }
        Value::Object(e.doc)
    }

    #[test]
    fn children_assign_append_and_remove_over_parents() {
        let root = json!({"tags": {"cc": {"tag_key": {"@@assign": "CostCenter"}, "tag_value": {"@@assign": ["100", "200"]}}}});
        let ou = json!({"tags": {"cc": {"tag_value": {"@@append": ["300"]}}}});
        let account = json!({"tags": {"cc": {"tag_value": {"@@remove": ["100"]}}, "p": {"tag_key": {"@@assign": "Project"}}}});
        assert_eq!(
            effective(&[vec![root], vec![ou], vec![account]]),
            json!({"tags": {
                "cc": {"tag_key": {"@@assign": "CostCenter"}, "tag_value": {"@@assign": ["200", "300"]}},
                "p": {"tag_key": {"@@assign": "Project"}},
            }})
        );
    }

    #[test]
    fn child_control_operators_bind_descendants_only() {
        let root = json!({"tags": {"cc": {
            "tag_value": {"@@assign": ["100"]},
            "@@operators_allowed_for_child_policies": ["@@append"],
        }}});
        // The same level is not bound by its own restriction.
        let sibling = json!({"tags": {"cc": {"tag_value": {"@@assign": ["150"]}}}});
        let ou = json!({"tags": {"cc": {"tag_value": {"@@assign": ["999"]}}}});
        let account = json!({"tags": {"cc": {"tag_value": {"@@append": ["200"]}}}});
        assert_eq!(
            effective(&[vec![root, sibling], vec![ou], vec![account]]),
            json!({"tags": {"cc": {"tag_value": {"@@assign": ["150", "200"]}}}})
        );
        // `@@none` locks the value; a later `@@all` cannot lift it.
        let lock = json!({"a": {"b": {"@@assign": "x"}, "@@operators_allowed_for_child_policies": ["@@none"]}});
        let lift = json!({"a": {"@@operators_allowed_for_child_policies": ["@@all"], "b": {"@@assign": "y"}}});
        let try_again = json!({"a": {"b": {"@@assign": "z"}}});
        assert_eq!(
            effective(&[vec![lock], vec![lift], vec![try_again]]),
            json!({"a": {"b": {"@@assign": "x"}}})
        );
    }
}
