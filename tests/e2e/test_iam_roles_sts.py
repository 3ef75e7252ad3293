"""Roles, instance profiles, STS temporary credentials and the policy simulator, as a new user
of Rampart meets them: real boto3 clients and the aws CLI against the real binary."""

import datetime
import json
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


def uid(prefix):
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def trust(principal, condition=None, actions="sts:AssumeRole"):
    st = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions}
    if condition:
        st["Condition"] = condition
    return doc(st)


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def env(server):
    iam = server.client("iam")
    account = server.client("sts").get_caller_identity()["Account"]
    return server, iam, account


def make_user(server, iam, policy_document):
    name = uid("user-")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy_document)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, key["AccessKeyId"], key["SecretAccessKey"]


def make_role(iam, trust_document, policy_document=None, **kw):
    name = uid("role-")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_document, **kw)["Role"]
    if policy_document:
        iam.put_role_policy(RoleName=name, PolicyName="perms", PolicyDocument=policy_document)
    return name, role["Arn"]


def unvalidated(server, service, key=None, secret=None):
    """A client that sends out-of-range values, so the server's own validation answers."""
    return boto3.client(
        service, endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id=key or server.root_key,
        aws_secret_access_key=secret or server.root_secret,
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )


def session_client(server, service, creds):
    return server.client(
        service,
        key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
        token=creds["SessionToken"],
    )


# ---------------------------------------------------------------- roles and instance profiles


def test_role_lifecycle(env):
    server, iam, account = env
    trust_doc = trust(f"arn:aws:iam::{account}:root")
    name, arn = make_role(
        iam, trust_doc, Path="/app/", Description="first", MaxSessionDuration=7200,
        Tags=[{"Key": "team", "Value": "red"}],
    )
    assert arn == f"arn:aws:iam::{account}:role/app/{name}"
    role = iam.get_role(RoleName=name)["Role"]
    assert role["RoleId"].startswith("AROA")
    # boto3 decodes the URL-encoded document AWS returns.
    assert role["AssumeRolePolicyDocument"] == json.loads(trust_doc)
    assert role["MaxSessionDuration"] == 7200
    assert role["Tags"] == [{"Key": "team", "Value": "red"}]
    assert "RoleLastUsed" in role
    assert any(r["RoleName"] == name for r in iam.list_roles(PathPrefix="/app/")["Roles"])
    assert not any(r["RoleName"] == name for r in iam.list_roles(PathPrefix="/other/")["Roles"])

    iam.update_role(RoleName=name, Description="second", MaxSessionDuration=3600)
    assert iam.update_role_description(RoleName=name, Description="third")["Role"]["Description"] == "third"
    iam.tag_role(RoleName=name, Tags=[{"Key": "env", "Value": "prod"}])
    iam.untag_role(RoleName=name, TagKeys=["team"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "env", "Value": "prod"}]

    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_doc)
    assert error_code(e) == "EntityAlreadyExists"
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName=uid("r"), AssumeRolePolicyDocument=doc(allow("s3:*")))
    assert error_code(e) == "MalformedPolicyDocument"
    with pytest.raises(ClientError) as e:
        unvalidated(server, "iam").create_role(
            RoleName=uid("r"), AssumeRolePolicyDocument=trust_doc, MaxSessionDuration=100
        )
    assert error_code(e) == "ValidationError"

    # Inline policies, then DeleteRole refuses until they are gone.
    iam.put_role_policy(RoleName=name, PolicyName="p1", PolicyDocument=doc(allow("s3:GetObject")))
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["p1"]
    got = iam.get_role_policy(RoleName=name, PolicyName="p1")
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "s3:GetObject"
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName=name)
    assert error_code(e) == "DeleteConflict"
    iam.delete_role_policy(RoleName=name, PolicyName="p1")
    with pytest.raises(ClientError) as e:
        iam.get_role_policy(RoleName=name, PolicyName="p1")
    assert error_code(e) == "NoSuchEntity"
    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName=name)
    assert error_code(e) == "NoSuchEntity"


def test_role_inline_policy_limit_excludes_whitespace(env):
    server, iam, account = env
    name, _ = make_role(iam, trust(f"arn:aws:iam::{account}:root"))
    big = [allow(f"s3:GetObject{i:04d}", f"arn:aws:s3:::bucket-{i:04d}/*") for i in range(110)]
    text = json.dumps({"Version": "2012-10-17", "Statement": big}, indent=8)
    assert len(text) > 10240 and len("".join(text.split())) < 10240
    iam.put_role_policy(RoleName=name, PolicyName="big", PolicyDocument=text)
    more = json.dumps({"Version": "2012-10-17", "Statement": big * 2})
    with pytest.raises(ClientError) as e:
        iam.put_role_policy(RoleName=name, PolicyName="bigger", PolicyDocument=more)
    assert error_code(e) == "LimitExceeded"
    iam.delete_role_policy(RoleName=name, PolicyName="big")
    iam.delete_role(RoleName=name)


def test_instance_profiles_hold_one_role(env):
    server, iam, account = env
    role, _ = make_role(iam, trust(f"arn:aws:iam::{account}:root"))
    other, _ = make_role(iam, trust(f"arn:aws:iam::{account}:root"))
    profile = uid("profile-")
    created = iam.create_instance_profile(InstanceProfileName=profile, Path="/web/")["InstanceProfile"]
    assert created["Arn"] == f"arn:aws:iam::{account}:instance-profile/web/{profile}"
    assert created["InstanceProfileId"].startswith("AIPA")
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    with pytest.raises(ClientError) as e:
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=other)
    assert error_code(e) == "LimitExceeded"
    got = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == [role]
    for_role = iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in for_role] == [profile]
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName=role)
    assert error_code(e) == "DeleteConflict"
    with pytest.raises(ClientError) as e:
        iam.delete_instance_profile(InstanceProfileName=profile)
    assert error_code(e) == "DeleteConflict"
    iam.tag_instance_profile(InstanceProfileName=profile, Tags=[{"Key": "k", "Value": "v"}])
    assert iam.list_instance_profile_tags(InstanceProfileName=profile)["Tags"] == [{"Key": "k", "Value": "v"}]
    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=profile)
    iam.delete_role(RoleName=role)
    iam.delete_role(RoleName=other)


# ---------------------------------------------------------------- AssumeRole


def test_assume_role_replaces_the_callers_permissions(env):
    server, iam, account = env
    role, role_arn = make_role(
        iam, trust(f"arn:aws:iam::{account}:root"), doc(allow("iam:ListRoles"))
    )
    user, key, secret = make_user(
        server, iam, doc(allow("sts:AssumeRole", role_arn), allow("iam:ListUsers"))
    )
    user_iam = server.client("iam", key=key, secret=secret)
    user_iam.list_users()
    with pytest.raises(ClientError) as e:
        user_iam.list_roles()
    assert error_code(e) == "AccessDenied"

    sts = server.client("sts", key=key, secret=secret)
    out = sts.assume_role(RoleArn=role_arn, RoleSessionName="alice")
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert len(creds["SecretAccessKey"]) == 40
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{account}:assumed-role/{role}/alice"
    role_id = iam.get_role(RoleName=role)["Role"]["RoleId"]
    assert out["AssumedRoleUser"]["AssumedRoleId"] == f"{role_id}:alice"

    me = session_client(server, "sts", creds).get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{account}:assumed-role/{role}/alice"
    assert me["UserId"] == f"{role_id}:alice"
    assert me["Account"] == account

    session_iam = session_client(server, "iam", creds)
    session_iam.list_roles()  # the role's permission
    with pytest.raises(ClientError) as e:
        session_iam.list_users()  # the user's permission is gone in the session
    assert error_code(e) == "AccessDenied"
    assert iam.get_role(RoleName=role)["Role"]["RoleLastUsed"]["Region"] == "us-east-1"


def test_trust_policy_must_name_the_caller(env):
    server, iam, account = env
    _, role_arn = make_role(iam, trust(f"arn:aws:iam::{account}:user/somebody-else"))
    _, key, secret = make_user(server, iam, doc(allow("sts:AssumeRole")))
    with pytest.raises(ClientError) as e:
        server.client("sts", key=key, secret=secret).assume_role(RoleArn=role_arn, RoleSessionName="s1")
    assert error_code(e) == "AccessDenied"
    # A role that does not exist is AccessDenied too, as in AWS.
    with pytest.raises(ClientError) as e:
        server.client("sts", key=key, secret=secret).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/nope-{uid('')}", RoleSessionName="s1"
        )
    assert error_code(e) == "AccessDenied"


def test_trust_policy_naming_the_user_needs_no_identity_policy(env):
    server, iam, account = env
    user, key, secret = make_user(server, iam, doc(allow("iam:ListUsers")))
    _, role_arn = make_role(iam, trust(f"arn:aws:iam::{account}:user/{user}"))
    out = server.client("sts", key=key, secret=secret).assume_role(RoleArn=role_arn, RoleSessionName="s1")
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_session_policy_caps_the_session(env):
    server, iam, account = env
    _, role_arn = make_role(
        iam, trust(f"arn:aws:iam::{account}:root"), doc(allow(["iam:ListRoles", "iam:ListUsers"]))
    )
    _, key, secret = make_user(server, iam, doc(allow("sts:AssumeRole")))
    sts = server.client("sts", key=key, secret=secret)
    out = sts.assume_role(
        RoleArn=role_arn, RoleSessionName="capped",
        Policy=doc(allow(["iam:ListRoles", "iam:ListGroups"])),
    )
    assert 0 <= out["PackedPolicySize"] <= 100
    s = session_client(server, "iam", out["Credentials"])
    s.list_roles()
    with pytest.raises(ClientError) as e:
        s.list_users()  # the role allows it, the session policy does not
    assert error_code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        s.list_groups()  # the session policy allows it, the role does not
    assert error_code(e) == "AccessDenied"

    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="bad", Policy="{not json")
    assert error_code(e) == "MalformedPolicyDocument"


def test_duration_limits(env):
    server, iam, account = env
    _, role_arn = make_role(iam, trust(f"arn:aws:iam::{account}:root"))
    _, key, secret = make_user(server, iam, doc(allow("sts:AssumeRole")))
    sts = server.client("sts", key=key, secret=secret)
    out = sts.assume_role(RoleArn=role_arn, RoleSessionName="short", DurationSeconds=900)
    left = out["Credentials"]["Expiration"] - datetime.datetime.now(datetime.timezone.utc)
    assert 850 <= left.total_seconds() <= 960
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="long", DurationSeconds=3601)
    assert error_code(e) == "ValidationError"
    assert "MaxSessionDuration" in e.value.response["Error"]["Message"]
    raw = unvalidated(server, "sts", key, secret)
    with pytest.raises(ClientError) as e:
        raw.assume_role(RoleArn=role_arn, RoleSessionName="tiny", DurationSeconds=899)
    assert error_code(e) == "ValidationError"
    with pytest.raises(ClientError) as e:
        raw.assume_role(RoleArn=role_arn, RoleSessionName="bad name!")
    assert error_code(e) == "ValidationError"


def test_external_id_is_required(env):
    server, iam, account = env
    _, role_arn = make_role(
        iam,
        trust(f"arn:aws:iam::{account}:root", {"StringEquals": {"sts:ExternalId": "s3cr3t"}}),
    )
    _, key, secret = make_user(server, iam, doc(allow("sts:AssumeRole")))
    sts = server.client("sts", key=key, secret=secret)
    for kwargs in ({}, {"ExternalId": "wrong"}):
        with pytest.raises(ClientError) as e:
            sts.assume_role(RoleArn=role_arn, RoleSessionName="x1", **kwargs)
        assert error_code(e) == "AccessDenied"
    sts.assume_role(RoleArn=role_arn, RoleSessionName="x1", ExternalId="s3cr3t")


def test_role_chaining_is_capped_at_one_hour(env):
    server, iam, account = env
    first, first_arn = make_role(
        iam, trust(f"arn:aws:iam::{account}:root"), doc(allow("sts:AssumeRole")),
        MaxSessionDuration=43200,
    )
    _, second_arn = make_role(iam, trust(first_arn), MaxSessionDuration=43200)
    _, key, secret = make_user(server, iam, doc(allow("sts:AssumeRole")))
    out = server.client("sts", key=key, secret=secret).assume_role(
        RoleArn=first_arn, RoleSessionName="hop1", DurationSeconds=7200
    )
    hop = session_client(server, "sts", out["Credentials"])
    with pytest.raises(ClientError) as e:
        hop.assume_role(RoleArn=second_arn, RoleSessionName="hop2", DurationSeconds=7200)
    assert error_code(e) == "ValidationError"
    assert "1 hour" in e.value.response["Error"]["Message"]
    chained = hop.assume_role(RoleArn=second_arn, RoleSessionName="hop2")["Credentials"]
    left = chained["Expiration"] - datetime.datetime.now(datetime.timezone.utc)
    assert left.total_seconds() <= 3660
    me = session_client(server, "sts", chained).get_caller_identity()
    assert me["Arn"].endswith(":assumed-role/" + second_arn.split("/")[-1] + "/hop2")


def test_session_tags_need_tag_session_in_the_trust_policy(env):
    server, iam, account = env
    root = f"arn:aws:iam::{account}:root"
    _, plain = make_role(iam, trust(root))
    _, tagging = make_role(iam, trust(root, actions=["sts:AssumeRole", "sts:TagSession"]))
    _, key, secret = make_user(server, iam, doc(allow(["sts:AssumeRole", "sts:TagSession"])))
    sts = server.client("sts", key=key, secret=secret)
    tags = [{"Key": "project", "Value": "blue"}]
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=plain, RoleSessionName="t1", Tags=tags)
    assert error_code(e) == "AccessDenied"
    sts.assume_role(RoleArn=tagging, RoleSessionName="t1", Tags=tags, TransitiveTagKeys=["project"])
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=tagging, RoleSessionName="t1", Tags=tags, TransitiveTagKeys=["other"])
    assert error_code(e) == "InvalidParameterValue"


def test_deleting_a_role_ends_its_sessions(env):
    server, iam, account = env
    role, role_arn = make_role(iam, trust(f"arn:aws:iam::{account}:root"), doc(allow("iam:ListRoles")))
    _, key, secret = make_user(server, iam, doc(allow("sts:AssumeRole")))
    creds = server.client("sts", key=key, secret=secret).assume_role(
        RoleArn=role_arn, RoleSessionName="doomed"
    )["Credentials"]
    session_client(server, "iam", creds).list_roles()
    iam.delete_role_policy(RoleName=role, PolicyName="perms")
    iam.delete_role(RoleName=role)
    with pytest.raises(ClientError) as e:
        session_client(server, "sts", creds).get_caller_identity()
    assert error_code(e) == "InvalidClientTokenId"
    # A new role with the same name does not revive the old sessions.
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(f"arn:aws:iam::{account}:root"))
    with pytest.raises(ClientError) as e:
        session_client(server, "iam", creds).list_roles()
    assert error_code(e) == "InvalidClientTokenId"
    iam.delete_role(RoleName=role)


def test_revoke_older_sessions(env):
    server, iam, account = env
    role, role_arn = make_role(iam, trust(f"arn:aws:iam::{account}:root"), doc(allow("iam:ListRoles")))
    _, key, secret = make_user(server, iam, doc(allow("sts:AssumeRole")))
    sts = server.client("sts", key=key, secret=secret)
    old = sts.assume_role(RoleArn=role_arn, RoleSessionName="old")["Credentials"]
    session_client(server, "iam", old).list_roles()
    time.sleep(1.2)
    cutoff = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    # What the console's "Revoke active sessions" attaches.
    revoke = doc({
        "Effect": "Deny", "Action": ["*"], "Resource": ["*"],
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}},
    })
    iam.put_role_policy(RoleName=role, PolicyName="AWSRevokeOlderSessions", PolicyDocument=revoke)
    with pytest.raises(ClientError) as e:
        session_client(server, "iam", old).list_roles()
    assert error_code(e) == "AccessDenied"
    time.sleep(1.2)
    new = sts.assume_role(RoleArn=role_arn, RoleSessionName="new")["Credentials"]
    session_client(server, "iam", new).list_roles()


# ---------------------------------------------------------------- other STS operations


def test_get_session_token(env):
    server, iam, account = env
    user, key, secret = make_user(server, iam, doc(allow("iam:ListUsers")))
    sts = server.client("sts", key=key, secret=secret)
    creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    me = session_client(server, "sts", creds).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{account}:user/{user}"
    # AWS: a GetSessionToken session obtained without MFA cannot call IAM at all.
    with pytest.raises(ClientError) as e:
        session_client(server, "iam", creds).list_users()
    assert error_code(e) == "InvalidClientTokenId"
    with pytest.raises(ClientError) as e:
        session_client(server, "sts", creds).get_session_token()
    assert error_code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        sts.get_session_token(DurationSeconds=129601)
    assert error_code(e) == "ValidationError"
    # Root may not ask for more than an hour.
    with pytest.raises(ClientError) as e:
        server.client("sts").get_session_token(DurationSeconds=7200)
    assert error_code(e) == "ValidationError"
    server.client("sts").get_session_token(DurationSeconds=3600)


def test_federation_token_is_the_intersection(env):
    server, iam, account = env
    _, key, secret = make_user(
        server, iam,
        doc(allow(["kms:ListKeys", "kms:ListAliases", "iam:ListUsers", "sts:GetFederationToken",
                   "sts:GetSessionToken"])),
    )
    sts = server.client("sts", key=key, secret=secret)
    session_policy = doc(allow(["kms:ListKeys", "kms:CreateKey", "iam:ListUsers", "sts:*"]))
    out = sts.get_federation_token(Name="bob", Policy=session_policy)
    assert out["FederatedUser"]["Arn"] == f"arn:aws:sts::{account}:federated-user/bob"
    me = session_client(server, "sts", out["Credentials"]).get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{account}:federated-user/bob"
    fed = session_client(server, "kms", out["Credentials"])
    fed.list_keys()
    # Each of the user's policy and the session policy allows only one of these.
    for call in (fed.list_aliases, lambda: fed.create_key(Description="x")):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e) == "AccessDenied" or error_code(e) == "AccessDeniedException"
    # A federated user cannot call IAM, nor STS except GetCallerIdentity, whatever both
    # policies allow (AWS's rule).
    with pytest.raises(ClientError) as e:
        session_client(server, "iam", out["Credentials"]).list_users()
    assert error_code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        session_client(server, "sts", out["Credentials"]).get_session_token()
    assert error_code(e) == "AccessDenied"
    # Without a session policy the federated user has no permissions at all.
    bare = sts.get_federation_token(Name="nobody")["Credentials"]
    with pytest.raises(ClientError) as e:
        session_client(server, "kms", bare).list_keys()
    assert error_code(e) == "AccessDeniedException"


def test_access_key_info_and_decode(env):
    server, iam, account = env
    assert server.client("sts").get_access_key_info(AccessKeyId=server.root_key)["Account"] == account
    with pytest.raises(ClientError) as e:
        server.client("sts").decode_authorization_message(EncodedMessage="abc")
    assert error_code(e) == "InvalidAuthorizationMessageException"


# ---------------------------------------------------------------- the policy simulator


ALLOW_S3 = doc({"Sid": "ReadAll", "Effect": "Allow", "Action": "s3:*", "Resource": "*"})
DENY_DELETE = doc({
    "Sid": "NoDelete", "Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*",
})


def test_simulate_custom_policy_three_answers(env):
    server, iam, account = env
    out = iam.simulate_custom_policy(
        PolicyInputList=[ALLOW_S3, DENY_DELETE],
        ActionNames=["s3:GetObject", "s3:DeleteBucket", "iam:GetUser"],
    )
    by_action = {r["EvalActionName"]: r for r in out["EvaluationResults"]}
    assert by_action["s3:GetObject"]["EvalDecision"] == "allowed"
    assert by_action["s3:GetObject"]["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    assert by_action["s3:DeleteBucket"]["EvalDecision"] == "explicitDeny"
    assert by_action["s3:DeleteBucket"]["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.2"
    assert by_action["iam:GetUser"]["EvalDecision"] == "implicitDeny"
    assert by_action["iam:GetUser"]["MatchedStatements"] == []

    keyed = doc(allow("s3:GetObject", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))
    out = iam.simulate_custom_policy(
        PolicyInputList=[keyed], ActionNames=["s3:GetObject"],
        ContextEntries=[{"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": ["eu-west-1"], "ContextKeyType": "string"}],
    )
    assert out["EvaluationResults"][0]["EvalDecision"] == "allowed"
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[keyed])["ContextKeyNames"]
    assert keys == ["aws:RequestedRegion"]


def test_simulate_custom_policy_with_the_cli(env):
    server, iam, account = env
    proc = server.cli(
        "iam", "simulate-custom-policy",
        "--policy-input-list", ALLOW_S3, DENY_DELETE,
        "--action-names", "s3:ListBucket", "s3:DeleteBucket", "ec2:RunInstances",
        "--output", "json",
    )
    results = {r["EvalActionName"]: r for r in json.loads(proc.stdout)["EvaluationResults"]}
    assert results["s3:ListBucket"]["EvalDecision"] == "allowed"
    assert results["s3:DeleteBucket"]["EvalDecision"] == "explicitDeny"
    assert results["ec2:RunInstances"]["EvalDecision"] == "implicitDeny"
    stmt = results["s3:DeleteBucket"]["MatchedStatements"][0]
    assert stmt["StartPosition"]["Line"] == 1


def test_simulate_principal_policy(env):
    server, iam, account = env
    role, role_arn = make_role(iam, trust(f"arn:aws:iam::{account}:root"), ALLOW_S3)
    iam.put_role_policy(RoleName=role, PolicyName="deny", PolicyDocument=DENY_DELETE)
    out = iam.simulate_principal_policy(
        PolicySourceArn=role_arn,
        ActionNames=["s3:GetObject", "s3:DeleteBucket", "iam:ListUsers"],
        ResourceArns=["arn:aws:s3:::bucket"],
    )
    by_action = {r["EvalActionName"]: r for r in out["EvaluationResults"]}
    assert by_action["s3:GetObject"]["EvalDecision"] == "allowed"
    assert by_action["s3:GetObject"]["MatchedStatements"][0] == {
        **by_action["s3:GetObject"]["MatchedStatements"][0],
        "SourcePolicyId": "perms", "SourcePolicyType": "role",
    }
    assert by_action["s3:DeleteBucket"]["EvalDecision"] == "explicitDeny"
    assert by_action["iam:ListUsers"]["EvalDecision"] == "implicitDeny"
    assert by_action["s3:GetObject"]["EvalResourceName"] == "arn:aws:s3:::bucket"
    with pytest.raises(ClientError) as e:
        iam.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{account}:role/nope", ActionNames=["s3:GetObject"]
        )
    assert error_code(e) == "NoSuchEntity"
    keys = iam.get_context_keys_for_principal_policy(
        PolicySourceArn=role_arn,
        PolicyInputList=[doc(allow("s3:*", Condition={"Bool": {"aws:SecureTransport": "true"}}))],
    )["ContextKeyNames"]
    assert keys == ["aws:SecureTransport"]


def test_a_user_without_policies_cannot_use_roles_or_the_simulator(env):
    server, iam, account = env
    name = uid("nobody-")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    c = server.client("iam", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    for call in (
        lambda: c.list_roles(),
        lambda: c.create_role(RoleName=uid("r"), AssumeRolePolicyDocument=trust(f"arn:aws:iam::{account}:root")),
        lambda: c.simulate_custom_policy(PolicyInputList=[ALLOW_S3], ActionNames=["s3:GetObject"]),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e) == "AccessDenied"


def test_principal_arn_of_a_session_is_the_role_arn_with_its_path(env):
    """aws:PrincipalArn of a role session is the role's ARN, path included (the session ARN
    has no path), so conditions on it behave as in AWS."""
    server, iam, account = env
    name = uid("pathrole-")
    role_arn = iam.create_role(
        RoleName=name, Path="/team/ops/", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{account}:root")
    )["Role"]["Arn"]
    assert role_arn == f"arn:aws:iam::{account}:role/team/ops/{name}"
    iam.put_role_policy(
        RoleName=name,
        PolicyName="only-with-path",
        PolicyDocument=doc(
            allow("iam:ListRoles", Condition={"StringEquals": {"aws:PrincipalArn": role_arn}})
        ),
    )
    # AWS refuses role assumption to the root user whatever the trust policy says.
    with pytest.raises(ClientError) as e:
        server.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="s1")
    assert error_code(e) == "AccessDenied"
    assert e.value.response["Error"]["Message"] == "Roles may not be assumed by root accounts."
    _, key, secret = make_user(server, iam, doc(allow("sts:AssumeRole", role_arn)))
    creds = server.client("sts", key=key, secret=secret).assume_role(
        RoleArn=role_arn, RoleSessionName="s1"
    )["Credentials"]
    session_iam = session_client(server, "iam", creds)
    session_iam.list_roles()  # allowed only if aws:PrincipalArn carries the path
    ident = session_client(server, "sts", creds).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{account}:assumed-role/{name}/s1"
