//! The request as WAF sees it, and the request components (`FieldToMatch`) a statement
//! inspects. Multi-valued components (all query arguments, headers, cookies) give every
//! value; a statement matches when any of them does.

use std::net::IpAddr;

/// How much of a body, and of headers or cookies, WAF inspects for a load balancer (AWS:
/// 8 KB, not configurable for an ALB).
pub const INSPECTION_LIMIT: usize = 8 * 1024;

/// The request WAF inspects. Built by the listener from the HTTP request.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The method.
    pub method: String,
    /// The path as sent (not decoded).
    pub uri_path: String,
    /// The query string as sent, without the `?`.
    pub query: String,
    /// Headers as sent, in order (names in their case).
    pub headers: Vec<(String, String)>,
    /// The body's first [`INSPECTION_LIMIT`] bytes.
    pub body: Vec<u8>,
    /// True when the body is longer than what `body` holds.
    pub body_oversize: bool,
    /// The peer's address.
    pub source_ip: Option<IpAddr>,
    /// Its `aws-waf-token` cookie, read by the listener with the token key.
    pub token: super::token::TokenState,
}

impl Request {
    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Host` header's name, without a port, lowercased.
    pub fn host(&self) -> String {
        let host = self.header("host").unwrap_or_default();
        let name = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => host.split(':').next().unwrap_or_default(),
        };
        name.to_ascii_lowercase()
    }

    /// The query arguments, split but not decoded.
    pub fn query_args(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
    }

    /// The cookies of the `Cookie` headers.
    pub fn cookies(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| c.split_once('=').unwrap_or((c, "")))
            .collect()
    }

    fn headers_size(&self) -> usize {
        self.headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum()
    }
}

/// What to do with a component larger than WAF inspects (`OversizeHandling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversize {
    /// Inspect what fits.
    Continue,
    /// The statement matches.
    Match,
    /// The statement does not match.
    NoMatch,
}

impl Oversize {
    /// AWS's `OversizeHandling` (absent: `CONTINUE`).
    pub fn parse(s: Option<&str>) -> Option<Oversize> {
        match s {
            None | Some("CONTINUE") => Some(Oversize::Continue),
            Some("MATCH") => Some(Oversize::Match),
            Some("NO_MATCH") => Some(Oversize::NoMatch),
            _ => None,
        }
    }
}

/// Which keys of headers or cookies are inspected (`MatchPattern`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPattern {
    /// `All`.
    All,
    /// `IncludedHeaders`/`IncludedCookies`.
    Included(Vec<String>),
    /// `ExcludedHeaders`/`ExcludedCookies`.
    Excluded(Vec<String>),
}

impl KeyPattern {
    fn admits(&self, key: &str, fold: bool) -> bool {
        let eq = |k: &String| {
            if fold {
                k.eq_ignore_ascii_case(key)
            } else {
                k == key
            }
        };
        match self {
            KeyPattern::All => true,
            KeyPattern::Included(l) => l.iter().any(eq),
            KeyPattern::Excluded(l) => !l.iter().any(eq),
        }
    }
}

/// Which part of each header or cookie is inspected (`MatchScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Keys and values (a match in either).
    All,
    /// Keys.
    Key,
    /// Values.
    Value,
}

/// A request component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// `UriPath`.
    UriPath,
    /// `QueryString`.
    QueryString,
    /// `Method`.
    Method,
    /// `SingleQueryArgument` (name case-insensitive).
    SingleQueryArgument(String),
    /// `AllQueryArguments`: every argument's value.
    AllQueryArguments,
    /// `SingleHeader` (name case-insensitive).
    SingleHeader(String),
    /// `Headers`.
    Headers(KeyPattern, Scope, Oversize),
    /// `Cookies` (names case-sensitive).
    Cookies(KeyPattern, Scope, Oversize),
    /// `Body`.
    Body(Oversize),
    /// `JsonBody`.
    JsonBody(Box<super::json_body::JsonSpec>),
}

/// What a component gives a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inspected {
    /// The values to inspect (the statement matches when one matches).
    Values(Vec<Vec<u8>>),
    /// The component is oversize and its handling decides: matched or not.
    Decided(bool),
}

fn pairs(list: Vec<(&str, &str)>, pattern: &KeyPattern, scope: Scope, fold: bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (k, v) in list {
        if !pattern.admits(k, fold) {
            continue;
        }
        if matches!(scope, Scope::All | Scope::Key) {
            out.push(k.as_bytes().to_vec());
        }
        if matches!(scope, Scope::All | Scope::Value) {
            out.push(v.as_bytes().to_vec());
        }
    }
    out
}

impl Field {
    /// The component's values in `req`.
    pub fn inspect(&self, req: &Request) -> Inspected {
        let one = |v: &str| Inspected::Values(vec![v.as_bytes().to_vec()]);
        match self {
            Field::UriPath => one(&req.uri_path),
            Field::QueryString => one(&req.query),
            Field::Method => one(&req.method),
            Field::SingleQueryArgument(name) => Inspected::Values(
                req.query_args()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.as_bytes().to_vec())
                    .collect(),
            ),
            Field::AllQueryArguments => Inspected::Values(
                req.query_args()
                    .map(|(_, v)| v.as_bytes().to_vec())
                    .collect(),
            ),
            Field::SingleHeader(name) => Inspected::Values(
                req.headers
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.as_bytes().to_vec())
                    .collect(),
            ),
            Field::Headers(pattern, scope, oversize) => {
                if req.headers_size() > INSPECTION_LIMIT || req.headers.len() > 200 {
                    match oversize {
                        Oversize::Match => return Inspected::Decided(true),
                        Oversize::NoMatch => return Inspected::Decided(false),
                        Oversize::Continue => {}
                    }
                }
                let list = req
                    .headers
                    .iter()
                    .take(200)
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                Inspected::Values(pairs(list, pattern, *scope, true))
            }
            Field::Cookies(pattern, scope, oversize) => {
                let cookies = req.cookies();
                let size: usize = cookies.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
                if size > INSPECTION_LIMIT || cookies.len() > 200 {
                    match oversize {
                        Oversize::Match => return Inspected::Decided(true),
                        Oversize::NoMatch => return Inspected::Decided(false),
                        Oversize::Continue => {}
                    }
                }
                Inspected::Values(pairs(
                    cookies.into_iter().take(200).collect(),
                    pattern,
                    *scope,
                    false,
                ))
            }
            Field::Body(oversize) => match (req.body_oversize, oversize) {
                (true, Oversize::Match) => Inspected::Decided(true),
                (true, Oversize::NoMatch) => Inspected::Decided(false),
                _ => Inspected::Values(vec![req.body.clone()]),
            },
            Field::JsonBody(spec) => spec.inspect(req),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> Request {
        Request {
            method: "POST".into(),
            uri_path: "/a/b".into(),
            query: "x=1&Y=two&flag".into(),
            headers: vec![
                ("Host".into(), "example.com".into()),
                ("Cookie".into(), "sid=abc; Theme=dark".into()),
                ("User-Agent".into(), "curl".into()),
            ],
            body: b"hello".to_vec(),
            body_oversize: false,
            source_ip: None,
            token: Default::default(),
        }
    }

    fn values(i: Inspected) -> Vec<String> {
        match i {
            Inspected::Values(v) => v
                .into_iter()
                .map(|b| String::from_utf8(b).unwrap())
                .collect(),
            Inspected::Decided(d) => vec![format!("decided {d}")],
        }
    }

    #[test]
    fn components_give_their_values() {
        let r = req();
        assert_eq!(values(Field::UriPath.inspect(&r)), ["/a/b"]);
        assert_eq!(values(Field::Method.inspect(&r)), ["POST"]);
        assert_eq!(
            values(Field::SingleQueryArgument("y".into()).inspect(&r)),
            ["two"]
        );
        assert_eq!(
            values(Field::AllQueryArguments.inspect(&r)),
            ["1", "two", ""]
        );
        assert_eq!(
            values(Field::SingleHeader("user-agent".into()).inspect(&r)),
            ["curl"]
        );
        let h = Field::Headers(
            KeyPattern::Included(vec!["host".into()]),
            Scope::Value,
            Oversize::Continue,
        );
        assert_eq!(values(h.inspect(&r)), ["example.com"]);
        let c = Field::Cookies(
            KeyPattern::Excluded(vec!["sid".into()]),
            Scope::All,
            Oversize::Continue,
        );
        assert_eq!(values(c.inspect(&r)), ["Theme", "dark"]);
        let mut big = r.clone();
        big.body_oversize = true;
        assert_eq!(
            Field::Body(Oversize::Match).inspect(&big),
            Inspected::Decided(true)
        );
        assert_eq!(
            Field::Body(Oversize::NoMatch).inspect(&big),
            Inspected::Decided(false)
        );
        assert_eq!(
            values(Field::Body(Oversize::Continue).inspect(&big)),
            ["hello"]
        );
    }
}
