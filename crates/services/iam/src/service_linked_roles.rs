//! Service-linked roles: created for an AWS service principal with AWS's name and path
//! (`/aws-service-role/<principal>/AWSServiceRoleFor<Service>[_<suffix>]`), trusting only that
//! principal, and deleted through a deletion task whose status can be read back. Ordinary edits
//! of these roles are refused by AWS's fixed rules (`rampart_policy::aws_rules`), before any
//! policy is read.

use super::Op;
use rampart_store::{Entity, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    common::{bump, find, opt_str, read_doc, req_str, to_text, IamError, Res},
    model::{self, RoleDoc},
    roles,
};
use rampart_kit::json_field::SetField;
use rampart_kit::{authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError};

/// Entity kind of deletion tasks (name: the task id).
pub const DELETION_TASK: &str = "iam:slr-deletion-task";
/// The path prefix of every service-linked role.
pub const SERVICE_ROLE_PATH: &str = "/aws-service-role/";

/// One service that creates service-linked roles.
struct Service {
    principal: &'static str,
    /// The role name after `AWSServiceRoleFor`.
    name: &'static str,
    /// Whether the service accepts a `CustomSuffix`.
    suffix_allowed: bool,
}

const fn svc(principal: &'static str, name: &'static str, suffix_allowed: bool) -> Service {
    Service {
        principal,
        name,
        suffix_allowed,
    }
}

/// The services Rampart knows, with the role names AWS gives them.
const SERVICES: &[Service] = &[
    svc("access-analyzer.amazonaws.com", "AccessAnalyzer", false),
    svc("autoscaling.amazonaws.com", "AutoScaling", true),
    svc("cloudtrail.amazonaws.com", "CloudTrail", false),
    svc("config.amazonaws.com", "Config", false),
    svc("detective.amazonaws.com", "Detective", false),
    svc(
        "dynamodb.application-autoscaling.amazonaws.com",
        "ApplicationAutoScaling_DynamoDBTable",
        false,
    ),
    svc("ec2scheduled.amazonaws.com", "EC2Scheduled", false),
    svc("ecs.amazonaws.com", "ECS", false),
    svc("eks.amazonaws.com", "AmazonEKS", false),
    svc("eks-nodegroup.amazonaws.com", "AmazonEKSNodegroup", false),
    svc("elasticache.amazonaws.com", "ElastiCache", false),
    svc("elasticbeanstalk.amazonaws.com", "ElasticBeanstalk", true),
    svc(
        "elasticloadbalancing.amazonaws.com",
        "ElasticLoadBalancing",
        false,
    ),
    svc("events.amazonaws.com", "CloudWatchEvents", false),
    svc("guardduty.amazonaws.com", "AmazonGuardDuty", false),
    svc("inspector2.amazonaws.com", "AmazonInspector2", false),
    svc("lexbot.amazonaws.com", "LexBots", true),
    svc("macie.amazonaws.com", "AmazonMacie", false),
    svc(
        "mrk.kms.amazonaws.com",
        "KeyManagementServiceMultiRegionKeys",
        false,
    ),
    svc(
        "opensearchservice.amazonaws.com",
        "AmazonOpenSearchService",
        false,
    ),
    svc("organizations.amazonaws.com", "Organizations", false),
    svc("rds.amazonaws.com", "RDS", false),
    svc("redshift.amazonaws.com", "Redshift", false),
    svc("replicator.lambda.amazonaws.com", "LambdaReplicator", false),
    svc("securityhub.amazonaws.com", "SecurityHub", false),
    svc("spot.amazonaws.com", "EC2Spot", false),
    svc("spotfleet.amazonaws.com", "EC2SpotFleet", false),
    svc("ssm.amazonaws.com", "AmazonSSM", false),
    svc("sso.amazonaws.com", "SSO", false),
    svc("support.amazonaws.com", "Support", false),
    svc("trustedadvisor.amazonaws.com", "TrustedAdvisor", false),
];

/// A deletion task's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDoc {
    /// `SUCCEEDED` or `FAILED`.
    pub status: String,
    /// Why it failed.
    #[serde(default)]
    pub reason: Option<String>,
    /// The role's ARN.
    pub role_arn: String,
}

fn service(principal: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.principal == principal)
}

/// The role name and path `CreateServiceLinkedRole` gives, or AWS's refusal.
fn role_name(input: &Value) -> Res<(String, String)> {
    let principal = req_str(input, "AWSServiceName")?;
    let Some(s) = service(principal) else {
        return Err(IamError::InvalidInput(format!(
            "Service name {principal} is not a valid service principal."
        ))
        .into());
    };
    let mut name = format!("AWSServiceRoleFor{}", s.name);
    if let Some(suffix) = opt_str(input, "CustomSuffix") {
        if !s.suffix_allowed {
            return Err(IamError::InvalidInput(format!(
                "Custom suffix is not allowed for {principal}"
            ))
            .into());
        }
        name = format!("{name}_{suffix}");
    }
    Ok((name, format!("{SERVICE_ROLE_PATH}{principal}/")))
}

/// The authorization entry of an operation of this family.
pub async fn authz(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let account = &ctx.principal.account_id;
    let action = format!("iam:{}", op.name());
    let arn = match op {
        Op::CreateServiceLinkedRole => {
            let principal = opt_str(input, "AWSServiceName").unwrap_or_default();
            let mut req = match role_name(input) {
                Ok((name, path)) => AuthzRequest::on(
                    &action,
                    model::arn(ctx.partition(), account, "role", &path, &name),
                    account,
                ),
                Err(_) => AuthzRequest::on_any(&action, account),
            };
            req.context
                .push(("iam:AWSServiceName".into(), vec![principal.to_string()]));
            return Ok(Some(req));
        }
        Op::DeleteServiceLinkedRole => {
            let name = req_str(input, "RoleName")?;
            match find(&mut Db::Read(store), account, model::ROLE, name).await? {
                Some(e) => e.arn,
                None => model::arn(ctx.partition(), account, "role", "/", name),
            }
        }
        Op::GetServiceLinkedRoleDeletionStatus => {
            let id = req_str(input, "DeletionTaskId")?;
            match task_role(id) {
                Some((path, name)) => model::arn(ctx.partition(), account, "role", &path, &name),
                None => return Ok(Some(AuthzRequest::on_any(&action, account))),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(AuthzRequest::on(&action, arn, account)))
}

/// The trust policy of a service-linked role: the service principal may assume it.
fn trust_policy(principal: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": [principal]},
            "Action": ["sts:AssumeRole"],
        }],
    })
    .to_string()
}

pub async fn create(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let principal = req_str(input, "AWSServiceName")?;
    let (name, path) = role_name(input)?;
    if find(db, account, model::ROLE, &name).await?.is_some() {
        return Err(IamError::InvalidInput(format!(
            "Service role name {name} has been taken in this account, please try a different suffix."
        ))
        .into());
    }
    let doc = RoleDoc {
        assume_role_policy: trust_policy(principal),
        description: opt_str(input, "Description").map(str::to_string),
        max_session_duration: 3600,
        ..RoleDoc::default()
    };
    let e = Entity {
        account_id: account.clone(),
        kind: model::ROLE.into(),
        name: name.clone(),
        name_key: model::name_key(&name),
        id: crate::common::new_id("AROA")?,
        path: path.clone(),
        arn: model::arn(ctx.partition(), account, "role", &path, &name),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: to_text(&doc)?,
    };
    db.entities().create(&e).await?;
    bump(db).await?;
    let mut role = roles::role_json(&e, &doc, true);
    if let Some(o) = role.as_object_mut() {
        o.remove("RoleLastUsed");
    }
    Ok(json!({ "Role": role }))
}

/// The (path, role name) a task id names: `task/aws-service-role/<principal>/<role>/<uuid>`.
fn task_role(id: &str) -> Option<(String, String)> {
    let rest = id.strip_prefix("task/aws-service-role/")?;
    let mut parts = rest.split('/');
    let (principal, role, uuid) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || principal.is_empty() || role.is_empty() || uuid.is_empty() {
        return None;
    }
    Some((format!("{SERVICE_ROLE_PATH}{principal}/"), role.to_string()))
}

pub async fn delete(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let name = req_str(input, "RoleName")?;
    let (e, _) = roles::load_role(db, account, name).await?;
    let Some(principal) = e
        .path
        .strip_prefix(SERVICE_ROLE_PATH)
        .and_then(|p| p.strip_suffix('/'))
    else {
        return Err(IamError::InvalidInput(format!(
            "Role {} is not a service-linked role.",
            e.name
        ))
        .into());
    };
    let task_id = format!(
        "task/aws-service-role/{principal}/{}/{}",
        e.name,
        uuid::Uuid::new_v4()
    );
    let profiles = db.links().sources(model::LINK_PROFILE_ROLE, &e.id).await?;
    let task = if profiles.is_empty() {
        roles::end_sessions(db, account, &e.id).await?;
        db.links()
            .remove_all(account, model::LINK_ATTACHED, &e.id)
            .await?;
        db.entities()
            .delete(account, model::ROLE, &e.name_key)
            .await?;
        super::last_use::forget(db, account, &e.arn).await?;
        TaskDoc {
            status: "SUCCEEDED".into(),
            reason: None,
            role_arn: e.arn.clone(),
        }
    } else {
        TaskDoc {
            status: "FAILED".into(),
            reason: Some("The role is in use by an instance profile.".into()),
            role_arn: e.arn.clone(),
        }
    };
    let t = Entity {
        account_id: account.clone(),
        kind: DELETION_TASK.into(),
        name: task_id.clone(),
        name_key: model::name_key(&task_id),
        id: task_id.clone(),
        path: "/".into(),
        arn: task_id.clone(),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: to_text(&task)?,
    };
    db.entities().create(&t).await?;
    bump(db).await?;
    Ok(json!({ "DeletionTaskId": task_id }))
}

pub async fn deletion_status(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let id = req_str(input, "DeletionTaskId")?;
    if task_role(id).is_none() {
        return Err(IamError::InvalidInput(format!("Invalid deletion task id: {id}")).into());
    }
    let Some(e) = find(db, &ctx.principal.account_id, DELETION_TASK, id).await? else {
        return Err(IamError::NoSuchEntity(format!("Deletion task {id} does not exist.")).into());
    };
    let task: TaskDoc = read_doc(&e)?;
    let mut out = json!({ "Status": task.status });
    if let Some(r) = task.reason {
        out.set_field("Reason", json!({ "Reason": r }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        let ok =
            role_name(&json!({"AWSServiceName": "autoscaling.amazonaws.com", "CustomSuffix": "x"}));
        assert_eq!(
            ok.ok(),
            Some((
                "AWSServiceRoleForAutoScaling_x".to_string(),
                "/aws-service-role/autoscaling.amazonaws.com/".to_string()
            ))
        );
        assert!(role_name(
            &json!({"AWSServiceName": "elasticloadbalancing.amazonaws.com", "CustomSuffix": "x"})
        )
        .is_err());
        assert!(role_name(&json!({"AWSServiceName": "nope.amazonaws.com"})).is_err());
        assert_eq!(
            task_role("task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/abc"),
            Some((
                "/aws-service-role/ecs.amazonaws.com/".into(),
                "AWSServiceRoleForECS".into()
            ))
        );
        assert_eq!(task_role("task/x"), None);
    }
}
