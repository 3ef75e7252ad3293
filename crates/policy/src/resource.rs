//! Resource / NotResource: ARN patterns, possibly with policy variables.

use crate::arn::ArnPattern;
use crate::context::Context;
use crate::variables::Template;

/// One entry of a Resource element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceItem {
    /// A pattern compiled once.
    Static(ArnPattern),
    /// A pattern with policy variables, compiled per request.
    Template(Template),
}

/// The Resource or NotResource element of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSpec {
    /// True for NotResource.
    pub negated: bool,
    /// The compiled entries.
    pub items: Vec<ResourceItem>,
    /// The original strings, for printing.
    pub raw: Vec<String>,
    /// True when the element was a single string.
    pub single: bool,
}

impl ResourceSpec {
    /// True when the statement applies to `resource`; unresolved variable keys go to `missing`.
    pub fn matches(&self, resource: &str, ctx: &Context, missing: &mut Vec<String>) -> bool {
        let any = self.items.iter().any(|item| match item {
            ResourceItem::Static(p) => p.matches(resource),
            ResourceItem::Template(t) => {
                // Cheap rejection on the literal text before the first variable; the first
                // unresolved variable is still reported, as full substitution would.
                if !resource.starts_with(t.literal_prefix()) {
                    if let Some(key) = t.first_unresolved(ctx) {
                        missing.push(key.to_string());
                    }
                    return false;
                }
                crate::scratch::with_text(|buf| match t.resolve_pattern_into(ctx, buf) {
                    // A Resource pattern whose only wildcard ends it (it may span colons).
                    Ok(true) if t.trailing_star() => resource.starts_with(&buf[..buf.len() - 1]),
                    Ok(true) if buf.is_ascii() && resource.is_ascii() => {
                        crate::arn::match_pattern_str(buf, resource, true)
                    }
                    Ok(_) => crate::scratch::with_tokens(|toks| {
                        match t.resolve_tokens_into(ctx, false, toks) {
                            Ok(()) => crate::arn::match_tokens(toks, resource, true),
                            Err(key) => {
                                missing.push(key);
                                false
                            }
                        }
                    }),
                    Err(key) => {
                        missing.push(key);
                        false
                    }
                })
            }
        });
        any != self.negated
    }
}
