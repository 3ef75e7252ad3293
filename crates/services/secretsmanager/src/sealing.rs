//! The KMS work of a mutating call, done before its write transaction: the KMS calls read the
//! store (key policies, grants, the caller's policies) and may create the AWS managed key,
//! which a write transaction must not wait on. The handler then stores what was sealed.
//!
//! - A new value (`CreateSecret`, `PutSecretValue`, `UpdateSecret`) is sealed for the version
//!   it will become. Nothing is sealed when the call makes no new version: no value, a name
//!   that exists, or a retried `ClientRequestToken` (the handler answers from what is stored).
//! - `UpdateSecret` with another `KmsKeyId` re-encrypts the `AWSCURRENT`, `AWSPENDING` and
//!   `AWSPREVIOUS` versions under the new key, as AWS does; a version the caller cannot
//!   decrypt with its old key stays as it is.

use rampart_store::Store;
use serde_json::Value;

use super::{
    common::{opt_str, req_str},
    crypto::{self, Sealed},
    error::{SmError, SmResult},
    model::{AWSCURRENT, AWSPENDING, AWSPREVIOUS, SECRET_KIND},
    repo::{self, Secret},
    versions::version_id_of,
    Op,
};
use rampart_kit::{
    context::{CallContext, Preparation},
    db::Db,
};

/// What was sealed for a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealing {
    /// The request's new value.
    pub value: Option<Sealed>,
    /// Labelled versions re-encrypted under a new KMS key.
    pub reencrypted: Vec<Sealed>,
}

/// Seals what a call needs (see the module's documentation).
pub async fn prepare(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> SmResult<Option<Preparation>> {
    let value = crypto::value_of(input)?;
    let mut db = Db::Read(store);
    let mut sealing = Sealing {
        value: None,
        reencrypted: Vec::new(),
    };
    match op {
        Op::CreateSecret => {
            // Bad replica regions are refused before any sealing.
            super::replication::requested(&ctx.region, &[], input)?;
            let Some(value) = value else { return Ok(None) };
            let name = req_str(input, "Name")?;
            let account = &ctx.principal.account_id;
            let key = repo::name_key(&ctx.region, name);
            if let Some(e) = db.entities().get(account, SECRET_KIND, &key).await? {
                if !repo::is_destroyed(&repo::parse(e)?.doc, ctx.now) {
                    return Ok(None);
                }
            }
            let arn = repo::secret_arn(&ctx.region, account, name, &repo::random_suffix()?);
            let kms = opt_str(input, "KmsKeyId");
            let id = version_id_of(input);
            sealing.value = Some(crypto::seal(store, ctx, account, &arn, &id, kms, &value).await?);
        }
        Op::PutSecretValue | Op::UpdateSecret => {
            let secret = repo::resolve_writable(&mut db, ctx, req_str(input, "SecretId")?).await?;
            let new_key = match op {
                Op::UpdateSecret => opt_str(input, "KmsKeyId").filter(|k| !k.is_empty()),
                _ => None,
            };
            let kms = new_key.or(secret.doc.kms_key_id.as_deref());
            let token = opt_str(input, "ClientRequestToken");
            if let Some(value) = value {
                if token.is_none_or(|t| secret.doc.version(t).is_none_or(|v| v.empty)) {
                    let id = version_id_of(input);
                    let (owner, arn) = (secret.account(), secret.arn());
                    sealing.value =
                        Some(crypto::seal(store, ctx, owner, arn, &id, kms, &value).await?);
                }
            }
            if let Some(new_key) = new_key.filter(|k| Some(*k) != secret.doc.kms_key_id.as_deref())
            {
                sealing.reencrypted = reencrypt(store, ctx, &secret, new_key).await?;
            }
        }
        _ => return Ok(None),
    }
    if sealing.value.is_none() && sealing.reencrypted.is_empty() {
        return Ok(None);
    }
    // The work is done: the pipeline's blocking step only hands it over.
    Ok(Some(Preparation::new(move || Ok(sealing))))
}

/// The labelled versions of `secret` sealed again under `new_key`.
async fn reencrypt(
    store: &Store,
    ctx: &CallContext,
    secret: &Secret,
    new_key: &str,
) -> SmResult<Vec<Sealed>> {
    let mut out = Vec::new();
    for v in secret.doc.versions.iter().filter(|v| !v.empty) {
        if !v
            .stages
            .iter()
            .any(|s| [AWSCURRENT, AWSPENDING, AWSPREVIOUS].contains(&s.as_str()))
        {
            continue;
        }
        let Ok(plain) = crypto::unseal(store, ctx, secret.arn(), v).await else {
            continue;
        };
        let sealed = crypto::seal(
            store,
            ctx,
            secret.account(),
            secret.arn(),
            &v.id,
            Some(new_key),
            &plain,
        )
        .await?;
        out.push(sealed);
    }
    Ok(out)
}

/// What [`prepare`] sealed for this call, if anything.
pub fn sealing(ctx: &CallContext) -> Option<&Sealing> {
    ctx.prepared.as_deref().and_then(|p| p.get::<Sealing>())
}

/// The new value [`prepare`] sealed for this call.
pub fn new_value(ctx: &CallContext) -> SmResult<&Sealed> {
    sealing(ctx).and_then(|s| s.value.as_ref()).ok_or_else(|| {
        tracing::error!("secretsmanager: a new value reached its handler unsealed");
        SmError::internal()
    })
}

/// Stores the re-encrypted versions of `secret` (those that still exist).
pub fn apply_reencrypted(ctx: &CallContext, secret: &mut Secret) {
    let Some(sealing) = sealing(ctx) else { return };
    for s in &sealing.reencrypted {
        if s.arn != secret.arn() {
            continue;
        }
        if let Some(v) = secret
            .doc
            .versions
            .iter_mut()
            .find(|v| v.id == s.version_id)
        {
            v.kms_key_arn = s.kms_key_arn.clone();
            v.data_key = s.data_key.clone();
            v.ciphertext = s.ciphertext.clone();
        }
    }
}
