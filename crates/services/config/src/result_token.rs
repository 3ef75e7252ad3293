//! The `resultToken` a custom Lambda rule's function receives and hands back to
//! `PutEvaluations`: the account, the rule (name and id) and an expiry, sealed with the
//! store's master key (AES-256-GCM, bound to its own associated data), so a token cannot be
//! forged, altered, moved to another rule or account, or used after it expires.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Duration, Utc};
use rampart_store::MasterKey;
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, ConfigResult};

/// How long a token is accepted after the invocation that carries it.
pub const LIFETIME: Duration = Duration::hours(1);

/// Associated data binding the sealed bytes to this use.
const AAD: &[u8] = b"rampart.config.result-token.v1";

/// What a token vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The rule's account.
    #[serde(rename = "a")]
    pub account: String,
    /// The rule's name.
    #[serde(rename = "r")]
    pub rule: String,
    /// The rule's id.
    #[serde(rename = "i")]
    pub rule_id: String,
    /// Expiry, epoch milliseconds.
    #[serde(rename = "x")]
    pub expires: i64,
}

/// The invalid-token error, with AWS's message.
pub fn invalid() -> ConfigError {
    ConfigError::InvalidResultTokenException("The specified ResultToken is not valid.".into())
}

/// A token for the rule `(name, id)` of `account`, issued at `now`.
pub fn issue(
    key: &MasterKey,
    account: &str,
    rule: (&str, &str),
    now: DateTime<Utc>,
) -> ConfigResult<String> {
    let claims = Claims {
        account: account.to_string(),
        rule: rule.0.to_string(),
        rule_id: rule.1.to_string(),
        expires: (now + LIFETIME).timestamp_millis(),
    };
    let payload = serde_json::to_vec(&claims).map_err(|_| ConfigError::internal())?;
    let sealed = key.seal(AAD, &payload)?;
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

/// The claims of a token presented by `account` at `now`: refused when it does not open
/// under the key, belongs to another account or has expired.
pub fn check(
    key: &MasterKey,
    token: &str,
    account: &str,
    now: DateTime<Utc>,
) -> ConfigResult<Claims> {
    let sealed = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| invalid())?;
    let payload = key.open(AAD, &sealed).map_err(|_| invalid())?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| invalid())?;
    if claims.account != account || claims.expires <= now.timestamp_millis() {
        return Err(invalid());
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_and_expire() {
        let key = MasterKey::generate().unwrap();
        let now = Utc::now();
        let t = issue(&key, "111122223333", ("r", "config-rule-abc"), now).unwrap();
        let c = check(&key, &t, "111122223333", now).unwrap();
        assert_eq!(
            (c.rule.as_str(), c.rule_id.as_str()),
            ("r", "config-rule-abc")
        );
        assert!(check(&key, &t, "444455556666", now).is_err());
        assert!(check(&key, &t, "111122223333", now + LIFETIME).is_err());
        let other = MasterKey::generate().unwrap();
        assert!(check(&other, &t, "111122223333", now).is_err());
        let mut forged = t.clone().into_bytes();
        forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
        assert!(check(
            &key,
            &String::from_utf8(forged).unwrap(),
            "111122223333",
            now
        )
        .is_err());
        assert!(check(&key, "not a token", "111122223333", now).is_err());
    }
}
