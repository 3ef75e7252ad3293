//! Target health checks, as ALB runs them: every `HealthCheckIntervalSeconds` an HTTP GET of
//! the group's path on each target (or the health check port), answered within the timeout
//! with a status the matcher accepts; `HealthyThresholdCount` successes in a row make a
//! target healthy, `UnhealthyThresholdCount` failures unhealthy. Verdicts are kept here for
//! the proxy and recorded in the store (on change) for `DescribeTargetHealth`.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use rampart_services::elbv2::{
    model::{HealthCheck, Target},
    runtime::{record_health, TargetGroupSpec},
    target_groups::{target_key, TargetHealth},
};
use rampart_store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Shared;

/// A target's health as the checker tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    /// The verdict shown (`initial`, `healthy`, `unhealthy`).
    pub health: TargetHealth,
    /// Successes in a row.
    ok: u32,
    /// Failures in a row.
    failed: u32,
}

/// Health per target group and target key.
#[derive(Default)]
pub struct HealthTable {
    inner: Mutex<HashMap<String, HashMap<String, Tracked>>>,
}

impl HealthTable {
    /// Whether the target is healthy.
    pub fn healthy(&self, group: &str, target: &Target) -> bool {
        self.inner.lock().is_ok_and(|m| {
            m.get(group)
                .and_then(|g| g.get(&target_key(&target.id, target.port)))
                .is_some_and(|t| t.health.state == "healthy")
        })
    }

    /// Drops groups no longer in use and targets no longer registered.
    pub fn retain(&self, groups: &BTreeMap<String, TargetGroupSpec>, in_use: &BTreeSet<String>) {
        if let Ok(mut m) = self.inner.lock() {
            m.retain(|arn, _| in_use.contains(arn));
            for (arn, targets) in m.iter_mut() {
                let keys: BTreeSet<String> = groups
                    .get(arn)
                    .map(|g| {
                        g.targets
                            .iter()
                            .map(|t| target_key(&t.id, t.port))
                            .collect()
                    })
                    .unwrap_or_default();
                targets.retain(|k, _| keys.contains(k));
            }
        }
    }

    /// Records one check's outcome; returns the group's verdicts when one changed.
    fn record(
        &self,
        group: &str,
        key: &str,
        outcome: Result<(), (String, String)>,
        hc: &HealthCheck,
    ) -> Option<BTreeMap<String, TargetHealth>> {
        let mut m = self.inner.lock().ok()?;
        let targets = m.entry(group.to_string()).or_default();
        let t = targets.entry(key.to_string()).or_insert_with(|| Tracked {
            health: TargetHealth {
                state: "initial".into(),
                reason: Some("Elb.InitialHealthChecking".into()),
                description: Some("Initial health checks in progress".into()),
            },
            ok: 0,
            failed: 0,
        });
        let before = t.health.clone();
        match outcome {
            Ok(()) => {
                t.ok = t.ok.saturating_add(1);
                t.failed = 0;
                if t.ok >= hc.healthy_threshold {
                    t.health = TargetHealth {
                        state: "healthy".into(),
                        reason: None,
                        description: None,
                    };
                }
            }
            Err((reason, description)) => {
                t.failed = t.failed.saturating_add(1);
                t.ok = 0;
                if t.failed >= hc.unhealthy_threshold {
                    t.health = TargetHealth {
                        state: "unhealthy".into(),
                        reason: Some(reason),
                        description: Some(description),
                    };
                }
            }
        }
        (t.health != before).then(|| {
            targets
                .iter()
                .map(|(k, v)| (k.clone(), v.health.clone()))
                .collect()
        })
    }
}

/// Whether a status code passes the matcher (`200`, `200,202`, `200-299`).
pub fn matcher_accepts(matcher: &str, status: u16) -> bool {
    matcher
        .split(',')
        .map(str::trim)
        .any(|part| match part.split_once('-') {
            Some((lo, hi)) => match (lo.parse::<u16>(), hi.parse::<u16>()) {
                (Ok(lo), Ok(hi)) => (lo..=hi).contains(&status),
                _ => false,
            },
            None => part.parse::<u16>() == Ok(status),
        })
}

/// One health check of a target.
async fn probe(target: &Target, hc: &HealthCheck) -> Result<(), (String, String)> {
    let port = if hc.port == "traffic-port" {
        target.port
    } else {
        hc.port.parse().unwrap_or(target.port)
    };
    let timeout = Duration::from_secs(u64::from(hc.timeout.max(1)));
    let host = target.id.clone();
    let check = async {
        let mut stream = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|_| {
                (
                    "Target.FailedHealthChecks".to_string(),
                    "Health checks failed".to_string(),
                )
            })?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: ELB-HealthChecker/2.0\r\nAccept-Encoding: gzip, compressed\r\nConnection: close\r\n\r\n",
            hc.path
        );
        stream.write_all(request.as_bytes()).await.map_err(|_| {
            (
                "Target.FailedHealthChecks".to_string(),
                "Health checks failed".to_string(),
            )
        })?;
        let mut head = [0u8; 64];
        let n = stream.read(&mut head).await.map_err(|_| {
            (
                "Target.FailedHealthChecks".to_string(),
                "Health checks failed".to_string(),
            )
        })?;
        let line = String::from_utf8_lossy(head.get(..n).unwrap_or_default()).to_string();
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| {
                (
                    "Target.FailedHealthChecks".to_string(),
                    "Health checks failed".to_string(),
                )
            })?;
        if matcher_accepts(&hc.matcher, status) {
            Ok(())
        } else {
            Err((
                "Target.ResponseCodeMismatch".to_string(),
                format!("Health checks failed with these codes: [{status}]"),
            ))
        }
    };
    match tokio::time::timeout(timeout, check).await {
        Ok(r) => r,
        Err(_) => Err((
            "Target.Timeout".to_string(),
            "Request timed out".to_string(),
        )),
    }
}

/// Checks a group's targets every interval, until aborted.
pub async fn check_loop(group: TargetGroupSpec, store: Store, shared: Arc<Shared>) {
    let hc = group.health_check.clone();
    let interval = Duration::from_secs(u64::from(hc.interval.max(1)));
    loop {
        if hc.enabled {
            let probes: Vec<_> = group
                .targets
                .iter()
                .map(|t| {
                    let (t, hc) = (t.clone(), hc.clone());
                    tokio::spawn(async move {
                        let outcome = probe(&t, &hc).await;
                        (t, outcome)
                    })
                })
                .collect();
            let mut changed = None;
            for p in probes {
                if let Ok((t, outcome)) = p.await {
                    let key = target_key(&t.id, t.port);
                    if let Some(all) = shared.health.record(&group.arn, &key, outcome, &hc) {
                        changed = Some(all);
                    }
                }
            }
            if let Some(all) = changed {
                if let Err(e) = record_health(&store, &group.arn, &all).await {
                    tracing::warn!(group = %group.arn, code = e.code(), "cannot record target health");
                }
            }
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_take_codes_lists_and_ranges() {
        assert!(matcher_accepts("200", 200));
        assert!(!matcher_accepts("200", 204));
        assert!(matcher_accepts("200,204", 204));
        assert!(matcher_accepts("200-299", 250));
        assert!(!matcher_accepts("200-299", 301));
    }

    #[test]
    fn thresholds_move_targets_between_states() {
        let table = HealthTable::default();
        let hc = HealthCheck {
            healthy_threshold: 2,
            unhealthy_threshold: 2,
            ..HealthCheck::default()
        };
        let fail = || {
            Err((
                "Target.Timeout".to_string(),
                "Request timed out".to_string(),
            ))
        };
        assert!(
            table.record("g", "t", Ok(()), &hc).is_none(),
            "still initial"
        );
        assert!(table.record("g", "t", Ok(()), &hc).is_some(), "healthy");
        let t = Target {
            id: "t".into(),
            port: 0,
        };
        let _ = t;
        assert!(table.record("g", "t", fail(), &hc).is_none());
        let all = table.record("g", "t", fail(), &hc).unwrap();
        assert_eq!(all.get("t").unwrap().state, "unhealthy");
        assert_eq!(
            all.get("t").unwrap().reason.as_deref(),
            Some("Target.Timeout")
        );
    }
}
