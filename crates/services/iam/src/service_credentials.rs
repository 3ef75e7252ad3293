//! Service-specific credentials of IAM users (a user name and password for CodeCommit's Git
//! over HTTPS or Amazon Keyspaces): create (at most 2 per user and service), list, reset the
//! password, activate or deactivate, delete. The password is shown once, at creation or reset;
//! the store keeps only its SHA-256 (the password is 256 random bits, so a slow hash adds
//! nothing).

use super::Op;
use aws_lc_rs::{
    digest,
    rand::{SecureRandom, SystemRandom},
};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use rampart_store::{Entity, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::{
    common::{opt_str, req_str, save_doc, ts, IamError, Res},
    ssh_keys::status_of,
    user_items, users,
};
use rampart_kit::{authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError, ids};

/// Entity kind of service-specific credentials.
pub const SERVICE_CREDENTIAL: &str = "iam:service-specific-credential";
/// Credentials per user and service.
pub const PER_USER_PER_SERVICE: usize = 2;
/// The services that accept service-specific credentials.
const SERVICES: [&str; 2] = ["codecommit.amazonaws.com", "cassandra.amazonaws.com"];

/// A credential's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialDoc {
    /// The service (`codecommit.amazonaws.com`, ...).
    pub service_name: String,
    /// The user name the service knows (`<user>-at-<account>`).
    pub service_user_name: String,
    /// SHA-256 of the password, hex.
    pub password_sha256: String,
    /// `Active` or `Inactive`.
    pub status: String,
}

/// The authorization entry of an operation of this family.
pub async fn authz(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let action = format!("iam:{}", op.name());
    let account = ctx.principal.account_id.as_str();
    let req = match opt_str(input, "UserName") {
        Some(name) => users::authz_on_user(&action, name, ctx, store, Vec::new()).await?,
        None => AuthzRequest::on(&action, ctx.principal.arn.clone(), account),
    };
    Ok(Some(req))
}

/// A fresh password (32 random bytes, base64) and its SHA-256.
fn new_password() -> Res<(Zeroizing<String>, String)> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(bytes.as_mut())
        .map_err(|_| ServiceError::internal())?;
    let password = Zeroizing::new(B64.encode(bytes.as_ref()));
    Ok((password.clone(), sha256(&password)))
}

fn sha256(password: &str) -> String {
    digest::digest(&digest::SHA256, password.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn credential_json(user: &str, e: &Entity, doc: &CredentialDoc, password: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("UserName".into(), json!(user));
    m.insert("Status".into(), json!(doc.status));
    m.insert("ServiceUserName".into(), json!(doc.service_user_name));
    m.insert("CreateDate".into(), json!(ts(e.created_at)));
    m.insert("ServiceSpecificCredentialId".into(), json!(e.id));
    m.insert("ServiceName".into(), json!(doc.service_name));
    if let Some(p) = password {
        m.insert("ServicePassword".into(), json!(p));
    }
    Value::Object(m)
}

fn no_such_credential(id: &str) -> ServiceError {
    IamError::NoSuchEntity(format!("No such service specific credential: {id}")).into()
}

pub async fn create(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let user = user_items::owner(input, ctx, db).await?;
    let service = req_str(input, "ServiceName")?;
    if !SERVICES.contains(&service) {
        return Err(IamError::NotSupportedService(format!(
            "No such service {service} is supported for Service Specific Credentials"
        ))
        .into());
    }
    let existing: Vec<(Entity, CredentialDoc)> =
        user_items::list(db, SERVICE_CREDENTIAL, &user).await?;
    if existing
        .iter()
        .filter(|(_, d)| d.service_name == service)
        .count()
        >= PER_USER_PER_SERVICE
    {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: {PER_USER_PER_SERVICE}"
        ))
        .into());
    }
    let id = ids::unique_id("ACCA").map_err(|_| ServiceError::internal())?;
    let id = id.get(..20).unwrap_or(&id).to_string();
    let (password, hash) = new_password()?;
    let doc = CredentialDoc {
        service_name: service.to_string(),
        service_user_name: format!("{}-at-{}", user.name, user.account_id),
        password_sha256: hash,
        status: "Active".into(),
    };
    let e = user_items::insert(db, ctx, SERVICE_CREDENTIAL, &user, &id, &doc).await?;
    let out = credential_json(&user.name, &e, &doc, Some(&password));
    Ok(json!({ "ServiceSpecificCredential": out }))
}

async fn load(
    db: &mut Db<'_>,
    input: &Value,
    ctx: &CallContext,
) -> Res<(Entity, Entity, CredentialDoc)> {
    let user = user_items::owner(input, ctx, db).await?;
    let id = req_str(input, "ServiceSpecificCredentialId")?;
    let (e, doc) = user_items::get(db, SERVICE_CREDENTIAL, &user, id)
        .await?
        .ok_or_else(|| no_such_credential(id))?;
    Ok((user, e, doc))
}

pub async fn list(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let user = user_items::owner(input, ctx, db).await?;
    let all: Vec<(Entity, CredentialDoc)> = user_items::list(db, SERVICE_CREDENTIAL, &user).await?;
    let service = opt_str(input, "ServiceName");
    let list: Vec<Value> = all
        .iter()
        .filter(|(_, d)| service.is_none_or(|s| s == d.service_name))
        .map(|(e, d)| credential_json(&user.name, e, d, None))
        .collect();
    Ok(json!({ "ServiceSpecificCredentials": list }))
}

pub async fn reset(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (user, e, mut doc) = load(db, input, ctx).await?;
    let (password, hash) = new_password()?;
    doc.password_sha256 = hash;
    let out = credential_json(&user.name, &e, &doc, Some(&password));
    save_doc(db, e, &doc, ctx.now).await?;
    Ok(json!({ "ServiceSpecificCredential": out }))
}

pub async fn update(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let status = status_of(input)?.to_string();
    let (_, e, mut doc) = load(db, input, ctx).await?;
    doc.status = status;
    save_doc(db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

pub async fn delete(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (_, e, _) = load(db, input, ctx).await?;
    user_items::delete(db, &e).await?;
    Ok(json!({}))
}

/// True when `password` is the current password of an active credential `doc`.
pub fn password_matches(doc: &CredentialDoc, password: &str) -> bool {
    let given = sha256(password);
    doc.status == "Active"
        && aws_lc_rs::constant_time::verify_slices_are_equal(
            given.as_bytes(),
            doc.password_sha256.as_bytes(),
        )
        .is_ok()
}
