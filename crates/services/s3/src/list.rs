//! Listing objects: `ListObjectsV2` (continuation tokens, `StartAfter`) and `ListObjects`
//! (markers), with `Prefix`, `Delimiter` (common prefixes), `MaxKeys` and
//! `EncodingType=url`, in UTF-8 binary key order as S3 lists.

use rampart_kit::{context::CallContext, db::Db, json_field::SetField, page};
use serde_json::{json, Map, Value};

use crate::{
    buckets::owner,
    error::{S3Error, S3Result},
    input::{bucket_name, opt_nonempty},
    repo::{self, Bucket, Object},
};

/// The most keys one listing returns (and the default).
const MAX_KEYS: i64 = 1000;

/// What a scan finds, in order.
enum Entry {
    Object(Box<Object>),
    Prefix(String),
}

/// One page of a listing.
struct Listing {
    entries: Vec<Entry>,
    truncated: bool,
    /// Where the next page starts (a key, or a common prefix followed by U+10FFFF so that
    /// every key under it is skipped).
    resume: Option<String>,
}

/// The greatest character: appended to a common prefix, it sorts after every key under it.
pub(crate) const AFTER_ALL: char = '\u{10FFFF}';

/// The common prefix `key` rolls up into: up to the first `delimiter` after `prefix`.
pub(crate) fn common_prefix(key: &str, prefix: &str, delimiter: Option<&str>) -> Option<String> {
    let d = delimiter?;
    let at = key.get(prefix.len()..)?.find(d)?;
    key.get(..prefix.len() + at + d.len()).map(str::to_string)
}

/// Lists up to `max` entries after `after`.
async fn scan(
    db: &mut Db<'_>,
    bucket: &Bucket,
    prefix: &str,
    delimiter: Option<&str>,
    mut after: Option<String>,
    max: usize,
) -> S3Result<Listing> {
    let mut entries = Vec::new();
    let mut resume = None;
    'query: loop {
        let (objects, more) =
            repo::list_objects(db, bucket, prefix, after.as_deref(), MAX_KEYS as u32).await?;
        for o in objects {
            if o.doc.delete_marker {
                continue;
            }
            let key = o.key().to_string();
            let common = common_prefix(&key, prefix, delimiter);
            if entries.len() == max {
                return Ok(Listing {
                    entries,
                    truncated: true,
                    resume,
                });
            }
            match common {
                Some(cp) => {
                    let next = format!("{cp}{AFTER_ALL}");
                    entries.push(Entry::Prefix(cp));
                    resume = Some(next.clone());
                    after = Some(next);
                    continue 'query;
                }
                None => {
                    resume = Some(key.clone());
                    after = Some(key);
                    entries.push(Entry::Object(Box::new(o)));
                }
            }
        }
        if !more {
            return Ok(Listing {
                entries,
                truncated: false,
                resume,
            });
        }
    }
}

/// S3's `EncodingType=url` form of a key: every byte but unreserved characters and `/`
/// percent-encoded.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The listing's common parameters.
struct Params<'a> {
    bucket: Bucket,
    prefix: &'a str,
    delimiter: Option<&'a str>,
    max: i64,
    url: bool,
}

async fn params<'a>(input: &'a Value, db: &mut Db<'_>) -> S3Result<Params<'a>> {
    let bucket = repo::bucket(db, bucket_name(input)?).await?;
    let max = input
        .get("MaxKeys")
        .and_then(Value::as_i64)
        .unwrap_or(MAX_KEYS);
    if max < 0 {
        return Err(S3Error::argument(
            "Provided max-keys not an integer or within integer range",
        ));
    }
    let url = match opt_nonempty(input, "EncodingType") {
        None => false,
        Some("url") => true,
        Some(_) => {
            return Err(S3Error::argument(
                "Invalid Encoding Method specified in Request",
            ))
        }
    };
    Ok(Params {
        bucket,
        prefix: opt_nonempty(input, "Prefix").unwrap_or(""),
        delimiter: opt_nonempty(input, "Delimiter"),
        max: max.min(MAX_KEYS),
        url,
    })
}

impl Params<'_> {
    fn text(&self, s: &str) -> Value {
        if self.url {
            json!(url_encode(s))
        } else {
            json!(s)
        }
    }

    /// The `Contents` and `CommonPrefixes` of a listing.
    fn entries(&self, listing: &Listing, with_owner: bool, out: &mut Map<String, Value>) {
        let mut contents = Vec::new();
        let mut prefixes = Vec::new();
        for e in &listing.entries {
            match e {
                Entry::Object(o) => {
                    let mut c = json!({
                        "Key": self.text(o.key()),
                        "LastModified": o.last_modified().timestamp(),
                        "ETag": o.quoted_etag(),
                        "Size": o.doc.size,
                        "StorageClass": "STANDARD",
                    });
                    if let Some(algorithm) = o.doc.checksums.first() {
                        c.set_field("ChecksumAlgorithm", json!([algorithm.algorithm]));
                    }
                    if with_owner {
                        c.set_field("Owner", owner(self.bucket.owner()));
                    }
                    contents.push(c);
                }
                Entry::Prefix(p) => prefixes.push(json!({ "Prefix": self.text(p) })),
            }
        }
        if !contents.is_empty() {
            out.insert("Contents".into(), Value::Array(contents));
        }
        if !prefixes.is_empty() {
            out.insert("CommonPrefixes".into(), Value::Array(prefixes));
        }
        out.insert("Name".into(), json!(self.bucket.name()));
        out.insert("Prefix".into(), self.text(self.prefix));
        if let Some(d) = self.delimiter {
            out.insert("Delimiter".into(), self.text(d));
        }
        out.insert("MaxKeys".into(), json!(self.max));
        out.insert("IsTruncated".into(), json!(listing.truncated));
        if self.url {
            out.insert("EncodingType".into(), json!("url"));
        }
    }
}

/// `ListObjectsV2`.
pub async fn list_v2(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let p = params(input, &mut db).await?;
    let token = opt_nonempty(input, "ContinuationToken");
    let after = match token {
        Some(t) => Some(
            page::decode(t)
                .ok_or_else(|| S3Error::argument("The continuation token provided is incorrect"))?,
        ),
        None => opt_nonempty(input, "StartAfter").map(str::to_string),
    };
    let listing = scan(
        &mut db,
        &p.bucket,
        p.prefix,
        p.delimiter,
        after,
        p.max as usize,
    )
    .await?;
    let mut out = Map::new();
    let fetch_owner = input
        .get("FetchOwner")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    p.entries(&listing, fetch_owner, &mut out);
    out.insert("KeyCount".into(), json!(listing.entries.len()));
    if let Some(t) = token {
        out.insert("ContinuationToken".into(), json!(t));
    }
    if let Some(s) = opt_nonempty(input, "StartAfter") {
        out.insert("StartAfter".into(), p.text(s));
    }
    if listing.truncated {
        if let Some(resume) = &listing.resume {
            out.insert("NextContinuationToken".into(), json!(page::encode(resume)));
        }
    }
    Ok(Value::Object(out))
}

/// `ListObjects` (version 1): `Marker`, and `NextMarker` when a delimiter is used.
pub async fn list_v1(input: &Value, _ctx: &CallContext, mut db: Db<'_>) -> S3Result<Value> {
    let p = params(input, &mut db).await?;
    let marker = opt_nonempty(input, "Marker");
    // A marker that is a common prefix (the `NextMarker` of a page that ended on one) skips
    // every key under it.
    let after = marker.map(|m| match p.delimiter {
        Some(d) if m.ends_with(d) => format!("{m}{AFTER_ALL}"),
        _ => m.to_string(),
    });
    let listing = scan(
        &mut db,
        &p.bucket,
        p.prefix,
        p.delimiter,
        after,
        p.max as usize,
    )
    .await?;
    let mut out = Map::new();
    p.entries(&listing, true, &mut out);
    out.insert("Marker".into(), p.text(marker.unwrap_or("")));
    if listing.truncated && p.delimiter.is_some() {
        let last = listing.entries.last().map(|e| match e {
            Entry::Object(o) => o.key().to_string(),
            Entry::Prefix(cp) => cp.clone(),
        });
        if let Some(last) = last {
            out.insert("NextMarker".into(), p.text(&last));
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_keeps_slashes_and_unreserved() {
        assert_eq!(url_encode("a/b c+d~é"), "a/b%20c%2Bd~%C3%A9");
    }
}
