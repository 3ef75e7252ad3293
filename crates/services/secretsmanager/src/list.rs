//! `ListSecrets`: the caller's secrets in its region, filtered (`name`, `description`,
//! `tag-key`, `tag-value`, `primary-region`, `all`; `!` negates a value), sorted and paged. The same filters
//! select the secrets of `BatchGetSecretValue`.

use serde_json::{json, Value};

use super::{
    common::{opt_str, page, paging, str_list},
    error::{SmError, SmResult},
    repo::{self, Secret},
    secrets::describe_json,
};
use rampart_kit::{context::CallContext, db::Db, json_field::SetField};

/// True when `value` (a filter value, `!` negating it) matches one of `fields`.
fn filter_value_matches(value: &str, fields: &[&str], case_sensitive: bool, words: bool) -> bool {
    let (negate, value) = match value.strip_prefix('!') {
        Some(v) => (true, v),
        None => (false, value),
    };
    let fold = |s: &str| {
        if case_sensitive {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let hit = if words {
        value.split_whitespace().all(|w| {
            let w = fold(w);
            fields.iter().any(|f| fold(f).contains(&w))
        })
    } else {
        let v = fold(value);
        fields.iter().any(|f| fold(f).starts_with(&v))
    };
    hit != negate
}

fn filter_matches(secret: &Secret, key: &str, values: &[String]) -> SmResult<bool> {
    let d = &secret.doc;
    let description = d.description.clone().unwrap_or_default();
    let keys: Vec<&str> = d.tags.iter().map(|t| t.key.as_str()).collect();
    let vals: Vec<&str> = d.tags.iter().map(|t| t.value.as_str()).collect();
    let (fields, sensitive, words): (Vec<&str>, bool, bool) = match key {
        "name" => (vec![secret.name()], true, false),
        "description" => (vec![description.as_str()], false, false),
        "tag-key" => (keys, true, false),
        "tag-value" => (vals, true, false),
        // The `PrimaryRegion` DescribeSecret shows: a replica's primary, or a primary's own.
        "primary-region" => match (&d.primary_region, d.replicas.is_empty()) {
            (Some(primary), _) => (vec![primary.as_str()], true, false),
            (None, false) => (vec![d.region.as_str()], true, false),
            (None, true) => (Vec::new(), true, false),
        },
        "owning-service" => (Vec::new(), true, false),
        "all" => {
            let mut all = vec![secret.name(), description.as_str()];
            all.extend(keys);
            all.extend(vals);
            (all, false, true)
        }
        other => {
            return Err(SmError::InvalidParameterException(format!(
                "Invalid filter key: {other}"
            )))
        }
    };
    Ok(values
        .iter()
        .any(|v| filter_value_matches(v, &fields, sensitive, words)))
}

/// The caller's secrets in its region that pass the request's `Filters` (every filter must
/// match; any of a filter's values), planned deletions only when asked for.
pub async fn matching(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
    planned_deletion: bool,
) -> SmResult<Vec<Secret>> {
    let filters: Vec<(String, Vec<String>)> = input
        .get("Filters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|f| {
            (
                opt_str(f, "Key").unwrap_or_default().to_string(),
                str_list(f, "Values"),
            )
        })
        .collect();
    let mut out = Vec::new();
    for s in repo::all(db, &ctx.principal.account_id, &ctx.region).await? {
        if repo::is_destroyed(&s.doc, ctx.now) || (s.is_deleted() && !planned_deletion) {
            continue;
        }
        let mut keep = true;
        for (key, values) in &filters {
            keep = keep && filter_matches(&s, key, values)?;
        }
        if keep {
            out.push(s);
        }
    }
    Ok(out)
}

/// `ListSecrets`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let limit = paging(input, 100, 100)?;
    let planned = input["IncludePlannedDeletion"].as_bool().unwrap_or(false);
    let mut secrets = matching(&mut db, ctx, input, planned).await?;
    match opt_str(input, "SortBy").unwrap_or("created-date") {
        "name" => secrets.sort_by(|a, b| a.name().cmp(b.name())),
        "last-changed-date" => secrets.sort_by_key(|s| s.doc.last_changed),
        "last-accessed-date" => secrets.sort_by_key(|s| s.doc.last_accessed),
        "created-date" => secrets.sort_by_key(|s| s.entity.created_at),
        other => {
            return Err(SmError::InvalidParameterException(format!(
                "Invalid SortBy value: {other}"
            )))
        }
    }
    match opt_str(input, "SortOrder").unwrap_or("desc") {
        "asc" => {}
        "desc" => secrets.reverse(),
        other => {
            return Err(SmError::InvalidParameterException(format!(
                "Invalid SortOrder value: {other}"
            )))
        }
    }
    let (items, next) = page(&secrets, limit, input)?;
    let list: Vec<Value> = items
        .iter()
        .map(|s| describe_json(s, "SecretVersionsToStages"))
        .collect();
    let mut out = json!({ "SecretList": list });
    if let Some(n) = next {
        out.set_field("NextToken", json!(n));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_prefixes_and_negate() {
        assert!(filter_value_matches("prod", &["prod/db"], true, false));
        assert!(!filter_value_matches("Prod", &["prod/db"], true, false));
        assert!(filter_value_matches("Prod", &["prod/db"], false, false));
        assert!(filter_value_matches("!dev", &["prod/db"], true, false));
        assert!(filter_value_matches("db prod", &["prod/db"], false, true));
    }
}
