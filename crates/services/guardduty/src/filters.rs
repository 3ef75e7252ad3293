//! Filters (`CreateFilter`, `GetFilter`, `UpdateFilter`, `DeleteFilter`, `ListFilters`): saved
//! `FindingCriteria` with an action. A filter whose action is `ARCHIVE` is a suppression rule:
//! [`suppressed`] is asked by `finding::save` for every finding it creates or updates, and a
//! finding that matches is stored archived and not published. `NOOP` filters are saved views
//! that never change a finding. Filters apply in `Rank` order (ties by name); findings that
//! existed before a filter are not changed by creating it. A `CreateFilter` repeated with the
//! same `ClientToken` and name answers as the first one did.

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_int, opt_str},
};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    criteria::Criteria,
    detectors::listed,
    error::GuardDutyError,
    model::{self, Detector},
    tags,
};

/// The entity kind of a filter.
pub const FILTER: &str = "guardduty:filter";
/// Saved filters per account and region (AWS's quota).
pub const MAX_FILTERS: usize = 100;

/// A filter as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterDoc {
    /// `Name`.
    pub name: String,
    /// `Description`.
    #[serde(default)]
    pub description: String,
    /// `NOOP` or `ARCHIVE`.
    pub action: String,
    /// `Rank` (1-100).
    pub rank: i64,
    /// `FindingCriteria`, as given.
    pub criteria: Value,
    /// Tags.
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
    /// The `ClientToken` of the `CreateFilter` that made it.
    #[serde(default)]
    pub client_token: Option<String>,
}

/// The name key of a filter: unique per detector.
pub fn key(detector_id: &str, name: &str) -> String {
    format!("{detector_id}/{name}")
}

/// A filter name: 3-64 letters, digits, `-`, `_` or `.`.
pub fn check_name(name: &str) -> Result<(), GuardDutyError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let n = name.chars().count();
    if !(3..=64).contains(&n) || !name.chars().all(ok_char) {
        return Err(GuardDutyError::invalid_input());
    }
    Ok(())
}

/// A description: at most 512 characters, no newline (AWS refuses it).
pub fn check_description(d: &str) -> Result<(), GuardDutyError> {
    if d.chars().count() > 512 || d.contains('\n') {
        return Err(GuardDutyError::invalid_input());
    }
    Ok(())
}

/// An action: `NOOP` or `ARCHIVE`.
pub fn check_action(a: &str) -> Result<(), GuardDutyError> {
    match a {
        "NOOP" | "ARCHIVE" => Ok(()),
        _ => Err(GuardDutyError::invalid_input()),
    }
}

/// A rank: 1-100.
pub fn check_rank(r: i64) -> Result<(), GuardDutyError> {
    if (1..=100).contains(&r) {
        Ok(())
    } else {
        Err(GuardDutyError::invalid_input())
    }
}

/// A `FindingCriteria`: an object with at least one well-formed criterion.
pub fn check_criteria(c: &Value) -> Result<(), GuardDutyError> {
    let wrapped = json!({ "FindingCriteria": c });
    let has_criterion = c
        .get("Criterion")
        .and_then(Value::as_object)
        .is_some_and(|m| !m.is_empty());
    if !has_criterion {
        return Err(GuardDutyError::invalid_input());
    }
    Criteria::of(&wrapped).map(|_| ())
}

/// AWS's answer for a filter name the detector does not have.
fn not_found() -> GuardDutyError {
    GuardDutyError::BadRequestException(
        "The request is rejected since no such resource found.".into(),
    )
}

/// Every filter of a detector, in `Rank` order (ties by name).
pub async fn all(db: &mut Db<'_>, d: &Detector) -> Result<Vec<(Entity, FilterDoc)>, ServiceError> {
    let mut out = Vec::new();
    for e in model::all_under(db, d.account(), FILTER, d.id()).await? {
        let doc: FilterDoc = entity::read_doc(&e)?;
        out.push((e, doc));
    }
    out.sort_by(|a, b| (a.1.rank, &a.1.name).cmp(&(b.1.rank, &b.1.name)));
    Ok(out)
}

/// The name of the first `ARCHIVE` filter, in `Rank` order, that `finding` matches.
pub fn suppressing<'a>(filters: &'a [FilterDoc], finding: &Value) -> Option<&'a str> {
    filters
        .iter()
        .filter(|f| f.action == "ARCHIVE")
        .find(|f| {
            Criteria::of(&json!({ "FindingCriteria": f.criteria }))
                .is_ok_and(|c| c.matches(finding))
        })
        .map(|f| f.name.as_str())
}

/// Whether a detector's suppression rules archive `finding`.
pub async fn suppressed(
    db: &mut Db<'_>,
    d: &Detector,
    finding: &Value,
) -> Result<bool, ServiceError> {
    let filters: Vec<FilterDoc> = all(db, d).await?.into_iter().map(|(_, f)| f).collect();
    Ok(suppressing(&filters, finding).is_some())
}

async fn detector(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
) -> Result<Detector, ServiceError> {
    model::detector(db, ctx, opt_str(input, "DetectorId").unwrap_or_default()).await
}

/// The filter an input's `FilterName` names under the caller's detector.
async fn find(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
) -> Result<(Entity, FilterDoc), ServiceError> {
    let d = detector(db, ctx, input).await?;
    let name = opt_str(input, "FilterName").unwrap_or_default();
    entity::load_doc::<FilterDoc>(db, d.account(), FILTER, &key(d.id(), name))
        .await?
        .ok_or_else(|| not_found().into())
}

/// `CreateFilter`.
pub async fn create(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let d = detector(&mut db, ctx, input).await?;
    let name = opt_str(input, "Name").unwrap_or_default();
    check_name(name)?;
    let description = opt_str(input, "Description").unwrap_or_default();
    check_description(description)?;
    let action = opt_str(input, "Action").unwrap_or("NOOP");
    check_action(action)?;
    let criteria = input.get("FindingCriteria").cloned().unwrap_or(Value::Null);
    check_criteria(&criteria)?;
    let existing = all(&mut db, &d).await?;
    let rank = opt_int(input, "Rank").unwrap_or(existing.len() as i64 + 1);
    check_rank(rank)?;
    let token = opt_str(input, "ClientToken").filter(|t| !t.is_empty());
    if let Some((_, same)) = existing.iter().find(|(_, f)| f.name == name) {
        // A retry of the same create (same name and client token) answers as the first did.
        if token.is_some() && same.client_token.as_deref() == token {
            return Ok(json!({ "Name": name }));
        }
        return Err(GuardDutyError::BadRequestException(
            "The request is rejected because a filter with the same name already exists.".into(),
        )
        .into());
    }
    if existing.len() >= MAX_FILTERS {
        return Err(GuardDutyError::BadRequestException(format!(
            "The request is rejected because the current account cannot create more than {MAX_FILTERS} filters."
        ))
        .into());
    }
    let doc = FilterDoc {
        name: name.to_string(),
        description: description.to_string(),
        action: action.to_string(),
        rank,
        criteria,
        tags: tags::parse(input.get("Tags"))?,
        client_token: token.map(str::to_string),
    };
    let k = key(d.id(), name);
    let mut e = Entity {
        account_id: d.account().to_string(),
        kind: FILTER.into(),
        name: name.to_string(),
        name_key: k.clone(),
        id: format!("guardduty-filter-{k}"),
        path: model::under(d.id()),
        arn: format!("{}/filter/{name}", d.entity.arn),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: String::new(),
    };
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    Ok(json!({ "Name": name }))
}

/// `GetFilter`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let (_, f) = find(&mut db, ctx, input).await?;
    let mut out = json!({
        "Name": f.name,
        "Action": f.action,
        "Rank": f.rank,
        "FindingCriteria": f.criteria,
        "Tags": f.tags,
    });
    if let (false, Some(obj)) = (f.description.is_empty(), out.as_object_mut()) {
        obj.insert("Description".into(), json!(f.description));
    }
    Ok(out)
}

/// `UpdateFilter`: description, action, rank and criteria; returns the name.
pub async fn update(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, mut f) = find(&mut db, ctx, input).await?;
    if let Some(d) = opt_str(input, "Description") {
        check_description(d)?;
        f.description = d.to_string();
    }
    if let Some(a) = opt_str(input, "Action") {
        check_action(a)?;
        f.action = a.to_string();
    }
    if let Some(r) = opt_int(input, "Rank") {
        check_rank(r)?;
        f.rank = r;
    }
    if let Some(c) = input.get("FindingCriteria") {
        check_criteria(c)?;
        f.criteria = c.clone();
    }
    let name = f.name.clone();
    entity::save_doc(&mut db, e, &f, ctx.now).await?;
    Ok(json!({ "Name": name }))
}

/// `DeleteFilter`.
pub async fn delete(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (e, _) = find(&mut db, ctx, input).await?;
    db.entities()
        .delete(&e.account_id, FILTER, &e.name_key)
        .await?;
    Ok(json!({}))
}

/// `ListFilters`: the detector's filter names, by name.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let d = detector(&mut db, ctx, input).await?;
    let mut names: Vec<String> = model::all_under(&mut db, d.account(), FILTER, d.id())
        .await?
        .into_iter()
        .map(|e| e.name)
        .collect();
    names.sort();
    Ok(listed("FilterNames", input, names)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(name: &str, action: &str, rank: i64, ty: &str) -> FilterDoc {
        FilterDoc {
            name: name.into(),
            action: action.into(),
            rank,
            criteria: json!({ "Criterion": { "type": { "Eq": [ty] } } }),
            ..FilterDoc::default()
        }
    }

    #[test]
    fn names_descriptions_actions_ranks_and_criteria_are_checked() {
        assert!(check_name("ok-name_1.x").is_ok());
        for bad in ["ab", "has space", "slash/no", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_description(&"d".repeat(512)).is_ok());
        assert!(check_description(&"d".repeat(513)).is_err());
        assert!(check_description("two\nlines").is_err());
        assert!(check_action("ARCHIVE").is_ok() && check_action("NOOP").is_ok());
        assert!(check_action("archive").is_err());
        assert!(check_rank(1).is_ok() && check_rank(100).is_ok());
        assert!(check_rank(0).is_err() && check_rank(101).is_err());
        assert!(check_criteria(&json!({"Criterion": {"type": {"Eq": ["x"]}}})).is_ok());
        assert!(check_criteria(&json!({"Criterion": {}})).is_err());
        assert!(check_criteria(&json!({"Criterion": {"type": "x"}})).is_err());
        assert!(check_criteria(&Value::Null).is_err());
    }

    #[test]
    fn only_a_matching_archive_filter_suppresses_first_by_rank() {
        let kali = json!({ "Type": "PenTest:IAMUser/KaliLinux", "Severity": 5.0 });
        let root = json!({ "Type": "Policy:IAMUser/RootCredentialUsage", "Severity": 2.0 });
        let filters = vec![
            filter("view", "NOOP", 1, "Policy:IAMUser/RootCredentialUsage"),
            filter("kali-a", "ARCHIVE", 2, "PenTest:IAMUser/KaliLinux"),
            filter("kali-b", "ARCHIVE", 3, "PenTest:IAMUser/KaliLinux"),
        ];
        assert_eq!(suppressing(&filters, &kali), Some("kali-a"));
        // A NOOP filter is a saved view: it never archives.
        assert_eq!(suppressing(&filters, &root), None);
        assert_eq!(suppressing(&[], &kali), None);
    }
}
