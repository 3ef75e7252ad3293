//! Policy documents: AWS's size quotas (whitespace excluded), validation by IAM's grammar
//! and the URL encoding IAM's responses use.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rampart_policy::iam_grammar::{self, IamDocument};
use rampart_policy::{Partition, Policy, PolicyError, PolicyKind};

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
/// validates it as `doc` in `partition` (`MalformedPolicyDocument` with IAM's message).
pub fn validate(
    partition: Partition,
    text: &str,
    doc: IamDocument,
    quota: &str,
    limit: usize,
) -> Res<()> {
    if counted_size(text) > limit {
        return Err(
            IamError::LimitExceeded(format!("Cannot exceed quota for {quota}: {limit}")).into(),
        );
    }
    parse(partition, text, doc)?;
    Ok(())
}

/// Parses a document written as `doc` in `partition`. A refusal carries IAM's own message and nothing else
/// (IAM's grammar decides); the engine's located problems stay with `rampart policy validate`.
pub fn parse(partition: Partition, text: &str, doc: IamDocument) -> Res<Policy> {
    iam_grammar::check(text, doc, partition).map_err(IamError::MalformedPolicyDocument)?;
    let kind = match doc {
        IamDocument::Trust => PolicyKind::Trust,
        IamDocument::Managed | IamDocument::Inline => PolicyKind::Identity,
    };
    Policy::parse(text, kind)
        .map_err(|e| IamError::MalformedPolicyDocument(engine_message(&e)).into())
}

/// IAM's wording for a document its grammar passes but the engine refuses: an invalid
/// principal names it as IAM does; anything else is a syntax error.
fn engine_message(e: &PolicyError) -> String {
    e.problems
        .iter()
        .map(|p| p.message.as_str())
        .find(|m| m.starts_with("Invalid principal in policy"))
        .unwrap_or(iam_grammar::SYNTAX)
        .to_string()
}

/// A customer managed policy document (`CreatePolicy`, `CreatePolicyVersion`).
pub fn validate_managed(partition: Partition, text: &str) -> Res<()> {
    validate(
        partition,
        text,
        IamDocument::Managed,
        "PolicySize",
        MANAGED_POLICY_SIZE,
    )
}

/// An inline policy document within `limit`.
pub fn validate_inline(partition: Partition, text: &str, quota: &str, limit: usize) -> Res<()> {
    validate(partition, text, IamDocument::Inline, quota, limit)
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
        assert!(validate_managed(Partition::Aws, OK).is_ok());
        let e = validate_inline(Partition::Aws, OK, "UserPolicySize", 10).unwrap_err();
        assert_eq!(e.code, "LimitExceeded");
        assert_eq!(e.message, "Cannot exceed quota for UserPolicySize: 10");
        let e =
            validate_inline(Partition::Aws, "{\"Statement\": 3}", "PolicySize", 100).unwrap_err();
        assert_eq!(e.code, "MalformedPolicyDocument");
        assert_eq!(e.message, "Syntax errors in policy.");
    }

    #[test]
    fn encodes_like_aws() {
        assert_eq!(
            url_encode("{\"a\": \"b/c\"}"),
            "%7B%22a%22%3A%20%22b%2Fc%22%7D"
        );
    }
}
