//! The organization's resource-based delegation policy: `PutResourcePolicy`,
//! `DescribeResourcePolicy`, `DeleteResourcePolicy`; and the effective-policy validation
//! lists (`ListAccountsWithInvalidEffectivePolicy`, `ListEffectivePolicyValidationErrors`).
//!
//! The policy is one entity of kind `organizations:resource-policy` under the management
//! account. Only the management account puts or deletes it; the management account and
//! delegated administrators describe it.

use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{
    common::{managed_org, paged, readable_org, req, Org, Res},
    model, tree, OrgError,
};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity::{bump, read_doc, to_text, write_doc},
    timestamp::ts,
};

/// The entity kind of the delegation policy.
pub const RESOURCE_POLICY: &str = "organizations:resource-policy";
/// Its name key (one per organization).
const KEY: &str = "resourcepolicy";

/// The stored policy.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResourcePolicyDoc {
    /// `rp-` and 8 characters.
    pub id: String,
    /// The policy text as given.
    pub content: String,
    /// The tags given with `PutResourcePolicy`.
    #[serde(default)]
    pub tags: Vec<Value>,
}

fn not_found() -> OrgError {
    OrgError::ResourcePolicyNotFoundException
}

fn arn(org: &Org, id: &str) -> String {
    model::arn(
        org.partition(),
        &org.management,
        &format!("resourcepolicy/{}/{id}", org.id),
    )
}

fn answer(org: &Org, d: &ResourcePolicyDoc) -> Value {
    json!({"ResourcePolicy": {
        "ResourcePolicySummary": {"Id": d.id, "Arn": arn(org, &d.id)},
        "Content": d.content,
    }})
}

/// The organization's delegation policy text, if it has one (for the authorizer).
pub async fn content(db: &mut Db<'_>, org: &Org) -> Res<Option<String>> {
    let Some(e) = db
        .entities()
        .get(&org.management, RESOURCE_POLICY, KEY)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(read_doc::<ResourcePolicyDoc>(&e)?.content))
}

/// The delegation policy a call is decided with: the organization's, for a member account
/// that is neither the management account nor a registered delegated administrator. Its
/// resources are then the management account's, so the call is cross-account: the caller's
/// IAM policies and the delegation policy must both allow it.
pub async fn delegation(
    db: &mut Db<'_>,
    org: &Org,
    ctx: &CallContext,
) -> Res<Option<rampart_kit::authz::ResourcePolicy>> {
    let caller = &ctx.principal.account_id;
    if org.is_management(ctx) {
        return Ok(None);
    }
    let delegated = db
        .links()
        .targets(&org.management, model::LINK_DELEGATED, caller)
        .await?;
    if !delegated.is_empty() {
        return Ok(None);
    }
    Ok(content(db, org)
        .await?
        .map(|document| rampart_kit::authz::ResourcePolicy {
            name: format!("resource policy of organization {}", org.id),
            document,
            required: false,
            kind: rampart_policy::PolicyKind::Resource,
            account_only: false,
        }))
}

/// AWS's grammar of a delegation policy: an IAM resource policy whose actions are
/// Organizations' and whose resources are the organization's (or `*`).
fn check(org: &Org, content: &str) -> Res<()> {
    let bad_json = || {
        OrgError::invalid(
            "INVALID_RESOURCE_POLICY_JSON",
            "The resource policy is not a valid JSON policy document.",
        )
    };
    rampart_policy::Policy::parse(content, rampart_policy::PolicyKind::Resource)
        .map_err(|_| bad_json())?;
    let doc: Value = serde_json::from_str(content).map_err(|_| bad_json())?;
    let statements = match doc.get("Statement") {
        Some(Value::Array(s)) => s.clone(),
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    };
    let strings = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    let own = model::arn(org.partition(), &org.management, "");
    for s in &statements {
        if s.get("NotAction").is_some()
            || strings(s.get("Action"))
                .iter()
                .any(|a| !a.to_ascii_lowercase().starts_with("organizations:"))
        {
            return Err(OrgError::invalid(
                "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY",
                "The resource policy may only name AWS Organizations actions.",
            )
            .into());
        }
        if s.get("NotResource").is_some()
            || strings(s.get("Resource"))
                .iter()
                .any(|r| r != "*" && !r.starts_with(&own))
        {
            return Err(OrgError::invalid(
                "UNSUPPORTED_RESOURCE_IN_RESOURCE_POLICY",
                "The resource policy may only name the organization's resources.",
            )
            .into());
        }
    }
    Ok(())
}

/// `PutResourcePolicy`: creates or replaces the policy.
pub async fn put(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let content = req(input, "Content")?;
    check(&org, content)?;
    let tags = input
        .get("Tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let existing = db
        .entities()
        .get(&org.management, RESOURCE_POLICY, KEY)
        .await?;
    let doc = match existing {
        Some(mut e) => {
            let old: ResourcePolicyDoc = read_doc(&e)?;
            let doc = ResourcePolicyDoc {
                id: old.id,
                content: content.into(),
                tags: if tags.is_empty() { old.tags } else { tags },
            };
            write_doc(&mut e, &doc, ctx.now)?;
            db.entities().update(KEY, &e).await?;
            doc
        }
        None => {
            let id = format!("rp-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
            let doc = ResourcePolicyDoc {
                id: id.clone(),
                content: content.into(),
                tags,
            };
            let e = Entity {
                account_id: org.management.clone(),
                kind: RESOURCE_POLICY.into(),
                name: KEY.into(),
                name_key: KEY.into(),
                id: format!("{}/{id}", org.id),
                path: "/".into(),
                arn: arn(&org, &id),
                created_at: ctx.now,
                updated_at: ctx.now,
                doc: to_text(&doc)?,
            };
            db.entities().create(&e).await?;
            doc
        }
    };
    bump(db).await?;
    Ok(answer(&org, &doc))
}

/// `DescribeResourcePolicy`.
pub async fn describe(ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let e = db
        .entities()
        .get(&org.management, RESOURCE_POLICY, KEY)
        .await?
        .ok_or_else(not_found)?;
    Ok(answer(&org, &read_doc(&e)?))
}

/// `DeleteResourcePolicy`.
pub async fn delete(ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    if db
        .entities()
        .get(&org.management, RESOURCE_POLICY, KEY)
        .await?
        .is_none()
    {
        return Err(not_found().into());
    }
    db.entities()
        .delete(&org.management, RESOURCE_POLICY, KEY)
        .await?;
    bump(db).await?;
    Ok(json!({}))
}

/// The policy types whose effective policies AWS validates against a service's schema.
fn check_type(policy_type: &str) -> Res<()> {
    if !model::POLICY_TYPES.contains(&policy_type) || model::is_authorization(policy_type) {
        return Err(OrgError::invalid(
            "UNSUPPORTED_POLICY_TYPE_IN_EFFECTIVE_POLICY",
            "Effective policy validation is not available for this policy type.",
        )
        .into());
    }
    Ok(())
}

/// `ListAccountsWithInvalidEffectivePolicy`: Rampart knows no service's schema, so no
/// effective policy is invalid and the list is empty.
pub async fn invalid_accounts(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    readable_org(db, ctx).await?;
    let policy_type = req(input, "PolicyType")?;
    check_type(policy_type)?;
    let mut out = paged("Accounts", Vec::new(), input)?;
    if let Some(o) = out.as_object_mut() {
        o.insert("PolicyType".into(), json!(policy_type));
    }
    Ok(out)
}

/// `ListEffectivePolicyValidationErrors`: an account of the organization has no validation
/// errors (no service schema); `AccountNotFoundException` for another account.
pub async fn validation_errors(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = readable_org(db, ctx).await?;
    let policy_type = req(input, "PolicyType")?;
    let account = req(input, "AccountId")?;
    check_type(policy_type)?;
    if super::common::find(db, &org, model::MEMBER, account)
        .await?
        .is_none()
    {
        return Err(OrgError::AccountNotFoundException.into());
    }
    let path = tree::path_to(db, &org, account).await?;
    let mut out = paged("EffectivePolicyValidationErrors", Vec::new(), input)?;
    if let Some(o) = out.as_object_mut() {
        o.insert("AccountId".into(), json!(account));
        o.insert("PolicyType".into(), json!(policy_type));
        o.insert(
            "Path".into(),
            json!(format!("{}/{}/", org.id, path.join("/"))),
        );
        o.insert("EvaluationTimestamp".into(), json!(ts(ctx.now)));
    }
    Ok(out)
}
