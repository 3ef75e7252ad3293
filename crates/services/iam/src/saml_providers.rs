//! IAM SAML providers: identity providers a role's trust policy names
//! (`"Federated": "arn:aws:iam::A:saml-provider/Name"`), described by their SAML metadata
//! document (parsed and checked by [`crate::saml_metadata`]), with tags and the private keys
//! that decrypt encrypted assertions ([`crate::saml_private_keys`]).

use chrono::{DateTime, Utc};
use rampart_kit::Partition;
use rampart_store::{Entity, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::Op;
use crate::{
    common::{
        exists_or, find, opt_str, page, read_doc, req_str, save_doc, str_list, tags, to_text, ts,
        IamError, Res,
    },
    model::{self, Tag},
    saml_metadata::{self, Metadata},
    saml_private_keys::{self, SamlKey},
};
use rampart_kit::{
    authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError, json_field::SetField,
};

/// Entity kind of SAML providers.
pub const SAML_PROVIDER: &str = "iam:saml-provider";

/// AWS's quota of SAML providers per account.
const PROVIDERS_PER_ACCOUNT: u32 = 100;

/// The stored document of a provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlProviderDoc {
    /// The metadata document as given.
    pub metadata: String,
    /// `SAMLProviderUUID`.
    pub uuid: String,
    /// `validUntil` of the metadata.
    #[serde(default)]
    pub valid_until: Option<DateTime<Utc>>,
    /// `AssertionEncryptionMode` (`Allowed` or `Required`), if set.
    #[serde(default)]
    pub encryption_mode: Option<String>,
    /// The private keys that decrypt assertions, sealed.
    #[serde(default)]
    pub private_keys: Vec<SamlKey>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// The ARN of provider `name` in `account`.
pub fn provider_arn(partition: Partition, account: &str, name: &str) -> String {
    partition.iam_arn(account, &format!("saml-provider/{name}"))
}

/// The provider name an ARN of `account` names.
fn name_of_arn<'a>(account: &str, arn: &'a str) -> Option<&'a str> {
    Partition::of_arn(arn)?
        .strip_iam_arn(arn)?
        .strip_prefix(account)?
        .strip_prefix(":saml-provider/")
        .filter(|name| !name.is_empty())
}

/// The provider an ARN names, with its document and parsed metadata (for
/// `AssumeRoleWithSAML`); `None` when there is none.
pub async fn by_arn(
    db: &mut Db<'_>,
    account: &str,
    arn: &str,
) -> Res<Option<(Entity, SamlProviderDoc, Metadata)>> {
    let Some(name) = name_of_arn(account, arn) else {
        return Ok(None);
    };
    let Some(e) = find(db, account, SAML_PROVIDER, name).await? else {
        return Ok(None);
    };
    let doc: SamlProviderDoc = read_doc(&e)?;
    let meta = saml_metadata::parse(&doc.metadata).map_err(|_| ServiceError::internal())?;
    Ok(Some((e, doc, meta)))
}

/// The authorization entry: the provider's ARN, with its tags as resource tags.
pub async fn authz(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let account = &ctx.principal.account_id;
    let action = format!("iam:{}", op.name());
    let request = match op {
        Op::ListSAMLProviders => AuthzRequest::on_any(&action, account),
        Op::CreateSAMLProvider => {
            let name = opt_str(input, "Name").unwrap_or_default();
            let mut q = AuthzRequest::on(
                &action,
                provider_arn(ctx.partition(), account, name),
                account,
            );
            q.context = tags::request_context(&tags::from_input(input)?);
            q
        }
        _ => {
            let arn = opt_str(input, "SAMLProviderArn").unwrap_or_default();
            let mut q = AuthzRequest::on(&action, arn.to_string(), account);
            if let Some(name) = name_of_arn(account, arn) {
                let mut db = Db::Read(store);
                if let Some(e) = find(&mut db, account, SAML_PROVIDER, name).await? {
                    let doc: SamlProviderDoc = read_doc(&e)?;
                    q.context = tags::resource_context(&doc.tags);
                }
            }
            match op {
                Op::TagSAMLProvider => {
                    q.context
                        .extend(tags::request_context(&tags::from_input(input)?));
                }
                Op::UntagSAMLProvider => {
                    let keys = str_list(input, "TagKeys");
                    if !keys.is_empty() {
                        q.context.push(tags::tag_keys_context(&keys));
                    }
                }
                _ => {}
            }
            q
        }
    };
    Ok(Some(request))
}

fn not_found(arn: &str) -> ServiceError {
    IamError::NoSuchEntity(format!("Manifest not found for arn {arn}")).into()
}

async fn load(db: &mut Db<'_>, ctx: &CallContext, input: &Value) -> Res<(Entity, SamlProviderDoc)> {
    let arn = req_str(input, "SAMLProviderArn")?;
    let name = name_of_arn(&ctx.principal.account_id, arn).ok_or_else(|| not_found(arn))?;
    let e = find(db, &ctx.principal.account_id, SAML_PROVIDER, name)
        .await?
        .ok_or_else(|| not_found(arn))?;
    let doc = read_doc(&e)?;
    Ok((e, doc))
}

/// The metadata checked, as IAM answers a bad one.
fn checked_metadata(xml: &str) -> Res<Metadata> {
    saml_metadata::parse(xml)
        .map_err(|why| IamError::InvalidInput(format!("Could not parse metadata: {why}")).into())
}

/// Applies the request's private key and encryption mode changes to `doc`.
fn apply_encryption(
    input: &Value,
    db: &Db<'_>,
    doc: &mut SamlProviderDoc,
    ctx: &CallContext,
) -> Res<()> {
    saml_private_keys::apply(
        input,
        db,
        &doc.uuid,
        &mut doc.encryption_mode,
        &mut doc.private_keys,
        ctx.now,
    )
}

/// `CreateSAMLProvider`.
pub async fn create(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let name = req_str(input, "Name")?;
    let metadata = req_str(input, "SAMLMetadataDocument")?;
    let meta = checked_metadata(metadata)?;
    let mut doc = SamlProviderDoc {
        metadata: metadata.to_string(),
        uuid: uuid::Uuid::new_v4().to_string(),
        valid_until: meta.valid_until,
        encryption_mode: None,
        private_keys: Vec::new(),
        tags: tags::from_input(input)?,
    };
    apply_encryption(input, db, &mut doc, ctx)?;
    let existing = db
        .entities()
        .list(account, SAML_PROVIDER, "/", None, PROVIDERS_PER_ACCOUNT)
        .await?;
    if existing.truncated || existing.items.len() >= PROVIDERS_PER_ACCOUNT as usize {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for SamlProvidersPerAccount: {PROVIDERS_PER_ACCOUNT}"
        ))
        .into());
    }
    let arn = provider_arn(ctx.partition(), account, name);
    let e = Entity {
        account_id: account.clone(),
        kind: SAML_PROVIDER.into(),
        name: name.to_string(),
        name_key: model::name_key(name),
        id: arn.clone(),
        path: "/".into(),
        arn: arn.clone(),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: to_text(&doc)?,
    };
    db.entities()
        .create(&e)
        .await
        .map_err(|err| exists_or(err, format!("SAMLProvider {name} already exists.")))?;
    let mut out = json!({ "SAMLProviderArn": arn });
    if !doc.tags.is_empty() {
        out.set_field("Tags", tags::to_json(&doc.tags));
    }
    Ok(out)
}

/// `GetSAMLProvider`.
pub async fn get(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (e, doc) = load(db, ctx, input).await?;
    let mut out = json!({
        "SAMLProviderUUID": doc.uuid,
        "SAMLMetadataDocument": doc.metadata,
        "CreateDate": ts(e.created_at),
    });
    if let Some(v) = doc.valid_until {
        out.set_field("ValidUntil", json!(ts(v)));
    }
    if let Some(mode) = &doc.encryption_mode {
        out.set_field("AssertionEncryptionMode", json!(mode));
    }
    if !doc.private_keys.is_empty() {
        out.set_field(
            "PrivateKeyList",
            saml_private_keys::list_json(&doc.private_keys),
        );
    }
    if !doc.tags.is_empty() {
        out.set_field("Tags", tags::to_json(&doc.tags));
    }
    Ok(out)
}

/// `ListSAMLProviders` (AWS does not page it).
pub async fn list(_input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let got = db
        .entities()
        .list(
            &ctx.principal.account_id,
            SAML_PROVIDER,
            "/",
            None,
            PROVIDERS_PER_ACCOUNT,
        )
        .await?;
    let mut list = Vec::with_capacity(got.items.len());
    for e in &got.items {
        let doc: SamlProviderDoc = read_doc(e)?;
        let mut entry = json!({ "Arn": e.arn, "CreateDate": ts(e.created_at) });
        if let Some(v) = doc.valid_until {
            entry.set_field("ValidUntil", json!(ts(v)));
        }
        list.push(entry);
    }
    Ok(json!({ "SAMLProviderList": list }))
}

/// `UpdateSAMLProvider`: new metadata, encryption mode and/or private keys.
pub async fn update(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let meta = match opt_str(input, "SAMLMetadataDocument") {
        Some(xml) => Some((xml.to_string(), checked_metadata(xml)?)),
        None => None,
    };
    let (e, mut doc) = load(db, ctx, input).await?;
    let arn = e.arn.clone();
    if let Some((xml, meta)) = meta {
        doc.metadata = xml;
        doc.valid_until = meta.valid_until;
    }
    apply_encryption(input, db, &mut doc, ctx)?;
    save_doc(db, e, &doc, ctx.now).await?;
    Ok(json!({ "SAMLProviderArn": arn }))
}

/// `DeleteSAMLProvider`.
pub async fn delete(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (e, _) = load(db, ctx, input).await?;
    db.entities()
        .delete(&e.account_id, SAML_PROVIDER, &e.name_key)
        .await?;
    Ok(json!({}))
}

async fn change(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
    edit: impl FnOnce(&mut SamlProviderDoc) -> Res<()>,
) -> Res<Value> {
    let (e, mut doc) = load(db, ctx, input).await?;
    edit(&mut doc)?;
    save_doc(db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

/// `TagSAMLProvider`.
pub async fn tag(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let new = tags::from_input(input)?;
    change(input, ctx, db, |doc| {
        doc.tags = tags::merge(&doc.tags, &new)?;
        Ok(())
    })
    .await
}

/// `UntagSAMLProvider`.
pub async fn untag(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let keys = str_list(input, "TagKeys");
    change(input, ctx, db, |doc| {
        doc.tags = tags::remove(&doc.tags, &keys);
        Ok(())
    })
    .await
}

/// `ListSAMLProviderTags`.
pub async fn list_tags(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (_, doc) = load(db, ctx, input).await?;
    page::tags_page(&doc.tags, input)
}
