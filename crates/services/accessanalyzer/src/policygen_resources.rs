//! Policy generation's resources (pure): the resource ARNs one CloudTrail record names, for
//! the resource-level statements of a generated policy (`includeResourcePlaceholders`).
//!
//! A record names its resources in `resources` (data events: `ARN`) or in its
//! `requestParameters` (the S3 bucket and key, the KMS key, the Secrets Manager secret, the
//! IAM role, user, group or policy). What the record does not tell is a placeholder of AWS's
//! policy templates: `${Region}` and `${Account}` when the record has no `awsRegion` or
//! `recipientAccountId`, `${KeyId}` for a KMS key named by alias. A secret named by name (not
//! ARN) ends in `-??????`, the six characters Secrets Manager appends to its ARN.

use serde_json::Value;

/// The resources `event` (a CloudTrail record of `prefix`) names; `None` when it names none
/// (the action then goes on `*`).
pub fn resources_of(prefix: &str, event: &Value) -> Option<Vec<String>> {
    if let Some(list) = event.get("resources").and_then(Value::as_array) {
        let arns: Vec<String> = list
            .iter()
            .filter_map(|r| r.get("ARN").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        if !arns.is_empty() {
            return Some(arns);
        }
    }
    let params = event.get("requestParameters")?;
    let param = |k: &str| {
        params
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let region = event
        .get("awsRegion")
        .and_then(Value::as_str)
        .unwrap_or("${Region}");
    let account = event
        .get("recipientAccountId")
        .and_then(Value::as_str)
        .unwrap_or("${Account}");
    let partition = rampart_kit::Partition::of_region(region);
    let arn = match prefix {
        "s3" => {
            let bucket = param("bucketName")?;
            match param("key") {
                Some(key) => partition.arn("s3", "", "", &format!("{bucket}/{key}")),
                None => partition.arn("s3", "", "", bucket),
            }
        }
        "kms" => {
            let key = param("keyId")?;
            if key.starts_with("arn:") && key.contains(":key/") {
                key.to_string()
            } else if key.starts_with("arn:") || key.starts_with("alias/") {
                format!("arn:{partition}:kms:{region}:{account}:key/${{KeyId}}")
            } else {
                format!("arn:{partition}:kms:{region}:{account}:key/{key}")
            }
        }
        "secretsmanager" => {
            let id = param("secretId")?;
            if id.starts_with("arn:") {
                id.to_string()
            } else {
                format!("arn:{partition}:secretsmanager:{region}:{account}:secret:{id}-??????")
            }
        }
        "iam" => {
            if let Some(arn) = param("policyArn") {
                arn.to_string()
            } else {
                let (kind, name) = [
                    ("role", "roleName"),
                    ("user", "userName"),
                    ("group", "groupName"),
                ]
                .into_iter()
                .find_map(|(kind, k)| param(k).map(|n| (kind, n)))?;
                partition.iam_arn(account, &format!("{kind}/{name}"))
            }
        }
        _ => return None,
    };
    Some(vec![arn])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_name_their_resources_with_placeholders_for_what_they_lack() {
        let data = json!({"resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k"}]});
        assert_eq!(
            resources_of("s3", &data),
            Some(vec!["arn:aws:s3:::b/k".into()])
        );
        let bucket = json!({"requestParameters": {"bucketName": "b"}});
        assert_eq!(
            resources_of("s3", &bucket),
            Some(vec!["arn:aws:s3:::b".into()])
        );
        let key = json!({"awsRegion": "eu-west-1", "recipientAccountId": "111122223333",
            "requestParameters": {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}});
        assert_eq!(
            resources_of("kms", &key),
            Some(vec![
                "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                    .into()
            ])
        );
        let alias = json!({"requestParameters": {"keyId": "alias/app"}});
        assert_eq!(
            resources_of("kms", &alias),
            Some(vec!["arn:aws:kms:${Region}:${Account}:key/${KeyId}".into()])
        );
        let secret = json!({"awsRegion": "us-east-1", "recipientAccountId": "111122223333",
            "requestParameters": {"secretId": "db/pass"}});
        assert_eq!(
            resources_of("secretsmanager", &secret),
            Some(vec![
                "arn:aws:secretsmanager:us-east-1:111122223333:secret:db/pass-??????".into()
            ])
        );
        let role = json!({"recipientAccountId": "111122223333",
            "requestParameters": {"roleName": "app"}});
        assert_eq!(
            resources_of("iam", &role),
            Some(vec!["arn:aws:iam::111122223333:role/app".into()])
        );
        assert_eq!(
            resources_of("kms", &json!({"requestParameters": {"limit": 5}})),
            None
        );
        assert_eq!(resources_of("sts", &json!({"requestParameters": {}})), None);
    }
}
