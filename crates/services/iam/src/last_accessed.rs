//! Service last-accessed data: when each IAM user or role last used each service (recorded
//! by the server from real requests, debounced), and the `GenerateServiceLastAccessedDetails`
//! / `GetServiceLastAccessedDetails` jobs that report it for a user, role, group or policy
//! (`ACTION_LEVEL` jobs add each tracked service's actions, see [`action_access`]).

use super::Op;
use rampart_kit::Partition;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_store::{Entity, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{
    action_access, caller,
    common::{find, opt_str, page, parse_iam_arn, read_doc, req_str, to_text, ts, IamError, Res},
    groups,
    model::{self, GROUP, LINK_ATTACHED, POLICY, ROLE, USER},
};
use rampart_kit::{
    authz::{AuthzRequest, NamedPolicy},
    context::CallContext,
    db::Db,
    error::ServiceError,
};

/// Entity kind of an IAM entity's per-service last access (name key: the entity's ARN).
pub const LAST_ACCESS: &str = "iam:last-access";
/// Entity kind of a finished last-accessed job (name key: the job id).
pub const JOB: &str = "iam:access-job";

/// The services Rampart serves: namespace and AWS's service name.
pub const SERVICES: [(&str, &str); 6] = [
    ("cloudtrail", "AWS CloudTrail"),
    ("iam", "AWS Identity and Access Management"),
    ("kms", "AWS Key Management Service"),
    ("organizations", "AWS Organizations"),
    ("secretsmanager", "AWS Secrets Manager"),
    ("sts", "AWS Security Token Service"),
];

/// One service's last use by one entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastUse {
    /// When.
    pub at: DateTime<Utc>,
    /// The region of that request.
    pub region: String,
}

/// Last uses of one entity, by service namespace.
pub type UseDoc = BTreeMap<String, LastUse>;

/// What one node noted of one entity since its last flush: last uses by service namespace
/// and by action (`prefix:Action`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Noted {
    /// Last uses by service namespace.
    pub services: UseDoc,
    /// Last uses by action.
    pub actions: UseDoc,
}

/// The authorization entry: generating acts on the entity, reading a job on `*`.
pub async fn authz(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    _store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let operation = op.name();
    let account = &ctx.principal.account_id;
    let action = format!("iam:{operation}");
    Ok(Some(match op {
        Op::GenerateServiceLastAccessedDetails => {
            AuthzRequest::on(&action, req_str(input, "Arn")?.to_string(), account)
        }
        Op::GetServiceLastAccessedDetails | Op::GetServiceLastAccessedDetailsWithEntities => {
            AuthzRequest::on_any(&action, account)
        }
        _ => return Ok(None),
    }))
}

/// A finished job.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct JobDoc {
    created: DateTime<Utc>,
    /// `SERVICE_LEVEL` or `ACTION_LEVEL` (jobs stored before action level: service level).
    #[serde(default)]
    action_level: bool,
    services: Vec<Value>,
    #[serde(default)]
    entities: Vec<JobEntity>,
}

/// A user or role the job covers, with its own last uses.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct JobEntity {
    arn: String,
    name: String,
    id: String,
    path: String,
    kind: String,
    uses: UseDoc,
}

fn invalid_arn(arn: &str) -> ServiceError {
    IamError::InvalidInput(format!("Invalid ARN: {arn}")).into()
}

/// The users and roles whose use counts for `arn` (a user, role, group or policy), and the
/// policies that decide which services appear.
async fn subjects(
    db: &mut Db<'_>,
    account: &str,
    arn: &str,
) -> Res<(Vec<Entity>, Vec<NamedPolicy>)> {
    let kind_of = |t: &str| match t {
        "user" => Some(USER),
        "role" => Some(ROLE),
        "group" => Some(GROUP),
        "policy" => Some(POLICY),
        _ => None,
    };
    let rtype = Partition::of_arn(arn)
        .and_then(|p| p.strip_iam_arn(arn))
        .and_then(|r| r.split_once(':'))
        .and_then(|(_, r)| r.split('/').next())
        .ok_or_else(|| invalid_arn(arn))?;
    let kind = kind_of(rtype).ok_or_else(|| invalid_arn(arn))?;
    let (acct, _, name) = parse_iam_arn(arn, rtype).ok_or_else(|| invalid_arn(arn))?;
    let owner = if kind == POLICY { acct } else { account };
    let e = match find(db, owner, kind, name).await? {
        Some(e) if e.arn == arn => e,
        _ => {
            return Err(IamError::NoSuchEntity(format!("The entity {arn} cannot be found.")).into())
        }
    };
    let mut arns = Vec::new();
    let mut policies = Vec::new();
    let add_entity = |ent: &Entity, out: &mut Vec<Entity>| out.push(ent.clone());
    match kind {
        USER => {
            add_entity(&e, &mut arns);
            policies = caller::user_policies(db, account, &e.id).await?.identity;
        }
        ROLE => {
            add_entity(&e, &mut arns);
            policies = caller::role_policies(db, account, &e.id).await?.identity;
        }
        GROUP => {
            for m in groups::members(db, &e).await? {
                add_entity(&m, &mut arns);
            }
            policies = caller::group_policies(db, account, &e).await?;
        }
        _ => {
            for (a, id) in db.links().sources(LINK_ATTACHED, &e.arn).await? {
                if a != account {
                    continue;
                }
                if let Some(ent) = db.entities().get_by_id(&id).await? {
                    if ent.kind == GROUP {
                        for m in groups::members(db, &ent).await? {
                            add_entity(&m, &mut arns);
                        }
                    } else {
                        add_entity(&ent, &mut arns);
                    }
                }
            }
            let doc: model::PolicyDoc = read_doc(&e)?;
            if let Some(d) = doc.default_document() {
                policies.push(NamedPolicy {
                    name: e.arn.clone(),
                    document: d.to_string(),
                });
            }
        }
    }
    arns.sort_by(|a, b| a.arn.cmp(&b.arn));
    arns.dedup_by(|a, b| a.arn == b.arn);
    Ok((arns, policies))
}

/// AWS's name of a service Rampart serves, by namespace (the namespace itself otherwise).
pub fn service_name(namespace: &str) -> &str {
    SERVICES
        .iter()
        .find(|(n, _)| *n == namespace)
        .map_or(namespace, |(_, name)| *name)
}

/// The service namespaces the Allow statements of `policies` can reach.
pub fn allowed_services(policies: &[NamedPolicy]) -> Vec<&'static str> {
    let mut patterns: Vec<String> = Vec::new();
    for p in policies {
        let Ok(doc) = serde_json::from_str::<Value>(&p.document) else {
            continue;
        };
        let statements = match doc.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(o @ Value::Object(_)) => vec![o.clone()],
            _ => Vec::new(),
        };
        for s in statements {
            if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
                continue;
            }
            if s.get("NotAction").is_some() {
                patterns.push("*".into());
            }
            match s.get("Action") {
                Some(Value::String(a)) => patterns.push(a.clone()),
                Some(Value::Array(list)) => {
                    patterns.extend(list.iter().filter_map(Value::as_str).map(str::to_string))
                }
                _ => {}
            }
        }
    }
    SERVICES
        .iter()
        .map(|(ns, _)| *ns)
        .filter(|ns| {
            patterns.iter().any(|p| {
                let prefix = p.split(':').next().unwrap_or_default().to_ascii_lowercase();
                p == "*" || rampart_policy::wildcard::Pattern::new(&prefix, true).matches(ns)
            })
        })
        .collect()
}

pub async fn generate(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let arn = req_str(input, "Arn")?;
    let action_level = match opt_str(input, "Granularity") {
        None | Some("SERVICE_LEVEL") => false,
        Some("ACTION_LEVEL") => true,
        Some(other) => {
            return Err(IamError::InvalidInput(format!(
                "1 validation error detected: Value '{other}' at 'granularity' failed to satisfy constraint: Member must satisfy enum value set: [SERVICE_LEVEL, ACTION_LEVEL]"
            ))
            .into())
        }
    };
    let (entities, policies) = subjects(db, account, arn).await?;
    let mut uses: Vec<(String, UseDoc)> = Vec::new();
    let mut action_uses: Vec<(String, UseDoc)> = Vec::new();
    let mut infos = Vec::with_capacity(entities.len());
    for ent in &entities {
        let used: UseDoc = match find(db, account, LAST_ACCESS, &ent.arn).await? {
            Some(e) => read_doc(&e)?,
            None => UseDoc::new(),
        };
        infos.push(JobEntity {
            arn: ent.arn.clone(),
            name: ent.name.clone(),
            id: ent.id.clone(),
            path: ent.path.clone(),
            kind: if ent.kind == ROLE { "ROLE" } else { "USER" }.to_string(),
            uses: used.clone(),
        });
        if !used.is_empty() {
            uses.push((ent.arn.clone(), used));
        }
        if action_level {
            let actions = action_access::uses_of(db, account, &ent.arn).await?;
            if !actions.is_empty() {
                action_uses.push((ent.arn.clone(), actions));
            }
        }
    }
    let mut namespaces = allowed_services(&policies);
    for (_, u) in &uses {
        for ns in u.keys() {
            if let Some((known, _)) = SERVICES.iter().find(|(n, _)| n == ns) {
                if !namespaces.contains(known) {
                    namespaces.push(known);
                }
            }
        }
    }
    namespaces.sort_unstable();
    let mut services = Vec::new();
    for ns in namespaces {
        let name = service_name(ns);
        let users: Vec<(&String, &LastUse)> = uses
            .iter()
            .filter_map(|(a, u)| u.get(ns).map(|l| (a, l)))
            .collect();
        let mut m = Map::new();
        m.insert("ServiceName".into(), json!(name));
        m.insert("ServiceNamespace".into(), json!(ns));
        if let Some((who, last)) = users.iter().max_by_key(|(_, l)| l.at) {
            m.insert("LastAuthenticated".into(), json!(ts(last.at)));
            m.insert("LastAuthenticatedEntity".into(), json!(who));
            m.insert("LastAuthenticatedRegion".into(), json!(last.region));
        }
        m.insert("TotalAuthenticatedEntities".into(), json!(users.len()));
        if let Some(actions) = action_access::tracked(ns, &action_uses) {
            m.insert("TrackedActionsLastAccessed".into(), Value::Array(actions));
        }
        services.push(Value::Object(m));
    }
    let job_id = uuid::Uuid::new_v4().to_string();
    let doc = JobDoc {
        created: ctx.now,
        action_level,
        services,
        entities: infos,
    };
    let e = Entity {
        account_id: account.clone(),
        kind: JOB.into(),
        name: job_id.clone(),
        name_key: job_id.clone(),
        id: format!("access-job:{job_id}"),
        path: "/".into(),
        arn: String::new(),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: to_text(&doc)?,
    };
    db.entities().create(&e).await?;
    Ok(json!({ "JobId": job_id }))
}

async fn job(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<JobDoc> {
    let job_id = req_str(input, "JobId")?;
    let e = find(db, &ctx.principal.account_id, JOB, job_id)
        .await?
        .ok_or_else(|| {
            ServiceError::from(IamError::NoSuchEntity(format!(
                "The job with ID {job_id} cannot be found."
            )))
        })?;
    read_doc(&e)
}

/// The users and roles of a job with their last use of one service.
pub async fn get_entities(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let ns = req_str(input, "ServiceNamespace")?.to_string();
    let doc = job(input, ctx, db).await?;
    let req = page::page_req(input)?;
    let indexed: Vec<(usize, JobEntity)> = doc.entities.into_iter().enumerate().collect();
    let (items, truncated, last) =
        page::slice(indexed, |(i, _)| rampart_kit::page::index_key(*i), &req);
    let list: Vec<Value> = items
        .into_iter()
        .map(|(_, e)| {
            let mut m = Map::new();
            m.insert(
                "EntityInfo".into(),
                json!({"Arn": e.arn, "Name": e.name, "Type": e.kind, "Id": e.id, "Path": e.path}),
            );
            if let Some(u) = e.uses.get(&ns) {
                m.insert("LastAuthenticated".into(), json!(ts(u.at)));
            }
            Value::Object(m)
        })
        .collect();
    let mut out = Map::new();
    out.insert("JobStatus".into(), json!("COMPLETED"));
    out.insert("JobCreationDate".into(), json!(ts(doc.created)));
    out.insert("JobCompletionDate".into(), json!(ts(doc.created)));
    out.insert("EntityDetailsList".into(), Value::Array(list));
    page::finish(&mut out, truncated, last.as_deref());
    Ok(Value::Object(out))
}

pub async fn get(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let doc = job(input, ctx, db).await?;
    let req = page::page_req(input)?;
    let indexed: Vec<(usize, Value)> = doc.services.into_iter().enumerate().collect();
    let (items, truncated, last) =
        page::slice(indexed, |(i, _)| rampart_kit::page::index_key(*i), &req);
    let mut out = Map::new();
    out.insert("JobStatus".into(), json!("COMPLETED"));
    let job_type = if doc.action_level {
        "ACTION_LEVEL"
    } else {
        "SERVICE_LEVEL"
    };
    out.insert("JobType".into(), json!(job_type));
    out.insert("JobCreationDate".into(), json!(ts(doc.created)));
    out.insert(
        "ServicesLastAccessed".into(),
        Value::Array(items.into_iter().map(|(_, v)| v).collect()),
    );
    out.insert("JobCompletionDate".into(), json!(ts(doc.created)));
    page::finish(&mut out, truncated, last.as_deref());
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(doc: &str) -> NamedPolicy {
        NamedPolicy {
            name: "p".into(),
            document: doc.into(),
        }
    }

    #[test]
    fn services_come_from_allow_statements() {
        let got = allowed_services(&[p(
            r#"{"Statement":[{"Effect":"Allow","Action":["iam:Get*","sts:*"],"Resource":"*"},
               {"Effect":"Deny","Action":"kms:*","Resource":"*"}]}"#,
        )]);
        assert_eq!(got, vec!["iam", "sts"]);
        let all = allowed_services(&[p(
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        )]);
        assert_eq!(all.len(), SERVICES.len());
        assert!(allowed_services(&[]).is_empty());
    }
}
