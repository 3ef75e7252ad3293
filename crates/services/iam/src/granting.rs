//! `ListPoliciesGrantingServiceAccess`: which permissions policies of a user, group or role
//! allow some action of each given service.
//!
//! As AWS documents it, only permissions policies count (no boundaries, resource policies or
//! Organizations policies). A user's list holds its own inline and managed policies and those
//! of its groups; a group's or role's only its own. A policy grants access to a service when
//! one of its `Allow` statements has an `Action` matching some action of that service, or a
//! `NotAction` that leaves some of that service's actions out.

use rampart_kit::Partition;
use serde_json::{json, Map, Value};

use super::{
    common::{find, opt_str, parse_iam_arn, read_doc, req_str, str_list, IamError, Res},
    model::{GroupDoc, RoleDoc, UserDoc, GROUP, LINK_ATTACHED, LINK_MEMBER, ROLE, USER},
    policies, Op,
};
use rampart_kit::{authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError};
use rampart_store::{Entity, Store};

/// Most namespaces in one request.
pub const MAX_NAMESPACES: usize = 200;

/// One permissions policy of the identity, as the response names it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    /// The policy's name.
    name: String,
    /// The managed policy's ARN (`None` for an inline policy).
    arn: Option<String>,
    /// For an inline policy: `USER`, `GROUP` or `ROLE` and the entity's name.
    owner: Option<(&'static str, String)>,
    /// The policy document.
    document: String,
}

pub async fn authz(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    _store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    Ok(Some(AuthzRequest::on(
        &format!("iam:{}", op.name()),
        req_str(input, "Arn")?.to_string(),
        &ctx.principal.account_id,
    )))
}

pub async fn list(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let arn = req_str(input, "Arn")?;
    let namespaces = namespaces(input)?;
    if opt_str(input, "Marker").is_some() {
        // Every answer is complete, so no marker was ever issued.
        return Err(IamError::InvalidInput("Invalid Marker.".into()).into());
    }
    let candidates = candidates(db, account, arn).await?;
    let entries: Vec<Value> = namespaces
        .iter()
        .map(|ns| {
            let policies: Vec<Value> = candidates
                .iter()
                .filter(|c| grants(&c.document, ns))
                .map(policy_json)
                .collect();
            json!({"ServiceNamespace": ns, "Policies": policies})
        })
        .collect();
    Ok(json!({"PoliciesGrantingServiceAccess": entries, "IsTruncated": false}))
}

/// `ServiceNamespaces`: 1 to 200 service prefixes (letters, digits, `_` and `-`).
fn namespaces(input: &Value) -> Res<Vec<String>> {
    let list = str_list(input, "ServiceNamespaces");
    if list.is_empty() || list.len() > MAX_NAMESPACES {
        return Err(IamError::InvalidInput(format!(
            "ServiceNamespaces must list 1 to {MAX_NAMESPACES} service namespaces."
        ))
        .into());
    }
    for ns in &list {
        let ok = !ns.is_empty()
            && ns.len() <= 64
            && ns
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(IamError::InvalidInput(format!("Invalid service namespace: {ns}")).into());
        }
    }
    Ok(list)
}

fn policy_json(c: &Candidate) -> Value {
    let mut m = Map::new();
    m.insert("PolicyName".into(), json!(c.name));
    match (&c.arn, &c.owner) {
        (Some(arn), _) => {
            m.insert("PolicyType".into(), json!("MANAGED"));
            m.insert("PolicyArn".into(), json!(arn));
        }
        (None, owner) => {
            m.insert("PolicyType".into(), json!("INLINE"));
            if let Some((kind, name)) = owner {
                m.insert("EntityType".into(), json!(kind));
                m.insert("EntityName".into(), json!(name));
            }
        }
    }
    Value::Object(m)
}

fn no_such(arn: &str) -> ServiceError {
    IamError::NoSuchEntity(format!("The entity {arn} cannot be found.")).into()
}

/// The identity's permissions policies, per AWS's rules for its kind.
async fn candidates(db: &mut Db<'_>, account: &str, arn: &str) -> Res<Vec<Candidate>> {
    let rtype = Partition::of_arn(arn)
        .and_then(|p| p.strip_iam_arn(arn))
        .and_then(|r| r.split_once(':'))
        .and_then(|(_, r)| r.split('/').next())
        .unwrap_or_default();
    let kind = match rtype {
        "user" => USER,
        "group" => GROUP,
        "role" => ROLE,
        _ => return Err(IamError::InvalidInput(format!("Invalid ARN: {arn}")).into()),
    };
    let (_, _, name) = parse_iam_arn(arn, rtype)
        .ok_or_else(|| IamError::InvalidInput(format!("Invalid ARN: {arn}")))?;
    let e = match find(db, account, kind, name).await? {
        Some(e) if e.arn == arn => e,
        _ => return Err(no_such(arn)),
    };
    let mut out = Vec::new();
    match kind {
        USER => {
            let d: UserDoc = read_doc(&e)?;
            inline(&mut out, "USER", &e.name, &d.inline_policies);
            managed(db, account, &e, &mut out).await?;
            for group_id in db.links().targets(account, LINK_MEMBER, &e.id).await? {
                if let Some(g) = db.entities().get_by_id(&group_id).await? {
                    let gd: GroupDoc = read_doc(&g)?;
                    inline(&mut out, "GROUP", &g.name, &gd.inline_policies);
                    managed(db, account, &g, &mut out).await?;
                }
            }
        }
        GROUP => {
            let d: GroupDoc = read_doc(&e)?;
            inline(&mut out, "GROUP", &e.name, &d.inline_policies);
            managed(db, account, &e, &mut out).await?;
        }
        _ => {
            let d: RoleDoc = read_doc(&e)?;
            inline(&mut out, "ROLE", &e.name, &d.inline_policies);
            managed(db, account, &e, &mut out).await?;
        }
    }
    Ok(out)
}

fn inline(
    out: &mut Vec<Candidate>,
    kind: &'static str,
    owner: &str,
    policies: &std::collections::BTreeMap<String, String>,
) {
    out.extend(policies.iter().map(|(name, document)| Candidate {
        name: name.clone(),
        arn: None,
        owner: Some((kind, owner.to_string())),
        document: document.clone(),
    }));
}

/// The managed policies attached to `e`, each once (a user and its group may share one).
async fn managed(db: &mut Db<'_>, account: &str, e: &Entity, out: &mut Vec<Candidate>) -> Res<()> {
    for arn in db.links().targets(account, LINK_ATTACHED, &e.id).await? {
        if out.iter().any(|c| c.arn.as_deref() == Some(arn.as_str())) {
            continue;
        }
        if let Some(document) = policies::default_document(db, account, &arn).await? {
            let name = arn.rsplit('/').next().unwrap_or_default().to_string();
            out.push(Candidate {
                name,
                arn: Some(arn),
                owner: None,
                document,
            });
        }
    }
    Ok(())
}

/// The strings of a statement member that is a string or a list of strings.
fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// True when an action pattern's service prefix matches `ns` (`*` matches every service).
fn covers_service(pattern: &str, ns: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let prefix = pattern.split(':').next().unwrap_or_default();
    rampart_policy::wildcard::Pattern::new(prefix, true).matches(ns)
}

/// True when the pattern names every action of `ns` (`*`, `ns:*` or the like).
fn covers_all_of(pattern: &str, ns: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.split_once(':') {
        Some((prefix, action)) => {
            action.chars().all(|c| c == '*')
                && rampart_policy::wildcard::Pattern::new(prefix, true).matches(ns)
        }
        None => false,
    }
}

/// True when the document has an `Allow` statement reaching some action of `ns`.
fn grants(document: &str, ns: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(document) else {
        return false;
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(o @ Value::Object(_)) => vec![o.clone()],
        _ => Vec::new(),
    };
    statements.iter().any(|s| {
        if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
            return false;
        }
        if let Some(not) = s.get("NotAction") {
            return !strings(Some(not)).iter().any(|p| covers_all_of(p, ns));
        }
        strings(s.get("Action"))
            .iter()
            .any(|p| covers_service(p, ns))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(effect: &str, key: &str, actions: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","{key}":{actions},"Resource":"*"}}]}}"#
        )
    }

    #[test]
    fn allow_statements_grant_the_services_their_actions_name() {
        let d = doc("Allow", "Action", r#"["s3:GetObject","EC2:Describe*"]"#);
        assert!(grants(&d, "s3"));
        assert!(grants(&d, "ec2"));
        assert!(!grants(&d, "iam"));
        assert!(grants(&doc("Allow", "Action", r#""*""#), "kms"));
        assert!(grants(&doc("Allow", "Action", r#""s*:List*""#), "sqs"));
        assert!(!grants(&doc("Deny", "Action", r#""*""#), "kms"));
        // NotAction allows everything else: all of a service left out means no access.
        let not = doc("Allow", "NotAction", r#"["iam:*","s3:GetObject"]"#);
        assert!(!grants(&not, "iam"));
        assert!(grants(&not, "s3"));
        assert!(grants(&not, "kms"));
        assert!(!grants("not json", "s3"));
    }

    #[test]
    fn namespaces_are_bounded_and_well_formed() {
        assert!(namespaces(&json!({"ServiceNamespaces": ["s3", "iam"]})).is_ok());
        assert!(namespaces(&json!({"ServiceNamespaces": []})).is_err());
        assert!(namespaces(&json!({"ServiceNamespaces": ["s3:x"]})).is_err());
        let many: Vec<String> = (0..=MAX_NAMESPACES).map(|i| format!("s{i}")).collect();
        assert!(namespaces(&json!({ "ServiceNamespaces": many })).is_err());
    }
}
