//! A small set of real resources, so that generated calls get past `NotFound` some of the
//! time: a user with a key (the unprivileged caller), a role, a group, policies, an instance
//! profile, an MFA device, KMS keys with an alias, a grant and a ciphertext, an organization
//! with an OU, an SCP, a handshake and an account request, S3 buckets, objects and an upload.

use rampart_store::{Account, AccountStatus};
use serde_json::{json, Value};

use super::generate::Pool;
use super::harness::{tag_text, Caller, Harness};

const IDENTITY_DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const SCP_DOC: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

pub struct Fixture {
    pub pool: Pool,
    /// An IAM user with no policies.
    pub unprivileged: Caller,
    /// An IAM user allowed everything by an inline policy.
    pub admin: Caller,
    /// A session of a role allowed everything, assumed by the admin user.
    pub role_session: Caller,
}

fn form(pairs: &[(&str, &str)]) -> Value {
    let mut map = serde_json::Map::new();
    for (k, v) in pairs {
        map.insert((*k).to_string(), json!(v));
    }
    Value::Object(map)
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("json")
}

fn text(v: &Value) -> String {
    v.as_str().expect("string").to_string()
}

pub async fn seed(h: &Harness) -> Fixture {
    let mut pool = Pool::default();
    let account = h.started.boot.account_id.clone();
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    let key_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );

    // IAM.
    let user = h
        .must("iam", "CreateUser", form(&[("UserName", "fx-user")]))
        .await;
    let user_arn = tag_text(&user, "Arn");
    let keys = h
        .must("iam", "CreateAccessKey", form(&[("UserName", "fx-user")]))
        .await;
    let unprivileged = Caller {
        key: tag_text(&keys, "AccessKeyId"),
        secret: tag_text(&keys, "SecretAccessKey"),
        token: None,
    };
    h.must("iam", "CreateUser", form(&[("UserName", "fx-admin")]))
        .await;
    h.must(
        "iam",
        "PutUserPolicy",
        form(&[
            ("UserName", "fx-admin"),
            ("PolicyName", "fx-all"),
            ("PolicyDocument", ALLOW_ALL),
        ]),
    )
    .await;
    let keys = h
        .must("iam", "CreateAccessKey", form(&[("UserName", "fx-admin")]))
        .await;
    let admin = Caller {
        key: tag_text(&keys, "AccessKeyId"),
        secret: tag_text(&keys, "SecretAccessKey"),
        token: None,
    };
    let role = h
        .must(
            "iam",
            "CreateRole",
            form(&[
                ("RoleName", "fx-role"),
                ("AssumeRolePolicyDocument", &trust),
            ]),
        )
        .await;
    let role_arn = tag_text(&role, "Arn");
    let group = h
        .must("iam", "CreateGroup", form(&[("GroupName", "fx-group")]))
        .await;
    let group_arn = tag_text(&group, "Arn");
    h.must(
        "iam",
        "AddUserToGroup",
        form(&[("GroupName", "fx-group"), ("UserName", "fx-user")]),
    )
    .await;
    let policy = h
        .must(
            "iam",
            "CreatePolicy",
            form(&[
                ("PolicyName", "fx-policy"),
                ("PolicyDocument", IDENTITY_DOC),
            ]),
        )
        .await;
    let policy_arn = tag_text(&policy, "Arn");
    h.must(
        "iam",
        "AttachRolePolicy",
        form(&[("RoleName", "fx-role"), ("PolicyArn", &policy_arn)]),
    )
    .await;
    h.must(
        "iam",
        "PutUserPolicy",
        form(&[
            ("UserName", "fx-user"),
            ("PolicyName", "fx-inline"),
            ("PolicyDocument", IDENTITY_DOC),
        ]),
    )
    .await;
    h.must(
        "iam",
        "PutRolePolicy",
        form(&[
            ("RoleName", "fx-role"),
            ("PolicyName", "fx-all"),
            ("PolicyDocument", ALLOW_ALL),
        ]),
    )
    .await;
    let session = h
        .must_as(
            &admin,
            "sts",
            "AssumeRole",
            form(&[("RoleArn", &role_arn), ("RoleSessionName", "fx-session")]),
        )
        .await;
    let role_session = Caller {
        key: tag_text(&session, "AccessKeyId"),
        secret: tag_text(&session, "SecretAccessKey"),
        token: Some(tag_text(&session, "SessionToken")),
    };
    for (who, name) in [("GroupName", "fx-group"), ("RoleName", "fx-role")] {
        let op = if who == "GroupName" {
            "PutGroupPolicy"
        } else {
            "PutRolePolicy"
        };
        h.must(
            "iam",
            op,
            form(&[
                (who, name),
                ("PolicyName", "fx-inline"),
                ("PolicyDocument", IDENTITY_DOC),
            ]),
        )
        .await;
    }
    h.must(
        "iam",
        "CreateLoginProfile",
        form(&[("UserName", "fx-user"), ("Password", "Fx-pass-1234!")]),
    )
    .await;
    let profile = h
        .must(
            "iam",
            "CreateInstanceProfile",
            form(&[("InstanceProfileName", "fx-profile")]),
        )
        .await;
    h.must(
        "iam",
        "AddRoleToInstanceProfile",
        form(&[
            ("InstanceProfileName", "fx-profile"),
            ("RoleName", "fx-role"),
        ]),
    )
    .await;
    let mfa = h
        .must(
            "iam",
            "CreateVirtualMFADevice",
            form(&[("VirtualMFADeviceName", "fx-mfa")]),
        )
        .await;
    let serial = tag_text(&mfa, "SerialNumber");
    let oidc = h
        .must(
            "iam",
            "CreateOpenIDConnectProvider",
            form(&[
                ("Url", "https://fx.example.com"),
                ("ClientIDList.member.1", "fx-app"),
            ]),
        )
        .await;
    let oidc_arn = tag_text(&oidc, "OpenIDConnectProviderArn");
    for (member, value) in [
        ("UserName", "fx-user"),
        ("RoleName", "fx-role"),
        ("GroupName", "fx-group"),
        ("PolicyName", "fx-inline"),
        ("PolicyName", "fx-policy"),
        ("InstanceProfileName", "fx-profile"),
        ("VirtualMFADeviceName", "fx-mfa"),
        ("PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
        ("PolicyDocument", IDENTITY_DOC),
        ("PolicyInputList", IDENTITY_DOC),
        (
            "PermissionsBoundary",
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
        ),
        ("VersionId", "v1"),
        ("RoleSessionName", "fx-session"),
        ("Password", "Fx-pass-1234!"),
        ("OldPassword", "Fx-pass-1234!"),
    ] {
        pool.add(member, value);
    }
    pool.add("AssumeRolePolicyDocument", trust.clone());
    pool.add("PolicyArn", policy_arn.clone());
    pool.add("PermissionsBoundary", policy_arn.clone());
    pool.add("SerialNumber", serial.clone());
    pool.add("OpenIDConnectProviderArn", oidc_arn.clone());
    pool.add("Url", "https://fx.example.com");
    pool.add("ClientID", "fx-app");
    pool.add("ThumbprintList", "9e99a48a9960b14926bb7f3b02e22da2b0ab7280");
    pool.add("AccessKeyId", unprivileged.key.clone());
    pool.add("RoleArn", role_arn.clone());
    pool.add("PolicySourceArn", user_arn.clone());
    pool.add("PolicySourceArn", role_arn.clone());
    pool.add("PolicySourceArn", group_arn.clone());
    for arn in [&user_arn, &role_arn, &group_arn, &policy_arn, &serial] {
        pool.add("*Arn", arn.clone());
    }
    pool.add("*Arn", tag_text(&profile, "Arn"));

    // KMS.
    let key = parse(&h.must("kms", "CreateKey", json!({})).await);
    let key_id = text(&key["KeyMetadata"]["KeyId"]);
    let key_arn = text(&key["KeyMetadata"]["Arn"]);
    let signing = parse(
        &h.must(
            "kms",
            "CreateKey",
            json!({"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}),
        )
        .await,
    );
    let signing_id = text(&signing["KeyMetadata"]["KeyId"]);
    h.must(
        "kms",
        "CreateAlias",
        json!({"AliasName": "alias/fx", "TargetKeyId": key_id}),
    )
    .await;
    let grant = parse(
        &h.must(
            "kms",
            "CreateGrant",
            json!({"KeyId": key_id, "GranteePrincipal": role_arn,
                   "Operations": ["Encrypt", "Decrypt", "RetireGrant"]}),
        )
        .await,
    );
    let sealed = parse(
        &h.must(
            "kms",
            "Encrypt",
            json!({"KeyId": key_id, "Plaintext": "aGVsbG8="}),
        )
        .await,
    );
    let alias_arn = key_arn.replace(&format!("key/{key_id}"), "alias/fx");
    for member in ["KeyId", "TargetKeyId", "SourceKeyId", "DestinationKeyId"] {
        for v in [&key_id, &key_arn, &signing_id, &alias_arn] {
            pool.add(member, v.clone());
        }
        pool.add(member, "alias/fx");
    }
    pool.add("AliasName", "alias/fx");
    pool.add("SigningAlgorithm", "ECDSA_SHA_256");
    pool.add("GrantId", text(&grant["GrantId"]));
    pool.add("GrantTokens", text(&grant["GrantToken"]));
    pool.add("GrantToken", text(&grant["GrantToken"]));
    pool.add("CiphertextBlob", text(&sealed["CiphertextBlob"]));
    pool.add("SourceCiphertextBlob", text(&sealed["CiphertextBlob"]));
    pool.add("GranteePrincipal", role_arn.clone());
    pool.add("RetiringPrincipal", user_arn.clone());
    pool.add("Policy", key_policy.clone());
    pool.add("PolicyName", "default");
    pool.add("*Arn", key_arn);

    // Secrets Manager: a secret with a current and a pending version, under the AWS managed
    // key, and one under the fixture's customer key.
    let sm = |op: &'static str, input: Value| async move {
        parse(&h.must("secretsmanager", op, input).await)
    };
    let secret = sm(
        "CreateSecret",
        json!({"Name": "fx/secret", "SecretString": "fx-value"}),
    )
    .await;
    let secret_arn = text(&secret["ARN"]);
    let current = text(&secret["VersionId"]);
    let pending = sm(
        "PutSecretValue",
        json!({"SecretId": "fx/secret", "SecretString": "fx-next",
               "VersionStages": ["AWSPENDING"]}),
    )
    .await;
    let pending = text(&pending["VersionId"]);
    sm(
        "CreateSecret",
        json!({"Name": "fx/cmk", "SecretString": "fx-cmk", "KmsKeyId": key_id}),
    )
    .await;
    let partial = secret_arn
        .rsplit_once('-')
        .map(|(p, _)| p.to_string())
        .unwrap_or_default();
    for v in ["fx/secret", "fx/cmk", &secret_arn, &partial] {
        pool.add("SecretId", v);
    }
    for member in ["VersionId", "RemoveFromVersionId", "MoveToVersionId"] {
        pool.add(member, current.clone());
        pool.add(member, pending.clone());
    }
    for stage in ["AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"] {
        pool.add("VersionStage", stage);
    }
    pool.add("ResourcePolicy", key_policy);

    // Organizations.
    let org = |op: &'static str, input: Value| async move {
        parse(&h.must("organizations", op, input).await)
    };
    let created = org("CreateOrganization", json!({"FeatureSet": "ALL"})).await;
    let org_arn = text(&created["Organization"]["Arn"]);
    let roots = org("ListRoots", json!({})).await;
    let root_id = text(&roots["Roots"][0]["Id"]);
    let ou = org(
        "CreateOrganizationalUnit",
        json!({"ParentId": root_id, "Name": "fx-ou"}),
    )
    .await;
    let ou_id = text(&ou["OrganizationalUnit"]["Id"]);
    let scp = org(
        "CreatePolicy",
        json!({"Name": "fx-scp", "Description": "fx", "Type": "SERVICE_CONTROL_POLICY",
               "Content": SCP_DOC}),
    )
    .await;
    let scp_id = text(&scp["Policy"]["PolicySummary"]["Id"]);
    org(
        "AttachPolicy",
        json!({"PolicyId": scp_id, "TargetId": ou_id}),
    )
    .await;
    h.app()
        .store
        .accounts()
        .create(&Account {
            id: "123456789012".into(),
            name: "standalone".into(),
            email: "standalone@example.com".into(),
            status: AccountStatus::Active,
            is_management: false,
            created_at: chrono::Utc::now(),
        })
        .await
        .expect("account");
    let invited = org(
        "InviteAccountToOrganization",
        json!({"Target": {"Id": "123456789012", "Type": "ACCOUNT"}}),
    )
    .await;
    let request = org(
        "CreateAccount",
        json!({"Email": "fx@example.com", "AccountName": "fx"}),
    )
    .await;
    for member in [
        "ParentId",
        "TargetId",
        "DestinationParentId",
        "SourceParentId",
        "ResourceId",
    ] {
        for v in [&root_id, &ou_id, &account] {
            pool.add(member, v.clone());
        }
    }
    pool.add("TargetId", scp_id.clone());
    pool.add("ResourceId", scp_id.clone());
    pool.add("RootId", root_id);
    pool.add("OrganizationalUnitId", ou_id);
    pool.add("PolicyId", scp_id);
    pool.add("Content", SCP_DOC);
    pool.add("AccountId", account.clone());
    pool.add("AccountId", "123456789012");
    pool.add("HandshakeId", text(&invited["Handshake"]["Id"]));
    pool.add(
        "CreateAccountRequestId",
        text(&request["CreateAccountStatus"]["Id"]),
    );
    pool.add("*Arn", org_arn);

    // S3: a bucket with two objects, a tag set, a policy and an upload in progress, and an empty
    // bucket that a `DeleteBucket` may remove.
    let s3 = |op: &'static str, input: Value| async move { h.must("s3", op, input).await };
    for bucket in ["fx-bucket", "fx-empty"] {
        s3(
            "CreateBucket",
            json!({"Bucket": bucket,
                   "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}),
        )
        .await;
        pool.add("Bucket", bucket);
    }
    pool.add("LocationConstraint", "eu-west-1");
    for key in ["fx-key", "fx/dir/obj.txt"] {
        s3(
            "PutObject",
            json!({"Bucket": "fx-bucket", "Key": key, "Body": "aGVsbG8="}),
        )
        .await;
        pool.add("Key", key);
        pool.add("CopySource", format!("fx-bucket/{key}"));
    }
    s3(
        "PutBucketTagging",
        json!({"Bucket": "fx-bucket",
               "Tagging": {"TagSet": [{"Key": "fx", "Value": "tag"}]}}),
    )
    .await;
    let bucket_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::fx-bucket/*"}}]}}"#
    );
    s3(
        "PutBucketPolicy",
        json!({"Bucket": "fx-bucket", "Policy": bucket_policy}),
    )
    .await;
    pool.add("Policy", bucket_policy);
    let upload = s3(
        "CreateMultipartUpload",
        json!({"Bucket": "fx-bucket", "Key": "fx-key"}),
    )
    .await;
    pool.add("UploadId", tag_text(&upload, "UploadId"));
    Fixture {
        pool,
        unprivileged,
        admin,
        role_session,
    }
}
