//! The in-process router with a fresh store, and signed calls to it as a given caller.

use std::{net::SocketAddr, sync::Arc};

use axum::{body::Body, extract::ConnectInfo, http::Request, Router};
use chrono::Utc;
use http_body_util::BodyExt;
use rampart::{
    app::{router, App, Started},
    config::ServeConfig,
};
use rampart_model::{Operation, Protocol, Service};
use rampart_sigv4::{sign, RequestParts, SecretKey, SigningParams};
use serde_json::Value;
use tower::ServiceExt;

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
        let (content_type, target, body) = match service.protocol {
            Protocol::Query => (
                "application/x-www-form-urlencoded; charset=utf-8".to_string(),
                None,
                super::encode::form(service, op, input),
            ),
            Protocol::Json => (
                format!(
                    "application/x-amz-json-{}",
                    service.json_version.unwrap_or("1.1")
                ),
                Some(format!(
                    "{}.{}",
                    service.target_prefix.unwrap_or(""),
                    op.name
                )),
                input.to_string(),
            ),
            // No restJson1 service is built yet; the first one extends this harness with
            // its HTTP bindings (method, URI template, header and query members).
            Protocol::RestJson | Protocol::RestXml => unimplemented!(
                "{}:{}: the harness does not encode restJson1 requests yet",
                service.name,
                op.name
            ),
        };
        let mut headers: Vec<(&str, &[u8])> = vec![
            ("host", b"localhost"),
            ("content-type", content_type.as_bytes()),
        ];
        if let Some(t) = &target {
            headers.push(("x-amz-target", t.as_bytes()));
        }
        let secret = SecretKey::from(caller.secret.as_str());
        let signed = sign(
            &RequestParts {
                method: "POST",
                path: "/",
                query: "",
                headers: &headers,
                body: body.as_bytes(),
            },
            &SigningParams {
                access_key_id: &caller.key,
                secret: &secret,
                region: "eu-west-1",
                service: service.signing_name,
                time: Utc::now(),
                security_token: caller.token.as_deref(),
            },
        )
        .expect("sign");
        let mut req = Request::post("/")
            .header("host", "localhost")
            .header("content-type", content_type)
            .header("authorization", signed.authorization)
            .header("x-amz-date", signed.x_amz_date);
        if let Some(t) = target {
            req = req.header("x-amz-target", t);
        }
        if let Some(t) = signed.security_token {
            req = req.header("x-amz-security-token", t);
        }
        let mut req = req.body(Body::from(body)).expect("request");
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

    /// A call as root that must succeed; its output as JSON (awsJson) or XML (awsQuery).
    pub async fn must(&self, service: &str, op: &str, input: Value) -> String {
        self.must_as(&self.root.clone(), service, op, input).await
    }

    /// A call as `caller` that must succeed.
    pub async fn must_as(&self, caller: &Caller, service: &str, op: &str, input: Value) -> String {
        let service = rampart_model::service(service).expect("service");
        let op = service.operation(op).expect("operation");
        match self.call(caller, service, op, &input).await {
            Outcome::Answered { status: 200, body } => body,
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
