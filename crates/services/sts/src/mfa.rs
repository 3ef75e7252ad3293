//! MFA on STS calls: `SerialNumber` + `TokenCode` of `GetSessionToken` and `AssumeRole`,
//! checked against the caller's enabled virtual MFA devices.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::StsError;
use rampart_iam::{
    mfa_device::{verify_code, MfaRefusal},
    totp,
};
use rampart_kit::{
    context::{CallContext, ContextEntry},
    db::Db,
    error::ServiceError,
    input::opt_str,
};

/// When MFA was presented with this request (now), `None` when the request carries none,
/// or AWS's `AccessDenied` when the code or device is not good. Inside a write transaction
/// the code is consumed (a second use fails); outside, the check only reads.
pub async fn check(
    input: &Value,
    ctx: &CallContext,
    db: &mut Db<'_>,
    owner_id: &str,
) -> Result<Option<DateTime<Utc>>, ServiceError> {
    let (serial, code) = match (opt_str(input, "SerialNumber"), opt_str(input, "TokenCode")) {
        (None, None) => return Ok(None),
        (Some(s), Some(c)) => (s, c),
        _ => {
            return Err(StsError::ValidationError(
                "SerialNumber and TokenCode must be given together.".into(),
            )
            .into())
        }
    };
    if !totp::well_formed(code) {
        return Err(StsError::ValidationError(
            "1 validation error detected: Value at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]*".into(),
        )
        .into());
    }
    let consume = db.is_write();
    let account = ctx.principal.account_id.clone();
    match verify_code(db, &account, serial, owner_id, code, ctx.now, consume).await? {
        Ok(()) => Ok(Some(ctx.now)),
        Err(MfaRefusal::NotAssigned) => Err(StsError::AccessDenied(
            "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.".into(),
        )
        .into()),
        Err(MfaRefusal::BadCode | MfaRefusal::Throttled) => Err(StsError::AccessDenied(
            "MultiFactorAuthentication failed with invalid MFA one time pass code.".into(),
        )
        .into()),
    }
}

/// The MFA condition keys a verified code adds to the request being authorized (the trust
/// policy of `AssumeRole` sees `aws:MultiFactorAuthPresent` of the request, not of the
/// caller's long-term key, which has none).
pub fn context_keys(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Vec<ContextEntry> {
    match at {
        Some(t) => vec![
            ("aws:MultiFactorAuthPresent".into(), vec!["true".into()]),
            (
                "aws:MultiFactorAuthAge".into(),
                vec![(now - t).num_seconds().max(0).to_string()],
            ),
        ],
        None => Vec::new(),
    }
}
