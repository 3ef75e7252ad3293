//! Issuing temporary credentials: an `ASIA` key, its sealed secret, a session token of which
//! only the hash is stored, an expiry and the session context the authorizer reads back.

use chrono::{DateTime, Utc};
use rampart_policy::PolicyKind;
use rampart_store::{hash_session_token, AccessKey, KeyStatus, Principal as KeyOwner, Session};
use serde_json::{json, Value};

use crate::StsError;
use rampart_iam::{common::document, policies};
use rampart_kit::{
    authz::NamedPolicy, db::Db, entity::to_text, error::ServiceError, ids, input::opt_str,
    principal::SessionContext, timestamp::ts,
};

/// Most managed session policies (`PolicyArns`).
pub const MAX_POLICY_ARNS: usize = 10;
/// The plaintext limit of session policies and the basis of `PackedPolicySize`.
pub const PACKED_LIMIT: usize = 2048;

/// Freshly issued credentials (the secret and token are returned once, never stored plain).
#[derive(Debug, Clone)]
pub struct Issued {
    /// `ASIA...`
    pub access_key_id: String,
    /// 40 characters.
    pub secret_access_key: String,
    /// The session token.
    pub session_token: String,
    /// When they stop working.
    pub expires_at: DateTime<Utc>,
}

impl Issued {
    /// The `Credentials` structure of STS responses.
    pub fn to_json(&self) -> Value {
        json!({
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
            "Expiration": ts(self.expires_at),
        })
    }
}

/// A random session token (base64 alphabet, long like AWS's).
fn session_token() -> Result<String, ServiceError> {
    let mut token = String::from("IQoJb3JpZ2luX2Vj");
    for _ in 0..8 {
        token.push_str(&ids::secret_access_key().map_err(|_| ServiceError::internal())?);
    }
    Ok(token)
}

/// Stores a temporary key for `owner` valid `duration_secs` from `now`.
pub async fn issue(
    db: &mut Db<'_>,
    owner: KeyOwner,
    context: &SessionContext,
    now: DateTime<Utc>,
    duration_secs: i64,
) -> Result<Issued, ServiceError> {
    let access_key_id = ids::access_key_id(true).map_err(|_| ServiceError::internal())?;
    let secret_access_key = ids::secret_access_key().map_err(|_| ServiceError::internal())?;
    let token = session_token()?;
    let expires_at = rampart_kit::checked_time::plus_secs(now, duration_secs)
        .ok_or_else(ServiceError::internal)?;
    let key = AccessKey {
        access_key_id: access_key_id.clone(),
        principal: owner,
        status: KeyStatus::Active,
        created_at: now,
        last_used: None,
        session: Some(Session {
            token_hash: hash_session_token(&token),
            expires_at,
            context: Some(to_text(context)?),
        }),
    };
    db.credentials().create(&key, &secret_access_key).await?;
    Ok(Issued {
        access_key_id,
        secret_access_key,
        session_token: token,
        expires_at,
    })
}

/// The session policies of a request (`Policy` and `PolicyArns`), validated, and their
/// plaintext size.
pub async fn session_policies(
    db: &mut Db<'_>,
    input: &Value,
) -> Result<(Option<Vec<NamedPolicy>>, usize), ServiceError> {
    let mut out = Vec::new();
    let mut size = 0;
    if let Some(doc) = opt_str(input, "Policy") {
        rampart_policy::Policy::parse(doc, PolicyKind::Session)
            .map_err(|e| StsError::MalformedPolicyDocument(e.to_string()))?;
        size += document::counted_size(doc);
        out.push(NamedPolicy {
            name: "SessionPolicy".into(),
            document: doc.to_string(),
        });
    }
    let arns: Vec<String> = input
        .get("PolicyArns")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|d| opt_str(d, "arn").map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if arns.len() > MAX_POLICY_ARNS {
        return Err(StsError::ValidationError(format!(
            "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to {MAX_POLICY_ARNS}"
        ))
        .into());
    }
    for arn in arns {
        let Some((_, doc)) = policies::by_arn(db, &arn).await? else {
            return Err(StsError::MalformedPolicyDocument(format!(
                "Policy {arn} does not exist or is not attachable."
            ))
            .into());
        };
        let Some(text) = doc.default_document() else {
            return Err(ServiceError::internal());
        };
        size += arn.len();
        out.push(NamedPolicy {
            name: arn.clone(),
            document: text.to_string(),
        });
    }
    Ok(((!out.is_empty()).then_some(out), size))
}

/// `PackedPolicySize`: the percentage of the limit used by session policies and tags;
/// `PackedPolicyTooLarge` past 100%.
pub fn packed_percent(size: usize) -> Result<i64, ServiceError> {
    if size > PACKED_LIMIT {
        let pct = size * 100 / PACKED_LIMIT;
        return Err(StsError::PackedPolicyTooLarge(format!(
            "Packed size of session policies and session tags consumes {pct}% of allotted space, please use smaller policies or tags."
        ))
        .into());
    }
    Ok(i64::try_from(size * 100 / PACKED_LIMIT).unwrap_or(100))
}

/// A session policy that allows nothing: a federated user given no policy has no
/// permissions (an empty session layer would mean "not capped").
pub fn deny_all_session_policy() -> NamedPolicy {
    NamedPolicy {
        name: "NoSessionPolicy".into(),
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#.into(),
    }
}

/// Checks a requested duration against `min..=max`; `message` is AWS's text for too long.
pub fn check_duration(
    requested: Option<i64>,
    default: i64,
    max: i64,
    too_long: &str,
) -> Result<i64, ServiceError> {
    let d = requested.unwrap_or(default.min(max));
    if d < 900 {
        return Err(StsError::ValidationError(format!(
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        ))
        .into());
    }
    if d > max {
        return Err(StsError::ValidationError(too_long.to_string()).into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_limits() {
        assert_eq!(check_duration(None, 3600, 43200, "x").unwrap(), 3600);
        assert_eq!(check_duration(None, 43200, 3600, "x").unwrap(), 3600);
        assert_eq!(
            check_duration(Some(899), 3600, 3600, "x").unwrap_err().code,
            "ValidationError"
        );
        let e = check_duration(Some(3601), 3600, 3600, "too long").unwrap_err();
        assert_eq!(e.message, "too long");
    }

    #[test]
    fn packed_size_is_a_percentage() {
        assert_eq!(packed_percent(1024).unwrap(), 50);
        assert_eq!(
            packed_percent(4096).unwrap_err().code,
            "PackedPolicyTooLarge"
        );
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = session_token().unwrap();
        assert!(a.len() > 300);
        assert_ne!(a, session_token().unwrap());
    }

    #[test]
    fn deny_all_parses_as_a_session_policy() {
        let p = deny_all_session_policy();
        assert!(rampart_policy::Policy::parse(&p.document, PolicyKind::Session).is_ok());
    }
}
