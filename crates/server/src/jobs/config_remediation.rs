//! AWS Config's remediations, run as Systems Manager Automation runs them: the service
//! (`ssm.amazonaws.com`) assumes the remediation's `AutomationAssumeRole` with STS's own
//! `AssumeRole` (the role's trust policy must let the service in; audited as a call the service
//! made), and each step of the document is a request signed with that role session and sent
//! through the one request path, so the role's policies, its boundary and the organization's
//! SCPs decide it and the trail records it under the role session.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

use rampart_services::{
    config::remediation_docs::Step,
    config::remediation_run::{self, Pending, StepOutcome},
    Authorizer, CallContext, Principal,
};
use rampart_store::Lease;
use serde_json::{json, Value};

use super::due::{DueJob, RoundFuture};
use crate::app::App;

/// The job's name.
pub const NAME: &str = "config-remediation";

/// The service that runs remediations, as the trail names it.
const AUTOMATION: &str = "ssm.amazonaws.com";

/// Config's remediation runs, every second.
pub const JOB: DueJob = DueJob::new(
    NAME,
    Duration::from_secs(1),
    "config remediations run",
    round,
);

fn round<'a>(app: &'a App, now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        let due = remediation_run::claim(&app.store, now, lease).await?;
        for pending in &due {
            let outcomes = run(app, pending).await;
            remediation_run::finish(&app.store, pending, &outcomes, app.clock.now(), lease).await?;
        }
        Ok(vec![("executions", due.len())])
    })
}

/// Runs one execution: the role assumed, then each step until one fails.
async fn run(app: &App, p: &Pending) -> Vec<StepOutcome> {
    let start = app.clock.now();
    let session = match assume(app, p).await {
        Ok(s) => s,
        Err(error) => {
            return vec![StepOutcome {
                name: "AssumeRole".into(),
                start,
                stop: app.clock.now(),
                error: Some(error),
            }]
        }
    };
    let mut out = Vec::new();
    for step in &p.steps {
        let start = app.clock.now();
        let error = send(app, p, &session, step).await.err();
        let failed = error.is_some();
        out.push(StepOutcome {
            name: step.name.clone(),
            start,
            stop: app.clock.now(),
            error,
        });
        if failed {
            break;
        }
    }
    out
}

/// A role session's credentials.
struct Session {
    key_id: String,
    secret: String,
    token: String,
}

/// `sts:AssumeRole` of the remediation's role, made by the automation service for the account.
async fn assume(app: &App, p: &Pending) -> Result<Session, String> {
    let arc = app.me.upgrade().ok_or("the server is stopping")?;
    let ctx = CallContext {
        request_id: uuid::Uuid::new_v4().to_string(),
        principal: Arc::new(Principal::service(AUTOMATION, &p.account)),
        region: p.region.clone(),
        source_ip: std::net::IpAddr::from([127, 0, 0, 1]),
        user_agent: AUTOMATION.into(),
        now: app.clock.now(),
        secure_transport: true,
        prepared: None,
        authorizer: Authorizer::new(arc),
        via_service: Some("ssm".into()),
        side_calls: Default::default(),
        payload: Default::default(),
    };
    let input = json!({
        "RoleArn": p.role_arn,
        "RoleSessionName": format!("AwsConfigRemediation-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
    });
    let out = super::rotation_builtin::call_as(app, ctx, "sts", "AssumeRole", input).await?;
    let creds = out.get("Credentials").cloned().unwrap_or(Value::Null);
    let get = |k: &str| creds.get(k).and_then(Value::as_str).map(str::to_string);
    match (
        get("AccessKeyId"),
        get("SecretAccessKey"),
        get("SessionToken"),
    ) {
        (Some(key_id), Some(secret), Some(token)) => Ok(Session {
            key_id,
            secret,
            token,
        }),
        _ => Err("AssumeRole answered without credentials.".into()),
    }
}

/// Sends one step's request as the role session; the service's error message when refused.
async fn send(app: &App, p: &Pending, s: &Session, step: &Step) -> Result<(), String> {
    let creds = super::signed::Credentials {
        key_id: &s.key_id,
        secret: &s.secret,
        token: Some(&s.token),
    };
    let headers: Vec<(&str, &str)> = step
        .call
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let request = super::signed::Outgoing {
        service: &step.call.service,
        region: &p.region,
        method: &step.call.method,
        path: &step.call.path,
        query: &step.call.query,
        headers: &headers,
        body: step.call.body.as_bytes(),
        user_agent: AUTOMATION,
    };
    let (status, body) = super::signed::send(app, &creds, &request).await?;
    if status.is_success() {
        return Ok(());
    }
    Err(error_message(
        &String::from_utf8_lossy(&body),
        status.as_u16(),
    ))
}

/// The code and message of an error answer (XML or JSON).
fn error_message(body: &str, status: u16) -> String {
    let between = |open: &str, close: &str| {
        body.split(open)
            .nth(1)
            .and_then(|rest| rest.split(close).next())
            .map(str::to_string)
    };
    let json: Option<Value> = serde_json::from_str(body).ok();
    let field = |k: &str| {
        json.as_ref()
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let code = between("<Code>", "</Code>").or_else(|| field("__type"));
    let message = between("<Message>", "</Message>")
        .or_else(|| field("message"))
        .or_else(|| field("Message"));
    match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c,
        (None, Some(m)) => m,
        (None, None) => format!("HTTP {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_read_from_xml_and_json() {
        let xml = "<Error><Code>AccessDenied</Code><Message>no</Message></Error>";
        assert_eq!(error_message(xml, 403), "AccessDenied: no");
        let json = r#"{"__type":"NotFoundException","message":"gone"}"#;
        assert_eq!(error_message(json, 400), "NotFoundException: gone");
        assert_eq!(error_message("", 500), "HTTP 500");
    }
}
