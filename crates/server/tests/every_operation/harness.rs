//! The in-process router with a fresh store, and signed calls to it as a given caller.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{
        header::{CONTENT_LENGTH, CONTENT_TYPE},
        HeaderName, HeaderValue, Request,
    },
    Router,
};
use base64::Engine as _;
use chrono::Utc;
use http_body_util::BodyExt;
use md5::{Digest as _, Md5};
use rampart::{
    app::{router, App, Started},
    config::ServeConfig,
};
use rampart_model::{Operation, Protocol, Service};
use rampart_sigv4::{
    canonical::sha256_hex, sign_with_uri_rules, RequestParts, SecretKey, SigningParams, UriRules,
};
use serde_json::Value;
use tower::ServiceExt;

use super::encode::{self, RestRequest};

/// An access key, its secret and, for temporary credentials, the session token.
#[derive(Clone)]
pub struct Caller {
    pub key: String,
    pub secret: String,
    pub token: Option<String>,
}

/// How one call ended.
pub enum Outcome {
    /// The router answered.
    Answered { status: u16, body: String },
    /// Serving the call panicked.
    Panicked(String),
}

pub struct Harness {
    _dir: tempfile::TempDir,
    pub started: Started,
    router: Router,
    pub root: Caller,
}

impl Harness {
    pub async fn start() -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = ServeConfig {
            max_body_bytes: 64 * 1024,
            request_timeout_secs: 5,
            idle_timeout_secs: 5,
            ..ServeConfig::new(dir.path().to_path_buf())
        };
        let started = App::start(config).await.expect("start");
        let router = router(started.app.clone());
        let text = std::fs::read_to_string(&started.boot.credentials_file).expect("creds");
        let secret = text
            .lines()
            .find_map(|l| l.strip_prefix("aws_secret_access_key = "))
            .expect("secret")
            .to_string();
        let root = Caller {
            key: started.boot.root_access_key_id.clone(),
            secret,
            token: None,
        };
        Harness {
            _dir: dir,
            started,
            router,
            root,
        }
    }

    pub fn app(&self) -> &Arc<App> {
        &self.started.app
    }

    /// Calls `op` of `service` with `input`, in the service's protocol, signed by `caller`.
    pub async fn call(
        &self,
        caller: &Caller,
        service: &'static Service,
        op: &'static Operation,
        input: &Value,
    ) -> Outcome {
        let root = |body: String, content_type: String, headers| RestRequest {
            method: "POST",
            path: "/".into(),
            query: String::new(),
            headers,
            body: body.into_bytes(),
            content_type: Some(content_type),
        };
        let wire = match service.protocol {
            Protocol::Query => root(
                encode::form(service, op, input),
                "application/x-www-form-urlencoded; charset=utf-8".into(),
                vec![],
            ),
            Protocol::Json => root(
                input.to_string(),
                format!(
                    "application/x-amz-json-{}",
                    service.json_version.unwrap_or("1.1")
                ),
                vec![(
                    "x-amz-target".into(),
                    format!("{}.{}", service.target_prefix.unwrap_or(""), op.name).into_bytes(),
                )],
            ),
            Protocol::RestJson | Protocol::RestXml => encode::rest(service, op, input),
        };
        let mut req = signed(caller, service, op, wire);
        let peer: SocketAddr = "127.0.0.1:9".parse().expect("peer");
        req.extensions_mut().insert(ConnectInfo(peer));
        let router = self.router.clone();
        // On its own task, so that a panic is reported with the input that caused it.
        let served = tokio::spawn(async move {
            let resp = router.oneshot(req).await.expect("infallible");
            let status = resp.status().as_u16();
            let bytes = resp.into_body().collect().await.expect("body").to_bytes();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        })
        .await;
        match served {
            Ok((status, body)) => Outcome::Answered { status, body },
            Err(e) => Outcome::Panicked(match e.try_into_panic() {
                Ok(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic".into()),
                Err(e) => e.to_string(),
            }),
        }
    }

    /// A call as root that must succeed; its output as JSON (awsJson) or XML (awsQuery,
    /// restXml).
    pub async fn must(&self, service: &str, op: &str, input: Value) -> String {
        self.must_as(&self.root.clone(), service, op, input).await
    }

    /// A call as `caller` that must succeed.
    pub async fn must_as(&self, caller: &Caller, service: &str, op: &str, input: Value) -> String {
        let service = rampart_model::service(service).expect("service");
        let op = service.operation(op).expect("operation");
        match self.call(caller, service, op, &input).await {
            Outcome::Answered { status, body } if (200..300).contains(&status) => body,
            Outcome::Answered { status, body } => {
                panic!("fixture {}: {status} {body}", op.name)
            }
            Outcome::Panicked(p) => panic!("fixture {}: panicked: {p}", op.name),
        }
    }
}

/// The text of the first `<name>` element of an XML body.
pub fn tag_text(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = xml.find(&open).expect(name) + open.len();
    let end = start + xml[start..].find('<').expect(name);
    xml[start..end].to_string()
}

/// `wire` as an HTTP request signed by `caller`, with the headers a client adds: `Host`,
/// `Content-Type` and `Content-Length` for a body, and for S3 `x-amz-content-sha256` (signed,
/// as S3 requires) and the `Content-MD5` an SDK computes for an operation that requires a
/// checksum. S3 signs the path as sent (not normalized, encoded once). A header member whose
/// name or value HTTP cannot carry (a control character) is left out: no client can send it.
fn signed(caller: &Caller, service: &Service, op: &Operation, wire: RestRequest) -> Request<Body> {
    let s3 = service.signing_name == "s3";
    let mut headers: Vec<(HeaderName, HeaderValue)> = vec![(
        HeaderName::from_static("host"),
        HeaderValue::from_static("localhost"),
    )];
    headers.extend(wire.headers.iter().filter_map(|(name, value)| {
        Some((
            HeaderName::from_bytes(name.as_bytes()).ok()?,
            HeaderValue::from_bytes(value).ok()?,
        ))
    }));
    let has = |headers: &[(HeaderName, HeaderValue)], prefix: &str| {
        headers.iter().any(|(n, _)| n.as_str().starts_with(prefix))
    };
    if let Some(t) = wire.content_type.filter(|_| !has(&headers, "content-type")) {
        headers.push((
            CONTENT_TYPE,
            HeaderValue::from_str(&t).expect("content type"),
        ));
    }
    if !wire.body.is_empty() || matches!(wire.method, "PUT" | "POST") {
        headers.push((CONTENT_LENGTH, HeaderValue::from(wire.body.len())));
    }
    let payload_hash = sha256_hex(&wire.body);
    if s3 {
        headers.push((
            HeaderName::from_static("x-amz-content-sha256"),
            HeaderValue::from_str(&payload_hash).expect("hash"),
        ));
        if op.checksum_required
            && !has(&headers, "content-md5")
            && !has(&headers, "x-amz-checksum-")
        {
            let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&wire.body));
            headers.push((
                HeaderName::from_static("content-md5"),
                HeaderValue::from_str(&md5).expect("md5"),
            ));
        }
    }
    let rules = if s3 {
        UriRules {
            normalize: false,
            double_encode: false,
        }
    } else {
        UriRules::default()
    };
    let signing: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    let secret = SecretKey::from(caller.secret.as_str());
    let signed = sign_with_uri_rules(
        &RequestParts {
            method: wire.method,
            path: &wire.path,
            query: &wire.query,
            headers: &signing,
            body: &wire.body,
        },
        &SigningParams {
            access_key_id: &caller.key,
            secret: &secret,
            region: "eu-west-1",
            service: service.signing_name,
            time: Utc::now(),
            security_token: caller.token.as_deref(),
        },
        &payload_hash,
        rules,
    )
    .expect("sign");
    let uri = if wire.query.is_empty() {
        wire.path.clone()
    } else {
        format!("{}?{}", wire.path, wire.query)
    };
    let mut req = Request::builder().method(wire.method).uri(uri);
    for (name, value) in headers {
        req = req.header(name, value);
    }
    for (name, value) in signed.headers() {
        req = req.header(name, value);
    }
    req.body(Body::from(wire.body)).expect("request")
}
