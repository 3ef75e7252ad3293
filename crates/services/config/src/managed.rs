//! The catalog of AWS managed rules: identifier, the resource types each evaluates, its
//! parameters (AWS's names, types and defaults), whether it runs periodically, and its check.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::checks_account::{self as acct, AccountFacts};
use crate::checks_iam as iam;
use crate::checks_other as other;
use crate::error::{ConfigError, ConfigResult};
use crate::model::Snapshot;

/// A rule's outcome for one resource: `COMPLIANT`, `NON_COMPLIANT` or `NOT_APPLICABLE`, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The compliance type.
    pub compliance: &'static str,
    /// The annotation.
    pub annotation: Option<String>,
}

impl Verdict {
    /// Compliant.
    pub fn ok() -> Verdict {
        Verdict {
            compliance: "COMPLIANT",
            annotation: None,
        }
    }

    /// Not compliant, with the reason.
    pub fn fail(why: impl Into<String>) -> Verdict {
        Verdict {
            compliance: "NON_COMPLIANT",
            annotation: Some(why.into()),
        }
    }

    /// Compliant when `ok`, else not, with the reason.
    pub fn check(ok: bool, why: impl Into<String>) -> Verdict {
        if ok {
            Verdict::ok()
        } else {
            Verdict::fail(why)
        }
    }

    /// Not applicable to this resource.
    pub fn not_applicable() -> Verdict {
        Verdict {
            compliance: "NOT_APPLICABLE",
            annotation: None,
        }
    }
}

/// A rule's parameters after validation and defaults.
pub type Params = BTreeMap<String, String>;

/// A parameter's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number.
    Int,
    /// `true` or `false`.
    Bool,
    /// Any text (comma-separated lists included).
    Str,
}

/// One parameter of a managed rule.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// AWS's name.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Whether it must be given (required parameters with a default are filled in).
    pub required: bool,
    /// The default AWS applies.
    pub default: Option<&'static str>,
}

pub(crate) const fn p(name: &'static str, kind: Kind, default: Option<&'static str>) -> Param {
    Param {
        name,
        kind,
        required: false,
        default,
    }
}

pub(crate) const fn req(name: &'static str, kind: Kind, default: Option<&'static str>) -> Param {
    Param {
        name,
        kind,
        required: true,
        default,
    }
}

/// What a rule checks.
#[derive(Clone, Copy)]
pub enum Check {
    /// One recorded resource at a time.
    Resource(fn(&Snapshot, &Params, DateTime<Utc>) -> Verdict),
    /// The account (`AWS::::Account`).
    Account(fn(&AccountFacts, &Params, DateTime<Utc>) -> Verdict),
}

/// A managed rule.
#[derive(Clone, Copy)]
pub struct Managed {
    /// AWS's identifier.
    pub id: &'static str,
    /// The resource types it evaluates (empty for account rules).
    pub types: &'static [&'static str],
    /// The parameters.
    pub params: &'static [Param],
    /// True for periodic rules (re-run at `MaximumExecutionFrequency`).
    pub periodic: bool,
    /// The check.
    pub check: Check,
}

pub(crate) const USER: &[&str] = &["AWS::IAM::User"];
pub(crate) const POLICY: &[&str] = &["AWS::IAM::Policy"];
const KMS: &[&str] = &["AWS::KMS::Key"];
const SECRET: &[&str] = &["AWS::SecretsManager::Secret"];
pub(crate) const BUCKET: &[&str] = &["AWS::S3::Bucket"];
const TRAIL: &[&str] = &["AWS::CloudTrail::Trail"];
pub(crate) const PRINCIPALS: &[&str] = &["AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::Role"];

use Kind::{Bool, Int, Str};

/// Every managed rule Rampart evaluates.
pub const CATALOG: &[Managed] = &[
    Managed {
        id: "ROOT_ACCOUNT_MFA_ENABLED",
        types: &[],
        params: &[],
        periodic: true,
        check: Check::Account(acct::root_mfa),
    },
    Managed {
        id: "IAM_ROOT_ACCESS_KEY_CHECK",
        types: &[],
        params: &[],
        periodic: true,
        check: Check::Account(acct::root_access_key),
    },
    Managed {
        id: "IAM_PASSWORD_POLICY",
        types: &[],
        params: &[
            p("RequireUppercaseCharacters", Bool, Some("true")),
            p("RequireLowercaseCharacters", Bool, Some("true")),
            p("RequireSymbols", Bool, Some("true")),
            p("RequireNumbers", Bool, Some("true")),
            p("MinimumPasswordLength", Int, Some("14")),
            p("PasswordReusePrevention", Int, Some("24")),
            p("MaxPasswordAge", Int, Some("90")),
        ],
        periodic: true,
        check: Check::Account(acct::password_policy),
    },
    Managed {
        id: "CLOUD_TRAIL_ENABLED",
        types: &[],
        params: &[
            p("s3BucketName", Str, None),
            p("snsTopicArn", Str, None),
            p("cloudWatchLogsLogGroupArn", Str, None),
        ],
        periodic: true,
        check: Check::Account(acct::trail_enabled),
    },
    Managed {
        id: "MULTI_REGION_CLOUD_TRAIL_ENABLED",
        types: &[],
        params: &[
            p("s3BucketName", Str, None),
            p("snsTopicArn", Str, None),
            p("cloudWatchLogsLogGroupArn", Str, None),
            p("includeManagementEvents", Bool, None),
            p("readWriteType", Str, None),
        ],
        periodic: true,
        check: Check::Account(acct::multi_region_trail),
    },
    Managed {
        id: "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC",
        types: &[],
        params: &[
            p("IgnorePublicAcls", Bool, Some("true")),
            p("BlockPublicPolicy", Bool, Some("true")),
            p("BlockPublicAcls", Bool, Some("true")),
            p("RestrictPublicBuckets", Bool, Some("true")),
        ],
        periodic: true,
        check: Check::Account(acct::account_public_access_blocks),
    },
    Managed {
        id: "IAM_USER_MFA_ENABLED",
        types: USER,
        params: &[],
        periodic: true,
        check: Check::Resource(iam::user_mfa),
    },
    Managed {
        id: "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
        types: USER,
        params: &[],
        periodic: true,
        check: Check::Resource(iam::console_mfa),
    },
    Managed {
        id: "ACCESS_KEYS_ROTATED",
        types: USER,
        params: &[req("maxAccessKeyAge", Int, Some("90"))],
        periodic: true,
        check: Check::Resource(iam::keys_rotated),
    },
    Managed {
        id: "IAM_USER_UNUSED_CREDENTIALS_CHECK",
        types: USER,
        params: &[req("maxCredentialUsageAge", Int, Some("90"))],
        periodic: true,
        check: Check::Resource(iam::unused_credentials),
    },
    Managed {
        id: "IAM_USER_NO_POLICIES_CHECK",
        types: USER,
        params: &[],
        periodic: false,
        check: Check::Resource(iam::no_policies),
    },
    Managed {
        id: "IAM_USER_GROUP_MEMBERSHIP_CHECK",
        types: USER,
        params: &[p("groupNames", Str, None)],
        periodic: false,
        check: Check::Resource(iam::group_membership),
    },
    Managed {
        id: "IAM_NO_INLINE_POLICY_CHECK",
        types: PRINCIPALS,
        params: &[],
        periodic: false,
        check: Check::Resource(iam::no_inline),
    },
    Managed {
        id: "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
        types: POLICY,
        params: &[p("excludePermissionBoundaryPolicy", Bool, None)],
        periodic: false,
        check: Check::Resource(iam::no_admin),
    },
    Managed {
        id: "IAM_POLICY_NO_STATEMENTS_WITH_FULL_ACCESS",
        types: POLICY,
        params: &[p("excludePermissionBoundaryPolicy", Bool, None)],
        periodic: false,
        check: Check::Resource(iam::no_full_access),
    },
    Managed {
        id: "CMK_BACKING_KEY_ROTATION_ENABLED",
        types: KMS,
        params: &[],
        periodic: true,
        check: Check::Resource(other::key_rotation),
    },
    Managed {
        id: "KMS_CMK_NOT_SCHEDULED_FOR_DELETION",
        types: KMS,
        params: &[p("kmsKeyIds", Str, None)],
        periodic: false,
        check: Check::Resource(other::key_not_deleting),
    },
    Managed {
        id: "SECRETSMANAGER_ROTATION_ENABLED_CHECK",
        types: SECRET,
        params: &[
            p("maximumAllowedRotationFrequency", Int, None),
            p("maximumAllowedRotationFrequencyInHours", Int, None),
        ],
        periodic: false,
        check: Check::Resource(other::secret_rotation),
    },
    Managed {
        id: "SECRETSMANAGER_USING_CMK",
        types: SECRET,
        params: &[p("kmsKeyArns", Str, None)],
        periodic: false,
        check: Check::Resource(other::secret_cmk),
    },
    Managed {
        id: "SECRETSMANAGER_SECRET_PERIODIC_ROTATION",
        types: SECRET,
        params: &[p("maxDaysSinceRotation", Int, Some("90"))],
        periodic: true,
        check: Check::Resource(other::secret_periodic_rotation),
    },
    Managed {
        id: "SECRETSMANAGER_SECRET_UNUSED",
        types: SECRET,
        params: &[p("unusedForDays", Int, Some("90"))],
        periodic: true,
        check: Check::Resource(other::secret_unused),
    },
    Managed {
        id: "S3_BUCKET_PUBLIC_READ_PROHIBITED",
        types: BUCKET,
        params: &[],
        periodic: false,
        check: Check::Resource(other::bucket_public_read),
    },
    Managed {
        id: "S3_BUCKET_PUBLIC_WRITE_PROHIBITED",
        types: BUCKET,
        params: &[],
        periodic: false,
        check: Check::Resource(other::bucket_public_write),
    },
    Managed {
        id: "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
        types: BUCKET,
        params: &[],
        periodic: false,
        check: Check::Resource(other::bucket_encryption),
    },
    Managed {
        id: "S3_DEFAULT_ENCRYPTION_KMS",
        types: BUCKET,
        params: &[p("kmsKeyArns", Str, None)],
        periodic: false,
        check: Check::Resource(other::bucket_kms),
    },
    Managed {
        id: "S3_BUCKET_VERSIONING_ENABLED",
        types: BUCKET,
        params: &[p("isMfaDeleteEnabled", Bool, None)],
        periodic: false,
        check: Check::Resource(other::bucket_versioning),
    },
    Managed {
        id: "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED",
        types: BUCKET,
        params: &[p("excludedPublicBuckets", Str, None)],
        periodic: false,
        check: Check::Resource(other::bucket_level_block),
    },
    Managed {
        id: "S3_BUCKET_SSL_REQUESTS_ONLY",
        types: BUCKET,
        params: &[],
        periodic: false,
        check: Check::Resource(other::bucket_ssl_only),
    },
    Managed {
        id: "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED",
        types: TRAIL,
        params: &[],
        periodic: true,
        check: Check::Resource(other::trail_validation),
    },
    Managed {
        id: "CLOUD_TRAIL_ENCRYPTION_ENABLED",
        types: TRAIL,
        params: &[],
        periodic: true,
        check: Check::Resource(other::trail_encryption),
    },
];

/// Every managed rule: [`CATALOG`] and the further rules of [`crate::managed_more`].
pub fn every() -> impl Iterator<Item = &'static Managed> {
    CATALOG.iter().chain(crate::managed_more::MORE)
}

/// The managed rule with this identifier.
pub fn find(id: &str) -> Option<&'static Managed> {
    every().find(|m| m.id == id)
}

/// The parameters of `InputParameters` checked against the rule's, with defaults filled in,
/// or AWS's `InvalidParameterValueException`.
pub fn params(rule: &Managed, input: Option<&str>) -> ConfigResult<Params> {
    let given: serde_json::Map<String, serde_json::Value> = match input.map(str::trim) {
        None | Some("") => serde_json::Map::new(),
        Some(text) => match serde_json::from_str(text) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => {
                return Err(ConfigError::invalid(
                    "Invalid json format provided in the input parameters for the Config rule.",
                ))
            }
        },
    };
    let unknown: Vec<&str> = given
        .keys()
        .filter(|k| !rule.params.iter().any(|p| p.name == k.as_str()))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(ConfigError::invalid(format!(
            "Unknown parameters provided in the input parameters for the Config rule: {}.",
            unknown.join(", ")
        )));
    }
    let mut out = Params::new();
    for p in rule.params {
        let value = match given.get(p.name) {
            Some(serde_json::Value::String(s)) => Some(s.trim().to_string()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            Some(serde_json::Value::Bool(b)) => Some(b.to_string()),
            Some(_) => {
                return Err(ConfigError::invalid(format!(
                    "The value for parameter {} must be a string.",
                    p.name
                )))
            }
            None => None,
        };
        let value = match value.or_else(|| p.default.map(str::to_string)) {
            Some(v) => v,
            None if p.required => {
                return Err(ConfigError::invalid(format!(
                "Required parameters not provided in the input parameters for the Config rule: {}.",
                p.name
            )))
            }
            None => continue,
        };
        let valid = match p.kind {
            Kind::Int => value.parse::<i64>().is_ok_and(|n| n >= 0),
            Kind::Bool => matches!(value.to_ascii_lowercase().as_str(), "true" | "false"),
            Kind::Str => true,
        };
        if !valid {
            return Err(ConfigError::invalid(format!(
                "Invalid value {value:?} for parameter {} of the Config rule {}.",
                p.name, rule.id
            )));
        }
        out.insert(p.name.to_string(), value);
    }
    Ok(out)
}

/// An integer parameter (validated by [`params`]).
pub fn int(params: &Params, name: &str) -> Option<i64> {
    params.get(name).and_then(|v| v.parse().ok())
}

/// A boolean parameter (validated by [`params`]).
pub fn boolean(params: &Params, name: &str) -> Option<bool> {
    params.get(name).map(|v| v.eq_ignore_ascii_case("true"))
}

/// A comma-separated list parameter.
pub fn list(params: &Params, name: &str) -> Vec<String> {
    params
        .get(name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Parameters from pairs (for the checks' tests).
#[cfg(test)]
pub(crate) fn params_of(pairs: &[(&str, &str)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_has_unique_identifiers() {
        let mut ids: Vec<&str> = every().map(|m| m.id).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert!(n >= 40);
    }

    #[test]
    fn defaults_fill_in_and_bad_parameters_are_refused() {
        let rule = find("ACCESS_KEYS_ROTATED").unwrap();
        assert_eq!(params(rule, None).unwrap()["maxAccessKeyAge"], "90");
        assert_eq!(
            params(rule, Some(r#"{"maxAccessKeyAge":"30"}"#)).unwrap()["maxAccessKeyAge"],
            "30"
        );
        assert!(params(rule, Some(r#"{"maxAccessKeyAge":"soon"}"#)).is_err());
        assert!(params(rule, Some(r#"{"other":"1"}"#)).is_err());
        assert!(params(rule, Some("not json")).is_err());
    }
}
