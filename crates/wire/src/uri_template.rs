//! restJson1 routing: matching a request's method, path and query against a service's URI
//! templates (`/detector/{DetectorId}/findings`, greedy `/actionTargets/{ActionTargetArn+}`,
//! query literals after `?`). When several templates match, the most specific wins, as in
//! Smithy's routing: at the first segment where they differ a literal beats a label and a
//! label beats a greedy label; then more query literals win.

use rampart_model::{Location, Operation, Protocol, Service, ShapeKind, SERVICES};
use std::borrow::Cow;
use std::cmp::Ordering;

/// An operation whose template matched, with its labels' values (percent-decoded).
#[derive(Debug, Clone)]
pub struct UriMatch {
    /// The operation.
    pub operation: &'static Operation,
    /// `(label, value)` for every `{label}` of the template; a greedy label's value keeps its
    /// slashes.
    pub labels: Vec<(&'static str, String)>,
}

/// One segment of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment<'t> {
    Literal(&'t str),
    Label(&'t str),
    Greedy(&'t str),
}

impl Segment<'_> {
    /// Specificity rank: lower is more specific.
    fn rank(self) -> u8 {
        match self {
            Segment::Literal(_) => 0,
            Segment::Label(_) => 1,
            Segment::Greedy(_) => 2,
        }
    }
}

fn segments(path: &str) -> impl Iterator<Item = Segment<'_>> + Clone {
    path.split('/').filter(|s| !s.is_empty()).map(|s| {
        match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(label) => match label.strip_suffix('+') {
                Some(greedy) => Segment::Greedy(greedy),
                None => Segment::Label(label),
            },
            None => Segment::Literal(s),
        }
    })
}

/// The template's path and query literal parts.
fn split_template(uri: &str) -> (&str, &str) {
    uri.split_once('?').unwrap_or((uri, ""))
}

/// Percent-decodes one path segment; `None` when the result is not UTF-8.
fn percent_decode(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('%') {
        return Some(Cow::Borrowed(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
        match (b, hex(i.wrapping_add(1)), hex(i.wrapping_add(2))) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).ok()?);
                i = i.saturating_add(3);
            }
            _ => {
                out.push(b);
                i = i.saturating_add(1);
            }
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// Whether every literal of the template's query part (`k` or `k=v`) is in `query`.
fn query_literals_match(literals: &str, query: &str) -> bool {
    literals.split('&').filter(|l| !l.is_empty()).all(|lit| {
        let (k, v) = lit
            .split_once('=')
            .map_or((lit, None), |(k, v)| (k, Some(v)));
        form_urlencoded::parse(query.as_bytes())
            .any(|(qk, qv)| qk == k && v.is_none_or(|v| qv == v))
    })
}

/// Matches `path` (as sent, percent-encoded) against a template's path part; the labels'
/// values on success. A greedy label at the end of the template takes the rest of the path
/// verbatim (empty segments and a trailing slash included: S3 keys such as `dir/` or `a//b`).
fn match_path(template: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
    // Non-empty segments with the offset where each ends.
    let mut parts: Vec<(&str, usize)> = Vec::new();
    let mut offset = 0usize;
    for seg in path.split('/') {
        offset = offset.checked_add(seg.len())?;
        if !seg.is_empty() {
            parts.push((seg, offset));
        }
        offset = offset.checked_add(1)?;
    }
    let segs: Vec<Segment<'static>> = segments(template).collect();
    // An empty segment (`/b//`: the S3 key `/`) is only a greedy label's to take; without one
    // the path matches only with a single trailing slash at most (`/b/`).
    if !segs.iter().any(|s| matches!(s, Segment::Greedy(_))) {
        let inner = path.strip_prefix('/').unwrap_or(path);
        let inner = inner.strip_suffix('/').unwrap_or(inner);
        if !inner.is_empty() && inner.split('/').any(str::is_empty) {
            return None;
        }
    }
    let mut labels = Vec::new();
    let mut at = 0usize;
    for (i, seg) in segs.iter().enumerate() {
        match *seg {
            Segment::Literal(lit) => {
                let (part, _) = parts.get(at)?;
                if *part != lit && percent_decode(part)? != lit {
                    return None;
                }
                at = at.checked_add(1)?;
            }
            Segment::Label(name) => {
                let (part, _) = parts.get(at)?;
                labels.push((name, percent_decode(part)?.into_owned()));
                at = at.checked_add(1)?;
            }
            Segment::Greedy(name) if i.checked_add(1)? == segs.len() => {
                // The rest of the path after the slash that ends the previous segment.
                let start = match at.checked_sub(1) {
                    Some(prev) => parts.get(prev)?.1.checked_add(1)?,
                    None => usize::from(path.starts_with('/')),
                };
                let rest = path.get(start..).filter(|r| !r.is_empty())?;
                labels.push((name, percent_decode(rest)?.into_owned()));
                at = parts.len();
            }
            Segment::Greedy(name) => {
                // The greedy label takes what the segments after it leave, at least one.
                let after = segs.len().checked_sub(i)?.checked_sub(1)?;
                let end = parts.len().checked_sub(after)?;
                if end <= at {
                    return None;
                }
                let taken = parts.get(at..end)?;
                let mut value = String::new();
                for (n, (p, _)) in taken.iter().enumerate() {
                    if n > 0 {
                        value.push('/');
                    }
                    value.push_str(&percent_decode(p)?);
                }
                labels.push((name, value));
                at = end;
            }
        }
    }
    (at == parts.len()).then_some(labels)
}

/// Orders two templates by specificity (`Less` = `a` is more specific).
fn specificity(a: &str, b: &str) -> Ordering {
    let (pa, qa) = split_template(a);
    let (pb, qb) = split_template(b);
    let ranks = |p| segments(p).map(Segment::rank);
    ranks(pa).cmp(ranks(pb)).then_with(|| {
        let n = |q: &str| q.split('&').filter(|l| !l.is_empty()).count();
        n(qb).cmp(&n(qa))
    })
}

/// The operation of restJson1 `service` whose method and URI template match the request, the
/// most specific when several do (see [`find_operation_with_headers`]).
pub fn find_operation(
    service: &'static Service,
    method: &str,
    path: &str,
    query: &str,
) -> Option<UriMatch> {
    find_operation_with_headers(service, method, path, query, &[])
}

/// How well a request fits an operation's required query and header bindings: templates alone
/// do not tell S3's `PutObject`, `CopyObject` (`x-amz-copy-source`), `UploadPart`
/// (`partNumber`, `uploadId`) and `UploadPartCopy` apart. Compared as a tuple, greater is
/// better: every required binding present, then more of them, then not deprecated.
fn binding_fit(
    service: &'static Service,
    op: &'static Operation,
    query: &str,
    headers: &[(&str, &[u8])],
) -> (bool, usize, bool) {
    let members = match op.input.map(|id| service.shape(id).kind) {
        Some(ShapeKind::Structure(members)) => members,
        _ => &[],
    };
    let (mut present, mut missing) = (0usize, false);
    for m in members.iter().filter(|m| m.required) {
        let found = match m.location {
            Location::Query => {
                form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == m.wire_name())
            }
            Location::Header => headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(m.wire_name())),
            _ => continue,
        };
        if found {
            present = present.saturating_add(1);
        } else {
            missing = true;
        }
    }
    (!missing, present, !op.deprecated)
}

/// The operation of restJson1 or restXml `service` whose method and URI template match the
/// request, the most specific when several do; on equally specific templates, the one whose
/// required query and header members the request carries ([`binding_fit`]).
pub fn find_operation_with_headers(
    service: &'static Service,
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &[u8])],
) -> Option<UriMatch> {
    let mut best: Option<(UriMatch, (bool, usize, bool))> = None;
    for op in service.operations {
        if !op.http.method.eq_ignore_ascii_case(method) {
            continue;
        }
        let (tpath, tquery) = split_template(op.http.uri);
        if !tquery.is_empty() && !query_literals_match(tquery, query) {
            continue;
        }
        let Some(labels) = match_path(tpath, path) else {
            continue;
        };
        let fit = binding_fit(service, op, query, headers);
        let better = match &best {
            None => true,
            Some((b, best_fit)) => match specificity(op.http.uri, b.operation.http.uri) {
                Ordering::Less => true,
                Ordering::Equal => fit > *best_fit,
                Ordering::Greater => false,
            },
        };
        if better {
            let m = UriMatch {
                operation: op,
                labels,
            };
            best = Some((m, fit));
        }
    }
    best.map(|(m, _)| m)
}

/// The first restJson1 service (in [`SERVICES`] order) with an operation for this method and
/// path: how an unsigned request, which names no service, is routed.
pub(crate) fn service_by_path(method: &str, path: &str, query: &str) -> Option<&'static Service> {
    if path.split('/').all(str::is_empty) {
        return None;
    }
    SERVICES
        .iter()
        .copied()
        .filter(|s| s.protocol == Protocol::RestJson)
        .find(|s| find_operation(s, method, path, query).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(t: &'static str, p: &str) -> Option<Vec<(&'static str, String)>> {
        match_path(t, p)
    }

    #[test]
    fn matches_literals_labels_and_greedy_labels() {
        assert_eq!(
            labels("/detector/{DetectorId}/findings", "/detector/abc/findings"),
            Some(vec![("DetectorId", "abc".to_string())])
        );
        assert_eq!(
            labels("/detector/{DetectorId}/findings", "/detector/abc"),
            None
        );
        assert_eq!(
            labels("/detector/{DetectorId}", "/detector/abc/findings"),
            None
        );
        assert_eq!(labels("/detector/{DetectorId}", "/detector/"), None);
        assert_eq!(
            labels("/actionTargets/{Arn+}", "/actionTargets/arn%3Aaws/a/b"),
            Some(vec![("Arn", "arn:aws/a/b".to_string())])
        );
        assert_eq!(labels("/actionTargets/{Arn+}", "/actionTargets"), None);
        assert_eq!(labels("/actionTargets/{Arn+}", "/actionTargets/"), None);
        assert_eq!(
            labels("/{Bucket}/{Key+}", "/b/dir/"),
            Some(vec![
                ("Bucket", "b".to_string()),
                ("Key", "dir/".to_string())
            ])
        );
        assert_eq!(
            labels("/{Bucket}/{Key+}", "/b//a//c%2Fd%2520"),
            Some(vec![
                ("Bucket", "b".to_string()),
                ("Key", "/a//c/d%20".to_string())
            ])
        );
        assert_eq!(
            labels("/{Bucket}/{Key+}", "/b//"),
            Some(vec![("Bucket", "b".to_string()), ("Key", "/".to_string())])
        );
        assert_eq!(labels("/{Bucket}/{Key+}", "/b/"), None);
        assert_eq!(
            labels("/{Key+}", "/a/b"),
            Some(vec![("Key", "a/b".to_string())])
        );
        assert_eq!(
            labels("/k/{Key+}/tail", "/k/a/b/tail"),
            Some(vec![("Key", "a/b".to_string())])
        );
        assert_eq!(labels("/k/{Key+}/tail", "/k/tail"), None);
        assert_eq!(labels("/detector", "/detector/"), Some(vec![]));
        assert_eq!(labels("/detector", "/%64etector"), Some(vec![]));
        assert_eq!(labels("/x/{A}", "/x/%FF"), None);
        assert_eq!(
            labels("/x/{A}", "/x/%4"),
            Some(vec![("A", "%4".to_string())])
        );
    }

    #[test]
    fn the_most_specific_template_wins() {
        assert_eq!(specificity("/a/b", "/a/{x}"), Ordering::Less);
        assert_eq!(specificity("/a/{x}", "/a/{x+}"), Ordering::Less);
        assert_eq!(specificity("/a/{x}/c", "/a/b/{y}"), Ordering::Greater);
        assert_eq!(specificity("/a?list", "/a"), Ordering::Less);
        assert!(query_literals_match("list&type=x", "type=x&list&b=1"));
        assert!(!query_literals_match("type=x", "type=y"));
    }

    #[test]
    fn finds_operations_of_the_models() {
        let gd = rampart_model::service("guardduty").unwrap();
        let m = find_operation(gd, "POST", "/detector/abc/findings", "").unwrap();
        assert_eq!(m.operation.name, "ListFindings");
        let m = find_operation(gd, "POST", "/detector/abc/findings/get", "").unwrap();
        assert_eq!(m.operation.name, "GetFindings");
        assert_eq!(
            find_operation(gd, "GET", "/detector", "")
                .unwrap()
                .operation
                .name,
            "ListDetectors"
        );
        assert_eq!(
            find_operation(gd, "POST", "/detector", "")
                .unwrap()
                .operation
                .name,
            "CreateDetector"
        );
        assert!(find_operation(gd, "PATCH", "/detector", "").is_none());
        assert!(find_operation(gd, "GET", "/nowhere", "").is_none());
        assert_eq!(
            service_by_path("GET", "/analyzer", "maxResults=5").map(|s| s.name),
            Some("accessanalyzer")
        );
        assert!(service_by_path("POST", "/", "").is_none());
    }
}
