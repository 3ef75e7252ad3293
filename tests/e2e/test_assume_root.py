"""Centralized root access end to end with boto3: an organization with a member account,
trusted access for IAM, both root access features, STS `AssumeRoot` sessions scoped by AWS's
task policies (deleting the member's root credentials, unlocking a bucket whose policy denies
everyone), and AWS's refusals."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from orgs import create_account, member_root

TASK = "arn:aws:iam::aws:policy/root-task/"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def audit_record(server, event_name, request_id):
    trail = server.client("cloudtrail")
    deadline = time.time() + 5
    while True:
        events = trail.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": event_name}]
        )["Events"]
        records = [json.loads(e["CloudTrailEvent"]) for e in events]
        found = [r for r in records if r["requestID"] == request_id]
        if found or time.time() > deadline:
            assert len(found) == 1, records
            return found[0]
        time.sleep(0.1)


def session_client(server, service, creds):
    return server.client(
        service,
        key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
        token=creds["SessionToken"],
    )


@pytest.fixture
def org(fresh_server):
    """The management account's organization, one member, and an administrator user of the
    management account (root user credentials cannot call AssumeRoot)."""
    server = fresh_server
    orgs = server.client("organizations")
    org_id = orgs.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    member = create_account(orgs, "member")
    iam = server.client("iam")
    iam.create_user(UserName="admin")
    iam.attach_user_policy(UserName="admin", PolicyArn=ADMIN)
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    admin_sts = server.client("sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    return server, orgs, org_id, member, admin_sts


def enable_everything(server, orgs):
    orgs.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    iam = server.client("iam")
    iam.enable_organizations_root_credentials_management()
    return iam.enable_organizations_root_sessions()


def test_features_need_trusted_access_and_the_management_account(org):
    server, orgs, org_id, member, admin_sts = org
    iam = server.client("iam")
    with pytest.raises(ClientError) as e:
        iam.list_organizations_features()
    assert code(e) == "ServiceAccessNotEnabledException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    out = enable_everything(server, orgs)
    assert out["OrganizationId"] == org_id
    assert out["EnabledFeatures"] == ["RootCredentialsManagement", "RootSessions"]
    listed = iam.list_organizations_features()
    assert listed["EnabledFeatures"] == ["RootCredentialsManagement", "RootSessions"]

    key, secret = member_root(server, member)
    member_iam = server.client("iam", key=key, secret=secret)
    with pytest.raises(ClientError) as e:
        member_iam.list_organizations_features()
    assert code(e) == "AccountNotManagementOrDelegatedAdministratorException"

    out = iam.disable_organizations_root_sessions()
    assert out["EnabledFeatures"] == ["RootCredentialsManagement"]


def test_delete_root_credentials_session(org):
    server, orgs, org_id, member, admin_sts = org
    enable_everything(server, orgs)
    answer = admin_sts.assume_root(
        TargetPrincipal=member,
        TaskPolicyArn={"arn": TASK + "IAMDeleteRootUserCredentials"},
        DurationSeconds=900,
    )
    creds = answer["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert "SourceIdentity" not in answer

    # Audited in the caller's account like every STS call.
    record = audit_record(server, "AssumeRoot", answer["ResponseMetadata"]["RequestId"])
    assert record["eventSource"] == "sts.amazonaws.com"
    assert record["userIdentity"]["arn"].endswith(":user/admin")
    assert record["requestParameters"]["targetPrincipal"] == member

    me = session_client(server, "sts", creds).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{member}:root"
    assert me["Account"] == member

    root_key, root_secret = member_root(server, member)
    session_iam = session_client(server, "iam", creds)
    keys = [k["AccessKeyId"] for k in session_iam.list_access_keys()["AccessKeyMetadata"]]
    assert root_key in keys
    session_iam.delete_access_key(AccessKeyId=root_key)
    with pytest.raises(ClientError) as e:
        session_iam.create_user(UserName="intruder")
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        session_client(server, "s3", creds).list_buckets()
    assert code(e) == "AccessDenied"

    # The member's root access key is gone.
    with pytest.raises(ClientError) as e:
        server.client("sts", key=root_key, secret=root_secret).get_caller_identity()
    assert code(e) == "InvalidClientTokenId"


def test_unlock_a_bucket_whose_policy_denies_everyone(org):
    server, orgs, org_id, member, admin_sts = org
    enable_everything(server, orgs)
    key, secret = member_root(server, member)
    # A member administrator locks the bucket for everyone, its own root included.
    member_iam = server.client("iam", key=key, secret=secret)
    member_iam.create_user(UserName="ops")
    member_iam.attach_user_policy(UserName="ops", PolicyArn=ADMIN)
    ops_key = member_iam.create_access_key(UserName="ops")["AccessKey"]
    ops_s3 = server.client("s3", key=ops_key["AccessKeyId"], secret=ops_key["SecretAccessKey"])
    ops_s3.create_bucket(Bucket="locked-bucket")
    lockout = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [
                "arn:aws:s3:::locked-bucket", "arn:aws:s3:::locked-bucket/*"]}
        ],
    }
    ops_s3.put_bucket_policy(Bucket="locked-bucket", Policy=json.dumps(lockout))
    with pytest.raises(ClientError) as e:
        ops_s3.get_bucket_policy(Bucket="locked-bucket")
    assert code(e) == "AccessDenied"

    creds = admin_sts.assume_root(
        TargetPrincipal=f"arn:aws:iam::{member}:root",
        TaskPolicyArn={"arn": TASK + "S3UnlockBucketPolicy"},
    )["Credentials"]
    session_s3 = session_client(server, "s3", creds)
    assert json.loads(session_s3.get_bucket_policy(Bucket="locked-bucket")["Policy"]) == lockout
    session_s3.delete_bucket_policy(Bucket="locked-bucket")
    # The task policy allows nothing else, not even reading objects.
    with pytest.raises(ClientError) as e:
        session_s3.list_objects_v2(Bucket="locked-bucket")
    assert code(e) == "AccessDenied"
    # The bucket is usable again.
    ops_s3.put_object(Bucket="locked-bucket", Key="k", Body=b"back")


def test_assume_root_refusals(org):
    server, orgs, org_id, member, admin_sts = org
    delete = {"arn": TASK + "IAMDeleteRootUserCredentials"}
    # Root sessions not enabled yet.
    with pytest.raises(ClientError) as e:
        admin_sts.assume_root(TargetPrincipal=member, TaskPolicyArn=delete)
    assert code(e) == "AccessDenied"
    orgs.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    iam = server.client("iam")
    iam.enable_organizations_root_credentials_management()
    with pytest.raises(ClientError) as e:
        admin_sts.assume_root(TargetPrincipal=member, TaskPolicyArn=delete)
    assert code(e) == "AccessDenied"
    iam.enable_organizations_root_sessions()

    management = orgs.describe_organization()["Organization"]["MasterAccountId"]
    with pytest.raises(ClientError) as e:
        admin_sts.assume_root(TargetPrincipal=management, TaskPolicyArn=delete)
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        admin_sts.assume_root(TargetPrincipal=member, TaskPolicyArn={"arn": ADMIN})
    assert code(e) == "ValidationError"
    with pytest.raises(ClientError) as e:
        admin_sts.assume_root(TargetPrincipal=member, TaskPolicyArn=delete, DurationSeconds=901)
    assert code(e) == "ValidationError"
    # Root user credentials cannot call it.
    with pytest.raises(ClientError) as e:
        server.client("sts").assume_root(TargetPrincipal=member, TaskPolicyArn=delete)
    assert code(e) == "AccessDenied"
    # The caller's own policies decide sts:AssumeRoot, with sts:TaskPolicyArn.
    iam.create_user(UserName="auditor")
    iam.put_user_policy(
        UserName="auditor",
        PolicyName="audit-only",
        PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoot",
                           "Resource": "arn:aws:iam::*:root",
                           "Condition": {"StringEquals": {
                               "sts:TaskPolicyArn": TASK + "IAMAuditRootUserCredentials"}}}],
        }),
    )
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    auditor = server.client("sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        auditor.assume_root(TargetPrincipal=member, TaskPolicyArn=delete)
    assert code(e) == "AccessDenied"
    creds = auditor.assume_root(
        TargetPrincipal=member, TaskPolicyArn={"arn": TASK + "IAMAuditRootUserCredentials"}
    )["Credentials"]
    audit_iam = session_client(server, "iam", creds)
    assert audit_iam.list_access_keys()["AccessKeyMetadata"]
    with pytest.raises(ClientError) as e:
        audit_iam.delete_access_key(AccessKeyId=member_root(server, member)[0])
    assert code(e) == "AccessDenied"


def test_scps_bind_root_sessions(org):
    server, orgs, org_id, member, admin_sts = org
    enable_everything(server, orgs)
    # AWS's example: deny root users everything except root sessions (aws:AssumedRoot).
    scp = orgs.create_policy(
        Name="no-root-but-sessions",
        Description="",
        Type="SERVICE_CONTROL_POLICY",
        Content=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
                           "Condition": {"ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::*:root"]},
                                         "Null": {"aws:AssumedRoot": "true"}}}],
        }),
    )["Policy"]["PolicySummary"]["Id"]
    orgs.attach_policy(PolicyId=scp, TargetId=member)
    key, secret = member_root(server, member)
    with pytest.raises(ClientError) as e:
        server.client("iam", key=key, secret=secret).list_access_keys()
    assert code(e) == "AccessDenied"
    creds = admin_sts.assume_root(
        TargetPrincipal=member, TaskPolicyArn={"arn": TASK + "IAMAuditRootUserCredentials"}
    )["Credentials"]
    assert session_client(server, "iam", creds).list_access_keys()["AccessKeyMetadata"]

    # An SCP that denies listing keys binds the root session too.
    deny = orgs.create_policy(
        Name="no-list-keys",
        Description="",
        Type="SERVICE_CONTROL_POLICY",
        Content=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "iam:ListAccessKeys", "Resource": "*"}],
        }),
    )["Policy"]["PolicySummary"]["Id"]
    orgs.attach_policy(PolicyId=deny, TargetId=member)
    with pytest.raises(ClientError) as e:
        session_client(server, "iam", creds).list_access_keys()
    assert code(e) == "AccessDenied"
