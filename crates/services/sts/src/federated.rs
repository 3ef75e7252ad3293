//! What `AssumeRoleWithWebIdentity` and `AssumeRoleWithSAML` share once their proof is
//! verified: the trust policy's question (the action on the role, with the proof's condition
//! keys) and the role session, with the proof's session tags and source identity.

use rampart_policy::PolicyKind;
use rampart_store::{Principal as KeyOwner, PrincipalKind, Store};
use serde_json::{json, Value};

use crate::{
    assume_role::{check_session_name, denied, trust_allows_with},
    issue, StsError,
};
use rampart_iam::{
    common::{parse_iam_arn, tags as iam_tags},
    model::{self, RoleDoc, RoleLastUsed},
    roles::{self, LINK_ROLE_SESSION},
};
use rampart_kit::{
    authz::{AuthzRequest, ResourcePolicy, ResourceRef},
    context::{CallContext, ContextEntry, Prepared},
    db::Db,
    entity::read_doc,
    error::ServiceError,
    input::{missing_member, opt_int, opt_str, required},
    json_field::SetField,
    principal::SessionContext,
};

/// A session tag: key and value.
pub type Tag = (String, String);

/// What a verified token or assertion established, for the authorization and the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    /// `sts:AssumeRoleWithWebIdentity` or `sts:AssumeRoleWithSAML`.
    pub action: &'static str,
    /// The provider's ARN (`aws:FederatedProvider`).
    pub provider_arn: String,
    /// The trust policy's condition keys from the proof.
    pub keys: Vec<ContextEntry>,
    /// Session tags.
    pub tags: Vec<Tag>,
    /// Which of them are transitive.
    pub transitive: Vec<String>,
    /// The source identity, if the proof sets one.
    pub source_identity: Option<String>,
    /// The session name the proof gives (SAML's `RoleSessionName` attribute); else the
    /// request's `RoleSessionName`.
    pub session_name: Option<String>,
    /// The session duration the proof asks for (SAML's `SessionDuration` attribute).
    pub session_duration: Option<i64>,
    /// Members of the response particular to the operation.
    pub output: Value,
}

/// The verified proof of this call.
pub fn proven(ctx: &CallContext) -> Result<&Proven, ServiceError> {
    ctx.prepared
        .as_deref()
        .and_then(Prepared::get::<Proven>)
        .ok_or_else(|| {
            StsError::AccessDenied("Not authorized to perform this operation".into()).into()
        })
}

/// Every condition key of the trust policy's decision: the proof's, the request's and the
/// session tags.
fn trust_keys(input: &Value, p: &Proven) -> Vec<ContextEntry> {
    let mut keys = p.keys.clone();
    keys.push(("aws:FederatedProvider".into(), vec![p.provider_arn.clone()]));
    let name = p
        .session_name
        .as_deref()
        .or_else(|| opt_str(input, "RoleSessionName"));
    if let Some(name) = name {
        keys.push(("sts:RoleSessionName".into(), vec![name.to_string()]));
    }
    if let Some(si) = &p.source_identity {
        keys.push(("sts:SourceIdentity".into(), vec![si.clone()]));
    }
    for (k, v) in &p.tags {
        keys.push((format!("aws:RequestTag/{k}"), vec![v.clone()]));
    }
    if !p.tags.is_empty() {
        keys.push((
            "aws:TagKeys".into(),
            p.tags.iter().map(|(k, _)| k.clone()).collect(),
        ));
    }
    if !p.transitive.is_empty() {
        keys.push(("sts:TransitiveTagKeys".into(), p.transitive.clone()));
    }
    keys
}

/// The proof's action on the role, its trust policy required; a role that does not exist
/// gets no entry (AccessDenied, as AWS answers).
pub async fn authz(
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let p = proven(ctx)?;
    let Some(arn) = opt_str(input, "RoleArn") else {
        return Ok(None);
    };
    let Some((account, _, name)) = parse_iam_arn(arn, "role") else {
        return Ok(None);
    };
    let Some(role) = store
        .entities()
        .get(account, model::ROLE, &model::name_key(name))
        .await?
        .filter(|r| r.arn == arn)
    else {
        return Ok(None);
    };
    let doc: RoleDoc = read_doc(&role)?;
    let mut context = trust_keys(input, p);
    context.extend(iam_tags::resource_context(&doc.tags));
    Ok(Some(AuthzRequest {
        action: p.action.into(),
        resources: vec![ResourceRef {
            arn: role.arn.clone(),
            account: account.to_string(),
            policy: Some(ResourcePolicy {
                name: format!("trust policy of role {}", role.name),
                document: doc.assume_role_policy.clone(),
                required: true,
                kind: PolicyKind::Trust,
                account_only: false,
            }),
        }],
        context,
        always_allowed: false,
    }))
}

fn not_authorized(p: &Proven) -> ServiceError {
    StsError::AccessDenied(format!("Not authorized to perform {}", p.action)).into()
}

/// Issues the role session and answers with the credentials, the assumed-role user and the
/// operation's own members.
pub async fn handle(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let db = &mut db;
    let p = proven(ctx)?;
    let role_arn = required(input, "RoleArn", missing_member)?;
    let (account, name) = match parse_iam_arn(role_arn, "role") {
        Some((account, _, name)) => (account.to_string(), name),
        None => return Err(not_authorized(p)),
    };
    let (role, mut doc) = match roles::load_role(db, &account, name).await {
        Ok(found) if found.0.arn == role_arn => found,
        _ => return Err(not_authorized(p)),
    };
    let session_name = match &p.session_name {
        Some(name) => name.as_str(),
        None => required(input, "RoleSessionName", missing_member)?,
    };
    check_session_name(session_name, "roleSessionName", 64)?;
    let duration = issue::check_duration(
        opt_int(input, "DurationSeconds").or(p.session_duration),
        3600,
        doc.max_session_duration,
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    )?;
    let keys = trust_keys(input, p);
    let allows = |action: &str| {
        trust_allows_with(
            &doc.assume_role_policy,
            action,
            &role.arn,
            &account,
            ctx,
            &keys,
        )
    };
    if !p.tags.is_empty() && !allows("sts:TagSession") {
        return Err(denied(ctx, "sts:TagSession", &role.arn));
    }
    if p.source_identity.is_some() && !allows("sts:SetSourceIdentity") {
        return Err(denied(ctx, "sts:SetSourceIdentity", &role.arn));
    }
    let (session_policies, mut packed) = issue::session_policies(db, input).await?;
    packed += p.tags.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    let packed_pct = issue::packed_percent(packed)?;

    let assumed_id = format!("{}:{session_name}", role.id);
    let assumed_arn = ctx.partition().arn(
        "sts",
        "",
        &account,
        &format!("assumed-role/{}/{session_name}", role.name),
    );
    let context = SessionContext {
        role_id: Some(role.id.clone()),
        role_arn: Some(role.arn.clone()),
        session_name: session_name.to_string(),
        session_policies,
        source_identity: p.source_identity.clone(),
        tags: p.tags.clone(),
        transitive_tag_keys: p.transitive.clone(),
        federated_provider: Some(p.provider_arn.clone()),
        ..SessionContext::default()
    };
    let owner = KeyOwner {
        account_id: account.clone(),
        kind: PrincipalKind::AssumedRole,
        id: assumed_id.clone(),
        arn: assumed_arn.clone(),
    };
    let issued = issue::issue(db, owner, &context, ctx.now, duration).await?;
    db.links()
        .add(&account, LINK_ROLE_SESSION, &role.id, &issued.access_key_id)
        .await?;
    doc.last_used = Some(RoleLastUsed {
        date: ctx.now,
        region: ctx.region.clone(),
    });
    roles::save_role(db, role, &doc, ctx.now).await?;

    let mut out = p.output.clone();
    out.set_field("Credentials", issued.to_json());
    out.set_field(
        "AssumedRoleUser",
        json!({ "AssumedRoleId": assumed_id, "Arn": assumed_arn }),
    );
    out.set_field("PackedPolicySize", json!(packed_pct));
    if let Some(si) = &p.source_identity {
        out.set_field("SourceIdentity", json!(si));
    }
    Ok(out)
}
