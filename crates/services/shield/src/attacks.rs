//! Attacks Rampart's listeners detected: `ListAttacks`, `DescribeAttack`,
//! `DescribeAttackStatistics`, and [`record`], which the attack job calls with what the
//! tracker drained.

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    input::{opt_str, str_list},
};
use rampart_store::Store;
use serde_json::{json, Value};

use crate::{
    detect::AttackDoc,
    error::{ShieldError, ShieldResult},
    model::{self, ATTACK},
    protections::paged,
};

/// `DescribeAttackStatistics` reaches back a year, as AWS's does.
const STATISTICS_WINDOW_SECS: i64 = 31_536_000;

/// The path attacks on `resource` are stored under.
fn path(resource: &str) -> String {
    format!("/{resource}/")
}

/// Stores the drained attacks (new, changed or ended), in one transaction.
pub async fn record(store: &Store, attacks: &[(String, AttackDoc)]) -> ShieldResult<()> {
    if attacks.is_empty() {
        return Ok(());
    }
    let now = chrono::Utc::now();
    let mut tx = store.begin().await?;
    {
        let mut db = Db::Write(&mut tx);
        for (account, doc) in attacks {
            let at = chrono::DateTime::from_timestamp(doc.last, 0).unwrap_or(now);
            match entity::find(&mut db, account, ATTACK, &doc.id).await? {
                Some(e) => {
                    // Mitigations the automatic response noted stay.
                    let stored = entity::read_doc::<AttackDoc>(&e)?;
                    let mut doc = doc.clone();
                    for m in stored.mitigations {
                        if !doc.mitigations.contains(&m) {
                            doc.mitigations.push(m);
                        }
                    }
                    entity::save_doc(&mut db, e, &doc, at).await?
                }
                None => {
                    // An attack is in the partition of the resource it hit.
                    let partition = rampart_kit::Partition::of_arn(&doc.resource);
                    let arn = model::arn(partition.unwrap_or_default(), account, "attack", &doc.id);
                    let e =
                        model::new_entity(account, ATTACK, &doc.id, &path(&doc.resource), arn, at);
                    model::create(&mut db, e, doc, at).await?;
                }
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Ends the stored attacks of `accounts` that no node has observed for `quiet` seconds (an
/// attack a stopped node left open).
pub async fn close_stale(
    store: &Store,
    accounts: &[String],
    now: i64,
    quiet: i64,
) -> ShieldResult<()> {
    let mut stale = Vec::new();
    {
        let mut db = Db::Read(store);
        for account in accounts {
            for a in model::list_all::<AttackDoc>(&mut db, account, ATTACK, "/").await? {
                if a.doc.ongoing() && now.saturating_sub(a.doc.last) >= quiet {
                    let mut doc = a.doc;
                    doc.end = Some(doc.last.saturating_add(1));
                    stale.push((account.clone(), doc));
                }
            }
        }
    }
    record(store, &stale).await
}

/// The ongoing attacks on `resource` in `account`.
pub async fn ongoing(
    db: &mut Db<'_>,
    account: &str,
    resource: &str,
) -> ShieldResult<Vec<AttackDoc>> {
    Ok(
        model::list_all::<AttackDoc>(db, account, ATTACK, &path(resource))
            .await?
            .into_iter()
            .map(|a| a.doc)
            .filter(AttackDoc::ongoing)
            .collect(),
    )
}

/// Epoch seconds from a timestamp member (a number of seconds, or an ISO 8601 text).
fn seconds(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| {
        v.as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.timestamp() as f64)
    })
}

/// True when `t` (none: still going) lies in the `TimeRange` `range` (none: any).
fn in_range(range: Option<&Value>, t: Option<i64>) -> bool {
    let Some(range) = range else { return true };
    let from = range.get("FromInclusive").and_then(seconds);
    let to = range.get("ToExclusive").and_then(seconds);
    match t {
        Some(t) => {
            let t = t as f64;
            from.is_none_or(|f| t >= f) && to.is_none_or(|x| t < x)
        }
        // An ongoing attack has not ended: within any range open at its end.
        None => to.is_none(),
    }
}

fn summary(a: &AttackDoc) -> Value {
    let mut out = json!({
        "AttackId": a.id,
        "ResourceArn": a.resource,
        "StartTime": model::epoch(a.start),
        "AttackVectors": a.vectors.keys().map(|v| json!({"VectorType": v})).collect::<Vec<_>>(),
    });
    if let (Some(o), Some(end)) = (out.as_object_mut(), a.end) {
        o.insert("EndTime".into(), model::epoch(end));
    }
    out
}

/// `ListAttacks`: the account's attacks, newest first.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let resources = str_list(input, "ResourceArns");
    let mut all: Vec<AttackDoc> =
        model::list_all::<AttackDoc>(&mut db, &ctx.principal.account_id, ATTACK, "/")
            .await?
            .into_iter()
            .map(|a| a.doc)
            .filter(|a| resources.is_empty() || resources.contains(&a.resource))
            .filter(|a| in_range(input.get("StartTime"), Some(a.start)))
            .filter(|a| in_range(input.get("EndTime"), a.end))
            .collect();
    all.sort_by(|a, b| b.start.cmp(&a.start).then_with(|| a.id.cmp(&b.id)));
    let page = paged(all.iter().map(summary).collect(), input)?;
    let mut out = json!({"AttackSummaries": page.items});
    if let (Some(o), Some(next)) = (out.as_object_mut(), page.next) {
        o.insert("NextToken".into(), json!(next));
    }
    Ok(out)
}

/// `DescribeAttack`.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let id = opt_str(input, "AttackId").unwrap_or_default();
    let a = model::load::<AttackDoc>(&mut db, &ctx.principal.account_id, ATTACK, id)
        .await?
        .ok_or_else(|| ShieldError::missing("attack"))?
        .doc;
    let counters: Vec<Value> = a
        .vectors
        .iter()
        .map(|(name, s)| {
            let average = if s.seconds == 0 {
                0.0
            } else {
                s.total as f64 / s.seconds as f64
            };
            json!({
                "Name": name,
                "Max": s.max_per_second as f64,
                "Average": average,
                "Sum": s.total as f64,
                "N": i64::try_from(s.seconds).unwrap_or(i64::MAX),
                "Unit": s.unit,
            })
        })
        .collect();
    let mut top: Vec<(&String, &u64)> = a.sources.iter().collect();
    top.sort_by(|x, y| y.1.cmp(x.1).then_with(|| x.0.cmp(y.0)));
    let total: u64 = a.sources.values().sum();
    let mut detail = json!({
        "AttackId": a.id,
        "ResourceArn": a.resource,
        "SubResources": [],
        "StartTime": model::epoch(a.start),
        "AttackCounters": counters,
        "AttackProperties": [{
            "AttackLayer": "APPLICATION",
            "AttackPropertyIdentifier": "SOURCE_IP_ADDRESS",
            "TopContributors": top.iter().take(10)
                .map(|(ip, n)| json!({"Name": ip, "Value": n})).collect::<Vec<_>>(),
            "Unit": "REQUESTS",
            "Total": total,
        }],
        "Mitigations": a.mitigations.iter()
            .map(|m| json!({"MitigationName": m})).collect::<Vec<_>>(),
    });
    if let (Some(o), Some(end)) = (detail.as_object_mut(), a.end) {
        o.insert("EndTime".into(), model::epoch(end));
    }
    Ok(json!({"Attack": detail}))
}

/// `DescribeAttackStatistics`: the account's attacks of the past year, and the highest
/// request rate among them.
pub async fn statistics(_input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ShieldResult<Value> {
    let now = ctx.now.timestamp();
    let from = now.saturating_sub(STATISTICS_WINDOW_SECS);
    let attacks: Vec<AttackDoc> =
        model::list_all::<AttackDoc>(&mut db, &ctx.principal.account_id, ATTACK, "/")
            .await?
            .into_iter()
            .map(|a| a.doc)
            .filter(|a| a.start >= from && a.start < now.saturating_add(1))
            .collect();
    let peak = attacks
        .iter()
        .flat_map(|a| a.vectors.values())
        .filter(|s| s.unit == "Requests")
        .map(|s| s.max_per_second)
        .max();
    let mut item = json!({"AttackCount": attacks.len()});
    if let (Some(o), Some(peak)) = (item.as_object_mut(), peak) {
        o.insert(
            "AttackVolume".into(),
            json!({"RequestsPerSecond": {"Max": peak as f64}}),
        );
    }
    Ok(json!({
        "TimeRange": {"FromInclusive": model::epoch(from), "ToExclusive": model::epoch(now)},
        "DataItems": [item],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ranges_select_starts_and_ends() {
        let r = json!({"FromInclusive": 100, "ToExclusive": 200});
        assert!(in_range(Some(&r), Some(100)));
        assert!(!in_range(Some(&r), Some(200)));
        assert!(!in_range(Some(&r), None));
        assert!(in_range(Some(&json!({"FromInclusive": 100})), None));
        assert!(in_range(None, None));
    }
}
