//! `rampart trail validate --endpoint-url`: the validator's [`Source`] read through the API,
//! as `aws cloudtrail validate-logs` reads it: the trail from CloudTrail `GetTrail`, the
//! bucket with S3 `ListObjectsV2`/`GetObject` (path-style), the public keys with CloudTrail
//! `ListPublicKeys`, the organization id with Organizations `DescribeOrganization`. Requests
//! are SigV4-signed with the caller's credentials, so the caller needs read access to the
//! trail and its bucket, and nothing of the server's data dir.
//!
//! Without the trail's delivery state, a chain's head is the newest digest the bucket holds,
//! and log files delivered after it are counted as not yet digested rather than checked.

use anyhow::{bail, Context as _};
use base64::Engine as _;
use rampart_services::trails::{
    destination,
    validate::{self, ChainPlan, Object, Report, Source},
};
use rampart_sigv4::{sign_with_uri_rules, RequestParts, SecretKey, SigningParams, UriRules};
use serde_json::{json, Value};

/// Who signs the requests.
pub struct Credentials {
    access_key_id: String,
    secret: SecretKey,
    session_token: Option<String>,
}

impl Credentials {
    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN` when set, else the
    /// profile of a shared-credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
    /// `~/.aws/credentials`; Rampart's `root-credentials` has this format).
    pub fn load(file: Option<&std::path::Path>, profile: &str) -> anyhow::Result<Credentials> {
        let env = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        if file.is_none() {
            if let (Some(id), Some(secret)) =
                (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
            {
                return Ok(Credentials {
                    access_key_id: id,
                    secret: SecretKey::new(secret),
                    session_token: env("AWS_SESSION_TOKEN"),
                });
            }
        }
        let path = match file {
            Some(f) => f.to_path_buf(),
            None => env("AWS_SHARED_CREDENTIALS_FILE")
                .map(std::path::PathBuf::from)
                .or_else(|| env("HOME").map(|h| std::path::Path::new(&h).join(".aws/credentials")))
                .context("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or --credentials-file")?,
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read credentials from {}", path.display()))?;
        parse_profile(&text, profile).with_context(|| {
            format!(
                "{} has no [{profile}] profile with aws_access_key_id and aws_secret_access_key",
                path.display()
            )
        })
    }
}

/// The keys of one profile of a shared-credentials (INI) file.
fn parse_profile(text: &str, profile: &str) -> Option<Credentials> {
    let (mut id, mut secret, mut token) = (None, None, None);
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == profile;
            continue;
        }
        let Some((k, v)) = line.split_once('=').filter(|_| inside) else {
            continue;
        };
        let v = Some(v.trim().to_string());
        match k.trim() {
            "aws_access_key_id" => id = v,
            "aws_secret_access_key" => secret = v,
            "aws_session_token" => token = v,
            _ => {}
        }
    }
    Some(Credentials {
        access_key_id: id?,
        secret: SecretKey::new(secret?),
        session_token: token,
    })
}

/// A signed-request client of one endpoint.
pub struct Api {
    http: reqwest::Client,
    endpoint: String,
    credentials: Credentials,
    /// The region CloudTrail and Organizations calls are signed for (the trail's).
    region: String,
    /// The bucket's region, learnt from S3's `x-amz-bucket-region` when it differs.
    bucket_region: String,
}

/// A request to sign and send.
struct Request<'a> {
    service: &'a str,
    region: &'a str,
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: &'a [u8],
}

/// An answer: status, the `x-amz-meta-signature` and `x-amz-bucket-region` headers, body.
struct Answer {
    status: u16,
    signature: Option<String>,
    bucket_region: Option<String>,
    body: Vec<u8>,
}

impl Api {
    /// A client of `endpoint` (`http://host:port`) signing for `region`.
    pub fn new(endpoint: &str, credentials: Credentials, region: &str) -> anyhow::Result<Api> {
        if !endpoint.starts_with("http://") {
            bail!("--endpoint-url must be an http:// URL (this validator does not speak TLS)");
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Api {
            http,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            credentials,
            region: region.to_string(),
            bucket_region: region.to_string(),
        })
    }

    async fn send(&self, r: Request<'_>) -> anyhow::Result<Answer> {
        let Request {
            service,
            region,
            method,
            path,
            query,
            headers,
            body,
        } = r;
        let host = self
            .endpoint
            .split_once("://")
            .map_or(self.endpoint.as_str(), |(_, h)| h);
        let mut signed_headers: Vec<(&str, &[u8])> = vec![("host", host.as_bytes())];
        signed_headers.extend(headers.iter().map(|(n, v)| (*n, v.as_bytes())));
        let payload = rampart_sigv4::canonical::sha256_hex(body);
        signed_headers.push(("x-amz-content-sha256", payload.as_bytes()));
        let parts = RequestParts {
            method,
            path,
            query,
            headers: &signed_headers,
            body,
        };
        let params = SigningParams {
            access_key_id: &self.credentials.access_key_id,
            secret: &self.credentials.secret,
            region,
            service,
            time: chrono::Utc::now(),
            security_token: self.credentials.session_token.as_deref(),
        };
        let rules = if service == "s3" {
            UriRules {
                normalize: false,
                double_encode: false,
            }
        } else {
            UriRules::default()
        };
        let signed = sign_with_uri_rules(&parts, &params, &payload, rules)
            .map_err(|e| anyhow::anyhow!("cannot sign the request: {e}"))?;
        let url = if query.is_empty() {
            format!("{}{path}", self.endpoint)
        } else {
            format!("{}{path}?{query}", self.endpoint)
        };
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut request = self.http.request(method, &url).body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request = request.header("x-amz-content-sha256", &payload);
        for (name, value) in signed.headers() {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.endpoint))?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (signature, bucket_region) = (
            header("x-amz-meta-signature"),
            header("x-amz-bucket-region"),
        );
        let status = response.status().as_u16();
        let body = response.bytes().await?.to_vec();
        Ok(Answer {
            status,
            signature,
            bucket_region,
            body,
        })
    }

    /// A JSON-protocol call (`target` is `Service_Version.Operation`); an error answer is
    /// an error naming AWS's code and message.
    async fn json(&self, service: &str, target: &str, input: &Value) -> anyhow::Result<Value> {
        let body = input.to_string();
        let answer = self
            .send(Request {
                service,
                region: &self.region,
                method: "POST",
                path: "/",
                query: "",
                headers: &[
                    ("content-type", "application/x-amz-json-1.1"),
                    ("x-amz-target", target),
                ],
                body: body.as_bytes(),
            })
            .await?;
        json_answer(&answer.body, answer.status, target)
    }

    /// A restJson1 call (`rampart posture`'s Security Hub reads); an error answer is an
    /// error naming AWS's code and message.
    pub async fn rest_json(
        &self,
        service: &str,
        method: &str,
        path: &str,
        input: &Value,
    ) -> anyhow::Result<Value> {
        let body = input.to_string();
        let answer = self
            .send(Request {
                service,
                region: &self.region,
                method,
                path,
                query: "",
                headers: &[("content-type", "application/json")],
                body: body.as_bytes(),
            })
            .await?;
        json_answer(&answer.body, answer.status, &format!("{service} {path}"))
    }

    /// An S3 GET, retried once in the bucket's own region when S3 names another one.
    async fn s3_get(&mut self, path: &str, query: &str) -> anyhow::Result<Answer> {
        let answer = self.send(s3_get(&self.bucket_region, path, query)).await?;
        match answer.bucket_region {
            Some(r) if answer.status == 400 && r != self.bucket_region => {
                let retried = self.send(s3_get(&r, path, query)).await;
                self.bucket_region = r;
                retried
            }
            _ => Ok(answer),
        }
    }
}

/// A path-style S3 GET.
fn s3_get<'a>(region: &'a str, path: &'a str, query: &'a str) -> Request<'a> {
    Request {
        service: "s3",
        region,
        method: "GET",
        path,
        query,
        headers: &[],
        body: b"",
    }
}

/// The trail as `GetTrail` describes it.
pub struct TrailInfo {
    /// Its bucket.
    pub bucket: String,
    plans: Vec<ChainPlan>,
}

/// A trail's bucket and public keys, read through the API.
pub struct ApiSource {
    api: Api,
    bucket: String,
}

/// S3's encoding of a key in a path: each segment percent-encoded, `/` kept.
fn key_path(bucket: &str, key: &str) -> String {
    let encoded: Vec<String> = key
        .split('/')
        .map(rampart_sigv4::canonical::uri_encode)
        .collect();
    format!("/{bucket}/{}", encoded.join("/"))
}

/// The text of each `<name>` element directly holding text in an S3 XML answer.
fn xml_values(xml: &str, name: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut inside = false;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) => inside = e.name().as_ref() == name.as_bytes(),
            Ok(quick_xml::events::Event::Text(t)) if inside => {
                if let Ok(text) = t.unescape() {
                    out.push(text.into_owned());
                }
            }
            Ok(quick_xml::events::Event::End(_)) => inside = false,
            Ok(quick_xml::events::Event::Eof) | Err(_) => return out,
            Ok(_) => {}
        }
    }
}

impl Source for ApiSource {
    async fn list(&mut self, prefix: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = format!(
                "list-type=2&prefix={}",
                rampart_sigv4::canonical::uri_encode(prefix)
            );
            if let Some(t) = &token {
                query.push_str("&continuation-token=");
                query.push_str(&rampart_sigv4::canonical::uri_encode(t));
            }
            let path = format!("/{}", self.bucket);
            let answer = self
                .api
                .s3_get(&path, &query)
                .await
                .map_err(|e| format!("{e:#}"))?;
            let xml = String::from_utf8_lossy(&answer.body).into_owned();
            if answer.status != 200 {
                let code = xml_values(&xml, "Code").join("");
                return Err(format!("cannot list s3://{}/{prefix}: {code}", self.bucket));
            }
            out.extend(xml_values(&xml, "Key"));
            token = xml_values(&xml, "NextContinuationToken").into_iter().next();
            let truncated =
                xml_values(&xml, "IsTruncated").first().map(String::as_str) == Some("true");
            if !truncated || token.is_none() {
                out.sort();
                return Ok(out);
            }
        }
    }

    async fn fetch(&mut self, key: &str) -> Result<Option<Object>, String> {
        let answer = self
            .api
            .s3_get(&key_path(&self.bucket, key), "")
            .await
            .map_err(|e| format!("{e:#}"))?;
        match answer.status {
            200 => Ok(Some(Object {
                body: answer.body,
                signature: answer.signature,
            })),
            404 => Ok(None),
            status => {
                let code = xml_values(&String::from_utf8_lossy(&answer.body), "Code").join("");
                Err(format!(
                    "cannot read s3://{}/{key}: {code} ({status})",
                    self.bucket
                ))
            }
        }
    }

    async fn public_key(
        &mut self,
        region: &str,
        fingerprint: &str,
    ) -> Result<Option<Vec<u8>>, String> {
        let saved = std::mem::replace(&mut self.api.region, region.to_string());
        let listed = self
            .api
            .json(
                "cloudtrail",
                "CloudTrail_20131101.ListPublicKeys",
                &json!({}),
            )
            .await;
        self.api.region = saved;
        let listed = listed.map_err(|e| format!("{e:#}"))?;
        let engine = base64::engine::general_purpose::STANDARD;
        Ok(listed
            .get("PublicKeyList")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|k| k.get("Fingerprint").and_then(Value::as_str) == Some(fingerprint))
            .find_map(|k| engine.decode(k.get("Value")?.as_str()?).ok()))
    }
}

/// Reads the trail `arn` and plans one chain per account and region its bucket holds files
/// for; returns the source to validate them with.
pub async fn open(mut api: Api, arn: &str) -> anyhow::Result<(ApiSource, TrailInfo)> {
    let got = api
        .json(
            "cloudtrail",
            "CloudTrail_20131101.GetTrail",
            &json!({ "Name": arn }),
        )
        .await?;
    let trail = got.get("Trail").context("GetTrail answered no trail")?;
    let field = |name: &str| trail.get(name).and_then(Value::as_str).map(str::to_string);
    if trail
        .get("LogFileValidationEnabled")
        .and_then(Value::as_bool)
        != Some(true)
    {
        bail!("trail {arn} does not have log file validation enabled");
    }
    let bucket = field("S3BucketName").context("the trail names no bucket")?;
    let owner = arn.split(':').nth(4).unwrap_or_default().to_string();
    let org = if trail.get("IsOrganizationTrail").and_then(Value::as_bool) == Some(true) {
        let described = api
            .json(
                "organizations",
                "AWSOrganizationsV20161128.DescribeOrganization",
                &json!({}),
            )
            .await?;
        described
            .pointer("/Organization/Id")
            .and_then(Value::as_str)
            .map(str::to_string)
    } else {
        None
    };
    api.bucket_region = api.region.clone();
    let mut source = ApiSource {
        api,
        bucket: bucket.clone(),
    };
    let prefix = field("S3KeyPrefix");
    let root_of =
        |account: &str| destination::logs_root(prefix.as_deref(), org.as_deref(), account);
    let own_root = root_of(&owner);
    let base = own_root
        .strip_suffix(&format!("{owner}/"))
        .unwrap_or(&own_root)
        .to_string();
    let chains = crate::trail_cli::chains_in(&mut source, &base, &owner, org.is_some()).await?;
    let plans = chains
        .into_iter()
        .map(|(account, region)| ChainPlan {
            root: root_of(&account),
            region,
            head: None,
            state_known: false,
            pending: Vec::new(),
        })
        .collect();
    Ok((source, TrailInfo { bucket, plans }))
}

/// Validates every chain of the trail through the API: (its bucket, the verdicts).
pub async fn validate_trail(api: Api, arn: &str) -> anyhow::Result<(String, Report)> {
    let (mut source, info) = open(api, arn).await?;
    let mut report = Report::default();
    for plan in &info.plans {
        validate::validate_chain(&mut source, &info.bucket, plan, &mut report)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    Ok((info.bucket, report))
}

/// A JSON protocol's answer: its body, or an error naming the call, AWS's code and message.
fn json_answer(body: &[u8], status: u16, call: &str) -> anyhow::Result<Value> {
    let out: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if status != 200 {
        let code = out.get("__type").and_then(Value::as_str).unwrap_or("error");
        let message = out
            .get("message")
            .or_else(|| out.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or("");
        bail!("{call}: {code} ({status}): {message}");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_profile_of_a_shared_credentials_file() {
        let text = "# a comment\n[other]\naws_access_key_id = X\n[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s3cret\n";
        let c = parse_profile(text, "default");
        assert_eq!(c.as_ref().map(|c| c.access_key_id.as_str()), Some("AKIA1"));
        assert!(
            parse_profile(text, "other").is_none(),
            "no secret in [other]"
        );
        assert!(parse_profile(text, "missing").is_none());
    }

    #[test]
    fn keys_keep_their_slashes_in_paths() {
        assert_eq!(
            key_path("b", "AWSLogs/1/a b+c.json.gz"),
            "/b/AWSLogs/1/a%20b%2Bc.json.gz"
        );
    }

    #[test]
    fn reads_values_of_s3_xml() {
        let xml = "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a/b</Key></Contents><Contents><Key>c&amp;d</Key></Contents><NextContinuationToken>t1</NextContinuationToken></ListBucketResult>";
        assert_eq!(xml_values(xml, "Key"), vec!["a/b", "c&d"]);
        assert_eq!(xml_values(xml, "NextContinuationToken"), vec!["t1"]);
        assert_eq!(xml_values(xml, "IsTruncated"), vec!["true"]);
    }
}
