//! Signing certificates of IAM users (X.509, for SOAP-era services): upload (at most 2 per
//! user, each certificate once per account), list, activate or deactivate, delete.

use super::Op;
use rampart_store::{Entity, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{
    cert_format,
    common::{opt_str, page, req_str, save_doc, ts, IamError, Res},
    user_items, users,
};
use rampart_kit::{authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError, ids};

/// Entity kind of signing certificates.
pub const SIGNING_CERT: &str = "iam:signing-certificate";
/// Signing certificates per user.
pub const CERTS_PER_USER: usize = 2;
/// More certificates than any account holds (duplicate detection reads them all).
const ACCOUNT_SCAN: u32 = 10_000;

/// A certificate's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertDoc {
    /// The body as uploaded (PEM).
    pub body: String,
    /// SHA-256 of the DER.
    pub digest: String,
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

fn cert_json(user: &str, e: &Entity, doc: &CertDoc) -> Value {
    json!({
        "UserName": user,
        "CertificateId": e.id,
        "CertificateBody": doc.body,
        "Status": doc.status,
        "UploadDate": ts(e.created_at),
    })
}

fn no_such_cert(id: &str) -> ServiceError {
    IamError::NoSuchEntity(format!("The Certificate with id {id} cannot be found.")).into()
}

/// A fresh certificate id: 32 characters of AWS's id alphabet.
fn cert_id() -> Res<String> {
    let a = ids::unique_id("").map_err(|_| ServiceError::internal())?;
    let b = ids::unique_id("").map_err(|_| ServiceError::internal())?;
    let id = format!("{a}{b}");
    Ok(id.get(..32).unwrap_or(&id).to_string())
}

pub async fn upload(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let user = user_items::owner(input, ctx, db).await?;
    let body = req_str(input, "CertificateBody")?;
    let cert = cert_format::parse(body, ctx.now)
        .map_err(|e| ServiceError::from(IamError::MalformedCertificate(e.0)))?;
    let all = db
        .entities()
        .list(&user.account_id, SIGNING_CERT, "/", None, ACCOUNT_SCAN)
        .await?;
    for e in &all.items {
        let d: CertDoc = super::common::read_doc(e)?;
        if d.digest == cert.digest {
            return Err(IamError::DuplicateCertificate(
                "The request was rejected because the same certificate is associated with an IAM user in the account.".into(),
            )
            .into());
        }
    }
    let mine: Vec<(Entity, CertDoc)> = user_items::list(db, SIGNING_CERT, &user).await?;
    if mine.len() >= CERTS_PER_USER {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for CertificatesPerUser: {CERTS_PER_USER}"
        ))
        .into());
    }
    let doc = CertDoc {
        body: body.to_string(),
        digest: cert.digest,
        status: "Active".into(),
    };
    let e = user_items::insert(db, ctx, SIGNING_CERT, &user, &cert_id()?, &doc).await?;
    Ok(json!({ "Certificate": cert_json(&user.name, &e, &doc) }))
}

async fn load(db: &mut Db<'_>, input: &Value, ctx: &CallContext) -> Res<(Entity, CertDoc)> {
    let user = user_items::owner(input, ctx, db).await?;
    let id = req_str(input, "CertificateId")?;
    user_items::get(db, SIGNING_CERT, &user, id)
        .await?
        .ok_or_else(|| no_such_cert(id))
}

pub async fn list(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let user = user_items::owner(input, ctx, db).await?;
    let certs: Vec<(Entity, CertDoc)> = user_items::list(db, SIGNING_CERT, &user).await?;
    let req = page::page_req(input)?;
    let (items, truncated, last) = page::slice(certs, |(e, _)| e.id.clone(), &req);
    let list: Vec<Value> = items
        .iter()
        .map(|(e, d)| cert_json(&user.name, e, d))
        .collect();
    let mut out = Map::new();
    out.insert("Certificates".into(), Value::Array(list));
    page::finish(&mut out, truncated, last.as_deref());
    Ok(Value::Object(out))
}

pub async fn update(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let status = super::ssh_keys::status_of(input)?.to_string();
    let (e, mut doc) = load(db, input, ctx).await?;
    doc.status = status;
    save_doc(db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

pub async fn delete(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (e, _) = load(db, input, ctx).await?;
    user_items::delete(db, &e).await?;
    Ok(json!({}))
}
