//! Data source packages: `ListDatasourcePackages`, `UpdateDatasourcePackages` (the
//! administrator's), `BatchGetGraphMemberDatasources` (the administrator's view of its
//! members) and `BatchGetMembershipDatasources` (a member's view of its graphs).
//!
//! `DETECTIVE_CORE` is started with the graph and cannot be stopped. `EKS_AUDIT` and
//! `ASFF_SECURITYHUB_FINDING` are optional: `UpdateDatasourcePackages` starts them, and as in
//! AWS the API has no way to stop them. `ASFF_SECURITYHUB_FINDING` makes investigations read
//! Security Hub's findings on the principal as related findings (`crate::run`);
//! `EKS_AUDIT` is recorded only (Rampart has no EKS). A member's packages start when it is
//! enabled, or when the graph starts them if that is later.

use chrono::{DateTime, Utc};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_int, opt_str, str_list},
    page,
    timestamp::ts,
};
use serde_json::{json, Map, Value};

use crate::{
    error::DetectiveError,
    members,
    model::{self, Graph, MemberDoc},
};

/// The package every graph has.
pub const CORE: &str = "DETECTIVE_CORE";
/// Amazon EKS audit logs.
pub const EKS_AUDIT: &str = "EKS_AUDIT";
/// Security Hub findings in ASFF.
pub const ASFF: &str = "ASFF_SECURITYHUB_FINDING";
/// The packages, in AWS's order.
pub const PACKAGES: [&str; 3] = [CORE, EKS_AUDIT, ASFF];

/// When `package` started in graph `g`, if it has.
pub fn started(g: &Graph, package: &str) -> Option<DateTime<Utc>> {
    if package == CORE {
        return Some(g.entity.created_at);
    }
    g.doc.packages.get(package).copied()
}

fn stamp(state: &str, at: DateTime<Utc>) -> Value {
    json!({ state: { "Timestamp": ts(at) } })
}

/// `ListDatasourcePackages`: each package's state (`STARTED` or `DISABLED`) and when it
/// last changed.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let g = model::own_graph(&mut db, ctx, opt_str(input, "GraphArn").unwrap_or_default()).await?;
    let items: Vec<Value> = PACKAGES
        .iter()
        .map(|p| {
            let (state, at) = match started(&g, p) {
                Some(t) => ("STARTED", t),
                None => ("DISABLED", g.entity.created_at),
            };
            json!([p, { "DatasourcePackageIngestState": state, "LastIngestStateChange": stamp(state, at) }])
        })
        .collect();
    let max = usize::try_from(opt_int(input, "MaxResults").unwrap_or(50)).unwrap_or(50);
    let p = page::at_offset(items, opt_str(input, "NextToken"), max)
        .ok_or_else(|| DetectiveError::invalid("The pagination token is not valid."))?;
    let mut packages = Map::new();
    for item in p.items {
        if let (Some(name), Some(detail)) = (item.get(0).and_then(Value::as_str), item.get(1)) {
            packages.insert(name.to_string(), detail.clone());
        }
    }
    let mut out = json!({ "DatasourcePackages": packages });
    if let Some(next) = p.next {
        rampart_kit::json_field::SetField::set_field(&mut out, "NextToken", json!(next));
    }
    Ok(out)
}

/// `UpdateDatasourcePackages`: starts the optional packages named (`DETECTIVE_CORE` is
/// always started; a package already started keeps its start time).
pub async fn update(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let g = model::own_graph(&mut db, ctx, opt_str(input, "GraphArn").unwrap_or_default()).await?;
    let asked = str_list(input, "DatasourcePackages");
    if asked.is_empty() || asked.len() > 25 {
        return Err(invalid("DatasourcePackages must name 1 to 25 packages."));
    }
    if let Some(bad) = asked.iter().find(|p| !PACKAGES.contains(&p.as_str())) {
        return Err(invalid(&format!(
            "{bad} is not a data source package: DETECTIVE_CORE, EKS_AUDIT or ASFF_SECURITYHUB_FINDING."
        )));
    }
    let Graph { entity: e, mut doc } = g;
    let mut changed = false;
    for p in asked.iter().filter(|p| p.as_str() != CORE) {
        if !doc.packages.contains_key(p) {
            doc.packages.insert(p.clone(), ctx.now);
            changed = true;
        }
    }
    if changed {
        entity::save_doc(&mut db, e, &doc, ctx.now).await?;
    }
    Ok(json!({}))
}

fn invalid(reason: &str) -> ServiceError {
    ServiceError::from(DetectiveError::invalid(reason))
        .with_detail("ErrorCode", "INVALID_REQUEST_BODY")
        .with_detail("ErrorCodeReason", reason)
}

/// A member's `DatasourcePackageIngestHistory`: each package of the graph started for it,
/// from when it was enabled (nothing while it is invited or `ACCEPTED_BUT_DISABLED`).
fn history(g: &Graph, m: &MemberDoc) -> Value {
    let mut out = Map::new();
    if m.status == model::ENABLED {
        for p in PACKAGES {
            if let Some(t) = started(g, p) {
                out.insert(p.into(), stamp("STARTED", t.max(m.updated_time)));
            }
        }
    }
    Value::Object(out)
}

fn membership(g: &Graph, m: &MemberDoc) -> Value {
    json!({
        "AccountId": m.account_id,
        "GraphArn": g.arn(),
        "DatasourcePackageIngestHistory": history(g, m),
    })
}

/// `BatchGetGraphMemberDatasources`: the packages of members of the caller's graph; an
/// account that is not a member is in `UnprocessedAccounts`.
pub async fn graph_members(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let g = model::own_graph(&mut db, ctx, opt_str(input, "GraphArn").unwrap_or_default()).await?;
    let ids = str_list(input, "AccountIds");
    if ids.is_empty() || ids.len() > 50 {
        return Err(invalid("AccountIds must name 1 to 50 accounts."));
    }
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for account in ids {
        match members::member(&mut db, &g, &account).await? {
            Some((_, m)) => found.push(membership(&g, &m)),
            None => skipped.push(json!({
                "AccountId": account,
                "Reason": "The account is not a member of the behavior graph.",
            })),
        }
    }
    Ok(json!({ "MemberDatasources": found, "UnprocessedAccounts": skipped }))
}

/// `BatchGetMembershipDatasources`: the packages of the graphs the caller is a member of;
/// a graph it is not a member of is in `UnprocessedGraphs`.
pub async fn memberships(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let arns = str_list(input, "GraphArns");
    if arns.is_empty() || arns.len() > 50 {
        return Err(invalid("GraphArns must name 1 to 50 behavior graphs."));
    }
    let account = &ctx.principal.account_id;
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for arn in arns {
        let mut member = None;
        if let Some(g) = model::graph_of_arn(&mut db, &arn).await? {
            if let Some((_, m)) = members::member(&mut db, &g, account).await? {
                member = Some(membership(&g, &m));
            }
        }
        match member {
            Some(m) => found.push(m),
            None => skipped.push(json!({
                "GraphArn": arn,
                "Reason": "The caller is not a member of the behavior graph.",
            })),
        }
    }
    Ok(json!({ "MembershipDatasources": found, "UnprocessedGraphs": skipped }))
}

#[cfg(test)]
mod tests {
    use rampart_kit::test_support;
    use serde_json::json;

    use crate::{
        test_util::{call, root},
        Op,
    };

    #[tokio::test]
    async fn optional_packages_start_and_stay_started() {
        let (store, dir) = test_support::store().await;
        let me = root("111111111111");
        let graph = call(Op::CreateGraph, json!({}), &me, &store).await.unwrap()["GraphArn"]
            .as_str()
            .unwrap()
            .to_string();
        let state = |v: &serde_json::Value, p: &str| {
            v["DatasourcePackages"][p]["DatasourcePackageIngestState"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let listed = call(
            Op::ListDatasourcePackages,
            json!({"GraphArn": graph}),
            &me,
            &store,
        )
        .await
        .unwrap();
        assert_eq!(state(&listed, "DETECTIVE_CORE"), "STARTED");
        assert_eq!(state(&listed, "ASFF_SECURITYHUB_FINDING"), "DISABLED");
        let start = json!({"GraphArn": graph, "DatasourcePackages": ["ASFF_SECURITYHUB_FINDING"]});
        call(Op::UpdateDatasourcePackages, start.clone(), &me, &store)
            .await
            .unwrap();
        let first = call(
            Op::ListDatasourcePackages,
            json!({"GraphArn": graph}),
            &me,
            &store,
        )
        .await
        .unwrap();
        assert_eq!(state(&first, "ASFF_SECURITYHUB_FINDING"), "STARTED");
        assert_eq!(state(&first, "EKS_AUDIT"), "DISABLED");
        // Starting it again keeps its start time.
        call(Op::UpdateDatasourcePackages, start, &me, &store)
            .await
            .unwrap();
        let again = call(
            Op::ListDatasourcePackages,
            json!({"GraphArn": graph}),
            &me,
            &store,
        )
        .await
        .unwrap();
        assert_eq!(first, again);

        let bad = json!({"GraphArn": graph, "DatasourcePackages": ["VPC_FLOW"]});
        let err = call(Op::UpdateDatasourcePackages, bad, &me, &store)
            .await
            .unwrap_err();
        assert_eq!(err.code, "ValidationException");
        let none = json!({"GraphArn": graph, "DatasourcePackages": []});
        let err = call(Op::UpdateDatasourcePackages, none, &me, &store)
            .await
            .unwrap_err();
        assert_eq!(err.code, "ValidationException");

        // A page of one package at a time.
        let page = call(
            Op::ListDatasourcePackages,
            json!({"GraphArn": graph, "MaxResults": 1}),
            &me,
            &store,
        )
        .await
        .unwrap();
        assert_eq!(page["DatasourcePackages"].as_object().unwrap().len(), 1);
        assert!(page["NextToken"].is_string());

        let members = json!({"GraphArn": graph, "AccountIds": ["222222222222"]});
        let got = call(Op::BatchGetGraphMemberDatasources, members, &me, &store)
            .await
            .unwrap();
        assert_eq!(got["MemberDatasources"], json!([]));
        assert_eq!(got["UnprocessedAccounts"][0]["AccountId"], "222222222222");
        let _ = std::fs::remove_dir_all(dir);
    }
}
