//! `GetSessionToken` (users and root: a session with the caller's own permissions) and
//! `GetFederationToken` (users and root: a federated user whose permissions are the
//! intersection of the caller's and the session policies passed; root's are everything).

use rampart_kit::Partition;
use rampart_store::{Principal as KeyOwner, PrincipalKind};
use serde_json::{json, Value};

use crate::{
    assume_role::{check_session_name, session_tags},
    issue, mfa, StsError,
};
use rampart_iam::{common::tags, model::Tag};
use rampart_kit::{
    authz::AuthzRequest,
    context::CallContext,
    db::Db,
    error::ServiceError,
    input::{missing_member, opt_int, opt_str, required},
    principal::SessionContext,
};

/// Longest session of an IAM user (36 hours).
const USER_MAX: i64 = 129_600;
/// Longest session of the root user.
const ROOT_MAX: i64 = 3600;
/// Default session length.
const DEFAULT: i64 = 43_200;

/// Only long-term credentials of users and root may call these operations.
fn require_long_term(ctx: &CallContext, op: &str) -> Result<(), ServiceError> {
    let p = &ctx.principal;
    if p.session.is_some() || !matches!(p.kind, PrincipalKind::User | PrincipalKind::Root) {
        return Err(
            StsError::AccessDenied(format!("Cannot call {op} with session credentials")).into(),
        );
    }
    Ok(())
}

/// Runs `GetSessionToken`.
pub async fn get_session_token(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    require_long_term(ctx, "GetSessionToken")?;
    let p = &ctx.principal;
    let max = if p.kind == PrincipalKind::Root {
        ROOT_MAX
    } else {
        USER_MAX
    };
    let duration = issue::check_duration(
        opt_int(input, "DurationSeconds"),
        DEFAULT,
        max,
        &format!(
            "1 validation error detected: Value '{}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {max}",
            opt_int(input, "DurationSeconds").unwrap_or_default()
        ),
    )?;
    let mfa_at = mfa::check(input, ctx, &mut db, &p.user_id).await?;
    let context = SessionContext {
        parent_user_id: (p.kind == PrincipalKind::User).then(|| p.user_id.clone()),
        session_name: p.name.clone(),
        mfa_authenticated_at: mfa_at,
        ..SessionContext::default()
    };
    let owner = KeyOwner {
        account_id: p.account_id.clone(),
        kind: p.kind,
        id: p.user_id.clone(),
        arn: p.arn.clone(),
    };
    let issued = issue::issue(&mut db, owner, &context, ctx.now, duration).await?;
    Ok(json!({ "Credentials": issued.to_json() }))
}

/// The ARN of a federated user.
pub fn federated_arn(partition: Partition, account: &str, name: &str) -> String {
    partition.arn("sts", "", account, &format!("federated-user/{name}"))
}

/// `sts:GetFederationToken` on the federated user's ARN, with the request's tag keys.
pub fn federation_authz(input: &Value, ctx: &CallContext) -> AuthzRequest {
    let account = &ctx.principal.account_id;
    let name = opt_str(input, "Name").unwrap_or_default();
    let mut q = AuthzRequest::on(
        "sts:GetFederationToken",
        federated_arn(ctx.partition(), account, name),
        account,
    );
    let tags = federation_tags(input).unwrap_or_default();
    q.context = tags::request_context(&tags);
    q
}

/// The session tags of a `GetFederationToken` request: unique keys, at most 50
/// (`InvalidParameterValue` otherwise).
fn federation_tags(input: &Value) -> Result<Vec<Tag>, ServiceError> {
    let tags: Vec<Tag> = session_tags(input)
        .into_iter()
        .map(|(key, value)| Tag { key, value })
        .collect();
    tags::validate_unique(&tags).map_err(|e| StsError::InvalidParameterValue(e.message))?;
    Ok(tags)
}

/// Runs `GetFederationToken`.
pub async fn get_federation_token(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    require_long_term(ctx, "GetFederationToken")?;
    let p = &ctx.principal;
    let root = p.kind == PrincipalKind::Root;
    let name = required(input, "Name", missing_member)?;
    check_session_name(name, "name", 32)?;
    let duration = issue::check_duration(
        opt_int(input, "DurationSeconds"),
        DEFAULT,
        USER_MAX,
        "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600",
    )?;
    // AWS: a root caller's federated session lasts at most an hour; a longer request is
    // shortened to an hour, not refused.
    let duration = if root {
        duration.min(ROOT_MAX)
    } else {
        duration
    };
    let (policies, mut packed) = issue::session_policies(&mut db, input).await?;
    let tags: Vec<(String, String)> = federation_tags(input)?
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    packed += tags.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    let packed_pct = issue::packed_percent(packed)?;
    let session_policies = Some(policies.unwrap_or_else(|| vec![issue::deny_all_session_policy()]));
    let context = SessionContext {
        parent_user_id: (!root).then(|| p.user_id.clone()),
        parent_is_root: root,
        session_name: name.to_string(),
        session_policies,
        tags,
        ..SessionContext::default()
    };
    let federated_id = format!("{}:{name}", p.account_id);
    let arn = federated_arn(ctx.partition(), &p.account_id, name);
    let owner = KeyOwner {
        account_id: p.account_id.clone(),
        kind: PrincipalKind::FederatedUser,
        id: federated_id.clone(),
        arn: arn.clone(),
    };
    let issued = issue::issue(&mut db, owner, &context, ctx.now, duration).await?;
    Ok(json!({
        "Credentials": issued.to_json(),
        "FederatedUser": { "FederatedUserId": federated_id, "Arn": arn },
        "PackedPolicySize": packed_pct,
    }))
}
