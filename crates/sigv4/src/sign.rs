//! Signing (for tests, benchmarks and the load generator): the `Authorization` header form,
//! presigned-URL query strings and `aws-chunked` bodies.

use chrono::{DateTime, Utc};

use crate::canonical::{
    canonical_query, canonical_request, canonical_uri, sha256_hex, string_to_sign, uri_encode,
    Hex32, UriRules,
};
use crate::chunked::{ChunkedMode, TRAILER_SIGNATURE};
use crate::error::SigV4Error;
use crate::parse::{format_amz_date, CredentialScope, ALGORITHM, MAX_PRESIGNED_EXPIRES_SECS};
use crate::secret::{SecretKey, SigningKey};
use crate::RequestParts;

/// Who signs, for which scope, when.
#[derive(Debug, Clone)]
pub struct SigningParams<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret: &'a SecretKey,
    /// The region to sign for.
    pub region: &'a str,
    /// The service signing name (`sts`, `iam`, ...).
    pub service: &'a str,
    /// The signing time.
    pub time: DateTime<Utc>,
    /// A session token for temporary credentials (sent as `X-Amz-Security-Token`, signed).
    pub security_token: Option<&'a str>,
}

impl SigningParams<'_> {
    fn scope(&self) -> CredentialScope {
        CredentialScope {
            date: self.time.format("%Y%m%d").to_string(),
            region: self.region.to_owned(),
            service: self.service.to_owned(),
        }
    }
}

/// The headers a signed request must carry in addition to its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// The `Authorization` header value.
    pub authorization: String,
    /// The `X-Amz-Date` header value.
    pub x_amz_date: String,
    /// The `X-Amz-Security-Token` header value, when signing with a session token.
    pub security_token: Option<String>,
    /// The hex signature alone.
    pub signature: String,
}

impl SignedRequest {
    /// The headers to add, as (lowercase name, value) pairs.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![
            ("authorization", self.authorization.clone()),
            ("x-amz-date", self.x_amz_date.clone()),
        ];
        if let Some(t) = &self.security_token {
            h.push(("x-amz-security-token", t.clone()));
        }
        h
    }
}

/// Headers never signed: the ones the signer sets itself, and the ones the AWS SDKs leave
/// unsigned because proxies may change them.
fn is_unsigned_header(name: &str) -> bool {
    [
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "user-agent",
        "x-amzn-trace-id",
        "expect",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

/// Signs a request in the `Authorization` header form. Every header in `req.headers` is signed
/// (it must include `host`) except `user-agent`, `x-amzn-trace-id` and `expect`, plus `x-amz-date` and `x-amz-security-token`; the payload hash is
/// the SHA-256 of `req.body`.
pub fn sign(
    req: &RequestParts<'_>,
    params: &SigningParams<'_>,
) -> Result<SignedRequest, SigV4Error> {
    sign_with_payload_hash(req, params, &sha256_hex(req.body))
}

/// [`sign`] with the canonical request's payload line given: a hex SHA-256, `UNSIGNED-PAYLOAD`
/// or a `STREAMING-...` form (for an `aws-chunked` body, see [`sign_chunked`]); `req.body` is
/// not read. The caller sends `x-amz-content-sha256` with the same value (put it in
/// `req.headers` to sign it, as the AWS SDKs do).
pub fn sign_with_payload_hash(
    req: &RequestParts<'_>,
    params: &SigningParams<'_>,
    payload_hash: &str,
) -> Result<SignedRequest, SigV4Error> {
    sign_with_uri_rules(req, params, payload_hash, UriRules::default())
}

/// [`sign_with_payload_hash`] with the canonical URI derived by `rules`: S3 signs the path as
/// sent, neither normalized nor encoded twice (`UriRules { normalize: false, double_encode:
/// false }`, as [`crate::VerifyOptions::s3`] checks it).
pub fn sign_with_uri_rules(
    req: &RequestParts<'_>,
    params: &SigningParams<'_>,
    payload_hash: &str,
    rules: UriRules,
) -> Result<SignedRequest, SigV4Error> {
    let x_amz_date = format_amz_date(&params.time);
    let mut headers: Vec<(&str, &[u8])> = req
        .headers
        .iter()
        .filter(|(n, _)| !is_unsigned_header(n))
        .copied()
        .collect();
    headers.push(("x-amz-date", x_amz_date.as_bytes()));
    if let Some(t) = params.security_token {
        headers.push(("x-amz-security-token", t.as_bytes()));
    }
    let mut names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    names.sort_unstable();
    names.dedup();
    if !names.iter().any(|n| n == "host") {
        return Err(SigV4Error::incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    let names = names.join(";");
    let scope = params.scope();
    let creq = canonical_request(
        req.method,
        &canonical_uri(req.path, rules),
        &canonical_query(req.query, false),
        &headers,
        &names,
        payload_hash,
    );
    let sts = string_to_sign(&x_amz_date, &scope, &creq);
    let key = SigningKey::for_scope(params.secret, &scope);
    let signature = Hex32::new(&key.sign(sts.as_bytes())).as_str().to_owned();
    let authorization = format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={signature}",
        params.access_key_id,
        scope.to_scope_string(),
        names,
    );
    Ok(SignedRequest {
        authorization,
        x_amz_date,
        security_token: params.security_token.map(str::to_owned),
        signature,
    })
}

/// Presigns a request: returns the full query string (the request's own query plus the
/// `X-Amz-*` parameters and `X-Amz-Signature`). The headers in `req.headers` (at least `host`)
/// are signed; the payload hash is the SHA-256 of `req.body` (empty for a GET).
pub fn presign(
    req: &RequestParts<'_>,
    params: &SigningParams<'_>,
    expires_secs: u32,
) -> Result<String, SigV4Error> {
    if expires_secs == 0 || expires_secs > MAX_PRESIGNED_EXPIRES_SECS {
        return Err(SigV4Error::incomplete(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ));
    }
    let headers: Vec<(&str, &[u8])> = req
        .headers
        .iter()
        .filter(|(n, _)| !is_unsigned_header(n))
        .copied()
        .collect();
    let mut names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    names.sort_unstable();
    names.dedup();
    if !names.iter().any(|n| n == "host") {
        return Err(SigV4Error::incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    let names = names.join(";");
    let scope = params.scope();
    let x_amz_date = format_amz_date(&params.time);
    let mut query = String::from(req.query);
    let mut add = |k: &str, v: &str| {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(k);
        query.push('=');
        query.push_str(&uri_encode(v));
    };
    add("X-Amz-Algorithm", ALGORITHM);
    add(
        "X-Amz-Credential",
        &format!("{}/{}", params.access_key_id, scope.to_scope_string()),
    );
    add("X-Amz-Date", &x_amz_date);
    add("X-Amz-Expires", &expires_secs.to_string());
    add("X-Amz-SignedHeaders", &names);
    if let Some(t) = params.security_token {
        add("X-Amz-Security-Token", t);
    }
    let creq = canonical_request(
        req.method,
        &canonical_uri(req.path, UriRules::default()),
        &canonical_query(&query, true),
        &headers,
        &names,
        &sha256_hex(req.body),
    );
    let sts = string_to_sign(&x_amz_date, &scope, &creq);
    let key = SigningKey::for_scope(params.secret, &scope);
    let signature = Hex32::new(&key.sign(sts.as_bytes())).as_str().to_owned();
    query.push_str("&X-Amz-Signature=");
    query.push_str(&signature);
    Ok(query)
}

/// Encodes `body` as an `aws-chunked` body in chunks of `chunk_size` bytes (the last one
/// shorter), then the zero-size chunk and, for the trailer forms, `trailers` (with the trailer
/// signature for [`ChunkedMode::Signed`]); `trailers` are not written for the form without a
/// trailer. For a signed mode start the signer at the request's signature
/// ([`crate::chunked::ChunkSigner::new`] with the seed from [`sign_with_payload_hash`]).
pub fn sign_chunked(
    mode: ChunkedMode,
    body: &[u8],
    chunk_size: usize,
    trailers: &[(&str, &str)],
) -> Vec<u8> {
    let chunk_size = chunk_size.max(1);
    // The unverified mode writes signed framing with zero signatures (nothing checks them).
    let (mut signer, with_trailer, zero_signatures) = match mode {
        ChunkedMode::Signed { signer, trailer } => (Some(signer), trailer, false),
        ChunkedMode::UnsignedTrailer => (None, true, false),
        ChunkedMode::Unverified { trailer } => (None, trailer, true),
    };
    let mut out = Vec::with_capacity(body.len() + (body.len() / chunk_size + 2) * 90);
    let mut write_chunk = |out: &mut Vec<u8>, data: &[u8]| {
        out.extend_from_slice(format!("{:X}", data.len()).as_bytes());
        if let Some(s) = &mut signer {
            out.extend_from_slice(b";chunk-signature=");
            out.extend_from_slice(Hex32::new(&s.sign_chunk(data)).as_str().as_bytes());
        } else if zero_signatures {
            out.extend_from_slice(b";chunk-signature=");
            out.extend_from_slice(&[b'0'; 64]);
        }
        out.extend_from_slice(b"\r\n");
        if !data.is_empty() {
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
    };
    for data in body.chunks(chunk_size) {
        write_chunk(&mut out, data);
    }
    write_chunk(&mut out, &[]);
    if with_trailer {
        for (name, value) in trailers {
            out.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
        }
        if let Some(s) = &mut signer {
            let sig = s.sign_trailer(trailers);
            out.extend_from_slice(
                format!("{TRAILER_SIGNATURE}:{}\r\n", Hex32::new(&sig).as_str()).as_bytes(),
            );
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;
    use crate::{parse_request, verify_with_options, VerifyOptions};

    /// A path S3 keeps as sent (a `//`, a `..` segment, an encoded space) verifies under S3's
    /// rules only when signed with them.
    #[test]
    fn s3_rules_sign_the_path_as_sent() {
        let secret = SecretKey::from("secret");
        let time = Utc::now();
        let params = SigningParams {
            access_key_id: "AKIDEXAMPLE",
            secret: &secret,
            region: "us-east-1",
            service: "s3",
            time,
            security_token: None,
        };
        let s3 = UriRules {
            normalize: false,
            double_encode: false,
        };
        let hash = sha256_hex(b"");
        let headers: Vec<(&str, &[u8])> = vec![
            ("host", b"localhost"),
            ("x-amz-content-sha256", hash.as_bytes()),
        ];
        let path = "/bucket/a%20b//../c";
        let req = RequestParts {
            method: "GET",
            path,
            query: "",
            headers: &headers,
            body: b"",
        };
        let verifies = |signed: SignedRequest| {
            let mut all = headers.clone();
            all.push(("authorization", signed.authorization.as_bytes()));
            all.push(("x-amz-date", signed.x_amz_date.as_bytes()));
            let req = RequestParts {
                headers: &all,
                ..req
            };
            let auth = parse_request(&req).unwrap();
            let key = SigningKey::for_scope(&secret, &auth.scope);
            verify_with_options(&auth, &req, &key, time, &VerifyOptions::s3()).is_ok()
        };
        assert!(verifies(
            sign_with_uri_rules(&req, &params, &hash, s3).unwrap()
        ));
        assert!(!verifies(
            sign_with_payload_hash(&req, &params, &hash).unwrap()
        ));
    }
}
