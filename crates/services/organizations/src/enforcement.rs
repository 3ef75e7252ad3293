//! What the authorizer needs from an account's organization: its SCP and RCP levels from the
//! root down to the account, the organization id and path (`aws:PrincipalOrgID`,
//! `aws:PrincipalOrgPaths`, and their `Resource` twins), and whether the account is closed.
//!
//! The server caches a view per account and authorization epoch; every organization change
//! bumps the epoch, so the next request sees it.

use rampart_store::{AccountStatus, Store};

use super::{
    common::{org_of, Res},
    model::{self, RootDoc},
    policies, tree,
};
use rampart_kit::{authz::NamedPolicy, db::Db, entity::read_doc};

/// One level (root, OU or account) and the policies of one type attached there.
pub type Level = (String, Vec<NamedPolicy>);

/// An account's place in its organization, as the authorizer uses it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgView {
    /// The organization id (`aws:PrincipalOrgID` / `aws:ResourceOrgID`).
    pub org_id: String,
    /// The management account (exempt from SCPs and RCPs).
    pub management: String,
    /// `o-.../r-.../ou-.../` (`aws:PrincipalOrgPaths` / `aws:ResourceOrgPaths`).
    pub path: String,
    /// SCP levels, root first, account last (empty when SCPs are not enabled).
    pub scp: Vec<Level>,
    /// RCP levels, root first, account last (empty when RCPs are not enabled).
    pub rcp: Vec<Level>,
}

/// The account's status as far as acting is concerned: closed accounts' principals cannot act.
pub async fn is_closed(store: &Store, account: &str) -> Res<bool> {
    Ok(store
        .accounts()
        .get(account)
        .await?
        .is_some_and(|a| a.status != AccountStatus::Active))
}

/// The organization view of `account`, or `None` when it is in no organization.
pub async fn view(store: &Store, account: &str) -> Res<Option<OrgView>> {
    view_in(&mut Db::Read(store), account).await
}

/// The organization view of `account` as `db` sees it (inside a transaction: with its own
/// uncommitted changes), or `None` when it is in no organization.
pub async fn view_in(db: &mut Db<'_>, account: &str) -> Res<Option<OrgView>> {
    let Some(org) = org_of(db, account).await? else {
        return Ok(None);
    };
    let path = tree::path_to(db, &org, account).await?;
    let root = tree::root(db, &org).await?;
    let types = read_doc::<RootDoc>(&root)?.policy_types;
    let mut org_path = format!("{}/", org.id);
    for id in path.iter().take(path.len().saturating_sub(1)) {
        org_path.push_str(id);
        org_path.push('/');
    }
    let mut v = OrgView {
        org_id: org.id.clone(),
        management: org.management.clone(),
        path: org_path,
        scp: Vec::new(),
        rcp: Vec::new(),
    };
    for (policy_type, levels) in [(model::SCP, &mut v.scp), (model::RCP, &mut v.rcp)] {
        if !types.iter().any(|t| t == policy_type) {
            continue;
        }
        for target in &path {
            let attached = policies::attached(db, &org, target, policy_type).await?;
            levels.push((
                target.clone(),
                attached
                    .into_iter()
                    .map(|(e, d)| NamedPolicy {
                        name: e.name,
                        document: d.content,
                    })
                    .collect(),
            ));
        }
    }
    Ok(Some(v))
}
