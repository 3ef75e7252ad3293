//! A layer of policies with their statements indexed by service prefix and action name, so a
//! request only visits statements that can match its action.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use crate::action::ActionPattern;
use crate::document::{Policy, Statement};
use crate::fxhash::FxHasher;
use crate::resource::ResourceItem;
use crate::wildcard::{Pattern, Tok};

/// The index keys are service prefixes, operation names and bytes taken from policy text
/// (written by administrators), hashed on every request: FxHash, not SipHash.
type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// (policy index, statement index) inside a layer.
pub type StmtPos = (u32, u32);

/// The statements of one service: by exact operation name, by the first byte of their name
/// patterns, and those whose pattern starts with a wildcard.
#[derive(Debug, Default, Clone)]
struct Bucket<L = CandList> {
    exact: FxMap<String, L>,
    by_first: FxMap<u8, L>,
    wild: L,
}

/// The statements of one index entry. Those whose every Resource entry is a compiled pattern
/// starting with literal text are filed by the longest text they all start with (their
/// "guard"), so a request visits only statements whose guard is a prefix of its resource: in a
/// large account most statements that name the requested action are about other resources.
/// Statements with variables in Resource stay open: skipping them would drop the
/// missing-variable keys that evaluating them reports.
/// Statements by their resource guard (all guards of one length).
type GuardMap = FxMap<Box<str>, Vec<StmtPos>>;

#[derive(Debug, Default, Clone)]
struct CandList {
    open: Vec<StmtPos>,
    /// (guard length in bytes, guard -> statements), ascending by length.
    guarded: Vec<(usize, GuardMap)>,
}

impl CandList {
    fn build(list: Vec<StmtPos>, policies: &[Arc<Policy>]) -> CandList {
        let mut out = CandList::default();
        for pos in list {
            #[expect(
                clippy::indexing_slicing,
                reason = "`list` holds positions PolicyLayer::new took by enumerating `policies` and their statements"
            )]
            let stmt = &policies[pos.0 as usize].statements[pos.1 as usize];
            match resource_guard(stmt) {
                Some(g) if !g.is_empty() => {
                    let i = match out.guarded.binary_search_by_key(&g.len(), |(l, _)| *l) {
                        Ok(i) => i,
                        Err(i) => {
                            out.guarded.insert(i, (g.len(), FxMap::default()));
                            i
                        }
                    };
                    if let Some((_, map)) = out.guarded.get_mut(i) {
                        map.entry(g.into()).or_default().push(pos);
                    }
                }
                _ => out.open.push(pos),
            }
        }
        out
    }

    /// Every statement of the entry.
    fn all(&self) -> impl Iterator<Item = StmtPos> + '_ {
        self.open.iter().copied().chain(
            self.guarded
                .iter()
                .flat_map(|(_, m)| m.values().flatten().copied()),
        )
    }

    /// The statements that may match `resource`.
    #[inline]
    fn for_resource(&self, resource: &str, f: &mut impl FnMut(StmtPos)) {
        for p in &self.open {
            f(*p);
        }
        for (len, m) in &self.guarded {
            let Some(key) = resource.get(..*len) else {
                if *len > resource.len() {
                    break;
                }
                continue;
            };
            if let Some(v) = m.get(key) {
                for p in v {
                    f(*p);
                }
            }
        }
    }
}

/// The literal text every resource the statement's Resource element matches starts with;
/// `None` for NotResource, no Resource, or an entry with policy variables.
fn resource_guard(stmt: &Statement) -> Option<String> {
    let r = stmt.resource.as_ref()?;
    if r.negated {
        return None;
    }
    let mut guard: Option<&str> = None;
    for item in &r.items {
        let ResourceItem::Static(p) = item else {
            return None;
        };
        let pre = p.literal_prefix();
        guard = Some(match guard {
            None => pre,
            Some(cur) => {
                let mut end = 0;
                for (x, y) in cur.chars().zip(pre.chars()) {
                    if x != y {
                        break;
                    }
                    end += x.len_utf8();
                }
                &cur[..end]
            }
        });
    }
    guard.map(str::to_string)
}

/// How one statement is filed for one service.
enum Filing {
    Exact(Vec<String>),
    First(Vec<u8>),
    Wild,
}

/// The first byte a name pattern requires, or None when it starts with a wildcard.
fn first_byte(p: &Pattern) -> Option<u8> {
    match p {
        Pattern::Any => None,
        Pattern::Exact(s) | Pattern::Prefix(s) => s.as_bytes().first().copied(),
        Pattern::Glob(toks) => match toks.first() {
            Some(Tok::Lit(c)) => {
                let mut b = [0u8; 4];
                c.encode_utf8(&mut b).as_bytes().first().copied()
            }
            _ => None,
        },
    }
}

/// One or more compiled policies evaluated together (identity policies, one SCP level, ...).
/// Built once and shared: a clone is a reference count, so a caller's cached policy set can be
/// copied per request (to add a resource policy) without copying its index.
#[derive(Debug, Clone, Default)]
pub struct PolicyLayer(Arc<Layer>);

/// A layer's policies and their index.
#[derive(Debug, Default)]
struct Layer {
    policies: Vec<Arc<Policy>>,
    any: CandList,
    services: FxMap<String, Bucket>,
}

impl PolicyLayer {
    /// Builds the layer and its index.
    pub fn new(policies: Vec<Arc<Policy>>) -> PolicyLayer {
        let mut any: Vec<StmtPos> = Vec::new();
        let mut services: FxMap<String, Bucket<Vec<StmtPos>>> = FxMap::default();
        for (pi, p) in policies.iter().enumerate() {
            for (si, s) in p.statements.iter().enumerate() {
                let pos = (pi as u32, si as u32);
                let wide = s.action.negated
                    || s.action.patterns.iter().any(|a| match a {
                        ActionPattern::All => true,
                        ActionPattern::Service { service, .. } => service.literal().is_none(),
                    });
                if wide {
                    any.push(pos);
                    continue;
                }
                let mut per_service: Vec<(String, Filing)> = Vec::new();
                for a in &s.action.patterns {
                    let ActionPattern::Service { service, name } = a else {
                        continue;
                    };
                    let svc = service.literal().unwrap_or_default().to_string();
                    let idx = match per_service.iter().position(|(k, _)| *k == svc) {
                        Some(i) => i,
                        None => {
                            per_service.push((svc, Filing::Exact(Vec::new())));
                            per_service.len() - 1
                        }
                    };
                    #[expect(
                        clippy::indexing_slicing,
                        reason = "`idx` is a position found in per_service or the index of the element just pushed"
                    )]
                    let filing = &mut per_service[idx].1;
                    *filing = match (std::mem::replace(filing, Filing::Wild), name) {
                        (Filing::Wild, _) => Filing::Wild,
                        (Filing::Exact(mut names), Pattern::Exact(n)) => {
                            if !names.contains(n) {
                                names.push(n.clone());
                            }
                            Filing::Exact(names)
                        }
                        (Filing::Exact(names), pat) => match first_byte(pat) {
                            None => Filing::Wild,
                            Some(b) => {
                                let mut firsts: Vec<u8> = names
                                    .iter()
                                    .filter_map(|n| n.as_bytes().first().copied())
                                    .collect();
                                firsts.push(b);
                                firsts.sort_unstable();
                                firsts.dedup();
                                Filing::First(firsts)
                            }
                        },
                        (Filing::First(mut firsts), pat) => match first_byte(pat) {
                            None => Filing::Wild,
                            Some(b) => {
                                if !firsts.contains(&b) {
                                    firsts.push(b);
                                }
                                Filing::First(firsts)
                            }
                        },
                    };
                }
                for (svc, filing) in per_service {
                    let bucket = services.entry(svc).or_default();
                    match filing {
                        Filing::Exact(names) => {
                            for n in names {
                                bucket.exact.entry(n).or_default().push(pos);
                            }
                        }
                        Filing::First(firsts) => {
                            for b in firsts {
                                bucket.by_first.entry(b).or_default().push(pos);
                            }
                        }
                        Filing::Wild => bucket.wild.push(pos),
                    }
                }
            }
        }
        let list = |l: Vec<StmtPos>| CandList::build(l, &policies);
        let services = services
            .into_iter()
            .map(|(svc, b)| {
                let bucket = Bucket {
                    exact: b.exact.into_iter().map(|(k, l)| (k, list(l))).collect(),
                    by_first: b.by_first.into_iter().map(|(k, l)| (k, list(l))).collect(),
                    wild: list(b.wild),
                };
                (svc, bucket)
            })
            .collect();
        PolicyLayer(Arc::new(Layer {
            any: list(any),
            services,
            policies,
        }))
    }

    /// The policies in the layer.
    pub fn policies(&self) -> &[Arc<Policy>] {
        &self.0.policies
    }

    /// True when the layer has no policies.
    pub fn is_empty(&self) -> bool {
        self.0.policies.is_empty()
    }

    /// The statements that may match the lowercased action (each at most once).
    pub fn candidates<'a>(
        &'a self,
        service: &str,
        name: &str,
    ) -> impl Iterator<Item = StmtPos> + 'a {
        self.candidates_checked(service, name).map(|(pos, _)| pos)
    }

    /// Like [`PolicyLayer::candidates`], with `true` for statements already known to match the
    /// action (filed under the exact operation name, so their Action element names it).
    fn candidates_checked<'a>(
        &'a self,
        service: &str,
        name: &str,
    ) -> impl Iterator<Item = (StmtPos, bool)> + 'a {
        let (exact, by_first, wild) = self.lists(service, name);
        let unchecked = |p: StmtPos| (p, false);
        self.0
            .any
            .all()
            .map(unchecked)
            .chain(exact.into_iter().flat_map(|l| l.all().map(|p| (p, true))))
            .chain(
                by_first
                    .into_iter()
                    .flat_map(move |l| l.all().map(unchecked)),
            )
            .chain(wild.into_iter().flat_map(move |l| l.all().map(unchecked)))
    }

    fn lists(
        &self,
        service: &str,
        name: &str,
    ) -> (Option<&CandList>, Option<&CandList>, Option<&CandList>) {
        let Some(bucket) = self.0.services.get(service) else {
            return (None, None, None);
        };
        let by_first = name.as_bytes().first().and_then(|f| bucket.by_first.get(f));
        (bucket.exact.get(name), by_first, Some(&bucket.wild))
    }

    /// Calls `f` with every statement that may match the lowercased action and `resource`
    /// (each at most once), and `true` when the statement is already known to match the action.
    #[inline]
    pub(crate) fn for_each_candidate(
        &self,
        service: &str,
        name: &str,
        resource: &str,
        mut f: impl FnMut(StmtPos, bool),
    ) {
        let (exact, by_first, wild) = self.lists(service, name);
        self.0.any.for_resource(resource, &mut |p| f(p, false));
        if let Some(l) = exact {
            l.for_resource(resource, &mut |p| f(p, true));
        }
        for l in [by_first, wild].into_iter().flatten() {
            l.for_resource(resource, &mut |p| f(p, false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::PolicyKind;

    #[test]
    fn candidates_are_filtered_and_unique() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["s3:GetObject","s3:Get*"],"Resource":"*"},
            {"Effect":"Allow","Action":"s3:PutObject","Resource":"*"},
            {"Effect":"Allow","Action":["s3:List*","ec2:*"],"Resource":"*"},
            {"Effect":"Allow","Action":"s3:*Object","Resource":"*"},
            {"Effect":"Deny","NotAction":"iam:*","Resource":"*"},
            {"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let p = Policy::parse(doc, PolicyKind::Identity).map(Arc::new);
        let layer = PolicyLayer::new(p.into_iter().collect());
        let mut got: Vec<u32> = layer
            .candidates("s3", "getobject")
            .map(|(_, s)| s)
            .collect();
        got.sort_unstable();
        assert_eq!(got, vec![0, 3, 4, 5]);
        let mut got: Vec<u32> = layer
            .candidates("ec2", "runinstances")
            .map(|(_, s)| s)
            .collect();
        got.sort_unstable();
        assert_eq!(got, vec![2, 4, 5]);
    }

    #[test]
    fn resource_guards_skip_other_resources_only() {
        use crate::context::Context;
        use crate::request::{Principal, Request};
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a/*"},
            {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b"},
            {"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::a/x","arn:aws:s3:::ab"]},
            {"Effect":"Allow","Action":"s3:GetObject","NotResource":"arn:aws:s3:::b"},
            {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::${aws:username}/*"},
            {"Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::a?x"},
            {"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
            {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a/x/y"}]}"#;
        let p = Policy::parse(doc, PolicyKind::Identity).map(Arc::new);
        let layer = PolicyLayer::new(p.into_iter().collect());
        for res in [
            "arn:aws:s3:::a/x",
            "arn:aws:s3:::b",
            "arn:aws:s3:::ab",
            "*",
            "arn:aws:s3:::a",
        ] {
            let mut got: Vec<u32> = Vec::new();
            layer.for_each_candidate("s3", "getobject", res, |(_, s), _| got.push(s));
            got.sort_unstable();
            let all: Vec<u32> = layer
                .candidates("s3", "getobject")
                .map(|(_, s)| s)
                .collect();
            // Every statement that matches is visited; none is visited twice.
            let req = Request::new(
                Principal::from_arn("arn:aws:iam::111122223333:user/a"),
                "s3:GetObject",
                res,
                None,
                Context::new(),
            );
            let stmts = &layer.policies()[0].statements;
            for s in all {
                if stmts[s as usize].matches_request(&req, &mut Vec::new()) {
                    assert!(got.contains(&s), "{res}: statement {s} skipped");
                }
            }
            let mut dedup = got.clone();
            dedup.dedup();
            assert_eq!(dedup, got, "{res}");
            if res == "arn:aws:s3:::b" {
                // a/*, a/x|ab, a?x and a/x/y are filed under guards that are not prefixes of it.
                assert_eq!(got, vec![1, 3, 4, 6]);
            }
        }
    }
}
