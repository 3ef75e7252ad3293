//! Console sign-in findings from Rampart's own `ConsoleLogin` audit records
//! (`signin.amazonaws.com`, written by the server's `/_rampart/signin` for every attempt).
//!
//! Each failed attempt is counted in two sliding windows of [`WINDOW_SECS`] on the request
//! clock (the record's `eventTime`): one per user name and one per source address. The windows
//! are entities of kind [`SIGNINS`] under the detector, so they survive restarts, and they are
//! read and written in the detection batch's transaction.
//!
//! - A failure that brings either window to [`THRESHOLD`] or more is a brute-force attempt:
//!   `CredentialAccess:IAMUser/AnomalousBehavior` (Medium), keyed by the user when the user's
//!   window is over the threshold, else by the source address. AWS has no finding type for
//!   repeated IAM console login failures (its brute-force types, `SSHBruteForce` and
//!   `RDPBruteForce`, are EC2's); `CredentialAccess:IAMUser/AnomalousBehavior` is its IAM type
//!   for APIs "used to gain access to an AWS environment" invoked anomalously, the MITRE
//!   credential-access tactic brute force belongs to.
//! - A successful login from an address whose window holds [`THRESHOLD`] or more failures is
//!   `UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B` (Medium), AWS's anomalous successful
//!   console login.

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    detect::Call,
    finding::{Level, Observation},
    model::{self, Detector},
};

/// The entity kind of a sign-in failure window.
pub const SIGNINS: &str = "guardduty:signins";
/// Failures within a window that make a burst.
pub const THRESHOLD: usize = 10;
/// The window, in seconds (ten minutes).
pub const WINDOW_SECS: i64 = 600;
/// Failure times a window keeps at most (a flood keeps only its latest).
const MAX_KEPT: usize = 1_000;

/// The failure times (epoch milliseconds) of one user or address within the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Failure times, oldest first.
    pub failures: Vec<i64>,
}

impl Window {
    /// Drops failures older than the window before `now`.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let start = now.timestamp_millis() - WINDOW_SECS * 1000;
        self.failures.retain(|t| *t > start);
    }

    /// Counts a failure at `t`; returns the failures now in the window.
    pub fn fail(&mut self, t: DateTime<Utc>) -> usize {
        self.prune(t);
        self.failures.push(t.timestamp_millis());
        if self.failures.len() > MAX_KEPT {
            let extra = self.failures.len() - MAX_KEPT;
            self.failures.drain(..extra);
        }
        self.failures.len()
    }

    /// The failures in the window at `t`.
    pub fn count_at(&self, t: DateTime<Utc>) -> usize {
        let start = t.timestamp_millis() - WINDOW_SECS * 1000;
        self.failures
            .iter()
            .filter(|f| **f > start && **f <= t.timestamp_millis())
            .count()
    }
}

/// The facts of a `ConsoleLogin` record.
struct Login<'a> {
    user: &'a str,
    root: bool,
    success: bool,
}

fn login_of<'a>(call: &Call<'a>) -> Option<Login<'a>> {
    if call.source != "signin.amazonaws.com" || call.name != "ConsoleLogin" {
        return None;
    }
    let e = call.event();
    let user = e
        .pointer("/requestParameters/userName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // The audit record spells it `consoleLogin`; CloudTrail's own records `ConsoleLogin`.
    let outcome = e
        .get("responseElements")
        .and_then(Value::as_object)
        .and_then(|m| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("ConsoleLogin"))
        })
        .and_then(|(_, v)| v.as_str());
    let success = call.error.is_none() && outcome == Some("Success");
    Some(Login {
        user,
        root: user == "root",
        success,
    })
}

async fn load(
    db: &mut Db<'_>,
    d: &Detector,
    key: &str,
) -> Result<(Option<Entity>, Window), ServiceError> {
    let name_key = format!("{}/{key}", d.id());
    match entity::load_doc::<Window>(db, d.account(), SIGNINS, &name_key).await? {
        Some((e, w)) => Ok((Some(e), w)),
        None => Ok((None, Window::default())),
    }
}

async fn store(
    db: &mut Db<'_>,
    d: &Detector,
    key: &str,
    (found, w): (Option<Entity>, &Window),
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if let Some(e) = found {
        return entity::save_doc(db, e, w, now).await;
    }
    let name_key = format!("{}/{key}", d.id());
    let mut e = Entity {
        account_id: d.account().to_string(),
        kind: SIGNINS.into(),
        name: key.to_string(),
        name_key: name_key.clone(),
        id: format!("guardduty-signins-{name_key}"),
        path: model::under(d.id()),
        arn: format!("{}/signins/{key}", d.entity.arn),
        created_at: now,
        updated_at: now,
        doc: String::new(),
    };
    entity::write_doc(&mut e, w, now)?;
    db.entities().create(&e).await?;
    Ok(())
}

/// What a `ConsoleLogin` record shows, given the windows so far; updates the windows.
pub async fn observe(
    db: &mut Db<'_>,
    d: &Detector,
    call: &Call<'_>,
) -> Result<Vec<Observation>, ServiceError> {
    let Some(login) = login_of(call) else {
        return Ok(Vec::new());
    };
    let ip_key = format!("ip:{}", call.ip);
    let (ip_entity, mut ip_window) = load(db, d, &ip_key).await?;
    if login.success {
        let failures = ip_window.count_at(call.time);
        if failures < THRESHOLD {
            return Ok(Vec::new());
        }
        let mut o = observation(
            d,
            call,
            &login,
            "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B",
            format!(
                "A console login succeeded from {} after {failures} failed logins from it.",
                call.ip
            ),
        );
        o.resource_key = format!("{}@{}", o.resource_key, call.ip);
        o.additional_info = Some(info(failures));
        return Ok(vec![o]);
    }
    let user_key = format!("user:{}", login.user);
    let (user_entity, mut user_window) = load(db, d, &user_key).await?;
    let by_user = user_window.fail(call.time);
    let by_ip = ip_window.fail(call.time);
    store(db, d, &user_key, (user_entity, &user_window), call.time).await?;
    store(db, d, &ip_key, (ip_entity, &ip_window), call.time).await?;
    let kind = "CredentialAccess:IAMUser/AnomalousBehavior";
    let o = if by_user >= THRESHOLD {
        let mut o = observation(
            d,
            call,
            &login,
            kind,
            format!(
                "{by_user} failed console logins for {} within {} minutes.",
                login.user,
                WINDOW_SECS / 60
            ),
        );
        o.additional_info = Some(info(by_user));
        o
    } else if by_ip >= THRESHOLD {
        let mut o = observation(
            d,
            call,
            &login,
            kind,
            format!(
                "{by_ip} failed console logins from {} within {} minutes.",
                call.ip,
                WINDOW_SECS / 60
            ),
        );
        o.resource_key = ip_key;
        o.principal = call.ip.to_string();
        o.additional_info = Some(info(by_ip));
        o
    } else {
        return Ok(Vec::new());
    };
    Ok(vec![o])
}

/// `Service.AdditionalInfo`: the failures counted and the window.
fn info(failures: usize) -> Value {
    json!({
        "Value": json!({ "failedConsoleLogins": failures, "windowSeconds": WINDOW_SECS }).to_string(),
        "Type": "default",
    })
}

/// The finding of a login record about its user.
fn observation(
    d: &Detector,
    call: &Call<'_>,
    login: &Login<'_>,
    kind: &str,
    title: String,
) -> Observation {
    let (arn, user_type, user_name) = if login.root {
        (d.partition().root_arn(d.account()), "Root", "Root")
    } else {
        (
            d.partition()
                .iam_arn(d.account(), &format!("user/{}", login.user)),
            "IAMUser",
            login.user,
        )
    };
    Observation {
        finding_type: kind.to_string(),
        severity: Level::Medium.severity(),
        description: format!(
            "{title} The console sign-in of {arn} was attempted from {}.",
            call.ip
        ),
        title,
        resource: json!({
            "ResourceType": "AccessKey",
            "AccessKeyDetails": {
                "AccessKeyId": "",
                "PrincipalId": "",
                "UserName": user_name,
                "UserType": user_type,
            },
        }),
        resource_key: format!("user:{}", login.user),
        principal: arn,
        action: call.action(),
        event_time: call.time,
        additional_info: None,
        detection: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).single().unwrap()
    }

    #[test]
    fn the_window_counts_failures_of_the_last_ten_minutes() {
        let mut w = Window::default();
        for i in 0..9 {
            assert_eq!(w.fail(at(i * 60)), usize::try_from(i + 1).unwrap());
        }
        // The tenth within ten minutes makes a burst.
        assert_eq!(w.fail(at(599)), THRESHOLD);
        assert_eq!(w.count_at(at(599)), THRESHOLD);
        // Ten minutes after the first failure it has left the window.
        assert_eq!(w.count_at(at(600)), THRESHOLD - 1);
        // Slow failures never make a burst.
        let mut slow = Window::default();
        let most = (0..30).map(|i| slow.fail(at(i * 70))).max().unwrap();
        assert!(most < THRESHOLD);
    }

    #[test]
    fn the_window_keeps_a_bounded_number_of_failures() {
        let mut w = Window::default();
        for _ in 0..(MAX_KEPT + 5) {
            w.fail(at(1));
        }
        assert_eq!(w.failures.len(), MAX_KEPT);
    }

    #[test]
    fn only_console_login_records_are_logins() {
        let ok = json!({"eventType": "AwsApiCall", "eventTime": "2026-12-07T00:00:00Z",
            "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
            "sourceIPAddress": "192.0.2.1", "userIdentity": {"type": "Unknown"},
            "requestParameters": {"userName": "frank"},
            "responseElements": {"consoleLogin": "Success"}});
        let call = Call::of(&ok).unwrap();
        let l = login_of(&call).unwrap();
        assert!(l.success && l.user == "frank" && !l.root);
        let mut failed = ok.clone();
        failed["errorCode"] = json!("InvalidCredentials");
        failed["responseElements"]["consoleLogin"] = json!("Failure");
        assert!(!login_of(&Call::of(&failed).unwrap()).unwrap().success);
        let mut no_outcome = ok.clone();
        no_outcome["responseElements"] = Value::Null;
        assert!(!login_of(&Call::of(&no_outcome).unwrap()).unwrap().success);
        let mut aws_spelling = ok.clone();
        aws_spelling["responseElements"] = json!({"ConsoleLogin": "Success"});
        aws_spelling["eventType"] = json!("AwsConsoleSignIn");
        assert!(login_of(&Call::of(&aws_spelling).unwrap()).unwrap().success);
        assert!(!login_of(&Call::of(&failed).unwrap()).unwrap().success);
        let mut other = ok.clone();
        other["eventName"] = json!("GetUser");
        assert!(login_of(&Call::of(&other).unwrap()).is_none());
    }
}
