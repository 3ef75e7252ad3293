//! Audit records in CloudTrail's event format.
//!
//! Every request produces one of these, including refused and failed ones. Parameter names
//! follow CloudTrail's convention (lower camel case of the API member names), and values of
//! secret-bearing members are replaced as CloudTrail does.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::principal::{Principal, PrincipalKind};

/// CloudTrail's event format version that these records follow.
pub const EVENT_VERSION: &str = "1.08";

/// What CloudTrail writes in place of a secret value.
pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// Member names (lower camel case) whose values are never recorded.
const SECRET_MEMBERS: &[&str] = &[
    "password",
    "oldPassword",
    "newPassword",
    "secretAccessKey",
    "sessionToken",
    "plaintext",
    "secretString",
    "secretBinary",
    "privateKeyPlaintext",
    "authenticationCode1",
    "authenticationCode2",
    "tokenCode",
    "base32StringSeed",
    "qRCodePNG",
    // `QRCodePNG` as `lower_camel` spells it: the image encodes the MFA seed.
    "qrCodePng",
    "webIdentityToken",
    "sAMLAssertion",
    "samlAssertion",
    "keyMaterial",
    "importToken",
];

/// The facts about one request that its audit record holds.
#[derive(Debug, Clone)]
pub struct EventFacts<'a> {
    /// The request id returned to the client.
    pub request_id: &'a str,
    /// A fresh id for this record.
    pub event_id: &'a str,
    /// When the request arrived.
    pub event_time: DateTime<Utc>,
    /// The signing name of the service (`sts`, `iam`, ...), or `None` if routing failed.
    pub service: Option<&'a str>,
    /// The operation, or `None` if it could not be read.
    pub operation: Option<&'a str>,
    /// The region the request was signed for.
    pub region: &'a str,
    /// The client's address.
    pub source_ip: &'a str,
    /// The client's `User-Agent`.
    pub user_agent: &'a str,
    /// The authenticated caller, if authentication succeeded.
    pub principal: Option<&'a Principal>,
    /// The access key id the request claimed, even if authentication failed.
    pub access_key_id: Option<&'a str>,
    /// The decoded input (AWS member names), if decoding succeeded.
    pub request_parameters: Option<&'a Value>,
    /// The output of a successful mutating call.
    pub response_elements: Option<&'a Value>,
    /// The error code and message of a failed call.
    pub error: Option<(&'a str, &'a str)>,
    /// Whether the operation only reads.
    pub read_only: bool,
}

/// The CloudTrail event of one request, borrowed from its facts and serialized in one pass
/// (no intermediate JSON tree: this runs for every request).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    event_version: &'static str,
    user_identity: Value,
    event_time: String,
    event_source: String,
    event_name: &'a str,
    aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: &'a str,
    user_agent: &'a str,
    request_parameters: Value,
    response_elements: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
    #[serde(rename = "requestID")]
    request_id: &'a str,
    #[serde(rename = "eventID")]
    event_id: &'a str,
    read_only: bool,
    event_type: &'static str,
    management_event: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient_account_id: Option<&'a str>,
    event_category: &'static str,
}

/// Builds the CloudTrail event for one request, as JSON text.
pub fn build(f: &EventFacts<'_>) -> String {
    let event = Event {
        event_version: EVENT_VERSION,
        user_identity: user_identity(f),
        event_time: f.event_time.to_rfc3339_opts(SecondsFormat::Secs, true),
        event_source: f.service.map(event_source).unwrap_or_default(),
        event_name: f.operation.unwrap_or_default(),
        aws_region: f.region,
        source_ip_address: f.source_ip,
        user_agent: f.user_agent,
        request_parameters: f.request_parameters.map_or(Value::Null, cloudtrail_shape),
        response_elements: f.response_elements.map_or(Value::Null, cloudtrail_shape),
        error_code: f.error.map(|(code, _)| code),
        error_message: f.error.map(|(_, message)| message),
        request_id: f.request_id,
        event_id: f.event_id,
        read_only: f.read_only,
        event_type: "AwsApiCall",
        management_event: true,
        recipient_account_id: f.principal.map(|p| p.account_id.as_str()),
        event_category: "Management",
    };
    // Serializing borrowed strings, bools and JSON values cannot fail.
    serde_json::to_string(&event).unwrap_or_default()
}

/// `sts` -> `sts.amazonaws.com`.
pub fn event_source(service: &str) -> String {
    format!("{service}.amazonaws.com")
}

fn user_identity(f: &EventFacts<'_>) -> Value {
    let Some(p) = f.principal else {
        let mut unknown = Map::new();
        unknown.insert("type".into(), json!("Unknown"));
        if let Some(akid) = f.access_key_id {
            unknown.insert("accessKeyId".into(), json!(akid));
        }
        return Value::Object(unknown);
    };
    let mut id = Map::new();
    id.insert("type".into(), json!(p.kind.as_str()));
    id.insert("principalId".into(), json!(p.user_id));
    id.insert("arn".into(), json!(p.arn));
    id.insert("accountId".into(), json!(p.account_id));
    id.insert("accessKeyId".into(), json!(p.access_key_id));
    if p.kind == PrincipalKind::User {
        id.insert("userName".into(), json!(p.name));
    }
    if let Some(session) = &p.session {
        id.insert(
            "sessionContext".into(),
            json!({
                "attributes": {
                    "creationDate": session.issued_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "mfaAuthenticated": session.mfa_authenticated_at.is_some().to_string(),
                }
            }),
        );
    }
    Value::Object(id)
}

/// Renames members to CloudTrail's lower camel case and hides secret values, recursively.
pub fn cloudtrail_shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let name = lower_camel(k);
                    let v = if SECRET_MEMBERS.contains(&name.as_str()) {
                        json!(HIDDEN)
                    } else {
                        cloudtrail_shape(v)
                    };
                    (name, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(cloudtrail_shape).collect()),
        other => other.clone(),
    }
}

/// `UserName` -> `userName`, `PolicyARN` -> `policyArn`, `ARN` -> `arn`.
fn lower_camel(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len());
    for (i, c) in chars.iter().enumerate() {
        let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
        // Lower the first letter, and the tail of an acronym unless it starts the next word.
        if i == 0 || (c.is_ascii_uppercase() && prev_upper && !next_lower) {
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_cloudtrail() {
        assert_eq!(lower_camel("UserName"), "userName");
        assert_eq!(lower_camel("PolicyARN"), "policyArn");
        assert_eq!(lower_camel("ARN"), "arn");
        assert_eq!(lower_camel("KeyId"), "keyId");
    }

    #[test]
    fn secrets_are_hidden() {
        let v = json!({"UserName": "bob", "Password": "hunter2", "Tags": [{"Key": "k"}]});
        let shaped = cloudtrail_shape(&v);
        assert_eq!(shaped["password"], HIDDEN);
        assert_eq!(shaped["userName"], "bob");
        assert_eq!(shaped["tags"][0]["key"], "k");
    }

    #[test]
    fn refused_request_still_has_identity_and_error() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let facts = EventFacts {
            request_id: "req",
            event_id: "evt",
            event_time: t,
            service: Some("sts"),
            operation: Some("GetCallerIdentity"),
            region: "us-east-1",
            source_ip: "127.0.0.1",
            user_agent: "ua",
            principal: None,
            access_key_id: Some("AKIAEXAMPLE"),
            request_parameters: None,
            response_elements: None,
            error: Some(("InvalidClientTokenId", "bad")),
            read_only: true,
        };
        let e: Value = serde_json::from_str(&build(&facts)).unwrap();
        assert_eq!(e["userIdentity"]["accessKeyId"], "AKIAEXAMPLE");
        assert_eq!(e["requestID"], "req");
        assert_eq!(e["sourceIPAddress"], "127.0.0.1");
        assert!(e.get("recipientAccountId").is_none());
        assert_eq!(e["errorCode"], "InvalidClientTokenId");
        assert_eq!(e["eventSource"], "sts.amazonaws.com");
        assert_eq!(e["eventTime"], "2023-11-14T22:13:20Z");
    }
}
