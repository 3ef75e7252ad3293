//! IAM's `Marker`/`MaxItems`/`IsTruncated` pagination over `rampart_kit::page`. Markers are
//! the kit's opaque tokens of the last returned sort key (a name key, or an index for computed
//! lists); a marker that is not one is `InvalidInput`.

use serde_json::{json, Map, Value};

use super::{tags, IamError, Res};
use crate::model::Tag;
use rampart_kit::{input::opt_str, page};

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
    let after = match opt_str(input, "Marker") {
        Some(m) => {
            Some(page::decode(m).ok_or_else(|| IamError::InvalidInput("Invalid Marker.".into()))?)
        }
        None => None,
    };
    let max = input
        .get("MaxItems")
        .and_then(Value::as_u64)
        .map(|n| n.clamp(1, 1000) as u32)
        .unwrap_or(DEFAULT_MAX_ITEMS);
    Ok(PageReq { after, max })
}

/// Adds `IsTruncated` and, when truncated, `Marker` (from the last item's key) to an output.
pub fn finish(out: &mut Map<String, Value>, truncated: bool, last_key: Option<&str>) {
    out.insert("IsTruncated".into(), Value::Bool(truncated));
    if truncated {
        if let Some(k) = last_key {
            out.insert("Marker".into(), Value::String(page::encode(k)));
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
    let got = page::after_key(items, &key, req.after.as_deref(), req.max as usize);
    let truncated = got.truncated();
    let last = got.items.last().map(&key);
    (got.items, truncated, last)
}

/// `Tags` output for a resource's tags, paged by position (`ListUserTags`, `ListRoleTags`, ...).
pub fn tags_page(all: &[Tag], input: &Value) -> Res<Value> {
    let req = page_req(input)?;
    let indexed: Vec<(usize, &Tag)> = all.iter().enumerate().collect();
    let (items, truncated, last) = slice(indexed, |(i, _)| page::index_key(*i), &req);
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
    fn garbage_markers_are_invalid_input() {
        let e = page_req(&json!({"Marker": "zz"})).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("InvalidInput", "Invalid Marker.")
        );
        assert!(page_req(&json!({"Marker": "abc"})).is_err());
    }

    #[test]
    fn slices_pages() {
        let items = vec!["a", "b", "c"];
        let req = page_req(&json!({"MaxItems": 2})).unwrap();
        let (page, more, last) = slice(items.clone(), |s| s.to_string(), &req);
        assert_eq!(page, vec!["a", "b"]);
        assert!(more);
        let req = page_req(&json!({"Marker": page::encode(&last.unwrap())})).unwrap();
        let (page, more, _) = slice(items, |s| s.to_string(), &req);
        assert_eq!(page, vec!["c"]);
        assert!(!more);
    }
}
