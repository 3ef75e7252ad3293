//! Investigations: `StartInvestigation`, `GetInvestigation`, `ListInvestigations`,
//! `ListIndicators`, `UpdateInvestigationState`.
//!
//! `StartInvestigation` stores the investigation `RUNNING`, as AWS answers at first, and
//! queues it; the server's investigation job reads the audit trail and computes its indicators
//! and severity ([`crate::run`]), and then it is `SUCCESSFUL`.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_int, opt_str},
    json_field::SetField,
    page,
    timestamp::ts,
};
use rampart_store::Entity;
use serde_json::{json, Value};

use crate::{
    activity::TrailPrincipal,
    error::DetectiveError,
    members,
    model::{self, Graph, InvestigationDoc},
};

/// `RUNNING`: the job has not computed the investigation yet.
pub const RUNNING: &str = "RUNNING";
/// `SUCCESSFUL`: computed.
pub const SUCCESSFUL: &str = "SUCCESSFUL";
/// `FAILED`: the principal's records could not be read.
pub const FAILED: &str = "FAILED";

/// A timestamp member (epoch seconds, as decoded).
fn time(input: &Value, key: &str) -> Option<DateTime<Utc>> {
    let secs = input.get(key)?.as_f64()?;
    DateTime::from_timestamp_millis((secs * 1000.0) as i64)
}

/// A new investigation id: 21 decimal digits.
fn new_id() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000_000_000_000u128;
    format!("{n:021}")
}

/// `StartInvestigation`.
pub async fn start(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let g = model::own_graph(&mut db, ctx, opt_str(input, "GraphArn").unwrap_or_default()).await?;
    let arn = opt_str(input, "EntityArn").unwrap_or_default();
    let principal = TrailPrincipal::of_arn(arn).ok_or_else(|| {
        DetectiveError::invalid(format!("The entity {arn} is not an IAM user or role."))
    })?;
    let account = arn.split(':').nth(4).unwrap_or_default();
    if account != g.account() {
        let member = members::member(&mut db, &g, account).await?;
        if member.is_none_or(|(_, m)| m.status != model::ENABLED) {
            return Err(DetectiveError::invalid(format!(
                "The entity {arn} is not in an account of the behavior graph."
            ))
            .into());
        }
    }
    let (Some(start), Some(end)) = (time(input, "ScopeStartTime"), time(input, "ScopeEndTime"))
    else {
        return Err(
            DetectiveError::invalid("ScopeStartTime and ScopeEndTime are required.").into(),
        );
    };
    if start >= end {
        return Err(DetectiveError::invalid("ScopeStartTime must be before ScopeEndTime.").into());
    }
    let id = new_id();
    let doc = InvestigationDoc {
        id: id.clone(),
        graph_arn: g.arn().to_string(),
        entity_arn: arn.to_string(),
        entity_type: principal.entity_type().into(),
        scope_start: start,
        scope_end: end,
        status: RUNNING.into(),
        state: "ACTIVE".into(),
        severity: None,
        indicators: Vec::new(),
        complete: false,
    };
    let key = model::investigation_key(g.graph_id(), &id);
    let text = entity::to_text(&doc)?;
    let investigation = Entity {
        account_id: g.account().to_string(),
        kind: model::INVESTIGATION.into(),
        name: id.clone(),
        name_key: key.clone(),
        id: format!("{}/{key}", model::INVESTIGATION),
        path: model::under(g.graph_id()),
        arn: format!("{}/investigation/{id}", g.arn()),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: text,
    };
    db.entities().create(&investigation).await?;
    let pending = format!("{}/{key}", g.account());
    db.entities()
        .create(&Entity {
            account_id: model::SYSTEM_ACCOUNT.into(),
            kind: model::PENDING.into(),
            name: pending.clone(),
            name_key: pending.clone(),
            id: format!("{}/{pending}", model::PENDING),
            path: "/".into(),
            arn: investigation.arn.clone(),
            created_at: ctx.now,
            updated_at: ctx.now,
            doc: String::new(),
        })
        .await?;
    Ok(json!({ "InvestigationId": id }))
}

/// The investigation a request names in the caller's graph.
async fn named(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
) -> Result<(Graph, Entity, InvestigationDoc), ServiceError> {
    let g = model::own_graph(db, ctx, opt_str(input, "GraphArn").unwrap_or_default()).await?;
    let id = opt_str(input, "InvestigationId").unwrap_or_default();
    let key = model::investigation_key(g.graph_id(), id);
    let (e, doc) =
        entity::load_doc::<InvestigationDoc>(db, g.account(), model::INVESTIGATION, &key)
            .await?
            .ok_or_else(DetectiveError::not_found)?;
    Ok((g, e, doc))
}

/// `GetInvestigation`.
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let (_, e, doc) = named(input, ctx, &mut db).await?;
    let mut out = json!({
        "GraphArn": doc.graph_arn,
        "InvestigationId": doc.id,
        "EntityArn": doc.entity_arn,
        "EntityType": doc.entity_type,
        "CreatedTime": ts(e.created_at),
        "ScopeStartTime": ts(doc.scope_start),
        "ScopeEndTime": ts(doc.scope_end),
        "Status": doc.status,
        "State": doc.state,
    });
    if let Some(s) = &doc.severity {
        out.set_field("Severity", json!(s));
    }
    Ok(out)
}

/// `UpdateInvestigationState`: `ACTIVE` or `ARCHIVED`.
pub async fn update_state(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (_, e, mut doc) = named(input, ctx, &mut db).await?;
    doc.state = opt_str(input, "State").unwrap_or("ACTIVE").to_string();
    entity::save_doc(&mut db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

/// `ListIndicators`: the investigation's indicators, of one `IndicatorType` when given.
pub async fn indicators(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let (_, _, doc) = named(input, ctx, &mut db).await?;
    let kind = opt_str(input, "IndicatorType");
    let items: Vec<Value> = doc
        .indicators
        .iter()
        .filter(|i| kind.is_none_or(|k| i.kind == k))
        .map(|i| i.to_value())
        .collect();
    let max = usize::try_from(opt_int(input, "MaxResults").unwrap_or(50)).unwrap_or(50);
    let p = page::at_offset(items, opt_str(input, "NextToken"), max)
        .ok_or_else(|| DetectiveError::invalid("The pagination token is not valid."))?;
    let mut out = json!({
        "GraphArn": doc.graph_arn,
        "InvestigationId": doc.id,
        "Indicators": p.items,
    });
    if let Some(next) = p.next {
        out.set_field("NextToken", json!(next));
    }
    Ok(out)
}

/// The rank of a severity, for sorting (`INFORMATIONAL` lowest, none below it).
fn severity_rank(s: Option<&str>) -> u8 {
    match s {
        Some("CRITICAL") => 5,
        Some("HIGH") => 4,
        Some("MEDIUM") => 3,
        Some("LOW") => 2,
        Some("INFORMATIONAL") => 1,
        _ => 0,
    }
}

/// Whether an investigation passes `FilterCriteria`.
fn passes(filter: Option<&Value>, e: &Entity, doc: &InvestigationDoc) -> bool {
    let Some(f) = filter else { return true };
    let value = |k: &str| f.get(k).and_then(|v| opt_str(v, "Value"));
    let matches = |k: &str, have: Option<&str>| value(k).is_none_or(|want| have == Some(want));
    let created = f.get("CreatedTime").is_none_or(|d| {
        let from = time(d, "StartInclusive");
        let to = time(d, "EndInclusive");
        from.is_none_or(|t| e.created_at >= t) && to.is_none_or(|t| e.created_at <= t)
    });
    matches("Severity", doc.severity.as_deref())
        && matches("Status", Some(&doc.status))
        && matches("State", Some(&doc.state))
        && matches("EntityArn", Some(&doc.entity_arn))
        && created
}

/// `ListInvestigations`: filtered by `FilterCriteria`, sorted by `SortCriteria` (newest
/// first by default).
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let g = model::own_graph(&mut db, ctx, opt_str(input, "GraphArn").unwrap_or_default()).await?;
    let filter = input.get("FilterCriteria");
    let mut found = Vec::new();
    for e in model::all(
        &mut db,
        g.account(),
        model::INVESTIGATION,
        &model::under(g.graph_id()),
    )
    .await?
    {
        let doc: InvestigationDoc = entity::read_doc(&e)?;
        if passes(filter, &e, &doc) {
            found.push((e, doc));
        }
    }
    let sort = input.get("SortCriteria");
    let field = sort
        .and_then(|s| opt_str(s, "Field"))
        .unwrap_or("CREATED_TIME");
    let descending = sort.and_then(|s| opt_str(s, "SortOrder")).unwrap_or("DESC") == "DESC";
    found.sort_by(|(ea, a), (eb, b)| {
        let by_field = match field {
            "SEVERITY" => {
                severity_rank(a.severity.as_deref()).cmp(&severity_rank(b.severity.as_deref()))
            }
            "STATUS" => a.status.cmp(&b.status),
            _ => Ordering::Equal,
        };
        let ordered = by_field
            .then(ea.created_at.cmp(&eb.created_at))
            .then(a.id.cmp(&b.id));
        if descending {
            ordered.reverse()
        } else {
            ordered
        }
    });
    let items: Vec<Value> = found
        .iter()
        .map(|(e, d)| {
            let mut v = json!({
                "InvestigationId": d.id,
                "Status": d.status,
                "State": d.state,
                "CreatedTime": ts(e.created_at),
                "EntityArn": d.entity_arn,
                "EntityType": d.entity_type,
            });
            if let Some(s) = &d.severity {
                v.set_field("Severity", json!(s));
            }
            v
        })
        .collect();
    let max = usize::try_from(opt_int(input, "MaxResults").unwrap_or(50)).unwrap_or(50);
    let p = page::at_offset(items, opt_str(input, "NextToken"), max)
        .ok_or_else(|| DetectiveError::invalid("The pagination token is not valid."))?;
    let mut out = json!({ "InvestigationDetails": p.items });
    if let Some(next) = p.next {
        out.set_field("NextToken", json!(next));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use rampart_kit::{db::Db, entity, test_support};
    use serde_json::json;

    use crate::{
        indicators::Indicator,
        model::{self, InvestigationDoc},
        run,
        test_util::{call, root},
        Op,
    };

    #[tokio::test]
    async fn an_investigation_runs_then_lists_its_indicators() {
        let (store, dir) = test_support::store().await;
        let me = root("111111111111");
        let graph =
            call(Op::CreateGraph, json!({}), &me, &store).await.unwrap()["GraphArn"].clone();
        let user = "arn:aws:iam::111111111111:user/alice";
        let start = |entity: &str, from: f64, to: f64| json!({"GraphArn": graph, "EntityArn": entity, "ScopeStartTime": from, "ScopeEndTime": to});
        for (bad, code) in [
            (
                start("arn:aws:iam::111111111111:group/g", 1.0, 2.0),
                "ValidationException",
            ),
            (start(user, 2.0, 1.0), "ValidationException"),
            (
                start("arn:aws:iam::999999999999:user/x", 1.0, 2.0),
                "ValidationException",
            ),
        ] {
            assert_eq!(
                call(Op::StartInvestigation, bad, &me, &store)
                    .await
                    .unwrap_err()
                    .code,
                code
            );
        }
        let id = call(
            Op::StartInvestigation,
            start(user, 1.0e9, 1.6e9),
            &me,
            &store,
        )
        .await
        .unwrap()["InvestigationId"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(id.len(), 21);
        let named = json!({"GraphArn": graph, "InvestigationId": id});
        let got = call(Op::GetInvestigation, named.clone(), &me, &store)
            .await
            .unwrap();
        assert_eq!(got["Status"], "RUNNING");
        assert_eq!(got["EntityType"], "IAM_USER");
        assert!(got.get("Severity").is_none());

        // The job computes it: no records, nothing indicated.
        let queued = run::pending(&mut Db::Read(&store)).await.unwrap();
        assert_eq!(queued.len(), 1);
        let outcome = run::compute(&store, &queued[0], None, me.now)
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        run::finish(&mut Db::Write(&mut tx), &queued[0], outcome, me.now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(run::pending(&mut Db::Read(&store))
            .await
            .unwrap()
            .is_empty());
        let got = call(Op::GetInvestigation, named.clone(), &me, &store)
            .await
            .unwrap();
        assert_eq!(got["Status"], "SUCCESSFUL");
        assert_eq!(got["Severity"], "INFORMATIONAL");

        // Indicators page and filter by type (two stored by hand).
        let g = model::parse_graph_arn(graph.as_str().unwrap()).unwrap();
        let key = model::investigation_key(&g.id, &id);
        let mut db = Db::Read(&store);
        let (e, mut doc) = entity::load_doc::<InvestigationDoc>(
            &mut db,
            "111111111111",
            model::INVESTIGATION,
            &key,
        )
        .await
        .unwrap()
        .unwrap();
        doc.indicators = vec![
            Indicator {
                kind: "NEW_USER_AGENT".into(),
                detail: json!({"NewUserAgentDetail": {"UserAgent": "x"}}),
            },
            Indicator {
                kind: "NEW_ASO".into(),
                detail: json!({"NewAsoDetail": {"Aso": "y"}}),
            },
        ];
        let mut tx = store.begin().await.unwrap();
        entity::save_doc(&mut Db::Write(&mut tx), e, &doc, me.now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut page = named.clone();
        page["MaxResults"] = json!(1);
        let first = call(Op::ListIndicators, page.clone(), &me, &store)
            .await
            .unwrap();
        assert_eq!(first["Indicators"][0]["IndicatorType"], "NEW_USER_AGENT");
        page["NextToken"] = first["NextToken"].clone();
        let second = call(Op::ListIndicators, page, &me, &store).await.unwrap();
        assert_eq!(second["Indicators"][0]["IndicatorType"], "NEW_ASO");
        assert!(second.get("NextToken").is_none());
        let mut only = named.clone();
        only["IndicatorType"] = json!("NEW_ASO");
        let filtered = call(Op::ListIndicators, only, &me, &store).await.unwrap();
        assert_eq!(filtered["Indicators"].as_array().unwrap().len(), 1);
        let mut bad = named.clone();
        bad["NextToken"] = json!("zz");
        assert_eq!(
            call(Op::ListIndicators, bad, &me, &store)
                .await
                .unwrap_err()
                .code,
            "ValidationException"
        );

        // Archived, it is filtered by state.
        let mut archive = named.clone();
        archive["State"] = json!("ARCHIVED");
        call(Op::UpdateInvestigationState, archive, &me, &store)
            .await
            .unwrap();
        let active = json!({"GraphArn": graph, "FilterCriteria": {"State": {"Value": "ACTIVE"}}});
        let listed = call(Op::ListInvestigations, active, &me, &store)
            .await
            .unwrap();
        assert_eq!(listed["InvestigationDetails"], json!([]));
        let archived =
            json!({"GraphArn": graph, "FilterCriteria": {"State": {"Value": "ARCHIVED"}}});
        let listed = call(Op::ListInvestigations, archived, &me, &store)
            .await
            .unwrap();
        assert_eq!(
            listed["InvestigationDetails"][0]["InvestigationId"],
            json!(id)
        );

        let mut missing = named.clone();
        missing["InvestigationId"] = json!("000000000000000000001");
        assert_eq!(
            call(Op::GetInvestigation, missing, &me, &store)
                .await
                .unwrap_err()
                .code,
            "ResourceNotFoundException"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
