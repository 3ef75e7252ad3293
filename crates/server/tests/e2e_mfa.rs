//! End-to-end MFA and passwords with aws-sdk-rust: virtual MFA devices enabled with codes the
//! test computes (RFC 6238 via totp-rs), the classic MFA-gated policy against a long-term key
//! and an MFA session, single-use and throttled codes, AssumeRole with MFA, password policy,
//! sign-in with and without MFA, lockout, and the credential report.

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
use aws_sdk_iam::primitives::Blob;
use support::Server;

const ROOT_PASSWORD: &str = "Root-Pa55word!";
const ROOT_EMAIL: &str = "ops@example.com";

/// Starts a server whose root user has an email and a console password.
fn start() -> Server {
    // Every test of this binary sets the same values, so concurrent tests agree.
    std::env::set_var("RAMPART_ROOT_PASSWORD", ROOT_PASSWORD);
    std::env::set_var("RAMPART_ROOT_EMAIL", ROOT_EMAIL);
    Server::start(&[])
}

/// The code a Base32 seed shows `offset` time steps from now.
fn code(seed_b32: &[u8], offset: i64) -> String {
    let secret = totp_rs::Secret::Encoded(String::from_utf8(seed_b32.to_vec()).expect("utf8"))
        .to_bytes()
        .expect("base32 seed");
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 0, 30, secret).expect("totp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let step = now / 30 + offset;
    totp.generate((step * 30) as u64)
}

/// Creates a user with an access key and an inline policy; returns (key, secret).
async fn user_with_key(root: &aws_sdk_iam::Client, name: &str, policy: &str) -> (String, String) {
    root.create_user()
        .user_name(name)
        .send()
        .await
        .expect("CreateUser");
    root.put_user_policy()
        .user_name(name)
        .policy_name("p")
        .policy_document(policy)
        .send()
        .await
        .expect("PutUserPolicy");
    let k = root
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .expect("CreateAccessKey");
    let k = k.access_key().expect("key");
    (
        k.access_key_id().to_string(),
        k.secret_access_key().to_string(),
    )
}

/// Creates and enables a virtual device for `user` (codes of the two previous steps);
/// returns (serial, Base32 seed).
async fn enable_device(client: &aws_sdk_iam::Client, user: &str, name: &str) -> (String, Vec<u8>) {
    let created = client
        .create_virtual_mfa_device()
        .virtual_mfa_device_name(name)
        .send()
        .await
        .expect("CreateVirtualMFADevice");
    let dev = created.virtual_mfa_device().expect("device");
    let serial = dev.serial_number().to_string();
    let seed = dev.base32_string_seed().expect("seed").as_ref().to_vec();
    let png = dev.qr_code_png().expect("png").as_ref().to_vec();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "QR code is a PNG");
    assert_eq!(seed.len(), 64, "Base32 seed of 40 bytes");
    client
        .enable_mfa_device()
        .user_name(user)
        .serial_number(&serial)
        .authentication_code1(code(&seed, -2))
        .authentication_code2(code(&seed, -1))
        .send()
        .await
        .expect("EnableMFADevice");
    (serial, seed)
}

/// The classic "manage your own MFA, everything else needs MFA" policy.
const MFA_GATED: &str = r#"{"Version":"2012-10-17","Statement":[
 {"Sid":"AllowAll","Effect":"Allow","Action":"*","Resource":"*"},
 {"Sid":"DenyAllExceptListedIfNoMFA","Effect":"Deny",
  "NotAction":["iam:CreateVirtualMFADevice","iam:EnableMFADevice","iam:GetUser",
               "iam:ListMFADevices","iam:ListVirtualMFADevices","iam:ResyncMFADevice",
               "sts:GetSessionToken"],
  "Resource":"*",
  "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;

async fn session_iam(server: &Server, c: &aws_sdk_sts::types::Credentials) -> aws_sdk_iam::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
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
        .await;
    aws_sdk_iam::Client::new(&conf)
}

#[tokio::test]
async fn mfa_gates_api_access() {
    let server = start();
    let root = server.iam(&server.root_key, &server.root_secret).await;
    let (key, secret) = user_with_key(&root, "alice", MFA_GATED).await;
    let alice = server.iam(&key, &secret).await;
    let alice_sts = server.sts(&key, &secret, "us-east-1").await;

    let (serial, seed) = enable_device(&alice, "alice", "alice-phone").await;
    let account = serial
        .split(':')
        .nth(4)
        .expect("account in serial")
        .to_string();
    assert_eq!(serial, format!("arn:aws:iam::{account}:mfa/alice-phone"));

    // The long-term key carries no MFA: BoolIfExists ... false denies it.
    let err = alice
        .list_users()
        .send()
        .await
        .expect_err("denied without MFA");
    assert_eq!(err.code(), Some("AccessDenied"));
    // ... but the listed self-service actions still work.
    let listed = alice
        .list_mfa_devices()
        .send()
        .await
        .expect("ListMFADevices");
    assert_eq!(listed.mfa_devices().len(), 1);
    assert_eq!(listed.mfa_devices()[0].serial_number(), serial);

    // A wrong code is refused.
    let wrong = if code(&seed, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let err = alice_sts
        .get_session_token()
        .serial_number(&serial)
        .token_code(wrong)
        .send()
        .await
        .expect_err("wrong code");
    assert_eq!(err.code(), Some("AccessDenied"));

    // The current code gives an MFA session, once.
    let current = code(&seed, 0);
    let session = alice_sts
        .get_session_token()
        .serial_number(&serial)
        .token_code(&current)
        .send()
        .await
        .expect("GetSessionToken with MFA");
    let creds = session.credentials().expect("credentials");
    let err = alice_sts
        .get_session_token()
        .serial_number(&serial)
        .token_code(&current)
        .send()
        .await
        .expect_err("a code is accepted once only");
    assert_eq!(err.code(), Some("AccessDenied"));
    // A device of someone else is refused too.
    let err = alice_sts
        .get_session_token()
        .serial_number(format!("arn:aws:iam::{account}:mfa/nobody"))
        .token_code(code(&seed, 1))
        .send()
        .await
        .expect_err("unknown device");
    assert_eq!(err.code(), Some("AccessDenied"));

    // The MFA session is allowed what the long-term key was denied.
    let mfa_iam = session_iam(&server, creds).await;
    let users = mfa_iam
        .list_users()
        .send()
        .await
        .expect("ListUsers with MFA");
    assert!(users.users().iter().any(|u| u.user_name() == "alice"));
    // A session without MFA cannot call IAM at all (AWS answers InvalidClientTokenId).
    let plain = alice_sts
        .get_session_token()
        .send()
        .await
        .expect("GetSessionToken without MFA");
    let plain_iam = session_iam(&server, plain.credentials().expect("creds")).await;
    let err = plain_iam
        .list_users()
        .send()
        .await
        .expect_err("session without MFA");
    assert_eq!(err.code(), Some("InvalidClientTokenId"));

    // AssumeRole into a role whose trust policy requires MFA.
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:user/alice"}},"Action":"sts:AssumeRole","Condition":{{"Bool":{{"aws:MultiFactorAuthPresent":"true"}}}}}}]}}"#
    );
    let role = root
        .create_role()
        .role_name("Admin")
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("CreateRole");
    let role_arn = role.role().expect("role").arn().to_string();
    let mfa_sts = aws_sdk_sts::Client::new(
        &aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&server.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                &key, &secret, None, None, "alice",
            ))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await,
    );
    let err = mfa_sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("no-mfa")
        .send()
        .await
        .expect_err("trust policy requires MFA");
    assert_eq!(err.code(), Some("AccessDenied"));
    let assumed = mfa_sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("with-mfa")
        .serial_number(&serial)
        .token_code(code(&seed, 1))
        .send()
        .await
        .expect("AssumeRole with MFA");
    assert!(assumed
        .assumed_role_user()
        .expect("user")
        .arn()
        .ends_with("assumed-role/Admin/with-mfa"));

    // Service last-accessed data reflects alice's real use of IAM (recorded in the
    // background, so poll briefly).
    let alice_arn = format!("arn:aws:iam::{account}:user/alice");
    let mut iam_entry = None;
    for _ in 0..50 {
        let job = root
            .generate_service_last_accessed_details()
            .arn(&alice_arn)
            .send()
            .await
            .expect("GenerateServiceLastAccessedDetails");
        let details = root
            .get_service_last_accessed_details()
            .job_id(job.job_id().expect("job id"))
            .send()
            .await
            .expect("GetServiceLastAccessedDetails");
        assert_eq!(
            details.job_status(),
            &aws_sdk_iam::types::JobStatusType::Completed
        );
        let entry = details
            .services_last_accessed()
            .iter()
            .find(|s| s.service_namespace() == "iam")
            .cloned()
            .expect("iam listed: alice's policy allows *");
        if entry.last_authenticated().is_some() {
            iam_entry = Some(entry);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let iam_entry = iam_entry.expect("alice's IAM use recorded");
    assert_eq!(
        iam_entry.last_authenticated_entity(),
        Some(alice_arn.as_str())
    );
    assert_eq!(iam_entry.total_authenticated_entities(), Some(1));

    // Devices: assigned and unassigned listings, tags, deactivate, delete.
    let assigned = root
        .list_virtual_mfa_devices()
        .assignment_status(aws_sdk_iam::types::AssignmentStatusType::Assigned)
        .send()
        .await
        .expect("ListVirtualMFADevices");
    assert_eq!(assigned.virtual_mfa_devices().len(), 1);
    assert_eq!(
        assigned.virtual_mfa_devices()[0]
            .user()
            .expect("user")
            .user_name(),
        "alice"
    );
    assert!(assigned.virtual_mfa_devices()[0]
        .base32_string_seed()
        .is_none());
    let err = root
        .delete_virtual_mfa_device()
        .serial_number(&serial)
        .send()
        .await
        .expect_err("in use");
    assert_eq!(err.code(), Some("DeleteConflict"));
    let err = root
        .delete_user()
        .user_name("alice")
        .send()
        .await
        .expect_err("has MFA");
    assert_eq!(err.code(), Some("DeleteConflict"));
    root.tag_mfa_device()
        .serial_number(&serial)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("red")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("TagMFADevice");
    let tags = root
        .list_mfa_device_tags()
        .serial_number(&serial)
        .send()
        .await
        .expect("ListMFADeviceTags");
    assert_eq!(tags.tags().len(), 1);
    root.deactivate_mfa_device()
        .user_name("alice")
        .serial_number(&serial)
        .send()
        .await
        .expect("DeactivateMFADevice");
    let unassigned = root
        .list_virtual_mfa_devices()
        .assignment_status(aws_sdk_iam::types::AssignmentStatusType::Unassigned)
        .send()
        .await
        .expect("ListVirtualMFADevices");
    assert_eq!(unassigned.virtual_mfa_devices().len(), 1);
    root.delete_virtual_mfa_device()
        .serial_number(&serial)
        .send()
        .await
        .expect("DeleteVirtualMFADevice");
    let err = root
        .delete_virtual_mfa_device()
        .serial_number(&serial)
        .send()
        .await
        .expect_err("gone");
    assert_eq!(err.code(), Some("NoSuchEntity"));
}

#[tokio::test]
async fn enable_refuses_bad_codes_and_throttles() {
    let server = start();
    let root = server.iam(&server.root_key, &server.root_secret).await;
    root.create_user()
        .user_name("bob")
        .send()
        .await
        .expect("CreateUser");
    let created = root
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("bob-phone")
        .send()
        .await
        .expect("CreateVirtualMFADevice");
    let dev = created.virtual_mfa_device().expect("device");
    let serial = dev.serial_number().to_string();
    let seed = dev.base32_string_seed().expect("seed").as_ref().to_vec();

    // Two codes that are not consecutive are refused, and nothing changes.
    let err = root
        .enable_mfa_device()
        .user_name("bob")
        .serial_number(&serial)
        .authentication_code1(code(&seed, -1))
        .authentication_code2(code(&seed, -1))
        .send()
        .await
        .expect_err("same code twice");
    assert_eq!(err.code(), Some("InvalidAuthenticationCode"));
    let listed = root
        .list_mfa_devices()
        .user_name("bob")
        .send()
        .await
        .expect("ListMFADevices");
    assert!(listed.mfa_devices().is_empty());
    // A malformed code is a validation error.
    let err = root
        .enable_mfa_device()
        .user_name("bob")
        .serial_number(&serial)
        .authentication_code1("12ab56")
        .authentication_code2("123456")
        .send()
        .await
        .expect_err("malformed");
    assert!(matches!(
        err.code(),
        Some("ValidationError") | Some("InvalidAuthenticationCode")
    ));
    // Repeated wrong codes throttle the device: then even good codes are refused.
    for _ in 0..5 {
        let _ = root
            .enable_mfa_device()
            .user_name("bob")
            .serial_number(&serial)
            .authentication_code1("000000")
            .authentication_code2("000001")
            .send()
            .await;
    }
    let err = root
        .enable_mfa_device()
        .user_name("bob")
        .serial_number(&serial)
        .authentication_code1(code(&seed, -2))
        .authentication_code2(code(&seed, -1))
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(err.code(), Some("InvalidAuthenticationCode"));

    // Only the root user may create the root device.
    let err = root
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("root-account-mfa-device")
        .send()
        .await;
    assert!(err.is_ok(), "root may create its device");
    let (k, s) = user_with_key(
        &root,
        "carol",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    )
    .await;
    let carol = server.iam(&k, &s).await;
    let err = carol
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("root-account-mfa-device")
        .path("/x/")
        .send()
        .await
        .expect_err("reserved name");
    assert_eq!(err.code(), Some("InvalidInput"));
}

/// Posts a sign-in attempt; returns (status, JSON body).
async fn sign_in(server: &Server, body: serde_json::Value) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/_rampart/signin", server.endpoint))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("sign-in request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).expect("JSON body"))
}

#[tokio::test]
async fn passwords_signin_and_credential_report() {
    let server = start();
    let root = server.iam(&server.root_key, &server.root_secret).await;
    let account = server
        .sts(&server.root_key, &server.root_secret, "us-east-1")
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity")
        .account()
        .expect("account")
        .to_string();

    // The account password policy, enforced on every password set.
    let err = root
        .get_account_password_policy()
        .send()
        .await
        .expect_err("no policy yet");
    assert_eq!(err.code(), Some("NoSuchEntity"));
    root.update_account_password_policy()
        .minimum_password_length(12)
        .require_symbols(true)
        .require_numbers(true)
        .require_uppercase_characters(true)
        .require_lowercase_characters(true)
        .allow_users_to_change_password(true)
        .password_reuse_prevention(3)
        .max_password_age(90)
        .send()
        .await
        .expect("UpdateAccountPasswordPolicy");
    let policy = root
        .get_account_password_policy()
        .send()
        .await
        .expect("GetAccountPasswordPolicy");
    let policy = policy.password_policy().expect("policy");
    assert_eq!(policy.minimum_password_length(), Some(12));
    assert!(policy.expire_passwords());

    let (dave_key, dave_secret) = user_with_key(
        &root,
        "dave",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}"#,
    )
    .await;
    for weak in ["short1!A", "alllowercase-and-long-1", "NoDigitsHere-at-all"] {
        let err = root
            .create_login_profile()
            .user_name("dave")
            .password(weak)
            .send()
            .await
            .expect_err("weak password");
        assert_eq!(err.code(), Some("PasswordPolicyViolation"), "{weak}");
    }
    let err = root
        .get_login_profile()
        .user_name("dave")
        .send()
        .await
        .expect_err("no profile after refusals");
    assert_eq!(err.code(), Some("NoSuchEntity"));
    root.create_login_profile()
        .user_name("dave")
        .password("Dave-first-pass1")
        .password_reset_required(false)
        .send()
        .await
        .expect("CreateLoginProfile");
    let err = root
        .create_login_profile()
        .user_name("dave")
        .password("Dave-first-pass1")
        .send()
        .await
        .expect_err("exists");
    assert_eq!(err.code(), Some("EntityAlreadyExists"));

    // Sign-in without MFA, with a wrong password, then with the right one.
    let (status, body) = sign_in(
        &server,
        serde_json::json!({"account": account, "user": "dave", "password": "wrong-Password-1"}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "InvalidCredentials");
    let (status, body) = sign_in(
        &server,
        serde_json::json!({"account": account, "user": "dave", "password": "Dave-first-pass1"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "Success");
    assert_eq!(body["mfa_authenticated"], false);

    // ChangePassword by the user: policy and reuse prevention apply.
    let dave = server.iam(&dave_key, &dave_secret).await;
    let err = dave
        .change_password()
        .old_password("Dave-first-pass1")
        .new_password("Dave-first-pass1")
        .send()
        .await
        .expect_err("reuse");
    assert_eq!(err.code(), Some("PasswordPolicyViolation"));
    dave.change_password()
        .old_password("Dave-first-pass1")
        .new_password("Dave-second-pass2")
        .send()
        .await
        .expect("ChangePassword");

    // Sign-in with MFA: the device is required once enabled.
    let (serial, seed) = enable_device(&root, "dave", "dave-phone").await;
    let (status, body) = sign_in(
        &server,
        serde_json::json!({"account": account, "user": "dave", "password": "Dave-second-pass2"}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "MfaRequired");
    let (status, body) = sign_in(
        &server,
        serde_json::json!({"account": account, "user": "dave", "password": "Dave-second-pass2", "mfa_code": code(&seed, 0)}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mfa_authenticated"], true);

    // The root user signs in with its email; nobody else can change the root password.
    let (status, body) = sign_in(
        &server,
        serde_json::json!({"email": ROOT_EMAIL, "password": ROOT_PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["arn"], format!("arn:aws:iam::{account}:root"));

    // Lockout after repeated failures: then even the right password is refused.
    for _ in 0..5 {
        let (status, _) = sign_in(
            &server,
            serde_json::json!({"account": account, "user": "dave", "password": "Nope-nope-nope1"}),
        )
        .await;
        assert_eq!(status, 401);
    }
    let (status, body) = sign_in(
        &server,
        serde_json::json!({"account": account, "user": "dave", "password": "Dave-second-pass2", "mfa_code": code(&seed, 1)}),
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "LockedOut");

    // The credential report reflects all of this.
    let generated = root
        .generate_credential_report()
        .send()
        .await
        .expect("GenerateCredentialReport");
    assert!(generated.state().is_some());
    let report = root
        .get_credential_report()
        .send()
        .await
        .expect("GetCredentialReport");
    assert_eq!(
        report.report_format(),
        Some(&aws_sdk_iam::types::ReportFormatType::TextCsv)
    );
    let csv = String::from_utf8(
        report
            .content()
            .map(Blob::as_ref)
            .expect("content")
            .to_vec(),
    )
    .expect("utf8");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!(header.len(), 22);
    assert_eq!(
        &header[..8],
        &[
            "user",
            "arn",
            "user_creation_time",
            "password_enabled",
            "password_last_used",
            "password_last_changed",
            "password_next_rotation",
            "mfa_active",
        ]
    );
    assert_eq!(header[13], "access_key_2_active");
    assert_eq!(header[21], "cert_2_last_rotated");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let col = |row: &Vec<&str>, name: &str| {
        row[header.iter().position(|h| *h == name).expect("column")].to_string()
    };
    let root_row = rows
        .iter()
        .find(|r| r[0] == "<root_account>")
        .expect("root row");
    assert_eq!(col(root_row, "password_enabled"), "not_supported");
    assert_eq!(col(root_row, "access_key_1_active"), "true");
    let dave_row = rows.iter().find(|r| r[0] == "dave").expect("dave row");
    assert_eq!(col(dave_row, "password_enabled"), "true");
    assert_eq!(col(dave_row, "mfa_active"), "true");
    assert_ne!(col(dave_row, "password_last_used"), "no_information");
    assert_ne!(col(dave_row, "password_next_rotation"), "N/A");
    assert_eq!(col(dave_row, "access_key_1_active"), "true");
    assert_eq!(col(dave_row, "access_key_2_active"), "false");
    assert_eq!(col(dave_row, "cert_1_active"), "false");
    let _ = serial;
}

#[tokio::test]
async fn seeds_passwords_and_codes_stay_out_of_the_store_and_trail() {
    let server = start();
    let root = server.iam(&server.root_key, &server.root_secret).await;
    root.create_user()
        .user_name("erin")
        .send()
        .await
        .expect("CreateUser");
    let password = "Erin-secret-pass-77";
    root.create_login_profile()
        .user_name("erin")
        .password(password)
        .send()
        .await
        .expect("CreateLoginProfile");
    let created = root
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("erin-phone")
        .send()
        .await
        .expect("CreateVirtualMFADevice");
    let dev = created.virtual_mfa_device().expect("device");
    let seed =
        String::from_utf8(dev.base32_string_seed().expect("seed").as_ref().to_vec()).expect("utf8");
    let account = server
        .sts(&server.root_key, &server.root_secret, "us-east-1")
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity")
        .account()
        .expect("account")
        .to_string();
    let (status, _) = sign_in(
        &server,
        serde_json::json!({"account": account, "user": "erin", "password": "Not-her-pass-1"}),
    )
    .await;
    assert_eq!(status, 401, "wrong password");
    let (status, _) = sign_in(
        &server,
        serde_json::json!({"account": account, "user": "erin", "password": password}),
    )
    .await;
    assert_eq!(status, 200, "right password");

    // The trail records the calls, never the seed, its QR code or the password.
    let trail = server.cloudtrail().await;
    let mut bodies = Vec::new();
    for name in [
        "CreateVirtualMFADevice",
        "CreateLoginProfile",
        "ConsoleLogin",
    ] {
        let mut found = None;
        for _ in 0..50 {
            let page = trail
                .lookup_events()
                .lookup_attributes(
                    aws_sdk_cloudtrail::types::LookupAttribute::builder()
                        .attribute_key(aws_sdk_cloudtrail::types::LookupAttributeKey::EventName)
                        .attribute_value(name)
                        .build()
                        .expect("attribute"),
                )
                .send()
                .await
                .expect("LookupEvents");
            if let Some(e) = page.events().first() {
                found = e.cloud_trail_event().map(str::to_string);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        bodies.push(found.unwrap_or_else(|| panic!("no {name} record")));
    }
    let png_b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(dev.qr_code_png().expect("png").as_ref())
    };
    for body in &bodies {
        assert!(!body.contains(&seed), "seed in the trail: {body}");
        assert!(!body.contains(&png_b64[..40]), "QR code in the trail");
        assert!(!body.contains(password), "password in the trail");
    }
    assert!(bodies[2].contains("signin.amazonaws.com"));

    // Nor does the database file (with its write-ahead log) hold them in clear.
    let mut raw = Vec::new();
    for f in ["rampart.db", "rampart.db-wal"] {
        if let Ok(bytes) = std::fs::read(server.data_dir.join(f)) {
            raw.extend(bytes);
        }
    }
    assert!(!raw.is_empty(), "database file found");
    let contains = |needle: &[u8]| raw.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(seed.as_bytes()), "seed stored in clear");
    assert!(!contains(password.as_bytes()), "password stored in clear");
}
