//! The part of an AWS service's organization administration that GuardDuty, Security Hub
//! and Detective share: the management account's check, what stands in the way of
//! designating an administrator ([`Candidacy`]), the designation itself (registered as
//! Organizations' delegated administrator for the service, and the administrator record of
//! [`crate::service_members`]), its withdrawal, and which accounts joined or left the
//! organization for auto-enable and departures. Each service keeps its own rules on top
//! (one administrator per region or per organization, its error codes and texts).

use chrono::{DateTime, Utc};
use rampart_kit::{context::CallContext, db::Db, error::ServiceError};
use rampart_store::AccountStatus;

use crate::{
    accounts,
    common::{membership, org_of, Org},
    delegated,
    service_members::{AdminDoc, Relations, REMOVED},
};

/// The caller's organization, if the caller is its management account.
pub async fn managed_by_caller(
    db: &mut Db<'_>,
    ctx: &CallContext,
) -> Result<Option<Org>, ServiceError> {
    let org = org_of(db, &ctx.principal.account_id).await?;
    Ok(org.filter(|o| o.management == ctx.principal.account_id))
}

/// Whether `account` is an account of `org`.
pub async fn in_organization(
    db: &mut Db<'_>,
    org: &Org,
    account: &str,
) -> Result<bool, ServiceError> {
    Ok(org_of(db, account).await?.is_some_and(|o| o.id == org.id))
}

/// Whether `account` is closed (pending closure or suspended), or unknown.
pub async fn is_closed(db: &mut Db<'_>, account: &str) -> Result<bool, ServiceError> {
    let found = db.accounts().get(account).await?;
    Ok(found.is_none_or(|a| a.status != AccountStatus::Active))
}

/// Whether `account` is still an active account of `org`: it has not left (or been removed
/// from) the organization, and has not been closed.
pub async fn still_in(db: &mut Db<'_>, org: &Org, account: &str) -> Result<bool, ServiceError> {
    Ok(in_organization(db, org, account).await? && !is_closed(db, account).await?)
}

/// The active accounts of `org` that joined at or after `since`, with when they joined;
/// `except` (the administrator, ...) left out.
pub async fn joined_accounts(
    db: &mut Db<'_>,
    org: &Org,
    since: DateTime<Utc>,
    except: &[&str],
) -> Result<Vec<(String, DateTime<Utc>)>, ServiceError> {
    let mut out = Vec::new();
    for account in accounts::active_ids(db, org).await? {
        if except.contains(&account.as_str()) {
            continue;
        }
        let joined = membership(db, &account).await?.map(|(_, m)| m.joined_at);
        if let Some(t) = joined.filter(|t| *t >= since) {
            out.push((account, t));
        }
    }
    Ok(out)
}

/// What stands in the way of designating an account as a service's administrator of an
/// organization in a region, as [`Relations::candidacy`] finds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidacy {
    /// The account is an account of the organization.
    pub in_organization: bool,
    /// The administrator record of the region, if any.
    pub here: Option<AdminDoc>,
    /// Another account is the service's administrator in some region.
    pub other_elsewhere: bool,
    /// Organizations has another delegated administrator for the service.
    pub other_delegated: bool,
}

impl Candidacy {
    /// Whether the account is the region's administrator already.
    pub fn is_current(&self, admin: &str) -> bool {
        self.here.as_ref().is_some_and(|a| a.admin == admin)
    }
}

impl Relations {
    /// What stands in the way of designating `admin` as the administrator for the service
    /// `principal` (`guardduty.amazonaws.com`) of `org` in `region`.
    pub async fn candidacy(
        &self,
        db: &mut Db<'_>,
        org: &Org,
        admin: &str,
        principal: &str,
        region: &str,
    ) -> Result<Candidacy, ServiceError> {
        let in_organization = in_organization(db, org, admin).await?;
        let current = self.org_admins(db, &org.management).await?;
        let here = current
            .iter()
            .find(|(e, _)| e.name_key == region)
            .map(|(_, d)| d.clone());
        let other_elsewhere = current.iter().any(|(_, d)| d.admin != admin);
        let registered = delegated::registered_for_service(db, org, principal).await?;
        Ok(Candidacy {
            in_organization,
            here,
            other_elsewhere,
            other_delegated: registered.iter().any(|r| r != admin),
        })
    }

    /// Designates `doc.admin` as the service `principal`'s administrator of `org` in
    /// `region`: registered as Organizations' delegated administrator for the service (as AWS
    /// registers it), and the administrator record written.
    pub async fn designate(
        &self,
        db: &mut Db<'_>,
        org: &Org,
        principal: &str,
        region: &str,
        doc: &AdminDoc,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        delegated::register_for_service(db, org, &doc.admin, principal, now).await?;
        self.put_org_admin(db, &org.management, region, doc, now)
            .await
    }

    /// Removes the organization's administrator record in `region` (the registration in
    /// Organizations stays, as in AWS); answers the record removed, if there was one.
    pub async fn remove_administrator(
        &self,
        db: &mut Db<'_>,
        org: &Org,
        region: &str,
    ) -> Result<Option<AdminDoc>, ServiceError> {
        let Some((_, a)) = self.org_admin(db, &org.management, region).await? else {
            return Ok(None);
        };
        db.entities()
            .delete(&org.management, self.org_admin, region)
            .await?;
        Ok(Some(a))
    }

    /// Deletes `admin`'s organization members in `region` (their findings are no longer its
    /// to see once it is not the administrator).
    pub async fn drop_organization_members(
        &self,
        db: &mut Db<'_>,
        admin: &str,
        region: &str,
    ) -> Result<(), ServiceError> {
        for (_, m) in self.members(db, admin, region).await? {
            if m.by_organization {
                self.delete_member(db, admin, region, &m.account).await?;
            }
        }
        Ok(())
    }

    /// `admin`'s organization members in `region` that left `org` or were closed, and are
    /// not `Removed` yet.
    pub async fn departed(
        &self,
        db: &mut Db<'_>,
        org: &Org,
        admin: &str,
        region: &str,
    ) -> Result<Vec<String>, ServiceError> {
        let mut out = Vec::new();
        for (_, m) in self.members(db, admin, region).await? {
            if m.by_organization && m.status != REMOVED && !still_in(db, org, &m.account).await? {
                out.push(m.account);
            }
        }
        Ok(out)
    }

    /// Marks `account`'s membership of `admin` in `region` `Removed` (it left the
    /// organization): the administrator no longer sees its findings.
    pub async fn mark_removed(
        &self,
        db: &mut Db<'_>,
        admin: &str,
        region: &str,
        account: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        if let Some((_, mut m)) = self.member(db, admin, region, account).await? {
            m.status = REMOVED.into();
            self.put_member(db, admin, &m, now).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rampart_kit::{principal::Principal, test_support};
    use rampart_store::{Account, Store};
    use serde_json::{json, Value};

    use super::*;
    use crate::service_members::ENABLED;

    const RELATIONS: Relations = Relations {
        org_admin: "test:org-admin",
        member: "test:member",
        link: "test:administrator",
    };
    const SERVICE: &str = "test.amazonaws.com";

    fn ctx_of(account: &str) -> CallContext {
        test_support::context(Principal::root(
            rampart_kit::Partition::Aws,
            account,
            "AKIATEST",
        ))
    }

    async fn call(store: &Store, ctx: &CallContext, op: &str, input: Value) -> Value {
        crate::Op::from_name(op)
            .and_then(crate::route)
            .expect("routed")
            .call_unaudited(input, ctx, store)
            .await
            .expect(op)
    }

    async fn account(store: &Store, id: &str, management: bool) {
        store
            .accounts()
            .create(&Account {
                id: id.into(),
                name: id.into(),
                email: format!("{id}@example.com"),
                status: AccountStatus::Active,
                is_management: management,
                created_at: Utc::now(),
            })
            .await
            .expect("account");
    }

    /// An organization of `111111111111` (management), `222222222222` and `333333333333`.
    async fn organization(store: &Store) -> Org {
        account(store, "111111111111", true).await;
        let mgmt = ctx_of("111111111111");
        call(
            store,
            &mgmt,
            "CreateOrganization",
            json!({"FeatureSet": "ALL"}),
        )
        .await;
        for id in ["222222222222", "333333333333"] {
            account(store, id, false).await;
            let target = json!({"Target": {"Id": id, "Type": "ACCOUNT"}});
            let h = call(store, &mgmt, "InviteAccountToOrganization", target).await;
            let hid = json!({"HandshakeId": h["Handshake"]["Id"]});
            call(store, &ctx_of(id), "AcceptHandshake", hid).await;
        }
        org_of(&mut Db::Read(store), "111111111111")
            .await
            .expect("read")
            .expect("organization")
    }

    async fn departed(db: &mut Db<'_>, org: &Org) -> Vec<String> {
        RELATIONS
            .departed(db, org, "222222222222", "us-east-1")
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn designation_and_departures_follow_the_organization() {
        let (store, dir) = test_support::store().await;
        let org = organization(&store).await;
        let mut db = Db::Read(&store);
        let mgmt = ctx_of("111111111111");
        assert!(managed_by_caller(&mut db, &mgmt).await.unwrap().is_some());
        assert!(managed_by_caller(&mut db, &ctx_of("222222222222"))
            .await
            .unwrap()
            .is_none());
        let c = RELATIONS
            .candidacy(&mut db, &org, "999999999999", SERVICE, "us-east-1")
            .await
            .unwrap();
        assert!(!c.in_organization);

        let mut tx = store.begin().await.unwrap();
        let mut db = Db::Write(&mut tx);
        let doc = AdminDoc {
            admin: "222222222222".into(),
            auto_enable: "NONE".into(),
            ..Default::default()
        };
        let now = Utc::now();
        RELATIONS
            .designate(&mut db, &org, SERVICE, "us-east-1", &doc, now)
            .await
            .unwrap();
        let c = RELATIONS
            .candidacy(&mut db, &org, "222222222222", SERVICE, "eu-west-1")
            .await
            .unwrap();
        assert!(c.in_organization && c.here.is_none() && !c.other_elsewhere);
        let c = RELATIONS
            .candidacy(&mut db, &org, "333333333333", SERVICE, "us-east-1")
            .await
            .unwrap();
        assert!(c.here.is_some() && !c.is_current("333333333333"));
        assert!(c.other_elsewhere && c.other_delegated);

        // An organization member that is closed has departed; one that stays has not.
        RELATIONS
            .put_org_member(
                &mut db,
                "222222222222",
                ("us-east-1", "333333333333", ""),
                now,
            )
            .await
            .unwrap();
        RELATIONS
            .put_org_member(
                &mut db,
                "222222222222",
                ("us-east-1", "111111111111", ""),
                now,
            )
            .await
            .unwrap();
        assert!(departed(&mut db, &org).await.is_empty());
        db.accounts()
            .set_status("333333333333", AccountStatus::PendingClosure)
            .await
            .unwrap();
        assert_eq!(
            departed(&mut db, &org).await,
            vec!["333333333333".to_string()]
        );
        RELATIONS
            .mark_removed(&mut db, "222222222222", "us-east-1", "333333333333", now)
            .await
            .unwrap();
        assert!(departed(&mut db, &org).await.is_empty());
        let (_, m) = RELATIONS
            .member(&mut db, "222222222222", "us-east-1", "111111111111")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.status, ENABLED);

        let joined = joined_accounts(&mut db, &org, DateTime::UNIX_EPOCH, &["111111111111"])
            .await
            .unwrap();
        assert_eq!(
            joined.into_iter().map(|(a, _)| a).collect::<Vec<_>>(),
            vec!["222222222222".to_string()]
        );

        let removed = RELATIONS
            .remove_administrator(&mut db, &org, "us-east-1")
            .await
            .unwrap();
        assert_eq!(removed.map(|a| a.admin).as_deref(), Some("222222222222"));
        assert!(RELATIONS
            .remove_administrator(&mut db, &org, "us-east-1")
            .await
            .unwrap()
            .is_none());
        tx.commit().await.unwrap();
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
