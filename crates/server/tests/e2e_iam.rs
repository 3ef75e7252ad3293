//! End-to-end IAM with aws-sdk-rust: a user's lifecycle from creation to denial.

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

const LIST_USERS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","iam:GetUser"],"Resource":"*"}]}"#;

#[tokio::test]
async fn user_lifecycle_attach_call_detach_deny() {
    let server = Server::start(&[]);
    let root = server.iam(&server.root_key, &server.root_secret).await;

    let user = root
        .create_user()
        .user_name("alice")
        .path("/eng/")
        .send()
        .await
        .expect("CreateUser");
    let user = user.user().expect("user");
    assert!(user.user_id().starts_with("AIDA"));
    assert!(user.arn().ends_with(":user/eng/alice"));

    let dup = root
        .create_user()
        .user_name("ALICE")
        .send()
        .await
        .expect_err("duplicate");
    assert_eq!(dup.code(), Some("EntityAlreadyExists"));

    let policy = root
        .create_policy()
        .policy_name("ListUsers")
        .policy_document(LIST_USERS)
        .send()
        .await
        .expect("CreatePolicy");
    let policy_arn = policy
        .policy()
        .and_then(|p| p.arn())
        .expect("arn")
        .to_string();
    root.attach_user_policy()
        .user_name("alice")
        .policy_arn(&policy_arn)
        .send()
        .await
        .expect("AttachUserPolicy");

    let key = root
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .expect("CreateAccessKey");
    let key = key.access_key().expect("key");
    assert!(key.access_key_id().starts_with("AKIA"));
    assert_eq!(key.secret_access_key().len(), 40);

    let alice = server
        .iam(key.access_key_id(), key.secret_access_key())
        .await;
    let listed = alice.list_users().send().await.expect("ListUsers as alice");
    assert!(listed.users().iter().any(|u| u.user_name() == "alice"));
    let me = alice.get_user().send().await.expect("GetUser as alice");
    assert_eq!(me.user().map(|u| u.user_name()), Some("alice"));

    // Not granted: denied with AWS's code.
    let denied = alice
        .create_group()
        .group_name("g")
        .send()
        .await
        .expect_err("denied");
    assert_eq!(denied.code(), Some("AccessDenied"));

    root.detach_user_policy()
        .user_name("alice")
        .policy_arn(&policy_arn)
        .send()
        .await
        .expect("DetachUserPolicy");
    let denied = alice
        .list_users()
        .send()
        .await
        .expect_err("denied after detach");
    assert_eq!(denied.code(), Some("AccessDenied"));

    // Deleting needs the key and nothing attached; then the user is gone.
    let conflict = root
        .delete_user()
        .user_name("alice")
        .send()
        .await
        .expect_err("has a key");
    assert_eq!(conflict.code(), Some("DeleteConflict"));
    root.delete_access_key()
        .user_name("alice")
        .access_key_id(key.access_key_id())
        .send()
        .await
        .expect("DeleteAccessKey");
    root.delete_user()
        .user_name("alice")
        .send()
        .await
        .expect("DeleteUser");
    let gone = root
        .get_user()
        .user_name("alice")
        .send()
        .await
        .expect_err("gone");
    assert_eq!(gone.code(), Some("NoSuchEntity"));
    root.delete_policy()
        .policy_arn(&policy_arn)
        .send()
        .await
        .expect("DeletePolicy");
}

#[tokio::test]
async fn aws_managed_policies_and_inline_documents() {
    let server = Server::start(&[]);
    let root = server.iam(&server.root_key, &server.root_secret).await;
    let admin = root
        .get_policy()
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .expect("GetPolicy");
    assert_eq!(
        admin.policy().and_then(|p| p.default_version_id()),
        Some("v1")
    );
    root.create_group()
        .group_name("ops")
        .send()
        .await
        .expect("CreateGroup");
    root.put_group_policy()
        .group_name("ops")
        .policy_name("list")
        .policy_document(LIST_USERS)
        .send()
        .await
        .expect("PutGroupPolicy");
    let got = root
        .get_group_policy()
        .group_name("ops")
        .policy_name("list")
        .send()
        .await
        .expect("GetGroupPolicy");
    // IAM returns documents URL-encoded; the Rust SDK hands them over as sent.
    assert!(got.policy_document().starts_with("%7B%22Version%22"));
    let bad = root
        .put_group_policy()
        .group_name("ops")
        .policy_name("bad")
        .policy_document("{\"Statement\": 1}")
        .send()
        .await
        .expect_err("malformed");
    assert_eq!(bad.code(), Some("MalformedPolicyDocument"));
}

/// OpenID Connect providers with aws-sdk-iam: create (ARN from the URL), read back, audiences
/// and thumbprints changed, tags, AWS's errors, an idempotent delete, and a role whose trust
/// policy names the provider.
#[tokio::test]
async fn oidc_provider_life_cycle() {
    let server = Server::start(&[]);
    let root = server.iam(&server.root_key, &server.root_secret).await;
    let thumb = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";

    let created = root
        .create_open_id_connect_provider()
        .url("https://token.example.com/tenant")
        .client_id_list("app-1")
        .client_id_list("app-1")
        .thumbprint_list(thumb)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("id")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("CreateOpenIDConnectProvider");
    let arn = created
        .open_id_connect_provider_arn()
        .expect("arn")
        .to_string();
    assert!(
        arn.ends_with(":oidc-provider/token.example.com/tenant"),
        "{arn}"
    );
    assert_eq!(created.tags().len(), 1);

    let dup = root
        .create_open_id_connect_provider()
        .url("https://token.example.com/tenant")
        .send()
        .await
        .expect_err("duplicate");
    assert_eq!(dup.code(), Some("EntityAlreadyExists"));
    for bad in ["http://token.example.com", "https://token.example.com/?a=b"] {
        let err = root
            .create_open_id_connect_provider()
            .url(bad)
            .send()
            .await
            .expect_err(bad);
        assert_eq!(err.code(), Some("InvalidInput"), "{bad}");
    }

    root.add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .client_id("app-2")
        .send()
        .await
        .expect("AddClientID");
    root.remove_client_id_from_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .client_id("nobody")
        .send()
        .await
        .expect("RemoveClientID of an absent id");
    let other = "0123456789abcdef0123456789abcdef01234567";
    root.update_open_id_connect_provider_thumbprint()
        .open_id_connect_provider_arn(&arn)
        .thumbprint_list(other)
        .send()
        .await
        .expect("UpdateThumbprint");
    let got = root
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .expect("GetOpenIDConnectProvider");
    assert_eq!(got.url(), Some("token.example.com/tenant"));
    assert_eq!(got.client_id_list(), ["app-1", "app-2"]);
    assert_eq!(got.thumbprint_list(), [other]);
    assert!(got.create_date().is_some());

    root.untag_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .tag_keys("team")
        .send()
        .await
        .expect("Untag");
    let tags = root
        .list_open_id_connect_provider_tags()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .expect("ListTags");
    assert!(tags.tags().is_empty());

    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{arn}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"token.example.com/tenant:aud":"app-1"}}}}}}]}}"#
    );
    root.create_role()
        .role_name("web")
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("a role trusting the provider");

    let listed = root
        .list_open_id_connect_providers()
        .send()
        .await
        .expect("List");
    let arns: Vec<&str> = listed
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn())
        .collect();
    assert_eq!(arns, [arn.as_str()]);

    root.delete_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .expect("Delete");
    root.delete_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .expect("Delete again is idempotent");
    let gone = root
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), Some("NoSuchEntity"));
}
