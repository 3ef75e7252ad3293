//! Action-level policy arithmetic for unused access (pure): which tracked actions the Allow
//! statements of identity policies grant, and a policy document without some of them.
//!
//! The tracked actions are IAM's action last-accessed catalogue
//! ([`rampart_iam::action_access`]); actions are written `prefix:Action` in AWS's casing.

use std::collections::{BTreeMap, BTreeSet};

use rampart_iam::action_access;
use rampart_policy::wildcard::Pattern;
use serde_json::{json, Value};

/// The tracked actions (`prefix:Action`) of each tracked service prefix.
pub type Catalogue = BTreeMap<&'static str, Vec<String>>;

/// The catalogue of every tracked service.
pub fn catalogue() -> Catalogue {
    action_access::TRACKED
        .iter()
        .map(|ns| {
            let actions = action_access::actions_of(ns)
                .unwrap_or_default()
                .into_iter()
                .map(|a| format!("{ns}:{a}"))
                .collect();
            (*ns, actions)
        })
        .collect()
}

/// The statements of a policy document (a single statement object counts as one).
pub fn statements(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(o @ Value::Object(_)) => vec![o.clone()],
        _ => Vec::new(),
    }
}

/// An `Action`/`NotAction` element's entries.
fn entries(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether the action entry `entry` can cover actions of `ns` at all (its prefix, wildcards
/// allowed, matches), so most entries skip the per-action matching.
fn may_cover(entry: &str, ns: &str) -> bool {
    let prefix = entry.split(':').next().unwrap_or_default();
    if prefix.contains(['*', '?']) {
        Pattern::new(prefix, true).matches(&ns.to_ascii_lowercase())
    } else {
        prefix.eq_ignore_ascii_case(ns)
    }
}

/// The tracked actions the Allow statements of `documents` (policy JSON texts) grant, by
/// service prefix; a `NotAction` grants every tracked action it does not name.
pub fn allowed_actions<'a>(
    documents: impl IntoIterator<Item = &'a str>,
    catalogue: &Catalogue,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for text in documents {
        let Ok(doc) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        for s in statements(&doc) {
            if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
                continue;
            }
            let not: Vec<Pattern> = entries(s.get("NotAction"))
                .iter()
                .map(|p| Pattern::new(p, true))
                .collect();
            let listed = entries(s.get("Action"));
            for (ns, actions) in catalogue {
                let granted: Vec<&String> = if s.get("NotAction").is_some() {
                    actions
                        .iter()
                        .filter(|a| {
                            let a = a.to_ascii_lowercase();
                            !not.iter().any(|p| p.matches(&a))
                        })
                        .collect()
                } else {
                    let pats: Vec<Pattern> = listed
                        .iter()
                        .filter(|e| may_cover(e, ns))
                        .map(|e| Pattern::new(e, true))
                        .collect();
                    if pats.is_empty() {
                        continue;
                    }
                    actions
                        .iter()
                        .filter(|a| {
                            let a = a.to_ascii_lowercase();
                            pats.iter().any(|p| p.matches(&a))
                        })
                        .collect()
                };
                if !granted.is_empty() {
                    out.entry(ns.to_string())
                        .or_default()
                        .extend(granted.into_iter().cloned());
                }
            }
        }
    }
    out
}

/// What removing actions of service `ns` from a policy document does: `None` when the policy
/// grants none of them, `Some(None)` when no Allow statement is left (detach it),
/// `Some(Some(doc))` with the narrowed document otherwise.
///
/// With `unused` (lowercased `prefix:Action`s) only those go: an `Action` entry of `ns` that
/// covers one of them is replaced by the catalogued actions (`known`) it covers that stay;
/// entries covering none of them stay as written. Without it every entry of `ns` goes.
/// Entries whose prefix is a wildcard (`*`, `s*:Get*`) and `NotAction` statements are left
/// as they are: removing from them would need a `Deny`, which a recommendation does not add.
pub fn without_actions(
    document: &str,
    ns: &str,
    unused: Option<&BTreeSet<String>>,
    known: &[String],
) -> Option<Option<Value>> {
    let mut doc: Value = serde_json::from_str(document).ok()?;
    let of_ns = |a: &str| {
        a.split_once(':')
            .is_some_and(|(p, _)| p.eq_ignore_ascii_case(ns))
    };
    let mut changed = false;
    let mut kept = Vec::new();
    for mut s in statements(&doc) {
        let allow = s.get("Effect").and_then(Value::as_str) == Some("Allow");
        let actions = entries(s.get("Action"));
        if !allow || !actions.iter().any(|a| of_ns(a)) {
            kept.push(s);
            continue;
        }
        let mut left: Vec<String> = Vec::new();
        for a in actions {
            if !of_ns(&a) {
                left.push(a);
                continue;
            }
            let Some(unused) = unused else {
                changed = true;
                continue;
            };
            let pattern = Pattern::new(&a, true);
            let covered: Vec<&String> = known
                .iter()
                .filter(|k| pattern.matches(&k.to_ascii_lowercase()))
                .collect();
            if !covered
                .iter()
                .any(|k| unused.contains(&k.to_ascii_lowercase()))
            {
                left.push(a);
                continue;
            }
            changed = true;
            left.extend(
                covered
                    .into_iter()
                    .filter(|k| !unused.contains(&k.to_ascii_lowercase()))
                    .cloned(),
            );
        }
        let mut seen = BTreeSet::new();
        left.retain(|a| seen.insert(a.to_ascii_lowercase()));
        if left.is_empty() {
            continue;
        }
        if let Some(o) = s.as_object_mut() {
            o.insert("Action".into(), json!(left));
        }
        kept.push(s);
    }
    if !changed {
        return None;
    }
    let allows = kept
        .iter()
        .any(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"));
    if !allows {
        return Some(None);
    }
    if let Some(o) = doc.as_object_mut() {
        o.insert("Statement".into(), Value::Array(kept));
    }
    Some(Some(doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn allowed_actions_expand_wildcards_and_not_action_over_the_catalogue() {
        let cat = catalogue();
        let docs = [
            r#"{"Statement":[{"Effect":"Allow","Action":["kms:Encrypt","KMS:decrypt","s3:*"],"Resource":"*"},
                {"Effect":"Deny","Action":"iam:*","Resource":"*"},
                {"Effect":"Allow","Action":"sts:GetCaller*","Resource":"*"}]}"#,
        ];
        let got = allowed_actions(docs, &cat);
        assert_eq!(got["kms"], set(&["kms:Decrypt", "kms:Encrypt"]));
        assert_eq!(got["sts"], set(&["sts:GetCallerIdentity"]));
        assert!(!got.contains_key("iam") && !got.contains_key("s3"));
        let not = [r#"{"Statement":{"Effect":"Allow","NotAction":"sts:*","Resource":"*"}}"#];
        let got = allowed_actions(not, &cat);
        assert!(!got.contains_key("sts"));
        assert_eq!(got["kms"].len(), cat["kms"].len());
    }

    #[test]
    fn unused_actions_are_removed_and_wildcards_narrowed_to_what_stays() {
        let cat = catalogue();
        let kms = &cat["kms"];
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt","s3:GetObject"],"Resource":"*"},
            {"Effect":"Allow","Action":"kms:List*","Resource":"*"}]}"#;
        let unused = set(&["kms:decrypt", "kms:listaliases"]);
        let Some(Some(got)) = without_actions(doc, "kms", Some(&unused), kms) else {
            panic!("narrowed expected");
        };
        assert_eq!(
            got["Statement"][0]["Action"],
            json!(["kms:Encrypt", "s3:GetObject"])
        );
        let listed: Vec<&str> = got["Statement"][1]["Action"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert!(listed.contains(&"kms:ListKeys") && !listed.contains(&"kms:ListAliases"));
        assert_eq!(
            without_actions(doc, "kms", Some(&set(&["kms:sign"])), kms),
            None
        );
        let only = r#"{"Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}}"#;
        assert_eq!(without_actions(only, "kms", Some(&unused), kms), Some(None));
        assert_eq!(without_actions(only, "kms", None, &[]), Some(None));
    }
}
