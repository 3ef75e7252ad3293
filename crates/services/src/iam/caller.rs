//! The caller's own policies, as the authorizer needs them on every request.

use rampart_store::Store;

use super::{
    common::{read_doc, Res},
    model::{GroupDoc, RoleDoc, Tag, UserDoc, LINK_ATTACHED, LINK_MEMBER},
    policies,
};
use crate::{
    authz::{CallerPolicies, NamedPolicy},
    db::Db,
    error::ServiceError,
    principal::{Principal, PrincipalKind},
};

/// What a permissions boundary that no longer resolves stands for: nothing is allowed
/// (fail closed rather than lift the cap).
const DENY_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;

/// Reads the identity-based policies, boundary and session policies of `principal`.
/// The root user has none (identity policies do not limit it).
pub async fn policies(
    principal: &Principal,
    store: &Store,
) -> Result<CallerPolicies, ServiceError> {
    let mut db = Db::Read(store);
    let account = principal.account_id.as_str();
    match principal.kind {
        PrincipalKind::Root => Ok(CallerPolicies::default()),
        PrincipalKind::User => user_policies(&mut db, account, &principal.user_id).await,
        PrincipalKind::AssumedRole => {
            let context = principal.session.as_ref().map(|s| &s.context);
            let mut out = match context.and_then(|c| c.role_id.as_deref()) {
                Some(role_id) => role_policies(&mut db, account, role_id).await?,
                None => CallerPolicies::default(),
            };
            if let Some(c) = context {
                out.session = c.session_policies.clone();
                overlay_tags(&mut out.principal_tags, &c.tags);
            }
            Ok(out)
        }
        PrincipalKind::FederatedUser => {
            // A federated user's permissions are its parent user's, capped by the session
            // policies it was issued with.
            let context = principal.session.as_ref().map(|s| &s.context);
            let mut out = match context.and_then(|c| c.parent_user_id.as_deref()) {
                Some(parent) => user_policies(&mut db, account, parent).await?,
                None => CallerPolicies::default(),
            };
            if let Some(c) = context {
                out.session = Some(c.session_policies.clone().unwrap_or_default());
                overlay_tags(&mut out.principal_tags, &c.tags);
            }
            Ok(out)
        }
    }
}

fn overlay_tags(tags: &mut Vec<(String, String)>, session: &[(String, String)]) {
    for (k, v) in session {
        tags.retain(|(key, _)| !key.eq_ignore_ascii_case(k));
        tags.push((k.clone(), v.clone()));
    }
}

fn tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

fn inline(out: &mut Vec<NamedPolicy>, policies: &std::collections::BTreeMap<String, String>) {
    out.extend(policies.iter().map(|(name, document)| NamedPolicy {
        name: name.clone(),
        document: document.clone(),
    }));
}

async fn attached(db: &mut Db<'_>, account: &str, id: &str, out: &mut Vec<NamedPolicy>) -> Res<()> {
    for arn in db.links().targets(account, LINK_ATTACHED, id).await? {
        if let Some(document) = policies::default_document(db, account, &arn).await? {
            out.push(NamedPolicy {
                name: arn,
                document,
            });
        }
    }
    Ok(())
}

async fn boundary(db: &mut Db<'_>, account: &str, arn: Option<&str>) -> Res<Option<NamedPolicy>> {
    let Some(arn) = arn else {
        return Ok(None);
    };
    let document = policies::default_document(db, account, arn)
        .await?
        .unwrap_or_else(|| DENY_ALL.to_string());
    Ok(Some(NamedPolicy {
        name: arn.to_string(),
        document,
    }))
}

/// An IAM user's inline and attached policies and those of its groups, its boundary and tags.
async fn user_policies(db: &mut Db<'_>, account: &str, user_id: &str) -> Res<CallerPolicies> {
    let Some(user) = db.entities().get_by_id(user_id).await? else {
        return Ok(CallerPolicies::default());
    };
    let doc: UserDoc = read_doc(&user)?;
    let mut identity = Vec::new();
    inline(&mut identity, &doc.inline_policies);
    attached(db, account, &user.id, &mut identity).await?;
    for group_id in db.links().targets(account, LINK_MEMBER, &user.id).await? {
        let Some(group) = db.entities().get_by_id(&group_id).await? else {
            continue;
        };
        let gdoc: GroupDoc = read_doc(&group)?;
        inline(&mut identity, &gdoc.inline_policies);
        attached(db, account, &group.id, &mut identity).await?;
    }
    Ok(CallerPolicies {
        identity,
        boundary: boundary(db, account, doc.permissions_boundary.as_deref()).await?,
        session: None,
        principal_tags: tag_pairs(&doc.tags),
    })
}

/// A role's inline and attached policies, boundary and tags.
async fn role_policies(db: &mut Db<'_>, account: &str, role_id: &str) -> Res<CallerPolicies> {
    let Some(role) = db.entities().get_by_id(role_id).await? else {
        return Ok(CallerPolicies::default());
    };
    let doc: RoleDoc = read_doc(&role)?;
    let mut identity = Vec::new();
    inline(&mut identity, &doc.inline_policies);
    attached(db, account, &role.id, &mut identity).await?;
    Ok(CallerPolicies {
        identity,
        boundary: boundary(db, account, doc.permissions_boundary.as_deref()).await?,
        session: None,
        principal_tags: tag_pairs(&doc.tags),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tags_override_role_tags() {
        let mut tags = vec![("Team".to_string(), "a".to_string())];
        overlay_tags(&mut tags, &[("team".to_string(), "b".to_string())]);
        assert_eq!(tags, vec![("team".to_string(), "b".to_string())]);
    }
}
