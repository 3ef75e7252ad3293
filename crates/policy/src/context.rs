//! Request context keys: case-insensitive names, string values, single- or multi-valued.

use std::collections::HashMap;

use crate::fxhash::SeededFx;

/// The value of one context key: AWS context values are strings; `multi` marks a multi-valued key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContextValue {
    /// The values (one for a single-valued key).
    pub values: Vec<String>,
    /// True for a multi-valued key (given as an array), even with zero or one element.
    pub multi: bool,
}

impl ContextValue {
    /// A single-valued key.
    pub fn single(v: impl Into<String>) -> ContextValue {
        ContextValue {
            values: vec![v.into()],
            multi: false,
        }
    }

    /// A multi-valued key.
    pub fn multi<I: IntoIterator<Item = S>, S: Into<String>>(vs: I) -> ContextValue {
        ContextValue {
            values: vs.into_iter().map(Into::into).collect(),
            multi: true,
        }
    }

    /// A key from its values, taken as they are: single-valued when there is exactly one.
    pub fn from_values(values: Vec<String>) -> ContextValue {
        ContextValue {
            multi: values.len() != 1,
            values,
        }
    }

    /// The value for a policy variable: only a single-valued key can be substituted.
    pub fn as_variable(&self) -> Option<&str> {
        if self.multi || self.values.len() != 1 {
            None
        } else {
            self.values.first().map(String::as_str)
        }
    }
}

/// The request context: condition keys (stored lowercased) and their values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: HashMap<String, ContextValue, SeededFx>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// An empty context with room for `n` keys (a request's context is built once and read
    /// often: sized up front, it is not rehashed as it fills).
    pub fn with_capacity(n: usize) -> Context {
        Context {
            entries: HashMap::with_capacity_and_hasher(n, SeededFx::default()),
        }
    }

    /// Sets a key (name case-insensitive), replacing any previous value.
    pub fn insert(&mut self, key: &str, value: ContextValue) {
        self.entries.insert(key.to_ascii_lowercase(), value);
    }

    /// Sets a single-valued key.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.insert(key, ContextValue::single(value));
    }

    /// Sets a key only when it is absent.
    pub fn set_default(&mut self, key: &str, value: impl Into<String>) {
        let k = key.to_ascii_lowercase();
        self.entries
            .entry(k)
            .or_insert_with(|| ContextValue::single(value));
    }

    /// Looks a key up by its already-lowercased name.
    pub fn get_lower(&self, key_lower: &str) -> Option<&ContextValue> {
        self.entries.get(key_lower)
    }

    /// Looks a key up (name case-insensitive).
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        self.entries.get(&key.to_ascii_lowercase())
    }

    /// True when the key is present.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
