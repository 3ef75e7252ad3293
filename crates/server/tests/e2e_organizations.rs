//! End-to-end AWS Organizations with aws-sdk-rust: an organization with nested OUs and
//! accounts created asynchronously, `OrganizationAccountAccessRole`, SCPs that bind member
//! accounts (their root users included) and not the management account, `FullAWSAccess`
//! detached, inheritance across three levels, an RCP, moves that change permissions at once,
//! and cross-account role assumption decided on both sides.

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

use std::time::Duration;

use aws_sdk_organizations::{
    error::ProvideErrorMetadata,
    operation::create_organizational_unit::CreateOrganizationalUnitError,
    types::{ChildType, CreateAccountState, OrganizationFeatureSet, PolicyType},
    Client as Orgs,
};
use support::Server;

const DENY_IAM: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#;
const ALLOW_READS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:List*","iam:Get*","sts:*"],"Resource":"*"}]}"#;
const ADMIN: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

fn code<E: ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("?").to_string()
}

fn trust(principal: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

/// Credentials: key, secret and an optional session token.
#[derive(Clone)]
struct Creds(String, String, Option<String>);

async fn config(server: &Server, c: &Creds) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&server.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            &c.0,
            &c.1,
            c.2.clone(),
            None,
            "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

async fn orgs(server: &Server, c: &Creds) -> Orgs {
    Orgs::new(&config(server, c).await)
}

async fn iam(server: &Server, c: &Creds) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&config(server, c).await)
}

async fn sts(server: &Server, c: &Creds) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(&config(server, c).await)
}

fn root_creds(server: &Server) -> Creds {
    Creds(server.root_key.clone(), server.root_secret.clone(), None)
}

/// Creates an account and waits for the asynchronous request to finish; returns its id.
async fn create_account(o: &Orgs, name: &str, email: &str) -> String {
    let status = o
        .create_account()
        .account_name(name)
        .email(email)
        .send()
        .await
        .expect("CreateAccount");
    let status = status.create_account_status().expect("status");
    assert_eq!(status.state(), Some(&CreateAccountState::InProgress));
    let id = status.id().expect("request id").to_string();
    assert!(id.starts_with("car-"));
    for _ in 0..100 {
        let s = o
            .describe_create_account_status()
            .create_account_request_id(&id)
            .send()
            .await
            .expect("DescribeCreateAccountStatus");
        let s = s.create_account_status().expect("status");
        match s.state() {
            Some(CreateAccountState::Succeeded) => {
                return s.account_id().expect("account id").to_string()
            }
            Some(CreateAccountState::InProgress) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            other => panic!("account creation ended {other:?}: {:?}", s.failure_reason()),
        }
    }
    panic!("account creation did not finish");
}

/// The root credentials Rampart handed over for a created account.
fn member_root(server: &Server, account: &str) -> Creds {
    let path = server
        .data_dir
        .join("accounts")
        .join(account)
        .join("root-credentials");
    let text = std::fs::read_to_string(&path).expect("member root credentials");
    let field = |name: &str| {
        text.lines()
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == name).then(|| v.trim().to_string())
            })
            .expect("field")
    };
    Creds(
        field("aws_access_key_id"),
        field("aws_secret_access_key"),
        None,
    )
}

/// An IAM user with an inline policy and an access key, created with `admin`.
async fn user_with(server: &Server, admin: &Creds, name: &str, policy: Option<&str>) -> Creds {
    let c = iam(server, admin).await;
    c.create_user()
        .user_name(name)
        .send()
        .await
        .expect("CreateUser");
    if let Some(p) = policy {
        c.put_user_policy()
            .user_name(name)
            .policy_name("p")
            .policy_document(p)
            .send()
            .await
            .expect("PutUserPolicy");
    }
    let key = c
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .expect("CreateAccessKey");
    let key = key.access_key().expect("key");
    Creds(
        key.access_key_id().to_string(),
        key.secret_access_key().to_string(),
        None,
    )
}

async fn assume(server: &Server, who: &Creds, role_arn: &str) -> Result<Creds, String> {
    match sts(server, who)
        .await
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("e2e")
        .send()
        .await
    {
        Ok(out) => {
            let c = out.credentials().expect("credentials");
            Ok(Creds(
                c.access_key_id().to_string(),
                c.secret_access_key().to_string(),
                Some(c.session_token().to_string()),
            ))
        }
        Err(e) => Err(code(&e)),
    }
}

async fn can_list_users(server: &Server, c: &Creds) -> Result<(), String> {
    iam(server, c)
        .await
        .list_users()
        .send()
        .await
        .map(|_| ())
        .map_err(|e| code(&e))
}

async fn create_scp(o: &Orgs, name: &str, content: &str) -> String {
    o.create_policy()
        .name(name)
        .description(name)
        .r#type(PolicyType::ServiceControlPolicy)
        .content(content)
        .send()
        .await
        .expect("CreatePolicy")
        .policy()
        .and_then(|p| p.policy_summary())
        .and_then(|s| s.id())
        .expect("policy id")
        .to_string()
}

struct Org {
    server: Server,
    mgmt: String,
    org_id: String,
    root_id: String,
    o: Orgs,
    admin: Creds,
}

/// A server with an organization and an administrator user in the management account (root
/// users may not assume roles).
async fn org() -> Org {
    let server = Server::start(&[]);
    let root = root_creds(&server);
    let o = orgs(&server, &root).await;
    let created = o
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .expect("CreateOrganization");
    let org = created.organization().expect("organization");
    let org_id = org.id().expect("id").to_string();
    let mgmt = org.master_account_id().expect("management").to_string();
    let root_id = o.list_roots().send().await.expect("ListRoots").roots()[0]
        .id()
        .expect("root id")
        .to_string();
    let admin = user_with(&server, &root, "admin", Some(ADMIN)).await;
    Org {
        server,
        mgmt,
        org_id,
        root_id,
        o,
        admin,
    }
}

async fn create_ou(o: &Orgs, parent: &str, name: &str) -> String {
    o.create_organizational_unit()
        .parent_id(parent)
        .name(name)
        .send()
        .await
        .expect("CreateOrganizationalUnit")
        .organizational_unit()
        .and_then(|u| u.id())
        .expect("ou id")
        .to_string()
}

async fn move_to(o: &Orgs, account: &str, from: &str, to: &str) {
    o.move_account()
        .account_id(account)
        .source_parent_id(from)
        .destination_parent_id(to)
        .send()
        .await
        .expect("MoveAccount");
}

#[tokio::test]
async fn organization_tree_accounts_and_access_role() {
    let t = org().await;
    let o = &t.o;
    assert!(t.org_id.starts_with("o-") && t.org_id.len() == 12);
    let again = o
        .create_organization()
        .send()
        .await
        .expect_err("second org");
    assert_eq!(code(&again), "AlreadyInOrganizationException");
    let d = o
        .describe_organization()
        .send()
        .await
        .expect("DescribeOrganization");
    let d = d.organization().expect("org");
    assert_eq!(d.master_account_id(), Some(t.mgmt.as_str()));
    assert_eq!(
        d.arn(),
        Some(
            format!(
                "arn:aws:organizations::{}:organization/{}",
                t.mgmt, t.org_id
            )
            .as_str()
        )
    );

    // SCPs are enabled on the root with FullAWSAccess attached.
    let roots = o.list_roots().send().await.expect("ListRoots");
    let types = roots.roots()[0].policy_types();
    assert!(types
        .iter()
        .any(|p| p.r#type() == Some(&PolicyType::ServiceControlPolicy)));
    let on_root = o
        .list_policies_for_target()
        .target_id(&t.root_id)
        .filter(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .expect("ListPoliciesForTarget");
    assert_eq!(on_root.policies()[0].id(), Some("p-FullAWSAccess"));
    assert!(on_root.policies()[0].aws_managed());

    // OUs nest to AWS's depth limit of five.
    let mut parent = t.root_id.clone();
    let mut chain = Vec::new();
    for level in 1..=5 {
        parent = create_ou(o, &parent, &format!("level{level}")).await;
        chain.push(parent.clone());
    }
    let too_deep = o
        .create_organizational_unit()
        .parent_id(&parent)
        .name("level6")
        .send()
        .await
        .expect_err("sixth level");
    assert_eq!(code(&too_deep), "ConstraintViolationException");
    // AWS's `Reason` member, as the SDK parses it into the typed error.
    let reason = match too_deep.as_service_error() {
        Some(CreateOrganizationalUnitError::ConstraintViolationException(e)) => {
            e.reason().map(|r| r.as_str().to_string())
        }
        other => panic!("not a constraint violation: {other:?}"),
    };
    assert_eq!(reason.as_deref(), Some("OU_DEPTH_LIMIT_EXCEEDED"));
    assert!(
        !too_deep.message().unwrap_or_default().contains("Reason"),
        "the reason is a member, not part of the message"
    );
    let dup = o
        .create_organizational_unit()
        .parent_id(&t.root_id)
        .name("level1")
        .send()
        .await
        .expect_err("duplicate name");
    assert_eq!(code(&dup), "DuplicateOrganizationalUnitException");
    let parents = o
        .list_parents()
        .child_id(&chain[1])
        .send()
        .await
        .expect("ListParents");
    assert_eq!(parents.parents()[0].id(), Some(chain[0].as_str()));
    let not_empty = o
        .delete_organizational_unit()
        .organizational_unit_id(&chain[3])
        .send()
        .await
        .expect_err("non-empty OU");
    assert_eq!(code(&not_empty), "OrganizationalUnitNotEmptyException");
    o.delete_organizational_unit()
        .organizational_unit_id(&chain[4])
        .send()
        .await
        .expect("DeleteOrganizationalUnit (empty)");

    // CreateAccount is asynchronous; a duplicate email fails with AWS's reason.
    let member = create_account(o, "dev", "dev@example.com").await;
    let dup = o
        .create_account()
        .account_name("dev2")
        .email("dev@example.com")
        .send()
        .await
        .expect("CreateAccount is accepted");
    let dup_id = dup
        .create_account_status()
        .and_then(|s| s.id())
        .expect("id")
        .to_string();
    let mut reason = None;
    for _ in 0..100 {
        let s = o
            .describe_create_account_status()
            .create_account_request_id(&dup_id)
            .send()
            .await
            .expect("status");
        let s = s.create_account_status().expect("status");
        if s.state() == Some(&CreateAccountState::Failed) {
            reason = s.failure_reason().map(|r| r.as_str().to_string());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(reason.as_deref(), Some("EMAIL_ALREADY_EXISTS"));

    let accounts = o.list_accounts().send().await.expect("ListAccounts");
    let ids: Vec<&str> = accounts.accounts().iter().filter_map(|a| a.id()).collect();
    assert!(ids.contains(&member.as_str()) && ids.contains(&t.mgmt.as_str()));
    let acct = o
        .describe_account()
        .account_id(&member)
        .send()
        .await
        .expect("DescribeAccount");
    assert_eq!(
        acct.account().and_then(|a| a.email()),
        Some("dev@example.com")
    );
    let children = o
        .list_children()
        .parent_id(&t.root_id)
        .child_type(ChildType::Account)
        .send()
        .await
        .expect("ListChildren");
    assert_eq!(children.children().len(), 2);

    // The management account administers the new account through its access role.
    let role_arn = format!("arn:aws:iam::{member}:role/OrganizationAccountAccessRole");
    let session = assume(&t.server, &t.admin, &role_arn)
        .await
        .expect("assume access role");
    let who = sts(&t.server, &session)
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(who.account(), Some(member.as_str()));
    iam(&t.server, &session)
        .await
        .create_user()
        .user_name("made-by-mgmt")
        .send()
        .await
        .expect("administrator in the member account");
    // The member account's own root user works too.
    let member_root = member_root(&t.server, &member);
    can_list_users(&t.server, &member_root)
        .await
        .expect("member root");

    // A member account cannot manage the organization.
    let denied = orgs(&t.server, &member_root)
        .await
        .create_organizational_unit()
        .parent_id(&t.root_id)
        .name("x")
        .send()
        .await
        .expect_err("member cannot create OUs");
    assert_eq!(code(&denied), "AccessDeniedException");
    // ... and is told which organization it is in.
    let seen = orgs(&t.server, &member_root)
        .await
        .describe_organization()
        .send()
        .await
        .expect("member DescribeOrganization");
    assert_eq!(
        seen.organization().and_then(|o| o.id()),
        Some(t.org_id.as_str())
    );
}

#[tokio::test]
async fn scps_bind_members_and_their_roots_not_the_management_account() {
    let t = org().await;
    let o = &t.o;
    let ou = create_ou(o, &t.root_id, "sandbox").await;
    let member = create_account(o, "sandbox", "sandbox@example.com").await;
    move_to(o, &member, &t.root_id, &ou).await;
    let member_root = member_root(&t.server, &member);
    let role_arn = format!("arn:aws:iam::{member}:role/OrganizationAccountAccessRole");
    let session = assume(&t.server, &t.admin, &role_arn)
        .await
        .expect("assume");
    can_list_users(&t.server, &member_root)
        .await
        .expect("before the SCP");

    let deny = create_scp(o, "DenyIAM", DENY_IAM).await;
    o.attach_policy()
        .policy_id(&deny)
        .target_id(&ou)
        .send()
        .await
        .expect("AttachPolicy");
    let dup = o
        .attach_policy()
        .policy_id(&deny)
        .target_id(&ou)
        .send()
        .await
        .expect_err("attached twice");
    assert_eq!(code(&dup), "DuplicatePolicyAttachmentException");
    // The next request is denied: the member's root user and its role sessions alike.
    assert_eq!(
        can_list_users(&t.server, &member_root).await,
        Err("AccessDenied".into())
    );
    assert_eq!(
        can_list_users(&t.server, &session).await,
        Err("AccessDenied".into())
    );
    // Other services still work.
    sts(&t.server, &member_root)
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");

    // On the root, the SCP binds every member but not the management account.
    o.attach_policy()
        .policy_id(&deny)
        .target_id(&t.root_id)
        .send()
        .await
        .expect("AttachPolicy root");
    can_list_users(&t.server, &root_creds(&t.server))
        .await
        .expect("management root exempt");
    can_list_users(&t.server, &t.admin)
        .await
        .expect("management user exempt");
    o.detach_policy()
        .policy_id(&deny)
        .target_id(&t.root_id)
        .send()
        .await
        .expect("DetachPolicy root");

    // Moving the account out of the OU changes its permissions at once.
    move_to(o, &member, &ou, &t.root_id).await;
    can_list_users(&t.server, &member_root)
        .await
        .expect("after the move");
    move_to(o, &member, &t.root_id, &ou).await;
    assert_eq!(
        can_list_users(&t.server, &member_root).await,
        Err("AccessDenied".into())
    );

    let in_use = o
        .delete_policy()
        .policy_id(&deny)
        .send()
        .await
        .expect_err("attached policy");
    assert_eq!(code(&in_use), "PolicyInUseException");
    let targets = o
        .list_targets_for_policy()
        .policy_id(&deny)
        .send()
        .await
        .expect("ListTargetsForPolicy");
    assert_eq!(targets.targets().len(), 1);
    assert_eq!(targets.targets()[0].target_id(), Some(ou.as_str()));
    o.detach_policy()
        .policy_id(&deny)
        .target_id(&ou)
        .send()
        .await
        .expect("DetachPolicy");
    can_list_users(&t.server, &member_root)
        .await
        .expect("detached");
}

#[tokio::test]
async fn full_aws_access_detached_and_inheritance_across_three_levels() {
    let t = org().await;
    let o = &t.o;
    let l1 = create_ou(o, &t.root_id, "l1").await;
    let l2 = create_ou(o, &l1, "l2").await;
    let l3 = create_ou(o, &l2, "l3").await;
    let member = create_account(o, "deep", "deep@example.com").await;
    move_to(o, &member, &t.root_id, &l3).await;
    let member_root = member_root(&t.server, &member);
    let member_iam = iam(&t.server, &member_root).await;
    member_iam
        .create_user()
        .user_name("a")
        .send()
        .await
        .expect("CreateUser before");

    // Every target keeps at least one SCP.
    let last = o
        .detach_policy()
        .policy_id("p-FullAWSAccess")
        .target_id(&l3)
        .send()
        .await
        .expect_err("the only SCP of l3");
    assert_eq!(code(&last), "ConstraintViolationException");

    // At the middle level, replace FullAWSAccess by an allow-list of reads: below it only
    // what that list allows remains, whatever the other levels allow.
    let reads = create_scp(o, "Reads", ALLOW_READS).await;
    o.attach_policy()
        .policy_id(&reads)
        .target_id(&l2)
        .send()
        .await
        .expect("attach reads");
    o.detach_policy()
        .policy_id("p-FullAWSAccess")
        .target_id(&l2)
        .send()
        .await
        .expect("detach FullAWSAccess");
    member_iam
        .list_users()
        .send()
        .await
        .expect("reads still allowed");
    let write = member_iam
        .create_user()
        .user_name("b")
        .send()
        .await
        .expect_err("writes no longer allowed");
    assert_eq!(code(&write), "AccessDenied");
    assert!(write
        .message()
        .unwrap_or_default()
        .contains("service control policy"));

    // A Deny two levels above the account's OU reaches it.
    let deny = create_scp(o, "DenyIAM", DENY_IAM).await;
    o.attach_policy()
        .policy_id(&deny)
        .target_id(&l1)
        .send()
        .await
        .expect("attach deny at l1");
    let listed = member_iam
        .list_users()
        .send()
        .await
        .expect_err("denied from l1");
    assert_eq!(code(&listed), "AccessDenied");
    can_list_users(&t.server, &root_creds(&t.server))
        .await
        .expect("management account exempt");
    o.detach_policy()
        .policy_id(&deny)
        .target_id(&l1)
        .send()
        .await
        .expect("detach deny");
    member_iam.list_users().send().await.expect("allowed again");
}

#[tokio::test]
async fn rcp_denies_on_resources_of_member_accounts() {
    let t = org().await;
    let o = &t.o;
    let member = create_account(o, "data", "data@example.com").await;
    let role_arn = format!("arn:aws:iam::{member}:role/OrganizationAccountAccessRole");
    assume(&t.server, &t.admin, &role_arn)
        .await
        .expect("before RCPs");

    let enabled = o
        .enable_policy_type()
        .root_id(&t.root_id)
        .policy_type(PolicyType::ResourceControlPolicy)
        .send()
        .await
        .expect("EnablePolicyType");
    assert!(enabled
        .root()
        .expect("root")
        .policy_types()
        .iter()
        .any(|p| p.r#type() == Some(&PolicyType::ResourceControlPolicy)));
    let attached = o
        .list_policies_for_target()
        .target_id(&member)
        .filter(PolicyType::ResourceControlPolicy)
        .send()
        .await
        .expect("RCPs of the member");
    assert_eq!(attached.policies()[0].id(), Some("p-RCPFullAWSAccess"));
    assume(&t.server, &t.admin, &role_arn)
        .await
        .expect("RCPFullAWSAccess allows");

    // Roles in the member account may only be assumed from inside the organization's
    // other accounts... here: not at all.
    let rcp = o
        .create_policy()
        .name("NoAssume")
        .description("no role assumption")
        .r#type(PolicyType::ResourceControlPolicy)
        .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]}"#)
        .send()
        .await
        .expect("CreatePolicy RCP");
    let rcp_id = rcp
        .policy()
        .and_then(|p| p.policy_summary())
        .and_then(|s| s.id())
        .expect("id")
        .to_string();
    o.attach_policy()
        .policy_id(&rcp_id)
        .target_id(&member)
        .send()
        .await
        .expect("attach RCP");
    assert_eq!(
        assume(&t.server, &t.admin, &role_arn)
            .await
            .err()
            .as_deref(),
        Some("AccessDenied")
    );
    // The management account's own resources are exempt from RCPs.
    o.attach_policy()
        .policy_id(&rcp_id)
        .target_id(&t.root_id)
        .send()
        .await
        .expect("attach RCP at root");
    let root_iam = iam(&t.server, &root_creds(&t.server)).await;
    root_iam
        .create_role()
        .role_name("local")
        .assume_role_policy_document(trust(&format!("arn:aws:iam::{}:root", t.mgmt)))
        .send()
        .await
        .expect("CreateRole");
    assume(
        &t.server,
        &t.admin,
        &format!("arn:aws:iam::{}:role/local", t.mgmt),
    )
    .await
    .expect("management resources exempt");

    let bad = o
        .create_policy()
        .name("bad")
        .description("")
        .r#type(PolicyType::ResourceControlPolicy)
        .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#)
        .send()
        .await
        .expect_err("RCPs only deny");
    assert_eq!(code(&bad), "MalformedPolicyDocumentException");
}

#[tokio::test]
async fn cross_account_assume_role_needs_both_sides() {
    let t = org().await;
    let o = &t.o;
    let a = create_account(o, "a", "a@example.com").await;
    let b = create_account(o, "b", "b@example.com").await;
    let a_root = member_root(&t.server, &a);
    let b_root = member_root(&t.server, &b);

    // In B, a role trusting account A.
    iam(&t.server, &b_root)
        .await
        .create_role()
        .role_name("FromA")
        .assume_role_policy_document(trust(&format!("arn:aws:iam::{a}:root")))
        .send()
        .await
        .expect("CreateRole in B");
    let role = format!("arn:aws:iam::{b}:role/FromA");

    // A user of A whose policies allow it, and one whose policies do not.
    let allowed = user_with(
        &t.server,
        &a_root,
        "allowed",
        Some(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"{role}"}}]}}"#
        )),
    )
    .await;
    let bare = user_with(&t.server, &a_root, "bare", None).await;
    let session = assume(&t.server, &allowed, &role)
        .await
        .expect("both sides allow");
    let who = sts(&t.server, &session)
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("identity");
    assert_eq!(who.account(), Some(b.as_str()));
    assert_eq!(
        assume(&t.server, &bare, &role).await.err().as_deref(),
        Some("AccessDenied"),
        "the trust policy alone does not grant another account's user"
    );

    // A role in B that does not trust A: A's identity policy alone is not enough.
    iam(&t.server, &b_root)
        .await
        .create_role()
        .role_name("Private")
        .assume_role_policy_document(trust(&format!("arn:aws:iam::{b}:root")))
        .send()
        .await
        .expect("CreateRole");
    let wide = user_with(
        &t.server,
        &a_root,
        "wide",
        Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#),
    )
    .await;
    assert_eq!(
        assume(&t.server, &wide, &format!("arn:aws:iam::{b}:role/Private"))
            .await
            .err()
            .as_deref(),
        Some("AccessDenied")
    );

    // aws:PrincipalOrgID lets B trust the whole organization.
    iam(&t.server, &b_root)
        .await
        .create_role()
        .role_name("OrgWide")
        .assume_role_policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"{}"}}}}}}]}}"#,
            t.org_id
        ))
        .send()
        .await
        .expect("CreateRole OrgWide");
    assume(&t.server, &wide, &format!("arn:aws:iam::{b}:role/OrgWide"))
        .await
        .expect("member of the organization");
    o.remove_account_from_organization()
        .account_id(&a)
        .send()
        .await
        .expect("RemoveAccountFromOrganization");
    assert_eq!(
        assume(&t.server, &wide, &format!("arn:aws:iam::{b}:role/OrgWide"))
            .await
            .err()
            .as_deref(),
        Some("AccessDenied"),
        "no longer in the organization"
    );
}

/// The `rampart billing report` lines as (account, service, requests, resources, amount).
fn bill_csv(dir: &std::path::Path) -> Vec<Vec<String>> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["billing", "report", "--format", "csv", "--data-dir"])
        .arg(dir)
        .env_remove("RAMPART_MASTER_KEY")
        .output()
        .expect("run billing report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn amount(s: &str) -> i64 {
    let (whole, frac) = s.split_once('.').expect("decimal");
    whole.parse::<i64>().expect("whole") * 10_000 + frac.parse::<i64>().expect("fraction")
}

#[tokio::test]
async fn consolidated_bill_adds_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The operator's price table: IAM requests at 1 per request, IAM users at 2 a month.
    std::fs::write(
        dir.path().join("prices.toml"),
        r#"currency = "USD"
[requests]
default = 0.0
iam = 10000.0
sts = 5000.0
[monthly."iam:user"]
service = "iam"
item = "users"
price = 2.0
"#,
    )
    .expect("prices");
    let (a, b, mgmt);
    {
        let server = Server::start_in(dir.path(), &[]);
        let root = root_creds(&server);
        let o = orgs(&server, &root).await;
        mgmt = o
            .create_organization()
            .send()
            .await
            .expect("CreateOrganization")
            .organization()
            .and_then(|x| x.master_account_id())
            .expect("management")
            .to_string();
        a = create_account(&o, "a", "bill-a@example.com").await;
        b = create_account(&o, "b", "bill-b@example.com").await;
        let a_root = member_root(&server, &a);
        for _ in 0..7 {
            can_list_users(&server, &a_root).await.expect("ListUsers");
        }
        let b_iam = iam(&server, &member_root(&server, &b)).await;
        for name in ["u1", "u2"] {
            b_iam
                .create_user()
                .user_name(name)
                .send()
                .await
                .expect("CreateUser");
        }
        let b_sts = sts(&server, &member_root(&server, &b)).await;
        for _ in 0..3 {
            b_sts
                .get_caller_identity()
                .send()
                .await
                .expect("GetCallerIdentity");
        }
        // Refused calls are not billed.
        let refused = orgs(&server, &a_root)
            .await
            .create_organizational_unit()
            .parent_id("r-0000")
            .name("x")
            .send()
            .await;
        assert!(refused.is_err());
        // Stopping the server flushes the meter.
    }
    let rows = bill_csv(dir.path());
    let find = |account: &str, service: &str| {
        rows.iter()
            .find(|r| r[0] == account && r[2] == service)
            .unwrap_or_else(|| panic!("no line for {account} {service}: {rows:?}"))
            .clone()
    };
    let a_iam = find(&a, "iam");
    assert_eq!(a_iam[3], "7");
    assert_eq!(amount(&a_iam[5]), 7 * 10_000);
    let b_iam = find(&b, "iam");
    assert_eq!(b_iam[3], "2");
    assert_eq!(b_iam[4], "2 users");
    assert_eq!(amount(&b_iam[5]), 2 * 10_000 + 2 * 20_000);
    let b_sts = find(&b, "sts");
    assert_eq!(b_sts[3], "3");
    assert_eq!(amount(&b_sts[5]), 3 * 5_000);
    assert!(rows.iter().all(|r| r[0] != a || r[2] != "organizations"));
    // Every account's total is the sum of its lines, and the grand total the sum of those.
    let mut grand = 0;
    for account in [&a, &b, &mgmt] {
        let lines: i64 = rows
            .iter()
            .filter(|r| &r[0] == account && r[2] != "TOTAL")
            .map(|r| amount(&r[5]))
            .sum();
        let total = amount(&find(account, "TOTAL")[5]);
        assert_eq!(lines, total, "account {account}");
        grand += total;
    }
    assert_eq!(amount(&find("ALL", "TOTAL")[5]), grand);
}

/// `ReEncrypt` needs `kms:ReEncryptTo` on the destination key, decided with every layer: an
/// SCP that denies it refuses the call although the key policies allow it.
#[tokio::test]
async fn scp_denying_reencrypt_to_refuses_reencrypt() {
    use aws_sdk_kms::primitives::Blob;
    let t = org().await;
    let member = create_account(&t.o, "crypto", "crypto@example.com").await;
    let member_root = member_root(&t.server, &member);
    let kms = aws_sdk_kms::Client::new(&config(&t.server, &member_root).await);
    let key_id = |out: aws_sdk_kms::operation::create_key::CreateKeyOutput| {
        out.key_metadata().expect("metadata").key_id().to_string()
    };
    let source = key_id(kms.create_key().send().await.expect("CreateKey"));
    let dest = key_id(kms.create_key().send().await.expect("CreateKey"));
    let blob = kms
        .encrypt()
        .key_id(&source)
        .plaintext(Blob::new("secret"))
        .send()
        .await
        .expect("Encrypt")
        .ciphertext_blob()
        .expect("ciphertext")
        .clone();
    let reencrypt = || {
        kms.re_encrypt()
            .ciphertext_blob(blob.clone())
            .destination_key_id(&dest)
            .send()
    };
    reencrypt().await.expect("ReEncrypt before the SCP");

    let deny = create_scp(
        &t.o,
        "DenyReEncryptTo",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:ReEncryptTo","Resource":"*"}]}"#,
    )
    .await;
    t.o.attach_policy()
        .policy_id(&deny)
        .target_id(&member)
        .send()
        .await
        .expect("AttachPolicy");
    let err = reencrypt()
        .await
        .expect_err("ReEncryptTo denied by the SCP");
    assert_eq!(code(&err), "AccessDeniedException");
    assert!(
        err.message()
            .is_some_and(|m| m.contains("kms:ReEncryptTo") && m.contains("service control policy")),
        "{:?}",
        err.message()
    );
    // Only the destination's action is denied: the source key still decrypts.
    kms.decrypt()
        .ciphertext_blob(blob.clone())
        .send()
        .await
        .expect("Decrypt");
}

/// Lists page through their `NextToken`s one item at a time, and a token this server did not
/// issue (or one past the end of the list) is `InvalidInputException`.
#[tokio::test]
async fn lists_page_through_their_tokens() {
    let org = org().await;
    let mut made = Vec::new();
    for name in ["one", "two", "three"] {
        made.push(create_ou(&org.o, &org.root_id, name).await);
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = org
            .o
            .list_organizational_units_for_parent()
            .parent_id(&org.root_id)
            .max_results(1)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("ListOrganizationalUnitsForParent");
        assert!(page.organizational_units().len() <= 1);
        seen.extend(
            page.organizational_units()
                .iter()
                .filter_map(|u| u.id())
                .map(str::to_string),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    seen.sort();
    made.sort();
    assert_eq!(seen, made);

    let pages: Vec<_> = org
        .o
        .list_accounts()
        .max_results(1)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("ListAccounts pages");
    let accounts: Vec<_> = pages.iter().flat_map(|p| p.accounts()).collect();
    assert_eq!(accounts.len(), 1);

    let past_the_end = "3939"; // an offset token for 99
    for bad in ["not-a-token", "zz", past_the_end] {
        let err = org
            .o
            .list_organizational_units_for_parent()
            .parent_id(&org.root_id)
            .next_token(bad)
            .send()
            .await
            .expect_err("a token the server did not issue");
        assert_eq!(code(&err), "InvalidInputException", "{bad}");
    }
}
