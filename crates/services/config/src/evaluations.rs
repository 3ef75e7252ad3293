//! `PutEvaluations`: a custom Lambda rule's function hands back its results with the
//! `resultToken` of the invocation. The token says which rule of which account the results
//! are for ([`crate::result_token`]); the results are stored as the rule's evaluations, which
//! the compliance operations read as they read managed rules' results. `TestMode` checks the
//! call and stores nothing.

use chrono::{DateTime, Utc};
use rampart_kit::context::CallContext;
use rampart_kit::db::Db;
use serde_json::{json, Value};

use crate::build::doc_of;
use crate::error::{ConfigError, ConfigResult};
use crate::evaluate;
use crate::managed::Verdict;
use crate::model::{evaluation_key, EvaluationDoc, EVALUATION};
use crate::result_token;
use crate::rules;
use crate::sync;

/// Most evaluations in one call (AWS's limit).
const MAX_EVALUATIONS: usize = 100;
/// Longest annotation (AWS's limit).
const MAX_ANNOTATION: usize = 256;
/// Longest resource type and id (AWS's limits).
const MAX_TYPE: usize = 256;
const MAX_ID: usize = 768;

/// One evaluation of the call, checked.
struct Evaluation {
    resource_type: String,
    resource_id: String,
    verdict: Verdict,
    ordering: DateTime<Utc>,
}

fn text<'a>(e: &'a Value, member: &str, max: usize) -> ConfigResult<&'a str> {
    let v = e
        .get(member)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ConfigError::invalid(format!("{member} is required for an evaluation.")))?;
    if v.chars().count() > max {
        return Err(ConfigError::invalid(format!(
            "The {member} is longer than {max} characters."
        )));
    }
    Ok(v)
}

fn compliance(e: &Value) -> ConfigResult<&'static str> {
    match e.get("ComplianceType").and_then(Value::as_str) {
        Some("COMPLIANT") => Ok("COMPLIANT"),
        Some("NON_COMPLIANT") => Ok("NON_COMPLIANT"),
        Some("NOT_APPLICABLE") => Ok("NOT_APPLICABLE"),
        Some("INSUFFICIENT_DATA") => Err(ConfigError::invalid(
            "The ComplianceType INSUFFICIENT_DATA is not supported for PutEvaluations. Valid values: COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE.",
        )),
        other => Err(ConfigError::invalid(format!(
            "The ComplianceType {} is invalid. Valid values: COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE.",
            other.unwrap_or_default()
        ))),
    }
}

/// An awsJson timestamp (epoch seconds, possibly fractional).
fn timestamp(e: &Value) -> ConfigResult<DateTime<Utc>> {
    e.get("OrderingTimestamp")
        .and_then(Value::as_f64)
        .and_then(|s| DateTime::from_timestamp_millis((s * 1000.0) as i64))
        .ok_or_else(|| ConfigError::invalid("OrderingTimestamp is required for an evaluation."))
}

fn evaluation(e: &Value) -> ConfigResult<Evaluation> {
    let annotation = match e.get("Annotation").and_then(Value::as_str) {
        Some(a) if a.chars().count() > MAX_ANNOTATION => {
            return Err(ConfigError::invalid(format!(
                "The Annotation is longer than {MAX_ANNOTATION} characters."
            )))
        }
        Some(a) if !a.is_empty() => Some(a.to_string()),
        _ => None,
    };
    Ok(Evaluation {
        resource_type: text(e, "ComplianceResourceType", MAX_TYPE)?.to_string(),
        resource_id: text(e, "ComplianceResourceId", MAX_ID)?.to_string(),
        verdict: Verdict {
            compliance: compliance(e)?,
            annotation,
        },
        ordering: timestamp(e)?,
    })
}

/// True when a stored result is about a later configuration than `ordering` (an answer to
/// an older invocation arriving late does not overwrite it).
async fn newer_stored(
    db: &mut Db<'_>,
    account: &str,
    rule: &str,
    e: &Evaluation,
) -> ConfigResult<bool> {
    let key = evaluation_key(rule, &e.resource_type, &e.resource_id);
    Ok(match db.entities().get(account, EVALUATION, &key).await? {
        Some(stored) => doc_of::<EvaluationDoc>(&stored)?.ordering > e.ordering,
        None => false,
    })
}

/// `PutEvaluations`.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ConfigResult<Value> {
    let account = &ctx.principal.account_id;
    let token = input
        .get("ResultToken")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let claims = result_token::check(db.master_key(), token, account, ctx.now)?;
    let given = input
        .get("Evaluations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if given.len() > MAX_EVALUATIONS {
        return Err(ConfigError::invalid(format!(
            "The number of evaluations exceeds the limit of {MAX_EVALUATIONS}."
        )));
    }
    let evaluations = given
        .iter()
        .map(evaluation)
        .collect::<ConfigResult<Vec<_>>>()?;
    let (mut rule_entity, mut rule) = rules::load(&mut db, account, &claims.rule).await?;
    if rule.rule_id != claims.rule_id || !rule.is_lambda() {
        return Err(rules::no_rule(&claims.rule));
    }
    if input.get("TestMode").and_then(Value::as_bool) == Some(true) {
        return Ok(json!({ "FailedEvaluations": [] }));
    }
    let mut changed = Vec::new();
    for e in evaluations {
        if newer_stored(&mut db, account, &claims.rule, &e).await? {
            continue;
        }
        let resource = (e.resource_type.as_str(), e.resource_id.as_str());
        if evaluate::store_at(
            &mut db,
            account,
            &claims.rule,
            resource,
            e.verdict,
            (ctx.now, e.ordering),
        )
        .await?
        {
            changed.push((e.resource_type, e.resource_id));
        }
    }
    crate::compliance_item::refresh(&mut db, account, &changed, ctx.now).await?;
    rule.status.last_evaluated = Some(ctx.now);
    sync::save_rule(&mut db, &mut rule_entity, &rule, ctx.now).await?;
    Ok(json!({ "FailedEvaluations": [] }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_kit::principal::Principal;
    use rampart_kit::test_support::{context, root_context, store};
    use rampart_store::Store;

    async fn stored(store: &Store) -> Vec<EvaluationDoc> {
        evaluate::results_of(&mut Db::Read(store), "111122223333", "r")
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn put_evaluations_stores_results_for_the_tokens_rule_only() {
        let (store, dir) = store().await;
        let ctx = root_context();
        let rule = json!({"ConfigRuleName": "r", "Source": {
            "Owner": "CUSTOM_LAMBDA",
            "SourceIdentifier": "arn:aws:lambda:us-east-1:111122223333:function:f",
            "SourceDetails": [{"MessageType": "ScheduledNotification"}]}});
        let mut tx = store.begin().await.unwrap();
        rules::put_rule(&mut Db::Write(&mut tx), &ctx, &rule, None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (_, doc) = rules::load(&mut Db::Read(&store), "111122223333", "r")
            .await
            .unwrap();
        let token = result_token::issue(
            store.master_key(),
            "111122223333",
            ("r", &doc.rule_id),
            ctx.now,
        )
        .unwrap();
        let input = |test: bool| {
            json!({"ResultToken": token, "TestMode": test, "Evaluations": [{
                "ComplianceResourceType": "AWS::::Account",
                "ComplianceResourceId": "111122223333",
                "ComplianceType": "NON_COMPLIANT",
                "OrderingTimestamp": 1_700_000_000.0}]})
        };
        let mut tx = store.begin().await.unwrap();
        put(&input(true), &ctx, Db::Write(&mut tx)).await.unwrap();
        tx.commit().await.unwrap();
        assert!(stored(&store).await.is_empty());
        let other = context(Principal::root(
            rampart_kit::Partition::Aws,
            "444455556666",
            "AKIAOTHER",
        ));
        let mut tx = store.begin().await.unwrap();
        let refused = put(&input(false), &other, Db::Write(&mut tx)).await;
        assert!(matches!(
            refused,
            Err(ConfigError::InvalidResultTokenException(_))
        ));
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        put(&input(false), &ctx, Db::Write(&mut tx)).await.unwrap();
        tx.commit().await.unwrap();
        let results = stored(&store).await;
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].compliance, "NON_COMPLIANT");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn evaluations_are_checked() {
        let ok = json!({
            "ComplianceResourceType": "AWS::S3::Bucket",
            "ComplianceResourceId": "b",
            "ComplianceType": "NON_COMPLIANT",
            "Annotation": "no versioning",
            "OrderingTimestamp": 1_700_000_000.5,
        });
        let e = evaluation(&ok).unwrap();
        assert_eq!(e.verdict.compliance, "NON_COMPLIANT");
        assert_eq!(e.ordering.timestamp_millis(), 1_700_000_000_500);
        for (member, value) in [
            ("ComplianceType", json!("INSUFFICIENT_DATA")),
            ("ComplianceType", json!("MAYBE")),
            ("ComplianceResourceId", json!("")),
            ("Annotation", json!("x".repeat(257))),
            ("OrderingTimestamp", json!("soon")),
        ] {
            let mut bad = ok.clone();
            bad[member] = value;
            assert!(
                matches!(
                    evaluation(&bad),
                    Err(ConfigError::InvalidParameterValueException(_))
                ),
                "{member}"
            );
        }
    }
}
