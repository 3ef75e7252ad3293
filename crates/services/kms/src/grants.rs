//! Grants: `CreateGrant`, `ListGrants`, `ListRetirableGrants`, `RetireGrant`, `RevokeGrant`.
//! Grants live in their key's document; the authorizer turns the ones that apply to a call
//! into key-policy statements (see [`super::authz`]).

use rampart_kit::Partition;
use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{
    authz::GRANT_OPERATIONS,
    common::{
        b64, epoch, opt_str, page, paging, req_str, require_not_pending_deletion, with_marker,
    },
    crypto::{self, KeySpec},
    error::{KmsError, KmsResult},
    model::{Grant, KEY_KIND},
    repo::{self, region_path, Key},
};
use rampart_kit::json_field::SetField;
use rampart_kit::{context::CallContext, db::Db};

/// Operations that take an encryption context (the only ones grant constraints may cover).
const CONTEXT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
];

fn valid_principal(partition: Partition, p: &str) -> bool {
    let iam = partition.strip_arn(p, "iam").is_some() || partition.strip_arn(p, "sts").is_some();
    iam && p
        .split(':')
        .nth(4)
        .is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        || p.ends_with(".amazonaws.com")
}

/// Operations valid for the key's type.
fn operation_fits(key: &Key, op: &str) -> bool {
    let spec = key.doc.spec();
    match op {
        "Encrypt" | "Decrypt" | "ReEncryptFrom" | "ReEncryptTo" => {
            key.doc.key_usage == "ENCRYPT_DECRYPT"
        }
        "GenerateDataKey"
        | "GenerateDataKeyWithoutPlaintext"
        | "GenerateDataKeyPair"
        | "GenerateDataKeyPairWithoutPlaintext" => spec == KeySpec::SymmetricDefault,
        "Sign" | "Verify" => key.doc.key_usage == "SIGN_VERIFY",
        "GetPublicKey" => spec.is_rsa() || spec.is_ecc(),
        "GenerateMac" | "VerifyMac" => spec.is_hmac(),
        "DeriveSharedSecret" => key.doc.key_usage == "KEY_AGREEMENT",
        _ => true,
    }
}

fn context_map(v: &Value) -> Option<BTreeMap<String, String>> {
    v.as_object().map(|m| {
        m.iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
            .collect()
    })
}

/// `CreateGrant`.
pub async fn create_grant(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let mut key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    require_not_pending_deletion(&key)?;
    let grantee = req_str(input, "GranteePrincipal")?.to_string();
    if !valid_principal(ctx.partition(), &grantee) {
        return Err(KmsError::InvalidArnException(format!(
            "Invalid GranteePrincipal {grantee}"
        )));
    }
    let retiring = opt_str(input, "RetiringPrincipal").map(str::to_string);
    if let Some(r) = &retiring {
        if !valid_principal(ctx.partition(), r) {
            return Err(KmsError::InvalidArnException(format!(
                "Invalid RetiringPrincipal {r}"
            )));
        }
    }
    let operations: Vec<String> = input["Operations"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|o| o.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if operations.is_empty() {
        return Err(KmsError::ValidationException(
            "Operations must not be empty.".into(),
        ));
    }
    for op in &operations {
        if !GRANT_OPERATIONS.contains(&op.as_str()) {
            return Err(KmsError::ValidationException(format!(
                "Invalid grant operation {op}."
            )));
        }
        if !operation_fits(&key, op) {
            return Err(KmsError::ValidationException(format!(
                "Grant operation {op} is not valid for {} ({}).",
                key.arn(),
                key.doc.key_spec
            )));
        }
    }
    let constraints = &input["Constraints"];
    let subset = context_map(&constraints["EncryptionContextSubset"]);
    let equals = context_map(&constraints["EncryptionContextEquals"]);
    if (subset.is_some() || equals.is_some())
        && !operations
            .iter()
            .all(|o| CONTEXT_OPERATIONS.contains(&o.as_str()))
    {
        return Err(KmsError::ValidationException(
            "Grant constraints are allowed only with operations that use an encryption context."
                .into(),
        ));
    }
    let name = opt_str(input, "Name").map(str::to_string);
    // AWS: a grant with the same name and parameters is returned again, not duplicated.
    if let Some(n) = &name {
        if let Some(g) = key.doc.grants.iter().find(|g| {
            g.name.as_deref() == Some(n.as_str())
                && g.grantee == grantee
                && g.retiring == retiring
                && g.operations == operations
                && g.context_subset == subset
                && g.context_equals == equals
        }) {
            return Ok(json!({ "GrantId": g.id, "GrantToken": g.token }));
        }
    }
    if key.doc.grants.len() >= 50_000 {
        return Err(KmsError::LimitExceededException(
            "The key has too many grants.".into(),
        ));
    }
    let id = crypto::hex(&crypto::random(32)?);
    let token =
        b64(format!("{}|{}|{}", key.arn(), id, crypto::hex(&crypto::random(16)?)).as_bytes());
    key.doc.grants.push(Grant {
        id: id.clone(),
        token: token.clone(),
        name,
        grantee,
        retiring,
        issuing_account: ctx.partition().root_arn(&ctx.principal.account_id),
        operations,
        context_subset: subset,
        context_equals: equals,
        created: ctx.now,
    });
    repo::save(&mut db, &mut key, ctx.now).await?;
    Ok(json!({ "GrantId": id, "GrantToken": token }))
}

fn entry(key: &Key, g: &Grant) -> Value {
    let mut v = json!({
        "KeyId": key.arn(),
        "GrantId": g.id,
        "CreationDate": epoch(g.created),
        "GranteePrincipal": g.grantee,
        "IssuingAccount": g.issuing_account,
        "Operations": g.operations,
    });
    if let Some(n) = &g.name {
        v.set_field("Name", json!(n));
    }
    if let Some(r) = &g.retiring {
        v.set_field("RetiringPrincipal", json!(r));
    }
    let mut c = serde_json::Map::new();
    if let Some(s) = &g.context_subset {
        c.insert("EncryptionContextSubset".into(), json!(s));
    }
    if let Some(e) = &g.context_equals {
        c.insert("EncryptionContextEquals".into(), json!(e));
    }
    if !c.is_empty() {
        v.set_field("Constraints", Value::Object(c));
    }
    v
}

/// `ListGrants`.
pub async fn list_grants(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let (limit, marker) = paging(input)?;
    let key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    let grant_id = opt_str(input, "GrantId");
    let grantee = opt_str(input, "GranteePrincipal");
    let all: Vec<Value> = key
        .doc
        .grants
        .iter()
        .filter(|g| grant_id.is_none_or(|id| g.id == id))
        .filter(|g| grantee.is_none_or(|p| g.grantee == p))
        .map(|g| entry(&key, g))
        .collect();
    let (items, next) = page(all, limit, marker.as_deref())?;
    Ok(with_marker(json!({ "Grants": items }), next))
}

/// `ListRetirableGrants`: grants of the caller's account's keys in the region naming the
/// retiring principal.
pub async fn list_retirable_grants(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> KmsResult<Value> {
    let (limit, marker) = paging(input)?;
    let retiring = req_str(input, "RetiringPrincipal")?;
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(
                &ctx.principal.account_id,
                KEY_KIND,
                &region_path(&ctx.region),
                after.as_deref(),
                100,
            )
            .await?;
        for e in &page.items {
            let key = repo::parse(e.clone())?;
            for g in key
                .doc
                .grants
                .iter()
                .filter(|g| g.retiring.as_deref() == Some(retiring))
            {
                all.push(entry(&key, g));
            }
        }
        if !page.truncated {
            break;
        }
        after = page.items.last().map(|e| e.name_key.clone());
    }
    let (items, next) = page(all, limit, marker.as_deref())?;
    Ok(with_marker(json!({ "Grants": items }), next))
}

/// True when the caller is `principal` (its ARN, the role behind its session, or the root of
/// the account it names).
pub fn caller_is(ctx: &CallContext, principal: &str) -> bool {
    let p = &ctx.principal;
    principal == p.arn
        || p.session
            .as_ref()
            .and_then(|s| s.context.role_arn.as_deref())
            == Some(principal)
        || principal == ctx.partition().root_arn(&p.account_id)
}

/// `RetireGrant`: by token, or by key and grant id; the retiring principal, the grantee of a
/// grant that allows `RetireGrant`, or the issuing account may retire.
pub async fn retire_grant(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let (key_ref, grant_id) = match (
        opt_str(input, "GrantToken"),
        opt_str(input, "KeyId"),
        opt_str(input, "GrantId"),
    ) {
        (Some(token), _, _) => {
            let invalid =
                || KmsError::InvalidGrantTokenException("The grant token is not valid.".into());
            let raw = super::common::blob(&json!({ "t": token }), "t")
                .map_err(|_| invalid())?
                .unwrap_or_default();
            let text = String::from_utf8(raw.to_vec()).map_err(|_| invalid())?;
            let mut parts = text.split('|');
            let (Some(arn), Some(id)) = (parts.next(), parts.next()) else {
                return Err(invalid());
            };
            (arn.to_string(), id.to_string())
        }
        (None, Some(k), Some(g)) => (k.to_string(), g.to_string()),
        _ => {
            return Err(KmsError::ValidationException(
                "Specify either GrantToken, or KeyId and GrantId.".into(),
            ))
        }
    };
    let mut key = repo::resolve(&mut db, ctx, &key_ref).await?;
    let found = key
        .doc
        .grants
        .iter()
        .enumerate()
        .find(|(_, g)| g.id == grant_id);
    let Some((pos, g)) = found else {
        return Err(KmsError::NotFoundException(format!(
            "Grant ID {grant_id} not found"
        )));
    };
    let allowed = g.retiring.as_deref().is_some_and(|r| caller_is(ctx, r))
        || (g.operations.iter().any(|o| o == "RetireGrant") && caller_is(ctx, &g.grantee))
        || caller_is(ctx, &g.issuing_account);
    if !allowed {
        return Err(KmsError::AccessDeniedException(format!(
            "User: {} is not authorized to perform: kms:RetireGrant on resource: {}",
            ctx.principal.arn,
            key.arn()
        )));
    }
    key.doc.grants.remove(pos);
    repo::save(&mut db, &mut key, ctx.now).await?;
    Ok(json!({}))
}

/// `RevokeGrant`.
pub async fn revoke_grant(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> KmsResult<Value> {
    let mut key = repo::resolve(&mut db, ctx, req_str(input, "KeyId")?).await?;
    let grant_id = req_str(input, "GrantId")?;
    let before = key.doc.grants.len();
    key.doc.grants.retain(|g| g.id != grant_id);
    if key.doc.grants.len() == before {
        return Err(KmsError::NotFoundException(format!(
            "Grant ID {grant_id} not found"
        )));
    }
    repo::save(&mut db, &mut key, ctx.now).await?;
    Ok(json!({}))
}
