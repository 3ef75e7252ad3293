//! A layer of policies with their statements indexed by service prefix and action name, so a
//! request only visits statements that can match its action.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::action::ActionPattern;
use crate::document::Policy;
use crate::wildcard::{Pattern, Tok};

/// FxHash (as in rustc): the index keys are service prefixes, operation names and bytes taken
/// from policy text, hashed on every request; SipHash's DoS resistance buys nothing here and
/// costs more than the lookup itself.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

const FX_K: u64 = 0xf135_7aea_2e62_a9c5;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(FX_K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let r = chunks.remainder();
        if !r.is_empty() {
            let mut w = [0u8; 8];
            w[..r.len()].copy_from_slice(r);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// (policy index, statement index) inside a layer.
pub type StmtPos = (u32, u32);

/// The statements of one service: by exact operation name, by the first byte of their name
/// patterns, and those whose pattern starts with a wildcard.
#[derive(Debug, Default, Clone)]
struct Bucket {
    exact: FxMap<String, Vec<StmtPos>>,
    by_first: FxMap<u8, Vec<StmtPos>>,
    wild: Vec<StmtPos>,
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
#[derive(Debug, Clone, Default)]
pub struct PolicyLayer {
    policies: Vec<Arc<Policy>>,
    any: Vec<StmtPos>,
    services: FxMap<String, Bucket>,
}

impl PolicyLayer {
    /// Builds the layer and its index.
    pub fn new(policies: Vec<Arc<Policy>>) -> PolicyLayer {
        let mut layer = PolicyLayer {
            policies,
            any: Vec::new(),
            services: FxMap::default(),
        };
        for (pi, p) in layer.policies.iter().enumerate() {
            for (si, s) in p.statements.iter().enumerate() {
                let pos = (pi as u32, si as u32);
                let wide = s.action.negated
                    || s.action.patterns.iter().any(|a| match a {
                        ActionPattern::All => true,
                        ActionPattern::Service { service, .. } => service.literal().is_none(),
                    });
                if wide {
                    layer.any.push(pos);
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
                    let bucket = layer.services.entry(svc).or_default();
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
        layer
    }

    /// The policies in the layer.
    pub fn policies(&self) -> &[Arc<Policy>] {
        &self.policies
    }

    /// True when the layer has no policies.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
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
    pub(crate) fn candidates_checked<'a>(
        &'a self,
        service: &str,
        name: &str,
    ) -> impl Iterator<Item = (StmtPos, bool)> + 'a {
        let bucket = self.services.get(service);
        let exact = bucket
            .and_then(|b| b.exact.get(name))
            .map(|v| v.as_slice())
            .unwrap_or(&[]);
        let first = name.as_bytes().first();
        let by_first = bucket
            .zip(first)
            .and_then(|(b, f)| b.by_first.get(f))
            .map(|v| v.as_slice())
            .unwrap_or(&[]);
        let wild = bucket.map(|b| b.wild.as_slice()).unwrap_or(&[]);
        let unchecked = |p: &StmtPos| (*p, false);
        self.any
            .iter()
            .map(unchecked)
            .chain(exact.iter().map(|p| (*p, true)))
            .chain(by_first.iter().map(unchecked))
            .chain(wild.iter().map(unchecked))
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
}
