//! The caller's own policies, as the authorizer needs them on every request.

use rampart_store::Store;

use super::{
    common::{read_doc, Res},
    model::{GroupDoc, RoleDoc, Tag, UserDoc, LINK_ATTACHED, LINK_MEMBER},
    policies,
};
use rampart_kit::{
    authz::{CallerPolicies, NamedPolicy},
    db::Db,
    error::ServiceError,
    principal::{Principal, PrincipalKind},
};

/// What a permissions boundary that no longer resolves stands for: nothing is allowed
/// (fail closed rather than lift the cap).
const DENY_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;

/// The root user's permissions as an identity policy: everything, for a federated user the
/// root user obtained (its session policies then cap it).
const ROOT_PERMISSIONS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// Reads the identity-based policies, boundary and session policies of `principal`.
/// The root user has none (identity policies do not limit it), nor has the anonymous caller.
pub async fn policies(
    principal: &Principal,
    store: &Store,
) -> Result<CallerPolicies, ServiceError> {
    let mut db = Db::Read(store);
    let account = principal.account_id.as_str();
    match principal.kind {
        // The anonymous caller, AWS service principals and the callers an identity provider
        // proves have no IAM identity, hence no policies of their own.
        // A root session from `AssumeRoot` is scoped by its task policy (a session policy).
        PrincipalKind::Root => Ok(CallerPolicies {
            session: principal
                .session
                .as_ref()
                .filter(|s| s.context.is_assumed_root())
                .and_then(|s| s.context.session_policies.clone()),
            ..CallerPolicies::default()
        }),
        PrincipalKind::Anonymous
        | PrincipalKind::Service
        | PrincipalKind::WebIdentityUser
        | PrincipalKind::SamlUser => Ok(CallerPolicies::default()),
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
            // A federated user's permissions are its parent user's (everything for the
            // root user's), capped by the session policies it was issued with.
            let context = principal.session.as_ref().map(|s| &s.context);
            let mut out = match context {
                Some(c) if c.parent_is_root => CallerPolicies {
                    identity: vec![NamedPolicy {
                        name: principal.account_id.clone(),
                        document: ROOT_PERMISSIONS.to_string(),
                    }],
                    ..CallerPolicies::default()
                },
                Some(c) => match c.parent_user_id.as_deref() {
                    Some(parent) => user_policies(&mut db, account, parent).await?,
                    None => CallerPolicies::default(),
                },
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
pub async fn user_policies(db: &mut Db<'_>, account: &str, user_id: &str) -> Res<CallerPolicies> {
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

/// A group's inline and attached policies.
pub(crate) async fn group_policies(
    db: &mut Db<'_>,
    account: &str,
    group: &rampart_store::Entity,
) -> Res<Vec<NamedPolicy>> {
    let gdoc: GroupDoc = read_doc(group)?;
    let mut out = Vec::new();
    inline(&mut out, &gdoc.inline_policies);
    attached(db, account, &group.id, &mut out).await?;
    Ok(out)
}

/// A role's inline and attached policies, boundary and tags.
pub async fn role_policies(db: &mut Db<'_>, account: &str, role_id: &str) -> Res<CallerPolicies> {
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
    use rampart_kit::{context::CallContext, principal::Principal};
    use serde_json::json;

    async fn store() -> (Store, std::path::PathBuf) {
        let (store, dir) = rampart_kit::test_support::store().await;
        crate::common::aws_managed::seed_aws_managed_policies(&store, rampart_kit::Partition::Aws)
            .await
            .unwrap();
        (store, dir)
    }

    fn root_ctx() -> CallContext {
        CallContext {
            now: chrono::Utc::now(),
            ..rampart_kit::test_support::root_context()
        }
    }

    async fn call(
        store: &Store,
        op: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, ServiceError> {
        let ctx = root_ctx();
        let route = crate::Op::from_name(op).and_then(crate::route).unwrap();
        route.call_unaudited(input, &ctx, store).await
    }

    #[tokio::test]
    async fn user_policies_gather_inline_attached_groups_and_boundary() {
        let (store, dir) = store().await;
        // Seeding again changes nothing.
        let epoch = store.authz_epoch().get().await.unwrap();
        crate::common::aws_managed::seed_aws_managed_policies(&store, rampart_kit::Partition::Aws)
            .await
            .unwrap();
        assert_eq!(store.authz_epoch().get().await.unwrap(), epoch);

        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let user = call(
            &store,
            "CreateUser",
            json!({"UserName": "bob", "Tags": [{"Key": "team", "Value": "x"}],
            "PermissionsBoundary": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
        )
        .await
        .unwrap();
        let user_id = user["User"]["UserId"].as_str().unwrap().to_string();
        call(
            &store,
            "PutUserPolicy",
            json!({"UserName": "bob", "PolicyName": "mine", "PolicyDocument": doc}),
        )
        .await
        .unwrap();
        call(
            &store,
            "AttachUserPolicy",
            json!({"UserName": "bob", "PolicyArn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}),
        )
        .await
        .unwrap();
        call(&store, "CreateGroup", json!({"GroupName": "devs"}))
            .await
            .unwrap();
        call(
            &store,
            "PutGroupPolicy",
            json!({"GroupName": "devs", "PolicyName": "grp", "PolicyDocument": doc}),
        )
        .await
        .unwrap();
        let before = store.authz_epoch().get().await.unwrap();
        call(
            &store,
            "AddUserToGroup",
            json!({"GroupName": "devs", "UserName": "bob"}),
        )
        .await
        .unwrap();
        assert!(store.authz_epoch().get().await.unwrap() > before);

        let principal = Principal {
            account_id: "111122223333".into(),
            kind: PrincipalKind::User,
            arn: "arn:aws:iam::111122223333:user/bob".into(),
            user_id,
            name: "bob".into(),
            access_key_id: "AKIABOB".into(),
            session: None,
            source_arn: None,
        };
        let got = policies(&principal, &store).await.unwrap();
        let names: Vec<&str> = got.identity.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["mine", "arn:aws:iam::aws:policy/IAMReadOnlyAccess", "grp"]
        );
        assert_eq!(
            got.boundary.unwrap().name,
            "arn:aws:iam::aws:policy/ReadOnlyAccess"
        );
        assert_eq!(
            got.principal_tags,
            vec![("team".to_string(), "x".to_string())]
        );

        // Deleting is refused while anything hangs off the user.
        let err = call(&store, "DeleteUser", json!({"UserName": "bob"}))
            .await
            .unwrap_err();
        assert_eq!(err.code, "DeleteConflict");
        let root = policies(
            &Principal::root(rampart_kit::Partition::Aws, "111122223333", "AKIAROOT"),
            &store,
        )
        .await
        .unwrap();
        assert!(root.identity.is_empty());
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn policy_versions_and_list_scopes() {
        let (store, dir) = store().await;
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let p = call(
            &store,
            "CreatePolicy",
            json!({"PolicyName": "P", "PolicyDocument": doc, "Path": "/team/"}),
        )
        .await
        .unwrap();
        let arn = p["Policy"]["Arn"].as_str().unwrap().to_string();
        assert_eq!(arn, "arn:aws:iam::111122223333:policy/team/P");
        for _ in 0..4 {
            call(
                &store,
                "CreatePolicyVersion",
                json!({"PolicyArn": arn, "PolicyDocument": doc}),
            )
            .await
            .unwrap();
        }
        let err = call(
            &store,
            "CreatePolicyVersion",
            json!({"PolicyArn": arn, "PolicyDocument": doc}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code, "LimitExceeded");
        let local = call(&store, "ListPolicies", json!({"Scope": "Local"}))
            .await
            .unwrap();
        assert_eq!(local["Policies"].as_array().unwrap().len(), 1);
        let all = call(&store, "ListPolicies", json!({"MaxItems": 3}))
            .await
            .unwrap();
        assert_eq!(all["IsTruncated"], true);
        let mut seen = all["Policies"].as_array().unwrap().len();
        let mut marker = all["Marker"].as_str().map(str::to_string);
        while let Some(m) = marker {
            let next = call(&store, "ListPolicies", json!({"MaxItems": 3, "Marker": m}))
                .await
                .unwrap();
            seen += next["Policies"].as_array().unwrap().len();
            marker = next["Marker"].as_str().map(str::to_string);
        }
        assert_eq!(seen, crate::common::aws_managed::POLICIES.len() + 1);
        // A marker naming a phase that does not exist is refused, not read as the start.
        let forged = rampart_kit::page::encode("18446744073709551615:x");
        let err = call(&store, "ListPolicies", json!({"Marker": forged}))
            .await
            .unwrap_err();
        assert_eq!(err.code, "InvalidInput");
        let err = call(
            &store,
            "DeletePolicy",
            json!({"PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code, "AccessDenied");
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn session_tags_override_role_tags() {
        let mut tags = vec![("Team".to_string(), "a".to_string())];
        overlay_tags(&mut tags, &[("team".to_string(), "b".to_string())]);
        assert_eq!(tags, vec![("team".to_string(), "b".to_string())]);
    }
}
