//! Policy generation's operations: `StartPolicyGeneration`, `GetGeneratedPolicy`,
//! `ListPolicyGenerations`, `CancelPolicyGeneration`.
//!
//! `StartPolicyGeneration` stores the job `IN_PROGRESS` with an entry in the due index
//! ([`model::GENERATION_DUE`]); the server's `access-analyzer-policy-generation` job reads the
//! audit trail and completes it ([`crate::generation_run`]). A job whose `endTime` is still to
//! come waits for it. The `trails` and `accessRole` given are recorded and echoed, not read.

use chrono::{DateTime, Duration, Utc};
use rampart_kit::{
    context::CallContext, db::Db, entity, input::opt_str, page, timestamp::ts,
    trail_principal::TrailPrincipal,
};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    analyzers::max_results,
    error::{invalid, AaResult, AnalyzerError},
    model,
    policygen::{self, Actions, Resources},
};

/// How far back the window reaches when `cloudTrailDetails` is absent, and the longest window
/// (AWS's "policy generation CloudTrail time range" quota).
const MAX_DAYS: i64 = 90;

/// AWS's "policy generations per day" quota (canceled generations count).
pub const PER_DAY: usize = 50;

/// `IN_PROGRESS`.
pub const IN_PROGRESS: &str = "IN_PROGRESS";

/// A stored policy generation job.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JobDoc {
    /// The job id.
    pub job_id: String,
    /// The role or user.
    pub principal_arn: String,
    /// `IN_PROGRESS`, `SUCCEEDED`, `FAILED` or `CANCELED`.
    pub status: String,
    /// When the job started.
    pub started_on: DateTime<Utc>,
    /// When the job completed (succeeded, failed or was canceled).
    #[serde(default)]
    pub completed_on: Option<DateTime<Utc>>,
    /// The window read.
    pub start_time: DateTime<Utc>,
    /// The window's end.
    pub end_time: DateTime<Utc>,
    /// The `trails` given, recorded as `TrailProperties`.
    pub trails: Vec<Value>,
    /// The `accessRole` given.
    pub access_role: Option<String>,
    /// The actions found (once `SUCCEEDED`).
    pub actions: Actions,
    /// The resources each action was called on (jobs stored before: none).
    #[serde(default)]
    pub resources: Resources,
    /// Whether every record of the window was read.
    pub complete: bool,
    /// The `clientToken` given.
    #[serde(default)]
    pub client_token: Option<String>,
    /// The `JobError` of a `FAILED` job: code and message.
    #[serde(default)]
    pub error: Option<(String, String)>,
}

/// A timestamp member (epoch seconds).
fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let secs = v?.as_f64()?;
    DateTime::from_timestamp_millis((secs * 1000.0) as i64)
}

/// The validated principal ARN and window of a `StartPolicyGeneration`. An `endTime` still to
/// come is kept: the job waits for it.
fn request(input: &Value, ctx: &CallContext) -> AaResult<(String, DateTime<Utc>, DateTime<Utc>)> {
    let arn = input
        .pointer("/policyGenerationDetails/principalArn")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("policyGenerationDetails.principalArn is required"))?;
    TrailPrincipal::of_arn(arn).ok_or_else(|| invalid(format!("Invalid principalArn: {arn}")))?;
    let account = &ctx.principal.account_id;
    if arn.split(':').nth(4) != Some(account.as_str()) {
        return Err(invalid(format!(
            "The principal {arn} is not in account {account}"
        )));
    }
    let details = input.get("cloudTrailDetails");
    let start = match details {
        Some(d) => time(d.get("startTime")).ok_or_else(|| invalid("startTime is required"))?,
        None => ctx.now - Duration::days(MAX_DAYS),
    };
    let end = details
        .and_then(|d| time(d.get("endTime")))
        .unwrap_or(ctx.now);
    if start >= end {
        return Err(invalid("startTime must be before endTime"));
    }
    if end - start > Duration::days(MAX_DAYS) {
        return Err(invalid(format!(
            "The time range between startTime and endTime must not exceed {MAX_DAYS} days"
        )));
    }
    Ok((arn.to_string(), start, end))
}

/// The region's jobs of the caller's account.
async fn jobs(ctx: &CallContext, db: &mut Db<'_>) -> AaResult<Vec<JobDoc>> {
    let path = format!("/{}/", ctx.region);
    let mut out = Vec::new();
    for e in model::all(
        db,
        &ctx.principal.account_id,
        model::POLICY_GENERATION,
        &path,
    )
    .await?
    {
        out.push(entity::read_doc::<JobDoc>(&e)?);
    }
    Ok(out)
}

/// `StartPolicyGeneration`: records the job `IN_PROGRESS` and marks it due. The same
/// `clientToken` answers the same job; one job may be in progress per account and region, and
/// [`PER_DAY`] may start per day.
pub async fn start(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let (arn, start_time, end_time) = request(input, ctx)?;
    let token = opt_str(input, "clientToken").map(str::to_string);
    let existing = jobs(ctx, &mut db).await?;
    if let Some(same) = existing
        .iter()
        .find(|j| token.is_some() && j.client_token == token)
    {
        return Ok(json!({ "jobId": same.job_id }));
    }
    if let Some(running) = existing.iter().find(|j| j.status == IN_PROGRESS) {
        return Err(AnalyzerError::ServiceQuotaExceededException(
            "Concurrent policy generations quota exceeded: a policy generation is in progress"
                .into(),
            running.job_id.clone(),
            "PolicyGeneration".into(),
        )
        .into());
    }
    let today = existing
        .iter()
        .filter(|j| j.started_on > ctx.now - Duration::days(1))
        .count();
    if today >= PER_DAY {
        return Err(AnalyzerError::ServiceQuotaExceededException(
            format!("Policy generations per day quota ({PER_DAY}) exceeded"),
            ctx.principal.account_id.clone(),
            "PolicyGeneration".into(),
        )
        .into());
    }
    let details = input.get("cloudTrailDetails");
    let trails = details
        .and_then(|d| d.get("trails"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let doc = JobDoc {
        job_id: ctx.request_id.clone(),
        principal_arn: arn,
        status: IN_PROGRESS.into(),
        started_on: ctx.now,
        completed_on: None,
        start_time,
        end_time,
        trails,
        access_role: details
            .and_then(|d| opt_str(d, "accessRole"))
            .map(str::to_string),
        actions: Actions::new(),
        resources: Resources::new(),
        complete: false,
        client_token: token,
        error: None,
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
            arn: ctx.partition().arn(
                "access-analyzer",
                &ctx.region,
                &account,
                &format!("policy-generation/{}", doc.job_id),
            ),
            created_at: ctx.now,
            updated_at: ctx.now,
            doc: entity::to_text(&doc)?,
        })
        .await?;
    let due = model::generation_due_key(&account, &doc.job_id);
    db.entities()
        .create(&Entity {
            account_id: model::SYSTEM_ACCOUNT.into(),
            kind: model::GENERATION_DUE.into(),
            name: due.clone(),
            name_key: due.clone(),
            id: format!("{}/{due}", model::GENERATION_DUE),
            path: "/".into(),
            arn: String::new(),
            created_at: ctx.now,
            updated_at: ctx.now,
            doc: String::new(),
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
    let mut out = json!({
        "jobId": doc.job_id,
        "principalArn": doc.principal_arn,
        "status": doc.status,
        "startedOn": ts(doc.started_on),
    });
    if let (Some(at), Some(o)) = (doc.completed_on, out.as_object_mut()) {
        o.insert("completedOn".into(), json!(ts(at)));
    }
    out
}

/// `GetGeneratedPolicy`: the job's status; the policy once it has `SUCCEEDED`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let (_, doc) = job(input, ctx, &mut db).await?;
    let mut details = summary(&doc);
    if let Some(o) = details.as_object_mut() {
        o.remove("principalArn");
        if let Some((code, message)) = &doc.error {
            o.insert(
                "jobError".into(),
                json!({ "code": code, "message": message }),
            );
        }
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
    // `includeResourcePlaceholders` scopes the actions called on named resources to them;
    // `includeServiceLevelTemplate` is accepted without effect (every action is listed).
    if doc.status == "SUCCEEDED" {
        let placeholders = input
            .get("includeResourcePlaceholders")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let policy = policygen::policy(&doc.actions, placeholders.then_some(&doc.resources));
        if let Some(o) = result.as_object_mut() {
            o.insert(
                "generatedPolicies".into(),
                json!([{ "policy": policy.to_string() }]),
            );
        }
    }
    Ok(json!({ "jobDetails": details, "generatedPolicyResult": result }))
}

/// `ListPolicyGenerations`: the jobs of the region, optionally of one principal, oldest first.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let only = opt_str(input, "principalArn");
    let mut jobs: Vec<JobDoc> = jobs(ctx, &mut db)
        .await?
        .into_iter()
        .filter(|j| only.is_none_or(|p| p == j.principal_arn))
        .collect();
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

/// `CancelPolicyGeneration`: an `IN_PROGRESS` job becomes `CANCELED` and leaves the due index
/// (a run reading its trail meanwhile discards what it read); a finished job stays as it is.
pub async fn cancel(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> AaResult<Value> {
    let (e, mut doc) = job(input, ctx, &mut db).await?;
    // Only while the job is still due: once the run has taken its entry, the run decides.
    if doc.status == IN_PROGRESS
        && model::take_generation_due(&mut db, &ctx.principal.account_id, &doc.job_id).await?
    {
        doc.status = "CANCELED".into();
        doc.completed_on = Some(ctx.now);
        entity::save_doc(&mut db, e, &doc, ctx.now).await?;
    }
    Ok(json!({}))
}
