//! Deciding which service a request is for: one port serves every service, so route by
//! `X-Amz-Target` (awsJson), else by the form `Action` and the service name in the SigV4
//! credential scope (awsQuery). The Host header and path are never consulted: clients sign with
//! their configured region and post to whatever endpoint URL they were given.

use crate::error::ApiError;
use rampart_model::{Protocol, Service, SERVICES};

/// What routing looks at, all optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct RouteInput<'a> {
    /// The `X-Amz-Target` header (`TrentService.Encrypt`).
    pub target: Option<&'a str>,
    /// The awsQuery `Action` parameter (`CreateUser`).
    pub action: Option<&'a str>,
    /// The service in the SigV4 credential scope (`iam`, `sts`, `kms`, ...), parsed before
    /// verification.
    pub signed_service: Option<&'a str>,
}

/// Picks the service for a request. An `X-Amz-Target` whose prefix is unknown fails with
/// `UnknownOperationException` (awsJson); a request with neither a target, an action nor a
/// known signed service fails with `MissingAction` (awsQuery). An action with no usable signed
/// service goes to the awsQuery service that has that operation (IAM when none has it, so the
/// reply is IAM's `InvalidAction`). A signed awsJson service without a target is routed to that
/// service, whose decoder answers `UnknownOperationException`.
pub fn route(input: RouteInput<'_>) -> Result<&'static Service, (Protocol, ApiError)> {
    if let Some(target) = input.target.map(str::trim).filter(|t| !t.is_empty()) {
        let prefix = target.rsplit_once('.').map_or(target, |(p, _)| p);
        return rampart_model::service_by_target_prefix(prefix).ok_or_else(|| {
            (
                Protocol::Json,
                ApiError::new(
                    "UnknownOperationException",
                    format!("Unknown operation {target}"),
                    400,
                    true,
                ),
            )
        });
    }
    let signed = input
        .signed_service
        .and_then(rampart_model::service_by_signing_name);
    if let Some(svc) = signed {
        return Ok(svc);
    }
    if let Some(action) = input.action.map(str::trim).filter(|a| !a.is_empty()) {
        let by_action = SERVICES
            .iter()
            .copied()
            .find(|s| s.protocol == Protocol::Query && s.operation(action).is_some());
        return Ok(by_action
            .or_else(|| rampart_model::service("iam"))
            .unwrap_or(SERVICES[0]));
    }
    Err((
        Protocol::Query,
        ApiError::new("MissingAction", "Missing Action", 400, true),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(r: Result<&'static Service, (Protocol, ApiError)>) -> String {
        match r {
            Ok(s) => s.name.to_string(),
            Err((_, e)) => e.code,
        }
    }

    #[test]
    fn routes() {
        let t = |target, action, signed| {
            name(route(RouteInput {
                target,
                action,
                signed_service: signed,
            }))
        };
        assert_eq!(t(Some("TrentService.Encrypt"), None, Some("kms")), "kms");
        // botocore sends CloudTrail's full target prefix, the Smithy SDKs its last segment.
        assert_eq!(
            t(
                Some("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"),
                None,
                None
            ),
            "cloudtrail"
        );
        assert_eq!(
            t(Some("CloudTrail_20131101.LookupEvents"), None, None),
            "cloudtrail"
        );
        assert_eq!(t(Some("TrentService.Encrypt"), None, None), "kms");
        assert_eq!(
            t(Some("AWSOrganizationsV20161128.ListAccounts"), None, None),
            "organizations"
        );
        assert_eq!(
            t(Some("secretsmanager.GetSecretValue"), None, None),
            "secretsmanager"
        );
        assert_eq!(
            t(
                Some("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"),
                None,
                None
            ),
            "cloudtrail"
        );
        assert_eq!(
            t(Some("Nope.Encrypt"), None, None),
            "UnknownOperationException"
        );
        assert_eq!(t(None, Some("GetCallerIdentity"), Some("sts")), "sts");
        assert_eq!(t(None, Some("CreateUser"), Some("iam")), "iam");
        assert_eq!(t(None, Some("AssumeRoleWithWebIdentity"), None), "sts");
        assert_eq!(t(None, Some("CreateUser"), None), "iam");
        assert_eq!(t(None, Some("CreateUser"), Some("s3")), "iam");
        assert_eq!(t(None, Some("Bogus"), None), "iam");
        assert_eq!(t(None, None, Some("kms")), "kms");
        assert_eq!(t(None, None, None), "MissingAction");
    }
}
