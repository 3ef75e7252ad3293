//! The credential report: one CSV row per IAM user plus the root user, with AWS's columns,
//! generated on request and kept (like AWS) for four hours.

use super::Op;
use base64::Engine;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rampart_store::{AccessKey, Entity, KeyStatus, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{
    account::all,
    common::{find, read_doc, save_doc, to_text, ts, IamError, Res},
    mfa_device::enabled_for,
    model::USER,
    passwords::{login_of, policy_of, PasswordPolicy},
    signing_certs::{CertDoc, SIGNING_CERT},
    user_items,
};
use rampart_kit::{
    authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError, Partition,
};

/// Entity kind of the account's last credential report (name key `report`).
pub const CREDENTIAL_REPORT: &str = "iam:credential-report";
/// How long a report is served before a new one is generated (AWS: four hours).
pub const REPORT_TTL_HOURS: i64 = 4;

/// AWS's columns, in order.
pub const COLUMNS: [&str; 22] = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
];

/// The authorization entry of an operation of this family (both on `*`).
pub async fn authz(
    op: Op,
    _input: &Value,
    ctx: &CallContext,
    _store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    Ok(Some(AuthzRequest::on_any(
        &format!("iam:{}", op.name()),
        &ctx.principal.account_id,
    )))
}

/// The stored report.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ReportDoc {
    generated_at: DateTime<Utc>,
    csv: String,
}

fn fresh(doc: &ReportDoc, now: DateTime<Utc>) -> bool {
    now - doc.generated_at < Duration::hours(REPORT_TTL_HOURS)
}

pub async fn generate(ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let existing = find(db, account, CREDENTIAL_REPORT, "report").await?;
    if let Some(e) = &existing {
        let doc: ReportDoc = read_doc(e)?;
        if fresh(&doc, ctx.now) {
            return Ok(json!({"State": "COMPLETE"}));
        }
    }
    let doc = ReportDoc {
        generated_at: ctx.now,
        csv: build(ctx.partition(), db, account).await?,
    };
    match existing {
        Some(e) => save_doc(db, e, &doc, ctx.now).await?,
        None => {
            let e = Entity {
                account_id: account.clone(),
                kind: CREDENTIAL_REPORT.into(),
                name: "report".into(),
                name_key: "report".into(),
                id: format!("credential-report:{account}"),
                path: "/".into(),
                arn: String::new(),
                created_at: ctx.now,
                updated_at: ctx.now,
                doc: to_text(&doc)?,
            };
            db.entities().create(&e).await?;
        }
    }
    // Rampart builds the report at once; the first call still answers as AWS's does.
    Ok(json!({
        "State": "STARTED",
        "Description": "No report exists. Starting a new report generation task",
    }))
}

pub async fn get(ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let Some(e) = find(db, account, CREDENTIAL_REPORT, "report").await? else {
        return Err(IamError::ReportNotPresent(
            "Credential report not present. Use GenerateCredentialReport to generate one.".into(),
        )
        .into());
    };
    let doc: ReportDoc = read_doc(&e)?;
    if !fresh(&doc, ctx.now) {
        return Err(IamError::ReportExpired(
            "The credential report has expired. Use GenerateCredentialReport to generate a new one."
                .into(),
        )
        .into());
    }
    Ok(json!({
        "Content": base64::engine::general_purpose::STANDARD.encode(doc.csv.as_bytes()),
        "ReportFormat": "text/csv",
        "GeneratedTime": ts(doc.generated_at),
    }))
}

/// A report timestamp, as AWS writes them (`2024-01-02T03:04:05+00:00`).
fn when(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn na() -> String {
    "N/A".into()
}

/// The five columns of the `i`th key: active, last rotated, last used date, region, service.
fn key_columns(keys: &[AccessKey], i: usize) -> [String; 5] {
    match keys.get(i) {
        None => ["false".into(), na(), na(), na(), na()],
        Some(k) => {
            let (date, region, service) = match &k.last_used {
                Some(l) => (when(l.at), l.region.clone(), l.service.clone()),
                None => (na(), na(), na()),
            };
            [
                (k.status == KeyStatus::Active).to_string(),
                when(k.created_at),
                date,
                region,
                service,
            ]
        }
    }
}

/// One principal's row.
struct Row {
    user: String,
    arn: String,
    created: DateTime<Utc>,
    password: [String; 4],
    mfa: bool,
    keys: Vec<AccessKey>,
    /// The user's signing certificates, oldest first: active, uploaded.
    certs: Vec<(bool, DateTime<Utc>)>,
}

impl Row {
    fn cells(&self) -> Vec<String> {
        let mut c = vec![self.user.clone(), self.arn.clone(), when(self.created)];
        c.extend(self.password.iter().cloned());
        c.push(self.mfa.to_string());
        c.extend(key_columns(&self.keys, 0));
        c.extend(key_columns(&self.keys, 1));
        c.extend(cert_columns(&self.certs, 0));
        c.extend(cert_columns(&self.certs, 1));
        c
    }
}

/// The two columns of the `i`th signing certificate: active, last rotated (its upload).
fn cert_columns(certs: &[(bool, DateTime<Utc>)], i: usize) -> [String; 2] {
    match certs.get(i) {
        None => ["false".into(), na()],
        Some((active, at)) => [active.to_string(), when(*at)],
    }
}

/// A user's signing certificates, oldest first.
async fn signing_certs(db: &mut Db<'_>, user: &Entity) -> Res<Vec<(bool, DateTime<Utc>)>> {
    let mut certs: Vec<(Entity, CertDoc)> = user_items::list(db, SIGNING_CERT, user).await?;
    certs.sort_by_key(|(e, _)| e.created_at);
    Ok(certs
        .into_iter()
        .map(|(e, d)| (d.status == "Active", e.created_at))
        .collect())
}

async fn long_term_keys(db: &mut Db<'_>, account: &str, owner: &str) -> Res<Vec<AccessKey>> {
    let mut keys: Vec<AccessKey> = db
        .credentials()
        .list_for_principal(account, owner)
        .await?
        .into_iter()
        .filter(|k| k.session.is_none())
        .collect();
    keys.sort_by_key(|k| k.created_at);
    Ok(keys)
}

/// The password columns of a user: enabled, last used, last changed, next rotation.
async fn password_cells(
    db: &mut Db<'_>,
    account: &str,
    user_id: &str,
    policy: Option<&PasswordPolicy>,
) -> Res<[String; 4]> {
    Ok(match login_of(db, account, user_id).await? {
        None => ["false".into(), na(), na(), na()],
        Some((_, d)) => [
            "true".into(),
            d.last_used
                .map(when)
                .unwrap_or_else(|| "no_information".into()),
            when(d.changed_at),
            d.expires_at(policy).map(when).unwrap_or_else(na),
        ],
    })
}

/// The CSV text of the account's report: the root user first, then users by name.
pub async fn build(partition: Partition, db: &mut Db<'_>, account: &str) -> Res<String> {
    let policy = policy_of(db, account).await?.map(|(_, p)| p);
    let created = db
        .accounts()
        .get(account)
        .await?
        .map(|a| a.created_at)
        .unwrap_or_else(Utc::now);
    let root_used = login_of(db, account, account)
        .await?
        .and_then(|(_, d)| d.last_used)
        .map(when)
        .unwrap_or_else(|| "no_information".into());
    let mut rows = vec![Row {
        user: "<root_account>".into(),
        arn: partition.root_arn(account),
        created,
        password: [
            "not_supported".into(),
            root_used,
            "not_supported".into(),
            "not_supported".into(),
        ],
        mfa: !enabled_for(db, account, account).await?.is_empty(),
        keys: long_term_keys(db, account, account).await?,
        certs: Vec::new(),
    }];
    for u in all(db, account, USER).await? {
        rows.push(Row {
            password: password_cells(db, account, &u.id, policy.as_ref()).await?,
            mfa: !enabled_for(db, account, &u.id).await?.is_empty(),
            keys: long_term_keys(db, account, &u.id).await?,
            certs: signing_certs(db, &u).await?,
            user: u.name,
            arn: u.arn,
            created: u.created_at,
        });
    }
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for r in rows {
        out.push_str(&r.cells().join(","));
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_have_every_column() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let r = Row {
            user: "<root_account>".into(),
            arn: Partition::Aws.root_arn("111122223333"),
            created: now,
            password: [
                "not_supported".into(),
                "no_information".into(),
                "not_supported".into(),
                "not_supported".into(),
            ],
            mfa: true,
            keys: Vec::new(),
            certs: vec![(false, now)],
        };
        let cells = r.cells();
        assert_eq!(cells.len(), COLUMNS.len());
        assert_eq!(cells[2], "2023-11-14T22:13:20+00:00");
        assert_eq!(cells[7], "true");
        assert_eq!(cells[8], "false");
        assert_eq!(cells[9], "N/A");
        assert_eq!(
            cells[18..],
            ["false", "2023-11-14T22:13:20+00:00", "false", "N/A"]
        );
    }
}
