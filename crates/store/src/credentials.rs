//! Access keys (long-term `AKIA...` and temporary `ASIA...`): owner, status, last use, and the
//! secret, which is stored only sealed under the master key.

use aws_lc_rs::digest;
use chrono::{DateTime, Utc};
use sqlx::Row;
use zeroize::Zeroizing;

use std::sync::Arc;

use crate::cache::{Domain, KeyWithSecret, SharedKey};
use crate::crypto::aad_for;
use crate::db::{dispatch, from_ms, from_ms_opt, to_ms, Handle};
use crate::error::{Result, StoreError};

/// What kind of principal owns a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PrincipalKind {
    /// The account's root user.
    Root,
    /// An IAM user.
    User,
    /// A role session (`sts:AssumeRole*`).
    AssumedRole,
    /// A federated user (`sts:GetFederationToken`).
    FederatedUser,
    /// The caller of an unsigned request (S3 serves them where a bucket policy allows
    /// everyone); no key is ever stored for it.
    Anonymous,
    /// An AWS service principal acting on its own (`cloudtrail.amazonaws.com` delivering log
    /// files); no key is ever stored for it.
    Service,
    /// The caller of `AssumeRoleWithWebIdentity`, proven by an OpenID Connect token; no key
    /// is ever stored for it.
    WebIdentityUser,
    /// The caller of `AssumeRoleWithSAML`, proven by a SAML assertion; no key is ever stored
    /// for it.
    SamlUser,
}

impl PrincipalKind {
    /// The stored spelling, also CloudTrail's `userIdentity.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Root => "Root",
            PrincipalKind::User => "IAMUser",
            PrincipalKind::AssumedRole => "AssumedRole",
            PrincipalKind::FederatedUser => "FederatedUser",
            PrincipalKind::Anonymous => "AnonymousUser",
            PrincipalKind::Service => "AWSService",
            PrincipalKind::WebIdentityUser => "WebIdentityUser",
            PrincipalKind::SamlUser => "SAMLUser",
        }
    }

    /// Parses the stored spelling (a stored key never belongs to the anonymous caller).
    pub fn parse(s: &str) -> Result<PrincipalKind> {
        match s {
            "Root" => Ok(PrincipalKind::Root),
            "IAMUser" => Ok(PrincipalKind::User),
            "AssumedRole" => Ok(PrincipalKind::AssumedRole),
            "FederatedUser" => Ok(PrincipalKind::FederatedUser),
            other => Err(StoreError::Corrupt(format!("principal kind {other:?}"))),
        }
    }
}

/// Who a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Principal {
    /// The owning account (12 digits).
    pub account_id: String,
    /// Root, user, assumed role, ...
    pub kind: PrincipalKind,
    /// Unique id: the account id for root, `AIDA...` for users, `AROA...:session` for roles.
    pub id: String,
    /// The principal's ARN.
    pub arn: String,
}

/// `Active` keys authenticate; `Inactive` keys are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum KeyStatus {
    /// Usable.
    Active,
    /// Refused at once.
    Inactive,
}

impl KeyStatus {
    /// AWS's spelling, also the stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Result<KeyStatus> {
        match s {
            "Active" => Ok(KeyStatus::Active),
            "Inactive" => Ok(KeyStatus::Inactive),
            other => Err(StoreError::Corrupt(format!("key status {other:?}"))),
        }
    }
}

/// The last authenticated use of a key (`GetAccessKeyLastUsed`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LastUsed {
    /// When.
    pub at: DateTime<Utc>,
    /// The region of the request's credential scope.
    pub region: String,
    /// The service signing name (e.g. `iam`).
    pub service: String,
}

/// What makes a key temporary: its session token (hashed) and expiry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    /// [`hash_session_token`] of the session token; the token itself is never stored.
    pub token_hash: String,
    /// After this the key is refused (`ExpiredToken`).
    pub expires_at: DateTime<Utc>,
    /// Opaque JSON the STS layer keeps with the session (role ARN, session policies, tags,
    /// issue time, source identity, ...).
    pub context: Option<String>,
}

/// An access key without its secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessKey {
    /// `AKIA...` (long-term) or `ASIA...` (temporary).
    pub access_key_id: String,
    /// The owner.
    pub principal: Principal,
    /// Active or inactive.
    pub status: KeyStatus,
    /// Creation time (millisecond precision).
    pub created_at: DateTime<Utc>,
    /// Last authenticated use, if any.
    pub last_used: Option<LastUsed>,
    /// Present for temporary credentials.
    pub session: Option<Session>,
}

impl AccessKey {
    /// True if this is a temporary credential past its expiry at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.session.as_ref().is_some_and(|s| s.expires_at <= now)
    }
}

/// SHA-256 (hex) of a session token, as stored in [`Session::token_hash`]; compare the hash of
/// a presented token with the stored one in constant time.
pub fn hash_session_token(token: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, token.as_bytes()).as_ref())
}

/// AWS's access key id format: 16 to 128 characters of `[A-Z0-9]`.
pub fn is_valid_access_key_id(id: &str) -> bool {
    (16..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

const TABLE: &str = "access_keys";
const SECRET_COLUMN: &str = "secret_sealed";

const COLUMNS: &str = "access_key_id, account_id, principal_kind, principal_id, principal_arn, \
    status, created_at_ms, last_used_at_ms, last_used_region, last_used_service, \
    session_token_hash, expires_at_ms, session_context";

macro_rules! key_from_row {
    ($r:expr) => {{
        let r = &$r;
        let kind: String = r.try_get("principal_kind")?;
        let status: String = r.try_get("status")?;
        let last_at: Option<i64> = r.try_get("last_used_at_ms")?;
        let last_used = match from_ms_opt(last_at)? {
            Some(at) => Some(LastUsed {
                at,
                region: r
                    .try_get::<Option<String>, _>("last_used_region")?
                    .unwrap_or_default(),
                service: r
                    .try_get::<Option<String>, _>("last_used_service")?
                    .unwrap_or_default(),
            }),
            None => None,
        };
        let token_hash: Option<String> = r.try_get("session_token_hash")?;
        let expires: Option<i64> = r.try_get("expires_at_ms")?;
        let session = match (token_hash, expires) {
            (Some(token_hash), Some(exp)) => Some(Session {
                token_hash,
                expires_at: from_ms(exp)?,
                context: r.try_get("session_context")?,
            }),
            (None, None) => None,
            _ => {
                return Err(StoreError::Corrupt(
                    "half a session on an access key".into(),
                ))
            }
        };
        AccessKey {
            access_key_id: r.try_get("access_key_id")?,
            principal: Principal {
                account_id: r.try_get("account_id")?,
                kind: PrincipalKind::parse(&kind)?,
                id: r.try_get("principal_id")?,
                arn: r.try_get("principal_arn")?,
            },
            status: KeyStatus::parse(&status)?,
            created_at: from_ms(r.try_get("created_at_ms")?)?,
            last_used,
            session,
        }
    }};
}

/// Repository of access keys, on the pool or inside a transaction.
pub struct Credentials<'a> {
    h: Handle<'a>,
}

impl<'a> Credentials<'a> {
    pub(crate) fn new(h: Handle<'a>) -> Self {
        Credentials { h }
    }

    /// Stores a key with its secret sealed (AAD binds it to this key id); `AlreadyExists` if
    /// the id is taken, `Conflict` if the account does not exist.
    pub async fn create(&mut self, key: &AccessKey, secret_access_key: &str) -> Result<()> {
        if !is_valid_access_key_id(&key.access_key_id) {
            return Err(StoreError::InvalidInput(format!(
                "access key id {:?} is malformed",
                key.access_key_id
            )));
        }
        let aad = aad_for(TABLE, SECRET_COLUMN, &key.access_key_id);
        let sealed = self
            .h
            .store()
            .master_key()
            .seal(&aad, secret_access_key.as_bytes())?;
        let last = key.last_used.as_ref();
        let session = key.session.as_ref();
        let mut g = self.h.write_conn().await?;
        dispatch!(g.conn(), c => {
            sqlx::query(
                "INSERT INTO access_keys (access_key_id, account_id, principal_kind, principal_id,
                    principal_arn, secret_sealed, status, created_at_ms, last_used_at_ms,
                    last_used_region, last_used_service, session_token_hash, expires_at_ms,
                    session_context)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(&key.access_key_id)
            .bind(&key.principal.account_id)
            .bind(key.principal.kind.as_str())
            .bind(&key.principal.id)
            .bind(&key.principal.arn)
            .bind(&sealed)
            .bind(key.status.as_str())
            .bind(to_ms(key.created_at))
            .bind(last.map(|l| to_ms(l.at)))
            .bind(last.map(|l| l.region.as_str()))
            .bind(last.map(|l| l.service.as_str()))
            .bind(session.map(|s| s.token_hash.as_str()))
            .bind(session.map(|s| to_ms(s.expires_at)))
            .bind(session.and_then(|s| s.context.as_deref()))
            .execute(&mut *c)
            .await?;
        });
        let mut logged = false;
        if session.is_none()
            && matches!(
                key.principal.kind,
                PrincipalKind::User | PrincipalKind::Root
            )
        {
            logged = crate::changes::log(
                g.conn(),
                &key.principal.account_id,
                crate::changes::ACCESS_KEY_KIND,
                &key.principal.id,
                false,
            )
            .await?;
        }
        drop(g);
        self.h.touched(Domain::Credentials);
        if logged {
            self.h.touched(Domain::Changes);
        }
        Ok(())
    }

    /// The key with this id (without its secret), if any.
    pub async fn get(&mut self, access_key_id: &str) -> Result<Option<AccessKey>> {
        let sql = format!("SELECT {COLUMNS} FROM access_keys WHERE access_key_id = $1");
        let mut g = self.h.conn().await?;
        dispatch!(g.conn(), c => {
            match sqlx::query(&sql).bind(access_key_id).fetch_optional(&mut *c).await? {
                Some(r) => Ok(Some(key_from_row!(r))),
                None => Ok(None),
            }
        })
    }

    /// The key and its opened secret, for verifying a signature. The caller checks status
    /// and expiry.
    pub async fn get_with_secret(
        &mut self,
        access_key_id: &str,
    ) -> Result<Option<(AccessKey, Zeroizing<String>)>> {
        Ok(self
            .get_shared(access_key_id)
            .await?
            .map(|shared| (shared.key.clone(), shared.secret.clone())))
    }

    /// [`Credentials::get_with_secret`] without copying: the cached entry itself, shared.
    pub async fn get_shared(&mut self, access_key_id: &str) -> Result<Option<SharedKey>> {
        let cache = self.h.store().inner.cache.clone();
        let cacheable = self.h.is_pool();
        if cacheable {
            if let Some(hit) = cache.key(access_key_id) {
                return Ok(Some(hit));
            }
        }
        let read_at = cache.generation(Domain::Credentials);
        let sql =
            format!("SELECT {COLUMNS}, secret_sealed FROM access_keys WHERE access_key_id = $1");
        let found = {
            let mut g = self.h.conn().await?;
            dispatch!(g.conn(), c => {
                match sqlx::query(&sql).bind(access_key_id).fetch_optional(&mut *c).await? {
                    Some(r) => {
                        let sealed: Vec<u8> = r.try_get("secret_sealed")?;
                        Some((key_from_row!(r), sealed))
                    }
                    None => None,
                }
            })
        };
        let Some((key, sealed)) = found else {
            return Ok(None);
        };
        let aad = aad_for(TABLE, SECRET_COLUMN, &key.access_key_id);
        let plain = self.h.store().master_key().open(&aad, &sealed)?;
        let secret = String::from_utf8(plain.to_vec())
            .map_err(|_| StoreError::Corrupt("secret access key is not UTF-8".into()))?;
        let shared: SharedKey = Arc::new(KeyWithSecret {
            key,
            secret: Zeroizing::new(secret),
        });
        if cacheable {
            cache.put_key(read_at, &shared);
        }
        Ok(Some(shared))
    }

    /// Every key of one principal, oldest first (`ListAccessKeys`).
    pub async fn list_for_principal(
        &mut self,
        account_id: &str,
        principal_id: &str,
    ) -> Result<Vec<AccessKey>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM access_keys WHERE account_id = $1 AND principal_id = $2
             ORDER BY created_at_ms, access_key_id"
        );
        let mut g = self.h.conn().await?;
        dispatch!(g.conn(), c => {
            let rows = sqlx::query(&sql)
                .bind(account_id)
                .bind(principal_id)
                .fetch_all(&mut *c)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(key_from_row!(r));
            }
            Ok(out)
        })
    }

    /// How many long-term keys a principal has (for the two-keys-per-user limit).
    pub async fn count_long_term_for_principal(
        &mut self,
        account_id: &str,
        principal_id: &str,
    ) -> Result<u64> {
        let mut g = self.h.conn().await?;
        let n: i64 = dispatch!(g.conn(), c => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM access_keys
                 WHERE account_id = $1 AND principal_id = $2 AND session_token_hash IS NULL",
            )
            .bind(account_id)
            .bind(principal_id)
            .fetch_one(&mut *c)
            .await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Activates or deactivates a key; `NotFound` if it does not exist.
    pub async fn set_status(&mut self, access_key_id: &str, status: KeyStatus) -> Result<()> {
        let mut g = self.h.write_conn().await?;
        let logged = crate::changes::log_access_key(g.conn(), access_key_id).await?;
        let n = dispatch!(g.conn(), c => {
            sqlx::query("UPDATE access_keys SET status = $1 WHERE access_key_id = $2")
                .bind(status.as_str())
                .bind(access_key_id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        drop(g);
        self.h.touched(Domain::Credentials);
        if logged {
            self.h.touched(Domain::Changes);
        }
        if n == 0 {
            return Err(StoreError::NotFound(format!("access key {access_key_id}")));
        }
        Ok(())
    }

    /// Records an authenticated use. Callers on the hot path may debounce this.
    pub async fn record_last_used(&mut self, access_key_id: &str, used: &LastUsed) -> Result<()> {
        let mut g = self.h.write_conn().await?;
        dispatch!(g.conn(), c => {
            sqlx::query(
                "UPDATE access_keys SET last_used_at_ms = $1, last_used_region = $2,
                    last_used_service = $3 WHERE access_key_id = $4",
            )
            .bind(to_ms(used.at))
            .bind(&used.region)
            .bind(&used.service)
            .bind(access_key_id)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// Deletes a key; `NotFound` if it does not exist.
    pub async fn delete(&mut self, access_key_id: &str) -> Result<()> {
        let mut g = self.h.write_conn().await?;
        let logged = crate::changes::log_access_key(g.conn(), access_key_id).await?;
        let n = dispatch!(g.conn(), c => {
            sqlx::query("DELETE FROM access_keys WHERE access_key_id = $1")
                .bind(access_key_id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        drop(g);
        self.h.touched(Domain::Credentials);
        if logged {
            self.h.touched(Domain::Changes);
        }
        if n == 0 {
            return Err(StoreError::NotFound(format!("access key {access_key_id}")));
        }
        Ok(())
    }

    /// Deletes temporary keys that expired at or before `now`; returns how many.
    pub async fn delete_expired(&mut self, now: DateTime<Utc>) -> Result<u64> {
        let mut g = self.h.write_conn().await?;
        let n = dispatch!(g.conn(), c => {
            sqlx::query("DELETE FROM access_keys WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= $1")
                .bind(to_ms(now))
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        drop(g);
        self.h.touched(Domain::Credentials);
        Ok(n)
    }
}
