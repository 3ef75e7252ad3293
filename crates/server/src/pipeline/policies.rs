//! Compiled policies for the authorizer, cached so that a request does not parse JSON.
//!
//! Two caches, neither of which can serve stale permissions:
//! - compiled documents and their one-document layers, keyed by their exact text (a changed
//!   policy is a different key);
//! - the caller's policy set, keyed by access key and the store's authorization epoch, which
//!   every permission-changing transaction bumps (so a change takes effect on the next request,
//!   on every node sharing the database).

use std::{
    collections::{hash_map::RandomState, HashMap},
    hash::BuildHasher,
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
    compiled: Documents,
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

/// Compiled documents, each with the layer of it alone (a resource policy's layer), found by a
/// hash of (kind, name, text) and confirmed by comparing them: a lookup copies nothing (it
/// copied the name and the whole document to build a key, and built the resource policy's
/// layer again, on every call that has a resource policy: two per `GetSecretValue`).
#[derive(Debug, Default)]
struct Documents {
    hasher: RandomState,
    by_hash: RwLock<HashMap<u64, Vec<Arc<Document>>>>,
}

/// One compiled document.
#[derive(Debug)]
struct Document {
    kind: PolicyKind,
    name: String,
    text: String,
    policy: Arc<Policy>,
    alone: PolicyLayer,
}

impl Documents {
    fn hash(&self, kind: PolicyKind, name: &str, text: &str) -> u64 {
        self.hasher.hash_one((kind as u8, name, text))
    }

    fn get(&self, kind: PolicyKind, name: &str, text: &str) -> Option<Arc<Document>> {
        let map = self.by_hash.read().ok()?;
        map.get(&self.hash(kind, name, text))?
            .iter()
            .find(|d| d.kind == kind && d.name == name && d.text == text)
            .cloned()
    }

    fn insert(&self, doc: Arc<Document>) {
        let h = self.hash(doc.kind, &doc.name, &doc.text);
        if let Ok(mut map) = self.by_hash.write() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.entry(h).or_default().push(doc);
        }
    }
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
        set.resource = Some(
            self.document(&resource.name, &resource.document, resource.kind)
                .map(|d| d.alone.clone())
                .unwrap_or_default(),
        );
        set.resource_policy_required = resource.required;
        set
    }

    fn layer(&self, policies: &[NamedPolicy], kind: PolicyKind) -> PolicyLayer {
        PolicyLayer::new(
            policies
                .iter()
                .filter_map(|p| self.document(&p.name, &p.document, kind))
                .map(|d| d.policy.clone())
                .collect(),
        )
    }

    /// A compiled document; stored documents were validated when written, so a parse
    /// failure here means a damaged store: the policy is left out (it grants nothing).
    fn document(&self, name: &str, text: &str, kind: PolicyKind) -> Option<Arc<Document>> {
        if let Some(hit) = self.compiled.get(kind, name, text) {
            return Some(hit);
        }
        let policy = match Policy::parse(text, kind) {
            Ok(policy) => Arc::new(policy.with_name(name.to_string())),
            Err(err) => {
                tracing::error!(policy = %name, error = %err, "stored policy does not parse; ignored");
                return None;
            }
        };
        let doc = Arc::new(Document {
            kind,
            name: name.to_string(),
            text: text.to_string(),
            alone: PolicyLayer::new(vec![policy.clone()]),
            policy,
        });
        self.compiled.insert(doc.clone());
        Some(doc)
    }
}
