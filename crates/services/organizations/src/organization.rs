//! The organization itself: `CreateOrganization`, `DescribeOrganization`,
//! `DeleteOrganization`, `LeaveOrganization`, and trusted access for AWS services
//! (`EnableAWSServiceAccess`, `DisableAWSServiceAccess`,
//! `ListAWSServiceAccessForOrganization`).

use rampart_store::Entity;
use serde_json::{json, Value};

use super::{
    common::{caller_org, managed_org, membership, Org, OrgError, Res},
    model::{self, MemberDoc, OrgDoc, RootDoc},
    policies, tree,
};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity::{bump, read_doc, save_doc, to_text},
    error::ServiceError,
    input::opt_str,
    timestamp::ts,
};

/// The `Organization` structure.
pub async fn org_json(db: &mut Db<'_>, org: &Org) -> Res<Value> {
    let types = match db
        .entities()
        .get(&org.management, model::ROOT, &org.doc.root_id)
        .await?
    {
        Some(root) => read_doc::<RootDoc>(&root)?.policy_types,
        None => Vec::new(),
    };
    // Deprecated by AWS but still returned: the SCP type's status in the root.
    let available: Vec<Value> = types
        .iter()
        .filter(|t| t.as_str() == model::SCP)
        .map(|t| json!({"Type": t, "Status": "ENABLED"}))
        .collect();
    Ok(json!({
        "Id": org.id,
        "Arn": model::org_arn(org.partition(), &org.management, &org.id),
        "FeatureSet": org.doc.feature_set,
        "MasterAccountArn": model::account_arn(org.partition(), &org.management, &org.id, &org.management),
        "MasterAccountId": org.management,
        "MasterAccountEmail": org.doc.management_email,
        "AvailablePolicyTypes": available,
    }))
}

pub async fn create(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = ctx.principal.account_id.clone();
    let feature_set = opt_str(input, "FeatureSet").unwrap_or("ALL").to_string();
    if feature_set != "ALL" && feature_set != "CONSOLIDATED_BILLING" {
        return Err(OrgError::invalid(
            "INVALID_ENUM",
            "FeatureSet must be ALL or CONSOLIDATED_BILLING.",
        )
        .into());
    }
    if membership(db, &account).await?.is_some() {
        return Err(OrgError::AlreadyInOrganizationException.into());
    }
    let Some(acct) = db.accounts().get(&account).await? else {
        return Err(ServiceError::internal());
    };
    let org_id = model::new_org_id()?;
    let root_id = model::new_root_id()?;
    let now = ctx.now;
    let org_doc = OrgDoc {
        feature_set: feature_set.clone(),
        management_email: acct.email.clone(),
        root_id: root_id.clone(),
        service_access: Default::default(),
        root_access_features: Default::default(),
    };
    let entity = Entity {
        account_id: account.clone(),
        kind: model::ORG.into(),
        name: org_id.clone(),
        name_key: org_id.clone(),
        id: org_id.clone(),
        path: "/".into(),
        arn: model::org_arn(ctx.partition(), &account, &org_id),
        created_at: now,
        updated_at: now,
        doc: to_text(&org_doc)?,
    };
    db.entities().create(&entity).await?;
    let policy_types = if feature_set == "ALL" {
        vec![model::SCP.to_string()]
    } else {
        Vec::new()
    };
    let root_doc = RootDoc {
        org_id: org_id.clone(),
        policy_types: policy_types.clone(),
        tags: Vec::new(),
    };
    db.entities()
        .create(&Entity {
            account_id: account.clone(),
            kind: model::ROOT.into(),
            name: "Root".into(),
            name_key: root_id.clone(),
            id: root_id.clone(),
            path: "/".into(),
            arn: model::root_arn(ctx.partition(), &account, &org_id, &root_id),
            created_at: now,
            updated_at: now,
            doc: to_text(&root_doc)?,
        })
        .await?;
    let org = Org {
        id: org_id.clone(),
        management: account.clone(),
        doc: org_doc,
        entity,
    };
    for policy_type in [model::SCP, model::RCP] {
        policies::ensure_managed_policy(db, &org, policy_type, now).await?;
    }
    let member = MemberDoc {
        org_id: org_id.clone(),
        parent_id: root_id.clone(),
        joined_method: "INVITED".into(),
        joined_at: now,
        tags: Vec::new(),
        delegations: Default::default(),
        govcloud_account_id: None,
    };
    tree::add_member(db, &org, &account, &member, now).await?;
    for policy_type in &policy_types {
        policies::attach_default(db, &org, &root_id, policy_type).await?;
        policies::attach_default(db, &org, &account, policy_type).await?;
    }
    bump(db).await?;
    Ok(json!({ "Organization": org_json(db, &org).await? }))
}

pub async fn describe(ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = caller_org(db, ctx).await?;
    Ok(json!({ "Organization": org_json(db, &org).await? }))
}

pub async fn delete(ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = managed_org(db, ctx).await?;
    let m = org.management.clone();
    let members = db.entities().list(&m, model::MEMBER, "/", None, 2).await?;
    if members.items.iter().any(|e| e.name != m) {
        return Err(OrgError::OrganizationNotEmptyException.into());
    }
    // Everything the organization owns lives under the management account.
    for kind in [
        model::MEMBER,
        model::OU,
        model::ROOT,
        model::POLICY,
        model::CREATE_STATUS,
        model::HANDSHAKE,
    ] {
        loop {
            let page = db.entities().list(&m, kind, "/", None, 100).await?;
            for e in &page.items {
                for link in [model::LINK_CHILD, model::LINK_ATTACHED, model::LINK_PENDING] {
                    let key = if kind == model::MEMBER {
                        &e.name
                    } else {
                        &e.name_key
                    };
                    db.links().remove_all(&m, link, key).await?;
                }
                db.entities().delete(&m, kind, &e.name_key).await?;
            }
            if !page.truncated {
                break;
            }
        }
    }
    for (account, service) in delegations(db, &m).await? {
        db.links()
            .remove(&m, model::LINK_DELEGATED, &account, &service)
            .await?;
    }
    db.entities().delete(&m, model::ORG, &org.id).await?;
    bump(db).await?;
    Ok(json!({}))
}

/// Every delegated administrator registration of the organization: (account, service).
pub async fn delegations(db: &mut Db<'_>, management: &str) -> Res<Vec<(String, String)>> {
    let mut out = Vec::new();
    let members = tree::all_member_ids(db, management).await?;
    for account in members {
        for service in db
            .links()
            .targets(management, model::LINK_DELEGATED, &account)
            .await?
        {
            out.push((account.clone(), service));
        }
    }
    Ok(out)
}

pub async fn leave(ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = caller_org(db, ctx).await?;
    if org.is_management(ctx) {
        return Err(OrgError::MasterCannotLeaveOrganizationException.into());
    }
    tree::remove_member(db, &org, &ctx.principal.account_id).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn service_access(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
    on: bool,
) -> Res<Value> {
    let mut org = managed_org(db, ctx).await?;
    let service = super::common::req(input, "ServicePrincipal")?;
    if !service.ends_with(".amazonaws.com") {
        return Err(OrgError::invalid(
            "INVALID_SERVICE_PRINCIPAL",
            "You specified an invalid service principal.",
        )
        .into());
    }
    if org.doc.feature_set != "ALL" {
        return Err(OrgError::constraint(
            "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE",
            "You attempted to perform an operation that requires the organization to be configured to support all features.",
        )
        .into());
    }
    // Both directions are idempotent in AWS.
    if on {
        org.doc
            .service_access
            .entry(service.to_string())
            .or_insert(ctx.now);
    } else {
        org.doc.service_access.remove(service);
    }
    save_doc(db, org.entity.clone(), &org.doc, ctx.now).await?;
    Ok(json!({}))
}

pub async fn list_service_access(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let org = super::common::readable_org(db, ctx).await?;
    let items = org
        .doc
        .service_access
        .iter()
        .map(|(s, t)| json!({"ServicePrincipal": s, "DateEnabled": ts(*t)}))
        .collect();
    super::common::paged("EnabledServicePrincipals", items, input)
}
