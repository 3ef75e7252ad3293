//! Audit records in CloudTrail's event format.
//!
//! Every request produces one of these, including refused and failed ones. Parameter names
//! follow CloudTrail's convention (lower camel case of the API member names), and values of
//! secret-bearing members are replaced as CloudTrail does.

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_model::{Operation, Service, ShapeId, ShapeKind};
use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use rampart_kit::principal::{Principal, PrincipalKind};

/// CloudTrail's event format version that these records follow.
pub const EVENT_VERSION: &str = "1.08";

/// The `eventCategory` of data events (S3 object calls), which `LookupEvents` leaves out as
/// AWS does (trails deliver them when their selectors ask).
pub const DATA: &str = "Data";

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
    /// The operation's model, when it is known: members its shapes mark sensitive are hidden
    /// wherever they are, on top of the member names in [`SECRET_MEMBERS`].
    pub model: Option<(&'static Service, &'static Operation)>,
    /// The service that made the call on the caller's behalf (`secretsmanager.amazonaws.com`),
    /// recorded as `userIdentity.invokedBy`.
    pub invoked_by: Option<&'a str>,
    /// The resources of a data event (S3 object calls): `(CloudTrail type, ARN)`; `None`
    /// for a management event.
    pub data_resources: Option<&'a [(&'static str, String)]>,
}

/// Where a value sits in a service's model, when that is known.
type At = Option<(&'static Service, ShapeId)>;

/// True when a shape holds secrets: it is sensitive, or a list or map of sensitive values.
fn holds_secret(service: &Service, id: ShapeId) -> bool {
    let shape = service.shape(id);
    shape.sensitive
        || match shape.kind {
            ShapeKind::List(l) => service.shape(l.member).sensitive,
            ShapeKind::Map(m) => service.shape(m.value).sensitive,
            _ => false,
        }
}

/// Whether a member at `at` is left out of the record altogether: KMS writes no ciphertext or
/// plaintext blob into its records (`Decrypt`'s `ciphertextBlob`, `Encrypt`'s `plaintext`),
/// and STS no web identity token or SAML assertion (its sensitive strings), where other
/// services show a secret as [`HIDDEN`].
fn omitted(at: At) -> bool {
    at.is_some_and(|(service, id)| {
        let shape = service.shape(id);
        (service.name == "kms" && matches!(shape.kind, ShapeKind::Blob))
            || (service.name == "sts" && shape.sensitive && matches!(shape.kind, ShapeKind::String))
    })
}

/// The member `key` of a structure at `at`: whether its value is secret, and where it sits.
fn member_at(at: At, key: &str) -> (bool, At) {
    let Some((service, id)) = at else {
        return (false, None);
    };
    let ShapeKind::Structure(members) = service.shape(id).kind else {
        return (false, None);
    };
    match members.iter().find(|m| m.name == key) {
        Some(m) => (holds_secret(service, m.shape), Some((service, m.shape))),
        None => (false, None),
    }
}

/// Where the elements of a list at `at` sit.
fn element_at(at: At) -> At {
    let (service, id) = at?;
    match service.shape(id).kind {
        ShapeKind::List(l) => Some((service, l.member)),
        _ => None,
    }
}

/// Where the values of a map at `at` sit.
fn value_at(at: At) -> At {
    let (service, id) = at?;
    match service.shape(id).kind {
        ShapeKind::Map(m) => Some((service, m.value)),
        _ => None,
    }
}

/// Builds the CloudTrail event for one request, as JSON text. Written field by field straight
/// from the facts (no intermediate JSON tree: this runs for every request); the parameters
/// and response go through serde_json as [`cloudtrail_shape`] would shape them.
pub fn build(f: &EventFacts<'_>) -> String {
    // Sized for a typical record, so the buffer rarely grows.
    let mut out = Vec::with_capacity(768);
    build_into(&mut out, f);
    // Only UTF-8 is ever written.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the event's JSON text (UTF-8) to `out`, where the audit record is being encoded.
pub fn build_into(out: &mut Vec<u8>, f: &EventFacts<'_>) {
    let mut e = ObjectWriter::open(out);
    e.str("eventVersion", EVENT_VERSION);
    e.key("userIdentity");
    user_identity(e.out, f);
    e.str("eventTime", rfc3339_secs(&f.event_time).as_str());
    e.key("eventSource");
    match f.service {
        None => push_json_str(e.out, ""),
        Some(service) => {
            // `event_source(service)` written in place: the service, then the suffix inside
            // the closing quote.
            push_json_str(e.out, service);
            e.out.pop();
            e.out.extend_from_slice(b".amazonaws.com\"");
        }
    }
    e.str("eventName", f.operation.unwrap_or_default());
    e.str("awsRegion", f.region);
    e.str("sourceIPAddress", f.source_ip);
    e.str("userAgent", f.user_agent);
    let (input, output) = match f.model {
        Some((service, op)) => (
            op.input.map(|id| (service, id)),
            op.output.map(|id| (service, id)),
        ),
        None => (None, None),
    };
    e.shaped("requestParameters", f.request_parameters, input);
    e.shaped("responseElements", f.response_elements, output);
    if let Some((code, message)) = f.error {
        e.str("errorCode", code);
        e.str("errorMessage", message);
    }
    e.str("requestID", f.request_id);
    e.str("eventID", f.event_id);
    e.raw("readOnly", if f.read_only { "true" } else { "false" });
    if let Some(resources) = f.data_resources {
        e.key("resources");
        e.out.push(b'[');
        for (i, (kind, arn)) in resources.iter().enumerate() {
            if i > 0 {
                e.out.push(b',');
            }
            let mut r = ObjectWriter::open(e.out);
            r.str("type", kind);
            r.str("ARN", arn);
            r.close();
        }
        e.out.push(b']');
    }
    e.str("eventType", "AwsApiCall");
    e.raw(
        "managementEvent",
        if f.data_resources.is_some() {
            "false"
        } else {
            "true"
        },
    );
    if let Some(p) = f.principal.filter(|p| !p.is_anonymous()) {
        e.str("recipientAccountId", &p.account_id);
    }
    e.str(
        "eventCategory",
        if f.data_resources.is_some() {
            DATA
        } else {
            "Management"
        },
    );
    e.close();
}

/// `sts` -> `sts.amazonaws.com`.
pub fn event_source(service: &str) -> String {
    let mut out = String::with_capacity(service.len() + 14);
    out.push_str(service);
    out.push_str(".amazonaws.com");
    out
}

/// `userIdentity` of an unsigned (anonymous) S3 request, as S3 records it.
fn anonymous_identity(mut id: ObjectWriter<'_>) {
    id.str("type", PrincipalKind::Anonymous.as_str());
    id.str("principalId", "");
    id.str("accountId", ANONYMOUS_ACCOUNT);
    id.close();
}

/// `userIdentity` of `AssumeRoleWithWebIdentity`/`AssumeRoleWithSAML`, as AWS records it:
/// the provider and the token's subject, no ARN and no key.
fn federated_identity(mut id: ObjectWriter<'_>, p: &Principal) {
    id.str("type", p.kind.as_str());
    id.str("principalId", &p.user_id);
    id.str("userName", &p.name);
    id.str("identityProvider", &p.arn);
    id.close();
}

/// The `accountId` S3 records for an anonymous caller.
const ANONYMOUS_ACCOUNT: &str = "ANONYMOUS_PRINCIPAL";

/// `userIdentity`: the caller, or `Unknown` with the claimed access key id.
fn user_identity(out: &mut Vec<u8>, f: &EventFacts<'_>) {
    let mut id = ObjectWriter::open(out);
    let Some(p) = f.principal else {
        id.str("type", "Unknown");
        if let Some(akid) = f.access_key_id {
            id.str("accessKeyId", akid);
        }
        id.close();
        return;
    };
    if p.is_anonymous() {
        anonymous_identity(id);
        return;
    }
    if p.is_service() {
        // An AWS service acting on its own, as CloudTrail records its deliveries.
        id.str("type", p.kind.as_str());
        id.str("invokedBy", &p.arn);
        id.close();
        return;
    }
    if matches!(
        p.kind,
        PrincipalKind::WebIdentityUser | PrincipalKind::SamlUser
    ) {
        federated_identity(id, p);
        return;
    }
    id.str("type", p.kind.as_str());
    id.str("principalId", &p.user_id);
    id.str("arn", &p.arn);
    id.str("accountId", &p.account_id);
    id.str("accessKeyId", &p.access_key_id);
    if p.kind == PrincipalKind::User {
        id.str("userName", &p.name);
    }
    if let Some(service) = f.invoked_by {
        id.str("invokedBy", service);
    }
    if let Some(session) = &p.session {
        id.key("sessionContext");
        let mut context = ObjectWriter::open(id.out);
        context.key("attributes");
        let mut attributes = ObjectWriter::open(context.out);
        attributes.str("creationDate", rfc3339_secs(&session.issued_at).as_str());
        let mfa = session.mfa_authenticated_at.is_some();
        attributes.str("mfaAuthenticated", if mfa { "true" } else { "false" });
        attributes.close();
        context.close();
    }
    id.close();
}

/// A JSON object written member by member (keys are plain ASCII literals).
struct ObjectWriter<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> ObjectWriter<'o> {
    fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        push_json_str(self.out, value);
    }

    /// A literal (`true`, `false`).
    fn raw(&mut self, key: &str, value: &str) {
        self.key(key);
        self.out.extend_from_slice(value.as_bytes());
    }

    /// A shaped value, or `null`.
    fn shaped(&mut self, key: &str, value: Option<&Value>, at: At) {
        self.key(key);
        let written = match value {
            // Writing JSON values into a Vec cannot fail.
            Some(v) => serde_json::to_writer(&mut *self.out, &Shaped(v, at)).is_ok(),
            None => false,
        };
        if !written {
            self.out.extend_from_slice(b"null");
        }
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// Appends `s` as a JSON string: copied whole when nothing needs escaping (the usual case),
/// otherwise escaped by serde_json, so the output is exactly serde_json's.
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // No early exit: a plain fold over the bytes vectorizes.
    let special = s.bytes().fold(false, |acc, b| {
        acc | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !special {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else if serde_json::to_writer(&mut *out, s).is_err() {
        // Unreachable for a Vec; keep the document well formed regardless.
        out.extend_from_slice(b"\"\"");
    }
}

/// A time as RFC 3339 in whole seconds with `Z` (`2023-11-14T22:13:20Z`), as
/// `to_rfc3339_opts(SecondsFormat::Secs, true)` writes it; on the stack for years 0..=9999.
enum Rfc3339Secs {
    Inline([u8; 20]),
    Other(String),
}

impl Rfc3339Secs {
    fn as_str(&self) -> &str {
        match self {
            // Only ASCII digits and separators are written.
            Rfc3339Secs::Inline(b) => std::str::from_utf8(b).unwrap_or_default(),
            Rfc3339Secs::Other(s) => s,
        }
    }
}

fn rfc3339_secs(t: &DateTime<Utc>) -> Rfc3339Secs {
    use chrono::{Datelike, Timelike};
    let year = match u32::try_from(t.year()) {
        Ok(y) if y <= 9999 => y,
        _ => return Rfc3339Secs::Other(t.to_rfc3339_opts(SecondsFormat::Secs, true)),
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
    Rfc3339Secs::Inline(buf)
}

/// A value as [`cloudtrail_shape_at`] would make it, serialized without building the new
/// tree.
struct Shaped<'a>(&'a Value, At);

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
                    return cloudtrail_shape_at(self.0, self.1).serialize(s);
                }
                let mut out = s.serialize_map(None)?;
                for ((key, v), name) in map.iter().zip(&names) {
                    let (secret, at) = member_at(self.1, key);
                    if omitted(at) {
                        continue;
                    }
                    if secret || SECRET_MEMBERS.contains(&name.as_str()) {
                        out.serialize_entry(name, HIDDEN)?;
                    } else {
                        out.serialize_entry(name, &Shaped(v, at.or_else(|| value_at(self.1))))?;
                    }
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                let at = element_at(self.1);
                for item in items {
                    out.serialize_element(&Shaped(item, at))?;
                }
                out.end()
            }
            other => other.serialize(s),
        }
    }
}

/// Renames members to CloudTrail's lower camel case and hides secret values, recursively.
pub fn cloudtrail_shape(value: &Value) -> Value {
    cloudtrail_shape_at(value, None)
}

/// [`cloudtrail_shape`] for a value of a known shape: members the model marks sensitive are
/// hidden too.
fn cloudtrail_shape_at(value: &Value, at: At) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !omitted(member_at(at, k).1))
                .map(|(k, v)| {
                    let name = lower_camel(k);
                    let (secret, member) = member_at(at, k);
                    let v = if secret || SECRET_MEMBERS.contains(&name.as_str()) {
                        json!(HIDDEN)
                    } else {
                        cloudtrail_shape_at(v, member.or_else(|| value_at(at)))
                    };
                    (name, v)
                })
                .collect(),
        ),
        Value::Array(items) => {
            let at = element_at(at);
            Value::Array(items.iter().map(|i| cloudtrail_shape_at(i, at)).collect())
        }
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
    /// Every member the AWS models mark sensitive (directly, or as a list or map of sensitive
    /// values) is hidden when the value's shape is known, in both the streaming writer and
    /// the tree-building reference, whatever its name.
    #[test]
    fn every_sensitive_member_of_the_models_is_hidden() {
        use rampart_model::ShapeKind;
        let mut checked = 0;
        for service in rampart_model::SERVICES {
            for (id, shape) in service.shapes.iter().enumerate() {
                let ShapeKind::Structure(members) = shape.kind else {
                    continue;
                };
                let at = Some((service, id as rampart_model::ShapeId));
                for m in members
                    .iter()
                    .filter(|m| super::holds_secret(service, m.shape))
                {
                    let value = serde_json::json!({ m.name: "secret", "Other": "shown" });
                    let name = super::lower_camel(m.name);
                    let tree = super::cloudtrail_shape_at(&value, at);
                    let expected = if super::omitted(Some((service, m.shape))) {
                        serde_json::Value::Null
                    } else {
                        serde_json::json!(super::HIDDEN)
                    };
                    assert_eq!(
                        tree[&name], expected,
                        "{}: {}.{}",
                        service.name, shape.name, m.name
                    );
                    let streamed: serde_json::Value = serde_json::from_str(
                        &serde_json::to_string(&super::Shaped(&value, at)).unwrap(),
                    )
                    .unwrap();
                    assert_eq!(streamed, tree);
                    checked += 1;
                }
            }
        }
        assert!(checked > 50, "only {checked} sensitive members found");
    }

    /// KMS records leave ciphertext and plaintext out, as AWS's do, and keep the rest.
    #[test]
    fn kms_records_leave_blobs_out() {
        let kms = rampart_model::service("kms").unwrap();
        let op = kms.operation("Decrypt").unwrap();
        let input = serde_json::json!({
            "CiphertextBlob": "AQIDBA==",
            "KeyId": "alias/app",
            "EncryptionContext": {"app": "x"},
        });
        let at = op.input.map(|id| (kms, id));
        let tree = super::cloudtrail_shape_at(&input, at);
        assert_eq!(
            tree,
            serde_json::json!({"keyId": "alias/app", "encryptionContext": {"app": "x"}})
        );
        let streamed: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&super::Shaped(&input, at)).unwrap())
                .unwrap();
        assert_eq!(streamed, tree);
    }

    /// STS records leave web identity tokens and SAML assertions out, as AWS's do.
    #[test]
    fn sts_records_leave_tokens_and_assertions_out() {
        let sts = rampart_model::service("sts").unwrap();
        for (op, secret) in [
            ("AssumeRoleWithWebIdentity", "WebIdentityToken"),
            ("AssumeRoleWithSAML", "SAMLAssertion"),
        ] {
            let input = serde_json::json!({
                "RoleArn": "arn:aws:iam::111122223333:role/r",
                secret: "eyJhbGciOi...",
            });
            let at = sts.operation(op).unwrap().input.map(|id| (sts, id));
            let tree = super::cloudtrail_shape_at(&input, at);
            assert_eq!(
                tree,
                serde_json::json!({"roleArn": "arn:aws:iam::111122223333:role/r"})
            );
            let streamed: serde_json::Value =
                serde_json::from_str(&serde_json::to_string(&super::Shaped(&input, at)).unwrap())
                    .unwrap();
            assert_eq!(streamed, tree);
        }
    }

    /// The security module's services record under AWS's event sources (their signing names).
    #[test]
    fn event_sources_of_the_security_module() {
        for (model, source) in [
            ("guardduty", "guardduty.amazonaws.com"),
            ("detective", "detective.amazonaws.com"),
            ("securityhub", "securityhub.amazonaws.com"),
            ("accessanalyzer", "access-analyzer.amazonaws.com"),
            ("inspector2", "inspector2.amazonaws.com"),
            ("macie2", "macie2.amazonaws.com"),
            ("artifact", "artifact.amazonaws.com"),
            ("config", "config.amazonaws.com"),
            ("wafv2", "wafv2.amazonaws.com"),
            ("shield", "shield.amazonaws.com"),
            ("events", "events.amazonaws.com"),
            ("elbv2", "elasticloadbalancing.amazonaws.com"),
            ("acm", "acm.amazonaws.com"),
            ("acm-pca", "acm-pca.amazonaws.com"),
        ] {
            let service = rampart_model::service(model).unwrap();
            assert_eq!(super::event_source(service.signing_name), source);
        }
    }

    /// KMS `Sign`'s message (a blob) is left out and an account's email is hidden, by their
    /// shapes; members of the same names elsewhere (an OU's `Name`) are shown.
    #[test]
    fn sensitivity_follows_the_shape_not_the_name() {
        let kms = rampart_model::service("kms").unwrap();
        let orgs = rampart_model::service("organizations").unwrap();
        let at = |svc: &'static rampart_model::Service, op: &str| {
            let op = svc.operation(op).unwrap();
            Some((svc, op.input.unwrap()))
        };
        let sign = serde_json::json!({"KeyId": "alias/k", "Message": "c2VjcmV0", "SigningAlgorithm": "ECDSA_SHA_256"});
        let shaped = super::cloudtrail_shape_at(&sign, at(kms, "Sign"));
        assert!(shaped.get("message").is_none(), "{shaped}");
        assert_eq!(shaped["keyId"], "alias/k");
        let account = serde_json::json!({"Email": "a@example.com", "AccountName": "prod"});
        let shaped = super::cloudtrail_shape_at(&account, at(orgs, "CreateAccount"));
        assert_eq!(shaped["email"], super::HIDDEN);
        assert_eq!(shaped["accountName"], super::HIDDEN);
        let ou = serde_json::json!({"ParentId": "r-1", "Name": "prod"});
        let shaped = super::cloudtrail_shape_at(&ou, at(orgs, "CreateOrganizationalUnit"));
        assert_eq!(shaped["name"], "prod");
        // Unknown shapes still hide the known secret names.
        assert_eq!(
            super::cloudtrail_shape(&serde_json::json!({"Password": "p"}))["password"],
            super::HIDDEN
        );
    }

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
            if p.is_anonymous() {
                id.insert("type".into(), json!("AnonymousUser"));
                id.insert("principalId".into(), json!(""));
                id.insert("accountId".into(), json!("ANONYMOUS_PRINCIPAL"));
                return Value::Object(id);
            }
            id.insert("type".into(), json!(p.kind.as_str()));
            id.insert("principalId".into(), json!(p.user_id));
            id.insert("arn".into(), json!(p.arn));
            id.insert("accountId".into(), json!(p.account_id));
            id.insert("accessKeyId".into(), json!(p.access_key_id));
            if p.kind == PrincipalKind::User {
                id.insert("userName".into(), json!(p.name));
            }
            if let Some(service) = f.invoked_by {
                id.insert("invokedBy".into(), json!(service));
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
        if let Some(p) = f.principal.filter(|p| !p.is_anonymous()) {
            e.insert("recipientAccountId".into(), json!(p.account_id));
        }
        e.insert("eventCategory".into(), json!("Management"));
        serde_json::to_string(&Value::Object(e)).unwrap()
    }

    #[test]
    fn build_matches_the_tree_building_reference() {
        use rampart_kit::principal::{SessionContext, SessionInfo};
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        let far = DateTime::from_timestamp(253_402_300_800 + 86_400 * 40, 0).unwrap();
        let early = DateTime::from_timestamp(-62_198_755_200 - 86_400 * 400, 0).unwrap();
        let root = Principal::root(rampart_kit::Partition::Aws, "111122223333", "AKIAROOT");
        let user = Principal {
            account_id: "111122223333".into(),
            kind: PrincipalKind::User,
            arn: "arn:aws:iam::111122223333:user/a\"b".into(),
            user_id: "AIDAEXAMPLE".into(),
            name: "a\"b".into(),
            access_key_id: "AKIAUSER".into(),
            session: None,
            source_arn: None,
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
            source_arn: None,
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
        let anonymous = Principal::anonymous();
        let principals = [
            None,
            Some(&anonymous),
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
                            model: None,
                            invoked_by: error.is_none().then_some("secretsmanager.amazonaws.com"),
                            data_resources: None,
                        };
                        assert_eq!(build(&facts), reference_build(&facts), "{facts:?}");
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 288);
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
            model: None,
            invoked_by: None,
            data_resources: None,
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
