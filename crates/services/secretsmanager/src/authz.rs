//! The authorization entries of Secrets Manager: `secretsmanager:<Operation>` on the secret's
//! ARN with the secret's resource policy, and the service's condition keys
//! (`secretsmanager:SecretId`, `Name`, `Description`, `KmsKeyArn`, `VersionId`,
//! `VersionStage`, `ResourceTag/*`, `ForceDeleteWithoutRecovery`, `RecoveryWindowInDays`,
//! `BlockPublicPolicy`, `AddReplicaRegions`, `ForceOverwriteReplicaSecret`) with
//! `aws:ResourceTag/*`, `aws:RequestTag/*` and `aws:TagKeys`.

use rampart_policy::PolicyKind;
use rampart_store::Store;
use serde_json::Value;

use super::{
    common::{opt_str, str_list},
    error::SmResult,
    repo::{self, Secret},
    Op,
};
use rampart_kit::{
    authz::{AuthzQuestion, AuthzRequest, ResourcePolicy, ResourceRef},
    context::{CallContext, ContextEntry},
    db::Db,
};

fn one(key: &str, value: impl Into<String>) -> ContextEntry {
    (key.to_string(), vec![value.into()])
}

/// `aws:RequestTag/*` and `aws:TagKeys` of a request's `Tags`.
fn request_tags(input: &Value, keys: &mut Vec<ContextEntry>) {
    let mut names = Vec::new();
    for t in input
        .get("Tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(k) = opt_str(t, "Key") {
            keys.push(one(
                &format!("aws:RequestTag/{k}"),
                opt_str(t, "Value").unwrap_or_default(),
            ));
            names.push(k.to_string());
        }
    }
    if !names.is_empty() {
        keys.push(("aws:TagKeys".into(), names));
    }
}

/// The resource of a secret that exists: its ARN, owner and resource policy, and its tags as
/// condition keys.
fn existing(secret: &Secret, keys: &mut Vec<ContextEntry>) -> ResourceRef {
    keys.push(one("secretsmanager:SecretId", secret.arn()));
    for t in &secret.doc.tags {
        keys.push(one(
            &format!("secretsmanager:ResourceTag/{}", t.key),
            t.value.clone(),
        ));
        keys.push(one(&format!("aws:ResourceTag/{}", t.key), t.value.clone()));
    }
    ResourceRef {
        arn: secret.arn().to_string(),
        account: secret.account().to_string(),
        policy: secret.doc.policy.as_ref().map(|document| ResourcePolicy {
            name: format!("resource policy of secret {}", secret.name()),
            document: document.clone(),
            required: false,
            kind: PolicyKind::Resource,
            account_only: false,
        }),
    }
}

/// The resource of a secret that does not exist (yet): the ARN it would have, with AWS's
/// six-character suffix left as wildcards so that `name-*` patterns match.
fn absent(input: &str, ctx: &CallContext, keys: &mut Vec<ContextEntry>) -> ResourceRef {
    keys.push(one("secretsmanager:SecretId", input));
    let (arn, account) = match repo::parse_secret_id(input, ctx) {
        Some(id) => match id.arn {
            Some(arn) => (arn, id.account),
            None => (
                repo::secret_arn(&ctx.region, &id.account, &id.name, "??????"),
                id.account,
            ),
        },
        None => (input.to_string(), ctx.principal.account_id.clone()),
    };
    ResourceRef {
        arn,
        account,
        policy: None,
    }
}

/// The ARN of the KMS key a `KmsKeyId` names (an alias is followed; an alias that names
/// nothing is left as given, and the call then fails on the key).
async fn kms_key_arn(id: &str, ctx: &CallContext, store: &Store) -> SmResult<String> {
    use rampart_kms::repo::{alias_target, key_arn, parse_key_name, KeyName};
    Ok(match parse_key_name(id, ctx) {
        Ok(KeyName::Key { account, id }) => key_arn(&ctx.region, &account, &id),
        Ok(KeyName::Alias { account, alias }) => {
            match alias_target(&mut Db::Read(store), &account, &ctx.region, &alias).await {
                Ok(Some(target)) => key_arn(&ctx.region, &account, &target),
                _ => id.to_string(),
            }
        }
        Err(_) => id.to_string(),
    })
}

/// The authorization request of an operation.
pub async fn question(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> SmResult<AuthzRequest> {
    let mut keys: Vec<ContextEntry> = Vec::new();
    let account = ctx.principal.account_id.clone();
    let resource = match op {
        Op::ListSecrets | Op::GetRandomPassword | Op::BatchGetSecretValue => ResourceRef {
            arn: "*".into(),
            account,
            policy: None,
        },
        // Validating a policy without naming a secret acts on no secret.
        Op::ValidateResourcePolicy if opt_str(input, "SecretId").is_none() => ResourceRef {
            arn: "*".into(),
            account,
            policy: None,
        },
        Op::CreateSecret => {
            let name = opt_str(input, "Name").unwrap_or_default();
            keys.push(one("secretsmanager:Name", name));
            request_tags(input, &mut keys);
            let arn = repo::secret_arn(&ctx.region, &account, name, "??????");
            keys.push(one("secretsmanager:SecretId", arn.clone()));
            ResourceRef {
                arn,
                account,
                policy: None,
            }
        }
        _ => {
            let id = opt_str(input, "SecretId").unwrap_or_default();
            match repo::find(&mut Db::Read(store), ctx, id).await? {
                Some(secret) => existing(&secret, &mut keys),
                None => absent(id, ctx, &mut keys),
            }
        }
    };
    if let Some(d) = opt_str(input, "Description") {
        keys.push(one("secretsmanager:Description", d));
    }
    if let Some(k) = opt_str(input, "KmsKeyId") {
        keys.push(one(
            "secretsmanager:KmsKeyArn",
            kms_key_arn(k, ctx, store).await?,
        ));
    }
    if let Some(v) = opt_str(input, "VersionId") {
        keys.push(one("secretsmanager:VersionId", v));
    }
    let stages: Vec<String> = match op {
        Op::PutSecretValue => str_list(input, "VersionStages"),
        _ => opt_str(input, "VersionStage")
            .map(str::to_string)
            .into_iter()
            .collect(),
    };
    if !stages.is_empty() {
        keys.push(("secretsmanager:VersionStage".into(), stages));
    }
    match op {
        Op::TagResource => request_tags(input, &mut keys),
        Op::UntagResource => {
            let names = str_list(input, "TagKeys");
            if !names.is_empty() {
                keys.push(("aws:TagKeys".into(), names));
            }
        }
        Op::DeleteSecret => {
            let force = input["ForceDeleteWithoutRecovery"]
                .as_bool()
                .unwrap_or(false);
            keys.push(one(
                "secretsmanager:ForceDeleteWithoutRecovery",
                force.to_string(),
            ));
            if let Some(days) = input.get("RecoveryWindowInDays").and_then(Value::as_i64) {
                keys.push(one("secretsmanager:RecoveryWindowInDays", days.to_string()));
            }
        }
        Op::RotateSecret => {
            if let Some(arn) = opt_str(input, "RotationLambdaARN") {
                keys.push(one("secretsmanager:RotationLambdaARN", arn));
            }
        }
        Op::CreateSecret | Op::ReplicateSecretToRegions => {
            let regions: Vec<String> = input
                .get("AddReplicaRegions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| opt_str(r, "Region").map(str::to_string))
                .collect();
            if !regions.is_empty() {
                keys.push(("secretsmanager:AddReplicaRegions".into(), regions));
                let force = input["ForceOverwriteReplicaSecret"]
                    .as_bool()
                    .unwrap_or(false);
                keys.push(one(
                    "secretsmanager:ForceOverwriteReplicaSecret",
                    force.to_string(),
                ));
            }
        }
        Op::PutResourcePolicy => {
            let block = input["BlockPublicPolicy"].as_bool().unwrap_or(false);
            keys.push(one("secretsmanager:BlockPublicPolicy", block.to_string()));
        }
        _ => {}
    }
    Ok(AuthzRequest {
        action: format!("secretsmanager:{}", rampart_model::ServiceOp::name(op)),
        resources: vec![resource],
        context: keys,
        always_allowed: false,
    })
}

/// The authorization question of a Secrets Manager operation.
pub async fn authorize(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> SmResult<Option<AuthzQuestion>> {
    Ok(Some(question(op, input, ctx, store).await?.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> CallContext {
        CallContext {
            request_id: "r".into(),
            principal: std::sync::Arc::new(rampart_kit::principal::Principal::root(
                rampart_kit::Partition::Aws,
                "111122223333",
                "AKIA",
            )),
            region: "eu-west-1".into(),
            source_ip: "127.0.0.1".parse().unwrap(),
            user_agent: "t".into(),
            now: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            secure_transport: false,
            prepared: None,
            authorizer: rampart_kit::Authorizer::refusing(),
            via_service: None,
            side_calls: Default::default(),
            payload: Default::default(),
        }
    }

    fn key<'a>(r: &'a AuthzRequest, k: &str) -> Option<&'a [String]> {
        r.context
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_slice())
    }

    #[tokio::test]
    async fn questions_carry_the_secret_its_policy_and_the_service_keys() {
        let (store, dir) = rampart_kit::test_support::store().await;
        let c = ctx();
        let create = json!({"Name": "app/db", "Description": "d",
            "Tags": [{"Key": "team", "Value": "blue"}]});
        let q = question(Op::CreateSecret, &create, &c, &store)
            .await
            .unwrap();
        assert_eq!(q.action, "secretsmanager:CreateSecret");
        let arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/db-??????";
        assert_eq!(q.resources[0].arn, arn);
        assert_eq!(
            key(&q, "secretsmanager:Name"),
            Some(&["app/db".to_string()][..])
        );
        assert_eq!(
            key(&q, "aws:RequestTag/team"),
            Some(&["blue".to_string()][..])
        );
        assert_eq!(key(&q, "aws:TagKeys"), Some(&["team".to_string()][..]));

        let mut tx = store.begin().await.unwrap();
        let made = crate::secrets::create(&create, &c, Db::Write(&mut tx))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let arn = made["ARN"].as_str().unwrap().to_string();
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
        let mut tx = store.begin().await.unwrap();
        crate::policy::put(
            &json!({"SecretId": "app/db", "ResourcePolicy": policy}),
            &c,
            Db::Write(&mut tx),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let get = json!({"SecretId": "app/db", "VersionStage": "AWSPREVIOUS"});
        let q = question(Op::GetSecretValue, &get, &c, &store)
            .await
            .unwrap();
        assert_eq!(q.resources[0].arn, arn);
        let p = q.resources[0].policy.as_ref().unwrap();
        assert_eq!((p.document.as_str(), p.required), (policy, false));
        assert_eq!(key(&q, "secretsmanager:SecretId"), Some(&[arn.clone()][..]));
        assert_eq!(
            key(&q, "secretsmanager:ResourceTag/team"),
            Some(&["blue".to_string()][..])
        );
        assert_eq!(
            key(&q, "aws:ResourceTag/team"),
            Some(&["blue".to_string()][..])
        );
        assert_eq!(
            key(&q, "secretsmanager:VersionStage"),
            Some(&["AWSPREVIOUS".to_string()][..])
        );

        // Another account's secret is named by its ARN and owned by that account.
        let other = "arn:aws:secretsmanager:eu-west-1:444455556666:secret:theirs-AbCdEf";
        let q = question(Op::DescribeSecret, &json!({"SecretId": other}), &c, &store)
            .await
            .unwrap();
        assert_eq!(
            (q.resources[0].arn.as_str(), q.resources[0].account.as_str()),
            (other, "444455556666")
        );
        let q = question(Op::ListSecrets, &json!({}), &c, &store)
            .await
            .unwrap();
        assert_eq!(q.resources[0].arn, "*");
        std::fs::remove_dir_all(dir).ok();
    }
}
