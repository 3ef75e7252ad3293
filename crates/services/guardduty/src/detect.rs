//! The detection rules: what one audit record (a CloudTrail event) shows, as GuardDuty's
//! finding types.
//!
//! | Finding type | Level | When |
//! | --- | --- | --- |
//! | `Policy:IAMUser/RootCredentialUsage` | Low | a call signed with the account root user's credentials |
//! | `PenTest:IAMUser/KaliLinux`, `ParrotLinux`, `PentooLinux` | Medium | a call whose user agent names that distribution |
//! | `Stealth:IAMUser/CloudTrailLoggingDisabled` | Low | a successful `StopLogging` or `DeleteTrail` |
//! | `Stealth:IAMUser/PasswordPolicyChange` | Low | `UpdateAccountPasswordPolicy` or `DeleteAccountPasswordPolicy`, even refused |
//! | `Policy:S3/BucketBlockPublicAccessDisabled` | Low | a successful `PutPublicAccessBlock` turning a setting off, or `DeletePublicAccessBlock` on a bucket |
//! | `Policy:S3/BucketAnonymousAccessGranted` | High | a successful `PutBucketPolicy` whose policy is public, or `PutBucketAcl` granting `AllUsers` |
//! | `Policy:S3/BucketPublicAccessGranted` | High | a successful `PutBucketAcl` granting `AuthenticatedUsers` |
//! | `UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom` | Medium | a call from an address on an active threat list |
//!
//! Calls from an address on an active trusted IP list produce no finding at all, and calls
//! AWS services make themselves (`AWSService` callers) are not looked at. Whether a policy is
//! public is `rampart_policy::public`'s test, the one S3's `GetBucketPolicyStatus` uses.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::{
    finding::{Level, Observation},
    lists::IpList,
};

/// A threat list as the rules use it: its name and ranges.
#[derive(Debug, Clone, Default)]
pub struct ThreatList {
    /// The list's `Name` (`Service.AdditionalInfo.threatListName`).
    pub name: String,
    /// Its ranges.
    pub ranges: IpList,
}

/// The lists a detector has active.
#[derive(Debug, Clone, Default)]
pub struct Intel {
    /// Trusted addresses: never flagged.
    pub trusted: IpList,
    /// Known-malicious addresses.
    pub threats: Vec<ThreatList>,
}

/// The facts of one event the rules read.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    event: &'a Value,
    /// `eventName`.
    pub name: &'a str,
    /// `eventSource`.
    pub source: &'a str,
    /// `userIdentity.type`.
    pub identity: &'a str,
    /// `sourceIPAddress`.
    pub ip: &'a str,
    /// `userAgent`.
    pub user_agent: &'a str,
    /// `errorCode`, for a failed or refused call.
    pub error: Option<&'a str>,
    /// `eventTime`.
    pub time: DateTime<Utc>,
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl<'a> Call<'a> {
    /// The partition of the call's region (`awsRegion`): of the bucket ARNs its findings name.
    pub fn partition(&self) -> rampart_kit::Partition {
        rampart_kit::Partition::of_region(str_at(self.event, "/awsRegion"))
    }

    /// The facts of a parsed event, or `None` for an event that is not a caller's API call or
    /// console sign-in (CloudTrail's `AwsConsoleSignIn`; Rampart records `ConsoleLogin` as
    /// `AwsApiCall`).
    pub fn of(event: &'a Value) -> Option<Call<'a>> {
        if !matches!(
            str_at(event, "/eventType"),
            "AwsApiCall" | "AwsConsoleSignIn"
        ) {
            return None;
        }
        let time = DateTime::parse_from_rfc3339(str_at(event, "/eventTime"))
            .ok()?
            .with_timezone(&Utc);
        Some(Call {
            event,
            name: str_at(event, "/eventName"),
            source: str_at(event, "/eventSource"),
            identity: str_at(event, "/userIdentity/type"),
            ip: str_at(event, "/sourceIPAddress"),
            user_agent: str_at(event, "/userAgent"),
            error: event.get("errorCode").and_then(Value::as_str),
            time,
        })
    }

    /// The whole event.
    pub fn event(&self) -> &'a Value {
        self.event
    }

    fn ok(&self) -> bool {
        self.error.is_none()
    }

    fn ip(&self) -> Option<IpAddr> {
        self.ip.parse().ok()
    }

    fn param(&self, name: &str) -> Option<&'a Value> {
        let params = self.event.get("requestParameters")?;
        member(params, name)
    }

    fn param_str(&self, name: &str) -> Option<&'a str> {
        self.param(name).and_then(Value::as_str)
    }

    /// The caller's ARN (else its type and principal id): the principal of findings.
    pub(crate) fn principal_arn(&self) -> String {
        let arn = str_at(self.event, "/userIdentity/arn");
        if arn.is_empty() {
            format!(
                "{}:{}",
                self.identity,
                str_at(self.event, "/userIdentity/principalId")
            )
        } else {
            arn.to_string()
        }
    }

    fn access_key(&self) -> &'a str {
        str_at(self.event, "/userIdentity/accessKeyId")
    }

    /// `Resource.AccessKeyDetails` of the caller.
    pub(crate) fn access_key_details(&self) -> Value {
        let user_name = match self.identity {
            "Root" => "Root".to_string(),
            _ => {
                let name = str_at(self.event, "/userIdentity/userName");
                if name.is_empty() {
                    // A role session: the role's name, as GuardDuty shows it.
                    let arn = str_at(self.event, "/userIdentity/arn");
                    arn.split('/').nth(1).unwrap_or(arn).to_string()
                } else {
                    name.to_string()
                }
            }
        };
        json!({
            "AccessKeyId": self.access_key(),
            "PrincipalId": str_at(self.event, "/userIdentity/principalId"),
            "UserName": user_name,
            "UserType": self.identity,
        })
    }

    /// `Service.Action` of the call.
    pub fn action(&self) -> Value {
        let mut remote = Map::new();
        match self.ip() {
            Some(IpAddr::V4(v4)) => {
                remote.insert("IpAddressV4".into(), json!(v4.to_string()));
            }
            Some(IpAddr::V6(v6)) => {
                remote.insert("IpAddressV6".into(), json!(v6.to_string()));
            }
            None => {}
        }
        let mut call = Map::new();
        call.insert("Api".into(), json!(self.name));
        call.insert("CallerType".into(), json!("Remote IP"));
        call.insert("ServiceName".into(), json!(self.source));
        call.insert("UserAgent".into(), json!(self.user_agent));
        call.insert("RemoteIpDetails".into(), Value::Object(remote));
        if let Some(code) = self.error {
            call.insert("ErrorCode".into(), json!(code));
        }
        json!({ "ActionType": "AWS_API_CALL", "AwsApiCallAction": Value::Object(call) })
    }

    /// What was called, by whom, from where.
    fn sentence(&self) -> String {
        format!(
            "The API {} of {} was called by {} from {}.",
            self.name,
            self.source,
            self.principal_arn(),
            self.ip
        )
    }

    /// An observation of a custom (Sigma) rule about the caller's access key: `description`
    /// followed by what was called, by whom, from where.
    pub fn custom(
        &self,
        kind: String,
        severity: f64,
        title: String,
        description: &str,
    ) -> Observation {
        let mut o = self.observe(&kind, Level::Low, title, None);
        o.severity = severity;
        o.description = format!("{} {}", description.trim_end(), self.sentence());
        o
    }

    /// The bucket a call to S3 names, if any.
    pub(crate) fn bucket(&self) -> Option<&'a str> {
        self.param_str("bucket")
            .or_else(|| self.param_str("bucketName"))
            .filter(|b| !b.is_empty())
    }

    /// An observation of `kind` about the caller's access key (and a bucket, when given).
    pub(crate) fn observe(
        &self,
        kind: &str,
        level: Level,
        title: String,
        bucket: Option<&str>,
    ) -> Observation {
        let mut resource = Map::new();
        resource.insert("ResourceType".into(), json!("AccessKey"));
        resource.insert("AccessKeyDetails".into(), self.access_key_details());
        let resource_key = match bucket {
            Some(b) => {
                let arn = self.partition().arn("s3", "", "", b);
                resource.insert(
                    "S3BucketDetails".into(),
                    json!([{ "Arn": arn, "Name": b, "Type": "Destination" }]),
                );
                arn
            }
            None => self.access_key().to_string(),
        };
        Observation {
            finding_type: kind.to_string(),
            severity: level.severity(),
            description: format!("{title} {}", self.sentence()),
            title,
            resource: Value::Object(resource),
            resource_key,
            principal: self.principal_arn(),
            action: self.action(),
            event_time: self.time,
            additional_info: None,
            detection: None,
        }
    }
}

/// The member `name` of an object, compared without regard to case (CloudTrail spells
/// parameters in lower camel case; AWS's own records sometimes differ).
fn member<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let map = v.as_object()?;
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The penetration-testing distributions a user agent may name.
const PENTEST: &[(&str, &str, &str)] = &[
    ("kali", "PenTest:IAMUser/KaliLinux", "Kali Linux"),
    (
        "parrot",
        "PenTest:IAMUser/ParrotLinux",
        "Parrot Security Linux",
    ),
    ("pentoo", "PenTest:IAMUser/PentooLinux", "Pentoo Linux"),
];

/// What `call` shows, given the detector's lists.
pub fn observe(call: &Call<'_>, intel: &Intel) -> Vec<Observation> {
    let mut out = Vec::new();
    if matches!(call.identity, "AWSService" | "" | "Unknown" | "AWSAccount") {
        return out;
    }
    let ip = call.ip();
    if ip.is_some_and(|ip| intel.trusted.contains(ip)) {
        return out;
    }
    if call.identity == "Root" {
        out.push(call.observe(
            "Policy:IAMUser/RootCredentialUsage",
            Level::Low,
            "API call made using root credentials.".into(),
            None,
        ));
    }
    let agent = call.user_agent.to_ascii_lowercase();
    for (marker, kind, distro) in PENTEST {
        if agent.contains(marker) {
            out.push(call.observe(
                kind,
                Level::Medium,
                format!("API call made from a {distro} computer."),
                None,
            ));
        }
    }
    if let Some(ip) = ip {
        for list in &intel.threats {
            if list.ranges.contains(ip) {
                let mut o = call.observe(
                    "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom",
                    Level::Medium,
                    "API call made from an IP address on a custom threat list.".into(),
                    None,
                );
                o.additional_info = Some(json!({
                    "Value": json!({ "threatListName": list.name }).to_string(),
                    "Type": "default",
                }));
                out.push(o);
                break;
            }
        }
    }
    out.extend(configuration_changes(call));
    out
}

/// The findings of changes to logging, password policy and bucket exposure.
fn configuration_changes(call: &Call<'_>) -> Vec<Observation> {
    let mut out = Vec::new();
    match (call.source, call.name) {
        ("cloudtrail.amazonaws.com", "StopLogging" | "DeleteTrail") if call.ok() => {
            let trail = call.param_str("name").unwrap_or_default();
            let mut o = call.observe(
                "Stealth:IAMUser/CloudTrailLoggingDisabled",
                Level::Low,
                "CloudTrail trail was disabled.".into(),
                None,
            );
            o.resource_key = trail.to_string();
            out.push(o);
        }
        ("iam.amazonaws.com", "UpdateAccountPasswordPolicy" | "DeleteAccountPasswordPolicy") => {
            out.push(call.observe(
                "Stealth:IAMUser/PasswordPolicyChange",
                Level::Low,
                "Account password policy was weakened.".into(),
                None,
            ));
        }
        ("s3.amazonaws.com", _) if call.ok() => out.extend(bucket_exposure(call)),
        _ => {}
    }
    out
}

/// The S3 findings of a successful bucket call.
fn bucket_exposure(call: &Call<'_>) -> Vec<Observation> {
    let Some(bucket) = call.bucket() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    match call.name {
        "PutPublicAccessBlock" => {
            let config = call.param("publicAccessBlockConfiguration");
            let off = [
                "blockPublicAcls",
                "ignorePublicAcls",
                "blockPublicPolicy",
                "restrictPublicBuckets",
            ]
            .iter()
            .any(|k| config.and_then(|c| member(c, k)).and_then(Value::as_bool) != Some(true));
            if off {
                out.push(block_public_access_disabled(call, bucket));
            }
        }
        "DeletePublicAccessBlock" => out.push(block_public_access_disabled(call, bucket)),
        "PutBucketPolicy" => {
            let text = match call.param("policy").or_else(|| call.param("bucketPolicy")) {
                Some(Value::String(s)) => s.clone(),
                Some(v @ Value::Object(_)) => v.to_string(),
                _ => String::new(),
            };
            let public = rampart_policy::Policy::parse(&text, rampart_policy::PolicyKind::Resource)
                .map(|p| rampart_policy::public::is_public(&p))
                .unwrap_or(false);
            if public {
                out.push(call.observe(
                    "Policy:S3/BucketAnonymousAccessGranted",
                    Level::High,
                    format!("Amazon S3 bucket {bucket} allows anonymous access through its bucket policy."),
                    Some(bucket),
                ));
            }
        }
        "PutBucketAcl" => {
            let params = call
                .event
                .get("requestParameters")
                .map(Value::to_string)
                .unwrap_or_default();
            let canned = call.param_str("acl").unwrap_or_default();
            if params.contains("acs.amazonaws.com/groups/global/AllUsers")
                || matches!(canned, "public-read" | "public-read-write")
            {
                out.push(call.observe(
                    "Policy:S3/BucketAnonymousAccessGranted",
                    Level::High,
                    format!("Amazon S3 bucket {bucket} allows anonymous access through its ACL."),
                    Some(bucket),
                ));
            } else if params.contains("acs.amazonaws.com/groups/global/AuthenticatedUsers")
                || canned == "authenticated-read"
            {
                out.push(call.observe(
                    "Policy:S3/BucketPublicAccessGranted",
                    Level::High,
                    format!(
                        "Amazon S3 bucket {bucket} allows access to any AWS user through its ACL."
                    ),
                    Some(bucket),
                ));
            }
        }
        _ => {}
    }
    out
}

fn block_public_access_disabled(call: &Call<'_>, bucket: &str) -> Observation {
    call.observe(
        "Policy:S3/BucketBlockPublicAccessDisabled",
        Level::Low,
        format!("Amazon S3 Block Public Access was disabled for bucket {bucket}."),
        Some(bucket),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(observations: &[Observation]) -> Vec<&str> {
        observations
            .iter()
            .map(|o| o.finding_type.as_str())
            .collect()
    }

    fn event(identity: &str, source: &str, name: &str, agent: &str, params: Value) -> Value {
        json!({
            "eventVersion": "1.08",
            "userIdentity": {
                "type": identity,
                "principalId": "AIDAEXAMPLE",
                "arn": if identity == "Root" { "arn:aws:iam::123456789012:root".to_string() } else { "arn:aws:iam::123456789012:user/alice".to_string() },
                "accountId": "123456789012",
                "accessKeyId": "AKIAEXAMPLE",
                "userName": "alice",
            },
            "eventTime": "2026-12-06T10:00:00Z",
            "eventSource": source,
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "198.51.100.7",
            "userAgent": agent,
            "requestParameters": params,
            "eventType": "AwsApiCall",
            "recipientAccountId": "123456789012",
        })
    }

    fn kinds(e: &Value, intel: &Intel) -> Vec<String> {
        let call = Call::of(e).unwrap();
        observe(&call, intel)
            .into_iter()
            .map(|o| o.finding_type)
            .collect()
    }

    const UA: &str = "Boto3/1.35 md/Botocore#1.35 ua/2.0 os/linux#6.1 lang/python#3.11";

    #[test]
    fn root_calls_and_pentest_agents_are_found() {
        let none = Intel::default();
        let e = event("Root", "iam.amazonaws.com", "ListUsers", UA, json!(null));
        assert_eq!(kinds(&e, &none), ["Policy:IAMUser/RootCredentialUsage"]);
        let e = event("IAMUser", "iam.amazonaws.com", "ListUsers", UA, json!(null));
        assert!(kinds(&e, &none).is_empty());
        let kali = "aws-cli/2.15 Python/3.11 Linux/6.6.9-amd64 exe/x86_64.kali.2024";
        let e = event(
            "IAMUser",
            "sts.amazonaws.com",
            "GetCallerIdentity",
            kali,
            json!(null),
        );
        assert_eq!(kinds(&e, &none), ["PenTest:IAMUser/KaliLinux"]);
        let e = event(
            "IAMUser",
            "sts.amazonaws.com",
            "GetCallerIdentity",
            "Boto3 os/linux#parrot",
            json!(null),
        );
        assert_eq!(kinds(&e, &none), ["PenTest:IAMUser/ParrotLinux"]);
        let e = event(
            "IAMUser",
            "sts.amazonaws.com",
            "GetCallerIdentity",
            "Boto3 Pentoo",
            json!(null),
        );
        assert_eq!(kinds(&e, &none), ["PenTest:IAMUser/PentooLinux"]);
        // An AWS service's own call is not looked at.
        let e = event(
            "AWSService",
            "s3.amazonaws.com",
            "PutObject",
            "cloudtrail.amazonaws.com",
            json!(null),
        );
        assert!(kinds(&e, &none).is_empty());
    }

    #[test]
    fn logging_and_password_policy_changes_are_found() {
        let none = Intel::default();
        let e = event(
            "IAMUser",
            "cloudtrail.amazonaws.com",
            "StopLogging",
            UA,
            json!({ "name": "t" }),
        );
        assert_eq!(
            kinds(&e, &none),
            ["Stealth:IAMUser/CloudTrailLoggingDisabled"]
        );
        let mut failed = e.clone();
        failed["errorCode"] = json!("AccessDenied");
        assert!(kinds(&failed, &none).is_empty());
        let e = event(
            "IAMUser",
            "cloudtrail.amazonaws.com",
            "StartLogging",
            UA,
            json!({ "name": "t" }),
        );
        assert!(kinds(&e, &none).is_empty());
        let e = event(
            "IAMUser",
            "iam.amazonaws.com",
            "DeleteAccountPasswordPolicy",
            UA,
            json!({}),
        );
        assert_eq!(kinds(&e, &none), ["Stealth:IAMUser/PasswordPolicyChange"]);
    }

    #[test]
    fn bucket_exposure_is_found_from_the_policy_and_settings() {
        let none = Intel::default();
        let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        let e = event(
            "IAMUser",
            "s3.amazonaws.com",
            "PutBucketPolicy",
            UA,
            json!({ "bucket": "b", "policy": public }),
        );
        let found = observe(&Call::of(&e).unwrap(), &none);
        assert_eq!(types(&found), ["Policy:S3/BucketAnonymousAccessGranted"]);
        assert_eq!(found[0].severity, 8.0);
        assert_eq!(found[0].resource["S3BucketDetails"][0]["Name"], "b");
        assert_eq!(found[0].resource_key, "arn:aws:s3:::b");
        let private = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        let e = event(
            "IAMUser",
            "s3.amazonaws.com",
            "PutBucketPolicy",
            UA,
            json!({ "bucket": "b", "policy": private }),
        );
        assert!(kinds(&e, &none).is_empty());
        let off = json!({ "bucket": "b", "publicAccessBlockConfiguration": {
            "blockPublicAcls": true, "ignorePublicAcls": true, "blockPublicPolicy": false, "restrictPublicBuckets": true } });
        let e = event(
            "IAMUser",
            "s3.amazonaws.com",
            "PutPublicAccessBlock",
            UA,
            off,
        );
        assert_eq!(
            kinds(&e, &none),
            ["Policy:S3/BucketBlockPublicAccessDisabled"]
        );
        let on = json!({ "bucket": "b", "publicAccessBlockConfiguration": {
            "blockPublicAcls": true, "ignorePublicAcls": true, "blockPublicPolicy": true, "restrictPublicBuckets": true } });
        let e = event(
            "IAMUser",
            "s3.amazonaws.com",
            "PutPublicAccessBlock",
            UA,
            on,
        );
        assert!(kinds(&e, &none).is_empty());
        let e = event(
            "IAMUser",
            "s3.amazonaws.com",
            "PutBucketAcl",
            UA,
            json!({ "bucket": "b", "acl": "authenticated-read" }),
        );
        assert_eq!(kinds(&e, &none), ["Policy:S3/BucketPublicAccessGranted"]);
    }

    #[test]
    fn threat_lists_flag_and_trusted_lists_silence() {
        let listed = vec!["198.51.100.0/24".to_string()];
        let threats = Intel {
            trusted: IpList::default(),
            threats: vec![ThreatList {
                name: "bad".into(),
                ranges: IpList::of(&listed),
            }],
        };
        let e = event("IAMUser", "iam.amazonaws.com", "ListUsers", UA, json!(null));
        let found = observe(&Call::of(&e).unwrap(), &threats);
        assert_eq!(
            types(&found),
            ["UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom"]
        );
        assert_eq!(
            found[0].additional_info.as_ref().unwrap()["Value"],
            r#"{"threatListName":"bad"}"#
        );
        let trusted = Intel {
            trusted: IpList::of(&listed),
            ..threats
        };
        let root = event(
            "Root",
            "iam.amazonaws.com",
            "ListUsers",
            "kali",
            json!(null),
        );
        assert!(kinds(&root, &trusted).is_empty());
    }
}
