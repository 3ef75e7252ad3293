//! Policy generation: `StartPolicyGeneration`, `GetGeneratedPolicy`, `ListPolicyGenerations`,
//! `CancelPolicyGeneration`.
//!
//! The generation reads Rampart's own audit trail (the caller's account, the window
//! `startTime`..`endTime`) in the route's preparation, before the write transaction, at most
//! [`MAX_RECORDS`] records (`isComplete` is false when the cap cut it short). The job is stored
//! already `SUCCEEDED`; the `trails` and `accessRole` given are recorded and echoed, not read.

use chrono::{DateTime, Duration, Utc};
use rampart_kit::{
    context::{CallContext, Preparation},
    db::Db,
    entity,
    error::ServiceError,
    input::opt_str,
    page,
    timestamp::ts,
};
use rampart_store::{Entity, LookupQuery, Store, MAX_PAGE};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    analyzers::max_results,
    error::{invalid, AaResult},
    model,
    policygen::{self, Actions, Principal},
    Op,
};

/// Most audit records one generation reads.
pub const MAX_RECORDS: usize = 100_000;

/// How far back the window reaches when `cloudTrailDetails` is absent.
const DEFAULT_DAYS: i64 = 90;

/// A stored policy generation job.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JobDoc {
    /// The job id.
    pub job_id: String,
    /// The role or user.
    pub principal_arn: String,
    /// `SUCCEEDED` (generation finishes within the request).
    pub status: String,
    /// When the job started and completed.
    pub started_on: DateTime<Utc>,
    /// When the job completed.
    pub completed_on: DateTime<Utc>,
    /// The window read.
    pub start_time: DateTime<Utc>,
    /// The window's end.
    pub end_time: DateTime<Utc>,
    /// The `trails` given, recorded as `TrailProperties`.
    pub trails: Vec<Value>,
    /// The `accessRole` given.
    pub access_role: Option<String>,
    /// The actions found.
    pub actions: Actions,
    /// Whether every record of the window was read.
    pub complete: bool,
}

/// What the preparation found.
#[derive(Debug, Clone)]
struct Generated {
    actions: Actions,
    complete: bool,
}

/// A timestamp member (epoch seconds).
fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let secs = v?.as_f64()?;
    DateTime::from_timestamp_millis((secs * 1000.0) as i64)
}

/// The validated principal ARN, its matcher and the window of a `StartPolicyGeneration`.
fn request(
    input: &Value,
    ctx: &CallContext,
) -> AaResult<(String, Principal, DateTime<Utc>, DateTime<Utc>)> {
    let arn = input
        .pointer("/policyGenerationDetails/principalArn")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("policyGenerationDetails.principalArn is required"))?;
    let principal =
        Principal::of_arn(arn).ok_or_else(|| invalid(format!("Invalid principalArn: {arn}")))?;
    let account = &ctx.principal.account_id;
    if arn.split(':').nth(4) != Some(account.as_str()) {
        return Err(invalid(format!(
            "The principal {arn} is not in account {account}"
        )));
    }
    let details = input.get("cloudTrailDetails");
    let start = match details {
        Some(d) => time(d.get("startTime")).ok_or_else(|| invalid("startTime is required"))?,
        None => ctx.now - Duration::days(DEFAULT_DAYS),
    };
    let end = details
        .and_then(|d| time(d.get("endTime")))
        .unwrap_or(ctx.now)
        .min(ctx.now);
    if start >= end {
        return Err(invalid("startTime must be before endTime"));
    }
    Ok((arn.to_string(), principal, start, end))
}

/// `StartPolicyGeneration`'s preparation: reads the audit trail of the window.
pub async fn prepare(
    _op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> AaResult<Option<Preparation>> {
    let (_, principal, start, end) = request(input, ctx)?;
    let mut query = LookupQuery {
        account_id: Some(ctx.principal.account_id.clone()),
        start_time: Some(start),
        end_time: Some(end),
        max_results: MAX_PAGE,
        ..Default::default()
    };
    let mut actions = Actions::new();
    let mut read = 0usize;
    let complete = loop {
        let page = store.lookup_events(&query).await?;
        for e in &page.events {
            policygen::note(&mut actions, &principal, &e.record.event_json);
        }
        read += page.events.len();
        match page.next_token {
            None => break true,
            Some(_) if read >= MAX_RECORDS => break false,
            next => query.next_token = next,
        }
    };
    let found = Generated { actions, complete };
    Ok(Some(Preparation::new(move || Ok(found))))
}

/// `StartPolicyGeneration`: stores the job with what the preparation found.
pub async fn start(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let (arn, _, start_time, end_time) = request(input, ctx)?;
    let found = ctx
        .prepared
        .as_ref()
        .and_then(|p| p.get::<Generated>())
        .ok_or_else(ServiceError::internal)?
        .clone();
    let details = input.get("cloudTrailDetails");
    let trails = details
        .and_then(|d| d.get("trails"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let doc = JobDoc {
        job_id: ctx.request_id.clone(),
        principal_arn: arn,
        status: "SUCCEEDED".into(),
        started_on: ctx.now,
        completed_on: ctx.now,
        start_time,
        end_time,
        trails,
        access_role: details
            .and_then(|d| opt_str(d, "accessRole"))
            .map(str::to_string),
        actions: found.actions,
        complete: found.complete,
    };
    let account = ctx.principal.account_id.clone();
    db.entities()
        .create(&Entity {
            account_id: account.clone(),
            kind: model::POLICY_GENERATION.into(),
            name: doc.job_id.clone(),
            name_key: doc.job_id.clone(),
            id: format!("{}/{}", model::POLICY_GENERATION, doc.job_id),
            path: format!("/{}/", ctx.region),
            arn: format!(
                "arn:aws:access-analyzer:{}:{account}:policy-generation/{}",
                ctx.region, doc.job_id
            ),
            created_at: ctx.now,
            updated_at: ctx.now,
            doc: entity::to_text(&doc)?,
        })
        .await?;
    Ok(json!({ "jobId": doc.job_id }))
}

/// The stored job a request's `jobId` names.
async fn job(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> AaResult<(Entity, JobDoc)> {
    let id = opt_str(input, "jobId").unwrap_or_default();
    let e = db
        .entities()
        .get(&ctx.principal.account_id, model::POLICY_GENERATION, id)
        .await?
        .filter(|e| e.path == format!("/{}/", ctx.region))
        .ok_or_else(|| invalid(format!("Invalid jobId: {id}")))?;
    let doc = entity::read_doc(&e)?;
    Ok((e, doc))
}

/// `JobDetails` / `PolicyGeneration` members of a job.
fn summary(doc: &JobDoc) -> Value {
    json!({
        "jobId": doc.job_id,
        "principalArn": doc.principal_arn,
        "status": doc.status,
        "startedOn": ts(doc.started_on),
        "completedOn": ts(doc.completed_on),
    })
}

/// `GetGeneratedPolicy`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let (_, doc) = job(input, ctx, &mut db).await?;
    let mut details = summary(&doc);
    if let Some(o) = details.as_object_mut() {
        o.remove("principalArn");
    }
    let mut result = json!({
        "properties": {
            "isComplete": doc.complete,
            "principalArn": doc.principal_arn,
            "cloudTrailProperties": {
                "trailProperties": doc.trails,
                "startTime": ts(doc.start_time),
                "endTime": ts(doc.end_time),
            },
        },
    });
    // `includeResourcePlaceholders` and `includeServiceLevelTemplate` are accepted; every
    // statement is on `*` (Rampart has no catalogue of each action's resource types).
    let policy = policygen::policy(&doc.actions);
    if let Some(o) = result.as_object_mut() {
        o.insert(
            "generatedPolicies".into(),
            json!([{ "policy": policy.to_string() }]),
        );
    }
    Ok(json!({ "jobDetails": details, "generatedPolicyResult": result }))
}

/// `ListPolicyGenerations`: the jobs of the region, optionally of one principal, oldest first.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let account = ctx.principal.account_id.clone();
    let path = format!("/{}/", ctx.region);
    let only = opt_str(input, "principalArn");
    let mut jobs = Vec::new();
    for e in model::all(&mut db, &account, model::POLICY_GENERATION, &path).await? {
        let doc: JobDoc = entity::read_doc(&e)?;
        if only.is_none_or(|p| p == doc.principal_arn) {
            jobs.push(doc);
        }
    }
    jobs.sort_by(|a, b| (a.started_on, &a.job_id).cmp(&(b.started_on, &b.job_id)));
    let items: Vec<Value> = jobs.iter().map(summary).collect();
    let page = page::at_offset(items, opt_str(input, "nextToken"), max_results(input))
        .ok_or_else(|| invalid("Invalid nextToken"))?;
    let mut out = json!({ "policyGenerations": page.items });
    if let (Some(next), Some(o)) = (page.next, out.as_object_mut()) {
        o.insert("nextToken".into(), json!(next));
    }
    Ok(out)
}

/// `CancelPolicyGeneration`: a job that has finished stays as it is (generation completes
/// within `StartPolicyGeneration`, so none is ever in progress).
pub async fn cancel(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    job(input, ctx, &mut db).await?;
    Ok(json!({}))
}
