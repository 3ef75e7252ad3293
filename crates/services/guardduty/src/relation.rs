//! How GuardDuty stores an organization's administration and its members: the shared records
//! of `rampart_organizations::service_members` under GuardDuty's own kinds.
//!
//! - The delegated administrator of an organization in a region is an entity of kind
//!   [`ORG_ADMIN`] in the organization's management account, keyed by the region.
//! - A member is an entity of kind [`MEMBER`] in the administrator's account; the member
//!   account holds a link [`LINK_ADMINISTRATOR`] from the region to its administrator, so
//!   either side finds the relation in one lookup. Cross-account reads of findings follow
//!   only these records.

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, error::ServiceError};
use rampart_organizations::service_members::Relations;
pub use rampart_organizations::service_members::{
    AdminDoc, MemberDoc, CREATED, DISABLED, ENABLED, INVITED, REMOVED, RESIGNED,
};
use rampart_store::Entity;

use crate::model::{self, Detector};

/// The entity kind of an organization's administrator in a region.
pub const ORG_ADMIN: &str = "guardduty:org-admin";
/// The entity kind of a member of an administrator.
pub const MEMBER: &str = "guardduty:member";
/// Link (in a member account): region -> administrator account.
pub const LINK_ADMINISTRATOR: &str = "guardduty:administrator";

/// GuardDuty's relation records.
pub const RELATIONS: Relations = Relations {
    org_admin: ORG_ADMIN,
    member: MEMBER,
    link: LINK_ADMINISTRATOR,
};

/// The organization's administrator record in `region`, if any.
pub async fn org_admin(
    db: &mut Db<'_>,
    management: &str,
    region: &str,
) -> Result<Option<(Entity, AdminDoc)>, ServiceError> {
    RELATIONS.org_admin(db, management, region).await
}

/// Every administrator record of the organization (one per region at most).
pub async fn org_admins(
    db: &mut Db<'_>,
    management: &str,
) -> Result<Vec<(Entity, AdminDoc)>, ServiceError> {
    RELATIONS.org_admins(db, management).await
}

/// Writes an administrator record (created or replaced).
pub async fn put_org_admin(
    db: &mut Db<'_>,
    management: &str,
    region: &str,
    doc: &AdminDoc,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    RELATIONS
        .put_org_admin(db, management, region, doc, now)
        .await
}

/// The member record of `account` under `admin` in `region`, if any.
pub async fn member(
    db: &mut Db<'_>,
    admin: &str,
    region: &str,
    account: &str,
) -> Result<Option<(Entity, MemberDoc)>, ServiceError> {
    RELATIONS.member(db, admin, region, account).await
}

/// Every member record of `admin` in `region`, in account order.
pub async fn members(
    db: &mut Db<'_>,
    admin: &str,
    region: &str,
) -> Result<Vec<(Entity, MemberDoc)>, ServiceError> {
    RELATIONS.members(db, admin, region).await
}

/// Writes a member record and the member's link to its administrator.
pub async fn put_member(
    db: &mut Db<'_>,
    admin: &str,
    doc: &MemberDoc,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    RELATIONS.put_member(db, admin, doc, now).await
}

/// Deletes a member record and the member's link.
pub async fn delete_member(
    db: &mut Db<'_>,
    admin: &str,
    region: &str,
    account: &str,
) -> Result<(), ServiceError> {
    RELATIONS.delete_member(db, admin, region, account).await
}

/// The administrator of `account` in `region` and its member record, if it has one (see
/// [`Relations::administrator_of`]).
pub async fn administrator_of(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
) -> Result<Option<(String, Entity, MemberDoc)>, ServiceError> {
    RELATIONS.administrator_of(db, account, region).await
}

/// Every member record naming `account` in `region`, with its administrator.
pub async fn relations_of(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
) -> Result<Vec<(String, Entity, MemberDoc)>, ServiceError> {
    RELATIONS.relations_of(db, account, region).await
}

/// The detectors of the administrator's enabled members in `region`: whose findings the
/// administrator's detector covers. An organization member counts only while it is in the
/// administrator's organization.
pub async fn monitored(
    db: &mut Db<'_>,
    admin: &str,
    region: &str,
) -> Result<Vec<Detector>, ServiceError> {
    let mut out = Vec::new();
    for m in RELATIONS.enabled_members(db, admin, region).await? {
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
