//! AWS Security Token Service: caller identity and temporary credentials.
//!
//! - [`assume_role`]: `AssumeRole` (trust policy, session policies, tags, chaining).
//! - [`assume_root`]: `AssumeRoot`, privileged root sessions of member accounts scoped by
//!   [`root_tasks`].
//! - [`session_token`]: `GetSessionToken` and `GetFederationToken`.
//! - [`info`]: `GetCallerIdentity`, `GetAccessKeyInfo`, `DecodeAuthorizationMessage`.
//! - [`issue`]: issuing a temporary key with its session context.
//! - [`mfa`]: MFA codes presented to STS.
//! - [`web_identity`]: `AssumeRoleWithWebIdentity`, with [`oidc`] verifying the token.
//! - [`saml`]: `AssumeRoleWithSAML`, with [`saml_assertion`] reading the signed assertion.
//! - [`federated`]: the trust policy's question and the session for both.
//! - [`outbound_token`]: `GetWebIdentityToken`, JWTs from the account's outbound issuer.

use rampart_kit::routes;

pub mod assume_role;
pub mod assume_root;
pub mod federated;
pub mod info;
pub mod issue;
pub mod mfa;
pub mod oidc;
pub mod outbound_token;
pub mod root_tasks;
pub mod saml;
pub mod saml_assertion;
pub mod session_token;
pub mod web_identity;

use rampart_store::Store;
use serde_json::Value;

use rampart_kit::{
    authz::AuthzRequest,
    context::CallContext,
    error::{service_errors, ServiceError},
};

pub use rampart_model::sts::Op;

service_errors! {
    /// STS's errors, named after its codes.
    pub enum StsError for "sts" {
        /// A value fails AWS's validation.
        ValidationError,
        /// A session policy is not valid.
        MalformedPolicyDocument,
        /// Session policies and tags together are too large.
        PackedPolicyTooLarge,
        /// The caller may not do this (session credentials, MFA, ...).
        AccessDenied,
        /// The message was not encoded by this server.
        InvalidAuthorizationMessageException,
        /// A parameter value is not valid.
        InvalidParameterValue,
        /// The web identity token could not be validated.
        InvalidIdentityToken,
        /// The web identity token has expired.
        ExpiredTokenException,
        /// The identity provider could not be reached to verify the token.
        IDPCommunicationError,
        /// The identity provider's claim is not acceptable.
        IDPRejectedClaim,
        /// The account has not enabled outbound web identity federation.
        OutboundWebIdentityFederationDisabledException,
        /// The token would outlive the caller's session.
        SessionDurationEscalationException,
        /// The web identity token's claims would exceed the largest payload STS signs.
        JWTPayloadSizeExceededException,
    }
}

routes! {
    authz: authorize;
    built {
        GetCallerIdentity => Read, |i, c, d| std::future::ready(Ok::<_, ServiceError>(info::get_caller_identity(c)));
        GetAccessKeyInfo => Read, |i, c, d| info::get_access_key_info(i, d);
        DecodeAuthorizationMessage => Read,
            |i, c, d| std::future::ready(Err::<Value, _>(info::decode_authorization_message()));
        // Operations that issue a key write it in the same transaction as their audit record.
        AssumeRole => Write, |i, c, d| assume_role::handle(i, c, d);
        AssumeRoot => Write, |i, c, d| assume_root::handle(i, c, d);
        GetSessionToken => Write, |i, c, d| session_token::get_session_token(i, c, d);
        GetFederationToken => Write, |i, c, d| session_token::get_federation_token(i, c, d);
        // Unsigned: the token is the proof, checked before authorization.
        AssumeRoleWithWebIdentity => Write, |i, c, d| federated::handle(i, c, d),
            authz: federated_authz, authn: web_identity::authenticate;
        AssumeRoleWithSAML => Write, |i, c, d| federated::handle(i, c, d),
            authz: federated_authz, authn: saml::authenticate;
        GetWebIdentityToken => Read, |i, c, d| outbound_token::handle(i, c, d);
    }
    not_built {
        // AWS Partners' delegated access (IAM's delegation requests).
        GetDelegatedAccessToken,
    }
}

/// The trust policy's question for a call proven by an identity provider.
async fn federated_authz(
    _op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    federated::authz(input, ctx, store).await
}

/// The authorization question of an STS operation.
async fn authorize(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let account = &ctx.principal.account_id;
    let action = format!("sts:{}", op.name());
    Ok(match op {
        // AWS: "No permissions are required to perform this operation." GetSessionToken: "No
        // permissions are required for users to perform this operation ... You cannot use
        // policies to control authentication operations."
        Op::GetCallerIdentity | Op::GetSessionToken => Some(AuthzRequest {
            always_allowed: true,
            ..AuthzRequest::on_any(&action, account)
        }),
        Op::GetAccessKeyInfo | Op::DecodeAuthorizationMessage => {
            Some(AuthzRequest::on_any(&action, account))
        }
        Op::GetFederationToken => Some(session_token::federation_authz(input, ctx)),
        Op::AssumeRole => assume_role::authz(input, ctx, store).await?,
        Op::AssumeRoot => assume_root::authz(input, ctx).await?,
        Op::GetWebIdentityToken => Some(outbound_token::authz(input, ctx)),
        _ => None,
    })
}

/// Whether this build can check SAML signatures (it was built with libxmlsec1); without it
/// `AssumeRoleWithSAML` answers `InvalidIdentityToken` saying what to install.
pub fn saml_signatures_available() -> bool {
    rampart_xmldsig::available()
}
