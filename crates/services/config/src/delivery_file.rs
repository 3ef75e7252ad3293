//! The files Config delivers to the channel's bucket, in AWS's layout and format:
//! `[prefix/]AWSLogs/ACCOUNT/Config/REGION/YYYY/M/D/ConfigHistory/
//! ACCOUNT_Config_REGION_ConfigHistory_TYPE_START_END_N.json.gz` (one per resource type) and
//! `.../ConfigSnapshot/ACCOUNT_Config_REGION_ConfigSnapshot_TIME_ID.json.gz`, each a gzipped
//! JSON document with `fileVersion` and `configurationItems` (items in the delivered schema:
//! `configuration` as an object, `ARN`, `awsAccountId`, `configurationItemVersion`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::timestamp::ts;
use serde_json::{json, Value};

use crate::model::ItemDoc;

/// `fileVersion` of the delivered files.
pub const FILE_VERSION: &str = "1.0";

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The folder of a delivery made at `at`: `[prefix/]AWSLogs/ACCOUNT/Config/REGION/YYYY/M/D/`.
fn folder(prefix: Option<&str>, account: &str, region: &str, at: DateTime<Utc>) -> String {
    let prefix = prefix
        .filter(|p| !p.is_empty())
        .map(|p| format!("{p}/"))
        .unwrap_or_default();
    format!(
        "{prefix}AWSLogs/{account}/Config/{region}/{}/",
        at.format("%Y/%-m/%-d")
    )
}

/// The key of a snapshot file.
pub fn snapshot_key(
    prefix: Option<&str>,
    account: &str,
    region: &str,
    at: DateTime<Utc>,
    id: &str,
) -> String {
    format!(
        "{}ConfigSnapshot/{account}_Config_{region}_ConfigSnapshot_{}_{id}.json.gz",
        folder(prefix, account, region, at),
        stamp(at)
    )
}

/// The key of the history file of `resource_type` for items captured in `[start, end]`.
pub fn history_key(
    prefix: Option<&str>,
    account: &str,
    region: &str,
    resource_type: &str,
    window: (DateTime<Utc>, DateTime<Utc>),
) -> String {
    let (start, end) = window;
    format!(
        "{}ConfigHistory/{account}_Config_{region}_ConfigHistory_{resource_type}_{}_{}_1.json.gz",
        folder(prefix, account, region, end),
        stamp(start),
        stamp(end)
    )
}

/// An item in the delivered schema.
pub fn file_item(account: &str, item: &ItemDoc) -> Value {
    let s = &item.snapshot;
    let supplementary: BTreeMap<&String, &Value> = s.supplementary.iter().collect();
    json!({
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": ts(item.captured),
        "configurationStateId": item.captured.timestamp_millis(),
        "awsAccountId": account,
        "configurationItemStatus": item.status,
        "resourceType": s.resource_type,
        "resourceId": s.resource_id,
        "resourceName": s.resource_name,
        "ARN": s.arn,
        "awsRegion": s.region,
        "availabilityZone": if s.region == "global" { "Not Applicable" } else { "Regional" },
        "resourceCreationTime": s.created.map(ts),
        "configurationStateMd5Hash": "",
        "tags": s.tags,
        "relatedEvents": [],
        "relationships": s.relationships,
        "configuration": s.configuration,
        "supplementaryConfiguration": supplementary,
    })
}

/// A history file's body.
pub fn history_body(account: &str, items: &[ItemDoc]) -> Vec<u8> {
    let items: Vec<Value> = items.iter().map(|i| file_item(account, i)).collect();
    json!({ "fileVersion": FILE_VERSION, "configurationItems": items })
        .to_string()
        .into_bytes()
}

/// A snapshot file's body.
pub fn snapshot_body(account: &str, id: &str, items: &[ItemDoc]) -> Vec<u8> {
    let items: Vec<Value> = items.iter().map(|i| file_item(account, i)).collect();
    json!({ "fileVersion": FILE_VERSION, "configSnapshotId": id, "configurationItems": items })
        .to_string()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_aws_layout() {
        let at = DateTime::parse_from_rfc3339("2026-03-04T05:06:07Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            snapshot_key(Some("p"), "111122223333", "eu-west-1", at, "abc"),
            "p/AWSLogs/111122223333/Config/eu-west-1/2026/3/4/ConfigSnapshot/111122223333_Config_eu-west-1_ConfigSnapshot_20260304T050607Z_abc.json.gz"
        );
        let start = at - chrono::Duration::hours(6);
        assert_eq!(
            history_key(None, "111122223333", "eu-west-1", "AWS::S3::Bucket", (start, at)),
            "AWSLogs/111122223333/Config/eu-west-1/2026/3/4/ConfigHistory/111122223333_Config_eu-west-1_ConfigHistory_AWS::S3::Bucket_20260303T230607Z_20260304T050607Z_1.json.gz"
        );
    }

    #[test]
    fn bodies_hold_items_in_the_delivered_schema() {
        let item = ItemDoc {
            status: "OK".into(),
            captured: Utc::now(),
            version: 2,
            snapshot: crate::model::Snapshot {
                resource_type: "AWS::S3::Bucket".into(),
                resource_id: "b".into(),
                configuration: json!({"name": "b"}),
                ..Default::default()
            },
        };
        let v: Value =
            serde_json::from_slice(&snapshot_body("111122223333", "id", &[item])).unwrap();
        assert_eq!(v["fileVersion"], "1.0");
        assert_eq!(v["configSnapshotId"], "id");
        let i = &v["configurationItems"][0];
        assert_eq!(i["configuration"]["name"], "b");
        assert_eq!(i["awsAccountId"], "111122223333");
    }
}
