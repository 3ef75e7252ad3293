//! ARN patterns: the six colon-separated segments are matched one by one (case-sensitive, with
//! `*` and `?`), so a wildcard never spans from one segment into another.

use crate::wildcard::{glob_tokens, Pattern, Tok};

/// A compiled ARN pattern (used by Resource elements and the `Arn*` condition operators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnPattern {
    whole: Pattern,
    /// The colon-separated segments (at most six) and whether each ends with `*` (such a
    /// wildcard may expand across the following colons, as AWS documents).
    segments: Option<Box<[(Pattern, bool)]>>,
    /// The literal text every matching ARN starts with (the pattern up to its first wildcard):
    /// a cheap test that rejects most non-matching ARNs before segment matching.
    prefix: Box<str>,
    /// True when matching is exactly `text.starts_with(prefix)`: a Resource pattern whose only
    /// wildcard is one trailing `*` (that `*` ends the last segment, so it may span colons).
    starts_with: bool,
}

impl ArnPattern {
    /// Compiles a Resource-element pattern: a `*` ending a segment may expand across colons.
    pub fn new(text: &str) -> ArnPattern {
        ArnPattern::from_tokens(Self::tokens(text), true)
    }

    /// Compiles an `Arn*` condition pattern: each of the six segments is matched separately.
    pub fn strict(text: &str) -> ArnPattern {
        ArnPattern::from_tokens(Self::tokens(text), false)
    }

    fn tokens(text: &str) -> impl Iterator<Item = Tok> + '_ {
        text.chars().map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        })
    }

    /// Compiles a pattern from tokens (after policy-variable substitution); `expand` lets a
    /// segment-ending `*` cross colons (Resource elements), else segments are strict.
    pub fn from_tokens(toks: impl IntoIterator<Item = Tok>, expand: bool) -> ArnPattern {
        let toks: Vec<Tok> = toks.into_iter().collect();
        let whole = Pattern::from_tokens(toks.iter().cloned());
        let prefix: String = toks
            .iter()
            .map_while(|t| match t {
                Tok::Lit(c) => Some(*c),
                _ => None,
            })
            .collect();
        let starts_with = expand && matches!(whole, Pattern::Prefix(_));
        let mut segs: Vec<Vec<Tok>> = vec![Vec::new()];
        for t in &toks {
            if *t == Tok::Lit(':') && segs.len() < 6 {
                segs.push(Vec::new());
            } else if let Some(last) = segs.last_mut() {
                last.push(t.clone());
            }
        }
        let is_arn = segs.len() >= 2
            && segs.first().is_some_and(|s| {
                s.iter()
                    .map(|t| match t {
                        Tok::Lit(c) => *c,
                        _ => '\0',
                    })
                    .eq("arn".chars())
            });
        let segments = is_arn.then(|| {
            segs.into_iter()
                .map(|s| {
                    let star = expand && s.last() == Some(&Tok::Star);
                    (Pattern::from_tokens(s), star)
                })
                .collect::<Vec<_>>()
                .into_boxed_slice()
        });
        ArnPattern {
            whole,
            segments,
            prefix: prefix.into_boxed_str(),
            starts_with,
        }
    }

    /// The literal text every matching ARN starts with (empty when the pattern starts with a
    /// wildcard).
    pub fn literal_prefix(&self) -> &str {
        &self.prefix
    }

    /// True when `arn` matches.
    pub fn matches(&self, arn: &str) -> bool {
        if let Pattern::Any = self.whole {
            return true;
        }
        if let Some(lit) = self.whole.literal() {
            return lit == arn;
        }
        if !arn.starts_with(&*self.prefix) {
            return false;
        }
        if self.starts_with {
            return true;
        }
        match &self.segments {
            Some(segs) => match_segments(segs, arn, 0),
            None => self.whole.matches(arn),
        }
    }
}

/// Matches segment patterns against the text: each segment ends at a colon; one ending in `*`
/// may end at any later colon; the last segment takes the rest of the text.
fn match_segments(segs: &[(Pattern, bool)], text: &str, depth: usize) -> bool {
    let Some(((pat, star), rest)) = segs.split_first() else {
        return text.is_empty();
    };
    if rest.is_empty() {
        // The sixth segment takes the rest; an earlier last segment only does when it may expand.
        return (*star || depth >= 5 || !text.contains(':')) && pat.matches(text);
    }
    let mut from = 0;
    while let Some(off) = text[from..].find(':') {
        let c = from + off;
        if pat.matches(&text[..c]) && match_segments(rest, &text[c + 1..], depth + 1) {
            return true;
        }
        if !star {
            return false;
        }
        from = c + 1;
    }
    false
}

/// Matches `text` against pattern tokens with the same rules as [`ArnPattern`], without
/// compiling (used after policy-variable substitution).
pub fn match_tokens(toks: &[Tok], text: &str, expand: bool) -> bool {
    let is_arn = toks.starts_with(&[Tok::Lit('a'), Tok::Lit('r'), Tok::Lit('n'), Tok::Lit(':')]);
    if !is_arn {
        return glob_tokens(toks, text);
    }
    seg_tokens(toks, text, expand, 0)
}

fn seg_tokens(toks: &[Tok], text: &str, expand: bool, depth: usize) -> bool {
    let split = if depth < 5 {
        toks.iter()
            .position(|t| *t == Tok::Lit(':'))
            .and_then(|e| Some((toks.get(..e)?, toks.get(e + 1..)?)))
    } else {
        None
    };
    let Some((seg, rest)) = split else {
        let star = expand && toks.last() == Some(&Tok::Star);
        return (star || depth >= 5 || !text.contains(':')) && glob_tokens(toks, text);
    };
    let star = expand && seg.last() == Some(&Tok::Star);
    for (c, _) in text.match_indices(':') {
        let (head, tail) = (&text[..c], &text[c + 1..]);
        if glob_tokens(seg, head) && seg_tokens(rest, tail, expand, depth + 1) {
            return true;
        }
        if !star {
            return false;
        }
    }
    false
}

/// Matches `text` against a pattern string in which `*` and `?` are wildcards (a Resource or
/// `Arn*` value after policy-variable substitution whose substituted text holds no `*` / `?`),
/// with the same rules as [`match_tokens`]. Both strings must be ASCII (`?` is one byte).
pub fn match_pattern_str(pat: &str, text: &str, expand: bool) -> bool {
    debug_assert!(pat.is_ascii() && text.is_ascii());
    let (p, t) = (pat.as_bytes(), text.as_bytes());
    // A single trailing `*` that ends the last segment: a prefix test.
    if expand {
        if let Some((b'*', lit)) = p.split_last() {
            if !lit.iter().any(|b| *b == b'*' || *b == b'?') {
                return t.starts_with(lit);
            }
        }
    }
    if !p.starts_with(b"arn:") {
        return glob_bytes(p, t);
    }
    seg_bytes(p, t, expand, 0)
}

fn seg_bytes(pat: &[u8], text: &[u8], expand: bool, depth: usize) -> bool {
    let split = if depth < 5 {
        pat.iter()
            .position(|b| *b == b':')
            .and_then(|e| Some((pat.get(..e)?, pat.get(e + 1..)?)))
    } else {
        None
    };
    let Some((seg, rest)) = split else {
        let star = expand && pat.last() == Some(&b'*');
        return (star || depth >= 5 || !text.contains(&b':')) && glob_bytes(pat, text);
    };
    let star = expand && seg.last() == Some(&b'*');
    let colons = text.iter().enumerate().filter(|(_, b)| **b == b':');
    for (c, _) in colons {
        let (Some(head), Some(tail)) = (text.get(..c), text.get(c + 1..)) else {
            return false;
        };
        if glob_bytes(seg, head) && seg_bytes(rest, tail, expand, depth + 1) {
            return true;
        }
        if !star {
            return false;
        }
    }
    false
}

/// Byte-level glob (`*` any run, `?` one byte) with single-star backtracking.
fn glob_bytes(pat: &[u8], text: &[u8]) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star_p, mut star_t) = (usize::MAX, 0usize);
    while let Some(&tc) = text.get(ti) {
        match pat.get(pi) {
            Some(b'*') => {
                star_p = pi;
                star_t = ti;
                pi += 1;
            }
            Some(b'?') => {
                pi += 1;
                ti += 1;
            }
            Some(c) if *c == tc => {
                pi += 1;
                ti += 1;
            }
            _ => {
                if star_p == usize::MAX {
                    return false;
                }
                pi = star_p + 1;
                star_t += 1;
                ti = star_t;
            }
        }
    }
    pat.get(pi..).unwrap_or_default().iter().all(|b| *b == b'*')
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
        let p = ArnPattern::new("arn:aws:*");
        assert!(p.matches("arn:aws:s3:::b"));
        assert!(ArnPattern::new("*").matches("*"));
        for (pat, text) in [
            ("arn:aws:sqs:us-east-1:*", "arn:aws:sqs:us-east-1:1:q"),
            ("arn:aws:s3:::b/*", "arn:aws:s3:::b/x:y"),
            ("arn:aws:iam::*:role/x", "arn:aws:iam::1:2:role/x"),
            ("arn:aws:s3:::b/*", "arn:aws:s3:::c/x"),
            ("arn:aws:s?:::b", "arn:aws:s3:::b"),
        ] {
            let toks: Vec<Tok> = ArnPattern::tokens(pat).collect();
            for expand in [true, false] {
                let p = ArnPattern::from_tokens(toks.clone(), expand);
                assert_eq!(
                    p.matches(text),
                    match_tokens(&toks, text, expand),
                    "{pat} {text}"
                );
                assert_eq!(
                    p.matches(text),
                    match_pattern_str(pat, text, expand),
                    "{pat} {text}"
                );
            }
        }
        assert!(!ArnPattern::new("arn:aws:s3:::*").matches("*"));
        let p = ArnPattern::new("arn:aws:sqs:us-east-1:*");
        assert!(p.matches("arn:aws:sqs:us-east-1:111122223333:queue1"));
        let p = ArnPattern::new("arn:aws:iam::1*2:user/x");
        assert!(!p.matches("arn:aws:iam::1:2:user/x"));
        let p = ArnPattern::new("arn:aws:ec2:*:*:instance/i-?");
        assert!(p.matches("arn:aws:ec2:us-east-1:1:instance/i-1"));
        assert!(!p.matches("arn:aws:ec2:us-east-1:1:instance/i-12"));
        assert_eq!(Arn::parse("arn:aws:s3:::b").map(|a| a.resource), Some("b"));
    }
}
