//! Small objects an AWS service principal writes itself (CloudTrail's log and digest files),
//! through S3's own `PutObject`: its authorization question (with the keys the service's
//! request carries) decided by the one authorizer against the bucket policy, its preparation
//! (the data key: SSE-S3, or SSE-KMS through KMS on the service's behalf), the same staging
//! that seals an upload's bytes into a blob, and its handler, inside the caller's transaction
//! with the call's audit record (a data event by the service principal, and its KMS calls).
//! Nothing of `PutObject` is copied here; this is the request path without HTTP.

use axum::body::Body;
use rampart_services::{context::ContextEntry, s3, CallContext, Db, Payload, Route, ServiceError};
use rampart_store::Tx;
use serde_json::Value;

use super::{audit, authz, upload};
use crate::app::App;

/// A write made; its blobs are settled once the transaction's outcome is known.
#[must_use = "settle the payload once the transaction commits or fails"]
pub struct Written {
    payload: Payload,
}

impl Written {
    /// Keeps the object's blob if the transaction committed, removes it otherwise.
    pub fn settle(self, committed: bool) {
        self.payload.settle(committed);
    }
}

/// The context of a call the service principal `service` makes itself for `account` in
/// `region` (CloudTrail's log files, Config's snapshots).
pub fn service_context(
    app: &App,
    authorizer: rampart_services::Authorizer,
    service: &str,
    account: &str,
    region: &str,
) -> CallContext {
    let principal = rampart_services::Principal::service(service, account);
    context_as(app, authorizer, principal, service, region)
}

/// The context of a call an AWS service makes itself in `region` as `principal` (its
/// service principal, or the account it writes from, as ELB's access logs in older regions),
/// with `agent` as the user agent.
pub fn context_as(
    app: &App,
    authorizer: rampart_services::Authorizer,
    principal: rampart_services::Principal,
    agent: &str,
    region: &str,
) -> CallContext {
    CallContext {
        request_id: uuid::Uuid::new_v4().to_string(),
        principal: std::sync::Arc::new(principal),
        region: region.to_string(),
        source_ip: std::net::IpAddr::from([0, 0, 0, 0]),
        user_agent: agent.to_string(),
        now: app.clock.now(),
        secure_transport: true,
        prepared: None,
        authorizer,
        via_service: None,
        side_calls: Default::default(),
        payload: Default::default(),
    }
}

fn put_route() -> Result<Route, ServiceError> {
    s3::route(s3::Op::PutObject).ok_or_else(ServiceError::internal)
}

/// Puts `bytes` as the object `input` describes (`Bucket`, `Key`, and any `PutObject`
/// member: `Metadata`, `ServerSideEncryption`, `SSEKMSKeyId`, ...) as the caller of `ctx`
/// (whose `payload` this sets), with `keys` added to each authorization request, in `tx`.
/// `account` is the account whose trail records the call.
pub async fn put_object(
    app: &App,
    mut ctx: CallContext,
    input: Value,
    bytes: Vec<u8>,
    keys: &[ContextEntry],
    account: &str,
    tx: &mut Tx,
) -> Result<Written, ServiceError> {
    let route = put_route()?;
    ctx.payload = Payload::with_blobs(app.blobs.clone());
    let written = Written {
        payload: ctx.payload.clone(),
    };
    let outcome = match run(app, &route, &mut ctx, &input, bytes, keys).await {
        Ok(()) => route.handle(input.clone(), &ctx, Db::Write(tx)).await,
        Err(err) => Err(err),
    };
    // A failed write leaves `tx` to be rolled back by the caller: nothing of it is recorded.
    let recorded = match outcome {
        Ok(_) => record(app, &ctx, &input, account, tx).await,
        Err(err) => Err(err),
    };
    match recorded {
        Ok(()) => Ok(written),
        Err(err) => {
            written.settle(false);
            Err(err)
        }
    }
}

/// Authorizes, prepares and stages the write.
async fn run(
    app: &App,
    route: &Route,
    ctx: &mut CallContext,
    input: &Value,
    bytes: Vec<u8>,
    keys: &[ContextEntry],
) -> Result<(), ServiceError> {
    let mut question = route
        .authz(input, ctx, &app.store)
        .await?
        .ok_or_else(ServiceError::internal)?;
    for request in &mut question.requests {
        request.context.extend(keys.iter().cloned());
    }
    authz::authorize(app, ctx, &question)
        .await
        .map_err(|err| match err {
            rampart_services::AuthzError::AccessDenied(message) => {
                ServiceError::from(s3::S3Error::AccessDenied(message))
            }
            rampart_services::AuthzError::Refused(err)
            | rampart_services::AuthzError::InternalFailure(err) => err,
        })?;
    super::prepare(app, route, input, ctx).await?;
    let sha = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
    let mut claimed = [0u8; 32];
    claimed.copy_from_slice(sha.as_ref());
    let staging = upload::Upload {
        check: upload::PayloadCheck::Sha256(claimed),
        checksums: Vec::new(),
        max_bytes: app.config.max_object_bytes,
        idle: app.config.idle_timeout(),
        sealing: ctx.payload.sealing_key(),
    };
    let staged = upload::stage(Body::from(bytes), staging, &app.blobs)
        .await
        .map_err(|e| {
            tracing::error!(code = %e.code, "a service's object could not be staged");
            ServiceError::internal()
        })?;
    ctx.payload.set_inbound(staged);
    Ok(())
}

/// Appends the call's audit record (a data event by the service principal), and those of
/// the KMS calls made for it, to `tx`; those calls are uses of their keys.
async fn record(
    app: &App,
    ctx: &CallContext,
    input: &Value,
    account: &str,
    tx: &mut Tx,
) -> Result<(), ServiceError> {
    let resources = s3::trail::data_event_resources(ctx.partition(), "PutObject", input);
    let service = rampart_model::service("s3");
    let model = service.and_then(|s| Some((s, s.operation("PutObject")?)));
    let event_id = super::new_event_id();
    let invoked_by = ctx.principal.arn.clone();
    let facts = rampart_services::cloudtrail::event::EventFacts {
        request_id: &ctx.request_id,
        event_id: &event_id,
        event_time: ctx.now,
        service: Some("s3"),
        operation: Some("PutObject"),
        region: &ctx.region,
        source_ip: &invoked_by,
        user_agent: &invoked_by,
        principal: Some(&ctx.principal),
        access_key_id: None,
        request_parameters: Some(input),
        response_elements: None,
        error: None,
        read_only: false,
        model,
        invoked_by: None,
        data_resources: resources.as_deref(),
    };
    tx.append_audit(&audit::record(&facts, Some(account)))
        .await?;
    for side in ctx.side_calls.take() {
        let record = audit::on_behalf(&ctx.principal, None, &ctx.region, ctx.now, &side, |f| {
            app.key_usage.note_side(&side, f);
            audit::record(f, Some(account))
        });
        tx.append_audit(&record).await?;
    }
    Ok(())
}
