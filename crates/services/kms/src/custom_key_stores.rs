//! Custom key stores: `CreateCustomKeyStore`, `DescribeCustomKeyStores`,
//! `UpdateCustomKeyStore`, `DeleteCustomKeyStore`, `ConnectCustomKeyStore`,
//! `DisconnectCustomKeyStore`, for both of AWS's types.
//!
//! A store is an entity of kind `kms:custom-key-store` in the caller's account under the
//! Region's path. Its secrets (a CloudHSM store's `kmsuser` password, an external store's
//! proxy secret) are sealed under the master key, bound to the store id, and never answered
//! or logged. Connecting an external store with a public endpoint asks its proxy for its
//! health ([`super::xks_proxy`]) in the route's preparation, so the state the call leaves is
//! final when it returns (AWS answers at once and connects in the background). Rampart has no
//! CloudHSM and no VPC: those connections fail with `CLUSTER_NOT_FOUND` and
//! `XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND`.

use base64::Engine as _;
use rampart_store::{aad_for, Entity, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::{
    common::{epoch, opt_str, page, paging, req_str, with_marker},
    error::{KmsError, KmsResult},
    xks_proxy, Op,
};
use rampart_kit::{
    authz::AuthzRequest,
    context::{CallContext, Preparation},
    db::Db,
    entity::{self, Loaded},
    error::ServiceError,
    json_field::SetField,
};

/// The entity kind of a custom key store.
pub const STORE_KIND: &str = "kms:custom-key-store";
/// AWS's quota of custom key stores per account and Region.
const MAX_STORES: usize = 10;

/// A custom key store as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoreDoc {
    /// `AWS_CLOUDHSM` or `EXTERNAL_KEY_STORE`.
    pub store_type: String,
    /// The store's name, unique in the account and Region.
    pub name: String,
    /// `DISCONNECTED`, `CONNECTED` or `FAILED` (Rampart's attempts finish within the call).
    pub state: String,
    /// AWS's `ConnectionErrorCode` of a `FAILED` store.
    pub error_code: Option<String>,
    /// When the store was created.
    pub created: chrono::DateTime<chrono::Utc>,
    /// `AWS_CLOUDHSM`: the cluster, its trust anchor and the sealed `kmsuser` password.
    pub cluster_id: Option<String>,
    /// The PEM trust anchor certificate.
    pub trust_anchor: Option<String>,
    /// The sealed password.
    pub password: Option<String>,
    /// `EXTERNAL_KEY_STORE`: the proxy.
    pub xks: Option<Xks>,
}

/// An external key store's proxy configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Xks {
    /// `PUBLIC_ENDPOINT` or `VPC_ENDPOINT_SERVICE`.
    pub connectivity: String,
    /// `https://host`.
    pub uri_endpoint: String,
    /// The path prefix ending in `/kms/xks/v<n>`.
    pub uri_path: String,
    /// The VPC endpoint service (`VPC_ENDPOINT_SERVICE` only).
    pub vpc_service: Option<String>,
    /// The account owning the VPC endpoint service.
    pub vpc_owner: Option<String>,
    /// The proxy credential's access key id.
    pub access_key_id: String,
    /// The proxy credential's secret, sealed.
    pub secret: String,
}

/// The authorization of every custom key store operation: `kms:<Op>` on `*`, decided by IAM
/// policies alone (AWS's Service Authorization Reference names no resource for them).
pub async fn authorize(
    op: Op,
    _input: &Value,
    ctx: &CallContext,
    _store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let account = &ctx.principal.account_id;
    let mut req = AuthzRequest::on_any(&format!("kms:{}", op.name()), account);
    req.context = vec![("kms:CallerAccount".into(), vec![account.clone()])];
    Ok(Some(req))
}

fn not_found(id: &str) -> KmsError {
    KmsError::CustomKeyStoreNotFoundException(format!(
        "Custom key store {id} does not exist in this account and Region."
    ))
}

fn invalid_state(doc: &StoreDoc, op: &str) -> KmsError {
    KmsError::CustomKeyStoreInvalidStateException(format!(
        "{op} is not valid for a custom key store whose ConnectionState is {}.",
        doc.state
    ))
}

fn invalid(message: &str) -> KmsError {
    KmsError::ValidationException(message.into())
}

/// Every store of the caller's account in the call's Region, in id order.
async fn stores(db: &mut Db<'_>, ctx: &CallContext) -> Result<Vec<Loaded<StoreDoc>>, ServiceError> {
    let path = super::repo::region_path(&ctx.region);
    entity::list_all(db, &ctx.principal.account_id, STORE_KIND, &path).await
}

/// The store `id` of the caller in the call's Region.
pub async fn load(
    db: &mut Db<'_>,
    ctx: &CallContext,
    id: &str,
) -> Result<Loaded<StoreDoc>, ServiceError> {
    let found = entity::load::<StoreDoc>(db, &ctx.principal.account_id, STORE_KIND, id).await?;
    match found {
        Some(s) if s.entity.path == super::repo::region_path(&ctx.region) => Ok(s),
        _ => Err(not_found(id).into()),
    }
}

fn seal(db: &Db<'_>, id: &str, column: &str, secret: &str) -> KmsResult<String> {
    let sealed = db
        .master_key()
        .seal(&aad_for(STORE_KIND, column, id), secret.as_bytes())?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
}

/// Opens a store's sealed secret.
pub(crate) fn unseal(
    db: &Db<'_>,
    id: &str,
    column: &str,
    sealed: &str,
) -> KmsResult<Zeroizing<Vec<u8>>> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .map_err(|_| KmsError::KMSInternalException("An internal error occurred.".into()))?;
    Ok(db
        .master_key()
        .open(&aad_for(STORE_KIND, column, id), &raw)?)
}

const XKS_MEMBERS: [&str; 6] = [
    "XksProxyConnectivity",
    "XksProxyUriEndpoint",
    "XksProxyUriPath",
    "XksProxyVpcEndpointServiceName",
    "XksProxyVpcEndpointServiceOwner",
    "XksProxyAuthenticationCredential",
];
const HSM_MEMBERS: [&str; 3] = [
    "CloudHsmClusterId",
    "TrustAnchorCertificate",
    "KeyStorePassword",
];

/// Refuses members of the other store type (AWS names no error: guessed `ValidationException`).
fn refuse_members(input: &Value, members: &[&str], store_type: &str) -> KmsResult<()> {
    match members.iter().find(|m| input.get(**m).is_some()) {
        Some(m) => Err(invalid(&format!(
            "{m} is not valid for a custom key store of type {store_type}."
        ))),
        None => Ok(()),
    }
}

/// A PEM certificate, as AWS wants a trust anchor (else `IncorrectTrustAnchorException`).
fn check_trust_anchor(pem: &str) -> KmsResult<()> {
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN CERTIFICATE-----")
        .and_then(|b| b.strip_suffix("-----END CERTIFICATE-----"));
    let der = body.and_then(|b| {
        let b: String = b.split_whitespace().collect();
        base64::engine::general_purpose::STANDARD.decode(b).ok()
    });
    match der {
        Some(d) if d.first() == Some(&0x30) => Ok(()),
        _ => Err(KmsError::IncorrectTrustAnchorException(
            "The trust anchor certificate is not a PEM-encoded X.509 certificate.".into(),
        )),
    }
}

/// `CreateCustomKeyStore`.
pub async fn create(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let name = req_str(input, "CustomKeyStoreName")?;
    let store_type = opt_str(input, "CustomKeyStoreType").unwrap_or("AWS_CLOUDHSM");
    let id = format!("cks-{}", &uuid::Uuid::new_v4().simple().to_string()[..17]);
    let mut doc = StoreDoc {
        store_type: store_type.into(),
        name: name.into(),
        state: "DISCONNECTED".into(),
        created: ctx.now,
        ..StoreDoc::default()
    };
    if store_type == "EXTERNAL_KEY_STORE" {
        refuse_members(input, &HSM_MEMBERS, store_type)?;
        doc.xks = Some(xks_from(input, None, &db, &id)?);
    } else {
        refuse_members(input, &XKS_MEMBERS, store_type)?;
        for m in HSM_MEMBERS {
            if input.get(m).is_none() {
                return Err(
                    invalid(&format!("{m} is required for an AWS_CLOUDHSM key store.")).into(),
                );
            }
        }
        check_trust_anchor(req_str(input, "TrustAnchorCertificate")?)?;
        doc.cluster_id = opt_str(input, "CloudHsmClusterId").map(str::to_string);
        doc.trust_anchor = opt_str(input, "TrustAnchorCertificate").map(str::to_string);
        doc.password = Some(seal(
            &db,
            &id,
            "password",
            req_str(input, "KeyStorePassword")?,
        )?);
    }
    let others = stores(&mut db, ctx).await?;
    if others.len() >= MAX_STORES {
        return Err(KmsError::LimitExceededException(format!(
            "An account may have at most {MAX_STORES} custom key stores in a Region."
        ))
        .into());
    }
    check_unique(&others, &id, &doc)?;
    let entity = Entity {
        account_id: ctx.principal.account_id.clone(),
        kind: STORE_KIND.into(),
        name: id.clone(),
        name_key: id.clone(),
        id: id.clone(),
        path: super::repo::region_path(&ctx.region),
        arn: ctx.partition().arn(
            "kms",
            &ctx.region,
            &ctx.principal.account_id,
            &format!("custom-key-store/{id}"),
        ),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: entity::to_text(&doc)?,
    };
    db.entities().create(&entity).await?;
    Ok(json!({ "CustomKeyStoreId": id }))
}

/// The proxy configuration of `input`, over `old` (an update) when given.
fn xks_from(input: &Value, old: Option<&Xks>, db: &Db<'_>, id: &str) -> KmsResult<Xks> {
    let pick = |member: &str, old: Option<&String>| {
        opt_str(input, member).map(str::to_string).or(old.cloned())
    };
    let required = |v: Option<String>, member: &str| {
        v.ok_or_else(|| invalid(&format!("{member} is required for an EXTERNAL_KEY_STORE.")))
    };
    let connectivity = required(
        pick("XksProxyConnectivity", old.map(|o| &o.connectivity)),
        "XksProxyConnectivity",
    )?;
    let uri_endpoint = required(
        pick("XksProxyUriEndpoint", old.map(|o| &o.uri_endpoint)),
        "XksProxyUriEndpoint",
    )?;
    let uri_path = required(
        pick("XksProxyUriPath", old.map(|o| &o.uri_path)),
        "XksProxyUriPath",
    )?;
    let public = connectivity == "PUBLIC_ENDPOINT";
    let keep_vpc = !public && input.get("XksProxyConnectivity").is_none();
    let vpc_service = pick(
        "XksProxyVpcEndpointServiceName",
        old.and_then(|o| o.vpc_service.as_ref())
            .filter(|_| keep_vpc),
    );
    let vpc_owner = pick(
        "XksProxyVpcEndpointServiceOwner",
        old.and_then(|o| o.vpc_owner.as_ref()).filter(|_| keep_vpc),
    );
    if public && (vpc_service.is_some() || vpc_owner.is_some()) {
        return Err(KmsError::XksProxyInvalidConfigurationException(
            "XksProxyVpcEndpointServiceName and XksProxyVpcEndpointServiceOwner are valid only with VPC_ENDPOINT_SERVICE connectivity.".into(),
        ));
    }
    if !public && vpc_service.is_none() {
        return Err(KmsError::XksProxyInvalidConfigurationException(
            "XksProxyVpcEndpointServiceName is required with VPC_ENDPOINT_SERVICE connectivity."
                .into(),
        ));
    }
    let (access_key_id, secret) = match input.get("XksProxyAuthenticationCredential") {
        Some(c) => (
            req_str(c, "AccessKeyId")?.to_string(),
            seal(db, id, "xks-secret", req_str(c, "RawSecretAccessKey")?)?,
        ),
        None => match old {
            Some(o) => (o.access_key_id.clone(), o.secret.clone()),
            None => {
                return Err(invalid(
                    "XksProxyAuthenticationCredential is required for an EXTERNAL_KEY_STORE.",
                ))
            }
        },
    };
    Ok(Xks {
        connectivity,
        uri_endpoint,
        uri_path,
        vpc_service,
        vpc_owner,
        access_key_id,
        secret,
    })
}

/// AWS's uniqueness rules in an account and Region: names, CloudHSM clusters, proxy URIs
/// (endpoint and path), and for VPC connectivity endpoints and endpoint services.
fn check_unique(others: &[Loaded<StoreDoc>], id: &str, doc: &StoreDoc) -> KmsResult<()> {
    for other in others.iter().filter(|o| o.entity.name != id) {
        let o = &other.doc;
        if o.name == doc.name {
            return Err(KmsError::CustomKeyStoreNameInUseException(format!(
                "A custom key store named {} already exists.",
                doc.name
            )));
        }
        if doc.cluster_id.is_some() && o.cluster_id == doc.cluster_id {
            return Err(KmsError::CloudHsmClusterInUseException(
                "The CloudHSM cluster is already associated with a custom key store.".into(),
            ));
        }
        let (Some(a), Some(b)) = (&doc.xks, &o.xks) else {
            continue;
        };
        if a.uri_endpoint == b.uri_endpoint && a.uri_path == b.uri_path {
            return Err(KmsError::XksProxyUriInUseException(
                "The XKS proxy URI endpoint and path are already used by an external key store."
                    .into(),
            ));
        }
        if a.vpc_service.is_some() && b.vpc_service.is_some() {
            if a.uri_endpoint == b.uri_endpoint {
                return Err(KmsError::XksProxyUriEndpointInUseException(
                    "The XKS proxy URI endpoint is already used by an external key store.".into(),
                ));
            }
            if a.vpc_service == b.vpc_service {
                return Err(KmsError::XksProxyVpcEndpointServiceInUseException(
                    "The VPC endpoint service is already used by an external key store.".into(),
                ));
            }
        }
    }
    Ok(())
}

/// AWS's `CustomKeyStoresListEntry` of a store.
fn entry(s: &Loaded<StoreDoc>) -> Value {
    let d = &s.doc;
    let mut out = json!({
        "CustomKeyStoreId": s.entity.name,
        "CustomKeyStoreName": d.name,
        "CustomKeyStoreType": d.store_type,
        "ConnectionState": d.state,
        "CreationDate": epoch(d.created),
    });
    if let Some(code) = d.error_code.as_ref().filter(|_| d.state == "FAILED") {
        out.set_field("ConnectionErrorCode", json!(code));
    }
    if let Some(c) = &d.cluster_id {
        out.set_field("CloudHsmClusterId", json!(c));
    }
    if let Some(t) = &d.trust_anchor {
        out.set_field("TrustAnchorCertificate", json!(t));
    }
    if let Some(x) = &d.xks {
        let mut cfg = Map::new();
        cfg.insert("Connectivity".into(), json!(x.connectivity));
        cfg.insert("AccessKeyId".into(), json!(x.access_key_id));
        cfg.insert("UriEndpoint".into(), json!(x.uri_endpoint));
        cfg.insert("UriPath".into(), json!(x.uri_path));
        if let Some(v) = &x.vpc_service {
            cfg.insert("VpcEndpointServiceName".into(), json!(v));
        }
        if let Some(v) = &x.vpc_owner {
            cfg.insert("VpcEndpointServiceOwner".into(), json!(v));
        }
        out.set_field("XksProxyConfiguration", Value::Object(cfg));
    }
    out
}

/// `DescribeCustomKeyStores`: every store, or the one named by id or name.
pub async fn describe(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (limit, marker) = paging(input)?;
    let id = opt_str(input, "CustomKeyStoreId");
    let name = opt_str(input, "CustomKeyStoreName");
    let all = stores(&mut db, ctx).await?;
    let chosen: Vec<Value> = all
        .iter()
        .filter(|s| id.is_none_or(|i| s.entity.name == i))
        .filter(|s| name.is_none_or(|n| s.doc.name == n))
        .map(entry)
        .collect();
    if chosen.is_empty() {
        if let Some(wanted) = id.or(name) {
            return Err(not_found(wanted).into());
        }
    }
    let (items, next) = page(chosen, limit, marker.as_deref())?;
    Ok(with_marker(json!({ "CustomKeyStores": items }), next))
}

/// `UpdateCustomKeyStore`. The name, and an external store's credential and path, change in
/// any state; everything else needs a disconnected store, as AWS documents.
pub async fn update(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let id = req_str(input, "CustomKeyStoreId")?;
    let mut s = load(&mut db, ctx, id).await?;
    let external = s.doc.store_type == "EXTERNAL_KEY_STORE";
    let anytime: &[&str] = if external {
        &["XksProxyAuthenticationCredential", "XksProxyUriPath"]
    } else {
        &[]
    };
    let needs_disconnect = XKS_MEMBERS
        .iter()
        .chain(HSM_MEMBERS.iter())
        .any(|m| input.get(*m).is_some() && !anytime.contains(m));
    if needs_disconnect && s.doc.state != "DISCONNECTED" {
        return Err(invalid_state(&s.doc, "UpdateCustomKeyStore").into());
    }
    if let Some(new_name) = opt_str(input, "NewCustomKeyStoreName") {
        s.doc.name = new_name.into();
    }
    if external {
        refuse_members(input, &HSM_MEMBERS, "EXTERNAL_KEY_STORE")?;
        s.doc.xks = Some(xks_from(input, s.doc.xks.as_ref(), &db, id)?);
    } else {
        refuse_members(input, &XKS_MEMBERS, "AWS_CLOUDHSM")?;
        if let Some(c) = opt_str(input, "CloudHsmClusterId") {
            s.doc.cluster_id = Some(c.into());
        }
        if let Some(p) = opt_str(input, "KeyStorePassword") {
            s.doc.password = Some(seal(&db, id, "password", p)?);
        }
    }
    let others = stores(&mut db, ctx).await?;
    check_unique(&others, id, &s.doc)?;
    entity::save_doc(&mut db, s.entity, &s.doc, ctx.now).await?;
    Ok(json!({}))
}

/// `DeleteCustomKeyStore`: only a disconnected store that holds no keys
/// (`CustomKeyStoreHasCMKsException`).
pub async fn delete(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let id = req_str(input, "CustomKeyStoreId")?;
    let s = load(&mut db, ctx, id).await?;
    if s.doc.state != "DISCONNECTED" {
        return Err(invalid_state(&s.doc, "DeleteCustomKeyStore").into());
    }
    let account = ctx.principal.account_id.clone();
    if !super::xks_keys::keys_in_store(&mut db, &account, &ctx.region, id)
        .await?
        .is_empty()
    {
        return Err(KmsError::CustomKeyStoreHasCMKsException(format!(
            "The custom key store {id} holds KMS keys: delete them first (a key pending deletion counts until it is deleted)."
        ))
        .into());
    }
    db.entities()
        .delete(&ctx.principal.account_id, STORE_KIND, id)
        .await?;
    Ok(json!({}))
}

/// The outcome of a connection attempt made before the write transaction, for the proxy
/// configuration it was made with.
struct Attempt {
    xks: Xks,
    outcome: Result<(), &'static str>,
}

/// The preparation of `ConnectCustomKeyStore`: an external store with a public endpoint asks
/// its proxy for its health (blocking I/O, on a blocking thread).
pub async fn prepare(
    _op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<Preparation>, ServiceError> {
    let db = Db::Read(store);
    let id = req_str(input, "CustomKeyStoreId")?;
    let s = load(&mut Db::Read(store), ctx, id).await?;
    let Some(xks) = s.doc.xks.filter(|x| x.connectivity == "PUBLIC_ENDPOINT") else {
        return Ok(None);
    };
    if !matches!(s.doc.state.as_str(), "DISCONNECTED" | "CONNECTING") {
        return Ok(None);
    }
    let probe = xks_proxy::Probe {
        uri_endpoint: xks.uri_endpoint.clone(),
        uri_path: xks.uri_path.clone(),
        region: ctx.region.clone(),
        access_key_id: xks.access_key_id.clone(),
        secret: unseal(&db, id, "xks-secret", &xks.secret)?,
        operation: "ConnectCustomKeyStore",
        time: ctx.now,
    };
    Ok(Some(Preparation::new(move || {
        let outcome = xks_proxy::health(&probe);
        Ok(Attempt { xks, outcome })
    })))
}

/// `ConnectCustomKeyStore`. A connected store stays connected; a failed or disconnecting one
/// must be disconnected first (AWS's `CustomKeyStoreInvalidStateException`).
pub async fn connect(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let id = req_str(input, "CustomKeyStoreId")?;
    let mut s = load(&mut db, ctx, id).await?;
    match s.doc.state.as_str() {
        "CONNECTED" => return Ok(json!({})),
        "DISCONNECTED" | "CONNECTING" => {}
        _ => return Err(invalid_state(&s.doc, "ConnectCustomKeyStore").into()),
    }
    let attempt = ctx
        .prepared
        .as_deref()
        .and_then(|p| p.get::<Attempt>())
        .filter(|a| s.doc.xks.as_ref() == Some(&a.xks));
    let outcome = match (&s.doc.xks, attempt) {
        (None, _) => Err("CLUSTER_NOT_FOUND"),
        (Some(x), _) if x.connectivity != "PUBLIC_ENDPOINT" => {
            Err("XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND")
        }
        (Some(_), Some(a)) => a.outcome,
        // The configuration changed since the attempt: the proxy was not asked.
        (Some(_), None) => Err("XKS_PROXY_INVALID_CONFIGURATION"),
    };
    match outcome {
        Ok(()) => {
            s.doc.state = "CONNECTED".into();
            s.doc.error_code = None;
        }
        Err(code) => {
            s.doc.state = "FAILED".into();
            s.doc.error_code = Some(code.into());
        }
    }
    entity::save_doc(&mut db, s.entity, &s.doc, ctx.now).await?;
    Ok(json!({}))
}

/// `DisconnectCustomKeyStore`.
pub async fn disconnect(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let id = req_str(input, "CustomKeyStoreId")?;
    let mut s = load(&mut db, ctx, id).await?;
    if matches!(s.doc.state.as_str(), "DISCONNECTED" | "DISCONNECTING") {
        return Err(invalid_state(&s.doc, "DisconnectCustomKeyStore").into());
    }
    s.doc.state = "DISCONNECTED".into();
    s.doc.error_code = None;
    entity::save_doc(&mut db, s.entity, &s.doc, ctx.now).await?;
    Ok(json!({}))
}

/// `CreateKey` with `CustomKeyStoreId` and another origin than `EXTERNAL_KEY_STORE`: AWS's
/// errors for a missing or unconnected store; a connected one is refused, as Rampart has no
/// CloudHSM to create keys in (and keys in an external key store need that origin).
pub async fn refuse_key(db: &mut Db<'_>, ctx: &CallContext, id: &str) -> KmsResult<()> {
    let found = db
        .entities()
        .get(&ctx.principal.account_id, STORE_KIND, id)
        .await?
        .filter(|e| e.path == super::repo::region_path(&ctx.region));
    let Some(e) = found else {
        return Err(not_found(id));
    };
    let doc: StoreDoc = serde_json::from_str(&e.doc)
        .map_err(|_| KmsError::KMSInternalException("An internal error occurred.".into()))?;
    if doc.state != "CONNECTED" {
        return Err(KmsError::CustomKeyStoreInvalidStateException(format!(
            "The custom key store {id} is not connected (ConnectionState {}).",
            doc.state
        )));
    }
    Err(KmsError::UnsupportedOperationException(
        "Rampart creates keys in external key stores only (Origin EXTERNAL_KEY_STORE).".into(),
    ))
}
