//! End-to-end web identity federation with aws-sdk-rust: an OpenID Connect issuer started by
//! the test (keys generated per run, discovery and JWKS over HTTPS on loopback with a
//! self-signed certificate), an IAM OIDC provider pinning its certificate, a role trusting it,
//! and `AssumeRoleWithWebIdentity` accepting its tokens and refusing every bad one with AWS's
//! error.

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

mod oidc_issuer;
mod support;

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_iam::error::ProvideErrorMetadata;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use oidc_issuer::{Issuer, Key};
use serde_json::{json, Value};
use support::Server;

const CLIENT_ID: &str = "rampart-app";

/// A trust policy letting the provider's users whose `sub` matches `sub` assume the role and
/// tag their session.
fn trust(provider_arn: &str, issuer_name: &str, sub: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
            "Condition": {
                "StringEquals": {format!("{issuer_name}:aud"): CLIENT_ID},
                "StringLike": {format!("{issuer_name}:sub"): sub},
            },
        }],
    })
    .to_string()
}

struct Setup {
    server: Server,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    provider_arn: String,
    role_arn: String,
}

/// A server with a provider for `issuer_url` (pinned to `thumbprints`) and a role trusting
/// its users `alice-*`.
async fn setup(issuer_url: &str, thumbprints: &[&str]) -> Setup {
    let server = Server::start(&[]);
    let iam = server.iam(&server.root_key, &server.root_secret).await;
    let sts = server
        .sts(&server.root_key, &server.root_secret, "us-east-1")
        .await;
    let mut create = iam
        .create_open_id_connect_provider()
        .url(issuer_url)
        .client_id_list(CLIENT_ID);
    for t in thumbprints {
        create = create.thumbprint_list(*t);
    }
    let provider_arn = create
        .send()
        .await
        .expect("CreateOpenIDConnectProvider")
        .open_id_connect_provider_arn()
        .unwrap()
        .to_string();
    let name = issuer_url.trim_start_matches("https://");
    let role_arn = iam
        .create_role()
        .role_name("WebApp")
        .assume_role_policy_document(trust(&provider_arn, name, "alice-*"))
        .send()
        .await
        .expect("CreateRole")
        .role()
        .unwrap()
        .arn()
        .to_string();
    Setup {
        server,
        iam,
        sts,
        provider_arn,
        role_arn,
    }
}

impl Setup {
    async fn assume(
        &self,
        token: &str,
    ) -> Result<
        aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityOutput,
        aws_sdk_sts::error::SdkError<
            aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError,
        >,
    > {
        self.sts
            .assume_role_with_web_identity()
            .role_arn(&self.role_arn)
            .role_session_name("web-session")
            .web_identity_token(token)
            .send()
            .await
    }

    /// The error code and message of a refused token.
    async fn refused(&self, token: &str) -> (String, String) {
        let err = self.assume(token).await.expect_err("token must be refused");
        let svc = err.into_service_error();
        (
            svc.code().unwrap_or_default().to_string(),
            svc.message().unwrap_or_default().to_string(),
        )
    }
}

#[tokio::test]
async fn web_identity_tokens_are_verified_against_a_pinned_self_signed_issuer() {
    let issuer = Issuer::start().await;
    let s = setup(&issuer.url, &[&issuer.thumbprint]).await;

    // RS256, with session tags from the token's tags claim.
    let mut claims = issuer.claims("alice-1", CLIENT_ID);
    claims["amr"] = json!(["pwd"]);
    claims["https://aws.amazon.com/tags"] =
        json!({"principal_tags": {"team": ["red"]}, "transitive_tag_keys": ["team"]});
    let token = issuer.rsa.sign("rsa-1", &claims);
    let out = s.assume(&token).await.expect("AssumeRoleWithWebIdentity");
    assert_eq!(out.subject_from_web_identity_token(), Some("alice-1"));
    assert_eq!(out.audience(), Some(CLIENT_ID));
    assert_eq!(out.provider(), Some(s.provider_arn.as_str()));
    let user = out.assumed_role_user().unwrap();
    assert!(user.arn().ends_with(":assumed-role/WebApp/web-session"));
    let creds = out.credentials().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));

    // The session acts as the role.
    let session = aws_sdk_sts::Client::new(
        &aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&s.server.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                creds.access_key_id(),
                creds.secret_access_key(),
                Some(creds.session_token().to_string()),
                None,
                "web",
            ))
            .load()
            .await,
    );
    let me = session.get_caller_identity().send().await.expect("whoami");
    assert_eq!(me.arn(), Some(user.arn()));

    // ES256 tokens verify too.
    let token = issuer.ec.sign("ec-1", &issuer.claims("alice-2", CLIENT_ID));
    s.assume(&token).await.expect("ES256 token");

    // Tampered: the claims changed after signing.
    let good = issuer
        .rsa
        .sign("rsa-1", &issuer.claims("alice-1", CLIENT_ID));
    let parts: Vec<&str> = good.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(issuer.claims("alice-admin", CLIENT_ID).to_string());
    let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
    assert_eq!(s.refused(&tampered).await.0, "InvalidIdentityToken");

    // Wrong audience.
    let token = issuer
        .rsa
        .sign("rsa-1", &issuer.claims("alice-1", "someone-else"));
    assert_eq!(
        s.refused(&token).await,
        (
            "InvalidIdentityToken".into(),
            "Incorrect token audience".into()
        )
    );

    // Expired.
    let mut claims = issuer.claims("alice-1", CLIENT_ID);
    claims["exp"] = json!(chrono::Utc::now().timestamp() - 60);
    let (code, message) = s.refused(&issuer.rsa.sign("rsa-1", &claims)).await;
    assert_eq!(code, "ExpiredTokenException");
    assert!(
        message.starts_with("Token expired: current date/time"),
        "{message}"
    );

    // Signed by a key that is not the issuer's, under the issuer's key id.
    let impostor = Key::rsa();
    let token = impostor.sign("rsa-1", &issuer.claims("alice-1", CLIENT_ID));
    assert_eq!(s.refused(&token).await.0, "InvalidIdentityToken");

    // alg: none.
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(issuer.claims("alice-1", CLIENT_ID).to_string());
    assert_eq!(
        s.refused(&format!("{header}.{body}.")).await.0,
        "InvalidIdentityToken"
    );

    // A valid token whose subject the trust policy does not accept.
    let token = issuer.rsa.sign("rsa-1", &issuer.claims("bob", CLIENT_ID));
    assert_eq!(
        s.refused(&token).await,
        (
            "AccessDenied".into(),
            "Not authorized to perform sts:AssumeRoleWithWebIdentity".into()
        )
    );

    // An issuer that is no provider of the account.
    let mut claims = issuer.claims("alice-1", CLIENT_ID);
    claims["iss"] = json!("https://elsewhere.example.com");
    let (code, message) = s.refused(&issuer.rsa.sign("rsa-1", &claims)).await;
    assert_eq!(code, "InvalidIdentityToken");
    assert_eq!(
        message,
        "No OpenIDConnect provider found in your account for https://elsewhere.example.com"
    );

    // The trail records the calls as the web identity user, and never the token.
    let trail = aws_sdk_cloudtrail::Client::new(
        &s.server
            .sdk_config(&s.server.root_key, &s.server.root_secret, "us-east-1")
            .await,
    );
    let page = trail
        .lookup_events()
        .lookup_attributes(
            LookupAttribute::builder()
                .attribute_key(LookupAttributeKey::EventName)
                .attribute_value("AssumeRoleWithWebIdentity")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("LookupEvents");
    assert!(page.events().len() >= 3, "{:?}", page.events().len());
    for e in page.events() {
        let text = e.cloud_trail_event().unwrap();
        assert!(
            !text.contains(&good[..40]) && !text.contains(&header),
            "{text}"
        );
        let event: Value = serde_json::from_str(text).unwrap();
        assert_eq!(event["userIdentity"]["type"], "WebIdentityUser", "{text}");
        assert_eq!(
            event["userIdentity"]["identityProvider"],
            s.provider_arn.as_str()
        );
    }
    drop(s.iam);
}

#[tokio::test]
async fn an_issuer_whose_certificate_is_neither_trusted_nor_pinned_is_refused() {
    let issuer = Issuer::start().await;
    let s = setup(&issuer.url, &["0000000000000000000000000000000000000000"]).await;
    let token = issuer
        .rsa
        .sign("rsa-1", &issuer.claims("alice-1", CLIENT_ID));
    assert_eq!(
        s.refused(&token).await,
        (
            "InvalidIdentityToken".into(),
            "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint".into()
        )
    );
    // Registering the issuer's thumbprint lets the same token through.
    s.iam
        .update_open_id_connect_provider_thumbprint()
        .open_id_connect_provider_arn(&s.provider_arn)
        .thumbprint_list(&issuer.thumbprint)
        .send()
        .await
        .expect("UpdateOpenIDConnectProviderThumbprint");
    s.assume(&token).await.expect("pinned issuer");
}

#[tokio::test]
async fn an_offline_key_set_in_the_data_dir_needs_no_issuer() {
    // No issuer runs at this URL: its keys come from <data-dir>/oidc/.
    let key = Key::ec();
    let url = "https://idp.offline.test/tenant";
    let s = setup(url, &[]).await;
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"iss": url, "sub": "alice-9", "aud": CLIENT_ID, "exp": now + 300});
    let token = key.sign("k1", &claims);
    // Before the file exists the issuer is asked, and cannot be reached.
    assert_eq!(s.refused(&token).await.0, "IDPCommunicationError");
    let dir = s.server.data_dir.join("oidc");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("idp.offline.test_tenant.json"),
        json!({"keys": [key.jwk("k1")]}).to_string(),
    )
    .unwrap();
    let out = s.assume(&token).await.expect("offline JWKS");
    assert_eq!(out.subject_from_web_identity_token(), Some("alice-9"));
    // A key the file does not hold is still refused.
    let other = Key::ec().sign("k1", &claims);
    assert_eq!(s.refused(&other).await.0, "InvalidIdentityToken");
}
