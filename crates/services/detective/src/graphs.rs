//! Behavior graphs: `CreateGraph`, `ListGraphs`, `DeleteGraph`. An account has at most one
//! graph per region, as in AWS; deleting it removes its members, their invitations and its
//! investigations.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    error::ServiceError,
    input::{opt_int, opt_str},
    page,
    timestamp::ts,
};
use rampart_store::Entity;
use serde_json::{json, Value};

use crate::{
    error::DetectiveError,
    model::{self, GraphDoc, InvitationDoc},
    tags,
};

/// `CreateGraph`: a new graph in the caller's region, or `ConflictException` when the
/// account already has one there.
pub async fn create(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let tags = tags::parse(input.get("Tags"))?;
    let account = ctx.principal.account_id.clone();
    if model::graph_in(&mut db, &account, &ctx.region)
        .await?
        .is_some()
    {
        return Err(DetectiveError::conflict().into());
    }
    let arn = insert(&mut db, &account, &ctx.region, tags, ctx.now).await?;
    Ok(json!({ "GraphArn": arn }))
}

/// Stores a new graph of `account` in `region` and answers its ARN.
pub async fn insert(
    db: &mut Db<'_>,
    account: &str,
    region: &str,
    tags: BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let arn = model::graph_arn(region, account, &id);
    let doc = GraphDoc {
        region: region.to_string(),
        tags,
        packages: BTreeMap::new(),
    };
    db.entities()
        .create(&Entity {
            account_id: account.to_string(),
            kind: model::GRAPH.into(),
            name: id.clone(),
            name_key: region.to_string(),
            id: format!("{}/{id}", model::GRAPH),
            path: "/".into(),
            arn: arn.clone(),
            created_at: now,
            updated_at: now,
            doc: entity::to_text(&doc)?,
        })
        .await?;
    Ok(arn)
}

/// `ListGraphs`: the caller's graph in its region.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> Result<Value, ServiceError> {
    let graph = model::graph_in(&mut db, &ctx.principal.account_id, &ctx.region).await?;
    let max = usize::try_from(opt_int(input, "MaxResults").unwrap_or(200)).unwrap_or(200);
    let items: Vec<Value> = graph
        .iter()
        .map(|g| json!({ "Arn": g.arn(), "CreatedTime": ts(g.entity.created_at) }))
        .collect();
    let p = page::at_offset(items, opt_str(input, "NextToken"), max)
        .ok_or_else(|| DetectiveError::invalid("The pagination token is not valid."))?;
    let mut out = json!({ "GraphList": p.items });
    if let Some(next) = p.next {
        rampart_kit::json_field::SetField::set_field(&mut out, "NextToken", json!(next));
    }
    Ok(out)
}

/// `DeleteGraph`: removes the graph with its members, invitations and investigations.
pub async fn delete(
    input: &Value,
    ctx: &CallContext,
    mut db: Db<'_>,
) -> Result<Value, ServiceError> {
    let graph =
        model::own_graph(&mut db, ctx, opt_str(input, "GraphArn").unwrap_or_default()).await?;
    crate::org::graph_deleted(&mut db, &graph).await?;
    remove(&mut db, &graph).await?;
    Ok(json!({}))
}

/// Deletes graph `graph` with its members, their invitations and its investigations.
pub async fn remove(db: &mut Db<'_>, graph: &model::Graph) -> Result<(), ServiceError> {
    let account = graph.account().to_string();
    let path = model::under(graph.graph_id());
    for m in model::all(db, &account, model::MEMBER, &path).await? {
        let member: model::MemberDoc = entity::read_doc(&m)?;
        remove_invitation(db, &member.account_id, graph.arn()).await?;
        db.entities()
            .delete(&account, model::MEMBER, &m.name_key)
            .await?;
    }
    for i in model::all(db, &account, model::INVESTIGATION, &path).await? {
        let pending = format!("{account}/{}", i.name_key);
        if entity::find(db, model::SYSTEM_ACCOUNT, model::PENDING, &pending)
            .await?
            .is_some()
        {
            db.entities()
                .delete(model::SYSTEM_ACCOUNT, model::PENDING, &pending)
                .await?;
        }
        db.entities()
            .delete(&account, model::INVESTIGATION, &i.name_key)
            .await?;
    }
    db.entities()
        .delete(&account, model::GRAPH, &graph.entity.name_key)
        .await?;
    Ok(())
}

/// Removes `account`'s invitation to the graph `graph_arn`, if it has one.
pub async fn remove_invitation(
    db: &mut Db<'_>,
    account: &str,
    graph_arn: &str,
) -> Result<(), ServiceError> {
    if entity::load_doc::<InvitationDoc>(db, account, model::INVITATION, graph_arn)
        .await?
        .is_some()
    {
        db.entities()
            .delete(account, model::INVITATION, graph_arn)
            .await?;
    }
    Ok(())
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
    async fn one_graph_per_account_and_region_tagged_and_deleted() {
        let (store, dir) = test_support::store().await;
        let me = root("111111111111");
        let arn = call(
            Op::CreateGraph,
            json!({"Tags": {"team": "sec"}}),
            &me,
            &store,
        )
        .await
        .unwrap()["GraphArn"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(arn.starts_with("arn:aws:detective:us-east-1:111111111111:graph:"));
        let again = call(Op::CreateGraph, json!({}), &me, &store)
            .await
            .unwrap_err();
        assert_eq!(again.code, "ConflictException");
        let elsewhere = rampart_kit::CallContext {
            region: "eu-west-1".into(),
            ..root("111111111111")
        };
        assert!(call(Op::CreateGraph, json!({}), &elsewhere, &store)
            .await
            .is_ok());
        let listed = call(Op::ListGraphs, json!({}), &me, &store).await.unwrap();
        assert_eq!(listed["GraphList"][0]["Arn"], arn);
        assert_eq!(listed["GraphList"].as_array().unwrap().len(), 1);

        call(
            Op::TagResource,
            json!({"ResourceArn": arn, "Tags": {"env": "prod"}}),
            &me,
            &store,
        )
        .await
        .unwrap();
        call(
            Op::UntagResource,
            json!({"ResourceArn": arn, "TagKeys": ["team"]}),
            &me,
            &store,
        )
        .await
        .unwrap();
        let tags = call(
            Op::ListTagsForResource,
            json!({"ResourceArn": arn}),
            &me,
            &store,
        )
        .await
        .unwrap();
        assert_eq!(tags["Tags"], json!({"env": "prod"}));

        // Another account's caller does not see the graph.
        let other = root("222222222222");
        let err = call(Op::DeleteGraph, json!({"GraphArn": arn}), &other, &store)
            .await
            .unwrap_err();
        assert_eq!(err.code, "ResourceNotFoundException");

        call(Op::DeleteGraph, json!({"GraphArn": arn}), &me, &store)
            .await
            .unwrap();
        let gone = call(Op::DeleteGraph, json!({"GraphArn": arn}), &me, &store)
            .await
            .unwrap_err();
        assert_eq!(gone.code, "ResourceNotFoundException");
        let listed = call(Op::ListGraphs, json!({}), &me, &store).await.unwrap();
        assert_eq!(listed["GraphList"], json!([]));
        let _ = std::fs::remove_dir_all(dir);
    }
}
