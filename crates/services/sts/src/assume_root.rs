//! `AssumeRoot`: a short privileged root session of a member account, for the management
//! account or IAM's delegated administrator of an organization with root sessions enabled.
//!
//! The caller's policies decide `sts:AssumeRoot` on the member's root
//! (`arn:aws:iam::MEMBER:root`, with `sts:TaskPolicyArn`); the organization decides whether
//! the session may exist ([`rampart_organizations::root_access`]). The session is the
//! member's root user (`GetCallerIdentity` shows `arn:aws:iam::MEMBER:root`), scoped by the
//! task policy as a session policy whose Deny statements bind it; `aws:AssumedRoot` is true
//! for its calls, and the member's SCPs apply as to its root user.

use rampart_organizations::root_access::{root_session_refusal, RootSessionRefusal};
use rampart_store::{Principal as KeyOwner, PrincipalKind};
use serde_json::{json, Value};

use crate::{issue, root_tasks, StsError};
use rampart_kit::{
    authz::{AuthzRequest, NamedPolicy, ResourceRef},
    context::CallContext,
    db::Db,
    error::ServiceError,
    input::{missing_member, opt_int, opt_str, required},
    principal::SessionContext,
    Partition,
};

/// The longest (and default) root session.
const MAX_DURATION: i64 = 900;

/// The member account `TargetPrincipal` names: an account id or the account's root ARN.
fn target_account(partition: Partition, target: &str) -> Option<&str> {
    let id = partition
        .strip_iam_arn(target)
        .and_then(|rest| rest.strip_suffix(":root"))
        .unwrap_or(target);
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// The task policy ARN of the request (`TaskPolicyArn.arn`).
fn task_policy_arn(input: &Value) -> Option<&str> {
    input.get("TaskPolicyArn").and_then(|t| opt_str(t, "arn"))
}

/// AWS refuses root user credentials outright.
fn refuse_root(ctx: &CallContext) -> Result<(), ServiceError> {
    if ctx.principal.kind == PrincipalKind::Root {
        return Err(StsError::AccessDenied(format!(
            "User: {} is not authorized to perform: sts:AssumeRoot: root user credentials cannot call AssumeRoot",
            ctx.principal.arn
        ))
        .into());
    }
    Ok(())
}

/// The authorization entry: `sts:AssumeRoot` on the member's root user, with
/// `sts:TaskPolicyArn`, evaluated as the caller's own (the organization, not a resource
/// policy, decides the member's side).
pub async fn authz(input: &Value, ctx: &CallContext) -> Result<Option<AuthzRequest>, ServiceError> {
    refuse_root(ctx)?;
    let account = ctx.principal.account_id.clone();
    let target = opt_str(input, "TargetPrincipal")
        .and_then(|t| target_account(ctx.partition(), t))
        .map(|a| ctx.partition().root_arn(a))
        .unwrap_or_else(|| "*".into());
    let mut context = Vec::new();
    if let Some(arn) = task_policy_arn(input) {
        context.push(("sts:TaskPolicyArn".to_string(), vec![arn.to_string()]));
    }
    Ok(Some(AuthzRequest {
        action: "sts:AssumeRoot".into(),
        resources: vec![ResourceRef {
            arn: target,
            account,
            policy: None,
        }],
        context,
        always_allowed: false,
    }))
}

/// Checks `DurationSeconds` against AWS's range (0 to 900, default 900).
fn duration(input: &Value) -> Result<i64, ServiceError> {
    match opt_int(input, "DurationSeconds") {
        None => Ok(MAX_DURATION),
        Some(d) if (0..=MAX_DURATION).contains(&d) => Ok(d),
        Some(d) => Err(StsError::ValidationError(format!(
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value {} {}",
            if d < 0 { "greater than or equal to" } else { "less than or equal to" },
            if d < 0 { 0 } else { MAX_DURATION }
        ))
        .into()),
    }
}

/// The organization's refusal in STS's words (`AccessDenied`).
fn refusal(ctx: &CallContext, target: &str, why: RootSessionRefusal) -> ServiceError {
    let reason = match why {
        RootSessionRefusal::NotAdministrator => "the caller's account is not the management account or delegated administrator for IAM of an organization",
        RootSessionRefusal::RootSessionsDisabled => "root sessions are not enabled for the organization (EnableOrganizationsRootSessions)",
        RootSessionRefusal::NotAMember => "the target is not a member account of the caller's organization",
        RootSessionRefusal::ManagementAccount => "the target is the organization's management account",
    };
    StsError::AccessDenied(format!(
        "User: {} is not authorized to perform: sts:AssumeRoot on resource: {}: {reason}",
        ctx.principal.arn,
        ctx.partition().root_arn(target)
    ))
    .into()
}

/// Runs `AssumeRoot`.
pub async fn handle(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    refuse_root(ctx)?;
    let target = required(input, "TargetPrincipal", missing_member)?;
    let task_arn = task_policy_arn(input)
        .ok_or_else(|| missing_member("TaskPolicyArn"))?
        .to_string();
    let duration = duration(input)?;
    let Some(account) = target_account(ctx.partition(), target) else {
        return Err(StsError::ValidationError(format!(
            "The TargetPrincipal {target} is not an account id or an account's root user ARN."
        ))
        .into());
    };
    let Some(document) = root_tasks::document(&task_arn) else {
        return Err(StsError::ValidationError(format!(
            "The TaskPolicyArn {task_arn} is not one of the AWS managed root task policies ({}...).",
            root_tasks::PREFIX
        ))
        .into());
    };
    if let Some(why) = root_session_refusal(&mut db, &ctx.principal.account_id, account).await? {
        return Err(refusal(ctx, account, why));
    }
    let context = SessionContext {
        session_name: account.to_string(),
        session_policies: Some(vec![NamedPolicy {
            name: task_arn.clone(),
            document: document.to_string(),
        }]),
        root_task_policy: Some(task_arn),
        ..SessionContext::default()
    };
    let owner = KeyOwner {
        account_id: account.to_string(),
        kind: PrincipalKind::Root,
        id: account.to_string(),
        arn: ctx.partition().root_arn(account),
    };
    let issued = issue::issue(&mut db, owner, &context, ctx.now, duration).await?;
    Ok(json!({ "Credentials": issued.to_json() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_account_ids_or_root_arns() {
        assert_eq!(
            target_account(Partition::Aws, "111122223333"),
            Some("111122223333")
        );
        assert_eq!(
            target_account(Partition::Aws, "arn:aws:iam::111122223333:root"),
            Some("111122223333")
        );
        assert_eq!(
            target_account(Partition::Aws, "arn:aws:iam::111122223333:user/x"),
            None
        );
        assert_eq!(target_account(Partition::Aws, "11112222333"), None);
    }

    #[test]
    fn durations_stop_at_fifteen_minutes() {
        assert_eq!(duration(&json!({})).unwrap(), 900);
        assert_eq!(duration(&json!({"DurationSeconds": 600})).unwrap(), 600);
        let err = duration(&json!({"DurationSeconds": 901})).unwrap_err();
        assert_eq!(err.code, "ValidationError");
        assert!(err.message.contains("less than or equal to 900"));
    }

    #[test]
    fn root_credentials_are_refused() {
        let ctx = rampart_kit::test_support::root_context();
        let err = refuse_root(&ctx).unwrap_err();
        assert_eq!(err.code, "AccessDenied");
    }
}
