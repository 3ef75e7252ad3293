//! The operations the load generator can send, and how each request is built and signed.

use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{header, Method, Request, Uri};
use rampart_sigv4::{sign, RequestParts, SecretKey, SigningParams};

use crate::Body;

/// What each request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Op {
    /// `GET /_rampart/live`: no authentication, no store; the baseline.
    Live,
    /// STS `GetCallerIdentity` (awsQuery POST): authn, authz entry, audit, XML.
    StsGetCallerIdentity,
    /// IAM `CreateUser` with a fresh name per request: a durable write with its audit record.
    IamCreateUser,
    /// IAM `GetUser` of user `loadgen-probe` (create it first).
    IamGetUser,
}

impl Op {
    /// True when requests are signed.
    pub fn needs_credentials(self) -> bool {
        self != Op::Live
    }

    /// The name printed in reports.
    pub fn label(self) -> &'static str {
        match self {
            Op::Live => "GET /_rampart/live",
            Op::StsGetCallerIdentity => "sts:GetCallerIdentity",
            Op::IamCreateUser => "iam:CreateUser",
            Op::IamGetUser => "iam:GetUser",
        }
    }

    /// True when every request of this op is the same (so it can be signed once and resent);
    /// `CreateUser` needs a fresh name, hence a fresh signature, each time.
    pub fn is_fixed(self) -> bool {
        self != Op::IamCreateUser
    }

    /// Builds and signs request number `seq` of connection `conn`, ready to be sent (again).
    pub fn prepare(
        self,
        target: &Target,
        creds: Option<&Credentials>,
        region: &str,
        conn: usize,
        seq: u64,
    ) -> Result<Prepared> {
        let (service, form) = match self {
            Op::Live => {
                return Ok(Prepared {
                    method: Method::GET,
                    path: "/_rampart/live",
                    headers: vec![(header::HOST, HeaderValue::try_from(&target.authority)?)],
                    body: Bytes::new(),
                    signed_at: Instant::now(),
                })
            }
            Op::StsGetCallerIdentity => (
                "sts",
                "Action=GetCallerIdentity&Version=2011-06-15".to_string(),
            ),
            Op::IamCreateUser => (
                "iam",
                format!(
                    "Action=CreateUser&Version=2010-05-08&UserName=lg-{}-{conn}-{seq}",
                    target.run
                ),
            ),
            Op::IamGetUser => (
                "iam",
                "Action=GetUser&Version=2010-05-08&UserName=loadgen-probe".to_string(),
            ),
        };
        let creds = creds.ok_or_else(|| anyhow!("{self:?} needs credentials"))?;
        signed_form(target, creds, region, service, form)
    }
}

/// A request built and signed once, from which identical requests can be made cheaply (the
/// signature stays valid for 15 minutes; the server still verifies each one in full).
pub struct Prepared {
    method: Method,
    path: &'static str,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    /// When it was signed.
    pub signed_at: Instant,
}

impl Prepared {
    /// A new request with this method, path, headers and body.
    pub fn request(&self) -> Request<Body> {
        let mut request = Request::new(Body::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = Uri::from_static(self.path);
        let headers = request.headers_mut();
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        request
    }
}

/// A form POST signed in the `Authorization` header form, as the SDKs send awsQuery calls.
fn signed_form(
    target: &Target,
    creds: &Credentials,
    region: &str,
    service: &str,
    form: String,
) -> Result<Prepared> {
    const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
    let headers: [(&str, &[u8]); 2] = [
        ("host", target.authority.as_bytes()),
        ("content-type", CONTENT_TYPE.as_bytes()),
    ];
    let signed = sign(
        &RequestParts {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: form.as_bytes(),
        },
        &SigningParams {
            access_key_id: &creds.access_key_id,
            secret: &creds.secret,
            region,
            service,
            time: chrono::Utc::now(),
            security_token: None,
        },
    )?;
    let mut headers = vec![
        (header::HOST, HeaderValue::try_from(&target.authority)?),
        (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
    ];
    for (name, value) in signed.headers() {
        headers.push((HeaderName::from_static(name), HeaderValue::try_from(value)?));
    }
    Ok(Prepared {
        method: Method::POST,
        path: "/",
        headers,
        body: Bytes::from(form),
        signed_at: Instant::now(),
    })
}

/// Where the server listens.
#[derive(Debug)]
pub struct Target {
    /// `host:port`.
    pub authority: String,
    /// A per-run tag so created names never collide with an earlier run's.
    pub run: u64,
}

impl Target {
    /// Parses `http://host:port`.
    pub fn parse(endpoint: &str) -> Result<Target> {
        let Some(rest) = endpoint.strip_prefix("http://") else {
            bail!("--endpoint must be http://host:port (got {endpoint})");
        };
        let authority = rest.trim_end_matches('/').to_string();
        if authority.is_empty() || authority.contains('/') {
            bail!("--endpoint must be http://host:port (got {endpoint})");
        }
        let run = chrono::Utc::now().timestamp_millis().unsigned_abs();
        Ok(Target { authority, run })
    }
}

/// The signing identity.
pub struct Credentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret: SecretKey,
}

impl Credentials {
    /// Reads the `default` profile of an AWS shared-credentials file.
    pub fn from_file(path: &std::path::Path) -> Result<Credentials> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut id = None;
        let mut secret = None;
        let mut in_default = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_default = line == "[default]";
            } else if in_default {
                if let Some((k, v)) = line.split_once('=') {
                    match k.trim() {
                        "aws_access_key_id" => id = Some(v.trim().to_string()),
                        "aws_secret_access_key" => secret = Some(v.trim().to_string()),
                        _ => {}
                    }
                }
            }
        }
        match (id, secret) {
            (Some(access_key_id), Some(secret)) => Ok(Credentials {
                access_key_id,
                secret: SecretKey::new(secret),
            }),
            _ => bail!(
                "{} has no [default] profile with aws_access_key_id and aws_secret_access_key",
                path.display()
            ),
        }
    }
}
