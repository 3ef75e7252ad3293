//! Completes `CreateAccount` requests after the request's own transaction: AWS's
//! `CreateAccount` is asynchronous (`DescribeCreateAccountStatus` goes from `IN_PROGRESS` to
//! `SUCCEEDED` or `FAILED`), and so is Rampart's. The server runs [`run_pending`] in the
//! background.
//!
//! A new account gets its root user (with one access key, whose secret is returned once so
//! the operator can hand it over, as the bootstrap does for the management account) and the
//! role the request named (`OrganizationAccountAccessRole` by default) with
//! `AdministratorAccess`, trusted by the management account. Each completed request commits
//! with its `CreateAccountResult` service event in the management account's trail.
//!
//! A `CreateGovCloudAccount` request also allocates the id of the paired account in the
//! `aws-us-gov` partition and records the pairing (the request's `GovCloudAccountId`, the
//! member record, a store link that keeps the id unique). That account belongs to another
//! partition, so another installation: this one hands its id over in [`NewAccount::govcloud`]
//! (the server writes it beside the commercial root key), and an `aws-us-gov` installation
//! started with it creates it (docs/ORGANIZATIONS.md).

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_store::{
    AccessKey, Account, AccountStatus, Entity, KeyStatus, Lease, Principal as KeyOwner,
    PrincipalKind, Store, Zeroizing,
};
use serde_json::json;

use super::{
    common::{org_of, Res},
    model::{self, CreateStatusDoc, MemberDoc},
    policies, tree,
};
use rampart_cloudtrail::service_event::ServiceEvent;
use rampart_iam::{
    common::aws_managed,
    model::{self as iam_model, RoleDoc},
};
use rampart_kit::{
    db::Db,
    entity::{bump, read_doc, save_doc, to_text},
    ids, Partition,
};

/// An account the provisioner created, with its root user's first access key.
pub struct NewAccount {
    /// The account id.
    pub account_id: String,
    /// The root user's access key id.
    pub access_key_id: String,
    /// The root user's secret access key (shown once).
    pub secret_access_key: Zeroizing<String>,
    /// The paired `aws-us-gov` account of a `CreateGovCloudAccount` request.
    pub govcloud: Option<GovCloudAccount>,
}

/// The `aws-us-gov` account a `CreateGovCloudAccount` request paired with a new commercial
/// account: what an `aws-us-gov` installation needs to create it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovCloudAccount {
    /// Its account id (`GovCloudAccountId`).
    pub account_id: String,
    /// The commercial account it is paired with.
    pub paired_account_id: String,
    /// The email both accounts share.
    pub email: String,
    /// The account name.
    pub name: String,
    /// The role the request named.
    pub role_name: String,
    /// The commercial organization's management account.
    pub management_account_id: String,
}

/// Completes every pending `CreateAccount` request at `now`, each in its own transaction
/// (which, under a job `lease`, commits only while the lease is current); the new accounts'
/// ARNs are in `partition`.
pub async fn run_pending(
    store: &Store,
    partition: Partition,
    now: DateTime<Utc>,
    lease: Option<&Lease>,
) -> Res<Vec<NewAccount>> {
    let pending = store
        .links()
        .sources(model::LINK_PENDING, model::PENDING)
        .await?;
    let mut created = Vec::new();
    for (management, request_id) in pending {
        let mut tx = store.begin_fenced(lease).await?;
        let outcome = complete(
            &mut Db::Write(&mut tx),
            partition,
            &management,
            &request_id,
            now,
        )
        .await?;
        let status = match &outcome {
            Some(_) => Db::Write(&mut tx)
                .entities()
                .get(&management, model::CREATE_STATUS, &request_id)
                .await?
                .map(|e| read_doc::<CreateStatusDoc>(&e))
                .transpose()?,
            None => None,
        };
        if let Some(d) = status {
            tx.append_audit(&result_event(&management, &request_id, &d, now))
                .await?;
        }
        tx.commit().await?;
        if let Some(Some(n)) = outcome {
            created.push(n);
        }
    }
    Ok(created)
}

/// Organizations' `CreateAccountResult` service event for a finished request.
fn result_event(
    management: &str,
    request_id: &str,
    d: &CreateStatusDoc,
    now: DateTime<Utc>,
) -> rampart_store::AuditRecord {
    let ts = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut status = json!({
        "id": request_id,
        "state": d.state,
        "accountName": "***",
        "requestedTimestamp": ts(d.requested_at),
        "completedTimestamp": ts(now),
    });
    if let Some(obj) = status.as_object_mut() {
        if let Some(id) = &d.account_id {
            obj.insert("accountId".into(), json!(id));
        }
        if let Some(id) = &d.govcloud_account_id {
            obj.insert("govCloudAccountId".into(), json!(id));
        }
        if let Some(reason) = &d.failure_reason {
            obj.insert("failureReason".into(), json!(reason));
        }
    }
    ServiceEvent {
        source: "organizations.amazonaws.com",
        name: "CreateAccountResult",
        account_id: management,
        region: "us-east-1",
        time: now,
        resources: Vec::new(),
        details: Some(json!({ "createAccountStatus": status })),
    }
    .to_record()
}

/// Completes one request: `None` when another run claimed it, `Some(None)` when it failed,
/// `Some(Some(_))` when an account was created.
async fn complete(
    db: &mut Db<'_>,
    partition: Partition,
    management: &str,
    request_id: &str,
    now: DateTime<Utc>,
) -> Res<Option<Option<NewAccount>>> {
    // Claim the request: with several nodes on one database only one removes the link.
    if !db
        .links()
        .remove(management, model::LINK_PENDING, request_id, model::PENDING)
        .await?
    {
        return Ok(None);
    }
    let Some(e) = db
        .entities()
        .get(management, model::CREATE_STATUS, request_id)
        .await?
    else {
        return Ok(None);
    };
    let mut d: CreateStatusDoc = read_doc(&e)?;
    let Some(org) = org_of(db, management).await?.filter(|o| o.id == d.org_id) else {
        return fail(db, e, d, "INTERNAL_FAILURE", now).await.map(Some);
    };
    if db.accounts().get_by_email(&d.email).await?.is_some() {
        return fail(db, e, d, "EMAIL_ALREADY_EXISTS", now).await.map(Some);
    }
    let account_id = fresh_account_id(db).await?;
    db.accounts()
        .create(&Account {
            id: account_id.clone(),
            name: d.account_name.clone(),
            email: d.email.clone(),
            status: AccountStatus::Active,
            is_management: false,
            created_at: now,
        })
        .await?;
    let access_key_id =
        ids::access_key_id(false).map_err(|_| rampart_kit::error::ServiceError::internal())?;
    let secret = Zeroizing::new(
        ids::secret_access_key().map_err(|_| rampart_kit::error::ServiceError::internal())?,
    );
    db.credentials()
        .create(
            &AccessKey {
                access_key_id: access_key_id.clone(),
                principal: KeyOwner {
                    account_id: account_id.clone(),
                    kind: PrincipalKind::Root,
                    id: account_id.clone(),
                    arn: partition.root_arn(&account_id),
                },
                status: KeyStatus::Active,
                created_at: now,
                last_used: None,
                session: None,
            },
            &secret,
        )
        .await?;
    create_access_role(db, partition, &account_id, management, &d.role_name, now).await?;
    let govcloud = if d.govcloud {
        Some(pair_govcloud(db, management, &account_id).await?)
    } else {
        None
    };
    let member = MemberDoc {
        org_id: org.id.clone(),
        parent_id: org.doc.root_id.clone(),
        joined_method: "CREATED".into(),
        joined_at: now,
        tags: d.tags.clone(),
        delegations: Default::default(),
        govcloud_account_id: govcloud.clone(),
    };
    tree::add_member(db, &org, &account_id, &member, now).await?;
    policies::attach_defaults(db, &org, &account_id).await?;
    d.state = "SUCCEEDED".into();
    d.completed_at = Some(now);
    d.account_id = Some(account_id.clone());
    d.govcloud_account_id = govcloud.clone();
    let govcloud = govcloud.map(|id| GovCloudAccount {
        account_id: id,
        paired_account_id: account_id.clone(),
        email: d.email.clone(),
        name: d.account_name.clone(),
        role_name: d.role_name.clone(),
        management_account_id: management.to_string(),
    });
    save_doc(db, e, &d, now).await?;
    bump(db).await?;
    Ok(Some(Some(NewAccount {
        account_id,
        access_key_id,
        secret_access_key: secret,
        govcloud,
    })))
}

/// Allocates the id of the `aws-us-gov` account paired with `account` and links the two in
/// `management`'s records: an id no account of this store has and no other pairing took.
async fn pair_govcloud(db: &mut Db<'_>, management: &str, account: &str) -> Res<String> {
    for _ in 0..16 {
        let id = fresh_account_id(db).await?;
        let taken = !db
            .links()
            .sources(model::LINK_GOVCLOUD, &id)
            .await?
            .is_empty();
        if !taken && id != account {
            db.links()
                .add(management, model::LINK_GOVCLOUD, account, &id)
                .await?;
            return Ok(id);
        }
    }
    Err(rampart_kit::error::ServiceError::internal())
}

async fn fail(
    db: &mut Db<'_>,
    e: Entity,
    mut d: CreateStatusDoc,
    reason: &str,
    now: DateTime<Utc>,
) -> Res<Option<NewAccount>> {
    d.state = "FAILED".into();
    d.completed_at = Some(now);
    d.failure_reason = Some(reason.into());
    save_doc(db, e, &d, now).await?;
    Ok(None)
}

async fn fresh_account_id(db: &mut Db<'_>) -> Res<String> {
    for _ in 0..16 {
        let id = ids::account_id().map_err(|_| rampart_kit::error::ServiceError::internal())?;
        if db.accounts().get(&id).await?.is_none() {
            return Ok(id);
        }
    }
    Err(rampart_kit::error::ServiceError::internal())
}

/// The role the management account administers the new account through.
async fn create_access_role(
    db: &mut Db<'_>,
    partition: Partition,
    account: &str,
    management: &str,
    name: &str,
    now: chrono::DateTime<Utc>,
) -> Res<()> {
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"sts:AssumeRole"}}]}}"#,
        partition.root_arn(management)
    );
    let doc = RoleDoc {
        assume_role_policy: trust,
        max_session_duration: 3600,
        ..RoleDoc::default()
    };
    let role = Entity {
        account_id: account.to_string(),
        kind: iam_model::ROLE.into(),
        name: name.to_string(),
        name_key: iam_model::name_key(name),
        id: ids::unique_id("AROA").map_err(|_| rampart_kit::error::ServiceError::internal())?,
        path: "/".into(),
        arn: iam_model::arn(partition, account, "role", "/", name),
        created_at: now,
        updated_at: now,
        doc: to_text(&doc)?,
    };
    db.entities().create(&role).await?;
    db.links()
        .add(
            account,
            iam_model::LINK_ATTACHED,
            &role.id,
            &aws_managed::policy_arn(partition, "AdministratorAccess"),
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_kit::test_support;
    use serde_json::Value;

    async fn org_call(
        store: &Store,
        ctx: &rampart_kit::CallContext,
        op: &str,
        input: Value,
    ) -> Res<Value> {
        crate::Op::from_name(op)
            .and_then(crate::route)
            .expect("routed")
            .call_unaudited(input, ctx, store)
            .await
    }

    #[tokio::test]
    async fn a_govcloud_request_pairs_a_new_account_of_the_other_partition() {
        let (store, dir) = test_support::store().await;
        let mgmt = test_support::root_context();
        store
            .accounts()
            .create(&Account {
                id: mgmt.principal.account_id.clone(),
                name: "management".into(),
                email: "m@example.com".into(),
                status: AccountStatus::Active,
                is_management: true,
                created_at: mgmt.now,
            })
            .await
            .unwrap();
        org_call(
            &store,
            &mgmt,
            "CreateOrganization",
            json!({"FeatureSet": "ALL"}),
        )
        .await
        .unwrap();
        // Another partition's server does not serve it, and records nothing.
        let mut gov = test_support::root_context();
        gov.region = "us-gov-west-1".into();
        let input = json!({"Email": "gov@example.com", "AccountName": "gov"});
        let err = org_call(&store, &gov, "CreateGovCloudAccount", input.clone())
            .await
            .unwrap_err();
        assert_eq!(err.code, "UnsupportedAPIEndpointException");
        assert!(run_pending(&store, Partition::Aws, mgmt.now, None)
            .await
            .unwrap()
            .is_empty());

        let plain = org_call(
            &store,
            &mgmt,
            "CreateAccount",
            json!({"Email": "p@example.com", "AccountName": "p"}),
        )
        .await
        .unwrap();
        let started = org_call(&store, &mgmt, "CreateGovCloudAccount", input)
            .await
            .unwrap();
        assert_eq!(started["CreateAccountStatus"]["State"], "IN_PROGRESS");
        let created = run_pending(&store, Partition::Aws, mgmt.now, None)
            .await
            .unwrap();
        assert_eq!(created.len(), 2);
        let paired = created.iter().find_map(|n| n.govcloud.clone()).unwrap();
        assert_eq!(created.iter().filter(|n| n.govcloud.is_some()).count(), 1);
        assert_eq!(paired.email, "gov@example.com");
        assert_eq!(paired.management_account_id, mgmt.principal.account_id);
        assert_ne!(paired.account_id, paired.paired_account_id);
        assert!(store
            .accounts()
            .get(&paired.account_id)
            .await
            .unwrap()
            .is_none());

        let id = started["CreateAccountStatus"]["Id"].clone();
        let done = org_call(
            &store,
            &mgmt,
            "DescribeCreateAccountStatus",
            json!({"CreateAccountRequestId": id}),
        )
        .await
        .unwrap();
        let status = &done["CreateAccountStatus"];
        assert_eq!(status["State"], "SUCCEEDED");
        assert_eq!(status["AccountId"], json!(paired.paired_account_id));
        assert_eq!(status["GovCloudAccountId"], json!(paired.account_id));
        let id = plain["CreateAccountStatus"]["Id"].clone();
        let done = org_call(
            &store,
            &mgmt,
            "DescribeCreateAccountStatus",
            json!({"CreateAccountRequestId": id}),
        )
        .await
        .unwrap();
        assert!(done["CreateAccountStatus"]
            .get("GovCloudAccountId")
            .is_none());
        // The pairing is kept with the member and keeps the id from being given again.
        let pairs = store
            .links()
            .sources(model::LINK_GOVCLOUD, &paired.account_id)
            .await
            .unwrap();
        assert_eq!(
            pairs,
            vec![(
                paired.management_account_id.clone(),
                paired.paired_account_id.clone()
            )]
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
