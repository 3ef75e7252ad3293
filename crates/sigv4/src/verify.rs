//! Server-side verification of a parsed SigV4 request: clock window, presigned expiry, payload
//! hash, canonical request, signature (compared in constant time); and a signing-key cache.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Duration, Utc};
use subtle::ConstantTimeEq;

use crate::canonical::{
    canonical_query, canonical_request, canonical_uri, sha256, sha256_hex32, string_to_sign, Hex32,
    UriRules,
};
use crate::error::{Mismatch, SigV4Error};
use crate::parse::{
    format_amz_date, AmzDate, AuthKind, ContentSha256, CredentialScope, ParsedAuth,
    UNSIGNED_PAYLOAD,
};
use crate::secret::{AccessKeyId, SecretKey, SigningKey};
use crate::RequestParts;

/// The clock window AWS allows between the request time and the server's clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(15);

/// What a successful verification proves: who signed, for which scope, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedScope {
    /// The access key id that signed the request.
    pub access_key_id: AccessKeyId,
    /// The client's credential scope (use its region and service; never assume them).
    pub scope: CredentialScope,
    /// The session token sent with the request (the server checks it belongs to the key).
    pub security_token: Option<String>,
    /// The signed request time.
    pub request_time: DateTime<Utc>,
    /// `true` for the presigned-URL form.
    pub presigned: bool,
}

impl VerifiedScope {
    /// What a request whose signature checked out establishes.
    fn of(auth: &ParsedAuth) -> VerifiedScope {
        VerifiedScope {
            access_key_id: auth.access_key_id.clone(),
            scope: auth.scope.clone(),
            security_token: auth.security_token.clone(),
            request_time: auth.request_time,
            presigned: auth.is_presigned(),
        }
    }
}

/// Options for [`verify_with_options`]; the defaults are AWS's rules for every service but S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Canonical URI rules.
    pub uri: UriRules,
    /// The allowed distance between the request time and `now`.
    pub max_skew: Duration,
    /// Accept `UNSIGNED-PAYLOAD` for a request that has a body (the body is then not covered
    /// by the signature). Always accepted for an empty body.
    pub allow_unsigned_payload: bool,
    /// Accept the `aws-chunked` forms of `x-amz-content-sha256` (`STREAMING-...`, S3 only).
    /// When `false` they are refused with `NotImplemented` (501), as every other service does.
    /// The signature then covers the headers only (the payload line is the form's name); the
    /// caller checks the chunks with [`crate::chunked::ChunkedDecoder`].
    pub allow_streaming: bool,
    /// Check the signature without reading `req.body` (the server streams the body later):
    /// a hex `x-amz-content-sha256` is taken as the payload line as claimed, and the caller
    /// compares it with the SHA-256 of the body it streams ([`ParsedAuth::claimed_sha256`]);
    /// `UNSIGNED-PAYLOAD` is accepted whatever the body; a presigned URL without
    /// `x-amz-content-sha256` is checked as `UNSIGNED-PAYLOAD` (S3's rule); a header-signed
    /// request without it is refused (`InvalidArgument`), since its payload hash is unknown.
    pub defer_payload: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            uri: UriRules::default(),
            max_skew: MAX_CLOCK_SKEW,
            allow_unsigned_payload: false,
            allow_streaming: false,
            defer_payload: false,
        }
    }
}

impl VerifyOptions {
    /// S3's rules: no path normalisation, single URI encoding, unsigned payloads and streaming
    /// bodies accepted, the payload checked by the caller as it streams (`defer_payload`).
    pub fn s3() -> Self {
        Self {
            uri: UriRules {
                normalize: false,
                double_encode: false,
            },
            max_skew: MAX_CLOCK_SKEW,
            allow_unsigned_payload: true,
            allow_streaming: true,
            defer_payload: true,
        }
    }
}

/// Verifies a request signed with `secret` (derives the signing key; see
/// [`verify_with_key`] and [`SigningKeyCache`] to reuse it).
pub fn verify(
    auth: &ParsedAuth,
    req: &RequestParts<'_>,
    secret: &SecretKey,
    now: DateTime<Utc>,
) -> Result<VerifiedScope, SigV4Error> {
    check_time(auth, now, MAX_CLOCK_SKEW)?; // before the (comparatively costly) key derivation
    let key = SigningKey::for_scope(secret, &auth.scope);
    verify_signature(auth, req, &key, &VerifyOptions::default())
}

/// Verifies a request with an already derived signing key for `auth.scope`.
pub fn verify_with_key(
    auth: &ParsedAuth,
    req: &RequestParts<'_>,
    key: &SigningKey,
    now: DateTime<Utc>,
) -> Result<VerifiedScope, SigV4Error> {
    verify_with_options(auth, req, key, now, &VerifyOptions::default())
}

/// Checks the request time: the credential scope date, the 15-minute window and, for
/// presigned URLs, `X-Amz-Expires`.
pub fn check_time(
    auth: &ParsedAuth,
    now: DateTime<Utc>,
    max_skew: Duration,
) -> Result<(), SigV4Error> {
    let t = auth.request_time;
    let formatted = AmzDate::new(&t);
    let request_date = formatted.as_str().get(..8).unwrap_or_default();
    if auth.scope.date != request_date {
        let request_date = request_date.to_owned();
        let amz_date = format_amz_date(&t);
        return Err(SigV4Error::SignatureDoesNotMatch(Mismatch::ScopeDate {
            scope_date: auth.scope.date.clone(),
            request_date,
            amz_date,
        }));
    }
    let latest = now
        .checked_add_signed(max_skew)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let earliest = now
        .checked_sub_signed(max_skew)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    if t > latest {
        return Err(SigV4Error::SignatureDoesNotMatch(Mismatch::NotYetCurrent {
            signed_at: format_amz_date(&t),
            latest: format_amz_date(&latest),
            now: format_amz_date(&now),
        }));
    }
    match auth.kind {
        AuthKind::Presigned {
            expires_secs: Some(expires_secs),
        } => {
            let expiry = t
                .checked_add_signed(Duration::seconds(i64::from(expires_secs)))
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            if now > expiry {
                return Err(SigV4Error::RequestExpired {
                    signed_at: format_amz_date(&t),
                    expires_secs,
                });
            }
        }
        AuthKind::Header | AuthKind::Presigned { expires_secs: None } => {
            if t < earliest {
                return Err(SigV4Error::SignatureDoesNotMatch(Mismatch::Expired {
                    signed_at: format_amz_date(&t),
                    earliest: format_amz_date(&earliest),
                    now: format_amz_date(&now),
                }));
            }
        }
    }
    Ok(())
}

/// The payload-hash lines to try, in order (two only for a presigned URL without
/// `x-amz-content-sha256` and with an empty body: the empty hash and `UNSIGNED-PAYLOAD`).
struct PayloadCandidates<'a> {
    first: PayloadHash<'a>,
    also_unsigned: bool,
}

/// A payload-hash line: as the client sent it, computed here, or `UNSIGNED-PAYLOAD`.
enum PayloadHash<'a> {
    Given(&'a str),
    Computed(Hex32),
}

impl PayloadHash<'_> {
    fn as_str(&self) -> &str {
        match self {
            PayloadHash::Given(s) => s,
            PayloadHash::Computed(h) => h.as_str(),
        }
    }
}

fn payload_candidates<'a>(
    auth: &'a ParsedAuth,
    req: &RequestParts<'_>,
    opts: &VerifyOptions,
) -> Result<PayloadCandidates<'a>, SigV4Error> {
    let only = |first| PayloadCandidates {
        first,
        also_unsigned: false,
    };
    match &auth.content_sha256 {
        Some(ContentSha256::Hash(h)) => {
            if !opts.defer_payload {
                let claimed = hex::decode(h).map_err(|_| SigV4Error::XAmzContentSHA256Mismatch)?;
                let actual = sha256(req.body);
                if !bool::from(claimed.as_slice().ct_eq(&actual[..])) {
                    return Err(SigV4Error::XAmzContentSHA256Mismatch);
                }
            }
            Ok(only(PayloadHash::Given(h)))
        }
        Some(ContentSha256::Unsigned) => {
            if !opts.defer_payload && !req.body.is_empty() && !opts.allow_unsigned_payload {
                return Err(SigV4Error::InvalidArgument {
                    message: "UNSIGNED-PAYLOAD is not accepted for a request with a body; sign the payload.".to_owned(),
                });
            }
            Ok(only(PayloadHash::Given(UNSIGNED_PAYLOAD)))
        }
        Some(ContentSha256::Streaming(form)) => {
            if !opts.allow_streaming {
                return Err(SigV4Error::NotImplemented {
                    what: format!("x-amz-content-sha256: {}", form.as_str()),
                });
            }
            if auth.is_presigned() {
                // The chunk signatures chain from a header signature (AWS's chunked upload is
                // defined for the Authorization header form only).
                return Err(SigV4Error::InvalidArgument {
                    message: format!(
                        "x-amz-content-sha256: {} requires the Authorization header form.",
                        form.as_str()
                    ),
                });
            }
            Ok(only(PayloadHash::Given(form.as_str())))
        }
        None if opts.defer_payload => {
            if auth.is_presigned() {
                Ok(only(PayloadHash::Given(UNSIGNED_PAYLOAD)))
            } else {
                Err(SigV4Error::InvalidArgument {
                    message: "Missing required header for this request: x-amz-content-sha256"
                        .to_owned(),
                })
            }
        }
        None => Ok(PayloadCandidates {
            first: PayloadHash::Computed(sha256_hex32(req.body)),
            also_unsigned: auth.is_presigned()
                && (req.body.is_empty() || opts.allow_unsigned_payload),
        }),
    }
}

/// Verifies with explicit options (URI rules, skew, unsigned payloads).
pub fn verify_with_options(
    auth: &ParsedAuth,
    req: &RequestParts<'_>,
    key: &SigningKey,
    now: DateTime<Utc>,
    opts: &VerifyOptions,
) -> Result<VerifiedScope, SigV4Error> {
    check_time(auth, now, opts.max_skew)?;
    verify_signature(auth, req, key, opts)
}

/// The signature check alone (the caller has run [`check_time`]).
fn verify_signature(
    auth: &ParsedAuth,
    req: &RequestParts<'_>,
    key: &SigningKey,
    opts: &VerifyOptions,
) -> Result<VerifiedScope, SigV4Error> {
    check_signature(auth, req, key, opts)?;
    Ok(VerifiedScope::of(auth))
}

/// [`verify_signature`] without building the [`VerifiedScope`].
fn check_signature(
    auth: &ParsedAuth,
    req: &RequestParts<'_>,
    key: &SigningKey,
    opts: &VerifyOptions,
) -> Result<(), SigV4Error> {
    let provided = decode_signature(&auth.signature)
        .ok_or(SigV4Error::SignatureDoesNotMatch(Mismatch::Signature))?;
    let uri = canonical_uri(req.path, opts.uri);
    let query = canonical_query(req.query, auth.is_presigned());
    let amz_date = AmzDate::new(&auth.request_time);
    let candidates = payload_candidates(auth, req, opts)?;
    let unsigned = PayloadHash::Given(UNSIGNED_PAYLOAD);
    let second = candidates.also_unsigned.then_some(&unsigned);
    let mut ok = subtle::Choice::from(0u8);
    for payload in std::iter::once(&candidates.first).chain(second) {
        let creq = canonical_request(
            req.method,
            &uri,
            &query,
            req.headers,
            auth.signed_headers.as_str(),
            payload.as_str(),
        );
        let sts = string_to_sign(amz_date.as_str(), &auth.scope, &creq);
        let computed = key.sign(sts.as_bytes());
        ok |= computed.ct_eq(&provided);
    }
    if !bool::from(ok) {
        return Err(SigV4Error::SignatureDoesNotMatch(Mismatch::Signature));
    }
    Ok(())
}

fn decode_signature(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// The keys derived for one access key: (scope, secret it was derived from, key).
type Derived = Vec<(CredentialScope, SecretKey, SigningKey)>;

/// A bounded, thread-safe cache of derived signing keys per (access key, date, region,
/// service). Each entry remembers the secret it was derived from and is used only when the
/// secret given on lookup is the same (compared in constant time), so a rotated or replaced
/// secret never reuses a stale key.
#[derive(Debug)]
pub struct SigningKeyCache {
    capacity: usize,
    /// Looked up by `&str` so that a hit allocates nothing; an access key has a few scopes
    /// at most (a date, a region, a service), scanned in turn.
    entries: RwLock<Entries>,
}

/// The cached keys and their count.
#[derive(Debug, Default)]
struct Entries {
    by_key: HashMap<AccessKeyId, Derived>,
    count: usize,
}

impl Entries {
    /// The key cached for `(akid, scope)`, if it was derived from `secret`.
    fn get(
        &self,
        akid: &AccessKeyId,
        secret: &SecretKey,
        scope: &CredentialScope,
    ) -> Option<&SigningKey> {
        let (_, s, k) = self
            .by_key
            .get(akid.as_str())?
            .iter()
            .find(|(s, _, _)| s == scope)?;
        s.ct_eq(secret).then_some(k)
    }
}

impl SigningKeyCache {
    /// A cache holding at most `capacity` keys (cleared wholesale when full).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: RwLock::new(Entries::default()),
        }
    }

    /// The signing key for `(akid, scope)` under `secret`, derived on a miss.
    pub fn get_or_derive(
        &self,
        akid: &AccessKeyId,
        secret: &SecretKey,
        scope: &CredentialScope,
    ) -> SigningKey {
        if let Ok(map) = self.entries.read() {
            if let Some(k) = map.get(akid, secret, scope) {
                return k.clone();
            }
        }
        let derived = SigningKey::for_scope(secret, scope);
        if let Ok(mut map) = self.entries.write() {
            if map.count >= self.capacity {
                *map = Entries::default();
            }
            let keys = map.by_key.entry(akid.clone()).or_default();
            let before = keys.len();
            keys.retain(|(s, _, _)| s != scope);
            keys.push((scope.clone(), secret.clone(), derived.clone()));
            let after = keys.len();
            map.count = map.count + after - before;
        }
        derived
    }

    /// Drops every cached key of an access key (call when it is deleted or deactivated).
    pub fn invalidate(&self, akid: &AccessKeyId) {
        if let Ok(mut map) = self.entries.write() {
            let removed = map.by_key.remove(akid).map_or(0, |keys| keys.len());
            map.count -= removed;
        }
    }

    /// Number of cached keys.
    pub fn len(&self) -> usize {
        self.entries.read().map(|m| m.count).unwrap_or(0)
    }

    /// `true` when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Verifies using a cached signing key.
    pub fn verify(
        &self,
        auth: &ParsedAuth,
        req: &RequestParts<'_>,
        secret: &SecretKey,
        now: DateTime<Utc>,
    ) -> Result<VerifiedScope, SigV4Error> {
        self.check(auth, req, secret, now)?;
        Ok(VerifiedScope::of(auth))
    }

    /// [`Self::verify`] for a caller that already holds the parsed request and needs no
    /// [`VerifiedScope`] copy of it.
    pub fn check(
        &self,
        auth: &ParsedAuth,
        req: &RequestParts<'_>,
        secret: &SecretKey,
        now: DateTime<Utc>,
    ) -> Result<(), SigV4Error> {
        self.check_with_options(auth, req, secret, now, &VerifyOptions::default())
    }

    /// [`Self::check`] with explicit options (S3: [`VerifyOptions::s3`]). A streaming body's
    /// chunks need the signing key too: [`Self::get_or_derive`] gives it from the cache, and
    /// [`crate::chunked::ChunkedMode::for_request`] the decoder's mode.
    pub fn check_with_options(
        &self,
        auth: &ParsedAuth,
        req: &RequestParts<'_>,
        secret: &SecretKey,
        now: DateTime<Utc>,
        opts: &VerifyOptions,
    ) -> Result<(), SigV4Error> {
        check_time(auth, now, opts.max_skew)?;
        // On a hit, verify with the cached key in place (cloning its HMAC state costs more
        // than holding the read lock for the verification).
        if let Ok(map) = self.entries.read() {
            if let Some(key) = map.get(&auth.access_key_id, secret, &auth.scope) {
                return check_signature(auth, req, key, opts);
            }
        }
        let key = self.get_or_derive(&auth.access_key_id, secret, &auth.scope);
        check_signature(auth, req, &key, opts)
    }
}

impl Default for SigningKeyCache {
    fn default() -> Self {
        Self::new(10_000)
    }
}
