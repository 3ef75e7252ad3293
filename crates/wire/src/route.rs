//! Deciding which service a request is for: one port serves every service, so route by
//! `X-Amz-Target` (awsJson), else by the service name in the SigV4 credential scope (any
//! protocol; restJson1 then matches method and path within that service), else by the form
//! `Action` (awsQuery), else, for an unsigned request, by a restJson1 URI template, else to S3,
//! the one service that serves anonymous requests. The Host header only matters when it names
//! an S3 bucket (virtual-hosted style): clients sign with their configured region and send to
//! whatever endpoint URL they were given.

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
    /// The HTTP method (restJson1 routing of unsigned requests).
    pub method: &'a str,
    /// The path as sent (restJson1 routing of unsigned requests).
    pub path: &'a str,
    /// The raw query string (restJson1 query literals).
    pub query: &'a str,
    /// The Host names a bucket under a configured S3 domain (virtual-hosted style).
    pub s3_virtual_host: bool,
}

/// Picks the service for a request. An `X-Amz-Target` whose prefix is unknown fails with
/// `UnknownOperationException` (awsJson); a request with neither a target, an action nor a
/// known signed service fails with `MissingAction` (awsQuery). An action with no usable signed
/// service goes to the awsQuery service that has that operation (IAM when none has it, so the
/// reply is IAM's `InvalidAction`). A signed awsJson service without a target is routed to that
/// service, whose decoder answers `UnknownOperationException`. A request with none of these
/// goes to S3 when its Host names a bucket, else to the first restJson1 service with an
/// operation for its method and path (so an unsigned call gets that service's authentication
/// error), else to S3 (anonymous access is S3's alone; its decoder or authentication answers).
/// Without an S3 model the last case fails with `MissingAction`.
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
        return Ok(s3_control(svc, input.path).unwrap_or(svc));
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
    let s3 = rampart_model::service("s3");
    if let Some(control) = s3.and_then(|s3| s3_control(s3, input.path)) {
        return Ok(control);
    }
    if let Some(s3) = s3.filter(|_| input.s3_virtual_host) {
        return Ok(s3);
    }
    if let Some(svc) = crate::uri_template::service_by_path(input.method, input.path, input.query) {
        return Ok(svc);
    }
    s3.ok_or_else(|| {
        (
            Protocol::Query,
            ApiError::new("MissingAction", "Missing Action", 400, true),
        )
    })
}

/// Where every S3 Control path starts (`/v20180820/configuration/publicAccessBlock`).
pub const S3_CONTROL_PATH_PREFIX: &str = "/v20180820/";

/// S3 Control, for a request signed as (or routed to) S3 whose path is one of S3 Control's.
/// S3 Control signs as `s3`, and its Host (`ACCOUNT.s3-control.REGION.amazonaws.com`, or
/// `ACCOUNT.` before a custom endpoint) can look like a virtual-hosted bucket, so its path
/// prefix decides: it wins over a path-style bucket of that name.
fn s3_control(routed: &'static Service, path: &str) -> Option<&'static Service> {
    (routed.name == "s3" && path.starts_with(S3_CONTROL_PATH_PREFIX))
        .then(|| rampart_model::service("s3control"))
        .flatten()
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
                ..Default::default()
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
        assert_eq!(t(None, Some("CreateUser"), Some("s3")), "s3");
        assert_eq!(t(None, Some("CreateUser"), Some("nope")), "iam");
        assert_eq!(t(None, Some("Bogus"), None), "iam");
        assert_eq!(t(None, None, Some("kms")), "kms");
        assert_eq!(t(None, None, None), "s3");
        assert_eq!(t(None, None, Some("s3")), "s3");
        // The services of the security module, by their signing names and target prefixes.
        assert_eq!(t(None, None, Some("guardduty")), "guardduty");
        assert_eq!(t(None, None, Some("access-analyzer")), "accessanalyzer");
        assert_eq!(t(None, None, Some("acm-pca")), "acm-pca");
        assert_eq!(
            t(
                None,
                Some("DescribeLoadBalancers"),
                Some("elasticloadbalancing")
            ),
            "elbv2"
        );
        assert_eq!(t(None, Some("DescribeLoadBalancers"), None), "elbv2");
        assert_eq!(
            t(
                Some("StarlingDoveService.DescribeConfigRules"),
                None,
                Some("config")
            ),
            "config"
        );
        assert_eq!(t(Some("AWSWAF_20190729.ListWebACLs"), None, None), "wafv2");
        assert_eq!(
            t(Some("AWSShield_20160616.ListProtections"), None, None),
            "shield"
        );
        assert_eq!(t(Some("AWSEvents.ListRules"), None, None), "events");
        assert_eq!(
            t(Some("CertificateManager.ListCertificates"), None, None),
            "acm"
        );
        assert_eq!(
            t(Some("ACMPrivateCA.ListCertificateAuthorities"), None, None),
            "acm-pca"
        );
        // Unsigned restJson1 calls route by their path.
        let by_path = |method, path| {
            name(route(RouteInput {
                method,
                path,
                ..Default::default()
            }))
        };
        assert_eq!(by_path("GET", "/detector"), "guardduty");
        assert_eq!(by_path("GET", "/analyzer"), "accessanalyzer");
        // Anonymous requests no other rule routes are S3's.
        assert_eq!(by_path("POST", "/"), "s3");
        assert_eq!(by_path("GET", "/nothing/here"), "s3");
        assert_eq!(by_path("GET", "/mybucket/some/key"), "s3");
        // A virtual-hosted bucket wins over a restJson1 path.
        let vhost = route(RouteInput {
            method: "GET",
            path: "/detector",
            s3_virtual_host: true,
            ..Default::default()
        });
        assert_eq!(name(vhost), "s3");
    }

    #[test]
    fn s3_control_paths_win_over_s3_buckets() {
        let control = rampart_model::service("s3control").unwrap();
        assert!(control
            .operations
            .iter()
            .all(|o| o.http.uri.starts_with(S3_CONTROL_PATH_PREFIX)));
        let path = "/v20180820/configuration/publicAccessBlock";
        let r = |signed, path, s3_virtual_host| {
            name(route(RouteInput {
                signed_service: signed,
                method: "GET",
                path,
                s3_virtual_host,
                ..Default::default()
            }))
        };
        assert_eq!(r(Some("s3"), path, false), "s3control");
        assert_eq!(r(Some("s3"), path, true), "s3control");
        assert_eq!(r(None, path, true), "s3control");
        assert_eq!(r(None, path, false), "s3control");
        assert_eq!(r(Some("s3"), "/v20180820", false), "s3");
        assert_eq!(r(Some("s3"), "/bucket/v20180820/x", false), "s3");
        assert_eq!(r(Some("kms"), path, false), "kms");
    }
}
