//! Authentication: the signed access key -> the calling principal.
//!
//! Every request looks its key up in the store (no cache of key state beyond the store's own,
//! which every write invalidates), so a deleted or deactivated key stops working on the very
//! next request, on every node. Kept here: the derived signing key, only for the exact secret
//! it was derived from, and the principal built from a key, only while the key is unchanged.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rampart_services::{
    principal::{SessionContext, SessionInfo},
    Partition, Principal, PrincipalKind,
};
use rampart_sigv4::{
    ChunkedMode, ParsedAuth, RequestParts, SecretKey, SigV4Error, SigningKeyCache, VerifyOptions,
};
use rampart_store::{hash_session_token, AccessKey, KeyStatus, LastUsed, SharedKey};
use rampart_wire::{ApiError, CommonError, Protocol};
use subtle::ConstantTimeEq;

use crate::app::App;

/// Authentication state kept between requests: derived signing keys, when this node last
/// recorded each key's use, and the principal each key stands for.
#[derive(Debug, Default)]
pub struct AuthnCache {
    signing: SigningKeyCache,
    recorded: std::sync::Mutex<std::collections::HashMap<String, DateTime<Utc>>>,
    principals: std::sync::RwLock<std::collections::HashMap<String, BuiltPrincipal>>,
}

/// A principal built from a key, valid while the store hands out the same key: the very same
/// cached entry (no copy of the secret is kept: the entry is only pointed at), or, when the
/// store does not cache (PostgreSQL), a key equal to the one it was built from.
#[derive(Debug)]
struct BuiltPrincipal {
    entry: std::sync::Weak<rampart_store::KeyWithSecret>,
    key: AccessKey,
    principal: Arc<Principal>,
}

/// Most principals remembered before the map is cleared (bounds memory under key churn).
const MAX_PRINCIPALS: usize = 100_000;

/// Why authentication failed, and the account of the key when the key exists (so the refused
/// call shows in that account's trail).
#[derive(Debug)]
pub struct AuthnFailure {
    /// The error to answer with.
    pub error: ApiError,
    /// The account owning the claimed key, if it exists.
    pub account_id: Option<String>,
}

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";
const EXPIRED_TOKEN: &str = "The security token included in the request is expired";

/// Who an authenticated request comes from, and how to check an `aws-chunked` body's chunks
/// (S3 uploads signed chunk by chunk).
pub struct Authenticated {
    /// The caller.
    pub principal: Arc<Principal>,
    /// The decoder mode of a streaming body, chained from the request's signature.
    pub chunked: Option<ChunkedMode>,
}

/// Verifies a parsed SigV4 request with `opts` (S3's rules or the default) and returns its
/// principal.
pub async fn authenticate(
    app: &App,
    protocol: Protocol,
    auth: &ParsedAuth,
    parts: &RequestParts<'_>,
    now: DateTime<Utc>,
    opts: &VerifyOptions,
) -> Result<Authenticated, AuthnFailure> {
    let akid = auth.access_key_id.as_str();
    let lenient = app.config.dev && app.dev_auth.lenient();
    let found = app
        .store
        .credentials()
        .get_shared(akid)
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "access key lookup failed");
            AuthnFailure {
                error: ApiError::internal(),
                account_id: None,
            }
        })?;
    let Some(shared) = found else {
        if lenient {
            // Dev mode: unknown keys act as the dev account's root, unsigned-checked, so
            // LocalStack/moto-style suites with dummy credentials work.
            // Chunks then carry signatures nothing can check: only their framing is read.
            return Ok(Authenticated {
                principal: Arc::new(Principal::root(
                    app.config.partition(),
                    &app.config.dev_account_id,
                    akid,
                )),
                chunked: auth.streaming_form().map(ChunkedMode::unverified),
            });
        }
        return Err(fail(
            protocol,
            CommonError::InvalidClientTokenId,
            INVALID_TOKEN,
            None,
        ));
    };
    let (key, secret) = (&shared.key, &shared.secret);
    // The key's account, for the trail of a refused call (built only when one is refused).
    let account = || Some(key.principal.account_id.clone());
    if key.status == KeyStatus::Inactive {
        return Err(fail(
            protocol,
            CommonError::InvalidClientTokenId,
            INVALID_TOKEN,
            account(),
        ));
    }
    check_session(
        protocol,
        key,
        auth.security_token.as_deref(),
        app.clock.now(),
    )?;
    let secret = SecretKey::from(secret.as_str());
    app.authn
        .signing
        .check_with_options(auth, parts, &secret, now, opts)
        .map_err(|err| AuthnFailure {
            error: sigv4_error(protocol, &err),
            account_id: account(),
        })?;
    let chunked = match auth.streaming_form() {
        Some(_) => {
            let key = app
                .authn
                .signing
                .get_or_derive(&auth.access_key_id, &secret, &auth.scope);
            ChunkedMode::for_request(auth, &key)
        }
        None => None,
    };
    // Last use is on the request clock (as every other last-use record), so the dev clock
    // ages it; `now` is the wall clock the signature is checked against.
    record_use(app, key, auth, app.clock.now());
    let principal = principal_for(app, &shared).map_err(|()| AuthnFailure {
        error: ApiError::internal(),
        account_id: account(),
    })?;
    Ok(Authenticated { principal, chunked })
}

/// The principal of a key, built once per key: building copies several strings and, for a
/// session key, parses the session context stored with it.
fn principal_for(app: &App, shared: &SharedKey) -> Result<Arc<Principal>, ()> {
    let key = &shared.key;
    if let Ok(map) = app.authn.principals.read() {
        if let Some(built) = map.get(&key.access_key_id) {
            // Holding a `Weak`, the allocation cannot be reused, so equal pointers mean the
            // same entry.
            if std::ptr::eq(built.entry.as_ptr(), Arc::as_ptr(shared)) || built.key == *key {
                return Ok(built.principal.clone());
            }
        }
    }
    let principal = Arc::new(principal_of(app.config.partition(), key)?);
    if let Ok(mut map) = app.authn.principals.write() {
        if map.len() >= MAX_PRINCIPALS {
            map.clear();
        }
        map.insert(
            key.access_key_id.clone(),
            BuiltPrincipal {
                entry: Arc::downgrade(shared),
                key: key.clone(),
                principal: principal.clone(),
            },
        );
    }
    Ok(principal)
}

/// How stale a key's recorded last use may get before an authenticated request refreshes it
/// (one write per key per minute at most, not one per request).
const LAST_USED_GRANULARITY_SECS: i64 = 60;

/// Records the key's use for `GetAccessKeyLastUsed`, in the background and debounced.
fn record_use(app: &App, key: &AccessKey, auth: &ParsedAuth, now: DateTime<Utc>) {
    if key.session.is_some() {
        return;
    }
    let recent = |at: &DateTime<Utc>| (now - *at).num_seconds() < LAST_USED_GRANULARITY_SECS;
    if key.last_used.as_ref().is_some_and(|l| recent(&l.at)) {
        return;
    }
    // The key may come from the store's read cache, whose `last_used` is not refreshed by
    // these writes: remember in process when this node last recorded the key.
    {
        let Ok(mut recorded) = app.authn.recorded.lock() else {
            return;
        };
        if recorded.get(&key.access_key_id).is_some_and(recent) {
            return;
        }
        if recorded.len() >= 100_000 {
            recorded.clear();
        }
        recorded.insert(key.access_key_id.clone(), now);
    }
    let store = app.store.clone();
    let id = key.access_key_id.clone();
    let used = LastUsed {
        at: now,
        region: auth.scope.region.clone(),
        service: auth.scope.service.clone(),
    };
    tokio::spawn(async move {
        if let Err(err) = store.credentials().record_last_used(&id, &used).await {
            tracing::warn!(error = %err, access_key_id = %id, "last use not recorded");
        }
    });
}

/// Temporary keys need their own session token and must not have expired; long-term keys
/// must not come with a token.
fn check_session(
    protocol: Protocol,
    key: &AccessKey,
    token: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AuthnFailure> {
    let account = Some(key.principal.account_id.clone());
    match (&key.session, token) {
        (None, None) => Ok(()),
        (None, Some(_)) | (Some(_), None) => Err(fail(
            protocol,
            CommonError::InvalidClientTokenId,
            INVALID_TOKEN,
            account,
        )),
        (Some(session), Some(token)) => {
            let presented = hash_session_token(token);
            if !bool::from(presented.as_bytes().ct_eq(session.token_hash.as_bytes())) {
                return Err(fail(
                    protocol,
                    CommonError::InvalidClientTokenId,
                    INVALID_TOKEN,
                    account,
                ));
            }
            if key.is_expired(now) {
                return Err(fail(
                    protocol,
                    CommonError::ExpiredToken,
                    EXPIRED_TOKEN,
                    account,
                ));
            }
            Ok(())
        }
    }
}

/// The caller a stored key stands for, in the server's `partition`.
fn principal_of(partition: Partition, key: &AccessKey) -> Result<Principal, ()> {
    let owner = &key.principal;
    let session = session_of(key)?;
    if owner.kind == PrincipalKind::Root {
        let mut root = Principal::root(partition, &owner.account_id, &key.access_key_id);
        root.session = session;
        return Ok(root);
    }
    let name = owner.arn.rsplit('/').next().unwrap_or_default().to_string();
    Ok(Principal {
        account_id: owner.account_id.clone(),
        kind: owner.kind,
        arn: owner.arn.clone(),
        user_id: owner.id.clone(),
        name,
        access_key_id: key.access_key_id.clone(),
        session,
        source_arn: None,
    })
}

/// The session facts STS stored with a temporary key. An unreadable context fails the
/// request rather than dropping the session policies it may carry (fail closed).
fn session_of(key: &AccessKey) -> Result<Option<SessionInfo>, ()> {
    let Some(s) = &key.session else {
        return Ok(None);
    };
    let context: SessionContext = match s.context.as_deref() {
        None => SessionContext::default(),
        Some(text) => serde_json::from_str(text).map_err(|err| {
            tracing::error!(error = %err, access_key_id = %key.access_key_id, "unreadable session context");
        })?,
    };
    Ok(Some(SessionInfo {
        issued_at: key.created_at,
        expires_at: s.expires_at,
        mfa_authenticated_at: context.mfa_authenticated_at,
        context,
    }))
}

fn fail(
    protocol: Protocol,
    kind: CommonError,
    message: &str,
    account_id: Option<String>,
) -> AuthnFailure {
    AuthnFailure {
        error: ApiError::common(protocol, kind, message),
        account_id,
    }
}

/// A SigV4 failure in the protocol's spelling and with AWS's status.
pub fn sigv4_error(protocol: Protocol, err: &SigV4Error) -> ApiError {
    let common = match err {
        SigV4Error::MissingAuthenticationToken => Some(CommonError::MissingAuthenticationToken),
        SigV4Error::IncompleteSignature { .. } => Some(CommonError::IncompleteSignature),
        SigV4Error::SignatureDoesNotMatch(_) => Some(CommonError::SignatureDoesNotMatch),
        _ => None,
    };
    match common {
        Some(kind) => ApiError::common(protocol, kind, err.to_string()),
        None => ApiError::new(err.code(), err.to_string(), err.http_status(), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_store::{Principal as KeyOwner, Session};

    fn temporary_key(token: &str, expires_at: DateTime<Utc>) -> AccessKey {
        AccessKey {
            access_key_id: "ASIAEXAMPLEEXAMPLE12".into(),
            principal: KeyOwner {
                account_id: "111122223333".into(),
                kind: PrincipalKind::AssumedRole,
                id: "AROAEXAMPLE:s".into(),
                arn: "arn:aws:sts::111122223333:assumed-role/R/s".into(),
            },
            status: KeyStatus::Active,
            created_at: expires_at - chrono::Duration::seconds(900),
            last_used: None,
            session: Some(Session {
                token_hash: hash_session_token(token),
                expires_at,
                context: None,
            }),
        }
    }

    #[test]
    fn temporary_credentials_expire_on_time() {
        let expires = DateTime::from_timestamp(1_700_000_900, 0).unwrap();
        let key = temporary_key("tok", expires);
        let before = expires - chrono::Duration::seconds(1);
        assert!(check_session(Protocol::Query, &key, Some("tok"), before).is_ok());
        let err = check_session(Protocol::Query, &key, Some("tok"), expires).unwrap_err();
        assert_eq!(err.error.code, "ExpiredToken");
        assert_eq!(err.account_id.as_deref(), Some("111122223333"));
    }

    #[test]
    fn a_wrong_or_missing_token_is_an_invalid_client_token() {
        let expires = DateTime::from_timestamp(1_700_000_900, 0).unwrap();
        let key = temporary_key("tok", expires);
        let now = expires - chrono::Duration::seconds(60);
        for token in [Some("other"), None] {
            let err = check_session(Protocol::Query, &key, token, now).unwrap_err();
            assert_eq!(err.error.code, "InvalidClientTokenId");
        }
    }
}
