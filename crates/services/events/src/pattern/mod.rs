//! Event patterns, AWS's matching syntax: a pure module, no store.
//!
//! A pattern is a JSON object. Each field names a field of the event: an object goes one level
//! down (the event's value must be an object, or an array of objects of which one matches), an
//! array lists the field's accepted values, any one of which may match (OR); the fields of an
//! object must all match (AND). `$or` takes an array of at least two sub-patterns, one of which
//! must match at that level. An accepted value is a literal (string, number, `true`, `false`,
//! `null`) or an object with one operator:
//!
//! - `prefix`, `suffix` (a string, or `{"equals-ignore-case": "..."}`), `equals-ignore-case`,
//!   `wildcard` (`*` any run of characters, `\*` a literal star; `**` is refused);
//! - `anything-but`: a string, a number, a list of strings or of numbers, or an object with one
//!   of `prefix`, `suffix`, `equals-ignore-case` (a string or list), `wildcard` (a string or
//!   list); it needs the field to be there;
//! - `numeric`: `["=", n]`, or a lower bound (`>`, `>=`) and/or an upper bound (`<`, `<=`);
//! - `exists`: `true` (the field has a value: a leaf, not an object) or `false`;
//! - `cidr`: an IPv4 or IPv6 block matching address strings.
//!
//! An event's array matches when one of its elements matches. A number literal matches a
//! numerically equal number. [`parse`] refuses what AWS refuses, with AWS's reasons
//! ([`PatternError`]); [`Pattern::matches`] decides an event.

mod matcher;
mod parse;
#[cfg(test)]
mod tests;

use std::net::IpAddr;

pub use parse::{parse, parse_value, PatternError};

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    root: Node,
}

/// One object level of a pattern: its fields (all must match) and its `$or` groups (one
/// alternative of each must match).
#[derive(Debug, Clone, PartialEq, Default)]
struct Node {
    fields: Vec<(String, Field)>,
    ors: Vec<Vec<Node>>,
}

/// What a pattern says of one event field.
#[derive(Debug, Clone, PartialEq)]
enum Field {
    /// Accepted values of a leaf: one must match.
    Leaf(Vec<Matcher>),
    /// A nested object.
    Object(Node),
}

/// One accepted value.
#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    /// A string literal.
    Exact(String),
    /// A number literal.
    Number(f64),
    /// `true`, `false`.
    Bool(bool),
    /// `null`.
    Null,
    Prefix(String),
    PrefixIgnoreCase(String),
    Suffix(String),
    SuffixIgnoreCase(String),
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    AnythingBut(AnythingBut),
    Numeric(Range),
    Exists(bool),
    Cidr(Cidr),
}

/// The forms of `anything-but`.
#[derive(Debug, Clone, PartialEq)]
enum AnythingBut {
    Strings(Vec<String>),
    Numbers(Vec<f64>),
    Prefix(String),
    Suffix(String),
    IgnoreCase(Vec<String>),
    Wildcards(Vec<Wildcard>),
}

/// A numeric range; `=` is a closed range of one point.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Range {
    /// The lower bound and whether it is included.
    low: Option<(f64, bool)>,
    /// The upper bound and whether it is included.
    high: Option<(f64, bool)>,
}

/// A wildcard expression: literal runs separated by `*`.
#[derive(Debug, Clone, PartialEq)]
struct Wildcard {
    /// The literal runs, in order (empty runs at the ends when it starts or ends with `*`).
    parts: Vec<String>,
}

/// An address block.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cidr {
    net: IpAddr,
    bits: u8,
}
