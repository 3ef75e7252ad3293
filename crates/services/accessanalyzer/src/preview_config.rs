//! An access preview's proposed configurations: each `Configuration` of `CreateAccessPreview`
//! becomes the [`Resource`] the analysis reads, in place of the stored one (pure; the stored
//! resource, if any, is given).
//!
//! As AWS documents: a member left out keeps the existing resource's value (a new resource's
//! default: no policy, no grants, Block Public Access off, the default key policy); an empty
//! bucket or secret policy proposes deleting it; proposed KMS grants replace the existing
//! ones. A policy that does not parse fails the preview (`INVALID_CONFIGURATION`).

use chrono::{DateTime, Utc};
use rampart_policy::{Policy, PolicyKind};
use rampart_store::Entity;
use serde_json::Value;

use crate::resources::{Body, Resource, BUCKET, KEY, ROLE, SECRET};

/// Why a configuration cannot be previewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The request is malformed: `ValidationException` with this message.
    Invalid(String),
    /// The proposed configuration is not valid: the preview fails (`INVALID_CONFIGURATION`).
    Unusable,
}

/// The `Configuration` members Rampart previews, by resource type.
const MEMBERS: [(&str, &str); 4] = [
    ("iamRole", ROLE),
    ("kmsKey", KEY),
    ("secretsManagerSecret", SECRET),
    ("s3Bucket", BUCKET),
];

/// The resource type a `Configuration` is for: exactly one member, of a type Rampart holds.
pub fn member(config: &Value) -> Result<(&'static str, &Value), ConfigError> {
    let Some(o) = config.as_object().filter(|o| o.len() == 1) else {
        return Err(ConfigError::Invalid(
            "Each configuration must specify exactly one resource type".into(),
        ));
    };
    let Some((name, body)) = o.iter().next() else {
        return Err(ConfigError::Invalid("Empty configuration".into()));
    };
    MEMBERS
        .iter()
        .find(|(m, _)| m == name)
        .map(|(_, t)| (*t, body))
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "Access previews of {name} configurations are not supported"
            ))
        })
}

/// Where a proposed resource lives: its owner and region.
#[derive(Debug, Clone)]
pub struct Place {
    /// The owning account.
    pub owner: String,
    /// The region (ignored for roles).
    pub region: String,
    /// The owner's account-level Block Public Access settings (buckets).
    pub account_block: Option<rampart_s3::public_access::PublicAccessBlock>,
}

/// A policy member: absent → `None`; present → its text, which must parse unless it is empty
/// and `empty_deletes`.
fn policy(body: &Value, key: &str, empty_deletes: bool) -> Result<Option<String>, ConfigError> {
    let Some(v) = body.get(key) else {
        return Ok(None);
    };
    let text = v
        .as_str()
        .ok_or_else(|| ConfigError::Invalid(format!("{key} must be a string")))?;
    if text.is_empty() && empty_deletes {
        return Ok(Some(String::new()));
    }
    Policy::parse(text, PolicyKind::Resource).map_err(|_| ConfigError::Unusable)?;
    Ok(Some(text.to_string()))
}

/// The proposed resource `arn` of type `rtype` from `body` (the member's value) and the
/// stored resource `existing`.
pub fn proposed(
    arn: &str,
    rtype: &'static str,
    body: &Value,
    existing: Option<Resource>,
    at: &Place,
    now: DateTime<Utc>,
) -> Result<Resource, ConfigError> {
    let owner = existing
        .as_ref()
        .map(|r| r.owner.clone())
        .unwrap_or_else(|| at.owner.clone());
    let region = existing
        .as_ref()
        .and_then(|r| r.region.clone())
        .unwrap_or_else(|| at.region.clone());
    let old = existing.map(|r| r.body);
    let new_body = match rtype {
        ROLE => role(body, old)?,
        KEY => key(body, old, &owner, &region, now)?,
        SECRET => secret(body, old)?,
        _ => bucket(arn, body, old, &owner, &region, at, now)?,
    };
    Ok(Resource {
        arn: arn.to_string(),
        rtype,
        owner,
        region: (rtype != ROLE).then_some(region),
        body: new_body,
    })
}

fn role(body: &Value, old: Option<Body>) -> Result<Body, ConfigError> {
    let trust = match body.get("trustPolicy").and_then(Value::as_str) {
        Some(text) => {
            Policy::parse(text, PolicyKind::Trust).map_err(|_| ConfigError::Unusable)?;
            text.to_string()
        }
        None => match old {
            Some(Body::Role { trust }) => trust,
            // A new role without a trust policy trusts no one.
            _ => String::new(),
        },
    };
    Ok(Body::Role { trust })
}

fn secret(body: &Value, old: Option<Body>) -> Result<Body, ConfigError> {
    let policy = match policy(body, "secretPolicy", true)? {
        Some(text) => Some(text).filter(|t| !t.is_empty()),
        None => match old {
            Some(Body::Secret { policy }) => policy,
            _ => None,
        },
    };
    Ok(Body::Secret { policy })
}

fn key(
    body: &Value,
    old: Option<Body>,
    owner: &str,
    region: &str,
    now: DateTime<Utc>,
) -> Result<Body, ConfigError> {
    let (old_policy, old_grants) = match old {
        Some(Body::Key { policy, grants }) => (Some(policy), grants),
        _ => (None, Vec::new()),
    };
    let proposed = match body.get("keyPolicies") {
        Some(map) => {
            let names = map
                .as_object()
                .ok_or_else(|| ConfigError::Invalid("keyPolicies must be a map".into()))?;
            if names.keys().any(|k| k != "default") {
                return Err(ConfigError::Invalid(
                    "The only valid key policy name is default".into(),
                ));
            }
            policy(map, "default", false)?
        }
        None => None,
    };
    let policy = proposed.or(old_policy).unwrap_or_else(|| {
        // A new key's default key policy: the owner account's root, in its partition.
        rampart_kms::keys::default_policy(rampart_kit::Partition::of_region(region), owner)
    });
    let grants = match body.get("grants") {
        Some(list) => list
            .as_array()
            .ok_or_else(|| ConfigError::Invalid("grants must be a list".into()))?
            .iter()
            .enumerate()
            .map(|(i, g)| grant(i, g, now))
            .collect::<Result<Vec<_>, _>>()?,
        None => old_grants,
    };
    Ok(Body::Key { policy, grants })
}

/// A string map member (`encryptionContextEquals`...).
fn string_map(v: Option<&Value>) -> Option<std::collections::BTreeMap<String, String>> {
    let o = v?.as_object()?;
    Some(
        o.iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect(),
    )
}

/// One `KmsGrantConfiguration` as the grant the analysis reads.
fn grant(
    i: usize,
    g: &Value,
    now: DateTime<Utc>,
) -> Result<rampart_kms::model::Grant, ConfigError> {
    let text = |k: &str| g.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(grantee), Some(issuing_account)) = (text("granteePrincipal"), text("issuingAccount"))
    else {
        return Err(ConfigError::Invalid(
            "A grant configuration needs granteePrincipal and issuingAccount".into(),
        ));
    };
    let operations: Vec<String> = g
        .get("operations")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if operations.is_empty() {
        return Err(ConfigError::Invalid(
            "A grant configuration needs at least one operation".into(),
        ));
    }
    let constraints = g.get("constraints");
    Ok(rampart_kms::model::Grant {
        id: format!("preview-grant-{i}"),
        token: String::new(),
        name: None,
        grantee,
        retiring: text("retiringPrincipal"),
        issuing_account,
        operations,
        context_subset: string_map(constraints.and_then(|c| c.get("encryptionContextSubset"))),
        context_equals: string_map(constraints.and_then(|c| c.get("encryptionContextEquals"))),
        created: now,
    })
}

/// A bucket: the proposed policy and bucket-level Block Public Access over the stored bucket
/// (or a new one, owned by the analyzer's account).
fn bucket(
    arn: &str,
    body: &Value,
    old: Option<Body>,
    owner: &str,
    region: &str,
    at: &Place,
    now: DateTime<Utc>,
) -> Result<Body, ConfigError> {
    for unsupported in ["bucketAclGrants", "accessPoints"] {
        if body.get(unsupported).is_some() {
            return Err(ConfigError::Invalid(format!(
                "Access previews of {unsupported} are not supported"
            )));
        }
    }
    let mut b = match old {
        Some(Body::Bucket(b)) => *b,
        _ => {
            let name = rampart_kit::Partition::of_arn(arn)
                .and_then(|p| p.strip_arn(arn, "s3"))
                .and_then(|rest| rest.strip_prefix("::"))
                .unwrap_or(arn)
                .to_string();
            rampart_s3::repo::Bucket {
                entity: Entity {
                    account_id: owner.to_string(),
                    kind: rampart_s3::repo::BUCKET.into(),
                    name: name.clone(),
                    name_key: name.clone(),
                    id: name,
                    path: "/".into(),
                    arn: arn.to_string(),
                    created_at: now,
                    updated_at: now,
                    doc: String::new(),
                },
                doc: rampart_s3::repo::BucketDoc {
                    region: region.to_string(),
                    ..Default::default()
                },
                account_block: at.account_block,
            }
        }
    };
    if let Some(text) = policy(body, "bucketPolicy", true)? {
        b.doc.policy = Some(text).filter(|t| !t.is_empty());
    }
    if let Some(bpa) = body.get("bucketPublicAccessBlock") {
        let flag = |k: &str| {
            bpa.get(k).and_then(Value::as_bool).ok_or_else(|| {
                ConfigError::Invalid(format!("bucketPublicAccessBlock.{k} is required"))
            })
        };
        let mut block = b
            .doc
            .public_access_block
            .unwrap_or(rampart_s3::public_access::PublicAccessBlock::NONE);
        block.ignore_public_acls = flag("ignorePublicAcls")?;
        block.restrict_public_buckets = flag("restrictPublicBuckets")?;
        b.doc.public_access_block = Some(block);
    }
    Ok(Body::Bucket(Box::new(b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Zone;
    use serde_json::json;

    fn at() -> Place {
        Place {
            owner: "111122223333".into(),
            region: "us-east-1".into(),
            account_block: None,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    fn zone() -> Zone {
        Zone::of(["111122223333".to_string()], None)
    }

    fn grants_to(policy_for: &str) -> String {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{policy_for}:root")},
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]})
        .to_string()
    }

    #[test]
    fn exactly_one_known_member_is_accepted() {
        assert!(matches!(member(&json!({"s3Bucket": {}})), Ok((BUCKET, _))));
        assert!(matches!(member(&json!({})), Err(ConfigError::Invalid(_))));
        assert!(matches!(
            member(&json!({"s3Bucket": {}, "iamRole": {}})),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            member(&json!({"sqsQueue": {}})),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn a_new_buckets_policy_is_analysed_and_an_empty_one_deletes_it() {
        let arn = "arn:aws:s3:::b";
        let body = json!({"bucketPolicy": grants_to("444455556666")});
        let r = proposed(arn, BUCKET, &body, None, &at(), now());
        let Ok(r) = r else {
            panic!("a proposed bucket")
        };
        let accesses = r.accesses(&zone());
        assert_eq!(accesses.len(), 1);
        let emptied = proposed(
            arn,
            BUCKET,
            &json!({"bucketPolicy": ""}),
            Some(r),
            &at(),
            now(),
        );
        let Ok(emptied) = emptied else {
            panic!("a proposed bucket")
        };
        assert!(emptied.accesses(&zone()).is_empty());
    }

    #[test]
    fn a_policy_that_does_not_parse_makes_the_preview_fail() {
        let body = json!({"secretPolicy": "{not json"});
        let r = proposed(
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:s-AbCdEf",
            SECRET,
            &body,
            None,
            &at(),
            now(),
        );
        assert_eq!(r.err(), Some(ConfigError::Unusable));
        let body = json!({"keyPolicies": {"other": "{}"}});
        let r = proposed(
            "arn:aws:kms:us-east-1:111122223333:key/k",
            KEY,
            &body,
            None,
            &at(),
            now(),
        );
        assert!(matches!(r, Err(ConfigError::Invalid(_))));
    }

    #[test]
    fn proposed_grants_replace_the_keys_grants() {
        let arn = "arn:aws:kms:us-east-1:111122223333:key/k";
        let body = json!({"grants": [{"operations": ["Decrypt"], "granteePrincipal": "444455556666",
            "issuingAccount": "111122223333"}]});
        let Ok(r) = proposed(arn, KEY, &body, None, &at(), now()) else {
            panic!("a proposed key")
        };
        let accesses = r.accesses(&zone());
        assert_eq!(accesses.len(), 1);
        let Ok(none) = proposed(arn, KEY, &json!({"grants": []}), Some(r), &at(), now()) else {
            panic!("a proposed key")
        };
        assert!(none.accesses(&zone()).is_empty());
    }
}
