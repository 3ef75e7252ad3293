//! The one request path every AWS API call travels:
//!
//! request id -> body (size and time limits) -> route + decode (wire) -> SigV4 authn ->
//! request context -> authorize (policy engine) -> handler -> audit record -> encode.

pub mod audit;
pub mod authn;
pub mod authz;
mod download;
pub mod panic;
pub mod policies;
pub mod service_put;
mod upload;

use std::{future::Future, net::SocketAddr, sync::Arc, task::Poll, time::Instant};

use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::Response,
};
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use rampart_model::{Operation, Protocol, Service};
use rampart_services::{
    cloudtrail::event::EventFacts, route::Access, Authorizer, AuthzError, CallContext, Db, Payload,
    Principal, PrincipalKind, Route, SideCalls,
};
use rampart_sigv4::{RequestParts, SigV4Error};
use rampart_wire::{ApiError, CommonError, HttpRequest, WireHeader, WireResponse};
use serde_json::Value;

use crate::{
    app::App,
    key_usage::{KeyUsage, Used},
    metrics::CallLabels,
};

/// Everything learned about one call, for its response, audit record and metrics.
struct Call {
    request_id: String,
    event_id: String,
    now: DateTime<Utc>,
    source_ip: std::net::IpAddr,
    user_agent: String,
    region: String,
    service: Option<&'static Service>,
    protocol: Protocol,
    operation: Option<&'static Operation>,
    access: Access,
    access_key_id: Option<String>,
    principal: Option<Arc<Principal>>,
    /// The account whose trail shows the record.
    account_id: Option<String>,
    input: Option<Value>,
    output: Option<Value>,
    error: Option<ApiError>,
    /// True once the record committed with the call's own transaction.
    audited: bool,
    /// The calls services made on the caller's behalf, each audited as its own record.
    side_calls: SideCalls,
    /// The call's large bodies (S3): the staged upload, the download to stream.
    payload: Payload,
    /// The resources of a data event (S3 object calls); `None` for management events.
    data_resources: Option<Vec<(&'static str, String)>>,
    /// The keys of a KMS cryptographic call, as authorized (for their last use).
    used_keys: Vec<String>,
}

/// Whether `region` (a request's credential scope) is in the server's partition: an
/// endpoint of one partition refuses a signature scoped to a region of another, as AWS's
/// China and GovCloud endpoints do.
fn in_partition(app: &App, region: &str) -> bool {
    rampart_services::Partition::of_region(region) == app.config.partition()
}

/// The handler for every AWS API request (any path, `GET` or `POST`).
pub async fn api(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let mut call = Call::new(&app, peer, &parts.headers);
    let outcome = panic::catch_panic(respond(&app, &mut call, &parts, body)).await;
    finish(&app, call, outcome, started).await
}

impl Call {
    /// A call that has just arrived: nothing is known of it but its circumstances.
    fn new(app: &App, peer: SocketAddr, headers: &HeaderMap) -> Call {
        Call {
            request_id: uuid_string(uuid::Uuid::new_v4()),
            event_id: new_event_id(),
            now: app.clock.now(),
            source_ip: peer.ip(),
            user_agent: header_str(headers, header::USER_AGENT.as_str())
                .unwrap_or_default()
                .to_string(),
            // Until a credential scope says otherwise (unsigned calls keep it).
            region: app.config.region.clone(),
            service: None,
            protocol: Protocol::Query,
            operation: None,
            access: Access::Read,
            access_key_id: None,
            principal: None,
            account_id: None,
            input: None,
            output: None,
            error: None,
            audited: false,
            side_calls: SideCalls::default(),
            payload: Payload::default(),
            data_resources: None,
            used_keys: Vec::new(),
        }
    }
}

/// A request's body: read whole (every call but an upload), or left on the socket for an
/// operation that streams its input (S3 `PutObject`, `UploadPart`), to be staged once the
/// call is authorized.
enum RequestBody {
    Read(Bytes),
    Stream(Body),
}

/// Whether a request is for an operation that streams its input: only S3 uploads, which are
/// `PUT`s (so other calls pay nothing for the question).
fn streams_input(parts: &axum::http::request::Parts) -> bool {
    if parts.method != axum::http::Method::PUT {
        return false;
    }
    let headers: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .collect();
    let auth = rampart_sigv4::parse_request(&RequestParts {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body: &[],
    });
    let request = HttpRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        content_type: header_str(&parts.headers, header::CONTENT_TYPE.as_str()),
        target: header_str(&parts.headers, "x-amz-target"),
        signed_service: auth.as_ref().ok().map(|a| a.scope.service.as_str()),
        body: &[],
        host: header_str(&parts.headers, header::HOST.as_str()),
        virtual_host_domains: rampart_wire::default_virtual_host_domains(),
    };
    rampart_wire::identify(&request).is_some_and(|(_, op)| op.streaming_input)
}

/// Reads the body and runs the call.
async fn respond(
    app: &Arc<App>,
    call: &mut Call,
    parts: &axum::http::request::Parts,
    body: Body,
) -> WireResponse {
    let method = parts.method.as_str();
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    if streams_input(parts) {
        let body = RequestBody::Stream(body);
        return process(app, call, &parts.headers, method, path, query, body).await;
    }
    match read_body(app, body).await {
        Ok(bytes) => {
            let body = RequestBody::Read(bytes);
            process(app, call, &parts.headers, method, path, query, body).await
        }
        Err(error) => {
            call.error = Some(error);
            error_response(call)
        }
    }
}

/// Audits and answers a call; a call that panicked answers `InternalFailure` and is audited
/// with that error.
async fn finish(
    app: &App,
    mut call: Call,
    outcome: Result<WireResponse, String>,
    started: Instant,
) -> Response {
    let wire = match outcome {
        Ok(wire) => wire,
        Err(panic) => {
            tracing::error!(request_id = %call.request_id, %panic, "request panicked");
            call.error = Some(ApiError::internal());
            error_response(&call)
        }
    };
    let durable = queue_audit(app, &call).await;
    observe(app, &call, started);
    let outbound = call.payload.settle(call.error.is_none());
    let mut response = into_response(wire, &call.request_id);
    let Some(body) = outbound else {
        durable.await;
        return response;
    };
    // With no bytes to send (a HEAD, an empty object), the headers are the whole answer:
    // they wait for the record.
    let durable: Durable = if body.is_empty() {
        durable.await;
        Box::pin(std::future::ready(()))
    } else {
        durable
    };
    match download::open(&app.blobs, &body).await {
        Ok(stream) => {
            // The body goes out while its record is synced; only its last bytes wait.
            *response.body_mut() = download::held_until(stream, durable);
            if body.partial {
                *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            }
            response
        }
        Err(err) => {
            durable.await;
            // The object changed between the read and the open: the client retries.
            tracing::warn!(error = %err, request_id = %call.request_id, "object bytes not opened");
            let error = ApiError::new(
                "InternalError",
                "We encountered an internal error. Please try again.",
                500,
                false,
            );
            let wire = match call.service {
                Some(s) => rampart_wire::encode_error(s, &error, &call.request_id),
                None => rampart_wire::encode_error_protocol(
                    call.protocol,
                    None,
                    &error,
                    &call.request_id,
                ),
            };
            into_response(wire, &call.request_id)
        }
    }
}

/// Reads the body within the size limit and the request timeout.
async fn read_body(app: &App, body: Body) -> Result<Bytes, ApiError> {
    let limited = Limited::new(body, app.config.max_body_bytes);
    let mut collect = std::pin::pin!(limited.collect());
    // A small body usually arrives with its headers: take it without arming a timer, which
    // costs a trip through the shared timer wheel on every request.
    let first = std::future::poll_fn(|cx| Poll::Ready(collect.as_mut().poll(cx))).await;
    let collected = match first {
        Poll::Ready(done) => Ok(done),
        Poll::Pending => tokio::time::timeout(app.config.request_timeout(), collect).await,
    };
    match collected {
        Err(_) => Err(ApiError::new(
            "RequestTimeout",
            "Your socket connection to the server was not read from or written to within the timeout period.",
            408,
            true,
        )),
        Ok(Err(err)) if err.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError::common(
                Protocol::Query,
                CommonError::RequestEntityTooLarge,
                format!(
                    "Request body exceeds the limit of {} bytes.",
                    app.config.max_body_bytes
                ),
            ))
        }
        Ok(Err(_)) => Err(ApiError::new(
            "MalformedHttpRequestException",
            "The request body could not be read.",
            400,
            true,
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// Decodes, authenticates, authorizes and runs one call; fills `call` as it learns.
async fn process(
    app: &Arc<App>,
    call: &mut Call,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    query: &str,
    request_body: RequestBody,
) -> WireResponse {
    let (read, mut stream) = match request_body {
        RequestBody::Read(bytes) => (bytes, None),
        RequestBody::Stream(body) => (Bytes::new(), Some(body)),
    };
    let body: &[u8] = &read;
    let header_pairs: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .collect();
    let parts = RequestParts {
        method,
        path,
        query,
        headers: &header_pairs,
        body,
    };
    let auth = rampart_sigv4::parse_request(&parts);
    if let Ok(a) = &auth {
        call.region = a.scope.region.clone();
        call.access_key_id = Some(a.access_key_id.as_str().to_string());
    }
    let decoded = rampart_wire::decode_request(&HttpRequest {
        method,
        path,
        query,
        headers: &header_pairs,
        content_type: header_str(headers, header::CONTENT_TYPE.as_str()),
        target: header_str(headers, "x-amz-target"),
        signed_service: auth.as_ref().ok().map(|a| a.scope.service.as_str()),
        body,
        host: header_str(headers, header::HOST.as_str()),
        virtual_host_domains: rampart_wire::default_virtual_host_domains(),
    });
    let (service, operation) = match &decoded {
        Ok(d) => (Some(d.service), Some(d.operation)),
        Err(f) => (f.service, f.operation),
    };
    call.service = service;
    call.operation = operation;
    if let Some(op) = operation {
        call.access = Access::guess(op.name);
    }
    if let Some(s) = service {
        call.protocol = s.protocol;
    }
    let Some(service) = service else {
        // Not even routable: answer in the protocol the wire layer guessed.
        if let Err(f) = &decoded {
            call.protocol = f.protocol;
            call.error = Some(f.error.clone());
        }
        return error_response(call);
    };

    let mut chunked = None;
    // Authentication comes before input validation, as in AWS: an unauthenticated caller
    // learns nothing about the API from validation messages.
    let unsigned_ok = operation.is_some_and(|op| op.unsigned);
    let s3 = service.protocol == Protocol::RestXml;
    match &auth {
        Err(SigV4Error::MissingAuthenticationToken) if unsigned_ok => {}
        Err(SigV4Error::MissingAuthenticationToken) if s3 && signature_v2(headers, query) => {
            // Signature Version 2, which S3 no longer accepts for new buckets.
            call.error = Some(ApiError::new(
                "InvalidRequest",
                "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
                400,
                true,
            ));
            return error_response(call);
        }
        Err(SigV4Error::MissingAuthenticationToken) if s3 => {
            // S3 serves anonymous requests where a bucket policy allows everyone: the call
            // goes on as the anonymous principal, which only such a policy lets act.
            call.principal = Some(Arc::new(Principal::anonymous()));
        }
        Err(err) => {
            call.error = Some(authn::sigv4_error(service.protocol, err));
            return error_response(call);
        }
        Ok(parsed) if !in_partition(app, &parsed.scope.region) => {
            call.error = Some(ApiError::common(
                service.protocol,
                CommonError::SignatureDoesNotMatch,
                format!(
                    "Credential should be scoped to a valid region, not '{}'.",
                    parsed.scope.region
                ),
            ));
            return error_response(call);
        }
        Ok(parsed) => {
            // SigV4's time window compares with the client's real clock, not the test clock.
            let opts = if s3 {
                // S3's URI rules and payload forms; an upload's body is checked as it streams.
                rampart_sigv4::VerifyOptions {
                    defer_payload: stream.is_some(),
                    ..rampart_sigv4::VerifyOptions::s3()
                }
            } else {
                rampart_sigv4::VerifyOptions::default()
            };
            match authn::authenticate(app, service.protocol, parsed, &parts, Utc::now(), &opts)
                .await
            {
                Ok(authenticated) => {
                    let principal = authenticated.principal;
                    call.account_id = Some(principal.account_id.clone());
                    call.principal = Some(principal);
                    chunked = authenticated.chunked;
                }
                Err(failure) => {
                    call.account_id = failure.account_id;
                    call.error = Some(failure.error);
                    return error_response(call);
                }
            }
        }
    }

    let decoded = match decoded {
        Ok(d) => d,
        Err(f) => {
            call.error = Some(f.error);
            return error_response(call);
        }
    };
    let operation = decoded.operation;
    call.input = Some(decoded.input.clone());
    if s3 && operation.checksum_required && stream.is_none() {
        if let Err(error) = upload::check_body_integrity(headers, body) {
            call.error = Some(error);
            return error_response(call);
        }
    }
    if service.name == "s3" {
        call.data_resources = rampart_services::s3::trail::data_event_resources(
            app.config.partition(),
            operation.name,
            &decoded.input,
        );
    }
    let Some(route) = app.registry.lookup(service.name, operation.name) else {
        call.error = Some(ApiError::not_implemented(operation.name));
        return error_response(call);
    };
    call.access = route.access;
    // S3 streams bodies from blobs; GuardDuty reads its lists' objects through S3.
    if s3 || service.name == "guardduty" {
        call.payload = Payload::with_blobs(app.blobs.clone());
    }
    // An operation that brings its own proof (a web identity token, a SAML assertion) is
    // called as the caller that proof names, whether or not the request is signed, as in AWS.
    if call.principal.is_none() && route.authn.is_none() {
        call.error = Some(ApiError::common(
            service.protocol,
            CommonError::MissingAuthenticationToken,
            "Request is missing Authentication Token",
        ));
        return error_response(call);
    }
    let mut ctx = CallContext {
        request_id: call.request_id.clone(),
        principal: call
            .principal
            .clone()
            .unwrap_or_else(|| Arc::new(Principal::anonymous())),
        region: call.region.clone(),
        source_ip: call.source_ip,
        user_agent: call.user_agent.clone(),
        now: call.now,
        secure_transport: false,
        prepared: None,
        authorizer: Authorizer::new(app.clone()),
        via_service: None,
        side_calls: call.side_calls.clone(),
        payload: call.payload.clone(),
    };

    if let Some(proven) = route
        .authenticate(&decoded.input, &ctx, &app.store, &app.extensions)
        .await
    {
        match proven {
            Ok(proof) => {
                let principal = Arc::new(proof.principal);
                call.account_id = Some(principal.account_id.clone());
                call.principal = Some(principal.clone());
                ctx.principal = principal;
                ctx.prepared = Some(Arc::new(proof.facts));
            }
            Err(err) => {
                call.error = Some(service_error(service, err));
                return error_response(call);
            }
        }
    }

    // Deny by default: an operation without an authorization entry is refused.
    let denied = |ctx: &CallContext| {
        ApiError::common(
            service.protocol,
            CommonError::AccessDenied,
            denied_text(
                ctx,
                format!(
                    "User: {} is not authorized to perform: {}:{}",
                    ctx.principal.arn, service.signing_name, operation.name
                ),
            ),
        )
    };
    let question = match route.authz(&decoded.input, &ctx, &app.store).await {
        Ok(Some(mut q)) => {
            if s3 {
                let keys = s3_signature_keys(call_auth(&auth), headers, Utc::now());
                for request in &mut q.requests {
                    request.context.extend(keys.iter().cloned());
                }
            }
            q
        }
        Ok(None) => {
            call.error = Some(denied(&ctx));
            return error_response(call);
        }
        Err(err) => {
            call.error = Some(service_error(service, err));
            return error_response(call);
        }
    };
    if ctx.principal.is_anonymous() {
        // An anonymous call shows in the trail of the account whose resource it asked for.
        call.account_id = question
            .requests
            .iter()
            .flat_map(|r| &r.resources)
            .map(|r| r.account.clone())
            .find(|a| !a.is_empty());
    }
    match authz::authorize(app, &ctx, &question).await {
        Ok(()) => {}
        Err(AuthzError::AccessDenied(message)) => {
            call.error = Some(ApiError::common(
                service.protocol,
                CommonError::AccessDenied,
                denied_text(&ctx, message),
            ));
            return error_response(call);
        }
        Err(AuthzError::InternalFailure(err) | AuthzError::Refused(err)) => {
            call.error = Some(service_error(service, err));
            return error_response(call);
        }
    }
    app.last_access.note(
        &ctx,
        service.signing_name,
        question.requests.iter().map(|r| r.action.as_str()),
    );
    if KeyUsage::tracks(service.name, operation.name) {
        call.used_keys = question
            .requests
            .iter()
            .flat_map(|r| r.resources.iter().map(|res| res.arn.clone()))
            .collect();
    }
    // An upload's preparation (choosing its data key) comes before its body is read.
    let mut prepared = false;
    if let Some(body) = stream.take() {
        if let Err(err) = prepare(app, &route, &decoded.input, &mut ctx).await {
            call.error = Some(service_error(service, err));
            return error_response(call);
        }
        prepared = true;
        let upload = upload::Upload {
            check: upload::payload_check(call_auth(&auth), chunked, headers),
            checksums: upload::expected_checksums(headers),
            max_bytes: app.config.max_object_bytes,
            idle: app.config.idle_timeout(),
            sealing: call.payload.sealing_key(),
        };
        match upload::stage(body, upload, &app.blobs).await {
            Ok(staged) => call.payload.set_inbound(staged),
            Err(error) => {
                call.error = Some(error);
                return error_response(call);
            }
        }
    }

    let result = match call.access {
        Access::Read => {
            route
                .handle(decoded.input, &ctx, Db::Read(&app.store))
                .await
        }
        Access::Write if prepared => run_write(app, call, &route, decoded.input, &ctx).await,
        Access::Write => match prepare(app, &route, &decoded.input, &mut ctx).await {
            Ok(()) => run_write(app, call, &route, decoded.input, &ctx).await,
            Err(err) => Err(err),
        },
    };
    match result {
        Ok(output) => {
            match rampart_wire::encode_output(service, operation, &output, &call.request_id) {
                Ok(resp) => resp,
                Err(err) => {
                    tracing::error!(error = %err, service = service.name, operation = operation.name, "output does not fit its shape");
                    call.error = Some(ApiError::internal());
                    error_response(call)
                }
            }
        }
        Err(err) => {
            call.error = Some(service_error(service, err));
            error_response(call)
        }
    }
}

/// The text of an access denial: the authorizer's, S3's bare `Access Denied` for the
/// anonymous caller (who is told nothing about the resource or its policies), or STS's
/// `Not authorized to perform sts:AssumeRoleWithWebIdentity` for a caller an identity
/// provider proved (told nothing about the role's trust policy).
fn denied_text(ctx: &CallContext, message: String) -> String {
    match ctx.principal.kind {
        PrincipalKind::Anonymous => "Access Denied".to_string(),
        PrincipalKind::WebIdentityUser => {
            "Not authorized to perform sts:AssumeRoleWithWebIdentity".to_string()
        }
        PrincipalKind::SamlUser => "Not authorized to perform sts:AssumeRoleWithSAML".to_string(),
        _ => message,
    }
}

/// Whether a request carries a Signature Version 2 signature (`Authorization: AWS ...` or a
/// presigned URL with `AWSAccessKeyId` and `Signature`).
fn signature_v2(headers: &HeaderMap, query: &str) -> bool {
    let header =
        header_str(headers, header::AUTHORIZATION.as_str()).is_some_and(|a| a.starts_with("AWS "));
    let presigned = || {
        let mut names = query
            .split('&')
            .map(|p| p.split('=').next().unwrap_or_default());
        names.any(|n| n == "AWSAccessKeyId")
            && query.split('&').any(|p| p.starts_with("Signature="))
    };
    header || presigned()
}

/// S3's condition keys about how a request was signed: `s3:authType` (`REST-HEADER` or
/// `REST-QUERY-STRING` for a presigned URL), `s3:signatureversion`, `s3:signatureAge`
/// (milliseconds since the signing time) and `s3:x-amz-content-sha256`. An anonymous request
/// has none.
fn s3_signature_keys(
    auth: Option<&rampart_sigv4::ParsedAuth>,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Vec<(String, Vec<String>)> {
    let Some(auth) = auth else {
        return Vec::new();
    };
    let kind = if auth.is_presigned() {
        "REST-QUERY-STRING"
    } else {
        "REST-HEADER"
    };
    let age = (now - auth.request_time).num_milliseconds().max(0);
    let mut keys = vec![
        ("s3:authType".to_string(), vec![kind.to_string()]),
        (
            "s3:signatureversion".to_string(),
            vec!["AWS4-HMAC-SHA256".to_string()],
        ),
        ("s3:signatureAge".to_string(), vec![age.to_string()]),
    ];
    if let Some(v) = header_str(headers, "x-amz-content-sha256") {
        keys.push(("s3:x-amz-content-sha256".to_string(), vec![v.to_string()]));
    }
    keys
}

/// The parsed signature of an authenticated call.
fn call_auth(
    auth: &Result<rampart_sigv4::ParsedAuth, SigV4Error>,
) -> Option<&rampart_sigv4::ParsedAuth> {
    auth.as_ref().ok()
}

/// A service's error as the wire layer renders it (status and fault from the model).
fn service_error(service: &'static Service, err: rampart_services::ServiceError) -> ApiError {
    let mut api = ApiError::from_code(service, err.code, err.message);
    api.reason = err.reason.map(str::to_string);
    api.details = err
        .details
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect::<Vec<_>>()
        .into_boxed_slice();
    api
}

/// Does the call's slow work that needs no transaction (password hashing) on a blocking
/// thread, before the write transaction: held inside it, every other writer would wait. Also
/// used by calls the server makes itself (built-in rotation steps).
pub(crate) async fn prepare(
    app: &App,
    route: &Route,
    input: &Value,
    ctx: &mut CallContext,
) -> Result<(), rampart_services::ServiceError> {
    let Some(work) = route.prepare(input, ctx, &app.store).await? else {
        return Ok(());
    };
    let _turn = app
        .password_work
        .acquire()
        .await
        .map_err(|_| rampart_services::ServiceError::internal())?;
    let done = tokio::task::spawn_blocking(move || work.run())
        .await
        .map_err(|_| rampart_services::ServiceError::internal())??;
    ctx.prepared = Some(Arc::new(done));
    Ok(())
}

/// Runs a mutating operation in one transaction with its audit record: both commit, or
/// neither does (a failed call is then audited on its own). Serialization failures on
/// PostgreSQL rerun the whole operation.
async fn run_write(
    app: &App,
    call: &mut Call,
    route: &Route,
    input: Value,
    ctx: &CallContext,
) -> Result<Value, rampart_services::ServiceError> {
    const ATTEMPTS: usize = 5;
    for attempt in 1..=ATTEMPTS {
        ctx.payload.reset_attempt();
        let mut tx = app.store.begin().await?;
        let outcome = route.handle(input.clone(), ctx, Db::Write(&mut tx)).await;
        let output = match outcome {
            Ok(output) => output,
            Err(err) => {
                // Dropping the transaction rolls it back; the failure is audited separately.
                drop(tx);
                return Err(err);
            }
        };
        call.output = Some(output.clone());
        let ip = ip_text(call.source_ip);
        let record = audit::record(&facts(call, None, &ip), call.account_id.as_deref());
        let committed = async {
            tx.append_audit(&record).await?;
            tx.commit().await
        }
        .await;
        match committed {
            Ok(()) => {
                call.audited = true;
                return Ok(output);
            }
            Err(err) if err.is_retryable() && attempt < ATTEMPTS => {
                tracing::debug!(attempt, "write transaction conflicted; retrying");
                call.output = None;
                call.event_id = new_event_id();
            }
            Err(err) => {
                call.output = None;
                return Err(err.into());
            }
        }
    }
    Err(rampart_services::ServiceError::internal())
}

/// A CloudTrail `eventID`: a UUID, time-ordered (version 7) so that the audit table's unique
/// index on it grows at its end instead of splitting pages all over.
fn new_event_id() -> String {
    // `Uuid::now_v7` draws from one context behind a process-wide mutex, which the worker
    // threads took in turns on every call. A context per thread keeps each thread's ids in
    // order; the ids stay unique (a random counter start and random tail per millisecond).
    thread_local! {
        static V7: uuid::ContextV7 = const { uuid::ContextV7::new() };
    }
    let context = uuid::timestamp::context::ThreadLocalContext::new(&V7);
    uuid_string(uuid::Uuid::new_v7(uuid::Timestamp::now(context)))
}

/// The hyphenated lowercase form of a UUID (as `to_string`, without the formatting machinery).
fn uuid_string(id: uuid::Uuid) -> String {
    let mut buf = uuid::Uuid::encode_buffer();
    id.hyphenated().encode_lower(&mut buf).to_owned()
}

fn error_response(call: &Call) -> WireResponse {
    let err = call.error.clone().unwrap_or_else(ApiError::internal);
    match call.service {
        Some(s) => rampart_wire::encode_error(s, &err, &call.request_id),
        None => rampart_wire::encode_error_protocol(call.protocol, None, &err, &call.request_id),
    }
}

/// Queues the call's audit record on the group-committing writer, unless it already committed
/// with the call's own transaction, and returns what resolves once it is durable: no call is
/// answered (no response's last byte sent) before its record would survive a crash.
async fn queue_audit(app: &App, call: &Call) -> Durable {
    let own = (!call.audited).then(|| {
        audit::encoded(
            &facts(call, call.error.as_ref(), &ip_text(call.source_ip)),
            call.account_id.as_deref(),
        )
    });
    // What services did on the caller's behalf is recorded whatever became of the call (the
    // KMS call of a secret read happened even if the read then failed), as AWS does.
    // A side call only happens for an authenticated caller, so each has its principal.
    let side_calls = call.side_calls.take();
    // Only a KMS cryptographic call keeps its keys (`used_keys`).
    if let (None, Some(op), false) = (&call.error, call.operation, call.used_keys.is_empty()) {
        app.key_usage.note(Used {
            operation: op.name,
            resources: &call.used_keys,
            at: call.now,
            request_id: &call.request_id,
            event_id: &call.event_id,
        });
    }
    let records: Vec<_> = own
        .into_iter()
        .chain(side_calls.iter().filter_map(|side| {
            audit::side_call(call, side, |facts| app.key_usage.note_side(side, facts))
        }))
        .collect();
    let request_id = call.request_id.clone();
    let queued = app.audit.queue_durably(records).await;
    Box::pin(async move {
        let outcome = match queued {
            Ok(durability) => durability.wait().await,
            Err(err) => Err(err),
        };
        if let Err(err) = outcome {
            tracing::error!(error = %err, %request_id, "audit record not written");
        }
    })
}

/// Resolves once a call's audit records are durable (failures are logged: the answer goes
/// out either way, as it always has).
pub(crate) type Durable = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The text form of the caller's address. std's `Display` for IPv4 formats octet by octet
/// through the formatting machinery, which showed in profiles of every call's audit record.
fn ip_text(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut out = String::with_capacity(15);
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(digits.format(octet));
            }
            out
        }
        std::net::IpAddr::V6(_) => ip.to_string(),
    }
}

fn facts<'a>(call: &'a Call, error: Option<&'a ApiError>, source_ip: &'a str) -> EventFacts<'a> {
    EventFacts {
        request_id: &call.request_id,
        event_id: &call.event_id,
        event_time: call.now,
        service: call.service.map(|s| s.signing_name),
        operation: call.operation.map(|o| o.name),
        region: &call.region,
        source_ip,
        user_agent: &call.user_agent,
        principal: call.principal.as_deref(),
        access_key_id: call.access_key_id.as_deref(),
        request_parameters: call.input.as_ref(),
        response_elements: call.output.as_ref(),
        error: error.map(|e| (e.code.as_str(), e.message.as_str())),
        read_only: call.access == Access::Read,
        model: call.service.zip(call.operation),
        invoked_by: None,
        data_resources: call.data_resources.as_deref(),
    }
}

fn observe(app: &App, call: &Call, started: Instant) {
    let elapsed = started.elapsed();
    // Successful calls are metered for billing (refused and failed ones are not charged).
    if let (Some(p), Some(s), None) = (&call.principal, call.service, &call.error) {
        // The anonymous caller has no account to meter.
        if !p.is_anonymous() {
            app.meter.record(&p.account_id, s.signing_name, call.now);
        }
    }
    let service = call.service.map_or("unknown", |s| s.name);
    let operation = call.operation.map_or("unknown", |o| o.name);
    match &call.error {
        Some(e) if e.status >= 500 => tracing::warn!(
            request_id = %call.request_id, service, operation, code = %e.code,
            micros = elapsed.as_micros() as u64, "request failed"
        ),
        Some(e) => tracing::debug!(
            request_id = %call.request_id, service, operation, code = %e.code,
            micros = elapsed.as_micros() as u64, "request refused"
        ),
        None => tracing::debug!(
            request_id = %call.request_id, service, operation,
            micros = elapsed.as_micros() as u64, "request served"
        ),
    }
    let outcome = match &call.error {
        None => "ok",
        Some(e) if e.code.starts_with("AccessDenied") => "denied",
        Some(e) if e.status >= 500 => "server_error",
        Some(_) => "client_error",
    };
    app.metrics.observe(
        CallLabels {
            service,
            operation,
            outcome,
        },
        elapsed.as_secs_f64(),
    );
}

/// `x-amzn-RequestId`, as HTTP/1.1 writes header names (lowercase; clients match any case).
const REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
/// `x-amzn-ErrorType`, likewise.
const ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");

fn into_response(wire: WireResponse, request_id: &str) -> Response {
    let status = StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(Body::from(wire.body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in wire.headers {
        let name = match name {
            WireHeader::ContentType => header::CONTENT_TYPE,
            WireHeader::RequestId => REQUEST_ID,
            WireHeader::ErrorType => ERROR_TYPE,
            WireHeader::Named(name) => match HeaderName::try_from(name) {
                Ok(name) => name,
                Err(_) => continue,
            },
            WireHeader::Owned(name) => match HeaderName::try_from(name) {
                Ok(name) => name,
                Err(_) => continue,
            },
        };
        if let Ok(v) = HeaderValue::try_from(value) {
            headers.insert(name, v);
        }
    }
    // What `(status, Vec<u8>).into_response()` set before the wire layer's own type.
    headers
        .entry(header::CONTENT_TYPE)
        .or_insert(HeaderValue::from_static("application/octet-stream"));
    if !headers.contains_key(&REQUEST_ID) {
        if let Ok(v) = HeaderValue::try_from(request_id) {
            headers.insert(REQUEST_ID, v);
        }
    }
    response
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    #[test]
    fn event_ids_are_v7_unique_and_ordered_per_thread() {
        let ids: Vec<String> = (0..10_000).map(|_| super::new_event_id()).collect();
        let parsed: Vec<uuid::Uuid> = ids
            .iter()
            .map(|s| uuid::Uuid::parse_str(s).expect("uuid"))
            .collect();
        assert!(parsed.iter().all(|u| u.get_version_num() == 7));
        assert!(parsed.windows(2).all(|w| w[0] < w[1]), "ordered");
        let now_ms = chrono::Utc::now().timestamp_millis() as u64;
        let (secs, nanos) = parsed[0].get_timestamp().expect("ts").to_unix();
        let ms = secs * 1000 + u64::from(nanos) / 1_000_000;
        assert!(now_ms.abs_diff(ms) < 5_000, "timestamp is now");
        let other = std::thread::spawn(super::new_event_id)
            .join()
            .expect("thread");
        assert!(!ids.contains(&other));
    }

    #[test]
    fn ip_text_matches_display() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.30.40",
            "255.255.255.255",
            "192.168.0.9",
            "::1",
            "2001:db8::8a2e:370:7334",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert_eq!(super::ip_text(ip), ip.to_string());
        }
    }
}
