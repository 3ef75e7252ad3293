//! Rotation strategies built into Rampart, chosen by a reserved `RotationLambdaARN` function
//! name (`arn:aws:lambda:REGION:ACCOUNT:function:rampart-builtin-...`); any other ARN goes to
//! its registered hook ([`super::lambda_hooks`]).
//!
//! - `rampart-builtin-iam-access-keys`: the secret holds a Rampart IAM user's key pair
//!   (`{"UserName", "AccessKeyId", "SecretAccessKey", ...}`). `createSecret` creates a new key
//!   for the user and stores it as `AWSPENDING`; `setSecret` has nothing to do; `testSecret`
//!   signs a `GetCallerIdentity` with the new key and sends it through the request path (SigV4,
//!   authentication, audit), which must answer as that user; `finishSecret` moves
//!   `AWSCURRENT`, then deactivates and deletes the old key.
//!
//! Built-in steps act as Secrets Manager on the owning account's behalf, as AWS's managed
//! rotation does: each operation (Secrets Manager's own, IAM's, the KMS calls sealing the new
//! value) is decided by the one authorizer for the account's root principal, marked as made
//! through Secrets Manager (`aws:ViaAWSService`; `kms:ViaService` for KMS), so the account's
//! SCPs and the KMS key's policy apply. Each such call is audited as AWS records a service's
//! calls for an account: the root principal with `invokedBy` `secretsmanager.amazonaws.com`,
//! with the KMS calls it made; the rotation's service events record each run.

use std::sync::Arc;

use rampart_model::Protocol;
use rampart_services::{
    json_field::SetField,
    secretsmanager::rotation_run::{Step, StepCall},
    Access, Authorizer, CallContext, Db, Principal, ServiceError, SideCall,
};
use rampart_store::AuditRecord;
use serde_json::{json, Value};

use crate::app::App;

/// The reserved function-name prefix of built-in strategies.
pub const BUILTIN_PREFIX: &str = "rampart-builtin-";
/// The IAM access-key strategy's function name.
pub const IAM_ACCESS_KEYS: &str = "rampart-builtin-iam-access-keys";
/// The PostgreSQL single-user strategy's function name.
pub const POSTGRESQL: &str = "rampart-builtin-postgresql-single-user";
/// The PostgreSQL alternating-users strategy's function name.
pub const POSTGRESQL_MULTI: &str = "rampart-builtin-postgresql-multi-user";

/// The function name of a Lambda ARN.
pub fn function_name(arn: &str) -> Option<&str> {
    arn.splitn(7, ':').nth(6)
}

/// Runs one step of a built-in strategy.
pub async fn step(app: &App, call: &StepCall) -> Result<(), String> {
    match function_name(&call.lambda_arn) {
        Some(IAM_ACCESS_KEYS) => iam_step(app, call).await,
        Some(POSTGRESQL) => super::rotation_postgres::step(app, call).await,
        Some(POSTGRESQL_MULTI) => super::rotation_postgres::alternating_step(app, call).await,
        other => Err(format!(
            "{} is not a built-in rotation strategy of Rampart (known: {IAM_ACCESS_KEYS}, {POSTGRESQL}, {POSTGRESQL_MULTI}).",
            other.unwrap_or_default()
        )),
    }
}

/// Who built-in steps say they are in the trail (`invokedBy`, source and user agent).
pub(super) const INVOKED_BY: &str = "secretsmanager.amazonaws.com";

/// The context of a call Secrets Manager makes for `account` in `region`: the account's root
/// principal, through Secrets Manager, on the request clock.
pub(super) fn service_context(
    app: &App,
    account: &str,
    region: &str,
    authorizer: Authorizer,
) -> CallContext {
    CallContext {
        request_id: uuid::Uuid::new_v4().to_string(),
        principal: Arc::new(Principal::root(app.config.partition(), account, "")),
        region: region.to_string(),
        source_ip: std::net::IpAddr::from([127, 0, 0, 1]),
        user_agent: INVOKED_BY.into(),
        now: app.clock.now(),
        secure_transport: true,
        prepared: None,
        authorizer,
        via_service: Some("secretsmanager".into()),
        side_calls: Default::default(),
        payload: Default::default(),
    }
}

/// One operation run as Secrets Manager on the owning account's behalf (see the module's
/// documentation): authorized, prepared and handled as the request path does, and audited
/// with the calls it made on that behalf (the KMS calls sealing or opening a value).
pub(super) async fn call(
    app: &App,
    at: &StepCall,
    service: &'static str,
    op: &'static str,
    input: Value,
) -> Result<Value, String> {
    let arc = app.me.upgrade().ok_or("the server is stopping")?;
    let ctx = service_context(app, &at.account, &at.region, Authorizer::new(arc));
    call_as(app, ctx, service, op, input).await
}

/// One operation run as a service for an account (`ctx`: the principal it acts as, its
/// `user_agent` the service's endpoint, recorded as `invokedBy`): authorized, prepared and
/// handled as the request path does, and audited with the calls it made on that behalf.
pub(super) async fn call_as(
    app: &App,
    mut ctx: CallContext,
    service: &'static str,
    op: &'static str,
    input: Value,
) -> Result<Value, String> {
    let route = app
        .registry
        .lookup(service, op)
        .ok_or_else(|| format!("{service}:{op} is not built"))?;
    let read_only = route.access == Access::Read;
    let outcome = match route.authorize(&input, &ctx, &app.store).await {
        Err(e) => Err(e),
        Ok(Err(denied)) => {
            // AWS's access-denied code in the service's protocol, as the request path answers.
            let protocol = rampart_model::service(service).map_or(Protocol::Json, |s| s.protocol);
            let code = rampart_wire::CommonError::AccessDenied.code(protocol);
            Err(ServiceError::sender(code, denied.to_string()))
        }
        Ok(Ok(())) if read_only => {
            route
                .handle(input.clone(), &ctx, Db::Read(&app.store))
                .await
        }
        Ok(Ok(())) => match crate::pipeline::prepare(app, &route, &input, &mut ctx).await {
            Err(e) => Err(e),
            Ok(()) => {
                let mut tx = app.store.begin().await.map_err(|e| e.to_string())?;
                match route.handle(input.clone(), &ctx, Db::Write(&mut tx)).await {
                    Ok(out) => {
                        // The change and its records commit together.
                        let records = records(app, &ctx, service, op, &input, false, None);
                        tx.append_audit_batch(&records)
                            .await
                            .map_err(|e| e.to_string())?;
                        tx.commit().await.map_err(|e| e.to_string())?;
                        return Ok(out);
                    }
                    Err(e) => Err(e),
                }
            }
        },
    };
    // A read, or a call that failed: its records in a transaction of their own.
    let error = outcome.as_ref().err().map(|e| (e.code, e.message.as_str()));
    let records = records(app, &ctx, service, op, &input, read_only, error);
    let mut tx = app.store.begin().await.map_err(|e| e.to_string())?;
    tx.append_audit_batch(&records)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    outcome.map_err(|e| format!("{service}:{op}: {} ({})", e.message, e.code))
}

/// The audit records of a built-in step's call and of the calls it made on that behalf.
fn records(
    app: &App,
    ctx: &CallContext,
    service: &'static str,
    op: &'static str,
    input: &Value,
    read_only: bool,
    error: Option<(&'static str, &str)>,
) -> Vec<AuditRecord> {
    let mut out = vec![record(app, ctx, service, op, input, read_only, error)];
    out.extend(
        ctx.side_calls
            .take()
            .iter()
            .map(|side| side_record(app, ctx, side)),
    );
    out
}

/// The record of a call a built-in step's call made on that behalf (a KMS call, which is a
/// use of its key when it succeeded).
pub(super) fn side_record(app: &App, ctx: &CallContext, side: &SideCall) -> AuditRecord {
    crate::pipeline::audit::on_behalf(&ctx.principal, None, &ctx.region, ctx.now, side, |f| {
        app.key_usage.note_side(side, f);
        crate::pipeline::audit::record(f, Some(&ctx.principal.account_id))
    })
}

/// The record of a call made as Secrets Manager on the account's behalf.
pub(super) fn record(
    app: &App,
    ctx: &CallContext,
    service: &'static str,
    op: &'static str,
    input: &Value,
    read_only: bool,
    error: Option<(&'static str, &str)>,
) -> AuditRecord {
    let side = SideCall {
        service,
        operation: op,
        invoked_by: ctx.user_agent.clone(),
        request_parameters: input.clone(),
        error: error.map(|(code, message)| (code, message.to_string())),
        read_only,
        resources: Vec::new(),
    };
    side_record(app, ctx, &side)
}

/// The JSON value of the version `stage` (and `version`, if given) of the secret.
pub(super) async fn value_of(
    app: &App,
    at: &StepCall,
    stage: &str,
    version: Option<&str>,
) -> Result<Value, String> {
    let mut input = json!({ "SecretId": at.secret_arn, "VersionStage": stage });
    if let Some(v) = version {
        input.set_field("VersionId", json!(v));
    }
    let out = call(app, at, "secretsmanager", "GetSecretValue", input).await?;
    out.get("SecretString")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| format!("The {stage} value of the secret is not a JSON object."))
}

pub(super) fn member<'a>(v: &'a Value, name: &str) -> Result<&'a str, String> {
    v.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("The secret's JSON has no {name}."))
}

async fn iam_step(app: &App, at: &StepCall) -> Result<(), String> {
    match at.step {
        Step::CreateSecret => iam_create(app, at).await,
        Step::SetSecret => Ok(()),
        Step::TestSecret => {
            let pending = value_of(app, at, "AWSPENDING", Some(&at.token)).await?;
            let user = member(&pending, "UserName")?;
            let arn = caller_identity(
                app,
                member(&pending, "AccessKeyId")?,
                member(&pending, "SecretAccessKey")?,
            )
            .await?;
            if arn.ends_with(&format!(":user/{user}")) || arn.ends_with(&format!("/{user}")) {
                Ok(())
            } else {
                Err(format!(
                    "The new access key answers as {arn}, not as user {user}."
                ))
            }
        }
        Step::FinishSecret => iam_finish(app, at).await,
    }
}

async fn iam_create(app: &App, at: &StepCall) -> Result<(), String> {
    if value_of(app, at, "AWSPENDING", Some(&at.token))
        .await
        .is_ok()
    {
        return Ok(());
    }
    let mut value = value_of(app, at, "AWSCURRENT", None).await?;
    let user = member(&value, "UserName")?.to_string();
    let out = call(
        app,
        at,
        "iam",
        "CreateAccessKey",
        json!({ "UserName": user }),
    )
    .await?;
    let key = out.get("AccessKey").unwrap_or(&Value::Null);
    let id = member(key, "AccessKeyId")?.to_string();
    let secret = member(key, "SecretAccessKey")?.to_string();
    value.set_field("AccessKeyId", json!(id));
    value.set_field("SecretAccessKey", json!(secret));
    let put = json!({
        "SecretId": at.secret_arn,
        "ClientRequestToken": at.token,
        "SecretString": value.to_string(),
        "VersionStages": ["AWSPENDING"],
    });
    if let Err(err) = call(app, at, "secretsmanager", "PutSecretValue", put).await {
        // The new key is of no use unrecorded.
        let _ = call(
            app,
            at,
            "iam",
            "DeleteAccessKey",
            json!({ "UserName": user, "AccessKeyId": id }),
        )
        .await;
        return Err(err);
    }
    Ok(())
}

/// `finishSecret`: moves `AWSCURRENT` to the rotation's version; returns the value it left
/// (`None` when it had moved already).
pub(super) async fn finish(app: &App, at: &StepCall) -> Result<Option<Value>, String> {
    let described = call(
        app,
        at,
        "secretsmanager",
        "DescribeSecret",
        json!({ "SecretId": at.secret_arn }),
    )
    .await?;
    let stages = described
        .get("VersionIdsToStages")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let current = stages
        .iter()
        .find(|(_, s)| {
            s.as_array()
                .is_some_and(|a| a.iter().any(|x| x == "AWSCURRENT"))
        })
        .map(|(id, _)| id.clone());
    let Some(current) = current.filter(|c| *c != at.token) else {
        return Ok(None);
    };
    let old = value_of(app, at, "AWSCURRENT", None).await?;
    let input = json!({
        "SecretId": at.secret_arn,
        "VersionStage": "AWSCURRENT",
        "MoveToVersionId": at.token,
        "RemoveFromVersionId": current,
    });
    call(app, at, "secretsmanager", "UpdateSecretVersionStage", input).await?;
    Ok(Some(old))
}

async fn iam_finish(app: &App, at: &StepCall) -> Result<(), String> {
    let new = value_of(app, at, "AWSPENDING", Some(&at.token)).await?;
    let old = match finish(app, at).await? {
        Some(old) => old,
        // Finished before (a step cut short): the old key is the AWSPREVIOUS one.
        None => match value_of(app, at, "AWSPREVIOUS", None).await {
            Ok(old) => old,
            Err(_) => return Ok(()),
        },
    };
    let (user, old_id) = (member(&old, "UserName")?, member(&old, "AccessKeyId")?);
    if old_id != member(&new, "AccessKeyId")? {
        let key = json!({ "UserName": user, "AccessKeyId": old_id });
        let mut inactive = key.clone();
        inactive.set_field("Status", json!("Inactive"));
        // A key already gone is what this step wants.
        if call(app, at, "iam", "UpdateAccessKey", inactive)
            .await
            .is_ok()
        {
            call(app, at, "iam", "DeleteAccessKey", key).await?;
        }
    }
    Ok(())
}

/// The caller ARN of a signed `GetCallerIdentity` sent through the request path with the key.
async fn caller_identity(app: &App, key_id: &str, secret: &str) -> Result<String, String> {
    let creds = super::signed::Credentials {
        key_id,
        secret,
        token: None,
    };
    let request = super::signed::Outgoing {
        service: "sts",
        region: "us-east-1",
        method: "POST",
        path: "/",
        query: "",
        headers: &[(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )],
        body: b"Action=GetCallerIdentity&Version=2011-06-15",
        user_agent: INVOKED_BY,
    };
    let (status, bytes) = super::signed::send(app, &creds, &request).await?;
    let text = String::from_utf8_lossy(&bytes);
    if !status.is_success() {
        return Err(format!(
            "GetCallerIdentity with the new key was refused (HTTP {status})."
        ));
    }
    text.split("<Arn>")
        .nth(1)
        .and_then(|rest| rest.split("</Arn>").next())
        .map(str::to_string)
        .ok_or_else(|| "GetCallerIdentity answered without an Arn.".into())
}
