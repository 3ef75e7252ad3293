//! The operations the load generator can send, and how each request is built and signed.

use anyhow::{anyhow, bail, Context, Result};
use hyper::{header, Request};
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

    /// Builds request number `seq` of connection `conn`.
    pub fn request(
        self,
        target: &Target,
        creds: Option<&Credentials>,
        region: &str,
        conn: usize,
        seq: u64,
    ) -> Result<Request<Body>> {
        let (service, form) = match self {
            Op::Live => {
                return Ok(Request::get("/_rampart/live")
                    .header(header::HOST, &target.authority)
                    .body(Body::default())?)
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

/// A form POST signed in the `Authorization` header form, as the SDKs send awsQuery calls.
fn signed_form(
    target: &Target,
    creds: &Credentials,
    region: &str,
    service: &str,
    form: String,
) -> Result<Request<Body>> {
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
    let mut builder = Request::post("/")
        .header(header::HOST, &target.authority)
        .header(header::CONTENT_TYPE, CONTENT_TYPE);
    for (name, value) in signed.headers() {
        builder = builder.header(name, value);
    }
    Ok(builder.body(Body::from(form))?)
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
