//! Operator routes beside the AWS APIs: health, metrics, and the dev-mode reset.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::app::App;

/// `GET /_rampart/health`: liveness plus a store round trip, and the background jobs' state.
pub async fn health(State(app): State<Arc<App>>) -> Response {
    match app.store.ping().await {
        Ok(()) => {
            let jobs: Vec<_> = app
                .jobs
                .status(&app)
                .await
                .iter()
                .map(|j| j.to_json())
                .collect();
            json_response(
                StatusCode::OK,
                json!({
                    "status": "ok",
                    "version": env!("CARGO_PKG_VERSION"),
                    "node": app.jobs.node_id(),
                    "jobs": jobs,
                }),
            )
        }
        Err(err) => {
            tracing::error!(error = %err, "health check: store unreachable");
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "status": "unavailable", "reason": "store unreachable" }),
            )
        }
    }
}

/// `GET /_rampart/live`: liveness only (no store round trip); also the trivial route the load
/// benchmark compares the full API path with.
pub async fn live() -> &'static str {
    "ok"
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    if let Some(stats) = app.store.group_commit_stats().await {
        app.metrics.set_group_commit(stats);
    }
    app.metrics.set_connections(app.conns.stats());
    app.metrics.jobs.set(&app.jobs.status(&app).await);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

/// `POST /_rampart/reset` and `POST /moto-api/reset`: wipe all state (dev mode only).
pub async fn reset(State(app): State<Arc<App>>) -> Response {
    if !app.config.dev {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({ "message": "reset is only available in dev mode (rampart serve --dev)" }),
        );
    }
    match app.reset().await {
        Ok(()) => json_response(StatusCode::OK, json!({ "status": "reset" })),
        Err(err) => {
            tracing::error!(error = %err, "reset failed");
            json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "message": "reset failed; see the server log" }),
            )
        }
    }
}

/// `POST /moto-api/reset-auth` with a number N as the body: dev mode keeps its leniency for N
/// more API calls, then enforces fully (dev mode only). Answers moto's
/// `{"status": "ok", "PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT": "..."}`.
pub async fn reset_auth(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    if !app.config.dev {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({ "message": "reset-auth is only available in dev mode (rampart serve --dev)" }),
        );
    }
    match crate::dev_auth::parse_limit(&body) {
        Ok(limit) => {
            let previous = app.dev_auth.reset(limit);
            tracing::info!(limit, "dev mode authentication countdown set");
            json_response(
                StatusCode::OK,
                json!({
                    "status": "ok",
                    "PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT": crate::dev_auth::render_limit(previous),
                }),
            )
        }
        Err(message) => json_response(StatusCode::BAD_REQUEST, json!({ "message": message })),
    }
}

/// `POST /_rampart/clock` with `{"advance_seconds": N}`: moves the server's clock forward and
/// runs the KMS and Secrets Manager due-work jobs (deletions, rotations) at once, and the
/// unused access analysis after the service last-accessed flush, and the Access Analyzer
/// policy generations whose window the clock has passed (dev mode only).
pub async fn advance_clock(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    if !app.config.dev {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({ "message": "the test clock is only available in dev mode (rampart serve --dev)" }),
        );
    }
    let secs = match advance_seconds(&body) {
        Ok(secs) => secs,
        Err(message) => {
            return json_response(StatusCode::BAD_REQUEST, json!({ "message": message }))
        }
    };
    let now = match app.clock.advance(secs) {
        Ok(now) => now,
        Err(err) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({ "message": err.to_string() }),
            )
        }
    };
    app.jobs.run_now(&app, crate::jobs::kms::NAME).await;
    app.jobs
        .run_now(&app, crate::jobs::secretsmanager::NAME)
        .await;
    app.jobs
        .run_now(&app, crate::jobs::secretsmanager::ROTATION)
        .await;
    app.jobs.run_now(&app, crate::jobs::s3::NAME).await;
    app.jobs.run_now(&app, crate::jobs::trails::NAME).await;
    app.jobs.run_now(&app, crate::jobs::outbox::NAME).await;
    app.jobs.run_now(&app, crate::jobs::config::NAME).await;
    app.jobs
        .run_now(&app, crate::jobs::config_delivery::NAME)
        .await;
    app.jobs
        .run_now(&app, crate::jobs::guardduty_export::NAME)
        .await;
    app.jobs.run_now(&app, crate::jobs::last_access::NAME).await;
    app.jobs
        .run_now(&app, crate::jobs::accessanalyzer_unused::NAME)
        .await;
    app.jobs
        .run_now(&app, crate::jobs::accessanalyzer_policygen::NAME)
        .await;
    app.jobs.run_now(&app, crate::jobs::securityhub::NAME).await;
    app.jobs
        .run_now(&app, crate::jobs::securityhub::IMPORTS)
        .await;
    json_response(
        StatusCode::OK,
        json!({ "now": now.to_rfc3339(), "epoch_seconds": now.timestamp() }),
    )
}

/// The integer `advance_seconds` of a clock request body, or what is wrong with the body.
fn advance_seconds(body: &[u8]) -> Result<i64, String> {
    const SHAPE: &str = "expected {\"advance_seconds\": N} with N a whole number of seconds";
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| SHAPE.to_string())?;
    match value.get("advance_seconds") {
        Some(n) if n.is_i64() => n.as_i64().ok_or_else(|| SHAPE.to_string()),
        Some(n) if n.is_u64() => Err(crate::clock::ClockError::TooLarge.to_string()),
        _ => Err(SHAPE.to_string()),
    }
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
