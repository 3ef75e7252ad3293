//! IAM's centralized root access for member accounts, which AWS keeps per organization:
//! IAM's `ListOrganizationsFeatures`, `Enable`/`DisableOrganizationsRootCredentialsManagement`
//! and `Enable`/`DisableOrganizationsRootSessions` (served here, on the organization they
//! change, and routed under IAM by the registry), and the organization's side of STS
//! `AssumeRoot` ([`root_session_refusal`]).
//!
//! AWS's preconditions: the caller's account is in an organization with all features, is its
//! management account or IAM's delegated administrator (`iam.amazonaws.com`), and trusted
//! access for `iam.amazonaws.com` is enabled (`EnableAWSServiceAccess`). Only the management
//! account enables a feature (`CallerIsNotManagementAccountException`, which AWS lists for
//! the two `Enable` operations only).

use rampart_store::Store;
use serde_json::{json, Value};

use super::{
    common::{org_of, Org, Res},
    model,
};
use rampart_kit::{
    authz::{AuthzQuestion, AuthzRequest},
    context::CallContext,
    db::Db,
    entity::save_doc,
    error::{service_errors, ServiceError},
    route::{Access, BoxFuture, Route},
};
use rampart_model::iam::Op as IamOp;

/// The feature that lets the management account and IAM's delegated administrator manage
/// member accounts' root credentials.
pub const ROOT_CREDENTIALS_MANAGEMENT: &str = "RootCredentialsManagement";
/// The feature that lets them take privileged root sessions (`AssumeRoot`).
pub const ROOT_SESSIONS: &str = "RootSessions";
/// IAM's service principal, whose trusted access the features need.
pub const IAM_SERVICE: &str = "iam.amazonaws.com";

service_errors! {
    /// IAM's errors for these operations (their messages are the model's descriptions; AWS's
    /// exact texts are not published).
    pub enum RootAccessError for "iam" {
        /// Trusted access for IAM is not enabled in Organizations.
        #[error("The request was rejected because trusted access is not enabled for IAM in Organizations.")]
        ServiceAccessNotEnabledException,
        /// The caller's account is neither the management account nor IAM's delegated
        /// administrator.
        #[error("The request was rejected because the account making the request is not the management account or delegated administrator account for centralized root access.")]
        AccountNotManagementOrDelegatedAdministratorException,
        /// The caller's account is in no organization.
        #[error("The request was rejected because no organization is associated with your account.")]
        OrganizationNotFoundException,
        /// The organization does not have all features.
        #[error("The request was rejected because your organization does not have All features enabled.")]
        OrganizationNotInAllFeaturesModeException,
        /// Only the management account may do this.
        #[error("The request was rejected because the account making the request is not the management account for the organization.")]
        CallerIsNotManagementAccountException,
    }
}

/// True when `account` is registered as IAM's delegated administrator in `org`.
async fn is_iam_administrator(db: &mut Db<'_>, org: &Org, account: &str) -> Res<bool> {
    Ok(db
        .links()
        .targets(&org.management, model::LINK_DELEGATED, account)
        .await?
        .iter()
        .any(|s| s == IAM_SERVICE))
}

/// The caller's organization after AWS's checks; `enabling` adds the management-only rule.
async fn administered_org(db: &mut Db<'_>, account: &str, enabling: bool) -> Res<Org> {
    let Some(org) = org_of(db, account).await? else {
        return Err(RootAccessError::OrganizationNotFoundException.into());
    };
    let management = account == org.management;
    if !management && !is_iam_administrator(db, &org, account).await? {
        return Err(RootAccessError::AccountNotManagementOrDelegatedAdministratorException.into());
    }
    if org.doc.feature_set != "ALL" {
        return Err(RootAccessError::OrganizationNotInAllFeaturesModeException.into());
    }
    if !org.doc.service_access.contains_key(IAM_SERVICE) {
        return Err(RootAccessError::ServiceAccessNotEnabledException.into());
    }
    if enabling && !management {
        return Err(RootAccessError::CallerIsNotManagementAccountException.into());
    }
    Ok(org)
}

/// The answer of all five operations: the organization and its enabled features.
fn features_json(org: &Org) -> Value {
    json!({
        "OrganizationId": org.id,
        "EnabledFeatures": org.doc.root_access_features.iter().collect::<Vec<_>>(),
    })
}

/// `ListOrganizationsFeatures`.
pub async fn list(ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = administered_org(db, &ctx.principal.account_id, false).await?;
    Ok(features_json(&org))
}

/// `Enable`/`Disable` of `feature`; both directions are idempotent.
pub async fn set(ctx: &CallContext, db: &mut Db<'_>, feature: &str, on: bool) -> Res<Value> {
    let mut org = administered_org(db, &ctx.principal.account_id, on).await?;
    let changed = if on {
        org.doc.root_access_features.insert(feature.to_string())
    } else {
        org.doc.root_access_features.remove(feature)
    };
    if changed {
        save_doc(db, org.entity.clone(), &org.doc, ctx.now).await?;
    }
    Ok(features_json(&org))
}

/// Why the organization refuses a privileged root session, as STS words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootSessionRefusal {
    /// The caller's account is in no organization, or is neither its management account
    /// nor IAM's delegated administrator.
    NotAdministrator,
    /// Root sessions are not enabled (or trusted access for IAM is off).
    RootSessionsDisabled,
    /// The target is not a member account of the caller's organization.
    NotAMember,
    /// The target is the management account.
    ManagementAccount,
}

/// The organization's verdict on a root session of `target` for a caller of `caller`:
/// `None` when it may be taken.
pub async fn root_session_refusal(
    db: &mut Db<'_>,
    caller: &str,
    target: &str,
) -> Res<Option<RootSessionRefusal>> {
    let Some(org) = org_of(db, caller).await? else {
        return Ok(Some(RootSessionRefusal::NotAdministrator));
    };
    if caller != org.management && !is_iam_administrator(db, &org, caller).await? {
        return Ok(Some(RootSessionRefusal::NotAdministrator));
    }
    if org.doc.feature_set != "ALL"
        || !org.doc.service_access.contains_key(IAM_SERVICE)
        || !org.doc.root_access_features.contains(ROOT_SESSIONS)
    {
        return Ok(Some(RootSessionRefusal::RootSessionsDisabled));
    }
    if target == org.management {
        return Ok(Some(RootSessionRefusal::ManagementAccount));
    }
    match org_of(db, target).await? {
        Some(t) if t.id == org.id => Ok(None),
        _ => Ok(Some(RootSessionRefusal::NotAMember)),
    }
}

/// One IAM operation's entry: `iam:<operation>` on `*`, after IAM's own gate.
macro_rules! entry {
    ($op:literal, $access:ident, |$c:ident, $d:ident| $body:expr) => {{
        fn authz<'a>(
            _input: &'a Value,
            ctx: &'a CallContext,
            _store: &'a Store,
        ) -> BoxFuture<'a, Result<Option<AuthzQuestion>, ServiceError>> {
            Box::pin(async move {
                rampart_iam::session_token_gate(ctx)?;
                let q = AuthzRequest::on_any(concat!("iam:", $op), &ctx.principal.account_id);
                Ok(Some(q.into()))
            })
        }
        fn handle<'a>(
            _input: Value,
            $c: &'a CallContext,
            mut $d: Db<'a>,
        ) -> BoxFuture<'a, Result<Value, ServiceError>> {
            Box::pin(async move { $body.await })
        }
        Route {
            service: "iam",
            operation: $op,
            access: Access::$access,
            authz,
            handle,
            prepare: None,
            authn: None,
        }
    }};
}

/// The entries of IAM's centralized root access operations; `None` for every other IAM
/// operation.
pub fn route(op: IamOp) -> Option<Route> {
    Some(match op {
        IamOp::ListOrganizationsFeatures => {
            entry!("ListOrganizationsFeatures", Read, |c, d| list(c, &mut d))
        }
        IamOp::EnableOrganizationsRootCredentialsManagement => entry!(
            "EnableOrganizationsRootCredentialsManagement",
            Write,
            |c, d| set(c, &mut d, ROOT_CREDENTIALS_MANAGEMENT, true)
        ),
        IamOp::DisableOrganizationsRootCredentialsManagement => entry!(
            "DisableOrganizationsRootCredentialsManagement",
            Write,
            |c, d| set(c, &mut d, ROOT_CREDENTIALS_MANAGEMENT, false)
        ),
        IamOp::EnableOrganizationsRootSessions => entry!(
            "EnableOrganizationsRootSessions",
            Write,
            |c, d| set(c, &mut d, ROOT_SESSIONS, true)
        ),
        IamOp::DisableOrganizationsRootSessions => entry!(
            "DisableOrganizationsRootSessions",
            Write,
            |c, d| set(c, &mut d, ROOT_SESSIONS, false)
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_kit::test_support;

    fn ctx_of(account: &str) -> CallContext {
        let mut ctx = test_support::root_context();
        ctx.principal = std::sync::Arc::new(rampart_kit::principal::Principal::root(
            rampart_kit::Partition::Aws,
            account,
            "AKIATEST",
        ));
        ctx
    }

    async fn call(store: &Store, ctx: &CallContext, op: IamOp) -> Result<Value, ServiceError> {
        route(op)
            .expect("routed")
            .call_unaudited(json!({}), ctx, store)
            .await
    }

    async fn org_call(
        store: &Store,
        ctx: &CallContext,
        op: &str,
        input: Value,
    ) -> Result<Value, ServiceError> {
        crate::Op::from_name(op)
            .and_then(crate::route)
            .expect("routed")
            .call_unaudited(input, ctx, store)
            .await
    }

    #[tokio::test]
    async fn features_need_an_organization_and_trusted_access() {
        let (store, dir) = test_support::store().await;
        let mgmt = test_support::root_context();
        store
            .accounts()
            .create(&rampart_store::Account {
                id: mgmt.principal.account_id.clone(),
                name: "management".into(),
                email: "m@example.com".into(),
                status: rampart_store::AccountStatus::Active,
                is_management: true,
                created_at: mgmt.now,
            })
            .await
            .unwrap();
        let err = call(&store, &mgmt, IamOp::ListOrganizationsFeatures)
            .await
            .unwrap_err();
        assert_eq!(err.code, "OrganizationNotFoundException");
        org_call(
            &store,
            &mgmt,
            "CreateOrganization",
            json!({"FeatureSet": "ALL"}),
        )
        .await
        .unwrap();
        let err = call(&store, &mgmt, IamOp::EnableOrganizationsRootSessions)
            .await
            .unwrap_err();
        assert_eq!(err.code, "ServiceAccessNotEnabledException");
        org_call(
            &store,
            &mgmt,
            "EnableAWSServiceAccess",
            json!({"ServicePrincipal": IAM_SERVICE}),
        )
        .await
        .unwrap();
        let out = call(&store, &mgmt, IamOp::EnableOrganizationsRootSessions)
            .await
            .unwrap();
        assert_eq!(out["EnabledFeatures"], json!(["RootSessions"]));
        let out = call(
            &store,
            &mgmt,
            IamOp::EnableOrganizationsRootCredentialsManagement,
        )
        .await
        .unwrap();
        assert_eq!(
            out["EnabledFeatures"],
            json!(["RootCredentialsManagement", "RootSessions"])
        );
        assert!(out["OrganizationId"].as_str().unwrap().starts_with("o-"));
        let mgmt_id = mgmt.principal.account_id.clone();
        assert_eq!(
            root_session_refusal(&mut Db::Read(&store), &mgmt_id, &mgmt_id)
                .await
                .unwrap(),
            Some(RootSessionRefusal::ManagementAccount)
        );
        assert_eq!(
            root_session_refusal(&mut Db::Read(&store), &mgmt_id, "999999999999")
                .await
                .unwrap(),
            Some(RootSessionRefusal::NotAMember)
        );
        // An account outside the organization is neither manager nor administrator.
        let outsider = ctx_of("999999999999");
        let err = call(&store, &outsider, IamOp::ListOrganizationsFeatures)
            .await
            .unwrap_err();
        assert_eq!(err.code, "OrganizationNotFoundException");
        let out = call(&store, &mgmt, IamOp::DisableOrganizationsRootSessions)
            .await
            .unwrap();
        assert_eq!(out["EnabledFeatures"], json!(["RootCredentialsManagement"]));
        assert_eq!(
            root_session_refusal(&mut Db::Read(&store), &mgmt_id, "999999999999")
                .await
                .unwrap(),
            Some(RootSessionRefusal::RootSessionsDisabled)
        );
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn only_the_five_operations_are_routed_here() {
        assert!(route(IamOp::ListOrganizationsFeatures).is_some());
        assert!(route(IamOp::DisableOrganizationsRootSessions)
            .is_some_and(|r| r.access == Access::Write));
        assert!(route(IamOp::CreateUser).is_none());
    }
}
