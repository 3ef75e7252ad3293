//! The further AWS managed rules (with AWS's identifiers, parameters, defaults and trigger
//! types, from AWS Config's managed rule documentation), beside [`crate::managed::CATALOG`]:
//! blocked KMS actions and attached policies in IAM, bucket ACLs, Object Lock, lifecycle and
//! policy grantees in S3, what trails log, and the security services turned on.

use crate::checks_account::account_public_access_blocks;
use crate::checks_account_more as svc;
use crate::checks_iam_more as iam;
use crate::checks_s3_more as s3;
use crate::managed::{p, req, Check, Kind, Managed, BUCKET, POLICY, PRINCIPALS};

use Kind::{Bool, Str};

const ROLE: &[&str] = &["AWS::IAM::Role"];

/// The further managed rules.
pub const MORE: &[Managed] = &[
    Managed {
        id: "IAM_CUSTOMER_POLICY_BLOCKED_KMS_ACTIONS",
        types: POLICY,
        params: &[
            req("blockedActionsPatterns", Str, None),
            p("excludePermissionBoundaryPolicy", Bool, None),
        ],
        periodic: false,
        check: Check::Resource(iam::customer_blocked_kms),
    },
    Managed {
        id: "IAM_INLINE_POLICY_BLOCKED_KMS_ACTIONS",
        types: PRINCIPALS,
        params: &[
            req("blockedActionsPatterns", Str, None),
            p("excludeRoleByManagementAccount", Bool, None),
        ],
        periodic: false,
        check: Check::Resource(iam::inline_blocked_kms),
    },
    Managed {
        id: "IAM_POLICY_BLACKLISTED_CHECK",
        types: PRINCIPALS,
        params: &[
            req(
                "policyArns",
                Str,
                Some("arn:aws:iam::aws:policy/AdministratorAccess"),
            ),
            p("exceptionList", Str, None),
        ],
        periodic: false,
        check: Check::Resource(iam::policy_blacklisted),
    },
    Managed {
        id: "IAM_ROLE_MANAGED_POLICY_CHECK",
        types: ROLE,
        params: &[req("managedPolicyArns", Str, None)],
        periodic: false,
        check: Check::Resource(iam::role_managed_policies),
    },
    Managed {
        id: "S3_BUCKET_ACL_PROHIBITED",
        types: BUCKET,
        params: &[],
        periodic: false,
        check: Check::Resource(s3::acl_prohibited),
    },
    Managed {
        id: "S3_BUCKET_DEFAULT_LOCK_ENABLED",
        types: BUCKET,
        params: &[p("mode", Str, None)],
        periodic: false,
        check: Check::Resource(s3::default_lock),
    },
    Managed {
        id: "S3_LIFECYCLE_POLICY_CHECK",
        types: BUCKET,
        params: &[
            p("targetTransitionDays", Kind::Int, None),
            p("targetExpirationDays", Kind::Int, None),
            p("targetTransitionStorageClass", Str, None),
            p("targetPrefix", Str, None),
            p("bucketNames", Str, None),
        ],
        periodic: false,
        check: Check::Resource(s3::lifecycle_policy),
    },
    Managed {
        id: "S3_VERSION_LIFECYCLE_POLICY_CHECK",
        types: BUCKET,
        params: &[p("bucketNames", Str, None)],
        periodic: false,
        check: Check::Resource(s3::version_lifecycle),
    },
    Managed {
        id: "S3_BUCKET_BLACKLISTED_ACTIONS_PROHIBITED",
        types: BUCKET,
        params: &[req("blacklistedActionPattern", Str, None)],
        periodic: false,
        check: Check::Resource(s3::blacklisted_actions),
    },
    Managed {
        id: "S3_BUCKET_POLICY_GRANTEE_CHECK",
        types: BUCKET,
        params: &[
            p("awsPrincipals", Str, None),
            p("servicePrincipals", Str, None),
            p("federatedUsers", Str, None),
            p("ipAddresses", Str, None),
            p("vpcIds", Str, None),
        ],
        periodic: false,
        check: Check::Resource(s3::policy_grantee),
    },
    Managed {
        id: "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS",
        types: &[],
        params: &[
            p("IgnorePublicAcls", Bool, Some("True")),
            p("BlockPublicPolicy", Bool, Some("True")),
            p("BlockPublicAcls", Bool, Some("True")),
            p("RestrictPublicBuckets", Bool, Some("True")),
        ],
        periodic: false,
        check: Check::Account(account_public_access_blocks),
    },
    Managed {
        id: "CLOUDTRAIL_SECURITY_TRAIL_ENABLED",
        types: &[],
        params: &[],
        periodic: true,
        check: Check::Account(svc::security_trail_enabled),
    },
    Managed {
        id: "CLOUDTRAIL_S3_DATAEVENTS_ENABLED",
        types: &[],
        params: &[p("S3BucketNames", Str, None)],
        periodic: true,
        check: Check::Account(svc::s3_data_events),
    },
    Managed {
        id: "GUARDDUTY_ENABLED_CENTRALIZED",
        types: &[],
        params: &[p("CentralMonitoringAccount", Str, None)],
        periodic: true,
        check: Check::Account(svc::guardduty_centralized),
    },
    Managed {
        id: "SECURITYHUB_ENABLED",
        types: &[],
        params: &[],
        periodic: true,
        check: Check::Account(svc::securityhub_enabled),
    },
    Managed {
        id: "IAM_EXTERNAL_ACCESS_ANALYZER_ENABLED",
        types: &[],
        params: &[],
        periodic: true,
        check: Check::Account(svc::external_analyzer),
    },
];
