//! Audit records in CloudTrail's event format.
//!
//! Every request produces one of these, including refused and failed ones. Parameter names
//! follow CloudTrail's convention (lower camel case of the API member names), and values of
//! secret-bearing members are replaced as CloudTrail does.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use serde_json::{json, Value};

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
    user_identity: UserIdentity<'a>,
    event_time: Rfc3339Secs,
    event_source: EventSource<'a>,
    event_name: &'a str,
    aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: &'a str,
    user_agent: &'a str,
    request_parameters: Option<Shaped<'a>>,
    response_elements: Option<Shaped<'a>>,
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
        event_time: Rfc3339Secs(f.event_time),
        event_source: EventSource(f.service),
        event_name: f.operation.unwrap_or_default(),
        aws_region: f.region,
        source_ip_address: f.source_ip,
        user_agent: f.user_agent,
        request_parameters: f.request_parameters.map(Shaped),
        response_elements: f.response_elements.map(Shaped),
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
    // Sized for a typical record, so the buffer rarely grows.
    let mut out = Vec::with_capacity(1024);
    // Serializing borrowed strings, bools and JSON values cannot fail.
    if serde_json::to_writer(&mut out, &event).is_err() {
        return String::new();
    }
    // serde_json writes UTF-8 only.
    String::from_utf8(out).unwrap_or_default()
}

/// `sts` -> `sts.amazonaws.com`.
pub fn event_source(service: &str) -> String {
    format!("{service}.amazonaws.com")
}

/// `eventSource`: `{service}.amazonaws.com`, or empty when routing failed.
struct EventSource<'a>(Option<&'a str>);

impl Serialize for EventSource<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            None => s.serialize_str(""),
            Some(service) => s.collect_str(&format_args!("{service}.amazonaws.com")),
        }
    }
}

/// A time as RFC 3339 in whole seconds with `Z` (`2023-11-14T22:13:20Z`), formatted on the
/// stack for years 0..=9999.
struct Rfc3339Secs(DateTime<Utc>);

impl Serialize for Rfc3339Secs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use chrono::{Datelike, Timelike};
        let t = &self.0;
        let year = match u32::try_from(t.year()) {
            Ok(y) if y <= 9999 => y,
            _ => return s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true)),
        };
        let mut buf = *b"0000-00-00T00:00:00Z";
        // A leap second (nanoseconds past 1e9) is written as second 60, as chrono does.
        let second = t.second() + u32::from(t.nanosecond() >= 1_000_000_000);
        let fields = [
            (0, year, 4),
            (5, t.month(), 2),
            (8, t.day(), 2),
            (11, t.hour(), 2),
            (14, t.minute(), 2),
            (17, second, 2),
        ];
        for (at, value, width) in fields {
            let mut v = value;
            for slot in buf.iter_mut().skip(at).take(width).rev() {
                *slot = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        s.serialize_str(std::str::from_utf8(&buf).unwrap_or_default())
    }
}

/// `userIdentity`: the caller, or `Unknown` with the claimed access key id.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_context: Option<SessionContextJson>,
}

#[derive(Serialize)]
struct SessionContextJson {
    attributes: SessionAttributes,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionAttributes {
    creation_date: Rfc3339Secs,
    mfa_authenticated: &'static str,
}

fn user_identity<'a>(f: &EventFacts<'a>) -> UserIdentity<'a> {
    let Some(p) = f.principal else {
        return UserIdentity {
            kind: "Unknown",
            principal_id: None,
            arn: None,
            account_id: None,
            access_key_id: f.access_key_id,
            user_name: None,
            session_context: None,
        };
    };
    UserIdentity {
        kind: p.kind.as_str(),
        principal_id: Some(&p.user_id),
        arn: Some(&p.arn),
        account_id: Some(&p.account_id),
        access_key_id: Some(&p.access_key_id),
        user_name: (p.kind == PrincipalKind::User).then_some(p.name.as_str()),
        session_context: p.session.as_ref().map(|session| SessionContextJson {
            attributes: SessionAttributes {
                creation_date: Rfc3339Secs(session.issued_at),
                mfa_authenticated: if session.mfa_authenticated_at.is_some() {
                    "true"
                } else {
                    "false"
                },
            },
        }),
    }
}

/// A value as [`cloudtrail_shape`] would make it, serialized without building the new tree.
struct Shaped<'a>(&'a Value);

impl Serialize for Shaped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Object(map) => {
                let names: Vec<String> = map.keys().map(|k| lower_camel(k)).collect();
                // Two members with the same CloudTrail name would collapse into one entry;
                // leave that rare case to the tree-building path.
                let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
                sorted.sort_unstable();
                if sorted.windows(2).any(|w| w.first() == w.get(1)) {
                    return cloudtrail_shape(self.0).serialize(s);
                }
                let mut out = s.serialize_map(Some(map.len()))?;
                for (name, v) in names.iter().zip(map.values()) {
                    if SECRET_MEMBERS.contains(&name.as_str()) {
                        out.serialize_entry(name, HIDDEN)?;
                    } else {
                        out.serialize_entry(name, &Shaped(v))?;
                    }
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Shaped(item))?;
                }
                out.end()
            }
            other => other.serialize(s),
        }
    }
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
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    let mut prev_upper = false;
    let mut first = true;
    while let Some(c) = chars.next() {
        let next_lower = chars.peek().is_some_and(|n| n.is_ascii_lowercase());
        // Lower the first letter, and the tail of an acronym unless it starts the next word.
        if first || (c.is_ascii_uppercase() && prev_upper && !next_lower) {
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
        prev_upper = c.is_ascii_uppercase();
        first = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    /// The tree-building implementation `build` replaced, kept as the oracle for its output.
    fn reference_build(f: &EventFacts<'_>) -> String {
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
        fn lower_camel_chars(name: &str) -> String {
            let chars: Vec<char> = name.chars().collect();
            let mut out = String::with_capacity(name.len());
            for (i, c) in chars.iter().enumerate() {
                let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
                if i == 0 || (c.is_ascii_uppercase() && prev_upper && !next_lower) {
                    out.push(c.to_ascii_lowercase());
                } else {
                    out.push(*c);
                }
            }
            out
        }
        fn shape(value: &Value) -> Value {
            match value {
                Value::Object(map) => Value::Object(
                    map.iter()
                        .map(|(k, v)| {
                            let name = lower_camel_chars(k);
                            let v = if SECRET_MEMBERS.contains(&name.as_str()) {
                                json!(HIDDEN)
                            } else {
                                shape(v)
                            };
                            (name, v)
                        })
                        .collect(),
                ),
                Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
                other => other.clone(),
            }
        }
        let mut e = Map::new();
        e.insert("eventVersion".into(), json!(EVENT_VERSION));
        e.insert("userIdentity".into(), user_identity(f));
        e.insert(
            "eventTime".into(),
            json!(f.event_time.to_rfc3339_opts(SecondsFormat::Secs, true)),
        );
        e.insert(
            "eventSource".into(),
            json!(f.service.map(event_source).unwrap_or_default()),
        );
        e.insert("eventName".into(), json!(f.operation.unwrap_or_default()));
        e.insert("awsRegion".into(), json!(f.region));
        e.insert("sourceIPAddress".into(), json!(f.source_ip));
        e.insert("userAgent".into(), json!(f.user_agent));
        e.insert(
            "requestParameters".into(),
            f.request_parameters.map_or(Value::Null, shape),
        );
        e.insert(
            "responseElements".into(),
            f.response_elements.map_or(Value::Null, shape),
        );
        if let Some((code, message)) = f.error {
            e.insert("errorCode".into(), json!(code));
            e.insert("errorMessage".into(), json!(message));
        }
        e.insert("requestID".into(), json!(f.request_id));
        e.insert("eventID".into(), json!(f.event_id));
        e.insert("readOnly".into(), json!(f.read_only));
        e.insert("eventType".into(), json!("AwsApiCall"));
        e.insert("managementEvent".into(), json!(true));
        if let Some(p) = f.principal {
            e.insert("recipientAccountId".into(), json!(p.account_id));
        }
        e.insert("eventCategory".into(), json!("Management"));
        serde_json::to_string(&Value::Object(e)).unwrap()
    }

    #[test]
    fn build_matches_the_tree_building_reference() {
        use crate::principal::{SessionContext, SessionInfo};
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        let far = DateTime::from_timestamp(253_402_300_800 + 86_400 * 40, 0).unwrap();
        let early = DateTime::from_timestamp(-62_198_755_200 - 86_400 * 400, 0).unwrap();
        let root = Principal::root("111122223333", "AKIAROOT");
        let user = Principal {
            account_id: "111122223333".into(),
            kind: PrincipalKind::User,
            arn: "arn:aws:iam::111122223333:user/a\"b".into(),
            user_id: "AIDAEXAMPLE".into(),
            name: "a\"b".into(),
            access_key_id: "AKIAUSER".into(),
            session: None,
        };
        let session = |mfa: bool| Principal {
            account_id: "111122223333".into(),
            kind: PrincipalKind::AssumedRole,
            arn: "arn:aws:sts::111122223333:assumed-role/R/s".into(),
            user_id: "AROAEXAMPLE:s".into(),
            name: "s".into(),
            access_key_id: "ASIAEXAMPLE".into(),
            session: Some(SessionInfo {
                issued_at: t,
                expires_at: t,
                mfa_authenticated_at: mfa.then_some(t),
                context: SessionContext::default(),
            }),
        };
        let (with_mfa, without_mfa) = (session(true), session(false));
        let input = json!({
            "UserName": "bob\u{1}\u{7f}é\\",
            "Password": "hunter2",
            "PolicyARN": "arn:aws:iam::aws:policy/X",
            "QRCodePNG": "x",
            "Tags": [{"Key": "k", "Value": "v"}, {"Key": "k2", "Value": null}],
            "MaxItems": 10,
            "Ratio": 0.25,
            "Enabled": false,
            "Nested": {"SAMLAssertion": "s", "ARN": ["a", 1, {"KeyId": "k"}]},
            "ÉTrange": {"AbcDEFGhi": 1}
        });
        let colliding = json!({"UserName": "a", "userName": "b", "Other": 1});
        let output = json!({"User": {"UserName": "bob", "CreateDate": 1_700_000_000}});
        let empty = json!({});
        let principals = [
            None,
            Some(&root),
            Some(&user),
            Some(&with_mfa),
            Some(&without_mfa),
        ];
        let params = [None, Some(&empty), Some(&input), Some(&colliding)];
        let mut cases = 0;
        for principal in principals {
            for request_parameters in params {
                for (response_elements, error) in [
                    (None, None),
                    (Some(&output), None),
                    (
                        None,
                        Some(("AccessDenied", "User: x is \"not\" <authorized>")),
                    ),
                ] {
                    for (event_time, service) in [
                        (t, Some("sts")),
                        (leap, Some("iam")),
                        (far, None),
                        (early, Some("kms")),
                    ] {
                        let facts = EventFacts {
                            request_id: "req-1",
                            event_id: "evt-1",
                            event_time,
                            service,
                            operation: service.map(|_| "GetCallerIdentity"),
                            region: "eu-west-1",
                            source_ip: "127.0.0.1",
                            user_agent: "aws-cli/2 \t\n",
                            principal,
                            access_key_id: Some("AKIACLAIMED"),
                            request_parameters,
                            response_elements,
                            error,
                            read_only: error.is_none(),
                        };
                        assert_eq!(build(&facts), reference_build(&facts), "{facts:?}");
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 240);
    }

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
