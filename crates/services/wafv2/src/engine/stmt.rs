//! Compiled statements and their evaluation against a request.

use std::{cell::RefCell, net::IpAddr, sync::Arc};

use regex::bytes::{Regex, RegexSet};

use super::{
    fields::{Field, Inspected, Request},
    geo::{self, Countries},
    injection,
    rate::RateCounters,
    transform::{apply_all, Transform},
};

/// `PositionalConstraint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// `EXACTLY`.
    Exactly,
    /// `STARTS_WITH`.
    StartsWith,
    /// `ENDS_WITH`.
    EndsWith,
    /// `CONTAINS`.
    Contains,
    /// `CONTAINS_WORD`.
    ContainsWord,
}

/// `ComparisonOperator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `EQ`.
    Eq,
    /// `NE`.
    Ne,
    /// `LE`.
    Le,
    /// `LT`.
    Lt,
    /// `GE`.
    Ge,
    /// `GT`.
    Gt,
}

impl Cmp {
    fn holds(self, a: u64, b: u64) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Le => a <= b,
            Cmp::Lt => a < b,
            Cmp::Ge => a >= b,
            Cmp::Gt => a > b,
        }
    }
}

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl Net {
    /// A CIDR (`192.0.2.0/24`), `None` when not valid.
    pub fn parse(s: &str) -> Option<Net> {
        let (a, p) = s.split_once('/')?;
        let addr: IpAddr = a.parse().ok()?;
        let prefix: u8 = p.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Net { addr, prefix })
    }

    /// Whether `ip` is in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) if self.addr.is_ipv4() => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            other => other,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// `ForwardedIPConfig`: the client address from a header instead of the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// `HeaderName`.
    pub header: String,
    /// `FallbackBehavior`: the match result when the header is missing or not an address.
    pub fallback_match: bool,
    /// `Position` (IP set statements): `FIRST`, `LAST` or `ANY`.
    pub position: ForwardedPosition,
}

/// Which address of a forwarded header an IP set statement inspects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardedPosition {
    /// The first address.
    First,
    /// The last address.
    Last,
    /// Any of the first ten.
    Any,
}

impl Forwarded {
    /// The addresses of the header (by position), or `None` when none is valid.
    fn addresses(&self, req: &Request) -> Option<Vec<IpAddr>> {
        let v = req.header(&self.header)?;
        let all: Vec<&str> = v.split(',').map(str::trim).collect();
        let picked: Vec<&str> = match self.position {
            ForwardedPosition::First => all.first().copied().into_iter().collect(),
            ForwardedPosition::Last => all.last().copied().into_iter().collect(),
            ForwardedPosition::Any => all.into_iter().take(10).collect(),
        };
        let ips: Vec<IpAddr> = picked.iter().filter_map(|s| s.parse().ok()).collect();
        (!ips.is_empty() && ips.len() == picked.len()).then_some(ips)
    }
}

/// A rate-based statement's aggregation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aggregate {
    /// `IP`: the peer address.
    Ip,
    /// `FORWARDED_IP`: the first address of the header.
    ForwardedIp(Forwarded),
    /// `CONSTANT`: every request together.
    Constant,
}

/// A compiled statement.
#[derive(Debug, Clone)]
pub enum Stmt {
    /// `ByteMatchStatement` (the search string as bytes).
    Byte(Field, Vec<Transform>, Position, Vec<u8>),
    /// `RegexMatchStatement`.
    Regex(Field, Vec<Transform>, Regex),
    /// `RegexPatternSetReferenceStatement`.
    RegexSet(Field, Vec<Transform>, RegexSet),
    /// `SizeConstraintStatement`.
    Size(Field, Vec<Transform>, Cmp, u64),
    /// `SqliMatchStatement`; `true` for `SensitivityLevel` `HIGH`.
    Sqli(Field, Vec<Transform>, bool),
    /// `XssMatchStatement`.
    Xss(Field, Vec<Transform>),
    /// `IPSetReferenceStatement`.
    IpSet(Vec<Net>, Option<Forwarded>),
    /// `LabelMatchStatement`: a label (`false`) or namespace (`true`), fully qualified.
    Label(bool, String),
    /// `AndStatement`.
    And(Vec<Stmt>),
    /// `OrStatement`.
    Or(Vec<Stmt>),
    /// `NotStatement`.
    Not(Box<Stmt>),
    /// `RateBasedStatement`: counter key, limit, window (seconds), aggregation, scope-down.
    Rate(String, u64, u64, Aggregate, Option<Box<Stmt>>),
    /// `GeoMatchStatement`: country codes, `ForwardedIPConfig`, the database.
    Geo(Vec<String>, Option<Forwarded>, Arc<dyn Countries>),
}

/// What evaluation needs besides the request.
pub struct Env<'a> {
    /// Labels added so far (fully qualified).
    pub labels: &'a [String],
    /// Rate counters.
    pub rates: &'a RateCounters,
    /// The current second (monotonic).
    pub now: u64,
    /// Labels statements add as they are evaluated, whether they match or not (a geo match
    /// statement's country and region), which the rule's evaluation then adds.
    pub added: &'a RefCell<Vec<String>>,
}

/// Moves the labels statements added into `labels` (each once).
pub fn take_added(added: &RefCell<Vec<String>>, labels: &mut Vec<String>) {
    for l in added.borrow_mut().drain(..) {
        if !labels.contains(&l) {
            labels.push(l);
        }
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `v` satisfies the positional constraint with `s`.
pub fn positional(pos: Position, v: &[u8], s: &[u8]) -> bool {
    match pos {
        Position::Exactly => v == s,
        Position::StartsWith => v.starts_with(s),
        Position::EndsWith => v.ends_with(s),
        Position::Contains => find_all(v, s).next().is_some(),
        Position::ContainsWord => find_all(v, s).any(|i| {
            let before = i.checked_sub(1).and_then(|j| v.get(j));
            let after = v.get(i + s.len());
            before.is_none_or(|b| !is_word(*b)) && after.is_none_or(|b| !is_word(*b))
        }),
    }
}

fn find_all<'a>(v: &'a [u8], s: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let n = s.len();
    (0..=v.len().saturating_sub(n)).filter(move |&i| v.len() >= n && v.get(i..i + n) == Some(s))
}

fn any_value(field: &Field, t: &[Transform], req: &Request, f: impl Fn(&[u8]) -> bool) -> bool {
    match field.inspect(req) {
        Inspected::Decided(d) => d,
        Inspected::Values(vs) => vs.iter().any(|v| f(&apply_all(t, v))),
    }
}

impl Stmt {
    /// Whether the statement matches the request.
    pub fn matches(&self, req: &Request, env: &Env<'_>) -> bool {
        match self {
            Stmt::Byte(f, t, pos, s) => any_value(f, t, req, |v| positional(*pos, v, s)),
            Stmt::Regex(f, t, re) => any_value(f, t, req, |v| re.is_match(v)),
            Stmt::RegexSet(f, t, set) => any_value(f, t, req, |v| set.is_match(v)),
            Stmt::Size(f, t, cmp, size) => {
                any_value(f, t, req, |v| cmp.holds(v.len() as u64, *size))
            }
            Stmt::Sqli(f, t, high) => any_value(f, t, req, |v| injection::sqli(v, *high)),
            Stmt::Xss(f, t) => any_value(f, t, req, injection::xss),
            Stmt::IpSet(nets, fwd) => {
                let ips = match fwd {
                    None => req.source_ip.into_iter().collect(),
                    Some(fwd) => match fwd.addresses(req) {
                        Some(ips) => ips,
                        None => return fwd.fallback_match,
                    },
                };
                ips.iter().any(|ip| nets.iter().any(|n| n.contains(*ip)))
            }
            Stmt::Label(namespace, key) => env.labels.iter().any(|l| {
                if *namespace {
                    l.starts_with(key.as_str())
                } else {
                    l == key
                }
            }),
            Stmt::And(all) => all.iter().all(|s| s.matches(req, env)),
            Stmt::Or(any) => any.iter().any(|s| s.matches(req, env)),
            Stmt::Not(s) => !s.matches(req, env),
            Stmt::Rate(counter, limit, window, agg, scope) => {
                if let Some(scope) = scope {
                    if !scope.matches(req, env) {
                        return false;
                    }
                }
                let key = match agg {
                    Aggregate::Constant => "*".to_string(),
                    Aggregate::Ip => match req.source_ip {
                        Some(ip) => ip.to_string(),
                        None => return false,
                    },
                    Aggregate::ForwardedIp(fwd) => match fwd.addresses(req) {
                        Some(ips) => ips.first().map(ToString::to_string).unwrap_or_default(),
                        None => return fwd.fallback_match,
                    },
                };
                env.rates.hit(counter, &key, env.now, *window, *limit)
            }
            Stmt::Geo(codes, fwd, countries) => {
                let ip = match fwd {
                    None => req.source_ip,
                    Some(fwd) => match fwd.addresses(req) {
                        Some(ips) => ips.first().copied(),
                        None => return fwd.fallback_match,
                    },
                };
                let Some((country, region)) = ip.and_then(|ip| countries.locate(ip)) else {
                    return false;
                };
                env.added.borrow_mut().extend(geo::labels(
                    &country,
                    region.as_deref(),
                    fwd.is_some(),
                ));
                codes.contains(&country)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_constraints() {
        assert!(positional(Position::Exactly, b"abc", b"abc"));
        assert!(!positional(Position::Exactly, b"abcd", b"abc"));
        assert!(positional(Position::StartsWith, b"abcd", b"ab"));
        assert!(positional(Position::EndsWith, b"abcd", b"cd"));
        assert!(positional(Position::Contains, b"xxabxx", b"ab"));
        assert!(!positional(Position::Contains, b"a", b"ab"));
        assert!(positional(Position::ContainsWord, b"x=1 or 1", b"or"));
        assert!(positional(Position::ContainsWord, b"or", b"or"));
        assert!(positional(Position::ContainsWord, b"for;or", b"or"));
        assert!(!positional(Position::ContainsWord, b"for", b"or"));
        assert!(!positional(Position::ContainsWord, b"or_x", b"or"));
    }

    #[test]
    fn networks_contain_their_addresses() {
        let n = Net::parse("192.0.2.0/24").unwrap();
        assert!(n.contains("192.0.2.77".parse().unwrap()));
        assert!(!n.contains("192.0.3.1".parse().unwrap()));
        assert!(n.contains("::ffff:192.0.2.1".parse().unwrap()));
        assert!(Net::parse("10.0.0.1/32")
            .unwrap()
            .contains("10.0.0.1".parse().unwrap()));
        assert!(Net::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        let v6 = Net::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8::1".parse().unwrap()));
        assert!(Net::parse("10.0.0.1/33").is_none());
        assert!(Net::parse("10.0.0.1").is_none());
    }
}
