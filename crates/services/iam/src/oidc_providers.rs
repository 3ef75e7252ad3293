//! IAM OpenID Connect providers: the identity providers a role's trust policy can name
//! (`"Federated": "arn:aws:iam::A:oidc-provider/issuer.example.com"`), with their audiences
//! (client ids), certificate thumbprints and tags.
//!
//! A provider is stored as an entity of kind [`OIDC_PROVIDER`] named by its URL without
//! `https://` (`issuer.example.com/path`), which is also the tail of its ARN.

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
};
use rampart_kit::{authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError};

/// Entity kind of OpenID Connect providers.
pub const OIDC_PROVIDER: &str = "iam:oidc-provider";

/// AWS's quotas: providers per account, client ids per provider, thumbprints per provider.
const PROVIDERS_PER_ACCOUNT: u32 = 100;
const CLIENT_IDS_PER_PROVIDER: usize = 100;
const THUMBPRINTS_PER_PROVIDER: usize = 5;

/// The stored document of a provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcProviderDoc {
    /// The URL as given (`https://issuer.example.com`).
    pub url: String,
    /// The audiences tokens may carry, in the order added.
    #[serde(default)]
    pub client_ids: Vec<String>,
    /// SHA-1 thumbprints (hex) of the issuer's certificates.
    #[serde(default)]
    pub thumbprints: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// The ARN of the provider for `url` in `account`.
pub fn provider_arn(partition: Partition, account: &str, url: &str) -> String {
    partition.iam_arn(account, &format!("oidc-provider/{}", url_name(url)))
}

/// A provider's name: its URL without the scheme and without a trailing `/`.
pub fn url_name(url: &str) -> &str {
    url.strip_prefix("https://")
        .unwrap_or(url)
        .trim_end_matches('/')
}

/// The provider name an ARN of `account` names, if it is a provider ARN of that account.
fn name_of_arn<'a>(account: &str, arn: &'a str) -> Option<&'a str> {
    Partition::of_arn(arn)?
        .strip_iam_arn(arn)?
        .strip_prefix(account)?
        .strip_prefix(":oidc-provider/")
        .filter(|name| !name.is_empty())
}

/// The authorization entry of an operation of this family: the provider's ARN (the one the
/// URL names, for `CreateOpenIDConnectProvider`), with its tags as resource tags.
pub async fn authz(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let account = &ctx.principal.account_id;
    let action = format!("iam:{}", op.name());
    let request = match op {
        Op::ListOpenIDConnectProviders => AuthzRequest::on_any(&action, account),
        Op::CreateOpenIDConnectProvider => {
            let url = opt_str(input, "Url").unwrap_or_default();
            let mut q = AuthzRequest::on(
                &action,
                provider_arn(ctx.partition(), account, url),
                account,
            );
            q.context = tags::request_context(&tags::from_input(input)?);
            q
        }
        _ => {
            let arn = opt_str(input, "OpenIDConnectProviderArn").unwrap_or_default();
            let mut q = AuthzRequest::on(&action, arn.to_string(), account);
            if let Some(name) = name_of_arn(account, arn) {
                let mut db = Db::Read(store);
                if let Some(e) = find(&mut db, account, OIDC_PROVIDER, name).await? {
                    let doc: OidcProviderDoc = read_doc(&e)?;
                    q.context = tags::resource_context(&doc.tags);
                }
            }
            match op {
                Op::TagOpenIDConnectProvider => {
                    q.context
                        .extend(tags::request_context(&tags::from_input(input)?));
                }
                Op::UntagOpenIDConnectProvider => {
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
    IamError::NoSuchEntity(format!("OpenIDConnect Provider not found for arn {arn}")).into()
}

/// The provider an input's `OpenIDConnectProviderArn` names, with its document.
async fn load(db: &mut Db<'_>, ctx: &CallContext, input: &Value) -> Res<(Entity, OidcProviderDoc)> {
    let arn = req_str(input, "OpenIDConnectProviderArn")?;
    let name = name_of_arn(&ctx.principal.account_id, arn).ok_or_else(|| not_found(arn))?;
    let e = find(db, &ctx.principal.account_id, OIDC_PROVIDER, name)
        .await?
        .ok_or_else(|| not_found(arn))?;
    let doc = read_doc(&e)?;
    Ok((e, doc))
}

/// The provider of `account` whose URL is a token's issuer `iss` (`https://...`), with its
/// document.
pub async fn for_issuer(
    db: &mut Db<'_>,
    account: &str,
    iss: &str,
) -> Res<Option<(Entity, OidcProviderDoc)>> {
    if !iss.starts_with("https://") {
        return Ok(None);
    }
    let Some(e) = find(db, account, OIDC_PROVIDER, url_name(iss)).await? else {
        return Ok(None);
    };
    let doc = read_doc(&e)?;
    Ok(Some((e, doc)))
}

/// The URL as AWS accepts it: `https://`, a host, an optional path, no query or fragment.
fn checked_url(url: &str) -> Res<&str> {
    let invalid = || IamError::InvalidInput("Invalid Open ID Connect Provider URL".into());
    let rest = url.strip_prefix("https://").ok_or_else(invalid)?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || rest.contains(['?', '#']) || rest.chars().any(char::is_whitespace) {
        return Err(invalid().into());
    }
    Ok(url)
}

/// Thumbprints as AWS accepts them: at most five, each 40 hex digits.
fn checked_thumbprints(list: Vec<String>) -> Res<Vec<String>> {
    if list.len() > THUMBPRINTS_PER_PROVIDER {
        return Err(IamError::InvalidInput(format!(
            "Thumbprint list must contain at most {THUMBPRINTS_PER_PROVIDER} entries."
        ))
        .into());
    }
    if let Some(bad) = list
        .iter()
        .find(|t| t.len() != 40 || !t.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(IamError::InvalidInput(format!(
            "Thumbprint {bad} is not a 40-character hexadecimal SHA-1 thumbprint."
        ))
        .into());
    }
    Ok(list)
}

/// Client ids without repeats, in the order given, at most AWS's quota.
fn checked_client_ids(list: Vec<String>) -> Res<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for id in list {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    if out.len() > CLIENT_IDS_PER_PROVIDER {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {CLIENT_IDS_PER_PROVIDER}"
        ))
        .into());
    }
    Ok(out)
}

/// `CreateOpenIDConnectProvider`.
pub async fn create(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let url = checked_url(req_str(input, "Url")?)?;
    let doc = OidcProviderDoc {
        url: url.to_string(),
        client_ids: checked_client_ids(str_list(input, "ClientIDList"))?,
        thumbprints: checked_thumbprints(str_list(input, "ThumbprintList"))?,
        tags: tags::from_input(input)?,
    };
    let existing = db
        .entities()
        .list(account, OIDC_PROVIDER, "/", None, PROVIDERS_PER_ACCOUNT)
        .await?;
    if existing.truncated || existing.items.len() >= PROVIDERS_PER_ACCOUNT as usize {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for OpenIdConnectProvidersPerAccount: {PROVIDERS_PER_ACCOUNT}"
        ))
        .into());
    }
    let name = url_name(url);
    let arn = provider_arn(ctx.partition(), account, url);
    let e = Entity {
        account_id: account.clone(),
        kind: OIDC_PROVIDER.into(),
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
        .map_err(|err| exists_or(err, format!("Provider with url {url} already exists.")))?;
    let mut out = json!({ "OpenIDConnectProviderArn": arn });
    if !doc.tags.is_empty() {
        rampart_kit::json_field::SetField::set_field(&mut out, "Tags", tags::to_json(&doc.tags));
    }
    Ok(out)
}

/// `GetOpenIDConnectProvider`.
pub async fn get(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (e, doc) = load(db, ctx, input).await?;
    let mut out = json!({
        "Url": url_name(&doc.url),
        "ClientIDList": doc.client_ids,
        "ThumbprintList": doc.thumbprints,
        "CreateDate": ts(e.created_at),
    });
    if !doc.tags.is_empty() {
        rampart_kit::json_field::SetField::set_field(&mut out, "Tags", tags::to_json(&doc.tags));
    }
    Ok(out)
}

/// `ListOpenIDConnectProviders`: every provider of the account (AWS does not page it).
pub async fn list(_input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let got = db
        .entities()
        .list(
            &ctx.principal.account_id,
            OIDC_PROVIDER,
            "/",
            None,
            PROVIDERS_PER_ACCOUNT,
        )
        .await?;
    let list: Vec<Value> = got.items.iter().map(|e| json!({ "Arn": e.arn })).collect();
    Ok(json!({ "OpenIDConnectProviderList": list }))
}

/// `DeleteOpenIDConnectProvider`: idempotent, as AWS documents (no error for a provider that
/// does not exist).
pub async fn delete(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let arn = req_str(input, "OpenIDConnectProviderArn")?;
    let account = &ctx.principal.account_id;
    if let Some(name) = name_of_arn(account, arn) {
        match db
            .entities()
            .delete(account, OIDC_PROVIDER, &model::name_key(name))
            .await
        {
            Ok(()) | Err(rampart_store::StoreError::NotFound(_)) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(json!({}))
}

/// Changes a provider's document and saves it.
async fn change(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
    edit: impl FnOnce(&mut OidcProviderDoc) -> Res<()>,
) -> Res<Value> {
    let (e, mut doc) = load(db, ctx, input).await?;
    edit(&mut doc)?;
    save_doc(db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

/// `UpdateOpenIDConnectProviderThumbprint`: replaces the list.
pub async fn update_thumbprints(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let list = checked_thumbprints(str_list(input, "ThumbprintList"))?;
    change(input, ctx, db, |doc| {
        doc.thumbprints = list;
        Ok(())
    })
    .await
}

/// `AddClientIDToOpenIDConnectProvider`: idempotent for an id already there.
pub async fn add_client_id(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let id = req_str(input, "ClientID")?.to_string();
    change(input, ctx, db, |doc| {
        let mut ids = doc.client_ids.clone();
        ids.push(id);
        doc.client_ids = checked_client_ids(ids)?;
        Ok(())
    })
    .await
}

/// `RemoveClientIDFromOpenIDConnectProvider`: idempotent for an id not there.
pub async fn remove_client_id(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let id = req_str(input, "ClientID")?.to_string();
    change(input, ctx, db, |doc| {
        doc.client_ids.retain(|c| *c != id);
        Ok(())
    })
    .await
}

/// `TagOpenIDConnectProvider`.
pub async fn tag(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let new = tags::from_input(input)?;
    change(input, ctx, db, |doc| {
        doc.tags = tags::merge(&doc.tags, &new)?;
        Ok(())
    })
    .await
}

/// `UntagOpenIDConnectProvider`.
pub async fn untag(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let keys = str_list(input, "TagKeys");
    change(input, ctx, db, |doc| {
        doc.tags = tags::remove(&doc.tags, &keys);
        Ok(())
    })
    .await
}

/// `ListOpenIDConnectProviderTags`.
pub async fn list_tags(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (_, doc) = load(db, ctx, input).await?;
    page::tags_page(&doc.tags, input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_names() {
        let arn = provider_arn(
            Partition::Aws,
            "111122223333",
            "https://token.example.com/tenant/",
        );
        assert_eq!(
            arn,
            "arn:aws:iam::111122223333:oidc-provider/token.example.com/tenant"
        );
        assert_eq!(
            name_of_arn("111122223333", &arn),
            Some("token.example.com/tenant")
        );
        assert_eq!(name_of_arn("444455556666", &arn), None);
        assert_eq!(
            name_of_arn("111122223333", "arn:aws:iam::111122223333:oidc-provider/"),
            None
        );
    }

    #[test]
    fn urls_and_thumbprints_are_checked_as_aws_does() {
        assert!(checked_url("https://issuer.example.com").is_ok());
        assert!(checked_url("https://issuer.example.com/realms/x").is_ok());
        for bad in [
            "http://issuer.example.com",
            "https://",
            "https:///path",
            "https://issuer.example.com/?x=1",
            "https://issuer.example.com/#f",
            "issuer.example.com",
        ] {
            assert!(checked_url(bad).is_err(), "{bad}");
        }
        let good = "a".repeat(40);
        assert!(checked_thumbprints(vec![good.clone(); 5]).is_ok());
        assert!(checked_thumbprints(vec![good; 6]).is_err());
        assert!(checked_thumbprints(vec!["g".repeat(40)]).is_err());
        assert!(checked_thumbprints(vec!["a".repeat(39)]).is_err());
        assert_eq!(
            checked_client_ids(vec!["a".into(), "b".into(), "a".into()]).unwrap(),
            ["a", "b"]
        );
        assert!(checked_client_ids((0..101).map(|i| i.to_string()).collect()).is_err());
    }
}
