//! IAM's `GenerateOrganizationsAccessReport` / `GetOrganizationsAccessReport`: service
//! last-accessed data for an Organizations entity (root, OU or account), served here because
//! the entity path, the SCPs and the member accounts are the organization's state (routed
//! under IAM by the registry, as [`super::root_access`]).
//!
//! A report lists the services the SCPs that apply to the entity allow (or those one SCP
//! allows, with `OrganizationsPolicyId`) and, for each, the most recent use by an IAM user or
//! role of an account at or below the entity, from the last-access data IAM records on real
//! requests. Only the organization's management account may generate and read reports
//! (AWS's documented rule), with SCPs enabled on the root.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rampart_store::{Entity, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{
    common::{find, org_of, Org, Res},
    model::{self, PolicyDoc, RootDoc},
    policies,
    tree::{self, Node},
};
use rampart_iam::{
    common::{page, IamError},
    last_accessed::{allowed_services, service_name, UseDoc, LAST_ACCESS, SERVICES},
};
use rampart_kit::{
    authz::{AuthzQuestion, AuthzRequest, NamedPolicy},
    context::CallContext,
    db::Db,
    entity::{self, read_doc, to_text},
    error::ServiceError,
    input::{missing_member, opt_str, required},
    route::{Access, AuthzFn, BoxFuture, HandleFn, Route},
    timestamp::ts,
};
use rampart_model::iam::Op as IamOp;

/// Entity kind of a report job, under the management account (name key: the job id).
pub const JOB: &str = "iam:organizations-access-job";

/// A finished report job.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct JobDoc {
    created: DateTime<Utc>,
    /// Why the job failed (`ErrorDetails`), when it did.
    #[serde(default)]
    error: Option<(String, String)>,
    #[serde(default)]
    services: Vec<ServiceAccess>,
}

/// One service of a report and its most recent use below the entity.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ServiceAccess {
    namespace: String,
    #[serde(default)]
    last: Option<LastAccess>,
    accounts: usize,
}

/// The most recent use of a service: when, where, and the account's entity path.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LastAccess {
    at: DateTime<Utc>,
    region: String,
    entity_path: String,
}

/// A failure AWS reports in the job (`JobStatus` `FAILED`, `ErrorDetails`).
type Failure = (String, String);

fn failure(code: &str, message: String) -> Failure {
    (code.to_string(), message)
}

/// The caller's organization, which the caller's account must manage.
async fn managed_org(db: &mut Db<'_>, ctx: &CallContext) -> Res<Org> {
    let account = &ctx.principal.account_id;
    match org_of(db, account).await? {
        Some(org) if &org.management == account => Ok(org),
        _ => Err(IamError::AccessDenied(
            "The organizations access report can only be generated and read by the management account of an organization.".into(),
        )
        .into()),
    }
}

/// The node an entity path names, after checking each step is a child of the one before:
/// `o-.../r-...[/ou-...]*[/ACCOUNT]`.
async fn resolve_path(db: &mut Db<'_>, org: &Org, path: &str) -> Res<Result<String, Failure>> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let not_found = || {
        Ok(Err(failure(
            "EntityNotFound",
            format!("The entity path {path} does not name an entity of your organization."),
        )))
    };
    let (Some(org_id), Some(root_id)) = (parts.first(), parts.get(1)) else {
        return not_found();
    };
    if *org_id != org.id || *root_id != org.doc.root_id {
        return not_found();
    }
    for pair in parts.windows(2).skip(1) {
        let [parent, child] = pair else {
            return not_found();
        };
        if tree::parent_of(db, org, child).await?.as_deref() != Some(*parent) {
            return not_found();
        }
    }
    Ok(Ok(parts.last().map_or_else(String::new, |s| s.to_string())))
}

/// The accounts at or below `node` (an account, OU or root).
async fn accounts_under(db: &mut Db<'_>, org: &Org, node: &str) -> Res<Vec<String>> {
    if tree::node_of(node) == Some(Node::Account) {
        return Ok(vec![node.to_string()]);
    }
    let mut out = Vec::new();
    let mut parents = vec![node.to_string()];
    // The OU depth limit bounds the walk.
    for _ in 0..=tree::MAX_OU_DEPTH + 1 {
        let mut next = Vec::new();
        for parent in &parents {
            out.extend(tree::children(db, org, parent, Node::Account).await?);
            next.extend(tree::children(db, org, parent, Node::Ou).await?);
        }
        if next.is_empty() {
            break;
        }
        parents = next;
    }
    Ok(out)
}

/// The services the SCPs from the root down to `node` allow: each level must allow.
async fn scp_services(db: &mut Db<'_>, org: &Org, node: &str) -> Res<BTreeSet<&'static str>> {
    let mut allowed: BTreeSet<&'static str> = SERVICES.iter().map(|(ns, _)| *ns).collect();
    for level in tree::path_to(db, org, node).await? {
        let attached: Vec<NamedPolicy> = policies::attached(db, org, &level, model::SCP)
            .await?
            .into_iter()
            .map(|(e, d)| NamedPolicy {
                name: e.name,
                document: d.content,
            })
            .collect();
        let here: BTreeSet<&'static str> = allowed_services(&attached).into_iter().collect();
        allowed = allowed.intersection(&here).copied().collect();
    }
    Ok(allowed)
}

/// The services one SCP of the organization allows.
async fn policy_services(
    db: &mut Db<'_>,
    org: &Org,
    policy_id: &str,
) -> Res<Result<BTreeSet<&'static str>, Failure>> {
    let Some(e) = find(db, org, model::POLICY, policy_id).await? else {
        return Ok(Err(failure(
            "PolicyNotFound",
            format!("The policy {policy_id} cannot be found in your organization."),
        )));
    };
    let d: PolicyDoc = read_doc(&e)?;
    if d.policy_type != model::SCP {
        return Ok(Err(failure(
            "InvalidPolicyType",
            format!("The policy {policy_id} is not a service control policy."),
        )));
    }
    let named = NamedPolicy {
        name: e.name,
        document: d.content,
    };
    Ok(Ok(allowed_services(&[named]).into_iter().collect()))
}

/// The entity path of an account: `o-.../r-.../ou-.../ACCOUNT`.
async fn account_path(db: &mut Db<'_>, org: &Org, account: &str) -> Res<String> {
    let path = tree::path_to(db, org, account).await?;
    Ok(format!("{}/{}", org.id, path.join("/")))
}

/// Each service's most recent use by the accounts' users and roles, and how many accounts
/// used it.
async fn uses(
    db: &mut Db<'_>,
    org: &Org,
    accounts: &[String],
) -> Res<BTreeMap<String, (LastAccess, usize)>> {
    let mut out: BTreeMap<String, (LastAccess, usize)> = BTreeMap::new();
    for account in accounts {
        let mut latest: BTreeMap<String, (DateTime<Utc>, String)> = BTreeMap::new();
        for e in entity::all(db, account, LAST_ACCESS, "/").await? {
            let doc: UseDoc = read_doc(&e)?;
            for (ns, used) in doc {
                let slot = latest
                    .entry(ns)
                    .or_insert_with(|| (used.at, used.region.clone()));
                if used.at > slot.0 {
                    *slot = (used.at, used.region);
                }
            }
        }
        if latest.is_empty() {
            continue;
        }
        let entity_path = account_path(db, org, account).await?;
        for (ns, (at, region)) in latest {
            let here = LastAccess {
                at,
                region,
                entity_path: entity_path.clone(),
            };
            match out.get_mut(&ns) {
                Some((last, count)) => {
                    *count = count.saturating_add(1);
                    if here.at > last.at {
                        *last = here;
                    }
                }
                None => {
                    out.insert(ns, (here, 1));
                }
            }
        }
    }
    Ok(out)
}

/// The report of `path`, or why it cannot be made.
async fn report(
    db: &mut Db<'_>,
    org: &Org,
    path: &str,
    policy_id: Option<&str>,
) -> Res<Result<Vec<ServiceAccess>, Failure>> {
    let root = tree::root(db, org).await?;
    if !read_doc::<RootDoc>(&root)?
        .policy_types
        .iter()
        .any(|t| t == model::SCP)
    {
        return Ok(Err(failure(
            "PolicyTypeNotEnabled",
            "Service control policies are not enabled for your organization root.".into(),
        )));
    }
    let node = match resolve_path(db, org, path).await? {
        Ok(node) => node,
        Err(f) => return Ok(Err(f)),
    };
    let allowed = match policy_id {
        Some(id) => match policy_services(db, org, id).await? {
            Ok(s) => s,
            Err(f) => return Ok(Err(f)),
        },
        None => scp_services(db, org, &node).await?,
    };
    let accounts = accounts_under(db, org, &node).await?;
    let mut used = uses(db, org, &accounts).await?;
    Ok(Ok(allowed
        .into_iter()
        .map(|ns| {
            let (last, accounts) = used.remove(ns).map_or((None, 0), |(l, n)| (Some(l), n));
            ServiceAccess {
                namespace: ns.to_string(),
                last,
                accounts,
            }
        })
        .collect()))
}

/// `GenerateOrganizationsAccessReport`: makes the report now and stores it as a job.
pub async fn generate(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let path = required(input, "EntityPath", missing_member)?;
    let org = managed_org(db, ctx).await?;
    let (services, error) =
        match report(db, &org, path, opt_str(input, "OrganizationsPolicyId")).await? {
            Ok(s) => (s, None),
            Err(f) => (Vec::new(), Some(f)),
        };
    let job_id = uuid::Uuid::new_v4().to_string();
    let doc = JobDoc {
        created: ctx.now,
        error,
        services,
    };
    db.entities()
        .create(&Entity {
            account_id: org.management.clone(),
            kind: JOB.into(),
            name: job_id.clone(),
            name_key: job_id.clone(),
            id: format!("organizations-access-job:{job_id}"),
            path: "/".into(),
            arn: String::new(),
            created_at: ctx.now,
            updated_at: ctx.now,
            doc: to_text(&doc)?,
        })
        .await?;
    Ok(json!({ "JobId": job_id }))
}

/// Orders a report's services by AWS's `SortKey` (default: namespace ascending). Services
/// never used sort as older than every use.
fn sort(services: &mut [ServiceAccess], key: Option<&str>) -> Res<()> {
    let at = |s: &ServiceAccess| s.last.as_ref().map(|l| l.at);
    match key.unwrap_or("SERVICE_NAMESPACE_ASCENDING") {
        "SERVICE_NAMESPACE_ASCENDING" => services.sort_by(|a, b| a.namespace.cmp(&b.namespace)),
        "SERVICE_NAMESPACE_DESCENDING" => services.sort_by(|a, b| b.namespace.cmp(&a.namespace)),
        "LAST_AUTHENTICATED_TIME_ASCENDING" => {
            services.sort_by(|a, b| at(a).cmp(&at(b)).then(a.namespace.cmp(&b.namespace)))
        }
        "LAST_AUTHENTICATED_TIME_DESCENDING" => {
            services.sort_by(|a, b| at(b).cmp(&at(a)).then(a.namespace.cmp(&b.namespace)))
        }
        other => {
            return Err(IamError::ValidationError(format!(
                "1 validation error detected: Value '{other}' at 'sortKey' failed to satisfy constraint: Member must satisfy enum value set: [SERVICE_NAMESPACE_ASCENDING, SERVICE_NAMESPACE_DESCENDING, LAST_AUTHENTICATED_TIME_ASCENDING, LAST_AUTHENTICATED_TIME_DESCENDING]"
            ))
            .into())
        }
    }
    Ok(())
}

/// The `AccessDetail` structure.
fn detail_json(s: &ServiceAccess) -> Value {
    let mut m = Map::new();
    m.insert("ServiceName".into(), json!(service_name(&s.namespace)));
    m.insert("ServiceNamespace".into(), json!(s.namespace));
    if let Some(l) = &s.last {
        m.insert("Region".into(), json!(l.region));
        m.insert("EntityPath".into(), json!(l.entity_path));
        m.insert("LastAuthenticatedTime".into(), json!(ts(l.at)));
    }
    m.insert("TotalAuthenticatedEntities".into(), json!(s.accounts));
    Value::Object(m)
}

/// `GetOrganizationsAccessReport`: a job's status and one sorted page of its services.
pub async fn get(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let job_id = required(input, "JobId", missing_member)?;
    let org = managed_org(db, ctx).await?;
    let e = entity::find(db, &org.management, JOB, job_id)
        .await?
        .ok_or_else(|| {
            ServiceError::from(IamError::NoSuchEntity(format!(
                "The job with ID {job_id} cannot be found."
            )))
        })?;
    let mut doc: JobDoc = read_doc(&e)?;
    let mut out = Map::new();
    out.insert("JobCreationDate".into(), json!(ts(doc.created)));
    out.insert("JobCompletionDate".into(), json!(ts(doc.created)));
    if let Some((code, message)) = &doc.error {
        out.insert("JobStatus".into(), json!("FAILED"));
        out.insert(
            "ErrorDetails".into(),
            json!({"Code": code, "Message": message}),
        );
        return Ok(Value::Object(out));
    }
    sort(&mut doc.services, opt_str(input, "SortKey"))?;
    let not_accessed = doc.services.iter().filter(|s| s.last.is_none()).count();
    out.insert("JobStatus".into(), json!("COMPLETED"));
    out.insert(
        "NumberOfServicesAccessible".into(),
        json!(doc.services.len()),
    );
    out.insert("NumberOfServicesNotAccessed".into(), json!(not_accessed));
    let req = page::page_req(input)?;
    let indexed: Vec<(usize, ServiceAccess)> = doc.services.into_iter().enumerate().collect();
    let (items, truncated, last) =
        page::slice(indexed, |(i, _)| rampart_kit::page::index_key(*i), &req);
    out.insert(
        "AccessDetails".into(),
        Value::Array(items.iter().map(|(_, s)| detail_json(s)).collect()),
    );
    page::finish(&mut out, truncated, last.as_deref());
    Ok(Value::Object(out))
}

/// `iam:GenerateOrganizationsAccessReport` on the report's resource
/// (`arn:PARTITION:iam::ACCOUNT:access-report/ENTITY_PATH`, with `iam:OrganizationsPolicyId`);
/// `iam:GetOrganizationsAccessReport` on `*`.
fn authz<'a>(
    op: IamOp,
    input: &'a Value,
    ctx: &'a CallContext,
) -> BoxFuture<'a, Result<Option<AuthzQuestion>, ServiceError>> {
    Box::pin(async move {
        rampart_iam::session_token_gate(ctx)?;
        let account = &ctx.principal.account_id;
        let action = format!("iam:{}", rampart_model::ServiceOp::name(op));
        let q = if op == IamOp::GenerateOrganizationsAccessReport {
            let path = opt_str(input, "EntityPath").unwrap_or_default();
            let mut q = AuthzRequest::on(
                &action,
                ctx.partition()
                    .iam_arn(account, &format!("access-report/{path}")),
                account,
            );
            if let Some(id) = opt_str(input, "OrganizationsPolicyId") {
                q.context
                    .push(("iam:OrganizationsPolicyId".into(), vec![id.to_string()]));
            }
            q
        } else {
            AuthzRequest::on_any(&action, account)
        };
        Ok(Some(q.into()))
    })
}

fn generate_authz<'a>(
    input: &'a Value,
    ctx: &'a CallContext,
    _store: &'a Store,
) -> BoxFuture<'a, Result<Option<AuthzQuestion>, ServiceError>> {
    authz(IamOp::GenerateOrganizationsAccessReport, input, ctx)
}

fn get_authz<'a>(
    input: &'a Value,
    ctx: &'a CallContext,
    _store: &'a Store,
) -> BoxFuture<'a, Result<Option<AuthzQuestion>, ServiceError>> {
    authz(IamOp::GetOrganizationsAccessReport, input, ctx)
}

fn generate_handle<'a>(
    input: Value,
    ctx: &'a CallContext,
    mut db: Db<'a>,
) -> BoxFuture<'a, Result<Value, ServiceError>> {
    Box::pin(async move { generate(&input, ctx, &mut db).await })
}

fn get_handle<'a>(
    input: Value,
    ctx: &'a CallContext,
    mut db: Db<'a>,
) -> BoxFuture<'a, Result<Value, ServiceError>> {
    Box::pin(async move { get(&input, ctx, &mut db).await })
}

/// The entries of IAM's organizations access report operations; `None` for every other IAM
/// operation.
pub fn route(op: IamOp) -> Option<Route> {
    let (operation, access, authz, handle): (_, _, AuthzFn, HandleFn) = match op {
        IamOp::GenerateOrganizationsAccessReport => (
            "GenerateOrganizationsAccessReport",
            Access::Write,
            generate_authz,
            generate_handle,
        ),
        IamOp::GetOrganizationsAccessReport => (
            "GetOrganizationsAccessReport",
            Access::Read,
            get_authz,
            get_handle,
        ),
        _ => return None,
    };
    Some(Route {
        service: "iam",
        operation,
        access,
        authz,
        handle,
        prepare: None,
        authn: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(ns: &str, secs: Option<i64>) -> ServiceAccess {
        ServiceAccess {
            namespace: ns.into(),
            last: secs.map(|s| LastAccess {
                at: DateTime::from_timestamp(s, 0).unwrap(),
                region: "us-east-1".into(),
                entity_path: "o-x/r-x/111111111111".into(),
            }),
            accounts: usize::from(secs.is_some()),
        }
    }

    fn order(key: &str) -> Vec<String> {
        let mut list = vec![
            access("kms", Some(20)),
            access("iam", None),
            access("sts", Some(10)),
        ];
        sort(&mut list, Some(key)).unwrap();
        list.into_iter().map(|s| s.namespace).collect()
    }

    #[test]
    fn sort_keys_order_services() {
        assert_eq!(order("SERVICE_NAMESPACE_ASCENDING"), ["iam", "kms", "sts"]);
        assert_eq!(order("SERVICE_NAMESPACE_DESCENDING"), ["sts", "kms", "iam"]);
        assert_eq!(
            order("LAST_AUTHENTICATED_TIME_ASCENDING"),
            ["iam", "sts", "kms"]
        );
        assert_eq!(
            order("LAST_AUTHENTICATED_TIME_DESCENDING"),
            ["kms", "sts", "iam"]
        );
        let mut list = vec![access("iam", None)];
        assert_eq!(
            sort(&mut list, Some("NAME")).unwrap_err().code,
            "ValidationError"
        );
    }
}
