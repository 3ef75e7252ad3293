//! SigV4 errors, named after the AWS error codes they are rendered as.
//!
//! `InvalidClientTokenId` and `ExpiredToken` are not raised here: the server raises them after it
//! has looked the access key / session token up.

use thiserror::Error;

/// Why a request failed SigV4 authentication. `Display` gives AWS's message text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SigV4Error {
    /// No `Authorization` header and no presigned query parameters (AWS: 403).
    #[error("Request is missing Authentication Token")]
    MissingAuthenticationToken,

    /// The signature parts are missing or malformed (AWS: 400 for the query protocols).
    #[error("{message}")]
    IncompleteSignature {
        /// AWS's message text, e.g. "Authorization header requires 'Credential' parameter. ...".
        message: String,
    },

    /// The signature does not verify, or the request time is outside the clock window
    /// (AWS answers clock skew with this code too; see [`Mismatch`]) (AWS: 403).
    #[error("{0}")]
    SignatureDoesNotMatch(Mismatch),

    /// A presigned URL used after `X-Amz-Date + X-Amz-Expires` (AWS: 400).
    #[error("Request has expired.")]
    RequestExpired {
        /// The request's `X-Amz-Date`, ISO 8601 basic format.
        signed_at: String,
        /// The `X-Amz-Expires` value, seconds.
        expires_secs: u32,
    },

    /// `x-amz-content-sha256` names a hash that is not the body's (AWS: 400).
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    XAmzContentSHA256Mismatch,

    /// A malformed argument such as an unknown `x-amz-content-sha256` form (AWS: 400).
    #[error("{message}")]
    InvalidArgument {
        /// Human readable reason.
        message: String,
    },

    /// A recognised but unsupported SigV4 feature: SigV4a (ECDSA) chunk signing, or a
    /// streaming (chunked) payload sent to a service that does not take one (AWS: 501).
    #[error("A header you provided implies functionality that is not implemented: {what}")]
    NotImplemented {
        /// What was asked for, e.g. `x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD`.
        what: String,
    },
}

/// The kinds of `SignatureDoesNotMatch`, each with AWS's message text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Mismatch {
    /// The computed signature differs from the one provided.
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    Signature,

    /// The request time is more than 15 minutes before the server's clock.
    #[error("Signature expired: {signed_at} is now earlier than {earliest} ({now} - 15 min.)")]
    Expired {
        /// The request time (ISO 8601 basic).
        signed_at: String,
        /// `now - 15 min` (ISO 8601 basic).
        earliest: String,
        /// The server's clock (ISO 8601 basic).
        now: String,
    },

    /// The request time is more than 15 minutes after the server's clock.
    #[error(
        "Signature not yet current: {signed_at} is still later than {latest} ({now} + 15 min.)"
    )]
    NotYetCurrent {
        /// The request time (ISO 8601 basic).
        signed_at: String,
        /// `now + 15 min` (ISO 8601 basic).
        latest: String,
        /// The server's clock (ISO 8601 basic).
        now: String,
    },

    /// The credential scope's date is not the request date's `YYYYMMDD`.
    #[error("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope_date}' != '{request_date}', from '{amz_date}'.")]
    ScopeDate {
        /// The date in the credential scope.
        scope_date: String,
        /// `YYYYMMDD` of the request time.
        request_date: String,
        /// The request time (ISO 8601 basic).
        amz_date: String,
    },
}

impl SigV4Error {
    /// The AWS error code this renders as (`SignatureDoesNotMatch`, `IncompleteSignature`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            SigV4Error::MissingAuthenticationToken => "MissingAuthenticationToken",
            SigV4Error::IncompleteSignature { .. } => "IncompleteSignature",
            SigV4Error::SignatureDoesNotMatch(_) => "SignatureDoesNotMatch",
            SigV4Error::RequestExpired { .. } => "RequestExpired",
            SigV4Error::XAmzContentSHA256Mismatch => "XAmzContentSHA256Mismatch",
            SigV4Error::InvalidArgument { .. } => "InvalidArgument",
            SigV4Error::NotImplemented { .. } => "NotImplemented",
        }
    }

    /// The HTTP status AWS's query-protocol services (IAM, STS) answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            SigV4Error::MissingAuthenticationToken | SigV4Error::SignatureDoesNotMatch(_) => 403,
            SigV4Error::IncompleteSignature { .. }
            | SigV4Error::RequestExpired { .. }
            | SigV4Error::XAmzContentSHA256Mismatch
            | SigV4Error::InvalidArgument { .. } => 400,
            SigV4Error::NotImplemented { .. } => 501,
        }
    }

    /// Always `true`: every SigV4 failure is the caller's fault (`<Type>Sender</Type>`).
    pub fn sender_fault(&self) -> bool {
        true
    }

    pub(crate) fn incomplete(message: impl Into<String>) -> Self {
        SigV4Error::IncompleteSignature {
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_codes() {
        let e = SigV4Error::SignatureDoesNotMatch(Mismatch::Signature);
        assert_eq!(e.code(), "SignatureDoesNotMatch");
        assert_eq!(e.http_status(), 403);
        assert!(e
            .to_string()
            .starts_with("The request signature we calculated"));
        let e = SigV4Error::SignatureDoesNotMatch(Mismatch::Expired {
            signed_at: "20150830T123600Z".into(),
            earliest: "20150830T124600Z".into(),
            now: "20150830T130100Z".into(),
        });
        assert_eq!(
            e.to_string(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T124600Z (20150830T130100Z - 15 min.)"
        );
        assert_eq!(
            SigV4Error::MissingAuthenticationToken.to_string(),
            "Request is missing Authentication Token"
        );
        assert_eq!(SigV4Error::MissingAuthenticationToken.http_status(), 403);
    }
}
