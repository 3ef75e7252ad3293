//! `POST /_rampart/signin`: console sign-in for people (IAM users and the root user), the
//! endpoint a console uses. JSON in, JSON out; every attempt is audited as CloudTrail's
//! `ConsoleLogin` event.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
};

use axum::{
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use rampart_services::json_field::SetField;
use rampart_services::{
    cloudtrail::event::EventFacts,
    iam::signin::{
        check_password, failure_status, sign_in, stored_hash, SignInOutcome, SignInRequest,
    },
    Db,
};
use rampart_store::Zeroizing;
use serde_json::{json, Value};

use crate::{app::App, pipeline::audit};

/// Handles one sign-in attempt. The transaction commits whatever the outcome, so failed
/// attempts count towards the lockout.
pub async fn signin(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The request clock, as every API call reads it (the dev clock moves it).
    let now = app.clock.now();
    if !app.signin_limiter.admit(peer.ip(), now.timestamp()) {
        return reply(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"result": "Failure", "error": "Throttled", "message": "Too many sign-in attempts from this address; try again in a minute.", "retry_after_secs": WINDOW_SECS}),
        );
    }
    let req: SignInRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(err) => {
            return reply(
                StatusCode::BAD_REQUEST,
                json!({"result": "Failure", "error": "MalformedRequest", "message": format!("Invalid sign-in request: {err}")}),
            )
        }
    };
    let outcome = async {
        // The slow password check runs before the write transaction, on a blocking thread.
        let stored =
            match stored_hash(app.config.partition(), &mut Db::Read(&app.store), &req).await {
                Ok(h) => h,
                Err(e) => return Ok::<_, anyhow::Error>(Err(e)),
            };
        let password = Zeroizing::new(req.password.clone());
        let check = {
            let _turn = app.password_work.acquire().await?;
            tokio::task::spawn_blocking(move || check_password(stored, &password)).await?
        };
        let mut tx = app.store.begin().await?;
        let outcome = sign_in(
            app.config.partition(),
            &mut Db::Write(&mut tx),
            &req,
            now,
            &check,
        )
        .await;
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => return Ok::<_, anyhow::Error>(Err(e)),
        };
        tx.commit().await?;
        Ok(Ok(outcome))
    }
    .await;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (status, body) = match outcome {
        Ok(Ok(SignInOutcome::Success {
            account_id,
            arn,
            user_name,
            mfa_authenticated,
        })) => {
            record(
                &app,
                &req,
                (peer, now),
                user_agent,
                Some(&account_id),
                None,
                mfa_authenticated,
            )
            .await;
            (
                StatusCode::OK,
                json!({
                    "result": "Success",
                    "account_id": account_id,
                    "arn": arn,
                    "user_name": user_name,
                    "mfa_authenticated": mfa_authenticated,
                }),
            )
        }
        Ok(Ok(SignInOutcome::Failure {
            code,
            message,
            retry_after_secs,
            account_id,
        })) => {
            let status =
                StatusCode::from_u16(failure_status(code)).unwrap_or(StatusCode::UNAUTHORIZED);
            record(
                &app,
                &req,
                (peer, now),
                user_agent,
                account_id.as_deref(),
                Some(code),
                false,
            )
            .await;
            let mut body = json!({"result": "Failure", "error": code, "message": message});
            if let Some(s) = retry_after_secs {
                body.set_field("retry_after_secs", json!(s));
            }
            (status, body)
        }
        Ok(Err(err)) => {
            tracing::error!(error = %err, "sign-in failed");
            internal()
        }
        Err(err) => {
            tracing::error!(error = %err, "sign-in failed");
            internal()
        }
    };
    reply(status, body)
}

/// Sign-in attempts one client address may make per window: each costs an argon2id
/// verification (about 34 ms of a core), so an unbounded stream would starve the server.
const PER_ADDRESS: u32 = 30;
/// The window of [`PER_ADDRESS`], in seconds.
const WINDOW_SECS: i64 = 60;

/// Sign-in attempts per client address in fixed windows of the request clock. Per node and in
/// memory: a coarse guard against argon2 floods, not an account lockout. Owned by [`App`], so
/// `POST /_rampart/reset` clears it.
#[derive(Debug, Default)]
pub struct Limiter {
    seen: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl Limiter {
    /// Counts an attempt from `ip`; false when the address is over its budget for this window.
    pub fn admit(&self, ip: IpAddr, now_secs: i64) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        let window = now_secs.div_euclid(WINDOW_SECS);
        if seen.len() > 100_000 {
            seen.retain(|_, (w, _)| *w == window);
        }
        let entry = seen.entry(ip).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= PER_ADDRESS
    }

    /// Forgets every address's attempts.
    pub fn clear(&self) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.clear();
        }
    }
}

fn internal() -> (StatusCode, Value) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({"result": "Failure", "error": "InternalFailure", "message": "The sign-in could not be processed."}),
    )
}

fn reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Audits the attempt as `ConsoleLogin` (signin.amazonaws.com); the password never appears.
async fn record(
    app: &App,
    req: &SignInRequest,
    (peer, now): (SocketAddr, DateTime<Utc>),
    user_agent: &str,
    account_id: Option<&str>,
    error: Option<&str>,
    mfa: bool,
) {
    let request_id = uuid::Uuid::new_v4().to_string();
    let event_id = uuid::Uuid::new_v4().to_string();
    let ip = peer.ip().to_string();
    let who = req
        .user
        .clone()
        .or_else(|| req.email.as_ref().map(|_| "root".to_string()))
        .unwrap_or_default();
    let params = json!({"userName": who, "account": req.account});
    let outcome = json!({
        "ConsoleLogin": if error.is_none() { "Success" } else { "Failure" },
        "MFAUsed": if mfa { "Yes" } else { "No" },
    });
    let message = error.unwrap_or_default();
    let facts = EventFacts {
        request_id: &request_id,
        event_id: &event_id,
        event_time: now,
        service: Some("signin"),
        operation: Some("ConsoleLogin"),
        region: &app.config.region,
        source_ip: &ip,
        user_agent,
        principal: None,
        access_key_id: None,
        request_parameters: Some(&params),
        response_elements: Some(&outcome),
        error: error.map(|code| (code, message)),
        read_only: false,
        model: None,
        invoked_by: None,
        data_resources: None,
    };
    let rec = audit::encoded(&facts, account_id);
    if let Err(err) = app.audit.record_durably(vec![rec]).await {
        tracing::error!(error = %err, "sign-in audit record not written");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_get_a_budget_per_window() {
        let limiter = Limiter::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let t = 1_700_000_040; // start of a window
        for _ in 0..PER_ADDRESS {
            assert!(limiter.admit(ip, t));
        }
        assert!(!limiter.admit(ip, t + 1));
        assert!(limiter.admit(ip, t + WINDOW_SECS));
        assert!(limiter.admit("192.0.2.8".parse().unwrap(), t));
        for _ in 0..PER_ADDRESS {
            limiter.admit(ip, t);
        }
        limiter.clear();
        assert!(limiter.admit(ip, t));
    }
}
