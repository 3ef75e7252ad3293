//! Account-level IAM: the account alias, `GetAccountSummary` and
//! `GetAccountAuthorizationDetails`.

use super::Op;
use chrono::{DateTime, Utc};
use rampart_store::{Entity, KeyStatus, Store};
use serde_json::{json, Map, Value};

use super::{
    common::{document, page, parse_iam_arn, read_doc, req_str, str_list, tags, ts, IamError, Res},
    groups,
    model::{
        GroupDoc, PolicyDoc, RoleDoc, UserDoc, ACCOUNT_ALIAS, AWS_ACCOUNT, GROUP, INSTANCE_PROFILE,
        LINK_ATTACHED, LINK_BOUNDARY, LINK_PROFILE_ROLE, POLICY, ROLE, USER,
    },
    users,
};
use rampart_kit::{authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError};

/// The authorization entry of an operation of this family (all on `*`).
pub async fn authz(
    op: Op,
    _input: &Value,
    ctx: &CallContext,
    _store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    Ok(Some(AuthzRequest::on_any(
        &format!("iam:{}", op.name()),
        &ctx.principal.account_id,
    )))
}

fn alias_id(alias: &str) -> String {
    format!("alias:{alias}")
}

/// Every entity of `kind` in `account`, in name order.
pub async fn all(db: &mut Db<'_>, account: &str, kind: &str) -> Res<Vec<Entity>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let got = db
            .entities()
            .list(account, kind, "/", after.as_deref(), 1000)
            .await?;
        after = got.items.last().map(|e| e.name_key.clone());
        out.extend(got.items);
        if !got.truncated {
            return Ok(out);
        }
    }
}

/// An account has one alias; a new one replaces it. Aliases are unique across accounts.
pub async fn create_alias(
    input: &Value,
    account: &str,
    now: DateTime<Utc>,
    db: &mut Db<'_>,
) -> Res<Value> {
    let alias = req_str(input, "AccountAlias")?;
    if let Some(e) = db.entities().get_by_id(&alias_id(alias)).await? {
        if e.account_id == account {
            return Ok(json!({}));
        }
        return Err(IamError::EntityAlreadyExists(format!(
            "The account alias {alias} already exists."
        ))
        .into());
    }
    for old in all(db, account, ACCOUNT_ALIAS).await? {
        db.entities()
            .delete(account, ACCOUNT_ALIAS, &old.name_key)
            .await?;
    }
    let e = Entity {
        account_id: account.to_string(),
        kind: ACCOUNT_ALIAS.into(),
        name: alias.to_string(),
        name_key: alias.to_string(),
        id: alias_id(alias),
        path: "/".into(),
        arn: String::new(),
        created_at: now,
        updated_at: now,
        doc: "{}".into(),
    };
    db.entities().create(&e).await.map_err(|err| {
        super::common::exists_or(err, format!("The account alias {alias} already exists."))
    })?;
    Ok(json!({}))
}

pub async fn delete_alias(input: &Value, account: &str, db: &mut Db<'_>) -> Res<Value> {
    let alias = req_str(input, "AccountAlias")?;
    match db.entities().get(account, ACCOUNT_ALIAS, alias).await? {
        Some(_) => {
            db.entities().delete(account, ACCOUNT_ALIAS, alias).await?;
            Ok(json!({}))
        }
        None => Err(
            IamError::NoSuchEntity(format!("The account alias {alias} cannot be found.")).into(),
        ),
    }
}

pub async fn list_aliases(input: &Value, account: &str, db: &mut Db<'_>) -> Res<Value> {
    let names: Vec<String> = all(db, account, ACCOUNT_ALIAS)
        .await?
        .into_iter()
        .map(|e| e.name)
        .collect();
    let req = page::page_req(input)?;
    let (items, truncated, last) = page::slice(names, Clone::clone, &req);
    let mut m = Map::new();
    m.insert("AccountAliases".into(), json!(items));
    page::finish(&mut m, truncated, last.as_deref());
    Ok(Value::Object(m))
}

pub async fn summary(account: &str, db: &mut Db<'_>) -> Res<Value> {
    let users = db.entities().count(account, USER).await?;
    let groups = db.entities().count(account, GROUP).await?;
    let roles = db.entities().count(account, ROLE).await?;
    let policies = db.entities().count(account, POLICY).await?;
    let profiles = db.entities().count(account, INSTANCE_PROFILE).await?;
    let root_keys = db
        .credentials()
        .list_for_principal(account, account)
        .await?
        .iter()
        .filter(|k| k.session.is_none() && k.status == KeyStatus::Active)
        .count();
    let root_mfa = !super::mfa_device::enabled_for(db, account, account)
        .await?
        .is_empty();
    let root_password = super::passwords::login_of(db, account, account)
        .await?
        .is_some();
    let devices = all(db, account, super::mfa_device::MFA_DEVICE).await?;
    let mfa_devices = devices.len();
    let mut mfa_in_use = 0usize;
    for d in &devices {
        let doc: super::mfa_device::DeviceDoc = read_doc(d)?;
        mfa_in_use += usize::from(doc.user.is_some());
    }
    let mut in_use = 0usize;
    for owner in [account, AWS_ACCOUNT] {
        for p in all(db, owner, POLICY).await? {
            let attached = db
                .links()
                .sources(LINK_ATTACHED, &p.arn)
                .await?
                .iter()
                .filter(|(a, _)| a == account)
                .count();
            in_use += usize::from(attached > 0);
        }
    }
    let server_certs = db
        .entities()
        .count(account, super::server_certs::SERVER_CERT)
        .await?;
    let token_version = super::sts_preferences::token_version(db, account).await?;
    Ok(json!({ "SummaryMap": {
        "Users": users,
        "UsersQuota": 5000,
        "Groups": groups,
        "GroupsQuota": 300,
        "Roles": roles,
        "RolesQuota": 1000,
        "Policies": policies,
        "PoliciesQuota": 1500,
        "InstanceProfiles": profiles,
        "InstanceProfilesQuota": 1000,
        "PolicyVersionsInUse": in_use,
        "PolicyVersionsInUseQuota": 10000,
        "VersionsPerPolicyQuota": 5,
        "GroupsPerUserQuota": groups::GROUPS_PER_USER,
        "AttachedPoliciesPerUserQuota": super::policies::ATTACHED_PER_ENTITY,
        "AttachedPoliciesPerGroupQuota": super::policies::ATTACHED_PER_ENTITY,
        "AttachedPoliciesPerRoleQuota": super::policies::ATTACHED_PER_ENTITY,
        "AccessKeysPerUserQuota": super::access_keys::KEYS_PER_USER,
        "SigningCertificatesPerUserQuota": super::signing_certs::CERTS_PER_USER,
        "UserPolicySizeQuota": document::USER_POLICY_SIZE,
        "GroupPolicySizeQuota": document::GROUP_POLICY_SIZE,
        "RolePolicySizeQuota": document::ROLE_POLICY_SIZE,
        "PolicySizeQuota": document::MANAGED_POLICY_SIZE,
        "AssumeRolePolicySizeQuota": 2048,
        "AccountAccessKeysPresent": usize::from(root_keys > 0),
        "AccountMFAEnabled": usize::from(root_mfa),
        "AccountPasswordPresent": usize::from(root_password),
        "AccountSigningCertificatesPresent": 0,
        "MFADevices": mfa_devices,
        "MFADevicesInUse": mfa_in_use,
        "ServerCertificates": server_certs,
        "ServerCertificatesQuota": super::server_certs::CERTS_PER_ACCOUNT,
        "Providers": 0,
        "GlobalEndpointTokenVersion": token_version,
    }}))
}

fn inline_list(policies: &std::collections::BTreeMap<String, String>) -> Value {
    Value::Array(
        policies
            .iter()
            .map(|(n, d)| json!({"PolicyName": n, "PolicyDocument": document::url_encode(d)}))
            .collect(),
    )
}

async fn attached_list(db: &mut Db<'_>, account: &str, id: &str) -> Res<Value> {
    let arns = db.links().targets(account, LINK_ATTACHED, id).await?;
    Ok(Value::Array(
        arns.iter()
            .filter_map(|arn| {
                let (_, _, name) = parse_iam_arn(arn, "policy")?;
                Some(json!({"PolicyName": name, "PolicyArn": arn}))
            })
            .collect(),
    ))
}

fn base(e: &Entity, name_member: &str, id_member: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("Path".into(), json!(e.path));
    m.insert(name_member.into(), json!(e.name));
    m.insert(id_member.into(), json!(e.id));
    m.insert("Arn".into(), json!(e.arn));
    m.insert("CreateDate".into(), json!(ts(e.created_at)));
    m
}

async fn user_detail(db: &mut Db<'_>, account: &str, e: &Entity) -> Res<Value> {
    let doc: UserDoc = read_doc(e)?;
    let mut m = base(e, "UserName", "UserId");
    m.insert("UserPolicyList".into(), inline_list(&doc.inline_policies));
    let group_names: Vec<String> = groups::groups_of(db, e)
        .await?
        .into_iter()
        .map(|g| g.name)
        .collect();
    m.insert("GroupList".into(), json!(group_names));
    m.insert(
        "AttachedManagedPolicies".into(),
        attached_list(db, account, &e.id).await?,
    );
    if let Some(b) = &doc.permissions_boundary {
        m.insert("PermissionsBoundary".into(), users::boundary_json(b));
    }
    if !doc.tags.is_empty() {
        m.insert("Tags".into(), tags::to_json(&doc.tags));
    }
    Ok(Value::Object(m))
}

async fn group_detail(db: &mut Db<'_>, account: &str, e: &Entity) -> Res<Value> {
    let doc: GroupDoc = read_doc(e)?;
    let mut m = base(e, "GroupName", "GroupId");
    m.insert("GroupPolicyList".into(), inline_list(&doc.inline_policies));
    m.insert(
        "AttachedManagedPolicies".into(),
        attached_list(db, account, &e.id).await?,
    );
    Ok(Value::Object(m))
}

async fn role_detail(db: &mut Db<'_>, account: &str, e: &Entity) -> Res<Value> {
    let doc: RoleDoc = read_doc(e)?;
    let mut m = base(e, "RoleName", "RoleId");
    m.insert(
        "AssumeRolePolicyDocument".into(),
        json!(document::url_encode(&doc.assume_role_policy)),
    );
    let mut profiles = Vec::new();
    for (a, profile_id) in db.links().sources(LINK_PROFILE_ROLE, &e.id).await? {
        if a != account {
            continue;
        }
        if let Some(p) = db.entities().get_by_id(&profile_id).await? {
            let mut pm = base(&p, "InstanceProfileName", "InstanceProfileId");
            let mut role = base(e, "RoleName", "RoleId");
            role.insert(
                "AssumeRolePolicyDocument".into(),
                json!(document::url_encode(&doc.assume_role_policy)),
            );
            pm.insert("Roles".into(), json!([Value::Object(role)]));
            profiles.push(Value::Object(pm));
        }
    }
    m.insert("InstanceProfileList".into(), Value::Array(profiles));
    m.insert("RolePolicyList".into(), inline_list(&doc.inline_policies));
    m.insert(
        "AttachedManagedPolicies".into(),
        attached_list(db, account, &e.id).await?,
    );
    if let Some(b) = &doc.permissions_boundary {
        m.insert("PermissionsBoundary".into(), users::boundary_json(b));
    }
    if !doc.tags.is_empty() {
        m.insert("Tags".into(), tags::to_json(&doc.tags));
    }
    let mut last = Map::new();
    if let Some(l) = &doc.last_used {
        last.insert("LastUsedDate".into(), json!(ts(l.date)));
        last.insert("Region".into(), json!(l.region));
    }
    m.insert("RoleLastUsed".into(), Value::Object(last));
    Ok(Value::Object(m))
}

async fn policy_detail(db: &mut Db<'_>, account: &str, e: &Entity) -> Res<Value> {
    let doc: PolicyDoc = read_doc(e)?;
    let count = |v: Vec<(String, String)>| v.iter().filter(|(a, _)| a == account).count();
    let attached = count(db.links().sources(LINK_ATTACHED, &e.arn).await?);
    let bounded = count(db.links().sources(LINK_BOUNDARY, &e.arn).await?);
    let mut m = Map::new();
    m.insert("PolicyName".into(), json!(e.name));
    m.insert("PolicyId".into(), json!(e.id));
    m.insert("Arn".into(), json!(e.arn));
    m.insert("Path".into(), json!(e.path));
    m.insert("DefaultVersionId".into(), json!(doc.default_version_id));
    m.insert("AttachmentCount".into(), json!(attached));
    m.insert("PermissionsBoundaryUsageCount".into(), json!(bounded));
    m.insert("IsAttachable".into(), json!(true));
    if let Some(d) = &doc.description {
        m.insert("Description".into(), json!(d));
    }
    m.insert("CreateDate".into(), json!(ts(e.created_at)));
    m.insert("UpdateDate".into(), json!(ts(e.updated_at)));
    m.insert(
        "PolicyVersionList".into(),
        Value::Array(
            doc.versions
                .iter()
                .map(|v| {
                    json!({
                        "Document": document::url_encode(&v.document),
                        "VersionId": v.version_id,
                        "IsDefaultVersion": v.version_id == doc.default_version_id,
                        "CreateDate": ts(v.create_date),
                    })
                })
                .collect(),
        ),
    );
    Ok(Value::Object(m))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    User,
    Group,
    Role,
    Policy,
}

pub async fn details(input: &Value, account: &str, db: &mut Db<'_>) -> Res<Value> {
    let filter = str_list(input, "Filter");
    let wants = |f: &str| filter.is_empty() || filter.iter().any(|x| x == f);
    let mut items: Vec<(Part, Entity)> = Vec::new();
    for (filter_name, kind, part) in [
        ("User", USER, Part::User),
        ("Group", GROUP, Part::Group),
        ("Role", ROLE, Part::Role),
        ("LocalManagedPolicy", POLICY, Part::Policy),
    ] {
        if wants(filter_name) {
            items.extend(all(db, account, kind).await?.into_iter().map(|e| (part, e)));
        }
    }
    if wants("AWSManagedPolicy") {
        for e in all(db, AWS_ACCOUNT, POLICY).await? {
            let used = db
                .links()
                .sources(LINK_ATTACHED, &e.arn)
                .await?
                .iter()
                .any(|(a, _)| a == account);
            if used {
                items.push((Part::Policy, e));
            }
        }
    }
    let req = page::page_req(input)?;
    let indexed: Vec<(usize, (Part, Entity))> = items.into_iter().enumerate().collect();
    let (page_items, truncated, last) =
        page::slice(indexed, |(i, _)| rampart_kit::page::index_key(*i), &req);
    let (mut users_out, mut groups_out, mut roles_out, mut policies_out) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (_, (part, e)) in &page_items {
        match part {
            Part::User => users_out.push(user_detail(db, account, e).await?),
            Part::Group => groups_out.push(group_detail(db, account, e).await?),
            Part::Role => roles_out.push(role_detail(db, account, e).await?),
            Part::Policy => policies_out.push(policy_detail(db, account, e).await?),
        }
    }
    let mut m = Map::new();
    m.insert("UserDetailList".into(), Value::Array(users_out));
    m.insert("GroupDetailList".into(), Value::Array(groups_out));
    m.insert("RoleDetailList".into(), Value::Array(roles_out));
    m.insert("Policies".into(), Value::Array(policies_out));
    page::finish(&mut m, truncated, last.as_deref());
    Ok(Value::Object(m))
}
