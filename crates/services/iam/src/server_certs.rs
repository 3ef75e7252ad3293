//! Server certificates (TLS certificates for load balancers and CloudFront): upload with the
//! private key that must match the certificate, get, list by path, rename or move, delete. The
//! private key is sealed under the master key and never returned.

use super::Op;
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use chrono::{DateTime, Utc};
use rampart_kit::{entity, json_field::SetField};
use rampart_store::{aad_for, Entity, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::{
    cert_format::{self, KeyRefusal},
    common::{
        authz_on_entity, bump, checked_path, exists_or, find, load_doc, new_id, opt_str, page,
        path_prefix_of, read_doc, req_str, save_doc, str_list, tags, to_text, ts, IamError, Res,
    },
    model::{self, Tag},
};
use rampart_kit::{authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError};

/// Entity kind of server certificates.
pub const SERVER_CERT: &str = "iam:server-certificate";
/// Server certificates per account.
pub const CERTS_PER_ACCOUNT: usize = 20;

/// A server certificate's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerCertDoc {
    /// The certificate (PEM) as uploaded.
    pub body: String,
    /// The chain (PEM), if given.
    #[serde(default)]
    pub chain: Option<String>,
    /// The private key sealed under the master key (base64), bound to the certificate id.
    pub sealed_key: String,
    /// End of validity.
    pub expiration: Option<DateTime<Utc>>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// The authorization entry of an operation of this family.
pub async fn authz(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let account = &ctx.principal.account_id;
    let action = format!("iam:{}", op.name());
    if op == Op::ListServerCertificates {
        return Ok(Some(AuthzRequest::on_any(&action, account)));
    }
    let name = req_str(input, "ServerCertificateName")?;
    if op == Op::UploadServerCertificate {
        let path = opt_str(input, "Path").unwrap_or("/");
        let arn = model::arn(ctx.partition(), account, "server-certificate", path, name);
        let mut req = AuthzRequest::on(&action, arn, account);
        req.context = tags::request_context(&tags::from_input(input)?);
        return Ok(Some(req));
    }
    let extra = match op {
        Op::TagServerCertificate => tags::request_context(&tags::from_input(input)?),
        Op::UntagServerCertificate => {
            let keys = str_list(input, "TagKeys");
            if keys.is_empty() {
                Vec::new()
            } else {
                vec![tags::tag_keys_context(&keys)]
            }
        }
        _ => Vec::new(),
    };
    let tags_of = |d: ServerCertDoc| d.tags;
    let req = authz_on_entity(
        &action,
        ctx,
        store,
        SERVER_CERT,
        "server-certificate",
        name,
        tags_of,
        extra,
    )
    .await?;
    Ok(Some(req))
}

fn no_such_cert(name: &str) -> ServiceError {
    IamError::NoSuchEntity(format!(
        "The Server Certificate with name {name} cannot be found."
    ))
    .into()
}

fn metadata(e: &Entity, doc: &ServerCertDoc) -> Value {
    let mut m = Map::new();
    m.insert("Path".into(), json!(e.path));
    m.insert("ServerCertificateName".into(), json!(e.name));
    m.insert("ServerCertificateId".into(), json!(e.id));
    m.insert("Arn".into(), json!(e.arn));
    m.insert("UploadDate".into(), json!(ts(e.created_at)));
    if let Some(x) = doc.expiration {
        m.insert("Expiration".into(), json!(ts(x)));
    }
    Value::Object(m)
}

fn malformed(message: String) -> ServiceError {
    IamError::MalformedCertificate(message).into()
}

pub async fn upload(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let name = req_str(input, "ServerCertificateName")?;
    let path = checked_path(input, "Path")?;
    let body = req_str(input, "CertificateBody")?;
    let cert = cert_format::parse(body, ctx.now).map_err(|e| malformed(e.0))?;
    let private_key = req_str(input, "PrivateKey")?;
    cert_format::check_key(private_key, &cert).map_err(|r| match r {
        KeyRefusal::Malformed => malformed("Unable to parse private key.".into()),
        KeyRefusal::Mismatch => IamError::KeyPairMismatch(
            "The public key certificate and the private key do not match.".into(),
        )
        .into(),
    })?;
    let chain = opt_str(input, "CertificateChain");
    if let Some(c) = chain {
        cert_format::check_chain(c).map_err(|e| malformed(e.0))?;
    }
    let tags = tags::from_input(input)?;
    let count = db
        .entities()
        .list(account, SERVER_CERT, "/", None, CERTS_PER_ACCOUNT as u32)
        .await?
        .items
        .len();
    if count >= CERTS_PER_ACCOUNT {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for ServerCertificatesPerAccount: {CERTS_PER_ACCOUNT}"
        ))
        .into());
    }
    let id = new_id("ASCA")?;
    let sealed = db
        .master_key()
        .seal(&key_aad(&id), private_key.trim().as_bytes())
        .map_err(ServiceError::from)?;
    let doc = ServerCertDoc {
        body: body.to_string(),
        chain: chain.map(str::to_string),
        sealed_key: B64.encode(sealed),
        expiration: Some(cert.not_after),
        tags,
    };
    let e = Entity {
        account_id: account.clone(),
        kind: SERVER_CERT.into(),
        name: name.to_string(),
        name_key: model::name_key(name),
        id,
        path: path.clone(),
        arn: model::arn(ctx.partition(), account, "server-certificate", &path, name),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: to_text(&doc)?,
    };
    db.entities().create(&e).await.map_err(|err| {
        exists_or(
            err,
            format!("The Server Certificate with name {name} already exists."),
        )
    })?;
    bump(db).await?;
    let mut out = json!({ "ServerCertificateMetadata": metadata(&e, &doc) });
    if !doc.tags.is_empty() {
        out.set_field("Tags", tags::to_json(&doc.tags));
    }
    Ok(out)
}

fn key_aad(id: &str) -> Vec<u8> {
    aad_for("entities", "server-certificate-key", id)
}

async fn load(db: &mut Db<'_>, account: &str, name: &str) -> Res<(Entity, ServerCertDoc)> {
    load_doc(db, account, SERVER_CERT, name, no_such_cert).await
}

/// The server certificate an ARN names in `account` (`arn:aws:iam::ACCOUNT:server-certificate/PATH/NAME`),
/// if it exists there: what a load balancer's listener takes as its certificate.
pub async fn by_arn(
    db: &mut Db<'_>,
    account: &str,
    arn: &str,
) -> Res<Option<(Entity, ServerCertDoc)>> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("iam"), Some(""), Some(owner), Some(res)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Ok(None);
    };
    let Some(name) = res
        .strip_prefix("server-certificate/")
        .and_then(|r| r.rsplit('/').next())
    else {
        return Ok(None);
    };
    if owner != account || name.is_empty() {
        return Ok(None);
    }
    let found =
        entity::load_doc::<ServerCertDoc>(db, account, SERVER_CERT, &model::name_key(name)).await?;
    Ok(found.filter(|(e, _)| e.arn == arn))
}

/// A server certificate opened for a TLS endpoint: what an HTTPS listener serves.
pub struct ServingCert {
    /// The certificate (PEM).
    pub body: String,
    /// The chain (PEM), if uploaded.
    pub chain: Option<String>,
    /// The private key (PEM), opened from its seal.
    pub private_key: Zeroizing<Vec<u8>>,
}

/// Opens the server certificate `arn` of `account` for serving; `None` when it does not exist
/// (deleted since the listener named it).
pub async fn for_serving(store: &Store, account: &str, arn: &str) -> Res<Option<ServingCert>> {
    let mut db = Db::Read(store);
    let Some((e, doc)) = by_arn(&mut db, account, arn).await? else {
        return Ok(None);
    };
    let sealed = B64
        .decode(doc.sealed_key.as_bytes())
        .map_err(|_| ServiceError::internal())?;
    let private_key = store
        .master_key()
        .open(&key_aad(&e.id), &sealed)
        .map_err(ServiceError::from)?;
    Ok(Some(ServingCert {
        body: doc.body,
        chain: doc.chain,
        private_key,
    }))
}

pub async fn get(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let name = req_str(input, "ServerCertificateName")?;
    let (e, doc) = load(db, &ctx.principal.account_id, name).await?;
    let mut cert = Map::new();
    cert.insert("ServerCertificateMetadata".into(), metadata(&e, &doc));
    cert.insert("CertificateBody".into(), json!(doc.body));
    if let Some(c) = &doc.chain {
        cert.insert("CertificateChain".into(), json!(c));
    }
    if !doc.tags.is_empty() {
        cert.insert("Tags".into(), tags::to_json(&doc.tags));
    }
    Ok(json!({ "ServerCertificate": cert }))
}

pub async fn list(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let req = page::page_req(input)?;
    let got = db
        .entities()
        .list(
            &ctx.principal.account_id,
            SERVER_CERT,
            &path_prefix_of(input),
            req.after.as_deref(),
            req.max,
        )
        .await?;
    let mut list = Vec::with_capacity(got.items.len());
    for e in &got.items {
        let doc: ServerCertDoc = read_doc(e)?;
        list.push(metadata(e, &doc));
    }
    let mut out = Map::new();
    out.insert("ServerCertificateMetadataList".into(), Value::Array(list));
    let last = got.items.last().map(|e| e.name_key.as_str());
    page::finish(&mut out, got.truncated, last);
    Ok(Value::Object(out))
}

pub async fn update(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let name = req_str(input, "ServerCertificateName")?;
    let (mut e, doc) = load(db, account, name).await?;
    let new_name = opt_str(input, "NewServerCertificateName")
        .unwrap_or(&e.name)
        .to_string();
    let new_path = match opt_str(input, "NewPath") {
        Some(_) => checked_path(input, "NewPath")?,
        None => e.path.clone(),
    };
    if model::name_key(&new_name) != e.name_key
        && find(db, account, SERVER_CERT, &new_name).await?.is_some()
    {
        return Err(IamError::EntityAlreadyExists(format!(
            "The Server Certificate with name {new_name} already exists."
        ))
        .into());
    }
    let previous = e.name_key.clone();
    e.name_key = model::name_key(&new_name);
    e.arn = model::arn(
        ctx.partition(),
        account,
        "server-certificate",
        &new_path,
        &new_name,
    );
    e.name = new_name;
    e.path = new_path;
    e.updated_at = ctx.now;
    e.doc = to_text(&doc)?;
    db.entities().update(&previous, &e).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn delete(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let (e, _) = load(db, account, req_str(input, "ServerCertificateName")?).await?;
    db.entities()
        .delete(account, SERVER_CERT, &e.name_key)
        .await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn tag(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let name = req_str(input, "ServerCertificateName")?;
    let (e, mut doc) = load(db, &ctx.principal.account_id, name).await?;
    doc.tags = tags::merge(&doc.tags, &tags::from_input(input)?)?;
    save_doc(db, e, &doc, ctx.now).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn untag(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let name = req_str(input, "ServerCertificateName")?;
    let (e, mut doc) = load(db, &ctx.principal.account_id, name).await?;
    doc.tags = tags::remove(&doc.tags, &str_list(input, "TagKeys"));
    save_doc(db, e, &doc, ctx.now).await?;
    bump(db).await?;
    Ok(json!({}))
}

pub async fn list_tags(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let name = req_str(input, "ServerCertificateName")?;
    let (_, doc) = load(db, &ctx.principal.account_id, name).await?;
    page::tags_page(&doc.tags, input)
}
