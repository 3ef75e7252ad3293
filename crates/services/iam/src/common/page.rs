//! `Marker`/`MaxItems`/`IsTruncated` pagination. Markers are opaque to clients: the hex of
//! the last returned sort key (a name key, or an index for computed lists).

use serde_json::{json, Map, Value};

use super::{tags, IamError, Res};
use crate::model::Tag;

/// Default `MaxItems` (AWS: 100).
pub const DEFAULT_MAX_ITEMS: u32 = 100;

/// A page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageReq {
    /// Items sort strictly after this key.
    pub after: Option<String>,
    /// At most this many items.
    pub max: u32,
}

/// Reads `Marker` and `MaxItems` from an input.
pub fn page_req(input: &Value) -> Res<PageReq> {
    let after = match input.get("Marker").and_then(Value::as_str) {
        Some(m) => Some(decode_marker(m)?),
        None => None,
    };
    let max = input
        .get("MaxItems")
        .and_then(Value::as_u64)
        .map(|n| n.clamp(1, 1000) as u32)
        .unwrap_or(DEFAULT_MAX_ITEMS);
    Ok(PageReq { after, max })
}

/// The opaque marker of a sort key.
pub fn encode_marker(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The sort key of a marker.
pub fn decode_marker(marker: &str) -> Res<String> {
    let bad = || IamError::InvalidInput("Invalid Marker.".into());
    if !marker.len().is_multiple_of(2) {
        return Err(bad().into());
    }
    let bytes: Option<Vec<u8>> = (0..marker.len())
        .step_by(2)
        .map(|i| {
            marker
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    let bytes = bytes.ok_or_else(bad)?;
    String::from_utf8(bytes).map_err(|_| bad().into())
}

/// Adds `IsTruncated` and, when truncated, `Marker` (from the last item's key) to an output.
pub fn finish(out: &mut Map<String, Value>, truncated: bool, last_key: Option<&str>) {
    out.insert("IsTruncated".into(), Value::Bool(truncated));
    if truncated {
        if let Some(k) = last_key {
            out.insert("Marker".into(), Value::String(encode_marker(k)));
        }
    }
}

/// Pages an in-memory list already sorted by `key`: the items after `req.after`, at most
/// `req.max`, whether more follow, and the last returned key.
pub fn slice<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    req: &PageReq,
) -> (Vec<T>, bool, Option<String>) {
    let mut out: Vec<T> = items
        .into_iter()
        .filter(|i| req.after.as_deref().is_none_or(|a| key(i).as_str() > a))
        .collect();
    let truncated = out.len() > req.max as usize;
    out.truncate(req.max as usize);
    let last = out.last().map(&key);
    (out, truncated, last)
}

/// A zero-padded index key, so that computed lists sort and page by position.
pub fn index_key(i: usize) -> String {
    format!("{i:010}")
}

/// `Tags` output for a resource's tags, paged by position (`ListUserTags`, `ListRoleTags`, ...).
pub fn tags_page(all: &[Tag], input: &Value) -> Res<Value> {
    let req = page_req(input)?;
    let indexed: Vec<(usize, &Tag)> = all.iter().enumerate().collect();
    let (items, truncated, last) = slice(indexed, |(i, _)| index_key(*i), &req);
    let list: Vec<Tag> = items.into_iter().map(|(_, t)| t.clone()).collect();
    let mut out = Map::new();
    out.insert("Tags".into(), tags::to_json(&list));
    finish(&mut out, truncated, last.as_deref());
    Ok(Value::Object(out))
}

/// `PolicyNames` output for inline policy names, sorted case-insensitively and paged.
pub fn names_page(mut names: Vec<String>, input: &Value) -> Res<Value> {
    names.sort_by_key(|n| n.to_lowercase());
    let req = page_req(input)?;
    let (items, truncated, last) = slice(names, |n| n.to_lowercase(), &req);
    let mut out = Map::new();
    out.insert("PolicyNames".into(), json!(items));
    finish(&mut out, truncated, last.as_deref());
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn markers_round_trip_and_reject_garbage() {
        let m = encode_marker("alice");
        assert_eq!(decode_marker(&m).unwrap(), "alice");
        assert!(decode_marker("zz").is_err());
        assert!(decode_marker("abc").is_err());
    }

    #[test]
    fn slices_pages() {
        let items = vec!["a", "b", "c"];
        let req = page_req(&json!({"MaxItems": 2})).unwrap();
        let (page, more, last) = slice(items.clone(), |s| s.to_string(), &req);
        assert_eq!(page, vec!["a", "b"]);
        assert!(more);
        let req = page_req(&json!({"Marker": encode_marker(&last.unwrap())})).unwrap();
        let (page, more, _) = slice(items, |s| s.to_string(), &req);
        assert_eq!(page, vec!["c"]);
        assert!(!more);
    }
}
