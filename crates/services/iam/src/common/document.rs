//! Policy documents: AWS's size quotas (whitespace excluded), validation by the policy engine
//! and the URL encoding IAM's responses use.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rampart_policy::{Policy, PolicyKind};

use super::{IamError, Res};

/// Managed policy documents: 6,144 characters.
pub const MANAGED_POLICY_SIZE: usize = 6_144;
/// User inline policies (all of a user's together in AWS; per document here): 2,048.
pub const USER_POLICY_SIZE: usize = 2_048;
/// Group inline policies: 5,120.
pub const GROUP_POLICY_SIZE: usize = 5_120;
/// Role inline policies: 10,240.
pub const ROLE_POLICY_SIZE: usize = 10_240;

/// Characters AWS counts toward a policy's size: everything but whitespace.
pub fn counted_size(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// Checks a document against its quota (`LimitExceeded` naming it, e.g. `PolicySize`) and
/// validates it as `kind` (`MalformedPolicyDocument` with the engine's message).
pub fn validate(text: &str, kind: PolicyKind, quota: &str, limit: usize) -> Res<()> {
    if counted_size(text) > limit {
        return Err(
            IamError::LimitExceeded(format!("Cannot exceed quota for {quota}: {limit}")).into(),
        );
    }
    parse(text, kind)?;
    Ok(())
}

/// Parses and validates a document as `kind` (`MalformedPolicyDocument` with the engine's
/// message).
pub fn parse(text: &str, kind: PolicyKind) -> Res<Policy> {
    Policy::parse(text, kind).map_err(|e| IamError::MalformedPolicyDocument(e.to_string()).into())
}

/// An identity policy document within `limit`.
pub fn validate_identity(text: &str, quota: &str, limit: usize) -> Res<()> {
    validate(text, PolicyKind::Identity, quota, limit)
}

/// RFC 3986 unreserved characters stay; everything else is percent-encoded.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A document as IAM returns it (`PolicyDocument`, `Document`): URL-encoded.
pub fn url_encode(text: &str) -> String {
    utf8_percent_encode(text, ENCODE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;

    #[test]
    fn whitespace_does_not_count() {
        assert_eq!(counted_size("{ \"a\" :\n 1 }"), 7);
    }

    #[test]
    fn size_and_syntax() {
        assert!(validate_identity(OK, "PolicySize", MANAGED_POLICY_SIZE).is_ok());
        let e = validate_identity(OK, "UserPolicySize", 10).unwrap_err();
        assert_eq!(e.code, "LimitExceeded");
        assert_eq!(e.message, "Cannot exceed quota for UserPolicySize: 10");
        let e = validate_identity("{\"Statement\": 3}", "PolicySize", 100).unwrap_err();
        assert_eq!(e.code, "MalformedPolicyDocument");
    }

    #[test]
    fn encodes_like_aws() {
        assert_eq!(
            url_encode("{\"a\": \"b/c\"}"),
            "%7B%22a%22%3A%20%22b%2Fc%22%7D"
        );
    }
}
