//! Wildcard patterns (`*` any run of characters, `?` exactly one character), compiled once.

/// One token of a wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A character that must match itself.
    Lit(char),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A compiled wildcard pattern with fast paths for the common shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// `*` alone: matches everything.
    Any,
    /// No wildcard: the text must be equal.
    Exact(String),
    /// Literal text followed by one trailing `*`.
    Prefix(String),
    /// Anything else: matched token by token.
    Glob(Box<[Tok]>),
}

impl Pattern {
    /// Compiles `text`, where `*` and `?` are wildcards; `fold` lowercases for case-insensitive use.
    pub fn new(text: &str, fold: bool) -> Pattern {
        let text = if fold {
            text.to_lowercase()
        } else {
            text.to_string()
        };
        Pattern::from_tokens(text.chars().map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        }))
    }

    /// Compiles a pattern from tokens (used after policy-variable substitution).
    pub fn from_tokens(toks: impl IntoIterator<Item = Tok>) -> Pattern {
        let toks: Vec<Tok> = toks.into_iter().collect();
        if toks == [Tok::Star] {
            return Pattern::Any;
        }
        let stars = toks.iter().filter(|t| **t == Tok::Star).count();
        let ones = toks.iter().filter(|t| **t == Tok::One).count();
        let lit = |ts: &[Tok]| -> String {
            ts.iter()
                .filter_map(|t| match t {
                    Tok::Lit(c) => Some(*c),
                    _ => None,
                })
                .collect()
        };
        if stars == 0 && ones == 0 {
            return Pattern::Exact(lit(&toks));
        }
        if let (1, 0, Some((Tok::Star, head))) = (stars, ones, toks.split_last()) {
            return Pattern::Prefix(lit(head));
        }
        Pattern::Glob(toks.into_boxed_slice())
    }

    /// True when `text` matches (the caller lowercases `text` for a folded pattern).
    pub fn matches(&self, text: &str) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exact(s) => s == text,
            Pattern::Prefix(p) => text.starts_with(p.as_str()),
            Pattern::Glob(toks) => glob(toks, text),
        }
    }

    /// True when the pattern contains no wildcard.
    pub fn literal(&self) -> Option<&str> {
        match self {
            Pattern::Exact(s) => Some(s),
            _ => None,
        }
    }
}

/// Matches `text` against a token slice (used after policy-variable substitution).
pub fn glob_tokens(toks: &[Tok], text: &str) -> bool {
    glob(toks, text)
}

/// Iterative glob match with single-star backtracking (linear in practice, no allocation).
fn glob(toks: &[Tok], text: &str) -> bool {
    // ASCII text is indexed by bytes; other text is decoded into chars once.
    if text.is_ascii() {
        return glob_ascii(toks, text.as_bytes());
    }
    let chars: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star_p, mut star_t) = (usize::MAX, 0usize);
    while let Some(&tc) = chars.get(ti) {
        match toks.get(pi) {
            Some(Tok::Lit(c)) if *c == tc => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::One) => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::Star) => {
                star_p = pi;
                star_t = ti;
                pi += 1;
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
    toks.get(pi..)
        .unwrap_or_default()
        .iter()
        .all(|t| *t == Tok::Star)
}

fn glob_ascii(toks: &[Tok], text: &[u8]) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star_p, mut star_t) = (usize::MAX, 0usize);
    while let Some(&tc) = text.get(ti) {
        match toks.get(pi) {
            Some(Tok::Lit(c)) if (*c as u32) == u32::from(tc) => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::One) => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::Star) => {
                star_p = pi;
                star_t = ti;
                pi += 1;
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
    toks.get(pi..)
        .unwrap_or_default()
        .iter()
        .all(|t| *t == Tok::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_matching() {
        assert_eq!(Pattern::new("*", false), Pattern::Any);
        assert!(Pattern::new("abc", false).matches("abc"));
        assert!(!Pattern::new("abc", false).matches("abd"));
        assert!(Pattern::new("ab*", false).matches("abzzz"));
        assert!(Pattern::new("a*c", false).matches("abbbc"));
        assert!(Pattern::new("a*c", false).matches("ac"));
        assert!(!Pattern::new("a*c", false).matches("acb"));
        assert!(Pattern::new("a?c", false).matches("abc"));
        assert!(!Pattern::new("a?c", false).matches("ac"));
        assert!(Pattern::new("*x*y*", false).matches("axbyc"));
        assert!(Pattern::new("é*", false).matches("éa"));
        assert!(Pattern::new("?é", false).matches("aé"));
        assert!(Pattern::new("DESCRIBE*", true).matches("describeinstances"));
    }
}
