//! Resource policies of secrets: `PutResourcePolicy` (with `BlockPublicPolicy`),
//! `GetResourcePolicy`, `DeleteResourcePolicy`, `ValidateResourcePolicy`. The policy takes part in every decision on the secret (see
//! [`super::authz`]); cross-account access needs it and the caller's own policies.

use rampart_policy::{Policy, PolicyKind};
use serde_json::{json, Value};

use super::{
    common::{opt_str, req_str},
    error::{SmError, SmResult},
    repo,
};
use rampart_kit::{context::CallContext, db::Db, json_field::SetField};

/// Largest resource policy, in characters.
const MAX_POLICY_LEN: usize = 20_480;

/// The `CheckName` of a policy that does not parse or validate.
pub const SYNTAX_CHECK: &str = "SYNTAX_CHECK";
/// The `CheckName` of a policy that grants public access.
pub const PUBLIC_ACCESS_CHECK: &str = "PUBLIC_ACCESS_CHECK";

/// Checks a resource policy's size and grammar, giving the parsed policy.
pub fn validate(policy: &str) -> SmResult<Policy> {
    if policy.len() > MAX_POLICY_LEN {
        return Err(SmError::LimitExceededException(
            "The resource policy exceeds the maximum size of 20480 characters.".into(),
        ));
    }
    Policy::parse(policy, PolicyKind::Resource).map_err(|err| {
        SmError::MalformedPolicyDocumentException(format!(
            "This resource policy contains a syntax error: {err}"
        ))
    })
}

/// `PutResourcePolicy`: with `BlockPublicPolicy` (default false, as in AWS), a policy that
/// grants public access is refused.
pub async fn put(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let policy = req_str(input, "ResourcePolicy")?;
    let parsed = validate(policy)?;
    let block = input["BlockPublicPolicy"].as_bool().unwrap_or(false);
    if block && super::public_policy::is_public(&parsed) {
        return Err(SmError::PublicPolicyException(
            "The BlockPublicPolicy parameter is set to true, and the resource policy did not prevent broad access to the secret."
                .into(),
        ));
    }
    let mut secret = repo::resolve_writable(&mut db, ctx, req_str(input, "SecretId")?).await?;
    secret.doc.policy = Some(policy.to_string());
    repo::save(&mut db, &mut secret, ctx.now).await?;
    Ok(json!({ "ARN": secret.arn(), "Name": secret.name() }))
}

/// `GetResourcePolicy` (no `ResourcePolicy` member when the secret has none).
pub async fn get(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let secret = repo::resolve_active(&mut db, ctx, req_str(input, "SecretId")?).await?;
    let mut out = json!({ "ARN": secret.arn(), "Name": secret.name() });
    if let Some(p) = &secret.doc.policy {
        out.set_field("ResourcePolicy", json!(p));
    }
    Ok(out)
}

/// `ValidateResourcePolicy`: the policy's grammar, then whether it grants public access. A
/// failed check is an entry of `ValidationErrors` (the call itself succeeds); `SecretId`, when
/// given, must name a secret the caller can see.
pub async fn validate_op(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let policy = req_str(input, "ResourcePolicy")?;
    if let Some(id) = opt_str(input, "SecretId") {
        repo::resolve_active(&mut db, ctx, id).await?;
    }
    let errors = match validate(policy) {
        Err(SmError::MalformedPolicyDocumentException(message)) => {
            vec![(SYNTAX_CHECK, message)]
        }
        Err(other) => return Err(other),
        Ok(parsed) => super::public_policy::public_statements(&parsed)
            .into_iter()
            .map(|i| {
                (
                    PUBLIC_ACCESS_CHECK,
                    format!(
                        "{}: this statement allows broad access to the secret: its principal is a wildcard and no condition limits the callers to specific accounts, organizations, networks or sources.",
                        statement_label(&parsed, i)
                    ),
                )
            })
            .collect(),
    };
    let entries: Vec<Value> = errors
        .into_iter()
        .map(|(check, message)| json!({ "CheckName": check, "ErrorMessage": message }))
        .collect();
    Ok(json!({ "PolicyValidationPassed": entries.is_empty(), "ValidationErrors": entries }))
}

/// `Statement N` or `Statement N (Sid "S")`, 0-based as rampart_policy's locations.
fn statement_label(policy: &Policy, index: usize) -> String {
    match policy.statements.get(index).and_then(|s| s.sid.as_deref()) {
        Some(sid) if !sid.is_empty() => format!("Statement {index} (Sid \"{sid}\")"),
        _ => format!("Statement {index}"),
    }
}

/// `DeleteResourcePolicy`.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> SmResult<Value> {
    let mut secret = repo::resolve_writable(&mut db, ctx, req_str(input, "SecretId")?).await?;
    secret.doc.policy = None;
    repo::save(&mut db, &mut secret, ctx.now).await?;
    Ok(json!({ "ARN": secret.arn(), "Name": secret.name() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> CallContext {
        CallContext {
            region: "eu-west-1".into(),
            ..rampart_kit::test_support::root_context()
        }
    }

    const PUBLIC: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Open","Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
    const ORG: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abcdefghij"}}}]}"#;

    #[tokio::test]
    async fn block_public_policy_refuses_only_public_policies() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let c = ctx();
        let mut tx = store.begin().await.unwrap();
        crate::secrets::create(&json!({"Name": "app"}), &c, Db::Write(&mut tx))
            .await
            .unwrap();
        let blocked = put(
            &json!({"SecretId": "app", "ResourcePolicy": PUBLIC, "BlockPublicPolicy": true}),
            &c,
            Db::Write(&mut tx),
        )
        .await;
        assert!(matches!(blocked, Err(SmError::PublicPolicyException(_))));
        for policy in [ORG, PUBLIC] {
            // Not blocked by default, as in AWS; a limited policy passes the block.
            let block = policy == ORG;
            put(
                &json!({"SecretId": "app", "ResourcePolicy": policy, "BlockPublicPolicy": block}),
                &c,
                Db::Write(&mut tx),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        let got = get(&json!({"SecretId": "app"}), &c, Db::Read(&store))
            .await
            .unwrap();
        assert_eq!(got["ResourcePolicy"], PUBLIC);
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn validation_reports_syntax_and_public_access() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let c = ctx();
        let check = |policy: &str| json!({ "ResourcePolicy": policy });
        let ok = validate_op(&check(ORG), &c, Db::Read(&store))
            .await
            .unwrap();
        assert_eq!(
            ok,
            json!({"PolicyValidationPassed": true, "ValidationErrors": []})
        );
        let open = validate_op(&check(PUBLIC), &c, Db::Read(&store))
            .await
            .unwrap();
        assert_eq!(open["PolicyValidationPassed"], false);
        assert_eq!(
            open["ValidationErrors"][0]["CheckName"],
            PUBLIC_ACCESS_CHECK
        );
        let message = open["ValidationErrors"][0]["ErrorMessage"]
            .as_str()
            .unwrap();
        assert!(
            message.starts_with("Statement 0 (Sid \"Open\")"),
            "{message}"
        );
        for bad in [
            "{not json",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
        ] {
            let out = validate_op(&check(bad), &c, Db::Read(&store))
                .await
                .unwrap();
            assert_eq!(out["PolicyValidationPassed"], false);
            assert_eq!(out["ValidationErrors"][0]["CheckName"], SYNTAX_CHECK);
        }
        let missing = validate_op(
            &json!({"ResourcePolicy": ORG, "SecretId": "nope"}),
            &c,
            Db::Read(&store),
        )
        .await;
        assert_eq!(missing.unwrap_err(), SmError::no_secret());
        std::fs::remove_dir_all(dir).ok();
    }
}
