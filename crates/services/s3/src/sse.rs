//! Server-side encryption: every object is sealed at rest with its own data key (see
//! `rampart_kit::blob_cipher`). SSE-S3 (`AES256`, the default, as in AWS since 2023) seals the
//! data key with Rampart's master key; SSE-KMS (`aws:kms`) takes it from Rampart's KMS with
//! `GenerateDataKey` on the caller's behalf (`kms:ViaService` `s3`, encryption context
//! `aws:s3:arn` = the object's ARN), and a read needs `kms:Decrypt` on the key for the caller,
//! both decided by the one authorizer. With `BucketKeyEnabled` the data key is derived from a
//! bucket-level key instead ([`crate::bucket_key`]). The bucket's default encryption applies
//! when a request names none.

use base64::Engine as _;
use rampart_kit::{
    blob_cipher::BlobKey, context::CallContext, db::Db, json_field::SetField, OnBehalfError,
};
use rampart_kms as kms;
use rampart_store::{aad_for, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::{
    bucket_key::{self, BucketKey, Slot},
    error::{S3Error, S3Result},
    input::opt_nonempty,
    names::{bucket_arn, object_arn},
};

/// SSE-S3.
pub const AES256: &str = "AES256";
/// SSE-KMS.
pub const AWS_KMS: &str = "aws:kms";

/// The service name S3 calls KMS as.
const SERVICE: &str = "s3";

/// How an object's data key is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sse {
    /// `AES256` or `aws:kms`.
    pub algorithm: String,
    /// The KMS key's ARN (SSE-KMS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    /// The data key, base64: sealed by the master key (SSE-S3) or KMS's ciphertext (SSE-KMS).
    pub data_key: String,
    /// The encryption context KMS was given (SSE-KMS), JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    /// `BucketKeyEnabled`: the data key is derived from a bucket-level key (see
    /// [`crate::bucket_key`]).
    #[serde(default)]
    pub bucket_key: bool,
    /// With a bucket key: the salt (base64) the object's data key is derived with; `data_key`
    /// then holds the bucket-level key's KMS ciphertext and `context` the bucket's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derivation: Option<String>,
}

/// What a request asks for, before any key is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    algorithm: &'static str,
    kms_key_id: Option<String>,
    context: Option<Value>,
    bucket_key: bool,
}

fn argument(message: &str) -> S3Error {
    S3Error::argument(message)
}

/// The encryption a write asks for (its headers, else the bucket's default, else SSE-S3).
pub fn wanted(input: &Value, bucket_default: Option<&Value>) -> S3Result<Wanted> {
    if opt_nonempty(input, "SSECustomerAlgorithm").is_some() {
        return Err(S3Error::NotImplemented(
            "Server-side encryption with customer-provided keys (SSE-C) is not supported by Rampart yet.".into(),
        ));
    }
    let default_rule = bucket_default
        .and_then(|c| c.pointer("/Rules/0"))
        .cloned()
        .unwrap_or(Value::Null);
    let by_default = default_rule.pointer("/ApplyServerSideEncryptionByDefault");
    let asked = opt_nonempty(input, "ServerSideEncryption");
    let algorithm = match asked.or_else(|| {
        by_default
            .and_then(|d| d.get("SSEAlgorithm"))
            .and_then(Value::as_str)
    }) {
        None | Some(AES256) => AES256,
        Some(AWS_KMS) => AWS_KMS,
        Some(_) => return Err(argument("The encryption method specified is not supported")),
    };
    let key_header = opt_nonempty(input, "SSEKMSKeyId");
    if algorithm != AWS_KMS
        && (key_header.is_some() || opt_nonempty(input, "SSEKMSEncryptionContext").is_some())
    {
        return Err(argument(
            "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
        ));
    }
    let kms_key_id = key_header.map(str::to_string).or_else(|| {
        // The bucket's key applies only when the request did not choose SSE-S3 itself.
        (asked.is_none())
            .then(|| {
                by_default
                    .and_then(|d| d.get("KMSMasterKeyID"))
                    .and_then(Value::as_str)
            })
            .flatten()
            .map(str::to_string)
    });
    let context = match opt_nonempty(input, "SSEKMSEncryptionContext") {
        None => None,
        Some(b64) => {
            let text = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .filter(Value::is_object)
                .ok_or_else(|| {
                    argument("The encryption context must be base64-encoded UTF-8 JSON.")
                })?;
            Some(text)
        }
    };
    let bucket_key = input
        .get("BucketKeyEnabled")
        .and_then(Value::as_bool)
        .or_else(|| {
            default_rule
                .get("BucketKeyEnabled")
                .and_then(Value::as_bool)
        })
        .unwrap_or(false);
    Ok(Wanted {
        algorithm,
        kms_key_id,
        context,
        bucket_key: bucket_key && algorithm == AWS_KMS,
    })
}

fn master_aad(bucket: &str, key: &str) -> Vec<u8> {
    aad_for("s3:object", "data_key", &format!("{bucket}/{key}"))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn kms_route(op: kms::Op) -> S3Result<rampart_kit::Route> {
    kms::route(op).ok_or_else(|| {
        tracing::error!(?op, "s3: a KMS operation it needs is not built");
        S3Error::internal()
    })
}

/// S3's answer to a KMS call that did not succeed: a refusal or a key that cannot be used is
/// `AccessDenied` with KMS's reason; an internal failure is S3's.
fn kms_error(err: OnBehalfError) -> S3Error {
    match err {
        OnBehalfError::Refused(message) => S3Error::AccessDenied(message),
        OnBehalfError::Failed(e) => match e.code {
            "KMSInternalException" | "InternalFailure" => S3Error::internal(),
            _ => S3Error::AccessDenied(format!("{}: {}", e.code, e.message)),
        },
    }
}

/// The KMS key an SSE-KMS object without a key id is sealed with: the bucket owner's AWS
/// managed key `aws/s3` (created on first use; only the owner's own calls can create it).
async fn default_kms_key(store: &Store, ctx: &CallContext, owner: &str) -> S3Result<String> {
    if owner != ctx.principal.account_id {
        return Err(S3Error::AccessDenied(
            "The AWS managed key aws/s3 serves only its own account; name a customer managed key."
                .into(),
        ));
    }
    let alias = "alias/aws/s3";
    let found = kms::repo::alias_target(&mut Db::Read(store), owner, &ctx.region, alias)
        .await
        .map_err(|_| S3Error::internal())?;
    let id = match found {
        Some(id) => id,
        None => match kms::aws_managed::create_for_describe(store, ctx, SERVICE).await {
            Ok(key) => key.id().to_string(),
            Err(_) => kms::repo::alias_target(&mut Db::Read(store), owner, &ctx.region, alias)
                .await
                .map_err(|_| S3Error::internal())?
                .ok_or_else(S3Error::internal)?,
        },
    };
    Ok(kms::repo::key_arn(&ctx.region, owner, &id))
}

/// Makes the data key of a new object `bucket/key` (owned by `owner`) as `wanted` says.
pub async fn new_key(
    wanted: &Wanted,
    store: &Store,
    ctx: &CallContext,
    owner: &str,
    bucket: &str,
    key: &str,
) -> S3Result<(Sse, BlobKey)> {
    if wanted.algorithm == AES256 {
        let data_key = BlobKey::generate().ok_or_else(S3Error::internal)?;
        let sealed = store
            .master_key()
            .seal(&master_aad(bucket, key), data_key.expose())
            .map_err(|_| S3Error::internal())?;
        let sse = Sse {
            algorithm: AES256.into(),
            kms_key_arn: None,
            data_key: b64(&sealed),
            context: None,
            bucket_key: false,
            derivation: None,
        };
        return Ok((sse, data_key));
    }
    let key_id = match &wanted.kms_key_id {
        Some(id) => id.clone(),
        None => default_kms_key(store, ctx, owner).await?,
    };
    let mut context = wanted.context.clone().unwrap_or_else(|| json!({}));
    if wanted.bucket_key {
        context.set_field("aws:s3:arn", json!(bucket_arn(ctx.partition(), bucket)));
        let bucket_level = bucket_level_key(store, ctx, &key_id, bucket, &context).await?;
        let mut salt = [0u8; 16];
        aws_lc_rs::rand::fill(&mut salt).map_err(|_| S3Error::internal())?;
        let plain = bucket_level
            .plain
            .derive(&salt, &bucket_key::info(bucket, key))
            .ok_or_else(S3Error::internal)?;
        let sse = Sse {
            algorithm: AWS_KMS.into(),
            kms_key_arn: bucket_level.kms_key_arn,
            data_key: bucket_level.ciphertext,
            context: Some(context),
            bucket_key: true,
            derivation: Some(b64(&salt)),
        };
        return Ok((sse, plain));
    }
    context.set_field(
        "aws:s3:arn",
        json!(object_arn(ctx.partition(), bucket, key)),
    );
    let generated = generate(store, ctx, &key_id, &context).await?;
    let sse = Sse {
        algorithm: AWS_KMS.into(),
        kms_key_arn: generated.kms_key_arn,
        data_key: generated.ciphertext,
        context: Some(context),
        bucket_key: false,
        derivation: None,
    };
    Ok((sse, generated.plain))
}

/// `GenerateDataKey` under `key_id` with `context`, on the caller's behalf.
async fn generate(
    store: &Store,
    ctx: &CallContext,
    key_id: &str,
    context: &Value,
) -> S3Result<BucketKey> {
    let via = ctx.on_behalf_of(SERVICE);
    let request = json!({ "KeyId": key_id, "KeySpec": "AES_256", "EncryptionContext": context });
    let out = kms_route(kms::Op::GenerateDataKey)?
        .call_on_behalf(request, &via, store, Db::Read(store))
        .await
        .map_err(kms_error)?;
    Ok(BucketKey {
        plain: plaintext_of(&out)?,
        ciphertext: out
            .get("CiphertextBlob")
            .and_then(Value::as_str)
            .ok_or_else(S3Error::internal)?
            .to_string(),
        kms_key_arn: out.get("KeyId").and_then(Value::as_str).map(str::to_string),
    })
}

fn plaintext_of(out: &Value) -> S3Result<BlobKey> {
    out.get("Plaintext")
        .and_then(Value::as_str)
        .and_then(|p| base64::engine::general_purpose::STANDARD.decode(p).ok())
        .and_then(|b| BlobKey::from_slice(&b))
        .ok_or_else(S3Error::internal)
}

/// The caller's bucket-level key for `bucket` under `key_id`: cached, or generated by KMS.
async fn bucket_level_key(
    store: &Store,
    ctx: &CallContext,
    key_id: &str,
    bucket: &str,
    context: &Value,
) -> S3Result<BucketKey> {
    let slot = Slot::Write {
        store: store.instance(),
        principal: ctx.principal.arn.clone(),
        kms_key: key_id.to_string(),
        bucket: bucket.to_string(),
        context: context.to_string(),
    };
    if let Some(found) = bucket_key::get(&slot) {
        return Ok(found);
    }
    let generated = generate(store, ctx, key_id, context).await?;
    bucket_key::put(slot, generated.clone());
    bucket_key::put(
        read_slot(store, ctx, &generated.ciphertext),
        generated.clone(),
    );
    Ok(generated)
}

fn read_slot(store: &Store, ctx: &CallContext, ciphertext: &str) -> Slot {
    Slot::Read {
        store: store.instance(),
        principal: ctx.principal.arn.clone(),
        ciphertext: ciphertext.to_string(),
    }
}

/// Opens an object's data key: the master key (SSE-S3) or KMS `Decrypt` on the caller's
/// behalf (SSE-KMS), so a caller who may read the object but not use its key is refused.
pub async fn open_key(
    sse: &Sse,
    store: &Store,
    ctx: &CallContext,
    bucket: &str,
    key: &str,
) -> S3Result<BlobKey> {
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&sse.data_key)
        .map_err(|_| S3Error::internal())?;
    if sse.algorithm == AES256 {
        let plain = store
            .master_key()
            .open(&master_aad(bucket, key), &sealed)
            .map_err(|_| {
                tracing::error!(bucket, key, "an object's data key does not open");
                S3Error::internal()
            })?;
        return BlobKey::from_slice(&plain).ok_or_else(S3Error::internal);
    }
    let Some(salt) = &sse.derivation else {
        return decrypt(sse, store, ctx).await;
    };
    let salt = base64::engine::general_purpose::STANDARD
        .decode(salt)
        .map_err(|_| S3Error::internal())?;
    let slot = read_slot(store, ctx, &sse.data_key);
    let bucket_level = match bucket_key::get(&slot) {
        Some(found) => found.plain,
        None => {
            let plain = decrypt(sse, store, ctx).await?;
            let entry = BucketKey {
                plain: plain.clone(),
                ciphertext: sse.data_key.clone(),
                kms_key_arn: sse.kms_key_arn.clone(),
            };
            bucket_key::put(slot, entry);
            plain
        }
    };
    bucket_level
        .derive(&salt, &bucket_key::info(bucket, key))
        .ok_or_else(S3Error::internal)
}

/// Opens an SSE-S3 object's data key with the master key alone, for offline tools; `None`
/// for an SSE-KMS object (its key opens only through KMS, for a caller) or a key that does
/// not open.
pub fn open_master_key(sse: &Sse, store: &Store, bucket: &str, key: &str) -> Option<BlobKey> {
    if sse.algorithm != AES256 {
        return None;
    }
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&sse.data_key)
        .ok()?;
    let plain = store
        .master_key()
        .open(&master_aad(bucket, key), &sealed)
        .ok()?;
    BlobKey::from_slice(&plain)
}

/// KMS `Decrypt` of the stored key on the caller's behalf.
async fn decrypt(sse: &Sse, store: &Store, ctx: &CallContext) -> S3Result<BlobKey> {
    let via = ctx.on_behalf_of(SERVICE);
    let mut request = json!({
        "CiphertextBlob": sse.data_key,
        "EncryptionContext": sse.context.clone().unwrap_or_else(|| json!({})),
    });
    if let Some(arn) = &sse.kms_key_arn {
        request.set_field("KeyId", json!(arn));
    }
    let out = kms_route(kms::Op::Decrypt)?
        .call_on_behalf(request, &via, store, Db::Read(store))
        .await
        .map_err(kms_error)?;
    plaintext_of(&out)
}

/// The encryption members of an output (`ServerSideEncryption`, `SSEKMSKeyId`,
/// `BucketKeyEnabled`).
pub fn describe(sse: Option<&Sse>, out: &mut Map<String, Value>) {
    let Some(sse) = sse else { return };
    out.insert("ServerSideEncryption".into(), json!(sse.algorithm));
    if let Some(arn) = &sse.kms_key_arn {
        out.insert("SSEKMSKeyId".into(), json!(arn));
    }
    if sse.bucket_key {
        out.insert("BucketKeyEnabled".into(), json!(true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_choose_over_the_bucket_default() {
        let kms_default = json!({ "Rules": [{ "ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/k" }, "BucketKeyEnabled": true }] });
        let w = wanted(&json!({}), None).expect("default");
        assert_eq!(w.algorithm, AES256);
        let w = wanted(&json!({}), Some(&kms_default)).expect("bucket");
        assert_eq!(
            (w.algorithm, w.kms_key_id.as_deref(), w.bucket_key),
            (AWS_KMS, Some("alias/k"), true)
        );
        let w = wanted(
            &json!({ "ServerSideEncryption": "AES256" }),
            Some(&kms_default),
        )
        .expect("asked");
        assert_eq!((w.algorithm, w.kms_key_id), (AES256, None));
        let w = wanted(
            &json!({ "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "k2" }),
            Some(&kms_default),
        )
        .expect("asked kms");
        assert_eq!(w.kms_key_id.as_deref(), Some("k2"));
        assert!(wanted(&json!({ "ServerSideEncryption": "DES" }), None).is_err());
        assert!(wanted(&json!({ "SSEKMSKeyId": "k" }), None).is_err());
        assert!(wanted(&json!({ "SSECustomerAlgorithm": "AES256" }), None).is_err());
        let ctx = b64(br#"{"team":"blue"}"#);
        let w = wanted(
            &json!({ "ServerSideEncryption": "aws:kms", "SSEKMSEncryptionContext": ctx }),
            None,
        )
        .expect("context");
        assert_eq!(w.context, Some(json!({ "team": "blue" })));
        assert!(wanted(
            &json!({ "ServerSideEncryption": "aws:kms", "SSEKMSEncryptionContext": "!!" }),
            None
        )
        .is_err());
    }
}
