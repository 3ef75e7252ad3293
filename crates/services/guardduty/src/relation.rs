//! How GuardDuty stores an organization's administration and its members.
//!
//! - The delegated administrator of an organization in a region is an entity of kind
//!   [`ORG_ADMIN`] in the organization's management account, keyed by the region; its
//!   document holds the admin account and the organization's auto-enable setting.
//! - A member is an entity of kind [`MEMBER`] in the administrator's account, keyed by
//!   `REGION/ACCOUNT` under the path `/REGION/`; the member account holds a link
//!   [`LINK_ADMINISTRATOR`] from the region to its administrator, so either side finds the
//!   relation in one lookup. Cross-account reads of findings follow only these records.

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_organizations::common::org_of;
use rampart_store::Entity;
use serde::{Deserialize, Serialize};

use crate::model::{self, Detector};

/// The entity kind of an organization's administrator in a region.
pub const ORG_ADMIN: &str = "guardduty:org-admin";
/// The entity kind of a member of an administrator.
pub const MEMBER: &str = "guardduty:member";
/// Link (in a member account): region -> administrator account.
pub const LINK_ADMINISTRATOR: &str = "guardduty:administrator";

/// `RelationshipStatus` of a member added for an invitation not yet sent.
pub const CREATED: &str = "Created";
/// `RelationshipStatus` of a member invited and not yet answering.
pub const INVITED: &str = "Invited";
/// `RelationshipStatus` of a member that disassociated itself.
pub const RESIGNED: &str = "Resigned";
/// `RelationshipStatus` of a member whose findings the administrator sees.
pub const ENABLED: &str = "Enabled";
/// `RelationshipStatus` of a member whose monitoring is stopped.
pub const DISABLED: &str = "Disabled";
/// `RelationshipStatus` of a disassociated member.
pub const REMOVED: &str = "Removed";

/// An organization's delegated administrator in a region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdminDoc {
    /// The administrator account.
    pub admin: String,
    /// `AutoEnableOrganizationMembers`: `NEW`, `ALL` or `NONE`.
    pub auto_enable: String,
    /// When it was enabled.
    pub enabled_at: Option<DateTime<Utc>>,
    /// When `auto_enable` was last set: joins before it are not its to act on.
    #[serde(default)]
    pub auto_enable_since: Option<DateTime<Utc>>,
}

/// A member of an administrator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberDoc {
    /// The member account.
    pub account: String,
    /// The region of the relation.
    pub region: String,
    /// `Email`.
    pub email: String,
    /// `RelationshipStatus`.
    pub status: String,
    /// Whether the member came from the organization (not from an invitation).
    pub by_organization: bool,
    /// The id of the invitation last sent, if any.
    #[serde(default)]
    pub invitation_id: Option<String>,
    /// When the invitation was sent.
    #[serde(default)]
    pub invited_at: Option<DateTime<Utc>>,
}

/// The name key of a member record.
pub fn member_key(region: &str, account: &str) -> String {
    format!("{region}/{account}")
}

/// The organization's administrator record in `region`, if any.
pub async fn org_admin(
    db: &mut Db<'_>,
    management: &str,
    region: &str,
) -> Result<Option<(Entity, AdminDoc)>, ServiceError> {
    entity::load_doc(db, management, ORG_ADMIN, region).await
}

/// Every administrator record of the organization (one per region at most).
pub async fn org_admins(
    db: &mut Db<'_>,
    management: &str,
) -> Result<Vec<(Entity, AdminDoc)>, ServiceError> {
    let page = db
        .entities()
        .list(management, ORG_ADMIN, "/", None, 500)
        .await?;
    let mut out = Vec::new();
    for e in page.items {
        let doc = entity::read_doc(&e)?;
        out.push((e, doc));
    }
    Ok(out)
}

/// Writes an administrator record (created or replaced).
pub async fn put_org_admin(
    db: &mut Db<'_>,
    management: &str,
    region: &str,
    doc: &AdminDoc,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if let Some((e, _)) = org_admin(db, management, region).await? {
        return entity::save_doc(db, e, doc, now).await;
    }
    let mut e = new_entity(management, ORG_ADMIN, region, "/", now);
    entity::write_doc(&mut e, doc, now)?;
    db.entities().create(&e).await?;
    Ok(())
}

fn new_entity(account: &str, kind: &str, key: &str, path: &str, now: DateTime<Utc>) -> Entity {
    Entity {
        account_id: account.to_string(),
        kind: kind.into(),
        name: key.to_string(),
        name_key: key.to_string(),
        id: model::new_id(),
        path: path.into(),
        arn: String::new(),
        created_at: now,
        updated_at: now,
        doc: String::new(),
    }
}

/// The member record of `account` under `admin` in `region`, if any.
pub async fn member(
    db: &mut Db<'_>,
    admin: &str,
    region: &str,
    account: &str,
) -> Result<Option<(Entity, MemberDoc)>, ServiceError> {
    entity::load_doc(db, admin, MEMBER, &member_key(region, account)).await
}

/// Every member record of `admin` in `region`, in account order.
pub async fn members(
    db: &mut Db<'_>,
    admin: &str,
    region: &str,
) -> Result<Vec<(Entity, MemberDoc)>, ServiceError> {
    let path = format!("/{region}/");
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db
            .entities()
            .list(admin, MEMBER, &path, after.as_deref(), 500)
            .await?;
        after = page.items.last().map(|e| e.name_key.clone());
        for e in page.items {
            let doc = entity::read_doc(&e)?;
            out.push((e, doc));
        }
        if !page.truncated {
            return Ok(out);
        }
    }
}

/// Writes a member record and the member's link to its administrator.
pub async fn put_member(
    db: &mut Db<'_>,
    admin: &str,
    doc: &MemberDoc,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    match member(db, admin, &doc.region, &doc.account).await? {
        Some((e, _)) => entity::save_doc(db, e, doc, now).await?,
        None => {
            let key = member_key(&doc.region, &doc.account);
            let path = format!("/{}/", doc.region);
            let mut e = new_entity(admin, MEMBER, &key, &path, now);
            entity::write_doc(&mut e, doc, now)?;
            db.entities().create(&e).await?;
        }
    }
    db.links()
        .add(&doc.account, LINK_ADMINISTRATOR, &doc.region, admin)
        .await?;
    Ok(())
}

/// Deletes a member record and the member's link.
pub async fn delete_member(
    db: &mut Db<'_>,
    admin: &str,
    region: &str,
    account: &str,
) -> Result<(), ServiceError> {
    db.entities()
        .delete(admin, MEMBER, &member_key(region, account))
        .await?;
    db.links()
        .remove(account, LINK_ADMINISTRATOR, region, admin)
        .await?;
    Ok(())
}

/// The administrator of `account` in `region` and its member record, if it has one: the
/// relation that is `Enabled` or `Disabled` first, else any other that is not an unanswered
/// invitation (`Created`, `Invited`).
pub async fn administrator_of(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
) -> Result<Option<(String, Entity, MemberDoc)>, ServiceError> {
    let mut best: Option<(u8, (String, Entity, MemberDoc))> = None;
    for (admin, e, m) in relations_of(db, account, region).await? {
        let rank = match m.status.as_str() {
            ENABLED => 0,
            DISABLED => 1,
            CREATED | INVITED => continue,
            _ => 2,
        };
        if best.as_ref().is_none_or(|(r, _)| rank < *r) {
            best = Some((rank, (admin, e, m)));
        }
    }
    Ok(best.map(|(_, found)| found))
}

/// Every member record naming `account` in `region`, with its administrator.
pub async fn relations_of(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
) -> Result<Vec<(String, Entity, MemberDoc)>, ServiceError> {
    let mut out = Vec::new();
    for admin in db
        .links()
        .targets(account, LINK_ADMINISTRATOR, region)
        .await?
    {
        if let Some((e, doc)) = member(db, &admin, region, account).await? {
            out.push((admin, e, doc));
        }
    }
    Ok(out)
}

/// The detectors of the administrator's enabled members in `region`: whose findings the
/// administrator's detector covers. An organization member counts only while it is in the
/// administrator's organization.
pub async fn monitored(
    db: &mut Db<'_>,
    admin: &str,
    region: &str,
) -> Result<Vec<Detector>, ServiceError> {
    let all = members(db, admin, region).await?;
    if all.is_empty() {
        return Ok(Vec::new());
    }
    let org = org_of(db, admin).await?.map(|o| o.id);
    let mut out = Vec::new();
    for (_, m) in all {
        if m.status != ENABLED {
            continue;
        }
        if m.by_organization && org_of(db, &m.account).await?.map(|o| o.id) != org {
            continue;
        }
        if let Some(d) = model::detector_in(db, &m.account, region).await? {
            out.push(d);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::detectors;

    const ADMIN: &str = "111111111111";
    const A: &str = "222222222222";
    const B: &str = "333333333333";

    fn doc(account: &str, status: &str) -> MemberDoc {
        MemberDoc {
            account: account.into(),
            region: "us-east-1".into(),
            email: String::new(),
            status: status.into(),
            by_organization: true,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn only_enabled_members_are_seen_and_both_sides_find_the_relation() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let mut tx = store.begin().await.unwrap();
        let mut db = Db::Write(&mut tx);
        let now = Utc::now();
        let a_det = detectors::ensure_enabled(&mut db, A, "us-east-1", now)
            .await
            .unwrap();
        detectors::ensure_enabled(&mut db, B, "us-east-1", now)
            .await
            .unwrap();
        put_member(&mut db, ADMIN, &doc(A, ENABLED), now)
            .await
            .unwrap();
        put_member(&mut db, ADMIN, &doc(B, DISABLED), now)
            .await
            .unwrap();
        let seen: Vec<String> = monitored(&mut db, ADMIN, "us-east-1")
            .await
            .unwrap()
            .iter()
            .map(|d| d.id().to_string())
            .collect();
        assert_eq!(seen, vec![a_det]);
        // Another region's relation is another relation.
        assert!(monitored(&mut db, ADMIN, "eu-west-1")
            .await
            .unwrap()
            .is_empty());
        let (admin, _, m) = administrator_of(&mut db, A, "us-east-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((admin.as_str(), m.status.as_str()), (ADMIN, ENABLED));
        assert!(administrator_of(&mut db, A, "eu-west-1")
            .await
            .unwrap()
            .is_none());
        // Deleting the member ends the relation on both sides.
        delete_member(&mut db, ADMIN, "us-east-1", A).await.unwrap();
        assert!(administrator_of(&mut db, A, "us-east-1")
            .await
            .unwrap()
            .is_none());
        assert!(monitored(&mut db, ADMIN, "us-east-1")
            .await
            .unwrap()
            .is_empty());
        // A member's own detector is turned on, not replaced.
        let again = detectors::ensure_enabled(&mut db, B, "us-east-1", now)
            .await
            .unwrap();
        assert_eq!(members(&mut db, ADMIN, "us-east-1").await.unwrap().len(), 1);
        assert_eq!(
            model::detector_in(&mut db, B, "us-east-1")
                .await
                .unwrap()
                .unwrap()
                .id(),
            again
        );
        drop(tx);
        let _ = std::fs::remove_dir_all(dir);
    }
}
