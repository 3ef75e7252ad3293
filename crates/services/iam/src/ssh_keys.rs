//! SSH public keys of IAM users (used by CodeCommit): upload (at most 5 per user), get in SSH
//! or PEM encoding, list, activate or deactivate, delete.

use super::Op;
use chrono::{DateTime, Utc};
use rampart_store::{Entity, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{
    common::{opt_str, page, req_str, save_doc, ts, IamError, Res},
    ssh_key_format::{self, KeyError, RsaKey},
    user_items, users,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use rampart_kit::{authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError, ids};

/// Entity kind of SSH public keys.
pub const SSH_KEY: &str = "iam:ssh-public-key";
/// SSH public keys per user.
pub const KEYS_PER_USER: usize = 5;

/// A key's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshKeyDoc {
    /// The SSH wire blob (base64).
    pub blob: String,
    /// The body as uploaded.
    pub body: String,
    /// MD5 fingerprint.
    pub fingerprint: String,
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

fn key_error(e: KeyError) -> ServiceError {
    match e {
        KeyError::Unrecognized => IamError::UnrecognizedPublicKeyEncoding(
            "The specified public key is not in a recognized format.".into(),
        )
        .into(),
        KeyError::Invalid => IamError::InvalidPublicKey(
            "The specified public key is not valid: it must be an RSA key of at least 2048 bits in ssh-rsa or PEM format."
                .into(),
        )
        .into(),
    }
}

fn no_such_key(id: &str) -> ServiceError {
    IamError::NoSuchEntity(format!("The Public Key with id {id} cannot be found.")).into()
}

pub(crate) fn status_of(input: &Value) -> Res<&str> {
    match req_str(input, "Status")? {
        s @ ("Active" | "Inactive") => Ok(s),
        other => Err(IamError::ValidationError(format!(
            "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
        ))
        .into()),
    }
}

fn key_json(user: &str, e: &Entity, doc: &SshKeyDoc, body: Option<String>) -> Value {
    let mut m = Map::new();
    m.insert("UserName".into(), json!(user));
    m.insert("SSHPublicKeyId".into(), json!(e.id));
    if let Some(b) = body {
        m.insert("Fingerprint".into(), json!(doc.fingerprint));
        m.insert("SSHPublicKeyBody".into(), json!(b));
    }
    m.insert("Status".into(), json!(doc.status));
    m.insert("UploadDate".into(), json!(ts(e.created_at)));
    Value::Object(m)
}

fn stored_key(doc: &SshKeyDoc) -> Res<RsaKey> {
    let blob = B64
        .decode(&doc.blob)
        .map_err(|_| ServiceError::internal())?;
    ssh_key_format::parse(&format!("ssh-rsa {}", B64.encode(blob)))
        .map_err(|_| ServiceError::internal())
}

pub async fn upload(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let user = user_items::owner(input, ctx, db).await?;
    let body = req_str(input, "SSHPublicKeyBody")?;
    let key = ssh_key_format::parse(body).map_err(key_error)?;
    let existing: Vec<(Entity, SshKeyDoc)> = user_items::list(db, SSH_KEY, &user).await?;
    let fingerprint = key.fingerprint();
    if existing.iter().any(|(_, d)| d.fingerprint == fingerprint) {
        return Err(IamError::DuplicateSSHPublicKey(
            "The request was rejected because the SSH public key is already associated with the specified IAM user.".into(),
        )
        .into());
    }
    if existing.len() >= KEYS_PER_USER {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for PublicKeysPerUser: {KEYS_PER_USER}"
        ))
        .into());
    }
    let id = ids::unique_id("APKA").map_err(|_| ServiceError::internal())?;
    let id = id.get(..20).unwrap_or(&id).to_string();
    let doc = SshKeyDoc {
        blob: B64.encode(key.blob()),
        body: body.to_string(),
        fingerprint,
        status: "Active".into(),
    };
    let e = user_items::insert(db, ctx, SSH_KEY, &user, &id, &doc).await?;
    Ok(json!({ "SSHPublicKey": key_json(&user.name, &e, &doc, Some(doc.body.clone())) }))
}

async fn load(
    db: &mut Db<'_>,
    input: &Value,
    ctx: &CallContext,
) -> Res<(Entity, Entity, SshKeyDoc)> {
    let user = user_items::owner(input, ctx, db).await?;
    let id = req_str(input, "SSHPublicKeyId")?;
    let (e, doc) = user_items::get(db, SSH_KEY, &user, id)
        .await?
        .ok_or_else(|| no_such_key(id))?;
    Ok((user, e, doc))
}

pub async fn get(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (user, e, doc) = load(db, input, ctx).await?;
    let key = stored_key(&doc)?;
    let body = match req_str(input, "Encoding")? {
        "SSH" => key.to_ssh(),
        "PEM" => key.to_pem(),
        other => {
            return Err(IamError::ValidationError(format!(
                "1 validation error detected: Value '{other}' at 'encoding' failed to satisfy constraint: Member must satisfy enum value set: [SSH, PEM]"
            ))
            .into())
        }
    };
    Ok(json!({ "SSHPublicKey": key_json(&user.name, &e, &doc, Some(body)) }))
}

pub async fn list(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let user = user_items::owner(input, ctx, db).await?;
    let keys: Vec<(Entity, SshKeyDoc)> = user_items::list(db, SSH_KEY, &user).await?;
    let req = page::page_req(input)?;
    let (items, truncated, last) = page::slice(keys, |(e, _)| e.id.clone(), &req);
    let list: Vec<Value> = items
        .iter()
        .map(|(e, d)| key_json(&user.name, e, d, None))
        .collect();
    let mut out = Map::new();
    out.insert("SSHPublicKeys".into(), Value::Array(list));
    page::finish(&mut out, truncated, last.as_deref());
    Ok(Value::Object(out))
}

pub async fn update(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let status = status_of(input)?.to_string();
    let (_, e, mut doc) = load(db, input, ctx).await?;
    doc.status = status;
    let now: DateTime<Utc> = ctx.now;
    save_doc(db, e, &doc, now).await?;
    Ok(json!({}))
}

pub async fn delete(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (_, e, _) = load(db, input, ctx).await?;
    user_items::delete(db, &e).await?;
    Ok(json!({}))
}
