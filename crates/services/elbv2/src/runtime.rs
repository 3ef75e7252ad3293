//! What the server's listener runtime reads: every listener with its routing, every target
//! group with its targets and health check, and the generation that changes with each write.
//! The runtime records health verdicts back through [`record_health`].

use std::collections::BTreeMap;

use rampart_kit::db::Db;
use rampart_store::Store;

use crate::{
    actions::{parse_actions, parse_condition, Action, Condition},
    attributes,
    error::{ElbError, ElbResult},
    model::{
        self, HealthCheck, ListenerDoc, LoadBalancerDoc, RuleDoc, Target, TargetGroupDoc,
        GENERATION, HEALTH, LISTENER, LOAD_BALANCER, RULE, TARGET_GROUP,
    },
    target_groups::TargetHealth,
};

/// A listener rule, ready to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    /// `Priority`.
    pub priority: u32,
    /// Every condition must hold.
    pub conditions: Vec<Condition>,
    /// The action.
    pub action: Action,
}

/// A listener, ready to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSpec {
    /// Its ARN.
    pub arn: String,
    /// The owning account.
    pub account: String,
    /// Its load balancer's ARN (what a web ACL is associated with).
    pub load_balancer_arn: String,
    /// `Port`.
    pub port: u16,
    /// Rules by priority.
    pub rules: Vec<RuleSpec>,
    /// The default action.
    pub default_action: Action,
    /// For an HTTPS listener: its security policy and certificates.
    pub tls: Option<TlsSpec>,
    /// Where its load balancer's access logs go, when they are on.
    pub access_log: Option<AccessLogSpec>,
    /// Whether HTTP/2 is offered to clients (`routing.http2.enabled`; over TLS only).
    pub http2: bool,
}

/// Where a load balancer's access logs go.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AccessLogSpec {
    /// The load balancer's ARN.
    pub load_balancer_arn: String,
    /// `access_logs.s3.bucket`.
    pub bucket: String,
    /// `access_logs.s3.prefix`.
    pub prefix: String,
}

/// What an HTTPS listener terminates TLS with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSpec {
    /// `SslPolicy`.
    pub policy: String,
    /// The default certificate's ARN, then the others (chosen by SNI).
    pub certificates: Vec<String>,
}

impl ListenerSpec {
    /// The action for a request: the first rule by priority whose conditions all hold, else
    /// the default action.
    pub fn route(&self, host: &str, path: &str) -> &Action {
        self.matched(host, path).1
    }

    /// The priority of the rule that matches a request (0 for the default action, as the
    /// access logs write it) and its action.
    pub fn matched(&self, host: &str, path: &str) -> (u32, &Action) {
        self.rules
            .iter()
            .find(|r| r.conditions.iter().all(|c| c.matches(host, path)))
            .map_or((0, &self.default_action), |r| (r.priority, &r.action))
    }
}

/// A target group, ready to check and balance over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupSpec {
    /// Its ARN.
    pub arn: String,
    /// Registered targets.
    pub targets: Vec<Target>,
    /// The health check.
    pub health_check: HealthCheck,
}

/// Everything the runtime serves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The listeners of every account.
    pub listeners: Vec<ListenerSpec>,
    /// The target groups of every account, by ARN.
    pub target_groups: BTreeMap<String, TargetGroupSpec>,
}

/// The configuration generation (changes with every ELB or WAF write).
pub async fn generation(store: &Store) -> ElbResult<i64> {
    Ok(store
        .settings()
        .get(GENERATION)
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Reads every listener and target group. A listener whose stored actions no longer parse
/// is skipped (and logged), never served half-configured.
pub async fn snapshot(store: &Store) -> ElbResult<Snapshot> {
    let mut db = Db::Read(store);
    let mut out = Snapshot::default();
    for account in model::accounts(&mut db).await? {
        let rules = model::list_all::<RuleDoc>(&mut db, &account, RULE, "/").await?;
        let mut by_listener: BTreeMap<String, Vec<RuleSpec>> = BTreeMap::new();
        for r in rules {
            let conditions: Result<Vec<_>, _> =
                r.doc.conditions.iter().map(parse_condition).collect();
            match (conditions, parse_actions(&r.doc.actions)) {
                (Ok(conditions), Ok(action)) => {
                    by_listener
                        .entry(r.doc.listener_arn.clone())
                        .or_default()
                        .push(RuleSpec {
                            priority: r.doc.priority,
                            conditions,
                            action,
                        });
                }
                _ => tracing::warn!(rule = r.arn(), "elbv2: stored rule does not parse"),
            }
        }
        let balancers: BTreeMap<String, LoadBalancerDoc> =
            model::list_all::<LoadBalancerDoc>(&mut db, &account, LOAD_BALANCER, "/")
                .await?
                .into_iter()
                .map(|lb| (lb.arn().to_string(), lb.doc))
                .collect();
        for l in model::list_all::<ListenerDoc>(&mut db, &account, LISTENER, "/").await? {
            let Ok(default_action) = parse_actions(&l.doc.default_actions) else {
                tracing::warn!(listener = l.arn(), "elbv2: stored listener does not parse");
                continue;
            };
            let mut rules = by_listener.remove(l.arn()).unwrap_or_default();
            rules.sort_by_key(|r| r.priority);
            let lb = balancers.get(&l.doc.load_balancer_arn);
            let access_log = lb
                .and_then(attributes::log_destination)
                .map(|(bucket, prefix)| AccessLogSpec {
                    load_balancer_arn: l.doc.load_balancer_arn.clone(),
                    bucket,
                    prefix,
                });
            out.listeners.push(ListenerSpec {
                arn: l.arn().to_string(),
                account: account.clone(),
                load_balancer_arn: l.doc.load_balancer_arn.clone(),
                port: l.doc.port,
                rules,
                default_action,
                tls: tls_of(&l.doc),
                access_log,
                http2: lb.is_none_or(attributes::http2),
            });
        }
        for tg in model::list_all::<TargetGroupDoc>(&mut db, &account, TARGET_GROUP, "/").await? {
            out.target_groups.insert(
                tg.arn().to_string(),
                TargetGroupSpec {
                    arn: tg.arn().to_string(),
                    targets: tg.doc.targets.clone(),
                    health_check: tg.doc.health_check.clone(),
                },
            );
        }
    }
    Ok(out)
}

/// The TLS settings of an HTTPS listener; `None` for HTTP.
fn tls_of(doc: &ListenerDoc) -> Option<TlsSpec> {
    if doc.protocol != "HTTPS" {
        return None;
    }
    let certificates = doc
        .certificate
        .iter()
        .chain(doc.extra_certificates.iter())
        .cloned()
        .collect();
    Some(TlsSpec {
        policy: doc
            .ssl_policy
            .clone()
            .unwrap_or_else(|| crate::ssl_policies::DEFAULT.to_string()),
        certificates,
    })
}

/// Records a group's health verdicts (target key → health) for `DescribeTargetHealth`.
pub async fn record_health(
    store: &Store,
    tg_arn: &str,
    health: &BTreeMap<String, TargetHealth>,
) -> ElbResult<()> {
    let text = serde_json::to_string(health).map_err(|_| ElbError::internal())?;
    store
        .settings()
        .set(&format!("{HEALTH}{tg_arn}"), &text)
        .await?;
    Ok(())
}
