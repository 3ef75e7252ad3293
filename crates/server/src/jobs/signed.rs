//! Requests the server's own work sends through the one request path, signed with real
//! credentials (a rotation's new key, a remediation role's session): SigV4 authentication,
//! authorization and the audit record happen exactly as for a client's request.

use std::net::SocketAddr;

use axum::{body::Body, extract::ConnectInfo, extract::State, http::StatusCode};

use crate::app::App;

/// Credentials to sign with.
pub struct Credentials<'a> {
    /// The access key id.
    pub key_id: &'a str,
    /// The secret access key.
    pub secret: &'a str,
    /// The session token of temporary credentials.
    pub token: Option<&'a str>,
}

/// A request in its service's wire form.
pub struct Outgoing<'a> {
    /// The signing service (`sts`, `s3`, `kms`).
    pub service: &'a str,
    /// The region to sign for.
    pub region: &'a str,
    /// The HTTP method.
    pub method: &'a str,
    /// The path.
    pub path: &'a str,
    /// The query string.
    pub query: &'a str,
    /// Headers besides `host` and the signature's.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub body: &'a [u8],
    /// The user agent the audit record shows.
    pub user_agent: &'a str,
}

/// Signs `req` with `creds` and sends it through the request path; the answer's status and
/// body (at most 64 KiB).
pub async fn send(
    app: &App,
    creds: &Credentials<'_>,
    req: &Outgoing<'_>,
) -> Result<(StatusCode, Vec<u8>), String> {
    let arc = app.me.upgrade().ok_or("the server is stopping")?;
    let host = format!("{}.{}.amazonaws.com", req.service, req.region);
    // S3 signs an unsigned payload (as the SDKs may), proves the body with a checksum (which
    // its configuration calls require) and signs the path as sent.
    let s3 = req.service == "s3";
    let checksum = rampart_sigv4::ChecksumAlgorithm::Sha256.checksum_base64(req.body);
    let mut headers: Vec<(&str, &[u8])> = vec![("host", host.as_bytes())];
    if s3 {
        headers.push(("x-amz-content-sha256", b"UNSIGNED-PAYLOAD"));
        headers.push(("x-amz-checksum-sha256", checksum.as_bytes()));
    }
    headers.extend(req.headers.iter().map(|(k, v)| (*k, v.as_bytes())));
    let parts = rampart_sigv4::RequestParts {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: &headers,
        body: req.body,
    };
    let secret_key = rampart_sigv4::SecretKey::new(creds.secret.as_bytes().to_vec());
    let params = rampart_sigv4::SigningParams {
        access_key_id: creds.key_id,
        secret: &secret_key,
        region: req.region,
        service: req.service,
        time: app.clock.now(),
        security_token: creds.token,
    };
    let signed = if s3 {
        let rules = rampart_sigv4::UriRules {
            normalize: false,
            double_encode: false,
        };
        rampart_sigv4::sign::sign_with_uri_rules(&parts, &params, "UNSIGNED-PAYLOAD", rules)
    } else {
        rampart_sigv4::sign(&parts, &params)
    }
    .map_err(|e| e.to_string())?;
    let uri = if req.query.is_empty() {
        req.path.to_string()
    } else {
        format!("{}?{}", req.path, req.query)
    };
    let mut request = axum::http::Request::builder()
        .method(req.method)
        .uri(uri)
        .header("user-agent", req.user_agent);
    for (name, value) in &headers {
        request = request.header(*name, *value);
    }
    for (name, value) in signed.headers() {
        request = request.header(name, value);
    }
    let request = request
        .body(Body::from(req.body.to_vec()))
        .map_err(|e| e.to_string())?;
    let peer = ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 0)));
    let response = crate::pipeline::api(State(arc), peer, request).await;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .map_err(|e| e.to_string())?;
    Ok((status, bytes.to_vec()))
}
