"""Secrets Manager end to end with boto3: versions and staging labels, ClientRequestToken
idempotency, AWS's errors, the recovery window on the dev clock, values sealed with KMS data
keys (a disabled customer key makes them unreadable; nothing is stored in clear), resource
policies for cross-account reads, and the KMS calls Secrets Manager makes for its caller
refused by an SCP."""

import base64
import json
import os
import uuid

import pytest
from botocore.exceptions import ClientError

from orgs import create_account, member_root
from conftest import advance


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def message(excinfo):
    return excinfo.value.response["Error"]["Message"]




@pytest.fixture(scope="module")
def sm(server):
    return server.client("secretsmanager")


def stages(sm, secret_id):
    return sm.describe_secret(SecretId=secret_id)["VersionIdsToStages"]


def test_names_arns_and_partial_arns(sm):
    out = sm.create_secret(Name="arns/app", SecretString="one")
    arn = out["ARN"]
    prefix, suffix = arn.rsplit("-", 1)
    assert prefix.endswith(":secret:arns/app")
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:")
    assert len(suffix) == 6 and suffix.isalnum()
    for secret_id in ("arns/app", arn, prefix):
        got = sm.get_secret_value(SecretId=secret_id)
        assert got["ARN"] == arn and got["SecretString"] == "one"
    # Reads are dated to the day, as AWS keeps them.
    accessed = sm.describe_secret(SecretId=arn)["LastAccessedDate"]
    assert (accessed.hour, accessed.minute, accessed.second) == (0, 0, 0)
    binary = sm.create_secret(Name="arns/bin", SecretBinary=b"\x00\x01binary")
    assert sm.get_secret_value(SecretId=binary["ARN"])["SecretBinary"] == b"\x00\x01binary"


def test_secrets_are_regional(server, sm):
    arn = sm.create_secret(Name="regional/app", SecretString="here")["ARN"]
    elsewhere = server.client("secretsmanager", region="eu-west-1")
    for secret_id in ("regional/app", arn):
        with pytest.raises(ClientError) as err:
            elsewhere.get_secret_value(SecretId=secret_id)
        assert code(err) == "ResourceNotFoundException"
    assert elsewhere.create_secret(Name="regional/app", SecretString="there")["ARN"] != arn
    assert sm.get_secret_value(SecretId="regional/app")["SecretString"] == "here"


def test_label_life_cycle(sm):
    v1 = sm.create_secret(Name="labels/app", SecretString="v1")["VersionId"]
    assert stages(sm, "labels/app") == {v1: ["AWSCURRENT"]}
    v2 = sm.put_secret_value(SecretId="labels/app", SecretString="v2")["VersionId"]
    assert stages(sm, "labels/app") == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    assert sm.get_secret_value(SecretId="labels/app", VersionStage="AWSPREVIOUS")["SecretString"] == "v1"

    # A pending version leaves AWSCURRENT where it is.
    v3 = sm.put_secret_value(
        SecretId="labels/app", SecretString="v3", VersionStages=["AWSPENDING", "blue"]
    )["VersionId"]
    assert stages(sm, "labels/app") == {
        v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"], v3: ["AWSPENDING", "blue"]}
    assert sm.get_secret_value(SecretId="labels/app")["SecretString"] == "v2"

    # Moving AWSCURRENT needs the version it leaves; that version becomes AWSPREVIOUS.
    with pytest.raises(ClientError) as err:
        sm.update_secret_version_stage(
            SecretId="labels/app", VersionStage="AWSCURRENT", MoveToVersionId=v3)
    assert code(err) == "InvalidParameterException"
    assert "RemoveFromVersionId" in message(err)
    sm.update_secret_version_stage(
        SecretId="labels/app", VersionStage="AWSCURRENT", MoveToVersionId=v3, RemoveFromVersionId=v2)
    sm.update_secret_version_stage(
        SecretId="labels/app", VersionStage="AWSPENDING", RemoveFromVersionId=v3)
    assert stages(sm, "labels/app") == {v2: ["AWSPREVIOUS"], v3: ["blue", "AWSCURRENT"]}
    assert sm.get_secret_value(SecretId="labels/app")["SecretString"] == "v3"

    # A custom label moves to a new version; AWSCURRENT cannot just be removed.
    v4 = sm.put_secret_value(
        SecretId="labels/app", SecretString="v4", VersionStages=["blue"])["VersionId"]
    assert sm.get_secret_value(SecretId="labels/app", VersionStage="blue")["VersionId"] == v4
    with pytest.raises(ClientError) as err:
        sm.update_secret_version_stage(
            SecretId="labels/app", VersionStage="AWSCURRENT", RemoveFromVersionId=v3)
    assert code(err) == "InvalidParameterException"

    listed = sm.list_secret_version_ids(SecretId="labels/app")["Versions"]
    assert {v["VersionId"] for v in listed} == {v2, v3, v4}
    assert all(v["KmsKeyIds"] for v in listed)
    every = sm.list_secret_version_ids(SecretId="labels/app", IncludeDeprecated=True)["Versions"]
    assert {v["VersionId"] for v in every} == {v1, v2, v3, v4}
    page = sm.list_secret_version_ids(SecretId="labels/app", IncludeDeprecated=True, MaxResults=3)
    rest = sm.list_secret_version_ids(
        SecretId="labels/app", IncludeDeprecated=True, NextToken=page["NextToken"])
    assert len(page["Versions"]) == 3 and len(rest["Versions"]) == 1



def all_version_ids(sm, secret):
    ids, kwargs = [], {}
    while True:
        page = sm.list_secret_version_ids(SecretId=secret, IncludeDeprecated=True, **kwargs)
        ids += [v["VersionId"] for v in page["Versions"]]
        if "NextToken" not in page:
            return set(ids)
        kwargs = {"NextToken": page["NextToken"]}


def test_versions_past_one_hundred_go_once_a_day_old(dev_server):
    sm = dev_server.client("secretsmanager")
    first = sm.create_secret(Name="many/app", SecretString="v0")["VersionId"]
    puts = [sm.put_secret_value(SecretId="many/app", SecretString=f"n{i}")["VersionId"]
            for i in range(100)]
    # 101 versions, none a day old: AWS removes none of them.
    assert all_version_ids(sm, "many/app") == {first, *puts}
    advance(dev_server, 86400 + 60)
    last = sm.put_secret_value(SecretId="many/app", SecretString="later")["VersionId"]
    # Now the oldest unlabelled versions, a day old, go until 100 remain.
    ids = all_version_ids(sm, "many/app")
    assert len(ids) == 100 and last in ids
    assert first not in ids and puts[0] not in ids and puts[1] in ids


def test_client_request_token_idempotency(sm):
    token = str(uuid.uuid4())
    first = sm.create_secret(Name="idem/app", SecretString="same", ClientRequestToken=token)
    assert first["VersionId"] == token
    again = sm.create_secret(Name="idem/app", SecretString="same", ClientRequestToken=token)
    assert again["VersionId"] == token and again["ARN"] == first["ARN"]
    with pytest.raises(ClientError) as err:
        sm.create_secret(Name="idem/app", SecretString="other", ClientRequestToken=token)
    assert code(err) == "ResourceExistsException"

    put = str(uuid.uuid4())
    sm.put_secret_value(SecretId="idem/app", SecretString="two", ClientRequestToken=put)
    same = sm.put_secret_value(SecretId="idem/app", SecretString="two", ClientRequestToken=put)
    assert same["VersionId"] == put and same["VersionStages"] == ["AWSCURRENT"]
    with pytest.raises(ClientError) as err:
        sm.put_secret_value(SecretId="idem/app", SecretString="three", ClientRequestToken=put)
    assert code(err) == "ResourceExistsException"
    assert len(sm.list_secret_version_ids(SecretId="idem/app")["Versions"]) == 2


def test_errors_have_aws_codes(sm):
    cases = [
        (lambda: sm.get_secret_value(SecretId="missing/secret"), "ResourceNotFoundException"),
        (lambda: sm.describe_secret(SecretId="missing/secret"), "ResourceNotFoundException"),
        (lambda: sm.create_secret(Name="errors/both", SecretString="a", SecretBinary=b"b"),
         "InvalidParameterException"),
        (lambda: sm.create_secret(Name="bad name!"), "ValidationException"),
        (lambda: sm.get_secret_value(SecretId="bad name"), "ValidationException"),
        (lambda: sm.get_random_password(PasswordLength=2), "InvalidParameterException"),
        (lambda: sm.list_secrets(NextToken="not-a-token"), "InvalidNextTokenException"),
        (lambda: sm.put_resource_policy(SecretId="errors/app", ResourcePolicy="{not json"),
         "MalformedPolicyDocumentException"),
        (lambda: sm.delete_secret(SecretId="errors/app", RecoveryWindowInDays=31),
         "InvalidParameterException"),
        (lambda: sm.delete_secret(
            SecretId="errors/app", RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True),
         "InvalidParameterException"),
        (lambda: sm.get_secret_value(SecretId="errors/app", VersionStage="AWSPENDING"),
         "ResourceNotFoundException"),
        (lambda: sm.get_secret_value(SecretId="errors/app", VersionId="0" * 32),
         "ResourceNotFoundException"),
        (lambda: sm.batch_get_secret_value(), "InvalidParameterException"),
    ]
    sm.create_secret(Name="errors/app", SecretString="x")
    with pytest.raises(ClientError) as err:
        sm.create_secret(Name="errors/app", SecretString="y")
    assert code(err) == "ResourceExistsException"
    for call, expected in cases:
        with pytest.raises(ClientError) as err:
            call()
        assert code(err) == expected, (expected, err.value.response)
    # Nothing changed.
    assert sm.get_secret_value(SecretId="errors/app")["SecretString"] == "x"
    assert "DeletedDate" not in sm.describe_secret(SecretId="errors/app")


def test_list_filters_sort_and_pages(sm):
    for name, desc, tag in [("list/alpha", "first One", "red"), ("list/beta", "second", "blue"),
                            ("list/gamma", "third one", "red")]:
        sm.create_secret(Name=name, Description=desc, Tags=[{"Key": "color", "Value": tag}])

    def names(**kw):
        return [s["Name"] for s in sm.list_secrets(**kw)["SecretList"]]

    assert names(Filters=[{"Key": "name", "Values": ["list/"]}], SortOrder="asc") == [
        "list/alpha", "list/beta", "list/gamma"]
    assert names(Filters=[{"Key": "name", "Values": ["list/"]}]) == [
        "list/gamma", "list/beta", "list/alpha"]
    assert names(Filters=[{"Key": "tag-value", "Values": ["red"]},
                          {"Key": "name", "Values": ["list/"]}], SortBy="name") == [
        "list/gamma", "list/alpha"]
    assert names(Filters=[{"Key": "description", "Values": ["FIRST"]}]) == ["list/alpha"]
    assert names(Filters=[{"Key": "name", "Values": ["list/"]},
                          {"Key": "name", "Values": ["!list/b"]}], SortOrder="asc") == [
        "list/alpha", "list/gamma"]
    assert names(Filters=[{"Key": "all", "Values": ["one"]}], SortOrder="asc") == [
        "list/alpha", "list/gamma"]
    first = sm.list_secrets(Filters=[{"Key": "name", "Values": ["list/"]}], MaxResults=2)
    second = sm.list_secrets(
        Filters=[{"Key": "name", "Values": ["list/"]}], MaxResults=2, NextToken=first["NextToken"])
    assert len(first["SecretList"]) == 2 and len(second["SecretList"]) == 1
    assert "NextToken" not in second

    batch = sm.batch_get_secret_value(SecretIdList=["arns/app", "missing/one"])
    assert [v["SecretString"] for v in batch["SecretValues"]] == ["one"]
    assert batch["Errors"][0]["ErrorCode"] == "ResourceNotFoundException"

    sm.tag_resource(SecretId="list/beta", Tags=[{"Key": "color", "Value": "red"},
                                                {"Key": "tier", "Value": "1"}])
    sm.untag_resource(SecretId="list/beta", TagKeys=["tier"])
    assert sm.describe_secret(SecretId="list/beta")["Tags"] == [{"Key": "color", "Value": "red"}]


def test_random_passwords_honour_every_option(sm):
    pw = sm.get_random_password()["RandomPassword"]
    assert len(pw) == 32 and " " not in pw
    pw = sm.get_random_password(
        PasswordLength=64, ExcludeNumbers=True, ExcludePunctuation=True,
        ExcludeUppercase=True, ExcludeCharacters="xyz", IncludeSpace=True)["RandomPassword"]
    assert len(pw) == 64 and " " in pw
    assert all(c == " " or (c.islower() and c not in "xyz") for c in pw)


def test_deletion_window_and_restore_on_the_dev_clock(dev_server):
    sm = dev_server.client("secretsmanager")
    arn = sm.create_secret(Name="window/app", SecretString="keep me")["ARN"]
    out = sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    described = sm.describe_secret(SecretId=arn)
    assert "DeletedDate" in described
    assert (out["DeletionDate"] - described["DeletedDate"]).days == 7
    for call in (lambda: sm.get_secret_value(SecretId=arn),
                 lambda: sm.put_secret_value(SecretId=arn, SecretString="x"),
                 lambda: sm.delete_secret(SecretId=arn)):
        with pytest.raises(ClientError) as err:
            call()
        assert code(err) == "InvalidRequestException"
        assert message(err) == (
            "You can't perform this operation on the secret because it was marked for deletion.")
    with pytest.raises(ClientError) as err:
        sm.create_secret(Name="window/app", SecretString="new")
    assert code(err) == "InvalidRequestException"
    window = [{"Key": "name", "Values": ["window/"]}]
    assert sm.list_secrets(Filters=window)["SecretList"] == []
    assert len(sm.list_secrets(Filters=window, IncludePlannedDeletion=True)["SecretList"]) == 1

    sm.restore_secret(SecretId=arn)
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "keep me"

    sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    advance(dev_server, 6 * 86400)
    assert "DeletedDate" in sm.describe_secret(SecretId=arn)
    advance(dev_server, 86400 + 60)
    with pytest.raises(ClientError) as err:
        sm.describe_secret(SecretId=arn)
    assert code(err) == "ResourceNotFoundException"
    assert sm.create_secret(Name="window/app", SecretString="new")["ARN"] != arn
    trail = dev_server.client("cloudtrail").lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "EndSecretVersionDelete"}])["Events"]
    event = json.loads(trail[0]["CloudTrailEvent"])
    assert event["eventType"] == "AwsServiceEvent"
    assert event["resources"][0]["ARN"] == arn

    sm.delete_secret(SecretId="window/app", ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError) as err:
        sm.describe_secret(SecretId="window/app")
    assert code(err) == "ResourceNotFoundException"


def test_a_disabled_customer_key_makes_the_value_unreadable(sm, server):
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    sm.create_secret(Name="cmk/app", SecretString="sealed", KmsKeyId=key)
    assert sm.describe_secret(SecretId="cmk/app")["KmsKeyId"] == key
    assert sm.get_secret_value(SecretId="cmk/app")["SecretString"] == "sealed"
    kms.disable_key(KeyId=key)
    with pytest.raises(ClientError) as err:
        sm.get_secret_value(SecretId="cmk/app")
    assert code(err) == "DecryptionFailure"
    with pytest.raises(ClientError) as err:
        sm.put_secret_value(SecretId="cmk/app", SecretString="more")
    assert code(err) == "EncryptionFailure"
    kms.enable_key(KeyId=key)
    assert sm.get_secret_value(SecretId="cmk/app")["SecretString"] == "sealed"
    # A new key re-encrypts the labelled versions: the old key is then no longer needed.
    sm.put_secret_value(SecretId="cmk/app", SecretString="sealed-2")
    new_key = kms.create_key()["KeyMetadata"]["Arn"]
    sm.update_secret(SecretId="cmk/app", KmsKeyId=new_key)
    versions = sm.list_secret_version_ids(SecretId="cmk/app")["Versions"]
    assert {k for v in versions for k in v["KmsKeyIds"]} == {new_key}
    kms.disable_key(KeyId=key)
    assert sm.get_secret_value(SecretId="cmk/app")["SecretString"] == "sealed-2"
    assert sm.get_secret_value(
        SecretId="cmk/app", VersionStage="AWSPREVIOUS")["SecretString"] == "sealed"
    kms.enable_key(KeyId=key)
    # The AWS managed key was made on first use, as AWS does.
    managed = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert managed["KeyManager"] == "AWS"


def test_resource_tag_and_version_stage_condition_keys(server, sm):
    iam = server.client("iam")
    iam.create_user(UserName="sm-reader")
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
        "Condition": {"StringEquals": {"secretsmanager:ResourceTag/team": "blue"},
                      "ForAllValues:StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"}}},
        {"Effect": "Allow", "Action": "secretsmanager:BatchGetSecretValue", "Resource": "*"}]}
    iam.put_user_policy(UserName="sm-reader", PolicyName="read", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="sm-reader")["AccessKey"]
    reader = server.client("secretsmanager", key["AccessKeyId"], key["SecretAccessKey"])
    sm.create_secret(Name="cond/blue", SecretString="b", Tags=[{"Key": "team", "Value": "blue"}])
    sm.create_secret(Name="cond/red", SecretString="r", Tags=[{"Key": "team", "Value": "red"}])
    assert reader.get_secret_value(SecretId="cond/blue")["SecretString"] == "b"
    with pytest.raises(ClientError) as err:
        reader.get_secret_value(SecretId="cond/red")
    assert code(err) == "AccessDeniedException"
    with pytest.raises(ClientError) as err:
        reader.get_secret_value(SecretId="cond/blue", VersionStage="AWSPREVIOUS")
    assert code(err) == "AccessDeniedException"
    # A batch decides GetSecretValue for each secret; refusals are listed, not raised.
    batch = reader.batch_get_secret_value(SecretIdList=["cond/blue", "cond/red"])
    assert [v["Name"] for v in batch["SecretValues"]] == ["cond/blue"]
    assert [(e["SecretId"], e["ErrorCode"]) for e in batch["Errors"]] == [
        ("cond/red", "AccessDeniedException")]
    # Filtering also needs ListSecrets, which the reader lacks.
    with pytest.raises(ClientError) as err:
        reader.batch_get_secret_value(Filters=[{"Key": "name", "Values": ["cond/"]}])
    assert code(err) == "AccessDeniedException"


def test_block_public_policy_and_validation(sm):
    arn = sm.create_secret(Name="policies/public", SecretString="x")["ARN"]
    open_policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "Everyone", "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    org_policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
        "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}}]})

    with pytest.raises(ClientError) as err:
        sm.put_resource_policy(SecretId=arn, ResourcePolicy=open_policy, BlockPublicPolicy=True)
    assert code(err) == "PublicPolicyException"
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=arn)
    sm.put_resource_policy(SecretId=arn, ResourcePolicy=org_policy, BlockPublicPolicy=True)
    # Public policies are not blocked by default, as in AWS.
    sm.put_resource_policy(SecretId=arn, ResourcePolicy=open_policy)
    assert sm.get_resource_policy(SecretId=arn)["ResourcePolicy"] == open_policy

    passed = sm.validate_resource_policy(ResourcePolicy=org_policy)
    assert passed["PolicyValidationPassed"] is True
    assert passed["ValidationErrors"] == []
    assert sm.validate_resource_policy(SecretId=arn, ResourcePolicy=org_policy)[
        "PolicyValidationPassed"] is True
    public = sm.validate_resource_policy(ResourcePolicy=open_policy)
    assert public["PolicyValidationPassed"] is False
    [entry] = public["ValidationErrors"]
    assert entry["CheckName"] == "PUBLIC_ACCESS_CHECK"
    assert "Everyone" in entry["ErrorMessage"]
    broken = sm.validate_resource_policy(ResourcePolicy="{not json")
    assert broken["PolicyValidationPassed"] is False
    assert broken["ValidationErrors"][0]["CheckName"] == "SYNTAX_CHECK"
    with pytest.raises(ClientError) as err:
        sm.validate_resource_policy(SecretId="policies/none", ResourcePolicy=org_policy)
    assert code(err) == "ResourceNotFoundException"


@pytest.fixture
def org(fresh_server):
    orgs = fresh_server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    account = create_account(orgs, "secrets", "secrets@example.com")
    key, secret = member_root(fresh_server, account)
    return fresh_server, orgs, account, key, secret


def test_cross_account_read_needs_both_sides(org):
    server, _, member, key, secret = org
    owner_sm = server.client("secretsmanager")
    kms = server.client("kms")
    owner = server.client("sts").get_caller_identity()["Account"]
    key_policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{owner}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{member}:root"},
         "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}},
    ]}
    cmk = kms.create_key(Policy=json.dumps(key_policy))["KeyMetadata"]["Arn"]
    arn = owner_sm.create_secret(Name="shared/app", SecretString="for member", KmsKeyId=cmk)["ARN"]

    member_sm = server.client("secretsmanager", key, secret)
    with pytest.raises(ClientError) as err:
        member_sm.get_secret_value(SecretId=arn)
    assert code(err) == "AccessDeniedException"

    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{member}:root"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}
    owner_sm.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps(policy))
    assert json.loads(owner_sm.get_resource_policy(SecretId=arn)["ResourcePolicy"]) == policy
    assert member_sm.get_secret_value(SecretId=arn)["SecretString"] == "for member"
    # The member account's own side: a user with no permissions is still refused.
    member_iam = server.client("iam", key, secret)
    member_iam.create_user(UserName="nobody")
    creds = member_iam.create_access_key(UserName="nobody")["AccessKey"]
    nobody = server.client("secretsmanager", creds["AccessKeyId"], creds["SecretAccessKey"])
    with pytest.raises(ClientError) as err:
        nobody.get_secret_value(SecretId=arn)
    assert code(err) == "AccessDeniedException"
    # The key must allow it too: a secret under a key the member may not use stays closed.
    own_key = kms.create_key()["KeyMetadata"]["Arn"]
    closed = owner_sm.create_secret(
        Name="shared/closed", SecretString="owner only", KmsKeyId=own_key)["ARN"]
    owner_sm.put_resource_policy(SecretId=closed, ResourcePolicy=json.dumps(policy))
    with pytest.raises(ClientError) as err:
        member_sm.get_secret_value(SecretId=closed)
    assert code(err) == "AccessDeniedException"
    assert message(err) == "Access to KMS is not allowed"
    # Without the resource policy the member is refused again.
    owner_sm.delete_resource_policy(SecretId=arn)
    assert "ResourcePolicy" not in owner_sm.get_resource_policy(SecretId=arn)
    with pytest.raises(ClientError) as err:
        member_sm.get_secret_value(SecretId=arn)
    assert code(err) == "AccessDeniedException"


def test_an_scp_denying_kms_decrypt_via_secrets_manager_blocks_reads(org):
    """Issue 18's regression test: the call Secrets Manager makes to KMS for its caller is
    decided with the caller's SCPs."""
    server, orgs, member, key, secret = org
    member_sm = server.client("secretsmanager", key, secret)
    member_sm.create_secret(Name="scp/app", SecretString="guarded")
    assert member_sm.get_secret_value(SecretId="scp/app")["SecretString"] == "guarded"
    scp = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}}}]}
    policy_id = orgs.create_policy(
        Name="NoSecretsDecrypt", Description="d", Type="SERVICE_CONTROL_POLICY",
        Content=json.dumps(scp))["Policy"]["PolicySummary"]["Id"]
    orgs.attach_policy(PolicyId=policy_id, TargetId=member)
    with pytest.raises(ClientError) as err:
        member_sm.get_secret_value(SecretId="scp/app")
    assert code(err) == "AccessDeniedException"
    # Only the value is guarded: the metadata and new values are not.
    assert member_sm.describe_secret(SecretId="scp/app")["Name"] == "scp/app"
    member_sm.put_secret_value(SecretId="scp/app", SecretString="still writable")
    orgs.detach_policy(PolicyId=policy_id, TargetId=member)
    assert member_sm.get_secret_value(SecretId="scp/app")["SecretString"] == "still writable"


def test_the_database_holds_no_value_in_clear(fresh_server):
    sm = fresh_server.client("secretsmanager")
    marker = "rampart-clear-text-marker-" + uuid.uuid4().hex
    sm.create_secret(Name="grep/app", SecretString=marker)
    sm.put_secret_value(SecretId="grep/app", SecretString=marker + "-2")
    sm.create_secret(Name="grep/bin", SecretBinary=marker.encode())
    assert sm.get_secret_value(SecretId="grep/app")["SecretString"] == marker + "-2"
    sm.batch_get_secret_value(SecretIdList=["grep/app", "grep/bin"])
    needles = [marker.encode(), base64.b64encode(marker.encode())]
    # The trail recorded the calls, with the values hidden as AWS hides them.
    trail = fresh_server.client("cloudtrail").lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "CreateSecret"}])["Events"]
    params = [json.loads(e["CloudTrailEvent"])["requestParameters"] for e in trail]
    assert {p.get("secretString") or p.get("secretBinary") for p in params} == {
        "HIDDEN_DUE_TO_SECURITY_REASONS"}
    checked = 0
    for root, _, files in os.walk(fresh_server.data_dir):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                data = f.read()
            checked += 1
            for needle in needles:
                assert needle not in data, f"{name} holds a secret value in clear"
    assert checked > 0


def test_aws_cli_round_trip(server):
    out = json.loads(server.cli(
        "secretsmanager", "create-secret", "--name", "cli/app",
        "--secret-string", '{"username":"app","password":"p4ss"}').stdout)
    assert out["Name"] == "cli/app"
    got = json.loads(server.cli(
        "secretsmanager", "get-secret-value", "--secret-id", out["ARN"]).stdout)
    assert json.loads(got["SecretString"]) == {"username": "app", "password": "p4ss"}
    proc = server.cli("secretsmanager", "get-secret-value", "--secret-id", "cli/none", check=False)
    assert proc.returncode != 0
    assert "(ResourceNotFoundException)" in proc.stderr
    assert "Secrets Manager can't find the specified secret." in proc.stderr


def test_the_caching_client_reads_through_rampart(sm):
    caching = pytest.importorskip("aws_secretsmanager_caching")
    sm.create_secret(Name="cache/app", SecretString="cached value")
    cache = caching.SecretCache(config=caching.SecretCacheConfig(), client=sm)
    assert cache.get_secret_string("cache/app") == "cached value"
    sm.put_secret_value(SecretId="cache/app", SecretString="next value")
    cache.refresh_secret_now("cache/app")
    assert cache.get_secret_string("cache/app") == "next value"
    sm.create_secret(Name="cache/bin", SecretBinary=b"\x01\x02")
    assert cache.get_secret_binary("cache/bin") == b"\x01\x02"
