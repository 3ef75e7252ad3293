//! EventBridge deliveries from the outbox: each item is one event for one target (an API
//! destination). The request is built when it is made (`rampart_events::destinations::
//! resolve`: the destination and connection as they are now, the connection's secrets
//! opened), sent with a 5-second limit as AWS's API destinations have, and its outcome is:
//!
//! - a 2xx answer: delivered;
//! - a 429, a 5xx, no answer or a refused connection: retried with backoff within the
//!   target's `RetryPolicy` (`MaximumRetryAttempts`, `MaximumEventAgeInSeconds`: 185 and
//!   24 h by default), then dead;
//! - another 4xx, or a destination or connection that is gone or deauthorized: dead at once,
//!   as AWS does not retry those;
//! - over the destination's `InvocationRateLimitPerSecond`: postponed, without an attempt.
//!
//! OAuth connections get a token from their authorization endpoint (client credentials,
//! HTTP Basic), cached until it expires.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use base64::Engine;
use chrono::{DateTime, Utc};
use rampart_services::events::{
    delivery::{Delivery as EventDelivery, OUTBOX_TARGET},
    destinations::{resolve, OAuth, Request},
};
use rampart_store::OutboxItem;

use super::{
    http_out,
    outbox::{Delivery, DeliveryFuture, Outcome},
};
use crate::app::App;

/// AWS's limit for an API destination's answer.
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(5);

/// The delivery of EventBridge targets.
#[derive(Default)]
pub struct EventsDelivery {
    /// Per API destination: tokens left and when they were counted.
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
    /// Per OAuth endpoint and client: the token and when it expires.
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl EventsDelivery {
    /// Takes one invocation from the destination's budget; `false` when it is spent.
    fn admit(&self, arn: &str, rate: i64) -> bool {
        let rate = rate.max(1) as f64;
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        let now = Instant::now();
        let (tokens, at) = buckets.entry(arn.to_string()).or_insert((rate, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(rate);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    async fn bearer(&self, oauth: &OAuth) -> Result<String, String> {
        let key = format!("{}\n{}", oauth.endpoint, oauth.client_id);
        if let Ok(tokens) = self.tokens.lock() {
            if let Some((token, until)) = tokens.get(&key) {
                if *until > Instant::now() {
                    return Ok(token.clone());
                }
            }
        }
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", oauth.client_id, oauth.client_secret));
        let headers = vec![
            ("Authorization".to_string(), format!("Basic {basic}")),
            (
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            ),
        ];
        let answer = http_out::send(
            &oauth.method,
            &oauth.endpoint,
            &headers,
            "grant_type=client_credentials",
            INVOCATION_TIMEOUT,
        )
        .await?;
        if !(200..300).contains(&answer.status) {
            return Err(format!(
                "the OAuth endpoint answered HTTP {}",
                answer.status
            ));
        }
        let v: serde_json::Value = serde_json::from_str(answer.body.trim())
            .map_err(|_| "the OAuth endpoint's answer is not JSON".to_string())?;
        let token = v
            .get("access_token")
            .and_then(|t| t.as_str())
            .ok_or_else(|| "the OAuth endpoint gave no access_token".to_string())?
            .to_string();
        let life = v.get("expires_in").and_then(|e| e.as_u64()).unwrap_or(300);
        if let Ok(mut tokens) = self.tokens.lock() {
            let until = Instant::now() + Duration::from_secs(life.saturating_sub(10));
            tokens.insert(key, (token.clone(), until));
        }
        Ok(token)
    }

    async fn attempt(&self, app: &App, item: &OutboxItem, now: DateTime<Utc>) -> Outcome {
        let delivery: EventDelivery = match serde_json::from_str(&item.payload) {
            Ok(d) => d,
            Err(err) => {
                return Outcome::Failed {
                    error: format!("unreadable delivery: {err}"),
                    retry_at: None,
                }
            }
        };
        let failed = |error: String| Outcome::Failed {
            retry_at: delivery.retry_at(item.attempts, now),
            error,
        };
        let mut request: Request = match resolve(&app.store, &delivery).await {
            Ok(r) => r,
            Err(u) if u.permanent => {
                return Outcome::Failed {
                    error: u.message,
                    retry_at: None,
                }
            }
            Err(u) => return failed(u.message),
        };
        if !self.admit(&request.destination_arn, request.rate) {
            let wait = chrono::Duration::milliseconds((1000 / request.rate.max(1)).max(1));
            return Outcome::Postponed(now + wait);
        }
        if let Some(oauth) = &request.oauth {
            match self.bearer(oauth).await {
                Ok(token) => request
                    .headers
                    .push(("Authorization".into(), format!("Bearer {token}"))),
                Err(err) => return failed(err),
            }
        }
        let answer = http_out::send(
            &request.method,
            &request.url,
            &request.headers,
            &request.body,
            INVOCATION_TIMEOUT,
        )
        .await;
        match answer {
            Ok(a) if (200..300).contains(&a.status) => Outcome::Delivered,
            Ok(a) if a.status == 429 || a.status >= 500 || a.status == 408 => {
                failed(format!("HTTP {}", a.status))
            }
            Ok(a) => Outcome::Failed {
                error: format!("HTTP {} (not retried)", a.status),
                retry_at: None,
            },
            Err(err) => failed(err),
        }
    }
}

impl Delivery for EventsDelivery {
    fn target(&self) -> &'static str {
        OUTBOX_TARGET
    }

    fn deliver<'a>(
        &'a self,
        app: &'a App,
        item: &'a OutboxItem,
        now: DateTime<Utc>,
    ) -> DeliveryFuture<'a> {
        Box::pin(self.attempt(app, item, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limit_admits_its_budget_per_second() {
        let d = EventsDelivery::default();
        let admitted = (0..10).filter(|_| d.admit("arn", 3)).count();
        assert_eq!(admitted, 3);
        assert!(d.admit("other", 1));
    }
}
