//! An AWS service's organization administration and members, as GuardDuty and Security Hub
//! keep them: the organization's administrator for the service in a region, the
//! administrator's member accounts and their relationship status, and the member's link back
//! to its administrator. Each service stores its own records under its own kinds
//! ([`Relations`]); the rules of who may see whose findings stay in the service.
//!
//! - The delegated administrator of an organization in a region is an entity of kind
//!   `org_admin` in the organization's management account, keyed by the region; its document
//!   holds the admin account and the organization's auto-enable setting.
//! - A member is an entity of kind `member` in the administrator's account, keyed by
//!   `REGION/ACCOUNT` under the path `/REGION/`; the member account holds a link `link` from
//!   the region to its administrator, so either side finds the relation in one lookup.

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};

use crate::common::org_of;

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

/// The entity kinds and link one service keeps its relations under.
#[derive(Debug, Clone, Copy)]
pub struct Relations {
    /// The kind of an organization's administrator record (in the management account).
    pub org_admin: &'static str,
    /// The kind of a member record (in the administrator's account).
    pub member: &'static str,
    /// The link (in a member account): region -> administrator account.
    pub link: &'static str,
}

/// An organization's delegated administrator in a region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdminDoc {
    /// The administrator account.
    pub admin: String,
    /// Which accounts are enabled as they join: `NEW`, `ALL` or `NONE`.
    pub auto_enable: String,
    /// When it was enabled.
    pub enabled_at: Option<DateTime<Utc>>,
    /// When `auto_enable` was last set: joins before it are not its to act on.
    #[serde(default)]
    pub auto_enable_since: Option<DateTime<Utc>>,
    /// A service's further setting for accounts it enables (Security Hub's
    /// `AutoEnableStandards`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_enable_standards: Option<String>,
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
    /// `RelationshipStatus` (one of this module's constants).
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

/// A new id (an invitation's).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn new_entity(account: &str, kind: &str, key: &str, path: &str, now: DateTime<Utc>) -> Entity {
    Entity {
        account_id: account.to_string(),
        kind: kind.into(),
        name: key.to_string(),
        name_key: key.to_string(),
        id: new_id(),
        path: path.into(),
        arn: String::new(),
        created_at: now,
        updated_at: now,
        doc: String::new(),
    }
}

impl Relations {
    /// The organization's administrator record in `region`, if any.
    pub async fn org_admin(
        &self,
        db: &mut Db<'_>,
        management: &str,
        region: &str,
    ) -> Result<Option<(Entity, AdminDoc)>, ServiceError> {
        entity::load_doc(db, management, self.org_admin, region).await
    }

    /// Every administrator record of the organization (one per region at most).
    pub async fn org_admins(
        &self,
        db: &mut Db<'_>,
        management: &str,
    ) -> Result<Vec<(Entity, AdminDoc)>, ServiceError> {
        let page = db
            .entities()
            .list(management, self.org_admin, "/", None, 500)
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
        &self,
        db: &mut Db<'_>,
        management: &str,
        region: &str,
        doc: &AdminDoc,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        if let Some((e, _)) = self.org_admin(db, management, region).await? {
            return entity::save_doc(db, e, doc, now).await;
        }
        let mut e = new_entity(management, self.org_admin, region, "/", now);
        entity::write_doc(&mut e, doc, now)?;
        db.entities().create(&e).await?;
        Ok(())
    }

    /// The administrator `account` is of its organization in `region`, with the
    /// organization's management account and the record, if it is one.
    pub async fn administered_by(
        &self,
        db: &mut Db<'_>,
        account: &str,
        region: &str,
    ) -> Result<Option<(crate::common::Org, AdminDoc)>, ServiceError> {
        let Some(org) = org_of(db, account).await? else {
            return Ok(None);
        };
        match self.org_admin(db, &org.management, region).await? {
            Some((_, a)) if a.admin == account => Ok(Some((org, a))),
            _ => Ok(None),
        }
    }

    /// The member record of `account` under `admin` in `region`, if any.
    pub async fn member(
        &self,
        db: &mut Db<'_>,
        admin: &str,
        region: &str,
        account: &str,
    ) -> Result<Option<(Entity, MemberDoc)>, ServiceError> {
        entity::load_doc(db, admin, self.member, &member_key(region, account)).await
    }

    /// Every member record of `admin` in `region`, in account order.
    pub async fn members(
        &self,
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
                .list(admin, self.member, &path, after.as_deref(), 500)
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
        &self,
        db: &mut Db<'_>,
        admin: &str,
        doc: &MemberDoc,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        match self.member(db, admin, &doc.region, &doc.account).await? {
            Some((e, _)) => entity::save_doc(db, e, doc, now).await?,
            None => {
                let key = member_key(&doc.region, &doc.account);
                let path = format!("/{}/", doc.region);
                let mut e = new_entity(admin, self.member, &key, &path, now);
                entity::write_doc(&mut e, doc, now)?;
                db.entities().create(&e).await?;
            }
        }
        db.links()
            .add(&doc.account, self.link, &doc.region, admin)
            .await?;
        Ok(())
    }

    /// Deletes a member record and the member's link.
    pub async fn delete_member(
        &self,
        db: &mut Db<'_>,
        admin: &str,
        region: &str,
        account: &str,
    ) -> Result<(), ServiceError> {
        db.entities()
            .delete(admin, self.member, &member_key(region, account))
            .await?;
        db.links().remove(account, self.link, region, admin).await?;
        Ok(())
    }

    /// The administrator of `account` in `region` and its member record, if it has one: the
    /// relation that is `Enabled` or `Disabled` first, else any other that is not an
    /// unanswered invitation (`Created`, `Invited`).
    pub async fn administrator_of(
        &self,
        db: &mut Db<'_>,
        account: &str,
        region: &str,
    ) -> Result<Option<(String, Entity, MemberDoc)>, ServiceError> {
        let mut best: Option<(u8, (String, Entity, MemberDoc))> = None;
        for (admin, e, m) in self.relations_of(db, account, region).await? {
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
        &self,
        db: &mut Db<'_>,
        account: &str,
        region: &str,
    ) -> Result<Vec<(String, Entity, MemberDoc)>, ServiceError> {
        let mut out = Vec::new();
        for admin in db.links().targets(account, self.link, region).await? {
            if let Some((e, doc)) = self.member(db, &admin, region, account).await? {
                out.push((admin, e, doc));
            }
        }
        Ok(out)
    }

    /// The administrator's `Enabled` members in `region` (whose findings it sees); an
    /// organization member counts only while it is in the administrator's organization.
    pub async fn enabled_members(
        &self,
        db: &mut Db<'_>,
        admin: &str,
        region: &str,
    ) -> Result<Vec<MemberDoc>, ServiceError> {
        let all = self.members(db, admin, region).await?;
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
            out.push(m);
        }
        Ok(out)
    }

    /// The administrator that sees `account`'s findings in `region` (an `Enabled` relation,
    /// an organization one only while both are in the organization), if any.
    pub async fn enabled_administrator(
        &self,
        db: &mut Db<'_>,
        account: &str,
        region: &str,
    ) -> Result<Option<String>, ServiceError> {
        let Some((admin, _, m)) = self.administrator_of(db, account, region).await? else {
            return Ok(None);
        };
        if m.status != ENABLED {
            return Ok(None);
        }
        if m.by_organization {
            let theirs = org_of(db, &admin).await?.map(|o| o.id);
            if theirs.is_none() || org_of(db, account).await?.map(|o| o.id) != theirs {
                return Ok(None);
            }
        }
        Ok(Some(admin))
    }

    /// Whether `account` has an administrator other than `admin` in `region` (an `Enabled` or
    /// `Disabled` relation): an account has one at a time.
    pub async fn held_by_other(
        &self,
        db: &mut Db<'_>,
        account: &str,
        region: &str,
        admin: &str,
    ) -> Result<bool, ServiceError> {
        let other = self.administrator_of(db, account, region).await?;
        Ok(other
            .is_some_and(|(a, _, m)| a != admin && (m.status == ENABLED || m.status == DISABLED)))
    }

    /// Makes `account` an `Enabled` organization member of `admin` in `region` (once the
    /// service is on in it).
    pub async fn put_org_member(
        &self,
        db: &mut Db<'_>,
        admin: &str,
        (region, account, email): (&str, &str, &str),
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let doc = MemberDoc {
            account: account.to_string(),
            region: region.to_string(),
            email: email.to_string(),
            status: ENABLED.into(),
            by_organization: true,
            ..Default::default()
        };
        self.put_member(db, admin, &doc, now).await
    }

    /// The member records of `admin` in `region` for `ids`, and the ids it has none for.
    pub async fn named(
        &self,
        db: &mut Db<'_>,
        admin: &str,
        region: &str,
        ids: &[String],
    ) -> Result<(Vec<(Entity, MemberDoc)>, Vec<String>), ServiceError> {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for id in ids {
            match self.member(db, admin, region, id).await? {
                Some(m) => found.push(m),
                None => missing.push(id.clone()),
            }
        }
        Ok((found, missing))
    }

    /// The invitations waiting for `account` in `region`, with who sent them.
    pub async fn invitations_for(
        &self,
        db: &mut Db<'_>,
        account: &str,
        region: &str,
    ) -> Result<Vec<(String, MemberDoc)>, ServiceError> {
        Ok(self
            .relations_of(db, account, region)
            .await?
            .into_iter()
            .filter(|(_, _, m)| m.status == INVITED)
            .map(|(admin, _, m)| (admin, m))
            .collect())
    }

    /// `account` accepts `admin`'s invitation `invitation` in `region`: the member becomes
    /// `Enabled`.
    pub async fn accept(
        &self,
        db: &mut Db<'_>,
        (account, region): (&str, &str),
        admin: &str,
        invitation: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, ServiceError> {
        let current = self.administrator_of(db, account, region).await?;
        if current.is_some_and(|(_, _, m)| m.status == ENABLED || m.status == DISABLED) {
            return Ok(Err(Refusal::HasAdministrator));
        }
        let found = self.member(db, admin, region, account).await?;
        let Some((_, mut m)) = found
            .filter(|(_, m)| m.status == INVITED && m.invitation_id.as_deref() == Some(invitation))
        else {
            return Ok(Err(Refusal::NoInvitation));
        };
        m.status = ENABLED.into();
        self.put_member(db, admin, &m, now).await?;
        Ok(Ok(()))
    }

    /// Withdraws `admin`'s invitation to `account` in `region` (declined or deleted: the
    /// member goes back to `Created`); false when there is none.
    pub async fn withdraw(
        &self,
        db: &mut Db<'_>,
        admin: &str,
        region: &str,
        account: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, ServiceError> {
        let found = self.member(db, admin, region, account).await?;
        let Some((_, mut m)) = found.filter(|(_, m)| m.status == INVITED) else {
            return Ok(false);
        };
        m.status = CREATED.into();
        m.invitation_id = None;
        self.put_member(db, admin, &m, now).await?;
        Ok(true)
    }
}

/// Why an invitation cannot be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The account already has an administrator.
    HasAdministrator,
    /// There is no such invitation waiting.
    NoInvitation,
}
