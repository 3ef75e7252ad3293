//! `AssumeRole`: the trust policy (a required resource policy) and the caller's identity
//! policies decide; the session gets the role's permissions, capped by session policies.

use std::sync::Arc;

use rampart_policy::{evaluate, Outcome, Policy, PolicyKind, PolicyLayer, PolicySet, Request};
use rampart_store::{Principal as KeyOwner, PrincipalKind, Store};
use serde_json::{json, Value};

use crate::{issue, mfa, StsError};
use rampart_iam::{
    common::{parse_iam_arn, tags},
    model::{self, RoleDoc, RoleLastUsed},
    roles::{self, LINK_ROLE_SESSION},
};
use rampart_kit::{
    authz::{AuthzRequest, ResourcePolicy, ResourceRef},
    context::{CallContext, ContextEntry},
    db::Db,
    entity::read_doc,
    error::ServiceError,
    input::{missing_member, opt_int, opt_str, required, str_list},
    json_field::SetField,
    principal::SessionContext,
};

/// Most session tags.
const MAX_SESSION_TAGS: usize = 50;
/// Role chaining caps a session at one hour.
const CHAINED_MAX: i64 = 3600;

/// The session tags of the request: (key, value) pairs.
pub(super) fn session_tags(input: &Value) -> Vec<(String, String)> {
    input
        .get("Tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|t| {
                    (
                        opt_str(t, "Key").unwrap_or_default().to_string(),
                        opt_str(t, "Value").unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The condition keys `sts:AssumeRole` supplies from its request.
pub fn request_keys(input: &Value) -> Vec<ContextEntry> {
    let mut keys: Vec<ContextEntry> = Vec::new();
    if let Some(name) = opt_str(input, "RoleSessionName") {
        keys.push(("sts:RoleSessionName".into(), vec![name.to_string()]));
    }
    if let Some(x) = opt_str(input, "ExternalId") {
        keys.push(("sts:ExternalId".into(), vec![x.to_string()]));
    }
    if let Some(x) = opt_str(input, "SourceIdentity") {
        keys.push(("sts:SourceIdentity".into(), vec![x.to_string()]));
    }
    let tags = session_tags(input);
    for (k, v) in &tags {
        keys.push((format!("aws:RequestTag/{k}"), vec![v.clone()]));
    }
    if !tags.is_empty() {
        keys.push((
            "aws:TagKeys".into(),
            tags.iter().map(|(k, _)| k.clone()).collect(),
        ));
    }
    let transitive = str_list(input, "TransitiveTagKeys");
    if !transitive.is_empty() {
        keys.push(("sts:TransitiveTagKeys".into(), transitive));
    }
    keys
}

/// The authorization entry: `sts:AssumeRole` on the role, with its trust policy required.
/// A role that does not exist gets no entry (AccessDenied, as AWS answers).
pub async fn authz(
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    // AWS refuses the root user outright, whatever the trust policy says.
    if ctx.principal.kind == PrincipalKind::Root {
        return Err(
            StsError::AccessDenied("Roles may not be assumed by root accounts.".into()).into(),
        );
    }
    let Some(arn) = opt_str(input, "RoleArn") else {
        return Ok(None);
    };
    let Some((account, _, name)) = parse_iam_arn(arn, "role") else {
        return Ok(None);
    };
    let account = account.to_string();
    let Some(role) = store
        .entities()
        .get(&account, model::ROLE, &model::name_key(name))
        .await?
    else {
        return Ok(None);
    };
    if role.arn != arn {
        return Ok(None);
    }
    let doc: RoleDoc = read_doc(&role)?;
    let mut context = request_keys(input);
    context.extend(tags::resource_context(&doc.tags));
    let mfa_at = mfa::check(input, ctx, &mut Db::Read(store), &ctx.principal.user_id).await?;
    context.extend(mfa::context_keys(mfa_at, ctx.now));
    Ok(Some(AuthzRequest {
        action: "sts:AssumeRole".into(),
        resources: vec![ResourceRef {
            arn: role.arn.clone(),
            account,
            policy: Some(ResourcePolicy {
                name: format!("trust policy of role {}", role.name),
                document: doc.assume_role_policy.clone(),
                required: true,
                kind: PolicyKind::Trust,
                account_only: false,
            }),
        }],
        context,
        always_allowed: false,
    }))
}

/// Whether the trust policy alone allows `action` (`sts:TagSession`, `sts:SetSourceIdentity`)
/// for this caller; the caller's identity side was already checked for `sts:AssumeRole`.
fn trust_allows(
    trust: &str,
    action: &str,
    role_arn: &str,
    role_account: &str,
    ctx: &CallContext,
    input: &Value,
    mfa_keys: &[ContextEntry],
) -> bool {
    let mut keys = request_keys(input);
    keys.extend_from_slice(mfa_keys);
    trust_allows_with(trust, action, role_arn, role_account, ctx, &keys)
}

/// Whether the trust policy alone allows `action` on the role for this caller with these
/// condition keys.
pub(crate) fn trust_allows_with(
    trust: &str,
    action: &str,
    role_arn: &str,
    role_account: &str,
    ctx: &CallContext,
    keys: &[ContextEntry],
) -> bool {
    let Ok(trust) = Policy::parse(trust, PolicyKind::Trust) else {
        return false;
    };
    let Ok(everything) = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        PolicyKind::Identity,
    ) else {
        return false;
    };
    let set = PolicySet {
        identity: PolicyLayer::new(vec![Arc::new(everything)]),
        resource: Some(PolicyLayer::new(vec![Arc::new(trust)])),
        resource_policy_required: true,
        ..PolicySet::default()
    };
    let (principal, context) = ctx.policy_subject(keys, &[]);
    let req = Request::new(
        principal,
        action,
        role_arn,
        Some(role_account.to_string()),
        context,
    );
    evaluate(&req, &set).outcome == Outcome::Allow
}

pub(crate) fn denied(ctx: &CallContext, action: &str, arn: &str) -> ServiceError {
    StsError::AccessDenied(format!(
        "User: {} is not authorized to perform: {action} on resource: {arn}",
        ctx.principal.arn
    ))
    .into()
}

/// Checks a session name: 2-64 characters of `[\w+=,.@-]`.
pub fn check_session_name(name: &str, member: &str, max: usize) -> Result<(), ServiceError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if name.len() < 2 || name.len() > max || !ok_chars {
        return Err(StsError::ValidationError(format!(
            "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and {max}"
        ))
        .into());
    }
    Ok(())
}

/// Runs `AssumeRole`.
pub async fn handle(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let db = &mut db;
    let role_arn = required(input, "RoleArn", missing_member)?;
    let Some((account, _, name)) = parse_iam_arn(role_arn, "role") else {
        return Err(denied(ctx, "sts:AssumeRole", role_arn));
    };
    let account = account.to_string();
    let (role, mut doc) = match roles::load_role(db, &account, name).await {
        Ok(found) if found.0.arn == role_arn => found,
        _ => return Err(denied(ctx, "sts:AssumeRole", role_arn)),
    };
    let session_name = required(input, "RoleSessionName", missing_member)?;
    check_session_name(session_name, "roleSessionName", 64)?;
    let mfa_at = mfa::check(input, ctx, db, &ctx.principal.user_id).await?;
    let mfa_keys = mfa::context_keys(mfa_at, ctx.now);

    let previous = ctx.principal.session.as_ref().map(|s| &s.context);
    let chained = ctx.principal.kind == PrincipalKind::AssumedRole;
    let requested = opt_int(input, "DurationSeconds");
    let duration = if chained {
        if requested.is_some_and(|d| d > CHAINED_MAX) {
            return Err(StsError::ValidationError(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".into(),
            )
            .into());
        }
        issue::check_duration(requested, 3600, CHAINED_MAX, "")?
    } else {
        issue::check_duration(
            requested,
            3600,
            doc.max_session_duration,
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        )?
    };

    // Session tags: inherited transitive tags first; they cannot be overridden.
    let mut tags: Vec<(String, String)> = Vec::new();
    let mut transitive: Vec<String> = Vec::new();
    if let Some(prev) = previous.filter(|_| chained) {
        for (k, v) in &prev.tags {
            if prev
                .transitive_tag_keys
                .iter()
                .any(|t| t.eq_ignore_ascii_case(k))
            {
                tags.push((k.clone(), v.clone()));
                transitive.push(k.clone());
            }
        }
    }
    let new_tags = session_tags(input);
    if new_tags.len() > MAX_SESSION_TAGS {
        return Err(StsError::ValidationError(format!(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to {MAX_SESSION_TAGS}"
        ))
        .into());
    }
    let mut new_keys: Vec<&str> = Vec::new();
    for (k, v) in &new_tags {
        if new_keys.iter().any(|n| n.eq_ignore_ascii_case(k)) {
            return Err(StsError::InvalidParameterValue(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.".into(),
            )
            .into());
        }
        new_keys.push(k);
        if transitive.iter().any(|t| t.eq_ignore_ascii_case(k)) {
            return Err(StsError::InvalidParameterValue(format!(
                "One or more session tag keys are already set as transitive by the calling session and cannot be overridden: {k}"
            ))
            .into());
        }
        tags.push((k.clone(), v.clone()));
    }
    for k in str_list(input, "TransitiveTagKeys") {
        if !new_tags.iter().any(|(t, _)| t.eq_ignore_ascii_case(&k)) {
            return Err(StsError::InvalidParameterValue(format!(
                "The transitive tag key {k} must also be a session tag key."
            ))
            .into());
        }
        transitive.push(k);
    }
    if !new_tags.is_empty()
        && !trust_allows(
            &doc.assume_role_policy,
            "sts:TagSession",
            &role.arn,
            &account,
            ctx,
            input,
            &mfa_keys,
        )
    {
        return Err(denied(ctx, "sts:TagSession", &role.arn));
    }

    // Source identity: set once, then carried by every chained session.
    let mut source_identity = previous.and_then(|p| p.source_identity.clone());
    if let Some(si) = opt_str(input, "SourceIdentity") {
        if source_identity.as_deref().is_some_and(|prev| prev != si) {
            return Err(StsError::AccessDenied(
                "The source identity of a session cannot be changed once set.".into(),
            )
            .into());
        }
        if !trust_allows(
            &doc.assume_role_policy,
            "sts:SetSourceIdentity",
            &role.arn,
            &account,
            ctx,
            input,
            &mfa_keys,
        ) {
            return Err(denied(ctx, "sts:SetSourceIdentity", &role.arn));
        }
        source_identity = Some(si.to_string());
    }

    let (session_policies, mut packed) = issue::session_policies(db, input).await?;
    packed += new_tags
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum::<usize>();
    let packed_pct = issue::packed_percent(packed)?;

    let assumed_id = format!("{}:{session_name}", role.id);
    let assumed_arn = ctx.partition().arn(
        "sts",
        "",
        &account,
        &format!("assumed-role/{}/{session_name}", role.name),
    );
    let context = SessionContext {
        role_id: Some(role.id.clone()),
        role_arn: Some(role.arn.clone()),
        parent_user_id: None,
        parent_is_root: false,
        session_name: session_name.to_string(),
        session_policies,
        mfa_authenticated_at: mfa_at.or(previous.and_then(|p| p.mfa_authenticated_at)),
        source_identity: source_identity.clone(),
        tags,
        transitive_tag_keys: transitive,
        chained,
        federated_provider: previous.and_then(|p| p.federated_provider.clone()),
        root_task_policy: None,
    };
    let owner = KeyOwner {
        account_id: account.clone(),
        kind: PrincipalKind::AssumedRole,
        id: assumed_id.clone(),
        arn: assumed_arn.clone(),
    };
    let issued = issue::issue(db, owner, &context, ctx.now, duration).await?;
    db.links()
        .add(&account, LINK_ROLE_SESSION, &role.id, &issued.access_key_id)
        .await?;
    doc.last_used = Some(RoleLastUsed {
        date: ctx.now,
        region: ctx.region.clone(),
    });
    roles::save_role(db, role, &doc, ctx.now).await?;

    let mut out = json!({
        "Credentials": issued.to_json(),
        "AssumedRoleUser": { "AssumedRoleId": assumed_id, "Arn": assumed_arn },
        "PackedPolicySize": packed_pct,
    });
    if let Some(si) = source_identity {
        out.set_field("SourceIdentity", json!(si));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_follow_aws_rules() {
        assert!(check_session_name("alice@example.com", "roleSessionName", 64).is_ok());
        assert!(check_session_name("a", "roleSessionName", 64).is_err());
        assert!(check_session_name("has space", "roleSessionName", 64).is_err());
        assert!(check_session_name(&"x".repeat(65), "roleSessionName", 64).is_err());
    }

    #[test]
    fn request_keys_cover_external_id_and_tags() {
        let input = json!({
            "RoleSessionName": "s1",
            "ExternalId": "ext",
            "Tags": [{"Key": "team", "Value": "red"}],
            "TransitiveTagKeys": ["team"],
        });
        let keys = request_keys(&input);
        let get = |k: &str| {
            keys.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("sts:ExternalId"), Some(vec!["ext".to_string()]));
        assert_eq!(get("sts:RoleSessionName"), Some(vec!["s1".to_string()]));
        assert_eq!(get("aws:RequestTag/team"), Some(vec!["red".to_string()]));
        assert_eq!(get("aws:TagKeys"), Some(vec!["team".to_string()]));
        assert_eq!(get("sts:TransitiveTagKeys"), Some(vec!["team".to_string()]));
    }
}
