//! Filters over findings, as archive rules and `ListFindings` use them: a map of AWS's filter
//! keys (`status`, `resourceType`, `resource`, `resourceOwnerAccount`, `isPublic`, `id`,
//! `error`, `findingType`, `principal.<TYPE>`, `condition.<KEY>`) to criteria (`eq`, `neq`,
//! `contains`, `exists`). A finding matches when every criterion holds; within a criterion
//! every operator given must hold: `eq` one value equals one listed, `neq` no value equals one
//! listed, `contains` one value contains one listed, `exists` the key has a value or not.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    error::{invalid, AaResult},
    model::FindingDoc,
};

/// One criterion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    /// Equals one of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eq: Option<Vec<String>>,
    /// Equals none of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neq: Option<Vec<String>>,
    /// Contains one of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<Vec<String>>,
    /// Has a value (or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
}

/// The plain filter keys.
const KEYS: &[&str] = &[
    "status",
    "resourceType",
    "resource",
    "resourceOwnerAccount",
    "isPublic",
    "id",
    "error",
    "findingType",
];

/// A filter member as given: the keys checked, each criterion with an operator.
pub fn parse(filter: Option<&Value>) -> AaResult<BTreeMap<String, Criterion>> {
    let Some(map) = filter.and_then(Value::as_object) else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for (key, c) in map {
        let known = KEYS.contains(&key.as_str())
            || key
                .strip_prefix("principal.")
                .or_else(|| key.strip_prefix("condition."))
                .is_some_and(|rest| !rest.is_empty());
        if !known {
            return Err(invalid(format!("Invalid filter key: {key}")));
        }
        let criterion: Criterion =
            serde_json::from_value(c.clone()).map_err(|_| invalid("Invalid filter criterion"))?;
        if criterion == Criterion::default() {
            return Err(invalid(format!("The criterion of {key} has no operator")));
        }
        out.insert(key.clone(), criterion);
    }
    Ok(out)
}

/// The finding's values for a filter key.
fn values(f: &FindingDoc, key: &str) -> Vec<String> {
    match key {
        "status" => vec![f.status.clone()],
        "resourceType" => vec![f.resource_type.clone()],
        "resource" => vec![f.resource.clone()],
        "resourceOwnerAccount" => vec![f.owner.clone()],
        "isPublic" => vec![f.is_public.to_string()],
        "id" => vec![f.id.clone()],
        "findingType" => vec![f
            .finding_type
            .clone()
            .unwrap_or_else(|| "ExternalAccess".into())],
        _ => {
            if let Some(p) = key.strip_prefix("principal.") {
                f.principal.get(p).cloned().into_iter().collect()
            } else if let Some(c) = key.strip_prefix("condition.") {
                f.condition
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(c))
                    .map(|(_, v)| v.clone())
                    .into_iter()
                    .collect()
            } else {
                Vec::new()
            }
        }
    }
}

/// Whether the finding matches every criterion.
pub fn matches(filter: &BTreeMap<String, Criterion>, f: &FindingDoc) -> bool {
    filter
        .iter()
        .all(|(key, c)| criterion_matches(c, &values(f, key)))
}

/// Whether the values `have` meet one criterion.
pub fn criterion_matches(c: &Criterion, have: &[String]) -> bool {
    c.eq.as_ref()
        .is_none_or(|eq| have.iter().any(|v| eq.contains(v)))
        && c.neq
            .as_ref()
            .is_none_or(|neq| !have.iter().any(|v| neq.contains(v)))
        && c.contains.as_ref().is_none_or(|subs| {
            have.iter()
                .any(|v| subs.iter().any(|s| v.contains(s.as_str())))
        })
        && c.exists.is_none_or(|e| e != have.is_empty())
}

/// A filter as the API returns it.
pub fn to_output(filter: &BTreeMap<String, Criterion>) -> Value {
    serde_json::to_value(filter).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding() -> FindingDoc {
        FindingDoc {
            id: "f1".into(),
            resource: "arn:aws:s3:::b".into(),
            resource_type: "AWS::S3::Bucket".into(),
            owner: "111122223333".into(),
            principal: [("AWS".to_string(), "444455556666".to_string())].into(),
            condition: [("aws:SourceIp".to_string(), "10.0.0.0/8".to_string())].into(),
            is_public: false,
            status: "ACTIVE".into(),
            ..Default::default()
        }
    }

    fn check(filter: Value) -> bool {
        matches(&parse(Some(&filter)).unwrap(), &finding())
    }

    #[test]
    fn criteria_follow_aws_operators() {
        assert!(check(json!({"principal.AWS": {"eq": ["444455556666"]}})));
        assert!(!check(json!({"principal.AWS": {"neq": ["444455556666"]}})));
        assert!(check(json!({"resource": {"contains": [":::b"]}})));
        assert!(check(
            json!({"isPublic": {"eq": ["false"]}, "status": {"eq": ["ACTIVE"]}})
        ));
        assert!(!check(
            json!({"isPublic": {"eq": ["true"]}, "status": {"eq": ["ACTIVE"]}})
        ));
        assert!(check(json!({"principal.Federated": {"exists": false}})));
        assert!(check(json!({"condition.aws:SourceIp": {"exists": true}})));
        assert!(check(json!({})));
    }

    #[test]
    fn unknown_keys_and_empty_criteria_are_refused() {
        assert!(parse(Some(&json!({"colour": {"eq": ["red"]}}))).is_err());
        assert!(parse(Some(&json!({"status": {}}))).is_err());
    }
}
