//! The published side of outbound web identity federation: each account's issuer serves its
//! OpenID Connect discovery document and its JWKS (public keys only) to anyone, at
//! `<issuer>/.well-known/openid-configuration` and `<issuer>/.well-known/jwks.json`, so an
//! external service verifies the tokens STS `GetWebIdentityToken` signs. The issuer URL is
//! `--outbound-issuer-base` (default `http://<listen address>/_rampart/outbound-oidc`) and the
//! issuer's id; its discovery document names the keys' URL under the same base.

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use rampart_services::iam::outbound_federation::{self, Issuer};

use crate::app::App;

/// Where the issuers are served, under the API port.
pub const PREFIX: &str = "/_rampart/outbound-oidc";

/// Records the base of issuer URLs once the API port is bound, for IAM
/// (`EnableOutboundWebIdentityFederation` fixes an account's issuer URL from it the first
/// time).
pub async fn publish_base(app: &App, local: std::net::SocketAddr) -> anyhow::Result<()> {
    let base = app
        .config
        .outbound_issuer_base
        .clone()
        .unwrap_or_else(|| format!("http://{local}{PREFIX}"));
    let _ = app
        .outbound_issuer_base
        .set(base.trim_end_matches('/').to_string());
    write_base(app).await
}

/// Writes the base to the store (again after a dev-mode reset, which wipes settings).
pub async fn write_base(app: &App) -> anyhow::Result<()> {
    if let Some(base) = app.outbound_issuer_base.get() {
        app.store
            .settings()
            .set(outbound_federation::ISSUER_BASE, base)
            .await?;
    }
    Ok(())
}

async fn issuer(app: &App, id: &str) -> Result<Issuer, Response> {
    match outbound_federation::by_id(&app.store, id).await {
        Ok(Some((_, issuer))) => Ok(issuer),
        Ok(None) => Err(StatusCode::NOT_FOUND.into_response()),
        Err(err) => {
            tracing::warn!(error = %err.message, "outbound issuer not read");
            Err(StatusCode::SERVICE_UNAVAILABLE.into_response())
        }
    }
}

fn json(body: serde_json::Value) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// `GET <prefix>/{id}/.well-known/openid-configuration`.
pub async fn discovery(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match issuer(&app, &id).await {
        Ok(i) => json(i.discovery()),
        Err(r) => r,
    }
}

/// `GET <prefix>/{id}/.well-known/jwks.json`: published whether or not vending is enabled,
/// so tokens handed out before a disable verify until they expire.
pub async fn jwks(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match issuer(&app, &id).await {
        Ok(i) => json(i.jwks()),
        Err(r) => r,
    }
}
