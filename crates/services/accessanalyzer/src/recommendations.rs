//! `GenerateFindingRecommendation` and `GetFindingRecommendation` for `UnusedPermission`
//! findings: for each identity policy of the role or user that grants actions of the unused
//! service (when the finding lists `actions`, that grants one of them), a step that replaces
//! it with the policy without those actions, keeping the used ones (`CREATE_POLICY` with the
//! `recommendedPolicy`), or detaches it when nothing it allows is left (`DETACH_POLICY`). Generating computes the recommendation at once (`SUCCEEDED`) and stores
//! it beside the finding; getting reads it.
//!
//! Actions whose service prefix is a wildcard (`*`, `s*:Get*`) cannot be narrowed by removing
//! a namespace and are left as they are.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use rampart_iam::{caller, model as iam};
use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str, page, timestamp::ts};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    action_scope,
    analyzers::{by_arn, max_results},
    error::{invalid, not_found, AaResult},
    model::{self, Analyzer, FindingDoc},
    unused::UNUSED_PERMISSION,
};

/// A stored recommendation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RecommendationDoc {
    /// The role or user.
    pub resource: String,
    /// When generation started and completed.
    pub at: DateTime<Utc>,
    /// The `RecommendedStep` objects.
    pub steps: Vec<Value>,
}

/// What removing the actions of `namespace` from a policy document does (see
/// [`action_scope::without_actions`]).
pub fn without_namespace(document: &str, namespace: &str) -> Option<Option<Value>> {
    action_scope::without_actions(document, namespace, None, &[])
}

/// The identity policies (name or ARN, document) of the role or user `arn` of `account`.
async fn policies_of(db: &mut Db<'_>, account: &str, arn: &str) -> AaResult<Vec<(String, String)>> {
    let (kind, name) = match arn
        .split_once(":role/")
        .or_else(|| arn.split_once(":user/"))
    {
        Some((_, rest)) if arn.contains(":role/") => (iam::ROLE, rest),
        Some((_, rest)) => (iam::USER, rest),
        None => return Ok(Vec::new()),
    };
    let name = name.rsplit('/').next().unwrap_or(name);
    let Some(e) = db
        .entities()
        .get(account, kind, &iam::name_key(name))
        .await?
    else {
        return Ok(Vec::new());
    };
    let found = if kind == iam::ROLE {
        caller::role_policies(db, account, &e.id).await?
    } else {
        caller::user_policies(db, account, &e.id).await?
    };
    Ok(found
        .identity
        .into_iter()
        .map(|p| (p.name, p.document))
        .collect())
}

/// The steps for an `UnusedPermission` finding.
async fn steps(db: &mut Db<'_>, f: &FindingDoc) -> AaResult<Vec<Value>> {
    let details = f
        .details
        .as_ref()
        .and_then(|d| d.get("unusedPermissionDetails"));
    let namespace = details
        .and_then(|d| opt_str(d, "serviceNamespace"))
        .unwrap_or_default()
        .to_string();
    let unused: Option<BTreeSet<String>> = details
        .and_then(|d| d.get("actions"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|a| opt_str(a, "action"))
                .map(str::to_ascii_lowercase)
                .collect()
        });
    let catalogue = action_scope::catalogue();
    let known = catalogue
        .get(namespace.as_str())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut out = Vec::new();
    for (name, document) in policies_of(db, &f.owner, &f.resource).await? {
        let step =
            match action_scope::without_actions(&document, &namespace, unused.as_ref(), known) {
                None => continue,
                Some(None) => {
                    json!({ "recommendedAction": "DETACH_POLICY", "existingPolicyId": name })
                }
                Some(Some(doc)) => json!({
                    "recommendedAction": "CREATE_POLICY",
                    "recommendedPolicy": doc.to_string(),
                    "existingPolicyId": name,
                }),
            };
        out.push(json!({ "unusedPermissionsRecommendedStep": step }));
    }
    Ok(out)
}

/// The analyzer and finding a request names.
async fn finding(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> AaResult<(Analyzer, FindingDoc)> {
    let a = by_arn(db, ctx, opt_str(input, "analyzerArn").unwrap_or_default()).await?;
    let id = opt_str(input, "id").unwrap_or_default();
    let e = db
        .entities()
        .get(a.account(), model::FINDING, id)
        .await?
        .filter(|e| e.path.starts_with(&a.prefix()))
        .ok_or_else(|| not_found(format!("Finding {id} not found")))?;
    let f: FindingDoc = entity::read_doc(&e)?;
    Ok((a, f))
}

/// `GenerateFindingRecommendation`.
pub async fn generate(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let (a, f) = finding(input, ctx, &mut db).await?;
    if f.finding_type.as_deref() != Some(UNUSED_PERMISSION) {
        return Err(invalid(
            "Recommendations are available for UnusedPermission findings only.",
        ));
    }
    let doc = RecommendationDoc {
        resource: f.resource.clone(),
        at: ctx.now,
        steps: steps(&mut db, &f).await?,
    };
    let key = f.id.clone();
    match db
        .entities()
        .get(a.account(), model::RECOMMENDATION, &key)
        .await?
    {
        Some(e) => entity::save_doc(&mut db, e, &doc, ctx.now).await?,
        None => {
            db.entities()
                .create(&Entity {
                    account_id: a.account().to_string(),
                    kind: model::RECOMMENDATION.into(),
                    name: key.clone(),
                    name_key: key.clone(),
                    id: format!("{}/{key}", model::RECOMMENDATION),
                    path: a.prefix(),
                    arn: format!("{}/finding/{key}/recommendation", a.arn()),
                    created_at: ctx.now,
                    updated_at: ctx.now,
                    doc: entity::to_text(&doc)?,
                })
                .await?;
        }
    }
    Ok(json!({}))
}

/// `GetFindingRecommendation`: the stored recommendation, its steps paged.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let (a, f) = finding(input, ctx, &mut db).await?;
    let e = db
        .entities()
        .get(a.account(), model::RECOMMENDATION, &f.id)
        .await?
        .ok_or_else(|| not_found(format!("No recommendation for finding {}", f.id)))?;
    let doc: RecommendationDoc = entity::read_doc(&e)?;
    let page = page::at_offset(doc.steps, opt_str(input, "nextToken"), max_results(input))
        .ok_or_else(|| invalid("Invalid nextToken"))?;
    let mut out = json!({
        "startedAt": ts(doc.at),
        "completedAt": ts(doc.at),
        "resourceArn": doc.resource,
        "recommendedSteps": page.items,
        "recommendationType": "UnusedPermissionRecommendation",
        "status": "SUCCEEDED",
    });
    if let (Some(next), Some(o)) = (page.next, out.as_object_mut()) {
        o.insert("nextToken".into(), json!(next));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unused_namespace_is_removed_or_the_policy_detached() {
        let both = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["kms:Encrypt","s3:GetObject"],"Resource":"*"},
            {"Effect":"Allow","Action":"KMS:Decrypt","Resource":"*"},
            {"Effect":"Deny","Action":"kms:Sign","Resource":"*"}]}"#;
        let Some(Some(doc)) = without_namespace(both, "kms") else {
            panic!("narrowed expected");
        };
        assert_eq!(
            doc["Statement"],
            json!([
                {"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"},
                {"Effect":"Deny","Action":"kms:Sign","Resource":"*"}
            ])
        );
        let only = r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#;
        assert_eq!(without_namespace(only, "kms"), Some(None));
        assert_eq!(without_namespace(only, "s3"), None);
        let wild = r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
        assert_eq!(without_namespace(wild, "kms"), None);
    }
}
