//! A rule's `condition`: the boolean expression over its selections, and the legacy count
//! aggregation after `|`.
//!
//! Grammar (keywords in lower case, as Sigma writes them):
//!
//! ```text
//! condition   := expr [ "|" aggregation ]
//! expr        := term { "or" term }
//! term        := factor { "and" factor }
//! factor      := "not" factor | "(" expr ")" | quantifier | NAME
//! quantifier  := ("1" | "all") "of" (PATTERN | "them")
//! aggregation := "count(" [FIELD] ")" [ "by" FIELD ] (">" | ">=") NUMBER
//! ```
//!
//! `PATTERN` is a selection name with `*` wildcards; `them` is every selection whose name
//! does not start with `_`. Names are resolved when the rule loads: a name or pattern naming
//! no selection is an error. The parser is a hand-written recursive descent: the grammar is
//! a dozen lines, and no published crate parses Sigma's legacy condition syntax.

/// A parsed condition expression over selection names.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A selection.
    Sel(String),
    /// `not`.
    Not(Box<Expr>),
    /// `and`.
    And(Vec<Expr>),
    /// `or`.
    Or(Vec<Expr>),
    /// `1 of ...`: any of these selections.
    Any(Vec<String>),
    /// `all of ...`: every one of these selections.
    All(Vec<String>),
}

impl Expr {
    /// The expression's value, given each selection's.
    pub fn eval(&self, sel: &mut dyn FnMut(&str) -> bool) -> bool {
        match self {
            Expr::Sel(name) => sel(name),
            Expr::Not(e) => !e.eval(sel),
            Expr::And(es) => es.iter().all(|e| e.eval(sel)),
            Expr::Or(es) => es.iter().any(|e| e.eval(sel)),
            Expr::Any(names) => names.iter().any(|n| sel(n)),
            Expr::All(names) => names.iter().all(|n| sel(n)),
        }
    }
}

/// The comparison of a count aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    /// `>`.
    Above,
    /// `>=`.
    AtLeast,
}

/// `count([field]) [by group] > N`.
#[derive(Debug, Clone, PartialEq)]
pub struct Count {
    /// The field whose distinct values are counted (`count(field)`), or every match.
    pub distinct: Option<String>,
    /// The field whose values keep separate counts (`by field`).
    pub by: Option<String>,
    /// `>` or `>=`.
    pub threshold: Threshold,
    /// The bound.
    pub bound: u64,
}

impl Count {
    /// Whether `n` matches in the window pass the bound.
    pub fn passes(&self, n: u64) -> bool {
        match self.threshold {
            Threshold::Above => n > self.bound,
            Threshold::AtLeast => n >= self.bound,
        }
    }
}

/// Largest bound a count may have (windows keep that many times).
pub const MAX_BOUND: u64 = 10_000;
/// Deepest nesting of parentheses and `not`.
const MAX_DEPTH: usize = 64;

/// Parses `text` over the selections `names`.
pub fn parse(text: &str, names: &[String]) -> Result<(Expr, Option<Count>), String> {
    let (expr_text, agg_text) = match text.split_once('|') {
        Some((e, a)) => (e, Some(a)),
        None => (text, None),
    };
    let tokens = tokenize(expr_text)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        names,
    };
    let expr = p.expr(0)?;
    if let Some(t) = p.tokens.get(p.pos) {
        return Err(format!("condition: unexpected `{t}`"));
    }
    let count = agg_text.map(aggregation).transpose()?;
    Ok((expr, count))
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c == '(' || c == ')' || c.is_whitespace() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        } else if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '*') {
            word.push(c);
        } else {
            return Err(format!("condition: unexpected character `{c}`"));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<String>,
    pos: usize,
    names: &'a [String],
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn next(&mut self) -> Option<String> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, String> {
        if depth > MAX_DEPTH {
            return Err(format!("condition: nested deeper than {MAX_DEPTH}"));
        }
        let mut terms = vec![self.term(depth)?];
        while self.peek() == Some("or") {
            self.pos += 1;
            terms.push(self.term(depth)?);
        }
        Ok(one_or(terms, Expr::Or))
    }

    fn term(&mut self, depth: usize) -> Result<Expr, String> {
        let mut factors = vec![self.factor(depth)?];
        while self.peek() == Some("and") {
            self.pos += 1;
            factors.push(self.factor(depth)?);
        }
        Ok(one_or(factors, Expr::And))
    }

    fn factor(&mut self, depth: usize) -> Result<Expr, String> {
        if depth > MAX_DEPTH {
            return Err(format!("condition: nested deeper than {MAX_DEPTH}"));
        }
        let Some(t) = self.next() else {
            return Err("condition: ends where a selection is expected".into());
        };
        match t.as_str() {
            "not" => Ok(Expr::Not(Box::new(self.factor(depth + 1)?))),
            "(" => {
                let e = self.expr(depth + 1)?;
                match self.next().as_deref() {
                    Some(")") => Ok(e),
                    Some(other) => Err(format!("condition: expected `)`, found `{other}`")),
                    None => Err("condition: a `(` is not closed".into()),
                }
            }
            ")" | "and" | "or" | "of" | "them" => Err(format!("condition: unexpected `{t}`")),
            _ if self.peek() == Some("of") => {
                self.pos += 1;
                let target = self
                    .next()
                    .ok_or_else(|| format!("condition: `{t} of` needs a pattern or `them`"))?;
                let names = self.resolve(&target)?;
                match t.as_str() {
                    "1" | "any" => Ok(Expr::Any(names)),
                    "all" => Ok(Expr::All(names)),
                    _ => Err(format!(
                        "condition: `{t} of` is not supported (only `1 of` and `all of`)"
                    )),
                }
            }
            _ if t.contains('*') => Err(format!(
                "condition: `{t}` has a wildcard outside `1 of`/`all of`"
            )),
            _ if self.names.contains(&t) => Ok(Expr::Sel(t)),
            _ => Err(format!("condition: no selection is named `{t}`")),
        }
    }

    /// The selections `target` (a name pattern or `them`) names.
    fn resolve(&self, target: &str) -> Result<Vec<String>, String> {
        if target == "(" || target == ")" {
            return Err("condition: `of` needs a pattern or `them`".into());
        }
        let found: Vec<String> = self
            .names
            .iter()
            .filter(|n| {
                if target == "them" {
                    !n.starts_with('_')
                } else {
                    glob(target, n)
                }
            })
            .cloned()
            .collect();
        if found.is_empty() {
            return Err(format!("condition: `{target}` names no selection"));
        }
        Ok(found)
    }
}

fn one_or(mut items: Vec<Expr>, many: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        if let Some(e) = items.pop() {
            return e;
        }
    }
    many(items)
}

/// Whether `name` matches `pattern`, whose `*` stands for any run of characters.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|i| tail.is_char_boundary(*i))
                .any(|i| tail.get(i..).is_some_and(|t| glob(rest, t)))
        }
    }
}

/// `count([field]) [by group] (> | >=) N`.
fn aggregation(text: &str) -> Result<Count, String> {
    let bad = |why: &str| format!("aggregation `{}`: {why}", text.trim());
    let rest = text
        .trim()
        .strip_prefix("count")
        .ok_or_else(|| bad("only `count()` is supported"))?
        .trim_start();
    let rest = rest.strip_prefix('(').ok_or_else(|| bad("expected `(`"))?;
    let (inner, rest) = rest.split_once(')').ok_or_else(|| bad("expected `)`"))?;
    let field = |s: &str| {
        let s = s.trim();
        (!s.is_empty()
            && s.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .then(|| s.to_string())
    };
    let distinct = match inner.trim() {
        "" => None,
        f => Some(field(f).ok_or_else(|| bad("the counted field is not a field name"))?),
    };
    let mut rest = rest.trim_start();
    let mut by = None;
    if let Some(after) = rest.strip_prefix("by ") {
        let after = after.trim_start();
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '>' | '<' | '=' | '!'))
            .unwrap_or(after.len());
        let (name, tail) = after.split_at(end);
        by = Some(field(name).ok_or_else(|| bad("`by` needs one field name"))?);
        rest = tail.trim_start();
    }
    let (threshold, number) = if let Some(n) = rest.strip_prefix(">=") {
        (Threshold::AtLeast, n)
    } else if let Some(n) = rest.strip_prefix('>') {
        (Threshold::Above, n)
    } else if rest.starts_with('<') || rest.starts_with('=') || rest.starts_with('!') {
        return Err(bad(
            "only `>` and `>=` are supported (a count below a bound fires on every first match)",
        ));
    } else {
        return Err(bad("expected `>` or `>=` and a number"));
    };
    let bound: u64 = number
        .trim()
        .parse()
        .map_err(|_| bad("the bound is not a whole number"))?;
    if bound > MAX_BOUND {
        return Err(bad(&format!("the bound is above {MAX_BOUND}")));
    }
    Ok(Count {
        distinct,
        by,
        threshold,
        bound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names() -> Vec<String> {
        ["selection_a", "selection_b", "filter", "_helper"]
            .map(String::from)
            .to_vec()
    }

    fn expr(text: &str) -> Expr {
        parse(text, &names()).unwrap().0
    }

    fn value(text: &str, on: &[&str]) -> bool {
        expr(text).eval(&mut |n| on.contains(&n))
    }

    #[test]
    fn boolean_operators_bind_as_usual() {
        assert!(value("selection_a and not filter", &["selection_a"]));
        assert!(!value(
            "selection_a and not filter",
            &["selection_a", "filter"]
        ));
        // `and` binds tighter than `or`.
        assert!(value(
            "selection_a or selection_b and filter",
            &["selection_a"]
        ));
        assert!(!value(
            "(selection_a or selection_b) and filter",
            &["selection_a"]
        ));
        assert!(value("not not selection_a", &["selection_a"]));
        assert!(value("not (selection_a or selection_b)", &[]));
    }

    #[test]
    fn quantifiers_resolve_name_patterns() {
        assert_eq!(
            expr("1 of selection*"),
            Expr::Any(vec!["selection_a".into(), "selection_b".into()])
        );
        assert!(value("1 of selection*", &["selection_b"]));
        assert!(!value("all of selection*", &["selection_b"]));
        assert!(value("all of selection*", &["selection_a", "selection_b"]));
        assert_eq!(
            expr("all of them"),
            Expr::All(vec![
                "selection_a".into(),
                "selection_b".into(),
                "filter".into()
            ])
        );
        assert!(value("1 of them and not filter", &["selection_a"]));
        assert!(value("1 of *_b", &["selection_b"]));
    }

    #[test]
    fn aggregations_parse() {
        let (_, count) = parse("selection_a | count() > 4", &names()).unwrap();
        let count = count.unwrap();
        assert_eq!((count.threshold, count.bound), (Threshold::Above, 4));
        assert!(count.passes(5) && !count.passes(4));
        let (_, count) = parse(
            "selection_a | count(eventName) by sourceIPAddress >= 3",
            &names(),
        )
        .unwrap();
        let count = count.unwrap();
        assert_eq!(count.distinct.as_deref(), Some("eventName"));
        assert_eq!(count.by.as_deref(), Some("sourceIPAddress"));
        assert!(count.passes(3));
        let (_, count) = parse("selection_a | count() by userIdentity.arn>2", &names()).unwrap();
        assert_eq!(count.unwrap().by.as_deref(), Some("userIdentity.arn"));
    }

    #[test]
    fn bad_conditions_are_refused_with_the_reason() {
        let err = |t: &str| parse(t, &names()).unwrap_err();
        assert!(err("selection_c").contains("no selection is named `selection_c`"));
        assert!(err("selection_a and").contains("ends where"));
        assert!(err("(selection_a").contains("not closed"));
        assert!(err("selection_a selection_b").contains("unexpected `selection_b`"));
        assert!(err("1 of nothing*").contains("names no selection"));
        assert!(err("2 of them").contains("only `1 of` and `all of`"));
        assert!(err("selection*").contains("wildcard"));
        assert!(err("selection_a | count() < 3").contains("only `>` and `>=`"));
        assert!(err("selection_a | sum(x) > 3").contains("only `count()`"));
        assert!(err("selection_a | count() > lots").contains("whole number"));
        assert!(err("selection_a | near selection_b").contains("only `count()`"));
        assert!(err("selection_a && selection_b").contains("unexpected character"));
        let deep = format!("{}selection_a{}", "(".repeat(200), ")".repeat(200));
        assert!(err(&deep).contains("nested deeper"));
        let nots = format!("{}selection_a", "not ".repeat(200));
        assert!(err(&nots).contains("nested deeper"));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in "[ a-z_*()|0-9<>=.]{0,80}") {
            let _ = parse(&text, &names());
        }

        #[test]
        fn parsing_any_text_never_panics(text in "\\PC{0,120}") {
            let _ = parse(&text, &names());
        }

        #[test]
        fn parsing_token_soup_never_panics(words in proptest::collection::vec(
            prop_oneof![
                Just("and"), Just("or"), Just("not"), Just("("), Just(")"), Just("1"),
                Just("all"), Just("of"), Just("them"), Just("selection*"), Just("selection_a"),
                Just("filter"), Just("|"), Just("count()"), Just("by"), Just(">"), Just("3"),
            ],
            0..30,
        )) {
            let _ = parse(&words.join(" "), &names());
        }
    }
}
