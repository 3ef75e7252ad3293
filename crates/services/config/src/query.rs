//! Config's SQL subset for advanced queries (`SelectResourceConfig`), parsed by hand:
//!
//! ```text
//! SELECT property [, ...] | * | COUNT(*) [ WHERE condition ] [ GROUP BY property ]
//!     [ ORDER BY property [ ASC | DESC ] [, ...] ]
//! condition: NOT c | c AND c | c OR c | ( c ) | property op value
//!     | property [NOT] IN (value, ...) | property BETWEEN value AND value
//!     | property [NOT] LIKE 'prefix%'
//! op: = | != | <> | < | <= | > | >=
//! ```
//!
//! Properties are dotted paths (`configuration.versioningConfiguration.status`), keywords are
//! case-insensitive, strings are single-quoted (`''` is a quote), numbers are decimal. A
//! general SQL crate would accept far more than Config does (joins, `FROM`, functions) and
//! would have to be narrowed back; this grammar is small enough to read in one sitting.

/// A parse failure, with what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

/// A literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A quoted string.
    Text(String),
    /// A number.
    Number(f64),
    /// `true` / `false`.
    Bool(bool),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A `WHERE` condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// `a AND b`
    And(Box<Cond>, Box<Cond>),
    /// `a OR b`
    Or(Box<Cond>, Box<Cond>),
    /// `NOT a`
    Not(Box<Cond>),
    /// `property op value`
    Compare(String, Cmp, Literal),
    /// `property IN (values)`
    In(String, Vec<Literal>),
    /// `property BETWEEN low AND high`
    Between(String, Literal, Literal),
    /// `property LIKE 'prefix%'` (the prefix; a pattern without `%` matches exactly)
    Like(String, String, bool),
}

/// What a query selects.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// A property path.
    Property(String),
    /// `COUNT(*)`.
    Count,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The selected fields (`*` selects every property of the item).
    pub fields: Vec<Field>,
    /// True for `SELECT *`.
    pub star: bool,
    /// The `WHERE` condition.
    pub filter: Option<Cond>,
    /// The `GROUP BY` property.
    pub group_by: Option<String>,
    /// `ORDER BY` properties, each with true for descending.
    pub order_by: Vec<(String, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Text(String),
    Number(f64),
    Op(&'static str),
    Star,
    Comma,
    Open,
    Close,
}

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

fn tokens(src: &str) -> Result<Vec<Tok>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (Some('\''), Some('\'')) => {
                        s.push('\'');
                        i += 2;
                    }
                    (Some('\''), _) => {
                        i += 1;
                        break;
                    }
                    (Some(ch), _) => {
                        s.push(*ch);
                        i += 1;
                    }
                    (None, _) => return err("unterminated string"),
                }
            }
            out.push(Tok::Text(s));
        } else if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) {
            let start = i;
            i += 1;
            while chars
                .get(i)
                .is_some_and(|ch| ch.is_ascii_digit() || *ch == '.')
            {
                i += 1;
            }
            let text: String = chars.get(start..i).unwrap_or_default().iter().collect();
            match text.parse::<f64>() {
                Ok(n) if n.is_finite() => out.push(Tok::Number(n)),
                _ => return err(format!("bad number {text}")),
            }
        } else if c.is_alphabetic() || c == '_' || c == '"' || c == '`' {
            let mut s = String::new();
            while let Some(&ch) = chars.get(i) {
                if ch.is_alphanumeric() || ch == '_' || ch == '.' || ch == ':' || ch == '-' {
                    s.push(ch);
                    i += 1;
                } else if ch == '"' || ch == '`' {
                    // A quoted name part (`configuration."key"`): taken as written.
                    i += 1;
                    while let Some(&q) = chars.get(i) {
                        i += 1;
                        if q == ch {
                            break;
                        }
                        s.push(q);
                    }
                } else {
                    break;
                }
            }
            out.push(Tok::Word(s));
        } else {
            let (tok, len) = match (c, next) {
                ('!', Some('=')) | ('<', Some('>')) => (Tok::Op("!="), 2),
                ('<', Some('=')) => (Tok::Op("<="), 2),
                ('>', Some('=')) => (Tok::Op(">="), 2),
                ('=', _) => (Tok::Op("="), 1),
                ('<', _) => (Tok::Op("<"), 1),
                ('>', _) => (Tok::Op(">"), 1),
                ('*', _) => (Tok::Star, 1),
                (',', _) => (Tok::Comma, 1),
                ('(', _) => (Tok::Open, 1),
                (')', _) => (Tok::Close, 1),
                _ => return err(format!("unexpected character '{c}'")),
            };
            out.push(tok);
            i += len;
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

/// Words that cannot be property names.
const KEYWORDS: &[&str] = &[
    "SELECT", "WHERE", "AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "GROUP", "BY", "ORDER", "ASC",
    "DESC", "COUNT", "FROM",
];

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    fn eat_keyword(&mut self, k: &str) -> bool {
        let yes = self.keyword(k);
        if yes {
            self.at += 1;
        }
        yes
    }

    fn expect_keyword(&mut self, k: &str) -> Result<(), ParseError> {
        if self.eat_keyword(k) {
            Ok(())
        } else {
            err(format!("expected {k}"))
        }
    }

    fn expect(&mut self, t: &Tok) -> Result<(), ParseError> {
        if self.peek() == Some(t) {
            self.at += 1;
            Ok(())
        } else {
            err(format!("expected {t:?}"))
        }
    }

    fn property(&mut self) -> Result<String, ParseError> {
        match self.bump() {
            Some(Tok::Word(w))
                if !KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k))
                    && !w.starts_with('.')
                    && !w.ends_with('.')
                    && !w.contains("..") =>
            {
                Ok(w)
            }
            other => err(format!("expected a property, found {other:?}")),
        }
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        match self.bump() {
            Some(Tok::Text(s)) => Ok(Literal::Text(s)),
            Some(Tok::Number(n)) => Ok(Literal::Number(n)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Ok(Literal::Bool(false)),
            other => err(format!("expected a value, found {other:?}")),
        }
    }

    fn or(&mut self, depth: usize) -> Result<Cond, ParseError> {
        let mut left = self.and(depth)?;
        while self.eat_keyword("OR") {
            let right = self.and(depth)?;
            left = Cond::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Cond, ParseError> {
        let mut left = self.unary(depth)?;
        while self.eat_keyword("AND") {
            let right = self.unary(depth)?;
            left = Cond::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Cond, ParseError> {
        if depth > 32 {
            return err("the condition nests too deeply");
        }
        if self.eat_keyword("NOT") {
            return Ok(Cond::Not(Box::new(self.unary(depth + 1)?)));
        }
        if self.peek() == Some(&Tok::Open) {
            self.at += 1;
            let c = self.or(depth + 1)?;
            self.expect(&Tok::Close)?;
            return Ok(c);
        }
        let prop = self.property()?;
        let negated = self.eat_keyword("NOT");
        let cond = if self.eat_keyword("IN") {
            self.expect(&Tok::Open)?;
            let mut values = vec![self.literal()?];
            while self.peek() == Some(&Tok::Comma) {
                self.at += 1;
                values.push(self.literal()?);
            }
            self.expect(&Tok::Close)?;
            Cond::In(prop, values)
        } else if self.eat_keyword("BETWEEN") {
            let low = self.literal()?;
            self.expect_keyword("AND")?;
            let high = self.literal()?;
            Cond::Between(prop, low, high)
        } else if self.eat_keyword("LIKE") {
            let Literal::Text(pattern) = self.literal()? else {
                return err("LIKE takes a string");
            };
            match pattern.find('%') {
                None => Cond::Like(prop, pattern, false),
                Some(i) if i + 1 == pattern.len() => {
                    Cond::Like(prop, pattern.get(..i).unwrap_or_default().to_string(), true)
                }
                Some(_) => return err("LIKE takes only a trailing wildcard"),
            }
        } else if negated {
            return err("NOT must be followed by IN, BETWEEN or LIKE here");
        } else {
            let op = match self.bump() {
                Some(Tok::Op("=")) => Cmp::Eq,
                Some(Tok::Op("!=")) => Cmp::Ne,
                Some(Tok::Op("<")) => Cmp::Lt,
                Some(Tok::Op("<=")) => Cmp::Le,
                Some(Tok::Op(">")) => Cmp::Gt,
                Some(Tok::Op(">=")) => Cmp::Ge,
                other => return err(format!("expected a comparison, found {other:?}")),
            };
            Cond::Compare(prop, op, self.literal()?)
        };
        Ok(if negated {
            Cond::Not(Box::new(cond))
        } else {
            cond
        })
    }
}

/// Parses a query.
pub fn parse(src: &str) -> Result<Query, ParseError> {
    let mut p = Parser {
        toks: tokens(src)?,
        at: 0,
    };
    p.expect_keyword("SELECT")?;
    let mut fields = Vec::new();
    let mut star = false;
    loop {
        if p.peek() == Some(&Tok::Star) {
            p.at += 1;
            star = true;
        } else if p.eat_keyword("COUNT") {
            p.expect(&Tok::Open)?;
            p.expect(&Tok::Star)?;
            p.expect(&Tok::Close)?;
            fields.push(Field::Count);
        } else {
            fields.push(Field::Property(p.property()?));
        }
        if p.peek() == Some(&Tok::Comma) {
            p.at += 1;
        } else {
            break;
        }
    }
    if star && !fields.is_empty() {
        return err("* cannot be combined with other fields");
    }
    let filter = if p.eat_keyword("WHERE") {
        Some(p.or(0)?)
    } else {
        None
    };
    let mut group_by = None;
    if p.eat_keyword("GROUP") {
        p.expect_keyword("BY")?;
        group_by = Some(p.property()?);
    }
    let mut order_by = Vec::new();
    if p.eat_keyword("ORDER") {
        p.expect_keyword("BY")?;
        loop {
            let prop = match p.peek() {
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("COUNT") => {
                    p.at += 1;
                    p.expect(&Tok::Open)?;
                    p.expect(&Tok::Star)?;
                    p.expect(&Tok::Close)?;
                    "COUNT(*)".to_string()
                }
                _ => p.property()?,
            };
            let desc = if p.eat_keyword("DESC") {
                true
            } else {
                p.eat_keyword("ASC");
                false
            };
            order_by.push((prop, desc));
            if p.peek() == Some(&Tok::Comma) {
                p.at += 1;
            } else {
                break;
            }
        }
    }
    if let Some(t) = p.peek() {
        return err(format!("unexpected {t:?}"));
    }
    let counts = fields.contains(&Field::Count);
    if counts || group_by.is_some() {
        // Aggregation: every plain field must be the grouped property.
        let plain_ok = fields.iter().all(|f| match f {
            Field::Count => true,
            Field::Property(p) => group_by.as_deref() == Some(p.as_str()),
        });
        if star || !plain_ok || !counts {
            return err("an aggregation selects COUNT(*) and the GROUP BY property only");
        }
    }
    Ok(Query {
        fields,
        star,
        filter,
        group_by,
        order_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_selects_with_conditions() {
        let q = parse(
            "select resourceId, configuration.name WHERE resourceType = 'AWS::S3::Bucket' \
             AND NOT (configuration.x IN ('a', 'b') OR tags.key LIKE 'env%') ORDER BY resourceId DESC",
        )
        .unwrap();
        assert_eq!(
            q.fields,
            vec![
                Field::Property("resourceId".into()),
                Field::Property("configuration.name".into())
            ]
        );
        assert_eq!(q.order_by, vec![("resourceId".to_string(), true)]);
        let Some(Cond::And(left, right)) = q.filter else {
            panic!("not an AND")
        };
        assert_eq!(
            *left,
            Cond::Compare(
                "resourceType".into(),
                Cmp::Eq,
                Literal::Text("AWS::S3::Bucket".into())
            )
        );
        assert!(matches!(*right, Cond::Not(_)));
    }

    #[test]
    fn parses_counts_and_ranges() {
        let q = parse(
            "SELECT resourceType, COUNT(*) WHERE version BETWEEN 1 AND 3 GROUP BY resourceType",
        )
        .unwrap();
        assert_eq!(q.group_by.as_deref(), Some("resourceType"));
        assert!(parse("SELECT COUNT(*)").is_ok());
        assert!(parse("SELECT * WHERE resourceId != 'x'").is_ok());
    }

    #[test]
    fn refuses_what_config_refuses() {
        for bad in [
            "",
            "SELECT",
            "SELECT resourceId WHERE",
            "SELECT resourceId FROM x",
            "SELECT resourceId WHERE resourceType = ",
            "SELECT resourceId WHERE resourceType LIKE '%x'",
            "SELECT resourceId, COUNT(*)",
            "SELECT *, resourceId",
            "DELETE resourceId",
            "SELECT resourceId WHERE name = 'unterminated",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(src in "\\PC{0,120}") {
            let _ = parse(&src);
        }

        #[test]
        fn never_panics_on_sqlish_text(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("SELECT"), Just("WHERE"), Just("AND"), Just("OR"), Just("NOT"),
                    Just("IN"), Just("BETWEEN"), Just("LIKE"), Just("GROUP"), Just("BY"),
                    Just("ORDER"), Just("COUNT"), Just("("), Just(")"), Just("*"), Just(","),
                    Just("="), Just("<>"), Just(">="), Just("'a%'"), Just("'"), Just("1.5"),
                    Just("-"), Just("resourceId"), Just("configuration.x"), Just("\""),
                ],
                0..24,
            )
        ) {
            let _ = parse(&parts.join(" "));
        }
    }
}
