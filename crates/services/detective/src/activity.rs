//! What a principal did, read from Rampart's own audit trail: its calls in an investigation's
//! window, and what it (and its account) did before, as the baseline the `NEW_*` indicators
//! compare against.
//!
//! A record is the principal's when its `userIdentity.arn` is the user's ARN, or for a role
//! any of its sessions (`arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`), as Access
//! Analyzer's policy generation reads it. Only calls (`AwsApiCall`, `AwsConsoleSignIn`) count.
//!
//! Reading is bounded: at most [`MAX_RECORDS`] records of the account in the window and as
//! many before it, back [`HISTORY_DAYS`] days (CloudTrail's event history window). When a
//! bound cuts the reading short, the investigation is marked incomplete (`complete`).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use rampart_store::{LookupQuery, Store, StoreError, MAX_PAGE};
use serde_json::Value;

/// Most records read in the window, and again in the history before it.
pub const MAX_RECORDS: usize = 50_000;

/// How far back before the window the baseline reaches.
pub const HISTORY_DAYS: i64 = 90;

pub use rampart_kit::trail_principal::TrailPrincipal;

/// One call, as the indicators and the timeline read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `eventTime`.
    pub time: DateTime<Utc>,
    /// `eventName`.
    pub name: String,
    /// `eventSource`.
    pub source: String,
    /// `sourceIPAddress`.
    pub ip: String,
    /// `userAgent`.
    pub user_agent: String,
    /// `errorCode`, for a failed or refused call.
    pub error: Option<String>,
    /// `userIdentity.arn`.
    pub caller: String,
}

impl Call {
    /// The call an event records, if it is a call (`AwsApiCall`, `AwsConsoleSignIn`).
    pub fn of(event: &Value) -> Option<Call> {
        let text = |p: &str| event.pointer(p).and_then(Value::as_str).unwrap_or_default();
        if !matches!(text("/eventType"), "AwsApiCall" | "AwsConsoleSignIn") {
            return None;
        }
        let time = DateTime::parse_from_rfc3339(text("/eventTime"))
            .ok()?
            .with_timezone(&Utc);
        Some(Call {
            time,
            name: text("/eventName").to_string(),
            source: text("/eventSource").to_string(),
            ip: text("/sourceIPAddress").to_string(),
            user_agent: text("/userAgent").to_string(),
            error: event
                .get("errorCode")
                .and_then(Value::as_str)
                .map(str::to_string),
            caller: text("/userIdentity/arn").to_string(),
        })
    }
}

/// What was seen before the window: user agents and source addresses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Baseline {
    /// User agents.
    pub agents: BTreeSet<String>,
    /// Source addresses.
    pub ips: BTreeSet<String>,
}

impl Baseline {
    fn note(&mut self, c: &Call) {
        self.agents.insert(c.user_agent.clone());
        self.ips.insert(c.ip.clone());
    }
}

/// A principal's activity around an investigation's window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Activity {
    /// The principal's calls in the window, oldest first.
    pub calls: Vec<Call>,
    /// What the principal did before the window.
    pub principal: Baseline,
    /// What anyone in the account did before the window (the principal included).
    pub account: Baseline,
    /// Whether every record of the window and of the history was read.
    pub complete: bool,
}

/// Reads `account`'s records from `start` to `end` (newest first), at most [`MAX_RECORDS`],
/// handing each call to `each`; returns whether every record was read.
async fn scan(
    store: &Store,
    account: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    mut each: impl FnMut(Call),
) -> Result<bool, StoreError> {
    let mut query = LookupQuery {
        account_id: Some(account.to_string()),
        start_time: Some(start),
        end_time: Some(end),
        max_results: MAX_PAGE,
        ..Default::default()
    };
    let mut read = 0usize;
    loop {
        let page = store.lookup_events(&query).await?;
        read += page.events.len();
        for e in &page.events {
            let Ok(event) = serde_json::from_str::<Value>(&e.record.event_json) else {
                continue;
            };
            if let Some(call) = Call::of(&event) {
                each(call);
            }
        }
        match page.next_token {
            None => return Ok(true),
            Some(_) if read >= MAX_RECORDS => return Ok(false),
            next => query.next_token = next,
        }
    }
}

/// The activity of `principal` (of `account`) in `start..=end`, with its baseline.
pub async fn read(
    store: &Store,
    account: &str,
    principal: &TrailPrincipal,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Activity, StoreError> {
    let mut activity = Activity::default();
    let window_done = scan(store, account, start, end, |c| {
        if principal.made(&c.caller) {
            activity.calls.push(c);
        }
    })
    .await?;
    activity.calls.sort_by_key(|c| c.time);
    let history_start = start - Duration::days(HISTORY_DAYS);
    let before = start - Duration::milliseconds(1);
    let (mut mine, mut all) = (Baseline::default(), Baseline::default());
    let history_done = scan(store, account, history_start, before, |c| {
        if principal.made(&c.caller) {
            mine.note(&c);
        }
        all.note(&c);
    })
    .await?;
    activity.principal = mine;
    activity.account = all;
    activity.complete = window_done && history_done;
    Ok(activity)
}
