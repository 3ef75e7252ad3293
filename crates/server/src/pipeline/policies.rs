//! Compiled policies for the authorizer, cached so that a request does not parse JSON.
//!
//! Two caches, neither of which can serve stale permissions:
//! - compiled documents, keyed by their exact text (a changed policy is a different key);
//! - the caller's policy set, keyed by access key and the store's authorization epoch, which
//!   every permission-changing transaction bumps (so a change takes effect on the next request,
//!   on every node sharing the database).

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use rampart_policy::{OrgLevel, Policy, PolicyKind, PolicyLayer, PolicySet};
use rampart_services::{
    organizations::enforcement::{Level, OrgView},
    CallerPolicies, NamedPolicy, ResourcePolicy,
};

/// Most entries per cache before it is cleared wholesale (a bound, not a working-set size).
const CAPACITY: usize = 50_000;

/// The authorizer's caches.
#[derive(Debug, Default)]
pub struct PolicyCache {
    compiled: RwLock<HashMap<DocKey, Arc<Policy>>>,
    callers: RwLock<HashMap<String, (i64, Arc<CallerSet>)>>,
    orgs: RwLock<HashMap<String, (i64, Arc<OrgLevels>)>>,
}

/// An account's organization as the authorizer uses it: compiled SCP and RCP levels, the
/// values of the `aws:*Org*` keys, and whether the account is closed. Cached per account and
/// authorization epoch, so every caller of an account shares one.
#[derive(Debug, Clone, Default)]
pub struct OrgLevels {
    /// The organization id, when the account is in one.
    pub org_id: Option<String>,
    /// The account's organization path (`o-.../r-.../ou-.../`).
    pub path: Option<String>,
    /// The organization's management account.
    pub management: Option<String>,
    /// SCP levels, root first.
    pub scp: Vec<OrgLevel>,
    /// RCP levels, root first.
    pub rcp: Vec<OrgLevel>,
    /// True when the account is closed (its principals cannot act).
    pub closed: bool,
}

/// A caller's compiled policies and the principal tags that go with them
/// (`aws:PrincipalTag/*`), cached together.
#[derive(Debug, Clone, Default)]
pub struct CallerSet {
    /// Identity, boundary and session layers.
    pub policies: PolicySet,
    /// The principal's tags.
    pub principal_tags: Vec<(String, String)>,
    /// The caller's account's organization.
    pub org: Arc<OrgLevels>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DocKey {
    kind: u8,
    name: String,
    text: String,
}

impl PolicyCache {
    /// The caller's cached policy set, if it was built at `epoch`.
    pub fn caller_set(&self, access_key_id: &str, epoch: i64) -> Option<Arc<CallerSet>> {
        let map = self.callers.read().ok()?;
        match map.get(access_key_id) {
            Some((e, set)) if *e == epoch => Some(set.clone()),
            _ => None,
        }
    }

    /// Compiles and remembers the caller's policy set for `epoch`.
    pub fn store_caller_set(
        &self,
        access_key_id: &str,
        epoch: i64,
        policies: &CallerPolicies,
        org: Arc<OrgLevels>,
    ) -> Arc<CallerSet> {
        let compiled = PolicySet {
            scp: org.scp.clone(),
            rcp: org.rcp.clone(),
            management_account: org.management.clone(),
            identity: self.layer(&policies.identity, PolicyKind::Identity),
            boundary: policies
                .boundary
                .as_ref()
                .map(|b| self.layer(std::slice::from_ref(b), PolicyKind::Boundary)),
            session: policies
                .session
                .as_ref()
                .map(|s| self.layer(s, PolicyKind::Session)),
            ..PolicySet::default()
        };
        let set = Arc::new(CallerSet {
            policies: compiled,
            principal_tags: policies.principal_tags.clone(),
            org,
        });
        if let Ok(mut map) = self.callers.write() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(access_key_id.to_string(), (epoch, set.clone()));
        }
        set
    }

    /// An account's cached organization levels, if they were built at `epoch`.
    pub fn org_levels(&self, account: &str, epoch: i64) -> Option<Arc<OrgLevels>> {
        let map = self.orgs.read().ok()?;
        match map.get(account) {
            Some((e, levels)) if *e == epoch => Some(levels.clone()),
            _ => None,
        }
    }

    /// Compiles and remembers an account's organization levels for `epoch`.
    pub fn store_org_levels(
        &self,
        account: &str,
        epoch: i64,
        view: Option<OrgView>,
        closed: bool,
    ) -> Arc<OrgLevels> {
        let levels = Arc::new(match view {
            Some(v) => OrgLevels {
                scp: self.levels(&v.scp, PolicyKind::Scp),
                rcp: self.levels(&v.rcp, PolicyKind::Rcp),
                org_id: Some(v.org_id),
                path: Some(v.path),
                management: Some(v.management),
                closed,
            },
            None => OrgLevels {
                closed,
                ..OrgLevels::default()
            },
        });
        if let Ok(mut map) = self.orgs.write() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(account.to_string(), (epoch, levels.clone()));
        }
        levels
    }

    fn levels(&self, levels: &[Level], kind: PolicyKind) -> Vec<OrgLevel> {
        levels
            .iter()
            .map(|(target, policies)| OrgLevel {
                target: target.clone(),
                layer: self.layer(policies, kind),
            })
            .collect()
    }

    /// The caller's set with a resource policy added.
    pub fn with_resource(&self, caller: &PolicySet, resource: &ResourcePolicy) -> PolicySet {
        let mut set = caller.clone();
        let named = NamedPolicy {
            name: resource.name.clone(),
            document: resource.document.clone(),
        };
        set.resource = Some(self.layer(std::slice::from_ref(&named), resource.kind));
        set.resource_policy_required = resource.required;
        set
    }

    fn layer(&self, policies: &[NamedPolicy], kind: PolicyKind) -> PolicyLayer {
        PolicyLayer::new(
            policies
                .iter()
                .filter_map(|p| self.compiled(p, kind))
                .collect(),
        )
    }

    /// A compiled document; stored documents were validated when written, so a parse
    /// failure here means a damaged store: the policy is left out (it grants nothing).
    fn compiled(&self, p: &NamedPolicy, kind: PolicyKind) -> Option<Arc<Policy>> {
        let key = DocKey {
            kind: kind as u8,
            name: p.name.clone(),
            text: p.document.clone(),
        };
        if let Some(hit) = self.compiled.read().ok()?.get(&key) {
            return Some(hit.clone());
        }
        let parsed = match Policy::parse(&p.document, kind) {
            Ok(policy) => Arc::new(policy.with_name(p.name.clone())),
            Err(err) => {
                tracing::error!(policy = %p.name, error = %err, "stored policy does not parse; ignored");
                return None;
            }
        };
        if let Ok(mut map) = self.compiled.write() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(key, parsed.clone());
        }
        Some(parsed)
    }
}
