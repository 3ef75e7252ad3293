//! Parsing the SigV4 parts of a request (the `Authorization` header or the presigned-URL query
//! parameters, the request date, the session token and `x-amz-content-sha256`) into a
//! [`ParsedAuth`], without any key lookup.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::error::SigV4Error;
use crate::secret::AccessKeyId;
use crate::RequestParts;

/// The only signing algorithm supported: `AWS4-HMAC-SHA256`.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The credential scope terminator.
pub const TERMINATOR: &str = "aws4_request";
/// The longest presigned URL lifetime AWS accepts: 7 days, in seconds.
pub const MAX_PRESIGNED_EXPIRES_SECS: u32 = 604_800;
/// The `x-amz-content-sha256` value that leaves the payload out of the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// ISO 8601 basic format used by `X-Amz-Date`.
pub(crate) const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// The SigV4a (ECDSA) streaming forms: recognised, not implemented.
const ECDSA_STREAMING_FORMS: &[&str] = &[
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
];

/// The credential scope the client signed with: `date/region/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CredentialScope {
    /// `YYYYMMDD` as the client wrote it.
    pub date: String,
    /// The region the client signed for (never assumed by the server).
    pub region: String,
    /// The signing name of the service (`sts`, `iam`, `kms`, ...).
    pub service: String,
}

impl CredentialScope {
    /// The scope line of the string to sign: `date/region/service/aws4_request`.
    pub fn to_scope_string(&self) -> String {
        let mut out = String::with_capacity(
            self.date.len() + self.region.len() + self.service.len() + TERMINATOR.len() + 3,
        );
        self.push_scope_string(&mut out);
        out
    }

    /// Appends [`Self::to_scope_string`] to `out`.
    pub fn push_scope_string(&self, out: &mut String) {
        for part in [
            &self.date,
            "/",
            &self.region,
            "/",
            &self.service,
            "/",
            TERMINATOR,
        ] {
            out.push_str(part);
        }
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader {
    /// The access key id from `Credential=`.
    pub access_key_id: AccessKeyId,
    /// The scope from `Credential=`.
    pub scope: CredentialScope,
    /// `SignedHeaders=`, lowercased, in the client's order.
    pub signed_headers: SignedHeaders,
    /// `Signature=` as given (hex).
    pub signature: String,
}

/// Which form carried the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// The `Authorization` header.
    Header,
    /// Presigned-URL query parameters; `expires_secs` is `X-Amz-Expires` when given.
    Presigned {
        /// `X-Amz-Expires` (1..=604800) if present.
        expires_secs: Option<u32>,
    },
}

/// The value of the `x-amz-content-sha256` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentSha256 {
    /// A hex SHA-256 of the body, as the client wrote it (must match the body).
    Hash(String),
    /// `UNSIGNED-PAYLOAD`.
    Unsigned,
    /// An `aws-chunked` body (S3 only; refused unless [`crate::VerifyOptions::allow_streaming`]).
    Streaming(StreamingForm),
}

/// The `aws-chunked` payload forms of `x-amz-content-sha256` (S3's chunked uploads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamingForm {
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: every chunk signed, no trailer.
    SignedPayload,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: every chunk and the trailer signed.
    SignedPayloadTrailer,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: unsigned chunks, an unsigned trailer (usually a
    /// checksum the server must check).
    UnsignedPayloadTrailer,
}

impl StreamingForm {
    /// Every form, in the order AWS documents them.
    pub const ALL: [StreamingForm; 3] = [
        StreamingForm::SignedPayload,
        StreamingForm::SignedPayloadTrailer,
        StreamingForm::UnsignedPayloadTrailer,
    ];

    /// The header value, which is also the canonical request's payload line.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamingForm::SignedPayload => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            StreamingForm::SignedPayloadTrailer => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
            StreamingForm::UnsignedPayloadTrailer => "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        }
    }

    /// The form named by a header value, if it is one of the three.
    pub fn from_header_value(v: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == v)
    }

    /// `true` when the chunks carry signatures.
    pub fn is_signed(self) -> bool {
        !matches!(self, StreamingForm::UnsignedPayloadTrailer)
    }

    /// `true` when trailing headers follow the last chunk.
    pub fn has_trailer(self) -> bool {
        !matches!(self, StreamingForm::SignedPayload)
    }
}

/// Everything SigV4 needs from a request, parsed without any key lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuth {
    /// The access key id the server must look up.
    pub access_key_id: AccessKeyId,
    /// The client's credential scope (date, region, service).
    pub scope: CredentialScope,
    /// Lowercased signed header names in the client's order (always includes `host`).
    pub signed_headers: SignedHeaders,
    /// The signature as given (hex).
    pub signature: String,
    /// `X-Amz-Security-Token` (header or query), for temporary credentials.
    pub security_token: Option<String>,
    /// The request time from `X-Amz-Date` (or the `Date` header).
    pub request_time: DateTime<Utc>,
    /// Header or presigned form.
    pub kind: AuthKind,
    /// The `x-amz-content-sha256` header, if sent.
    pub content_sha256: Option<ContentSha256>,
}

impl ParsedAuth {
    /// The request time in ISO 8601 basic format (the string to sign's second line).
    pub fn amz_date(&self) -> String {
        format_amz_date(&self.request_time)
    }

    /// `true` for the presigned-URL form.
    pub fn is_presigned(&self) -> bool {
        matches!(self.kind, AuthKind::Presigned { .. })
    }

    /// The `aws-chunked` form the body is sent in, if any.
    pub fn streaming_form(&self) -> Option<StreamingForm> {
        match self.content_sha256 {
            Some(ContentSha256::Streaming(f)) => Some(f),
            _ => None,
        }
    }

    /// The body's SHA-256 as claimed by `x-amz-content-sha256` (a hex hash), for a caller that
    /// verified with [`crate::VerifyOptions::defer_payload`] and hashes the body as it streams.
    pub fn claimed_sha256(&self) -> Option<[u8; 32]> {
        let Some(ContentSha256::Hash(h)) = &self.content_sha256 else {
            return None;
        };
        let mut out = [0u8; 32];
        hex::decode_to_slice(h, &mut out).ok()?;
        Some(out)
    }
}

/// Formats a time as `YYYYMMDDTHHMMSSZ`.
pub fn format_amz_date(t: &DateTime<Utc>) -> String {
    AmzDate::new(t).as_str().to_owned()
}

/// A time formatted as `YYYYMMDDTHHMMSSZ`, on the stack for years 0..=9999 (every request
/// formats one or two of these).
pub enum AmzDate {
    /// The usual case.
    Inline([u8; 16]),
    /// Years outside 0..=9999, as chrono formats them.
    Other(String),
}

impl AmzDate {
    /// Formats `t`.
    pub fn new(t: &DateTime<Utc>) -> Self {
        use chrono::{Datelike, Timelike};
        let year = match u32::try_from(t.year()) {
            Ok(y) if y <= 9999 => y,
            _ => return AmzDate::Other(t.format(AMZ_DATE_FORMAT).to_string()),
        };
        let mut out = [b'0'; 16];
        let fields = [
            (0, year, 4),
            (4, t.month(), 2),
            (6, t.day(), 2),
            (9, t.hour(), 2),
            (11, t.minute(), 2),
            (13, t.second(), 2),
        ];
        for (at, value, width) in fields {
            let mut v = value;
            for slot in out.iter_mut().skip(at).take(width).rev() {
                *slot = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        if let Some(t) = out.get_mut(8) {
            *t = b'T';
        }
        if let Some(z) = out.get_mut(15) {
            *z = b'Z';
        }
        AmzDate::Inline(out)
    }

    /// The formatted text.
    pub fn as_str(&self) -> &str {
        match self {
            // Only ASCII digits, `T` and `Z` are written.
            AmzDate::Inline(b) => std::str::from_utf8(b).unwrap_or_default(),
            AmzDate::Other(s) => s,
        }
    }
}

/// Parses `YYYYMMDDTHHMMSSZ` strictly (as chrono parses `%Y%m%dT%H%M%SZ`, a second of 60
/// being a leap second, without its format-string interpreter: this runs for every request).
pub fn parse_amz_date(s: &str) -> Option<DateTime<Utc>> {
    let b: &[u8; 16] = s.as_bytes().try_into().ok()?;
    let well_formed = b.iter().enumerate().all(|(i, &c)| match i {
        8 => c == b'T',
        15 => c == b'Z',
        _ => c.is_ascii_digit(),
    });
    if !well_formed {
        return None;
    }
    let num = |from: usize, len: usize| {
        b.iter()
            .skip(from)
            .take(len)
            .fold(0u32, |n, c| n * 10 + u32::from(c - b'0'))
    };
    let year = i32::try_from(num(0, 4)).ok()?;
    let date = chrono::NaiveDate::from_ymd_opt(year, num(4, 2), num(6, 2))?;
    let (second, nano) = match num(13, 2) {
        60 => (59, 1_000_000_000),
        s => (s, 0),
    };
    let time = chrono::NaiveTime::from_hms_nano_opt(num(9, 2), num(11, 2), second, nano)?;
    Some(NaiveDateTime::new(date, time).and_utc())
}

fn bad_date(value: &str) -> SigV4Error {
    SigV4Error::incomplete(format!(
        "Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
    ))
}

/// The first value of a header (case-insensitive name), if any.
pub(crate) fn header<'a>(req: &RequestParts<'a>, name: &str) -> Option<&'a [u8]> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

fn header_str<'a>(req: &RequestParts<'a>, name: &str) -> Result<Option<&'a str>, SigV4Error> {
    match header(req, name) {
        None => Ok(None),
        Some(v) => std::str::from_utf8(v).map(|s| Some(s.trim())).map_err(|_| {
            SigV4Error::incomplete(format!("The '{name}' header is not valid UTF-8."))
        }),
    }
}

struct RawParams<'a> {
    credential: Option<&'a str>,
    signed_headers: Option<&'a str>,
    signature: Option<&'a str>,
}

fn split_params(rest: &str) -> RawParams<'_> {
    let mut p = RawParams {
        credential: None,
        signed_headers: None,
        signature: None,
    };
    for part in rest.split(',') {
        let part = part.trim();
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "Credential" => p.credential = Some(v),
            "SignedHeaders" => p.signed_headers = Some(v),
            "Signature" => p.signature = Some(v),
            _ => {}
        }
    }
    p
}

fn missing_messages(p: &RawParams<'_>, date_missing: bool) -> String {
    let mut msg = String::new();
    if p.credential.is_none() {
        msg.push_str("Authorization header requires 'Credential' parameter. ");
    }
    if p.signature.is_none() {
        msg.push_str("Authorization header requires 'Signature' parameter. ");
    }
    if p.signed_headers.is_none() {
        msg.push_str("Authorization header requires 'SignedHeaders' parameter. ");
    }
    if date_missing {
        msg.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    msg
}

/// Parses `keyid/date/region/service/aws4_request`.
pub fn parse_credential(credential: &str) -> Result<(AccessKeyId, CredentialScope), SigV4Error> {
    let mut parts = credential.split('/');
    let mut next = || parts.next();
    let fields = (next(), next(), next(), next(), next(), next());
    let (Some(akid), Some(date), Some(region), Some(service), Some(term), None) = fields else {
        return Err(SigV4Error::incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };
    if akid.is_empty() {
        return Err(SigV4Error::incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    }
    if term != TERMINATOR {
        return Err(SigV4Error::incomplete(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{term}'."
        )));
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SigV4Error::incomplete(format!(
            "Credential should be scoped to a valid date (YYYYMMDD), not '{date}'."
        )));
    }
    if region.is_empty() {
        return Err(SigV4Error::incomplete(
            "Credential should be scoped to a valid region, not ''. ",
        ));
    }
    if service.is_empty() {
        return Err(SigV4Error::incomplete(
            "Credential should be scoped to correct service: ''. ",
        ));
    }
    Ok((
        AccessKeyId::new(akid),
        CredentialScope {
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        },
    ))
}

/// `SignedHeaders`: the lowercased names in the client's order, kept `;`-joined as the
/// canonical request writes them (one string per request instead of one per name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders(String);

impl SignedHeaders {
    /// The names joined by `;` (the canonical request's signed-headers line).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.split(';')
    }
}

/// Parses `SignedHeaders` (`a;b;c`), lowercasing; `host` must be among them.
pub fn parse_signed_headers(value: &str) -> Result<SignedHeaders, SigV4Error> {
    let mut joined = String::with_capacity(value.len());
    let mut has_host = false;
    for name in value.split(';').map(str::trim) {
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(SigV4Error::incomplete(format!(
                "Invalid SignedHeaders value: '{value}'."
            )));
        }
        if !joined.is_empty() {
            joined.push(';');
        }
        let start = joined.len();
        joined.push_str(name);
        let added = &mut joined[start..];
        added.make_ascii_lowercase();
        has_host |= matches!(&*added, "host" | ":authority");
    }
    if !has_host {
        return Err(SigV4Error::incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    Ok(SignedHeaders(joined))
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:".contains(&b)
}

/// Parses an `Authorization` header value (header form only; the date is checked by
/// [`parse_request`]).
pub fn parse_authorization(value: &str) -> Result<AuthorizationHeader, SigV4Error> {
    parse_authorization_inner(value, false)
}

fn parse_authorization_inner(
    value: &str,
    date_missing: bool,
) -> Result<AuthorizationHeader, SigV4Error> {
    let value = value.trim();
    let (algorithm, rest) = match value.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((a, r)) => (a, r),
        None => (value, ""),
    };
    if algorithm != ALGORITHM && algorithm.starts_with("AWS4-") {
        return Err(SigV4Error::incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'."
        )));
    }
    let params = if algorithm == ALGORITHM {
        split_params(rest)
    } else {
        RawParams {
            credential: None,
            signed_headers: None,
            signature: None,
        }
    };
    let missing = missing_messages(&params, date_missing);
    let (Some(credential), Some(signed_headers), Some(signature), true) = (
        params.credential,
        params.signed_headers,
        params.signature,
        missing.is_empty(),
    ) else {
        return Err(SigV4Error::incomplete(format!(
            "{missing}Authorization={value}"
        )));
    };
    let (access_key_id, scope) = parse_credential(credential)?;
    let signed_headers = parse_signed_headers(signed_headers)?;
    Ok(AuthorizationHeader {
        access_key_id,
        scope,
        signed_headers,
        signature: signature.to_owned(),
    })
}

/// Splits a raw query string into percent-decoded `(name, value)` pairs (`+` is kept as is).
pub fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k), decode(v))
    })
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The presigned-URL parameters, percent-decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresignedParams {
    /// `X-Amz-Algorithm`.
    pub algorithm: Option<String>,
    /// `X-Amz-Credential`.
    pub credential: Option<String>,
    /// `X-Amz-Date`.
    pub date: Option<String>,
    /// `X-Amz-Expires`.
    pub expires: Option<String>,
    /// `X-Amz-SignedHeaders`.
    pub signed_headers: Option<String>,
    /// `X-Amz-Signature`.
    pub signature: Option<String>,
    /// `X-Amz-Security-Token`.
    pub security_token: Option<String>,
}

/// Extracts presigned-URL parameters; `None` when the query has no `X-Amz-Algorithm`.
pub fn parse_presigned_query(query: &str) -> Option<PresignedParams> {
    if !query.contains("X-Amz-Algorithm") {
        return None;
    }
    let mut p = PresignedParams::default();
    for (k, v) in query_pairs(query) {
        let slot = match k.as_str() {
            "X-Amz-Algorithm" => &mut p.algorithm,
            "X-Amz-Credential" => &mut p.credential,
            "X-Amz-Date" => &mut p.date,
            "X-Amz-Expires" => &mut p.expires,
            "X-Amz-SignedHeaders" => &mut p.signed_headers,
            "X-Amz-Signature" => &mut p.signature,
            "X-Amz-Security-Token" => &mut p.security_token,
            _ => continue,
        };
        slot.get_or_insert(v);
    }
    p.algorithm.is_some().then_some(p)
}

fn parse_content_sha256(req: &RequestParts<'_>) -> Result<Option<ContentSha256>, SigV4Error> {
    let Some(v) = header_str(req, "x-amz-content-sha256")? else {
        return Ok(None);
    };
    if v == UNSIGNED_PAYLOAD {
        return Ok(Some(ContentSha256::Unsigned));
    }
    if let Some(form) = StreamingForm::from_header_value(v) {
        return Ok(Some(ContentSha256::Streaming(form)));
    }
    if ECDSA_STREAMING_FORMS.contains(&v) {
        return Err(SigV4Error::NotImplemented {
            what: format!("x-amz-content-sha256: {v} (SigV4a chunk signing)"),
        });
    }
    if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Some(ContentSha256::Hash(v.to_owned())));
    }
    Err(SigV4Error::InvalidArgument {
        message: format!(
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, {}, {} or a valid sha256 value; got '{v}'.",
            StreamingForm::ALL.map(StreamingForm::as_str).join(", "),
            ECDSA_STREAMING_FORMS.join(", ")
        ),
    })
}

fn parse_expires(v: &str) -> Result<u32, SigV4Error> {
    let n: i64 = v
        .parse()
        .map_err(|_| SigV4Error::incomplete("X-Amz-Expires should be a number"))?;
    if n < 0 {
        return Err(SigV4Error::incomplete("X-Amz-Expires must be non-negative"));
    }
    if n > i64::from(MAX_PRESIGNED_EXPIRES_SECS) {
        return Err(SigV4Error::incomplete(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ));
    }
    u32::try_from(n).map_err(|_| SigV4Error::incomplete("X-Amz-Expires should be a number"))
}

fn parse_presigned(p: PresignedParams) -> Result<ParsedAuth, SigV4Error> {
    let (Some(algorithm), Some(credential), Some(date), Some(signed_headers), Some(signature)) = (
        p.algorithm,
        p.credential,
        p.date,
        p.signed_headers,
        p.signature,
    ) else {
        return Err(SigV4Error::incomplete(
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date' and 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.",
        ));
    };
    if algorithm != ALGORITHM {
        return Err(SigV4Error::incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'."
        )));
    }
    let (access_key_id, scope) = parse_credential(&credential)?;
    let signed_headers = parse_signed_headers(&signed_headers)?;
    let request_time = parse_amz_date(&date).ok_or_else(|| bad_date(&date))?;
    let expires_secs = p.expires.as_deref().map(parse_expires).transpose()?;
    Ok(ParsedAuth {
        access_key_id,
        scope,
        signed_headers,
        signature,
        security_token: p.security_token,
        request_time,
        kind: AuthKind::Presigned { expires_secs },
        content_sha256: None,
    })
}

fn header_request_time(req: &RequestParts<'_>) -> Result<Option<DateTime<Utc>>, SigV4Error> {
    if let Some(v) = header_str(req, "x-amz-date")? {
        return parse_amz_date(v).map(Some).ok_or_else(|| bad_date(v));
    }
    if let Some(v) = header_str(req, "date")? {
        return DateTime::parse_from_rfc2822(v)
            .map(|d| Some(d.with_timezone(&Utc)))
            .map_err(|_| bad_date(v));
    }
    Ok(None)
}

/// Parses the SigV4 parts of a request: the `Authorization` header or the presigned query.
///
/// Errors: `MissingAuthenticationToken` when the request carries neither (the server lets the
/// operations AWS leaves unsigned through on that code), `IncompleteSignature` for missing or
/// malformed parts, `InvalidArgument`/`NotImplemented` for `x-amz-content-sha256` values.
pub fn parse_request(req: &RequestParts<'_>) -> Result<ParsedAuth, SigV4Error> {
    let authorization = header_str(req, "authorization")?;
    let presigned = parse_presigned_query(req.query);
    let content_sha256 = parse_content_sha256(req)?;
    match (authorization, presigned) {
        (Some(_), Some(_)) => Err(SigV4Error::InvalidArgument {
            message: "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified".to_owned(),
        }),
        (None, Some(p)) => {
            let mut parsed = parse_presigned(p)?;
            parsed.content_sha256 = content_sha256;
            Ok(parsed)
        }
        (None, None) => Err(SigV4Error::MissingAuthenticationToken),
        (Some(value), None) => {
            let time = header_request_time(req)?;
            let auth = parse_authorization_inner(value, time.is_none())?;
            let request_time = time.ok_or_else(|| {
                SigV4Error::incomplete(format!(
                    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={value}"
                ))
            })?;
            let security_token = header_str(req, "x-amz-security-token")?.map(str::to_owned);
            Ok(ParsedAuth {
                access_key_id: auth.access_key_id,
                scope: auth.scope,
                signed_headers: auth.signed_headers,
                signature: auth.signature,
                security_token,
                request_time,
                kind: AuthKind::Header,
                content_sha256,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    #[test]
    fn parses_good_header() {
        let a = parse_authorization(GOOD).unwrap();
        assert_eq!(a.access_key_id.as_str(), "AKIDEXAMPLE");
        assert_eq!(a.scope.region, "us-east-1");
        assert_eq!(a.scope.service, "service");
        assert_eq!(
            a.scope.to_scope_string(),
            "20150830/us-east-1/service/aws4_request"
        );
        assert_eq!(a.signed_headers.as_str(), "host;x-amz-date");
        assert_eq!(
            a.signed_headers.names().collect::<Vec<_>>(),
            ["host", "x-amz-date"]
        );
    }

    #[test]
    fn tolerates_no_space_after_comma() {
        let a = parse_authorization(&GOOD.replace(", ", ",")).unwrap();
        assert_eq!(a.signed_headers.names().count(), 2);
    }

    #[test]
    fn missing_everything_lists_all() {
        let e = parse_authorization_inner("Basic abc", true).unwrap_err();
        assert_eq!(e.code(), "IncompleteSignature");
        assert_eq!(
            e.to_string(),
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Basic abc"
        );
    }

    #[test]
    fn missing_signature() {
        let e = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/sts/aws4_request, SignedHeaders=host",
        )
        .unwrap_err();
        assert!(e
            .to_string()
            .starts_with("Authorization header requires 'Signature' parameter. Authorization="));
    }

    #[test]
    fn signed_headers_are_trimmed_lowercased_and_kept_in_order() {
        let h = parse_signed_headers(" X-Amz-Date ;Host;content-TYPE").unwrap();
        assert_eq!(h.as_str(), "x-amz-date;host;content-type");
        assert_eq!(
            h.names().collect::<Vec<_>>(),
            ["x-amz-date", "host", "content-type"]
        );
        assert_eq!(
            parse_signed_headers(":authority").unwrap().as_str(),
            ":authority"
        );
        // `host` must be a whole name, not a prefix of one.
        assert!(parse_signed_headers("hostname;x-amz-date").is_err());
        assert!(parse_signed_headers("host;x y").is_err());
        assert!(parse_signed_headers("").is_err());
    }

    #[test]
    fn bad_credentials() {
        for (cred, want) in [
            ("AKID/20150830/us-east-1/sts", "exactly 5"),
            (
                "AKID/20150830/us-east-1/sts/aws4_requestx",
                "valid terminator",
            ),
            ("AKID/2015083/us-east-1/sts/aws4_request", "valid date"),
            ("AKID/20150830//sts/aws4_request", "valid region"),
        ] {
            let e = parse_credential(cred).unwrap_err();
            assert!(e.to_string().contains(want), "{cred}: {e}");
        }
    }

    #[test]
    fn host_must_be_signed() {
        let e = parse_signed_headers("content-type;x-amz-date").unwrap_err();
        assert!(e.to_string().contains("'Host'"));
        assert!(parse_signed_headers("host;;x").is_err());
    }

    #[test]
    fn sigv4a_rejected() {
        let e = parse_authorization("AWS4-ECDSA-P256-SHA256 Credential=a").unwrap_err();
        assert!(e.to_string().contains("Unsupported AWS 'algorithm'"));
    }

    #[test]
    fn amz_date() {
        assert!(parse_amz_date("20150830T123600Z").is_some());
        assert!(parse_amz_date("20150830T123600").is_none());
        assert!(parse_amz_date("2015083OT123600Z").is_none());
        assert!(parse_amz_date("20151330T123600Z").is_none());
        assert!(parse_amz_date("+0150830T123600Z").is_none());
    }

    #[test]
    fn amz_date_parses_as_chrono_does() {
        let chrono_parse = |s: &str| {
            NaiveDateTime::parse_from_str(s, AMZ_DATE_FORMAT)
                .ok()
                .map(|n| n.and_utc())
        };
        for s in [
            "20150830T123600Z",
            "00000101T000000Z",
            "99991231T235959Z",
            "20240229T120000Z",
            "20230229T120000Z",
            "20150830T235960Z",
            "20150830T123660Z",
            "20150830T126000Z",
            "20150830T240000Z",
            "20150832T000000Z",
            "20150001T000000Z",
            "20150100T000000Z",
            "20151301T000000Z",
            "20150830T123661Z",
        ] {
            assert_eq!(parse_amz_date(s), chrono_parse(s), "{s}");
        }
    }

    #[test]
    fn formats_amz_date() {
        let t = DateTime::<Utc>::from_timestamp(-62_198_755_200 - 86_400 * 400, 0).unwrap();
        assert_eq!(format_amz_date(&t), t.format(AMZ_DATE_FORMAT).to_string());
        let t = parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(format_amz_date(&t), "20150830T123600Z");
        let t = parse_amz_date("00010102T030405Z").unwrap();
        assert_eq!(format_amz_date(&t), "00010102T030405Z");
    }

    #[test]
    fn expires_bounds() {
        assert_eq!(parse_expires("604800").unwrap(), 604_800);
        assert!(parse_expires("604801").is_err());
        assert!(parse_expires("-1").is_err());
        assert!(parse_expires("x").is_err());
    }
}
