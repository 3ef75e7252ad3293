//! AWS's published SigV4 test vectors (tests/vectors/*.vec): canonical request, string to sign,
//! verification of the published signature, and signing reproducing it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    reason = "test and bench code, not the request path"
)]

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Duration, TimeZone, Utc};
use rampart_sigv4::canonical::{
    canonical_query, canonical_request, canonical_uri, sha256_hex, string_to_sign,
};
use rampart_sigv4::parse::parse_amz_date;
use rampart_sigv4::{
    parse_request, sign, verify, verify_with_options, RequestParts, SecretKey, SigningKey,
    SigningParams, UriRules, VerifyOptions,
};

struct Vector {
    name: String,
    params: BTreeMap<String, String>,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    authorization: Option<String>,
    canonical_request: String,
    string_to_sign: String,
}

impl Vector {
    fn param(&self, k: &str, default: &str) -> String {
        self.params
            .get(k)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    }
    fn secret(&self) -> SecretKey {
        SecretKey::from(self.param("secret", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"))
    }
    fn uri_rules(&self) -> UriRules {
        if self.param("uri", "") == "s3" {
            UriRules {
                normalize: false,
                double_encode: false,
            }
        } else {
            UriRules::default()
        }
    }
    fn header_refs(&self, with_auth: bool) -> Vec<(&str, &[u8])> {
        let mut h: Vec<(&str, &[u8])> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        if let (true, Some(a)) = (with_auth, &self.authorization) {
            h.push(("Authorization", a.as_bytes()));
        }
        h
    }
}

fn sections(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("=== ") {
            if let Some((n, lines)) = current.take() {
                out.insert(n, lines.join("\n"));
            }
            current = Some((name.trim().to_owned(), Vec::new()));
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    if let Some((n, lines)) = current {
        out.insert(n, lines.join("\n"));
    }
    out
}

fn load(path: &Path) -> Vector {
    let text = std::fs::read_to_string(path).unwrap();
    let s = sections(&text);
    let params = s
        .get("params")
        .map(|p| {
            p.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let raw = &s["request"];
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw.as_str(), ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let (method, rest) = request_line.split_once(' ').unwrap();
    let target = rest.rsplit_once(' ').unwrap().0;
    let (req_path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            // Obsolete line folding: one more value of the previous header.
            let name = headers.last().unwrap().0.clone();
            headers.push((name, line.trim().as_bytes().to_vec()));
        } else {
            let (n, v) = line.split_once(':').unwrap();
            headers.push((n.to_owned(), v.as_bytes().to_vec()));
        }
    }
    Vector {
        name: path.file_stem().unwrap().to_string_lossy().into_owned(),
        params,
        method: method.to_owned(),
        path: req_path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
        authorization: s.get("authorization").cloned(),
        canonical_request: s["canonical-request"].clone(),
        string_to_sign: s["string-to-sign"].clone(),
    }
}

fn vectors() -> Vec<Vector> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "vec"))
        .collect();
    files.sort();
    let v: Vec<Vector> = files.iter().map(|p| load(p)).collect();
    assert!(v.len() >= 30, "expected the whole suite, found {}", v.len());
    v
}

#[test]
fn canonical_request_and_string_to_sign_match() {
    for v in vectors() {
        let headers = v.header_refs(true);
        let req = RequestParts {
            method: &v.method,
            path: &v.path,
            query: &v.query,
            headers: &headers,
            body: &v.body,
        };
        let parsed = parse_request(&req).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        let payload = v.canonical_request.rsplit('\n').next().unwrap();
        let content_header = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-content-sha256"))
            .map(|(_, h)| String::from_utf8_lossy(h).trim().to_owned());
        assert!(
            payload == sha256_hex(&v.body)
                || Some(payload.to_owned()) == content_header
                || (parsed.is_presigned() && payload == "UNSIGNED-PAYLOAD"),
            "{}: payload line {payload}",
            v.name
        );
        let creq = canonical_request(
            &v.method,
            &canonical_uri(&v.path, v.uri_rules()),
            &canonical_query(&v.query, parsed.is_presigned()),
            &headers,
            parsed.signed_headers.as_str(),
            payload,
        );
        assert_eq!(
            String::from_utf8(creq.clone()).unwrap(),
            v.canonical_request,
            "{}",
            v.name
        );
        let sts = string_to_sign(&parsed.amz_date(), &parsed.scope, &creq);
        assert_eq!(sts, v.string_to_sign, "{}", v.name);
    }
}

#[test]
fn published_signatures_verify() {
    for v in vectors() {
        let headers = v.header_refs(true);
        let req = RequestParts {
            method: &v.method,
            path: &v.path,
            query: &v.query,
            headers: &headers,
            body: &v.body,
        };
        let parsed = parse_request(&req).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(
            parsed.access_key_id.as_str(),
            v.param("akid", "AKIDEXAMPLE"),
            "{}",
            v.name
        );
        let now = parsed.request_time + Duration::minutes(14);
        let opts = VerifyOptions {
            uri: v.uri_rules(),
            ..VerifyOptions::default()
        };
        let key = SigningKey::for_scope(&v.secret(), &parsed.scope);
        let scope = verify_with_options(&parsed, &req, &key, now, &opts)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(scope.scope.region, "us-east-1");
        assert_eq!(
            scope.scope.service,
            v.param("service", "service"),
            "{}",
            v.name
        );
        if v.params.is_empty() {
            // The default rules (every service but S3) are what `verify` uses.
            verify(&parsed, &req, &v.secret(), now).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        }
        // A different secret must fail.
        let bad = SigningKey::for_scope(&SecretKey::from("not-the-secret"), &parsed.scope);
        let e = verify_with_options(&parsed, &req, &bad, now, &opts).unwrap_err();
        assert_eq!(e.code(), "SignatureDoesNotMatch", "{}", v.name);
    }
}

/// Where the published request signs exactly its headers, `sign` must reproduce its signature.
#[test]
fn signing_reproduces_published_signatures() {
    let mut reproduced = 0;
    for v in vectors() {
        let Some(authz) = &v.authorization else {
            continue;
        };
        if !v.params.is_empty() {
            continue;
        }
        let mut names: Vec<String> = v
            .headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect();
        names.sort();
        names.dedup();
        if !authz.contains(&format!("SignedHeaders={},", names.join(";"))) {
            continue;
        }
        let token = v
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-security-token"))
            .map(|(_, t)| String::from_utf8(t.clone()).unwrap());
        let date = v
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-date"))
            .map(|(_, t)| String::from_utf8(t.clone()).unwrap())
            .unwrap();
        let headers: Vec<(&str, &[u8])> = v
            .header_refs(false)
            .into_iter()
            .filter(|(n, _)| {
                !n.eq_ignore_ascii_case("x-amz-date")
                    && !n.eq_ignore_ascii_case("x-amz-security-token")
            })
            .collect();
        let req = RequestParts {
            method: &v.method,
            path: &v.path,
            query: &v.query,
            headers: &headers,
            body: &v.body,
        };
        let secret = v.secret();
        let params = SigningParams {
            access_key_id: "AKIDEXAMPLE",
            secret: &secret,
            region: "us-east-1",
            service: "service",
            time: parse_amz_date(&date).unwrap(),
            security_token: token.as_deref(),
        };
        let signed = sign(&req, &params).unwrap();
        assert_eq!(&signed.authorization, authz, "{}", v.name);
        reproduced += 1;
    }
    assert!(reproduced >= 20, "only {reproduced} reproduced");
}

#[test]
fn vector_time_is_the_suites() {
    let t = parse_amz_date("20150830T123600Z").unwrap();
    assert_eq!(t, Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap());
}
