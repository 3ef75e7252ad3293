//! End-to-end STS with aws-sdk-rust: a role assumed by a user, the session's identity and
//! permissions, a session policy, role chaining, and the end of a deleted role's sessions.

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

mod support;

use aws_sdk_iam::error::ProvideErrorMetadata;
use support::Server;

const ROLE_PERMS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListRoles","iam:ListUsers","sts:AssumeRole"],"Resource":"*"}]}"#;

fn trust(principal: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

/// SDK configuration signing with temporary credentials.
async fn session_config(
    server: &Server,
    c: &aws_sdk_sts::types::Credentials,
) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&server.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "session",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

#[tokio::test]
async fn assume_role_end_to_end() {
    let server = Server::start(&[]);
    let root_sts = server
        .sts(&server.root_key, &server.root_secret, "us-east-1")
        .await;
    let account = root_sts
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity")
        .account()
        .expect("account")
        .to_string();
    let root = server.iam(&server.root_key, &server.root_secret).await;

    // A role trusting the account, with its own permissions.
    let role = root
        .create_role()
        .role_name("Deployer")
        .path("/ci/")
        .assume_role_policy_document(trust(&format!("arn:aws:iam::{account}:root")))
        .send()
        .await
        .expect("CreateRole");
    let role = role.role().expect("role");
    let role_arn = role.arn().to_string();
    let role_id = role.role_id().to_string();
    assert!(role_id.starts_with("AROA"));
    assert_eq!(role_arn, format!("arn:aws:iam::{account}:role/ci/Deployer"));
    root.put_role_policy()
        .role_name("Deployer")
        .policy_name("perms")
        .policy_document(ROLE_PERMS)
        .send()
        .await
        .expect("PutRolePolicy");

    // A user who may only assume it.
    root.create_user()
        .user_name("dev")
        .send()
        .await
        .expect("CreateUser");
    root.put_user_policy()
        .user_name("dev")
        .policy_name("assume")
        .policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"{role_arn}"}}]}}"#
        ))
        .send()
        .await
        .expect("PutUserPolicy");
    let key = root
        .create_access_key()
        .user_name("dev")
        .send()
        .await
        .expect("CreateAccessKey");
    let key = key.access_key().expect("key");
    let user_iam = server
        .iam(key.access_key_id(), key.secret_access_key())
        .await;
    let denied = user_iam
        .list_roles()
        .send()
        .await
        .expect_err("user cannot list roles");
    assert_eq!(denied.code(), Some("AccessDenied"));

    let user_sts = server
        .sts(key.access_key_id(), key.secret_access_key(), "us-east-1")
        .await;
    let out = user_sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("build-42")
        .duration_seconds(900)
        .send()
        .await
        .expect("AssumeRole");
    let assumed = out.assumed_role_user().expect("assumed role user");
    assert_eq!(
        assumed.arn(),
        format!("arn:aws:sts::{account}:assumed-role/Deployer/build-42")
    );
    assert_eq!(assumed.assumed_role_id(), format!("{role_id}:build-42"));
    let creds = out.credentials().expect("credentials").clone();
    assert!(creds.access_key_id().starts_with("ASIA"));
    assert_eq!(creds.secret_access_key().len(), 40);

    let cfg = session_config(&server, &creds).await;
    let me = aws_sdk_sts::Client::new(&cfg)
        .get_caller_identity()
        .send()
        .await
        .expect("session GetCallerIdentity");
    assert_eq!(me.arn(), Some(assumed.arn()));
    assert_eq!(me.user_id(), Some(format!("{role_id}:build-42").as_str()));
    let session_iam = aws_sdk_iam::Client::new(&cfg);
    session_iam
        .list_roles()
        .send()
        .await
        .expect("the role's permission");

    // A session policy caps the next session.
    let capped = user_sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("capped")
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}]}"#)
        .send()
        .await
        .expect("AssumeRole with a session policy");
    let capped_iam = aws_sdk_iam::Client::new(
        &session_config(&server, capped.credentials().expect("creds")).await,
    );
    capped_iam
        .list_roles()
        .send()
        .await
        .expect("allowed by both");
    let err = capped_iam.list_users().send().await.expect_err("capped");
    assert_eq!(err.code(), Some("AccessDenied"));

    // Role chaining: at most one hour.
    let chained = aws_sdk_sts::Client::new(&cfg)
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("again")
        .duration_seconds(7200)
        .send()
        .await
        .expect_err("chaining is capped at one hour");
    assert_eq!(chained.code(), Some("ValidationError"));

    // Too long for the role.
    let err = user_sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("long")
        .duration_seconds(7200)
        .send()
        .await
        .expect_err("over MaxSessionDuration");
    assert_eq!(err.code(), Some("ValidationError"));

    // Deleting the role ends its sessions.
    root.delete_role_policy()
        .role_name("Deployer")
        .policy_name("perms")
        .send()
        .await
        .expect("DeleteRolePolicy");
    root.delete_role()
        .role_name("Deployer")
        .send()
        .await
        .expect("DeleteRole");
    let gone = aws_sdk_sts::Client::new(&cfg)
        .get_caller_identity()
        .send()
        .await
        .expect_err("the session died with its role");
    assert_eq!(gone.code(), Some("InvalidClientTokenId"));
}
