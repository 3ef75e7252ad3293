//! Target groups and their targets: `CreateTargetGroup`, `DescribeTargetGroups`,
//! `DeleteTargetGroup`, `RegisterTargets`, `DeregisterTargets`, `DescribeTargetHealth`.
//! Targets of type `ip` and `instance` are both host addresses (Rampart has no instances).
//! Health comes from the server's health checker, which records it in a setting per group.

use std::collections::{BTreeMap, BTreeSet};

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    input::{opt_bool, opt_int, opt_str, str_list},
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    actions::{parse_actions, Action},
    error::{ElbError, ElbResult},
    model::{
        self, HealthCheck, ListenerDoc, Loaded, RuleDoc, Target, TargetGroupDoc, HEALTH, LISTENER,
        RULE, TARGET_GROUP,
    },
    tags,
};

/// One target's health as the checker records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetHealth {
    /// `healthy`, `unhealthy`, `initial`, ...
    pub state: String,
    /// AWS's reason code (`Target.FailedHealthChecks`, ...), absent when healthy.
    #[serde(default)]
    pub reason: Option<String>,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
}

/// The key of a target in a group's health map.
pub fn target_key(id: &str, port: u16) -> String {
    format!("{id}:{port}")
}

fn int_in(input: &Value, key: &str, lo: i64, hi: i64, default: u32) -> ElbResult<u32> {
    match opt_int(input, key) {
        None => Ok(default),
        Some(v) if (lo..=hi).contains(&v) => Ok(u32::try_from(v).unwrap_or(default)),
        Some(v) => Err(ElbError::invalid(format!(
            "1 validation error detected: Value '{v}' at '{}' failed to satisfy constraint: Member must have value between {lo} and {hi}",
            rampart_kit::input::lower_first(key)
        ))),
    }
}

fn check_name(name: &str) -> ElbResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ElbError::invalid(format!(
            "Target group name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )))
    }
}

/// The health check an input describes.
fn health_check(input: &Value) -> ElbResult<HealthCheck> {
    let d = HealthCheck::default();
    let path = opt_str(input, "HealthCheckPath").unwrap_or("/").to_string();
    if !path.starts_with('/') {
        return Err(ElbError::invalid(
            "Health check path must begin with a '/' character",
        ));
    }
    let port = opt_str(input, "HealthCheckPort")
        .unwrap_or("traffic-port")
        .to_string();
    if port != "traffic-port" && port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(ElbError::invalid(format!(
            "Health check port '{port}' is not valid"
        )));
    }
    let protocol = opt_str(input, "HealthCheckProtocol")
        .unwrap_or("HTTP")
        .to_string();
    if protocol != "HTTP" {
        return Err(ElbError::invalid(format!(
            "Health check protocol '{protocol}' is not supported by Rampart (HTTP)"
        )));
    }
    let hc = HealthCheck {
        enabled: opt_bool(input, "HealthCheckEnabled").unwrap_or(true),
        protocol,
        port,
        path,
        interval: int_in(input, "HealthCheckIntervalSeconds", 5, 300, d.interval)?,
        timeout: int_in(input, "HealthCheckTimeoutSeconds", 2, 120, d.timeout)?,
        healthy_threshold: int_in(input, "HealthyThresholdCount", 2, 10, d.healthy_threshold)?,
        unhealthy_threshold: int_in(
            input,
            "UnhealthyThresholdCount",
            2,
            10,
            d.unhealthy_threshold,
        )?,
        matcher: input
            .get("Matcher")
            .and_then(|m| opt_str(m, "HttpCode"))
            .unwrap_or("200")
            .to_string(),
    };
    if hc.timeout >= hc.interval {
        return Err(ElbError::invalid(
            "Health check timeout must be smaller than the interval",
        ));
    }
    Ok(hc)
}

/// `CreateTargetGroup` (protocol HTTP, target type `ip` or `instance`).
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let name = opt_str(input, "Name").unwrap_or_default();
    check_name(name)?;
    let target_type = opt_str(input, "TargetType").unwrap_or("instance");
    if !matches!(target_type, "ip" | "instance") {
        return Err(ElbError::invalid(format!(
            "Target type '{target_type}' is not supported by Rampart (ip, instance)"
        )));
    }
    let protocol = opt_str(input, "Protocol").unwrap_or("HTTP");
    if protocol != "HTTP" {
        return Err(ElbError::invalid(format!(
            "Protocol '{protocol}' is not supported by Rampart's target groups (HTTP)"
        )));
    }
    let port = opt_int(input, "Port")
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p > 0)
        .ok_or_else(|| ElbError::invalid("A port must be specified"))?;
    let account = &ctx.principal.account_id;
    let key = model::name_key(&ctx.region, name);
    if let Some(existing) =
        model::load::<TargetGroupDoc>(&mut db, account, TARGET_GROUP, &key).await?
    {
        let _ = existing;
        return Err(ElbError::DuplicateTargetGroupName(
            "A target group with the same name exists, but with different settings".into(),
        ));
    }
    let doc = TargetGroupDoc {
        name: name.to_string(),
        protocol: protocol.to_string(),
        port,
        vpc_id: opt_str(input, "VpcId").map(str::to_string),
        target_type: target_type.to_string(),
        health_check: health_check(input)?,
        targets: Vec::new(),
        tags: tags::parse(input.get("Tags"))?,
    };
    let arn = format!(
        "{}:targetgroup/{name}/{}",
        model::arn_prefix(&ctx.region, account),
        model::new_id()
    );
    let mut e = model::new_entity(
        account,
        TARGET_GROUP,
        name,
        key,
        format!("/{}/", ctx.region),
        arn,
        ctx.now,
    );
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    model::note_account(&mut db, account).await?;
    model::bump_generation(&mut db).await?;
    let tg = Loaded { entity: e, doc };
    Ok(json!({ "TargetGroups": [shown(&tg, &BTreeSet::new())] }))
}

/// Which load balancers use each target group (through a listener's default action or a
/// rule), for the account in the region.
pub async fn usage(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
) -> ElbResult<BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let path = format!("/{region}/");
    let listeners = model::list_all::<ListenerDoc>(db, account, LISTENER, &path).await?;
    let mut lb_of = BTreeMap::new();
    for l in &listeners {
        lb_of.insert(l.arn().to_string(), l.doc.load_balancer_arn.clone());
        if let Ok(Action::Forward(groups)) = parse_actions(&l.doc.default_actions) {
            for (tg, _) in groups {
                out.entry(tg)
                    .or_default()
                    .insert(l.doc.load_balancer_arn.clone());
            }
        }
    }
    for r in model::list_all::<RuleDoc>(db, account, RULE, &path).await? {
        let Some(lb) = lb_of.get(&r.doc.listener_arn) else {
            continue;
        };
        if let Ok(Action::Forward(groups)) = parse_actions(&r.doc.actions) {
            for (tg, _) in groups {
                out.entry(tg).or_default().insert(lb.clone());
            }
        }
    }
    Ok(out)
}

/// A target group as `DescribeTargetGroups` shows it.
pub fn shown(tg: &Loaded<TargetGroupDoc>, lbs: &BTreeSet<String>) -> Value {
    let d = &tg.doc;
    let hc = &d.health_check;
    json!({
        "TargetGroupArn": tg.arn(),
        "TargetGroupName": d.name,
        "Protocol": d.protocol,
        "Port": d.port,
        "VpcId": d.vpc_id,
        "HealthCheckProtocol": hc.protocol,
        "HealthCheckPort": hc.port,
        "HealthCheckEnabled": hc.enabled,
        "HealthCheckIntervalSeconds": hc.interval,
        "HealthCheckTimeoutSeconds": hc.timeout,
        "HealthyThresholdCount": hc.healthy_threshold,
        "UnhealthyThresholdCount": hc.unhealthy_threshold,
        "HealthCheckPath": hc.path,
        "Matcher": {"HttpCode": hc.matcher},
        "LoadBalancerArns": lbs.iter().collect::<Vec<_>>(),
        "TargetType": d.target_type,
        "ProtocolVersion": "HTTP1",
        "IpAddressType": "ipv4",
    })
}

/// `DescribeTargetGroups`: by ARN, by name, by load balancer, or all.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let account = &ctx.principal.account_id;
    let used = usage(&mut db, account, &ctx.region).await?;
    let arns = str_list(input, "TargetGroupArns");
    let names = str_list(input, "Names");
    let lb = opt_str(input, "LoadBalancerArn");
    let mut found = Vec::new();
    if !arns.is_empty() {
        for arn in &arns {
            found.push(model::target_group(&mut db, account, &ctx.region, arn).await?);
        }
    } else if !names.is_empty() {
        for name in &names {
            let key = model::name_key(&ctx.region, name);
            found.push(
                model::load::<TargetGroupDoc>(&mut db, account, TARGET_GROUP, &key)
                    .await?
                    .ok_or_else(|| {
                        ElbError::TargetGroupNotFound(format!(
                            "One or more target groups not found: {name}"
                        ))
                    })?,
            );
        }
    } else {
        if let Some(lb) = lb {
            model::load_balancer(&mut db, account, &ctx.region, lb).await?;
        }
        let path = format!("/{}/", ctx.region);
        found = model::list_all::<TargetGroupDoc>(&mut db, account, TARGET_GROUP, &path)
            .await?
            .into_iter()
            .filter(|tg| lb.is_none_or(|lb| used.get(tg.arn()).is_some_and(|s| s.contains(lb))))
            .collect();
    }
    let empty = BTreeSet::new();
    let out: Vec<Value> = found
        .iter()
        .map(|tg| shown(tg, used.get(tg.arn()).unwrap_or(&empty)))
        .collect();
    Ok(json!({ "TargetGroups": out }))
}

/// `DeleteTargetGroup`: refused while a listener or rule forwards to it.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let account = &ctx.principal.account_id;
    let arn = opt_str(input, "TargetGroupArn").unwrap_or_default();
    let tg = match model::target_group(&mut db, account, &ctx.region, arn).await {
        Ok(tg) => tg,
        Err(ElbError::TargetGroupNotFound(_)) => return Ok(json!({})),
        Err(e) => return Err(e),
    };
    let used = usage(&mut db, account, &ctx.region).await?;
    if let Some(lbs) = used.get(arn).and_then(|s| s.iter().next()) {
        return Err(ElbError::ResourceInUse(format!(
            "Target group '{arn}' is currently in use by a listener or a rule of '{lbs}'"
        )));
    }
    db.entities()
        .delete(account, TARGET_GROUP, &tg.entity.name_key)
        .await?;
    db.settings().delete(&format!("{HEALTH}{arn}")).await?;
    model::bump_generation(&mut db).await?;
    Ok(json!({}))
}

/// The targets an input lists, with the group's port as the default.
fn targets_in(input: &Value, tg: &TargetGroupDoc) -> ElbResult<Vec<Target>> {
    let mut out = Vec::new();
    for t in input
        .get("Targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = opt_str(t, "Id").unwrap_or_default().to_string();
        if id.is_empty() {
            return Err(ElbError::InvalidTarget(
                "A target ID must be specified".into(),
            ));
        }
        if tg.target_type == "ip" && id.parse::<std::net::IpAddr>().is_err() {
            return Err(ElbError::InvalidTarget(format!(
                "The IP address '{id}' is not a valid IPv4 address"
            )));
        }
        let port = match opt_int(t, "Port") {
            None => tg.port,
            Some(p) => u16::try_from(p)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| ElbError::InvalidTarget(format!("Port '{p}' is not valid")))?,
        };
        out.push(Target { id, port });
    }
    Ok(out)
}

/// `RegisterTargets`.
pub async fn register(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let account = &ctx.principal.account_id;
    let arn = opt_str(input, "TargetGroupArn").unwrap_or_default();
    let mut tg = model::target_group(&mut db, account, &ctx.region, arn).await?;
    for t in targets_in(input, &tg.doc)? {
        if !tg.doc.targets.contains(&t) {
            tg.doc.targets.push(t);
        }
    }
    entity::save_doc(&mut db, tg.entity, &tg.doc, ctx.now).await?;
    model::bump_generation(&mut db).await?;
    Ok(json!({}))
}

/// `DeregisterTargets`: a target that is not registered is `InvalidTarget`, as in AWS.
pub async fn deregister(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let account = &ctx.principal.account_id;
    let arn = opt_str(input, "TargetGroupArn").unwrap_or_default();
    let mut tg = model::target_group(&mut db, account, &ctx.region, arn).await?;
    for t in targets_in(input, &tg.doc)? {
        let before = tg.doc.targets.len();
        tg.doc.targets.retain(|x| *x != t);
        if tg.doc.targets.len() == before {
            return Err(ElbError::InvalidTarget(format!(
                "The target '{}' is not registered with the target group",
                t.id
            )));
        }
    }
    entity::save_doc(&mut db, tg.entity, &tg.doc, ctx.now).await?;
    model::bump_generation(&mut db).await?;
    Ok(json!({}))
}

/// The health the checker recorded for a group's targets.
pub async fn recorded_health(
    db: &mut Db<'_>,
    tg_arn: &str,
) -> ElbResult<BTreeMap<String, TargetHealth>> {
    Ok(db
        .settings()
        .get(&format!("{HEALTH}{tg_arn}"))
        .await?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

/// `DescribeTargetHealth`: the health checker's verdicts; `unused` for a group no listener
/// forwards to, `initial` before the first verdict.
pub async fn describe_health(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let account = &ctx.principal.account_id;
    let arn = opt_str(input, "TargetGroupArn").unwrap_or_default();
    let tg = model::target_group(&mut db, account, &ctx.region, arn).await?;
    let asked = targets_in(input, &tg.doc)?;
    let targets = if asked.is_empty() {
        tg.doc.targets.clone()
    } else {
        asked
    };
    let in_use = usage(&mut db, account, &ctx.region)
        .await?
        .contains_key(arn);
    let health = recorded_health(&mut db, arn).await?;
    let hc_port = &tg.doc.health_check.port;
    let out: Vec<Value> = targets
        .iter()
        .map(|t| {
            let h = if !tg.doc.targets.contains(t) {
                TargetHealth {
                    state: "unused".into(),
                    reason: Some("Target.NotRegistered".into()),
                    description: Some("Target is not registered to the target group".into()),
                }
            } else if !in_use {
                TargetHealth {
                    state: "unused".into(),
                    reason: Some("Target.NotInUse".into()),
                    description: Some(
                        "Target group is not configured to receive traffic from the load balancer"
                            .into(),
                    ),
                }
            } else {
                health
                    .get(&target_key(&t.id, t.port))
                    .cloned()
                    .unwrap_or(TargetHealth {
                        state: "initial".into(),
                        reason: Some("Elb.InitialHealthChecking".into()),
                        description: Some("Initial health checks in progress".into()),
                    })
            };
            let mut th = json!({"State": h.state});
            if let Some(r) = h.reason {
                crate::model::put(&mut th, "Reason", json!(r));
            }
            if let Some(d) = h.description {
                crate::model::put(&mut th, "Description", json!(d));
            }
            let port = if hc_port == "traffic-port" {
                t.port.to_string()
            } else {
                hc_port.clone()
            };
            json!({
                "Target": {"Id": t.id, "Port": t.port},
                "HealthCheckPort": port,
                "TargetHealth": th,
            })
        })
        .collect();
    Ok(json!({ "TargetHealthDescriptions": out }))
}
