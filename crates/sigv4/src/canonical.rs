//! The canonical request and string to sign, as AWS specifies them, plus the hashing helpers.

use aws_lc_rs::{digest, hmac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

use crate::parse::{query_pairs, CredentialScope, ALGORITHM, TERMINATOR};

/// Hex SHA-256 of the empty string (the payload hash of a request without a body).
pub const EMPTY_SHA256_HEX: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Everything but AWS's unreserved characters (`A-Z a-z 0-9 - _ . ~`) is percent-encoded.
const QUERY_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// As [`QUERY_SET`], but `/` is kept (path segments).
const PATH_SET: &AsciiSet = &QUERY_SET.remove(b'/');

/// How the canonical URI is derived from the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UriRules {
    /// Remove `.`/`..` segments and repeated slashes (every service but S3).
    pub normalize: bool,
    /// Percent-encode the path as received once more ("double encoding", every service but S3).
    /// When `false` the path is decoded and encoded once (S3).
    pub double_encode: bool,
}

impl Default for UriRules {
    fn default() -> Self {
        Self {
            normalize: true,
            double_encode: true,
        }
    }
}

/// Lowercase hex of 32 bytes (a SHA-256 or a signature), on the stack.
#[derive(Clone, Copy)]
pub struct Hex32([u8; 64]);

impl Hex32 {
    /// Encodes `bytes` (straight-line per nibble; this runs several times per request).
    pub fn new(bytes: &[u8; 32]) -> Self {
        fn digit(n: u8) -> u8 {
            if n < 10 {
                b'0' + n
            } else {
                b'a' + n - 10
            }
        }
        let mut out = [0u8; 64];
        for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
            if let [hi, lo] = pair {
                *hi = digit(b >> 4);
                *lo = digit(b & 0x0f);
            }
        }
        Self(out)
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    sha256_hex32(data).as_str().to_owned()
}

/// Hex SHA-256 of `data`, without allocating.
pub fn sha256_hex32(data: &[u8]) -> Hex32 {
    Hex32::new(&sha256(data))
}

/// Raw SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut out = [0u8; 32];
    out.copy_from_slice(hmac::sign(&key, data).as_ref());
    out
}

/// Removes `.` and `..` segments and empty segments (repeated slashes) from a path, keeping a
/// leading and a trailing slash.
pub fn normalize_path(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let trailing = path.ends_with('/')
        || path.ends_with("/.")
        || path.ends_with("/..")
        || path == "."
        || path == "..";
    let mut s = String::with_capacity(path.len() + 1);
    s.push('/');
    s.push_str(&out.join("/"));
    if trailing && !out.is_empty() {
        s.push('/');
    }
    s
}

/// The canonical URI of a raw (as received, percent-encoded) request path.
pub fn canonical_uri(path: &str, rules: UriRules) -> String {
    let path = if path.is_empty() { "/" } else { path };
    // The root path, which every awsQuery and awsJson call uses, is its own canonical form.
    if path == "/" {
        return String::from("/");
    }
    let normalized;
    let path = if rules.normalize {
        normalized = normalize_path(path);
        normalized.as_str()
    } else {
        path
    };
    if rules.double_encode {
        percent_encoding::utf8_percent_encode(path, PATH_SET).to_string()
    } else {
        let decoded: Vec<u8> = percent_encoding::percent_decode_str(path).collect();
        percent_encoding::percent_encode(&decoded, PATH_SET).to_string()
    }
}

/// AWS URI-encoding of a query name or value (unreserved characters kept, `%XX` uppercase).
pub fn uri_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_SET).to_string()
}

/// The canonical query string of a raw query: pairs decoded, re-encoded with AWS's rules and
/// sorted by name then value. `X-Amz-Signature` is left out when `presigned`.
pub fn canonical_query(query: &str, presigned: bool) -> String {
    if query.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = query_pairs(query)
        .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
        .map(|(k, v)| (uri_encode(&k), uri_encode(&v)))
        .collect();
    pairs.sort_unstable();
    let mut out = String::with_capacity(query.len() + 8);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Appends a header value trimmed, with runs of whitespace collapsed to one space.
fn push_trimmed(out: &mut Vec<u8>, value: &[u8]) {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    // Most values have nothing to trim or collapse: copy them whole.
    let plain = !value.first().is_some_and(is_space)
        && !value.last().is_some_and(is_space)
        && value
            .iter()
            .all(|&b| b != b'\t' && b != b'\r' && b != b'\n')
        && !value.windows(2).any(|w| w == b"  ");
    if plain {
        out.extend_from_slice(value);
        return;
    }
    let mut pending_space = false;
    let mut started = false;
    for &b in value {
        if b == b' ' || b == b'\t' || b == b'\r' || b == b'\n' {
            pending_space = started;
        } else {
            if pending_space {
                out.push(b' ');
                pending_space = false;
            }
            out.push(b);
            started = true;
        }
    }
}

/// Builds a canonical request. `headers` are the request's (name, value) pairs; only the
/// `signed_headers` (lowercase, `;`-joined, in the given order) are used, repeated headers
/// joined by `,`.
pub fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    headers: &[(&str, &[u8])],
    signed_headers: &str,
    payload_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query.as_bytes());
    out.push(b'\n');
    for name in signed_headers.split(';') {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut first = true;
        for (_, v) in headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)) {
            if !first {
                out.push(b',');
            }
            first = false;
            push_trimmed(&mut out, v);
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

/// The string to sign: algorithm, request time, scope and the canonical request's hash.
pub fn string_to_sign(amz_date: &str, scope: &CredentialScope, canonical_request: &[u8]) -> String {
    let hash = sha256_hex32(canonical_request);
    let mut out = String::with_capacity(
        ALGORITHM.len()
            + amz_date.len()
            + scope.date.len()
            + scope.region.len()
            + scope.service.len()
            + TERMINATOR.len()
            + 64
            + 8,
    );
    for part in [ALGORITHM, "\n", amz_date, "\n"] {
        out.push_str(part);
    }
    scope.push_scope_string(&mut out);
    out.push('\n');
    out.push_str(hash.as_str());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize() {
        for (input, want) in [
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/a/b/../c/", "/a/c/"),
            ("/a/./b/.", "/a/b/"),
            ("/../..", "/"),
            ("", "/"),
        ] {
            assert_eq!(normalize_path(input), want, "{input}");
        }
    }

    #[test]
    fn uri_double_encoding() {
        let rules = UriRules::default();
        assert_eq!(canonical_uri("/example space/", rules), "/example%20space/");
        assert_eq!(canonical_uri("/a%20b", rules), "/a%2520b");
        assert_eq!(canonical_uri("/\u{1234}", rules), "/%E1%88%B4");
        let s3 = UriRules {
            normalize: false,
            double_encode: false,
        };
        assert_eq!(canonical_uri("/a%20b//c", s3), "/a%20b//c");
    }

    #[test]
    fn query() {
        assert_eq!(
            canonical_query("Param2=value2&Param1=value1", false),
            "Param1=value1&Param2=value2"
        );
        assert_eq!(
            canonical_query("Param1=value2&Param1=Value1", false),
            "Param1=Value1&Param1=value2"
        );
        assert_eq!(canonical_query("a&b=", false), "a=&b=");
        assert_eq!(canonical_query("k=a%2fb+c", false), "k=a%2Fb%2Bc");
        assert_eq!(
            canonical_query("X-Amz-Signature=abc&X-Amz-Date=1", true),
            "X-Amz-Date=1"
        );
    }

    #[test]
    fn hex_matches_the_hex_crate() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0xa5);
        assert_eq!(Hex32::new(&bytes).as_str(), hex::encode(bytes));
        assert_eq!(sha256_hex(b""), EMPTY_SHA256_HEX);
    }

    #[test]
    fn trims_and_collapses() {
        let mut v = Vec::new();
        push_trimmed(&mut v, b"  \"a   b \t c\"  ");
        assert_eq!(v, b"\"a b c\"");
        for (value, want) in [
            (&b"a b c"[..], &b"a b c"[..]),
            (b"a\tb", b"a b"),
            (b"a \tb", b"a b"),
            (b"a\t", b"a"),
            (b"a\nb", b"a b"),
            (b"", b""),
            (b" ", b""),
        ] {
            let mut v = Vec::new();
            push_trimmed(&mut v, value);
            assert_eq!(v, want, "{value:?}");
        }
    }
}
