//! Tags on IAM resources: validation, merging, removal, outputs and condition keys.

use serde_json::{json, Value};

use super::{IamError, Res};
use crate::model::Tag;
use rampart_kit::context::ContextEntry;

/// At most this many tags per resource.
pub const MAX_TAGS: usize = 50;

/// The `Tags` member of an input (absent: none), validated.
pub fn from_input(input: &Value) -> Res<Vec<Tag>> {
    let tags: Vec<Tag> = match input.get("Tags") {
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| IamError::InvalidInput("Tags are malformed.".into()))?,
        None => Vec::new(),
    };
    validate(&tags)?;
    Ok(tags)
}

/// AWS's rules on a tag list: unique keys (case-insensitively), no `aws:` prefix, at most 50.
pub fn validate(tags: &[Tag]) -> Res<()> {
    check(tags, true)
}

/// Unique keys (case-insensitively) and at most 50, `aws:` keys let through (STS session tags).
pub fn validate_unique(tags: &[Tag]) -> Res<()> {
    check(tags, false)
}

fn check(tags: &[Tag], reserved: bool) -> Res<()> {
    for (i, t) in tags.iter().enumerate() {
        if reserved && t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(IamError::InvalidInput(
                "Tag keys starting with 'aws:' are reserved for AWS use.".into(),
            )
            .into());
        }
        if tags
            .iter()
            .take(i)
            .any(|o| o.key.eq_ignore_ascii_case(&t.key))
        {
            return Err(IamError::InvalidInput(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.".into(),
            )
            .into());
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(IamError::LimitExceeded(format!(
            "The number of tags has reached the maximum limit of {MAX_TAGS}."
        ))
        .into());
    }
    Ok(())
}

/// `existing` with `new` added or replacing (keys compare case-insensitively).
pub fn merge(existing: &[Tag], new: &[Tag]) -> Res<Vec<Tag>> {
    let mut out: Vec<Tag> = existing.to_vec();
    for t in new {
        match out.iter_mut().find(|o| o.key.eq_ignore_ascii_case(&t.key)) {
            Some(o) => *o = t.clone(),
            None => out.push(t.clone()),
        }
    }
    if out.len() > MAX_TAGS {
        return Err(IamError::LimitExceeded(format!(
            "The number of tags has reached the maximum limit of {MAX_TAGS}."
        ))
        .into());
    }
    Ok(out)
}

/// `existing` without the tags whose keys are in `keys` (case-insensitively).
pub fn remove(existing: &[Tag], keys: &[String]) -> Vec<Tag> {
    existing
        .iter()
        .filter(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)))
        .cloned()
        .collect()
}

/// Tags as outputs carry them.
pub fn to_json(tags: &[Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect(),
    )
}

/// `aws:RequestTag/K` for each tag and `aws:TagKeys` for all of them (none when empty).
pub fn request_context(tags: &[Tag]) -> Vec<ContextEntry> {
    if tags.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<ContextEntry> = tags
        .iter()
        .map(|t| (format!("aws:RequestTag/{}", t.key), vec![t.value.clone()]))
        .collect();
    out.push(tag_keys_context(
        &tags.iter().map(|t| t.key.clone()).collect::<Vec<_>>(),
    ));
    out
}

/// `aws:TagKeys` with these keys.
pub fn tag_keys_context(keys: &[String]) -> ContextEntry {
    ("aws:TagKeys".to_string(), keys.to_vec())
}

/// `aws:ResourceTag/K` and `iam:ResourceTag/K` for each of a resource's tags.
pub fn resource_context(tags: &[Tag]) -> Vec<ContextEntry> {
    tags.iter()
        .flat_map(|t| {
            [
                (format!("aws:ResourceTag/{}", t.key), vec![t.value.clone()]),
                (format!("iam:ResourceTag/{}", t.key), vec![t.value.clone()]),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn merge_replaces_case_insensitively_and_remove_drops() {
        let merged = merge(&[tag("Team", "a")], &[tag("team", "b"), tag("x", "1")]).unwrap();
        assert_eq!(merged, vec![tag("team", "b"), tag("x", "1")]);
        assert_eq!(remove(&merged, &["TEAM".into()]), vec![tag("x", "1")]);
    }

    #[test]
    fn validation_rejects_duplicates_and_reserved() {
        assert!(validate(&[tag("a", "1"), tag("A", "2")]).is_err());
        assert!(validate(&[tag("aws:x", "1")]).is_err());
        let many: Vec<Tag> = (0..51).map(|i| tag(&i.to_string(), "v")).collect();
        assert_eq!(validate(&many).unwrap_err().code, "LimitExceeded");
        assert!(validate_unique(&[tag("aws:x", "1")]).is_ok());
        assert!(validate_unique(&[tag("a", "1"), tag("A", "2")]).is_err());
    }

    #[test]
    fn contexts() {
        let c = request_context(&[tag("team", "x")]);
        assert!(c.contains(&("aws:RequestTag/team".into(), vec!["x".into()])));
        assert!(c.contains(&("aws:TagKeys".into(), vec!["team".into()])));
        assert_eq!(resource_context(&[tag("a", "b")]).len(), 2);
    }
}
