//! Parsed copies of stored JSON documents, kept by entity id with the text they came from.
//!
//! A document read on a hot path is parsed several times per call: `GetSecretValue` parses its
//! KMS key's document in the Secrets Manager authorization entry, KMS's authorization entry and
//! the `Decrypt` handler, and the secret's twice. Those parses were about a tenth of the call's
//! CPU (perf, `bench/sm_load.sh`). A hit costs a comparison of the text and a clone of the
//! parsed value; a document whose text changed is parsed again, so a hit is never stale.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;

/// Documents longer than this are always parsed: a cache of at most `capacity` small
/// documents stays small (a secret with many large versions is not kept).
const MAX_CACHED_TEXT: usize = 16 * 1024;

/// Parsed documents of one type, by entity id.
#[derive(Debug)]
pub struct ParseCache<T> {
    slots: Mutex<HashMap<String, Arc<(String, T)>>>,
    capacity: usize,
}

impl<T: DeserializeOwned + Clone> ParseCache<T> {
    /// A cache of at most `capacity` documents (emptied when full).
    pub fn new(capacity: usize) -> ParseCache<T> {
        ParseCache {
            slots: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// `text` parsed: the kept copy if `id`'s document was last parsed from the same text.
    pub fn parse(&self, id: &str, text: &str) -> serde_json::Result<T> {
        let kept = self.slots.lock().ok().and_then(|s| s.get(id).cloned());
        if let Some(kept) = kept.filter(|k| k.0 == text) {
            return Ok(kept.1.clone());
        }
        let value: T = serde_json::from_str(text)?;
        if text.len() <= MAX_CACHED_TEXT {
            if let Ok(mut slots) = self.slots.lock() {
                if slots.len() >= self.capacity {
                    slots.clear();
                }
                slots.insert(id.to_string(), Arc::new((text.to_string(), value.clone())));
            }
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_text_is_parsed_again_and_the_cache_stays_bounded() {
        let cache: ParseCache<serde_json::Value> = ParseCache::new(2);
        assert_eq!(cache.parse("a", r#"{"v":1}"#).unwrap()["v"], 1);
        assert_eq!(cache.parse("a", r#"{"v":1}"#).unwrap()["v"], 1);
        assert_eq!(cache.parse("a", r#"{"v":2}"#).unwrap()["v"], 2);
        assert!(cache.parse("a", "not json").is_err());
        assert_eq!(cache.parse("a", r#"{"v":2}"#).unwrap()["v"], 2);
        cache.parse("b", "{}").unwrap();
        cache.parse("c", "{}").unwrap();
        assert!(cache.slots.lock().unwrap().len() <= 2);
        let big = format!(r#"{{"v":"{}"}}"#, "x".repeat(MAX_CACHED_TEXT));
        cache.parse("d", &big).unwrap();
        assert!(!cache.slots.lock().unwrap().contains_key("d"));
    }
}
