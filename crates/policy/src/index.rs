//! A layer of policies with their statements indexed by service prefix and action name, so a
//! request only visits statements that can match its action.

use std::collections::HashMap;
use std::sync::Arc;

use crate::action::ActionPattern;
use crate::document::Policy;
use crate::wildcard::Pattern;

/// (policy index, statement index) inside a layer.
pub type StmtPos = (u32, u32);

#[derive(Debug, Default, Clone)]
struct Bucket {
    exact: HashMap<String, Vec<StmtPos>>,
    patterns: Vec<StmtPos>,
}

/// One or more compiled policies evaluated together (identity policies, one SCP level, ...).
#[derive(Debug, Clone, Default)]
pub struct PolicyLayer {
    policies: Vec<Arc<Policy>>,
    any: Vec<StmtPos>,
    services: HashMap<String, Bucket>,
}

impl PolicyLayer {
    /// Builds the layer and its index.
    pub fn new(policies: Vec<Arc<Policy>>) -> PolicyLayer {
        let mut layer = PolicyLayer {
            policies,
            any: Vec::new(),
            services: HashMap::new(),
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
                // Per service: a pattern puts the statement in `patterns`, else in `exact`.
                let mut per_service: Vec<(String, Option<Vec<String>>)> = Vec::new();
                for a in &s.action.patterns {
                    if let ActionPattern::Service { service, name } = a {
                        let svc = service.literal().unwrap_or_default().to_string();
                        let entry = match per_service.iter_mut().find(|(k, _)| *k == svc) {
                            Some(e) => e,
                            None => {
                                per_service.push((svc, Some(Vec::new())));
                                let last = per_service.len() - 1;
                                &mut per_service[last]
                            }
                        };
                        match (name, &mut entry.1) {
                            (Pattern::Exact(n), Some(names)) => {
                                if !names.contains(n) {
                                    names.push(n.clone());
                                }
                            }
                            _ => entry.1 = None,
                        }
                    }
                }
                for (svc, names) in per_service {
                    let bucket = layer.services.entry(svc).or_default();
                    match names {
                        Some(names) => {
                            for n in names {
                                bucket.exact.entry(n).or_default().push(pos);
                            }
                        }
                        None => bucket.patterns.push(pos),
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
        let bucket = self.services.get(service);
        let exact = bucket
            .and_then(|b| b.exact.get(name))
            .map(|v| v.as_slice())
            .unwrap_or(&[]);
        let patterns = bucket.map(|b| b.patterns.as_slice()).unwrap_or(&[]);
        self.any
            .iter()
            .chain(exact.iter())
            .chain(patterns.iter())
            .copied()
    }
}
