//! Policy variables (`${aws:username}`, `${*}`, `${?}`, `${$}`, `${key, 'default'}`) in Resource
//! and Condition values: parsed once, substituted per request.

use crate::context::Context;
use crate::wildcard::Tok;

/// One piece of a value containing policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Plain policy text (its `*` and `?` keep their wildcard meaning).
    Text(String),
    /// A character written as `${*}`, `${?}` or `${$}`: always literal.
    Char(char),
    /// A variable: lowercased context key and optional default text.
    Var {
        /// The context key, lowercased.
        key: String,
        /// The default used when the key is absent or multi-valued.
        default: Option<String>,
    },
}

/// A value with at least one `${...}` substitution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
    /// The literal policy text before the first variable or wildcard: every match starts with it.
    prefix: Box<str>,
    /// True when the policy text's only wildcard is one `*` ending the template, so a
    /// substituted value without wildcards matches as a prefix.
    trailing_star: bool,
}

impl Template {
    /// Parses `text`; `None` when it contains no well-formed variable.
    pub fn parse(text: &str) -> Option<Template> {
        if !text.contains("${") {
            return None;
        }
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        let mut any = false;
        while let Some(pos) = rest.find("${") {
            lit.push_str(&rest[..pos]);
            let after = &rest[pos + 2..];
            match parse_var(after) {
                Some((part, used)) => {
                    if !lit.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut lit)));
                    }
                    parts.push(part);
                    any = true;
                    rest = &after[used..];
                }
                None => {
                    lit.push_str("${");
                    rest = after;
                }
            }
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Text(lit));
        }
        if any {
            let prefix: String = match parts.first() {
                Some(Part::Text(t)) => t.chars().take_while(|c| *c != '*' && *c != '?').collect(),
                _ => String::new(),
            };
            let wildcards: usize = parts
                .iter()
                .map(|p| match p {
                    Part::Text(t) => t.chars().filter(|c| *c == '*' || *c == '?').count(),
                    _ => 0,
                })
                .sum();
            let trailing_star =
                wildcards == 1 && matches!(parts.last(), Some(Part::Text(t)) if t.ends_with('*'));
            Some(Template {
                parts,
                prefix: prefix.into_boxed_str(),
                trailing_star,
            })
        } else {
            None
        }
    }

    /// The context keys the template reads.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var { key, .. } => Some(key.as_str()),
            _ => None,
        })
    }

    /// The literal text every substituted value starts with (policy text before the first
    /// variable or wildcard).
    pub fn literal_prefix(&self) -> &str {
        &self.prefix
    }

    /// True when the policy text's only wildcard is one trailing `*` (see
    /// [`Template::resolve_pattern_into`]: the substituted text minus that `*` is then a prefix).
    pub fn trailing_star(&self) -> bool {
        self.trailing_star
    }

    /// The first variable that cannot be resolved (what the substituting functions report).
    pub fn first_unresolved(&self, ctx: &Context) -> Option<&str> {
        self.parts.iter().find_map(|p| match p {
            Part::Var { key, default } => Self::value(key, default, ctx)
                .is_none()
                .then_some(key.as_str()),
            _ => None,
        })
    }

    /// Substitutes into `out` as a pattern string (policy `*` / `?` stay wildcards). Returns
    /// `Ok(false)` as soon as a substituted value or a `${*}` / `${?}` would put a literal `*`
    /// or `?` into the text (the caller then uses [`Template::resolve_tokens_into`]);
    /// `Err(key)` names an unresolved variable.
    pub fn resolve_pattern_into(&self, ctx: &Context, out: &mut String) -> Result<bool, String> {
        let wild = |s: &str| s.bytes().any(|b| b == b'*' || b == b'?');
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Char('*' | '?') => return Ok(false),
                Part::Char(c) => out.push(*c),
                Part::Var { key, default } => match Self::value(key, default, ctx) {
                    Some(v) if wild(v) => return Ok(false),
                    Some(v) => out.push_str(v),
                    None => return Err(key.clone()),
                },
            }
        }
        Ok(true)
    }

    fn value<'a>(key: &str, default: &'a Option<String>, ctx: &'a Context) -> Option<&'a str> {
        ctx.get_lower(key)
            .and_then(|v| v.as_variable())
            .or(default.as_deref())
    }

    /// Substitutes into plain text (wildcards in policy text stay as `*`/`?` characters);
    /// `Err(key)` names a variable that could not be resolved.
    pub fn resolve_text(&self, ctx: &Context) -> Result<String, String> {
        let mut out = String::new();
        self.resolve_text_into(ctx, &mut out)?;
        Ok(out)
    }

    /// Substitutes into plain text appended to `out`; `Err(key)` names an unresolved variable.
    pub fn resolve_text_into(&self, ctx: &Context, out: &mut String) -> Result<(), String> {
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Char(c) => out.push(*c),
                Part::Var { key, default } => match Self::value(key, default, ctx) {
                    Some(v) => out.push_str(v),
                    None => return Err(key.clone()),
                },
            }
        }
        Ok(())
    }

    /// Substitutes into wildcard tokens: substituted text and `${*}` are literal characters.
    pub fn resolve_tokens(&self, ctx: &Context, fold: bool) -> Result<Vec<Tok>, String> {
        let mut out = Vec::new();
        self.resolve_tokens_into(ctx, fold, &mut out)?;
        Ok(out)
    }

    /// Like [`Template::resolve_tokens`], appending to a reused buffer.
    pub fn resolve_tokens_into(
        &self,
        ctx: &Context,
        fold: bool,
        out: &mut Vec<Tok>,
    ) -> Result<(), String> {
        let push_lit = |out: &mut Vec<Tok>, s: &str| {
            for c in s.chars() {
                if fold {
                    out.extend(c.to_lowercase().map(Tok::Lit));
                } else {
                    out.push(Tok::Lit(c));
                }
            }
        };
        for p in &self.parts {
            match p {
                Part::Text(t) => {
                    for c in t.chars() {
                        match c {
                            '*' => out.push(Tok::Star),
                            '?' => out.push(Tok::One),
                            c if fold => out.extend(c.to_lowercase().map(Tok::Lit)),
                            c => out.push(Tok::Lit(c)),
                        }
                    }
                }
                Part::Char(c) => out.push(Tok::Lit(*c)),
                Part::Var { key, default } => match Self::value(key, default, ctx) {
                    Some(v) => push_lit(out, v),
                    None => return Err(key.clone()),
                },
            }
        }
        Ok(())
    }
}

/// Parses what follows `${` up to the closing `}`; returns the part and the bytes used.
fn parse_var(s: &str) -> Option<(Part, usize)> {
    let end_name = s.find(['}', ','])?;
    let name = s[..end_name].trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    if s.as_bytes().get(end_name) == Some(&b'}') {
        let part = match name {
            "*" => Part::Char('*'),
            "?" => Part::Char('?'),
            "$" => Part::Char('$'),
            _ => Part::Var {
                key: name.to_ascii_lowercase(),
                default: None,
            },
        };
        return Some((part, end_name + 1));
    }
    // `${key, 'default'}`: a single-quoted default where `''` is one quote.
    let after = &s[end_name + 1..];
    let trimmed = after.trim_start();
    let mut i = after.len() - trimmed.len();
    let bytes = after.as_bytes();
    if bytes.get(i) != Some(&b'\'') {
        return None;
    }
    i += 1;
    let mut default = String::new();
    loop {
        let c = after[i..].chars().next()?;
        if c == '\'' {
            if after[i + 1..].starts_with('\'') {
                default.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            break;
        }
        default.push(c);
        i += c.len_utf8();
    }
    let tail = &after[i..];
    let t2 = tail.trim_start();
    if !t2.starts_with('}') {
        return None;
    }
    let used = end_name + 1 + i + (tail.len() - t2.len()) + 1;
    Some((
        Part::Var {
            key: name.to_ascii_lowercase(),
            default: Some(default),
        },
        used,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_resolves() {
        let mut ctx = Context::new();
        ctx.set("aws:username", "bob");
        let t = Template::parse("home/${aws:UserName}/*").unwrap();
        assert_eq!(t.resolve_text(&ctx).unwrap(), "home/bob/*");
        let t = Template::parse("a${*}b${?}${$}").unwrap();
        assert_eq!(t.resolve_text(&ctx).unwrap(), "a*b?$");
        let t = Template::parse("${aws:PrincipalTag/team, 'it''s'}").unwrap();
        assert_eq!(t.resolve_text(&ctx).unwrap(), "it's");
        assert!(Template::parse("plain").is_none());
        assert!(Template::parse("${unterminated").is_none());
        let t = Template::parse("${aws:missing}").unwrap();
        assert_eq!(t.resolve_text(&ctx), Err("aws:missing".to_string()));
        let toks = Template::parse("${*}x*")
            .unwrap()
            .resolve_tokens(&ctx, false)
            .unwrap();
        assert_eq!(toks, vec![Tok::Lit('*'), Tok::Lit('x'), Tok::Star]);
    }
}
