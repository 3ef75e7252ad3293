//! `ListObjectVersions`: current and noncurrent versions and delete markers by key, newest
//! first, paged by `KeyMarker`/`VersionIdMarker`, with `Prefix` and `Delimiter` (common
//! prefixes count as one entry each, as in S3).
//!
//! Two store scans are merged in store-key order: current versions (`BUCKET/KEY`) and
//! noncurrent ones (`BUCKET/KEY\0VERSION`, newest first), so a key's current version comes
//! before its older ones. One cursor, a store key, moves through both.

use rampart_kit::{context::CallContext, db::Db};
use serde_json::{json, Map, Value};

use crate::{
    buckets::owner,
    error::S3Result,
    input::{bucket_name, opt_nonempty},
    list::{common_prefix, AFTER_ALL},
    repo::{self, Bucket, Object},
};

/// Rows read per scan.
const WINDOW: u32 = 1000;

/// What the listing finds, in order.
enum Entry {
    /// A version (current or not) or delete marker.
    Version { object: Box<Object>, latest: bool },
    /// A common prefix.
    Prefix(String),
}

/// Where the listing starts: the store key it comes after.
async fn start(
    db: &mut Db<'_>,
    bucket: &Bucket,
    key_marker: Option<&str>,
    version_marker: Option<&str>,
    delimiter: Option<&str>,
) -> S3Result<Option<String>> {
    let name = bucket.name();
    let Some(k) = key_marker else {
        return Ok(None);
    };
    // A key marker that is a common prefix skips everything under it.
    if delimiter.is_some_and(|d| k.ends_with(d)) && version_marker.is_none() {
        return Ok(Some(format!("{name}/{k}{AFTER_ALL}")));
    }
    let Some(v) = version_marker else {
        // After a key marker alone, none of the key's versions follow (`\u{1}` sorts after
        // every `\u{0}VERSION`).
        return Ok(Some(format!("{name}/{k}\u{1}")));
    };
    // A marker naming a key's current version: all its noncurrent versions follow.
    if let Some(current) = repo::find_object(db, bucket, k).await? {
        if current.doc.version() == v {
            return Ok(Some(format!("{name}/{k}\u{0}")));
        }
    }
    Ok(Some(format!("{name}/{k}\u{0}{v}")))
}

/// Lists up to `max` entries after the store key `cursor`; true when more follow.
async fn scan(
    db: &mut Db<'_>,
    bucket: &Bucket,
    prefix: &str,
    delimiter: Option<&str>,
    mut cursor: Option<String>,
    max: usize,
) -> S3Result<(Vec<Entry>, bool)> {
    let base = format!("{}/", bucket.name());
    let mut entries = Vec::new();
    'window: loop {
        let key_after = cursor
            .as_deref()
            .map(|c| c.strip_prefix(base.as_str()).unwrap_or(c).to_string());
        let (currents, more_currents) =
            repo::list_objects(db, bucket, prefix, key_after.as_deref(), WINDOW).await?;
        let (versions, more_versions) =
            repo::list_versions(db, bucket, prefix, cursor.as_deref(), WINDOW).await?;
        // The merge is complete only up to the last row of a scan that has more.
        let bound = [
            (more_currents, currents.last()),
            (more_versions, versions.last()),
        ]
        .into_iter()
        .filter_map(|(more, last)| more.then_some(last).flatten())
        .map(|o| o.entity.name_key.clone())
        .min();
        let mut merged: Vec<(Object, bool)> = currents
            .into_iter()
            .map(|o| (o, true))
            .chain(versions.into_iter().map(|o| (o, false)))
            .collect();
        merged.sort_by(|a, b| a.0.entity.name_key.cmp(&b.0.entity.name_key));
        for (object, latest) in merged {
            if bound.as_ref().is_some_and(|b| object.entity.name_key > *b) {
                break;
            }
            if entries.len() == max {
                return Ok((entries, true));
            }
            if let Some(cp) = common_prefix(object.key(), prefix, delimiter) {
                cursor = Some(format!("{base}{cp}{AFTER_ALL}"));
                entries.push(Entry::Prefix(cp));
                continue 'window;
            }
            entries.push(Entry::Version {
                object: Box::new(object),
                latest,
            });
        }
        match bound {
            Some(b) => cursor = Some(b),
            None => return Ok((entries, false)),
        }
    }
}

/// One version or delete marker as listed.
fn describe(object: &Object, latest: bool, bucket: &Bucket) -> Value {
    let mut v = json!({
        "Key": object.key(),
        "VersionId": object.doc.version(),
        "IsLatest": latest,
        "LastModified": object.last_modified().timestamp(),
        "Owner": owner(bucket.owner()),
    });
    if !object.doc.delete_marker {
        if let Some(obj) = v.as_object_mut() {
            obj.insert("ETag".into(), json!(object.quoted_etag()));
            obj.insert("Size".into(), json!(object.doc.size));
            obj.insert("StorageClass".into(), json!("STANDARD"));
        }
    }
    v
}

/// `ListObjectVersions`.
pub async fn list(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let bucket = repo::bucket(&mut db, bucket_name(input)?).await?;
    let prefix = opt_nonempty(input, "Prefix").unwrap_or("");
    let delimiter = opt_nonempty(input, "Delimiter");
    let max = input
        .get("MaxKeys")
        .and_then(Value::as_i64)
        .unwrap_or(1000)
        .clamp(0, 1000) as usize;
    let key_marker = opt_nonempty(input, "KeyMarker");
    let version_marker = opt_nonempty(input, "VersionIdMarker");
    let cursor = start(&mut db, &bucket, key_marker, version_marker, delimiter).await?;
    let (entries, truncated) = scan(&mut db, &bucket, prefix, delimiter, cursor, max).await?;
    let mut versions = Vec::new();
    let mut markers = Vec::new();
    let mut prefixes = Vec::new();
    for entry in &entries {
        match entry {
            Entry::Version { object, latest } if object.doc.delete_marker => {
                markers.push(describe(object, *latest, &bucket))
            }
            Entry::Version { object, latest } => versions.push(describe(object, *latest, &bucket)),
            Entry::Prefix(p) => prefixes.push(json!({ "Prefix": p })),
        }
    }
    let mut out = Map::new();
    out.insert("Name".into(), json!(bucket.name()));
    out.insert("Prefix".into(), json!(prefix));
    if let Some(d) = delimiter {
        out.insert("Delimiter".into(), json!(d));
    }
    out.insert("KeyMarker".into(), json!(key_marker.unwrap_or("")));
    out.insert(
        "VersionIdMarker".into(),
        json!(version_marker.unwrap_or("")),
    );
    out.insert("MaxKeys".into(), json!(max));
    out.insert("IsTruncated".into(), json!(truncated));
    for (name, list) in [
        ("Versions", versions),
        ("DeleteMarkers", markers),
        ("CommonPrefixes", prefixes),
    ] {
        if !list.is_empty() {
            out.insert(name.into(), Value::Array(list));
        }
    }
    if truncated {
        match entries.last() {
            Some(Entry::Version { object, .. }) => {
                out.insert("NextKeyMarker".into(), json!(object.key()));
                out.insert("NextVersionIdMarker".into(), json!(object.doc.version()));
            }
            Some(Entry::Prefix(p)) => {
                out.insert("NextKeyMarker".into(), json!(p));
            }
            None => {}
        }
    }
    Ok(Value::Object(out))
}
