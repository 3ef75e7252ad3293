//! Each key's last successful cryptographic use (`GetKeyLastUsage`). The server notes the
//! uses on the request path from the audit records it writes (the call's own and those of
//! calls services make on a caller's behalf), in memory, and a node job writes the latest per
//! key here ([`record`]): cryptographic operations run without a write transaction, and one
//! write per use would serialize every `Decrypt` behind SQLite's writer.

use chrono::{DateTime, Utc};
use rampart_store::{Entity, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{
    common::{epoch, req_str},
    repo,
};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity::{read_doc, to_text},
    error::ServiceError,
    json_field::SetField,
};

/// Entity kind of a key's last use (name key: the key ARN, in the key's account).
pub const LAST_USAGE_KIND: &str = "kms:key-last-usage";

/// The setting holding when this installation began tracking (RFC 3339).
pub const TRACKING_START: &str = "kms.key-last-usage.tracking-start";

/// The operations AWS tracks (the model's `KeyLastUsageTrackingOperation`). `ReEncrypt`
/// counts for both of its keys.
pub const TRACKED: [&str; 12] = [
    "Decrypt",
    "DeriveSharedSecret",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "ReEncrypt",
    "Sign",
    "Verify",
    "VerifyMac",
];

/// One successful cryptographic use of a key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// The operation (one of [`TRACKED`]).
    pub operation: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The CloudTrail `eventID` of its record.
    pub event_id: String,
    /// The KMS request id.
    pub request_id: String,
}

/// The key ARN's account and region (`arn:aws:kms:REGION:ACCOUNT:key/ID`); `None` for
/// anything else (an alias, `*`).
pub fn key_arn_parts(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    (service == "kms" && resource.starts_with("key/")).then_some((account, region))
}

/// Writes the latest use of each key in one transaction; a stored use newer than the one
/// given (another node's) is kept.
pub async fn record(store: &Store, uses: &[(String, Usage)]) -> Result<(), ServiceError> {
    let mut tx = store.begin().await?;
    let mut db = Db::Write(&mut tx);
    for (arn, usage) in uses {
        let Some((account, region)) = key_arn_parts(arn) else {
            continue;
        };
        let found = db.entities().get(account, LAST_USAGE_KIND, arn).await?;
        match found {
            Some(mut e) => {
                let stored: Usage = read_doc(&e)?;
                if stored.at > usage.at {
                    continue;
                }
                e.doc = to_text(usage)?;
                e.updated_at = usage.at;
                db.entities().update(arn, &e).await?;
            }
            None => {
                let e = Entity {
                    account_id: account.to_string(),
                    kind: LAST_USAGE_KIND.into(),
                    name: arn.clone(),
                    name_key: arn.clone(),
                    id: format!("{LAST_USAGE_KIND}/{arn}"),
                    path: repo::region_path(region),
                    arn: arn.clone(),
                    created_at: usage.at,
                    updated_at: usage.at,
                    doc: to_text(usage)?,
                };
                db.entities().create(&e).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Records when tracking began, the first time it is asked (later calls keep the first).
pub async fn start_tracking(store: &Store, now: DateTime<Utc>) -> Result<(), ServiceError> {
    let mut settings = store.settings();
    if settings.get(TRACKING_START).await?.is_none() {
        settings.set(TRACKING_START, &now.to_rfc3339()).await?;
    }
    Ok(())
}

/// `GetKeyLastUsage`: the key's last successful cryptographic use since tracking began. The
/// key must be the caller's own (AWS: no cross-account use); any key state is answered.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let given = req_str(input, "KeyId")?;
    let key = repo::resolve(&mut db, ctx, given).await?;
    if key.account() != ctx.principal.account_id {
        return Err(repo::not_found(given).into());
    }
    let started = db
        .settings()
        .get(TRACKING_START)
        .await?
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map_or(ctx.now, |t| t.with_timezone(&Utc));
    let mut out = json!({
        "KeyId": key.arn(),
        "TrackingStartDate": epoch(started),
        "KeyCreationDate": epoch(key.entity.created_at),
    });
    let stored = db
        .entities()
        .get(key.account(), LAST_USAGE_KIND, key.arn())
        .await?;
    // A key deleted and made again under the same id starts afresh.
    if let Some(e) = stored.filter(|e| e.updated_at >= key.entity.created_at) {
        let usage: Usage = read_doc(&e)?;
        out.set_field(
            "KeyLastUsage",
            json!({
                "Operation": usage.operation,
                "Timestamp": epoch(usage.at),
                "CloudTrailEventId": usage.event_id,
                "KmsRequestId": usage.request_id,
            }),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(op: &str, secs: i64) -> Usage {
        Usage {
            operation: op.into(),
            at: DateTime::from_timestamp(secs, 0).unwrap(),
            event_id: format!("event-{secs}"),
            request_id: format!("request-{secs}"),
        }
    }

    #[test]
    fn only_key_arns_name_a_key() {
        let arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(key_arn_parts(arn), Some(("111122223333", "eu-west-1")));
        assert_eq!(
            key_arn_parts("arn:aws:kms:eu-west-1:111122223333:alias/app"),
            None
        );
        assert_eq!(key_arn_parts("*"), None);
        assert_eq!(
            key_arn_parts("arn:aws:s3:::bucket/key/x"),
            None,
            "another service's ARN"
        );
    }

    #[tokio::test]
    async fn the_latest_use_wins_whatever_order_the_nodes_flush_in() {
        let (store, _dir) = rampart_kit::test_support::store().await;
        let arn = "arn:aws:kms:us-east-1:111122223333:key/k1".to_string();
        record(&store, &[(arn.clone(), usage("Encrypt", 200))])
            .await
            .unwrap();
        // An older use flushed later (another node's) does not replace it.
        record(&store, &[(arn.clone(), usage("Decrypt", 100))])
            .await
            .unwrap();
        let e = store
            .entities()
            .get("111122223333", LAST_USAGE_KIND, &arn)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read_doc::<Usage>(&e).unwrap(), usage("Encrypt", 200));
        record(&store, &[(arn.clone(), usage("Sign", 300))])
            .await
            .unwrap();
        let e = store
            .entities()
            .get("111122223333", LAST_USAGE_KIND, &arn)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read_doc::<Usage>(&e).unwrap().operation, "Sign");
    }

    #[tokio::test]
    async fn tracking_starts_once() {
        let (store, _dir) = rampart_kit::test_support::store().await;
        let first = DateTime::from_timestamp(1_000, 0).unwrap();
        start_tracking(&store, first).await.unwrap();
        start_tracking(&store, DateTime::from_timestamp(2_000, 0).unwrap())
            .await
            .unwrap();
        let stored = store.settings().get(TRACKING_START).await.unwrap().unwrap();
        assert_eq!(stored, first.to_rfc3339());
    }
}
