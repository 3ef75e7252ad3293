//! ARN patterns: the six colon-separated segments are matched one by one (case-sensitive, with
//! `*` and `?`), so a wildcard never spans from one segment into another.

use crate::wildcard::{Pattern, Tok};

/// A compiled ARN pattern (used by Resource elements and the `Arn*` condition operators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnPattern {
    whole: Pattern,
    segments: Option<Box<[Pattern; 6]>>,
}

impl ArnPattern {
    /// Compiles a pattern from text.
    pub fn new(text: &str) -> ArnPattern {
        ArnPattern::from_tokens(text.chars().map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        }))
    }

    /// Compiles a pattern from tokens (after policy-variable substitution).
    pub fn from_tokens(toks: impl IntoIterator<Item = Tok>) -> ArnPattern {
        let toks: Vec<Tok> = toks.into_iter().collect();
        let whole = Pattern::from_tokens(toks.iter().cloned());
        let mut segs: Vec<Vec<Tok>> = vec![Vec::new()];
        for t in &toks {
            if *t == Tok::Lit(':') && segs.len() < 6 {
                segs.push(Vec::new());
            } else if let Some(last) = segs.last_mut() {
                last.push(t.clone());
            }
        }
        let is_arn = segs.len() == 6
            && segs[0]
                .iter()
                .map(|t| match t {
                    Tok::Lit(c) => *c,
                    _ => '\0',
                })
                .eq("arn".chars());
        let segments = if is_arn {
            let mut it = segs.into_iter().map(Pattern::from_tokens);
            match (
                it.next(),
                it.next(),
                it.next(),
                it.next(),
                it.next(),
                it.next(),
            ) {
                (Some(a), Some(b), Some(c), Some(d), Some(e), Some(f)) => {
                    Some(Box::new([a, b, c, d, e, f]))
                }
                _ => None,
            }
        } else {
            None
        };
        ArnPattern { whole, segments }
    }

    /// True when `arn` matches.
    pub fn matches(&self, arn: &str) -> bool {
        if let Pattern::Any = self.whole {
            return true;
        }
        if let Some(lit) = self.whole.literal() {
            return lit == arn;
        }
        match &self.segments {
            Some(segs) => {
                let mut parts = arn.splitn(6, ':');
                segs.iter().all(|p| match parts.next() {
                    Some(s) => p.matches(s),
                    None => false,
                })
            }
            None => self.whole.matches(arn),
        }
    }
}

/// The fields of an ARN string (`arn:partition:service:region:account:resource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// Partition, e.g. `aws`.
    pub partition: &'a str,
    /// Service, e.g. `iam`.
    pub service: &'a str,
    /// Region (empty for global services).
    pub region: &'a str,
    /// Account id (empty for S3 buckets and objects).
    pub account: &'a str,
    /// The resource part (may contain `:` and `/`).
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits an ARN; `None` when it is not one.
    pub fn parse(s: &'a str) -> Option<Arn<'a>> {
        let mut it = s.splitn(6, ':');
        if it.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: it.next()?,
            service: it.next()?,
            region: it.next()?,
            account: it.next()?,
            resource: it.next()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_do_not_bleed() {
        let p = ArnPattern::new("arn:aws:s3:::bucket/*");
        assert!(p.matches("arn:aws:s3:::bucket/a/b:c"));
        assert!(!p.matches("arn:aws:s3:::bucket2/a"));
        let p = ArnPattern::new("arn:aws:iam::*:role/x");
        assert!(p.matches("arn:aws:iam::123456789012:role/x"));
        assert!(!p.matches("arn:aws:iam::1:2:role/x"));
        let p = ArnPattern::new("arn:aws:*");
        assert!(p.matches("arn:aws:s3:::b"));
        assert!(ArnPattern::new("*").matches("*"));
        assert!(!ArnPattern::new("arn:aws:s3:::*").matches("*"));
        let p = ArnPattern::new("arn:aws:ec2:*:*:instance/i-?");
        assert!(p.matches("arn:aws:ec2:us-east-1:1:instance/i-1"));
        assert!(!p.matches("arn:aws:ec2:us-east-1:1:instance/i-12"));
        assert_eq!(Arn::parse("arn:aws:s3:::b").map(|a| a.resource), Some("b"));
    }
}
