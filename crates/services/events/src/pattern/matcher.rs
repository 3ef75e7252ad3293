//! Deciding whether an event matches a pattern.

use std::net::IpAddr;

use serde_json::Value;

use super::{AnythingBut, Cidr, Field, Matcher, Node, Pattern, Range, Wildcard};

impl Pattern {
    /// Whether `event` (the event as JSON: `source`, `detail-type`, `detail`, ...) matches.
    pub fn matches(&self, event: &Value) -> bool {
        node_matches(&self.root, Some(event))
    }
}

/// Whether the object `at` (none when the event has nothing there) satisfies `node`.
fn node_matches(node: &Node, at: Option<&Value>) -> bool {
    let object = at.and_then(Value::as_object);
    node.fields
        .iter()
        .all(|(name, field)| field_matches(field, object.and_then(|o| o.get(name))))
        && node
            .ors
            .iter()
            .all(|alternatives| alternatives.iter().any(|n| node_matches(n, at)))
}

fn field_matches(field: &Field, value: Option<&Value>) -> bool {
    match field {
        Field::Object(node) => match value {
            Some(Value::Array(items)) => {
                let mut objects = items.iter().filter(|v| v.is_object()).peekable();
                if objects.peek().is_none() {
                    return node_matches(node, None);
                }
                objects.any(|o| node_matches(node, Some(o)))
            }
            Some(v @ Value::Object(_)) => node_matches(node, Some(v)),
            _ => node_matches(node, None),
        },
        Field::Leaf(matchers) => {
            let mut leaves = Vec::new();
            if let Some(v) = value {
                collect_leaves(v, &mut leaves);
            }
            matchers.iter().any(|m| m.matches(&leaves))
        }
    }
}

/// The leaf values under an event field: the value itself, or the scalars of an array
/// (nested arrays flattened); objects are not leaves.
fn collect_leaves<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect_leaves(v, out)),
        Value::Object(_) => {}
        scalar => out.push(scalar),
    }
}

impl Matcher {
    fn matches(&self, leaves: &[&Value]) -> bool {
        match self {
            Matcher::Exists(wanted) => leaves.is_empty() != *wanted,
            _ => leaves.iter().any(|v| self.matches_value(v)),
        }
    }

    fn matches_value(&self, value: &Value) -> bool {
        let text = value.as_str();
        let number = value.as_f64();
        match self {
            Matcher::Exact(s) => text == Some(s.as_str()),
            Matcher::Number(n) => number == Some(*n),
            Matcher::Bool(b) => value.as_bool() == Some(*b),
            Matcher::Null => value.is_null(),
            Matcher::Prefix(p) => text.is_some_and(|t| t.starts_with(p.as_str())),
            Matcher::PrefixIgnoreCase(p) => {
                text.is_some_and(|t| t.to_lowercase().starts_with(&p.to_lowercase()))
            }
            Matcher::Suffix(s) => text.is_some_and(|t| t.ends_with(s.as_str())),
            Matcher::SuffixIgnoreCase(s) => {
                text.is_some_and(|t| t.to_lowercase().ends_with(&s.to_lowercase()))
            }
            Matcher::EqualsIgnoreCase(s) => {
                text.is_some_and(|t| t.to_lowercase() == s.to_lowercase())
            }
            Matcher::Wildcard(w) => text.is_some_and(|t| w.matches(t)),
            Matcher::Numeric(range) => number.is_some_and(|n| range.contains(n)),
            Matcher::Cidr(block) => text
                .and_then(|t| t.parse::<IpAddr>().ok())
                .is_some_and(|ip| block.contains(ip)),
            Matcher::AnythingBut(but) => !but.excludes(value),
            Matcher::Exists(_) => true,
        }
    }
}

impl AnythingBut {
    /// Whether this `anything-but` refuses a present value.
    fn excludes(&self, value: &Value) -> bool {
        let text = value.as_str();
        match self {
            AnythingBut::Strings(list) => {
                text.is_some_and(|t| list.iter().any(|s| s.as_str() == t))
            }
            AnythingBut::Numbers(list) => value.as_f64().is_some_and(|n| list.contains(&n)),
            AnythingBut::Prefix(p) => text.is_some_and(|t| t.starts_with(p.as_str())),
            AnythingBut::Suffix(s) => text.is_some_and(|t| t.ends_with(s.as_str())),
            AnythingBut::IgnoreCase(list) => text.is_some_and(|t| {
                let lower = t.to_lowercase();
                list.iter().any(|s| s.to_lowercase() == lower)
            }),
            AnythingBut::Wildcards(list) => text.is_some_and(|t| list.iter().any(|w| w.matches(t))),
        }
    }
}

impl Range {
    fn contains(&self, n: f64) -> bool {
        let above = self
            .low
            .is_none_or(|(low, closed)| if closed { n >= low } else { n > low });
        let below = self
            .high
            .is_none_or(|(high, closed)| if closed { n <= high } else { n < high });
        above && below
    }
}

impl Wildcard {
    /// Whether `text` is the literal runs in order, anything between them, the first at the
    /// start and the last at the end.
    pub(super) fn matches(&self, text: &str) -> bool {
        let Some((first, rest)) = self.parts.split_first() else {
            return text.is_empty();
        };
        let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            return remaining.is_empty();
        };
        for part in middle {
            match remaining.find(part.as_str()) {
                Some(i) => remaining = remaining.get(i + part.len()..).unwrap_or_default(),
                None => return false,
            }
        }
        remaining.ends_with(last.as_str())
    }
}

impl Cidr {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_equal(&net.octets(), &ip.octets(), self.bits)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_equal(&net.octets(), &ip.octets(), self.bits)
            }
            _ => false,
        }
    }
}

/// Whether the first `bits` bits of two addresses agree.
fn prefix_equal(a: &[u8], b: &[u8], bits: u8) -> bool {
    let mut left = u32::from(bits);
    for (x, y) in a.iter().zip(b) {
        if left == 0 {
            return true;
        }
        let take = left.min(8);
        let mask = u8::MAX.checked_shl(8 - take).unwrap_or(0);
        if x & mask != y & mask {
            return false;
        }
        left -= take;
    }
    true
}
