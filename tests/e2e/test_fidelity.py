"""AWS's validation and error shapes, exactly (issue 27, part 3): IAM's policy grammar and
messages (the cases of crates/policy/tests/iam_grammar/cases.json through the real API),
response shapes, IAM path errors, and KMS's key-id-only operations and alias prefix."""

import json
import os
import uuid

import pytest
from botocore.exceptions import ClientError

CASES = os.path.join(
    os.path.dirname(__file__), "..", "..", "crates", "policy", "tests", "iam_grammar", "cases.json"
)


def uid(prefix):
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def body(doc):
    return doc if isinstance(doc, str) else json.dumps(doc)


def attempt(call):
    try:
        call()
        return "accept"
    except ClientError as e:
        err = e.value.response if hasattr(e, "value") else e.response
        assert err["Error"]["Code"] == "MalformedPolicyDocument", err
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
        return err["Error"]["Message"]


def test_every_case_of_the_fidelity_table_through_the_api(server):
    iam = server.client("iam")
    account = server.client("sts").get_caller_identity()["Account"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": account}, "Action": "sts:AssumeRole"}]})
    role = uid("fid")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    user = uid("fid")
    iam.create_user(UserName=user)
    with open(CASES) as f:
        cases = json.load(f)
    failures = []
    # Cases of another partition run against a server there (test_partitions.py).
    for c in (c for c in cases if c.get("partition", "aws") == "aws"):
        doc = body(c["document"])
        if c["as"] == "managed":
            got = attempt(lambda: iam.create_policy(PolicyName=uid("p"), PolicyDocument=doc))
        elif c["as"] == "inline":
            got = attempt(lambda: iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=doc))
        else:
            got = attempt(lambda: iam.update_assume_role_policy(RoleName=role, PolicyDocument=doc))
        if got != c["answer"]:
            failures.append(f"{c['name']}: want {c['answer']!r}, got {got!r}")
    assert not failures, "\n".join(failures)


def test_create_role_refuses_a_non_sts_trust_action(server):
    iam = server.client("iam")
    bad = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "s3:GetObject"}]})
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName=uid("r"), AssumeRolePolicyDocument=bad)
    assert e.value.response["Error"]["Message"].startswith("Trust Policy statement actions can only be")


def test_create_policy_answers_without_description_get_policy_with_it(server):
    iam = server.client("iam")
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    created = iam.create_policy(PolicyName=uid("p"), PolicyDocument=doc, Description="reports",
                                Tags=[{"Key": "team", "Value": "a"}])["Policy"]
    assert "Description" not in created
    assert created["Tags"] == [{"Key": "team", "Value": "a"}]
    got = iam.get_policy(PolicyArn=created["Arn"])["Policy"]
    assert got["Description"] == "reports"


def test_virtual_mfa_devices_of_one_name_on_two_paths(server):
    iam = server.client("iam")
    name = uid("dev")
    a = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
    b = iam.create_virtual_mfa_device(VirtualMFADeviceName=name, Path="/team/")["VirtualMFADevice"]["SerialNumber"]
    assert a.endswith(f":mfa/{name}") and b.endswith(f":mfa/team/{name}")
    with pytest.raises(ClientError) as e:
        iam.create_virtual_mfa_device(VirtualMFADeviceName=name, Path="/team/")
    assert e.value.response["Error"]["Code"] == "EntityAlreadyExists"
    iam.delete_virtual_mfa_device(SerialNumber=b)
    serials = [d["SerialNumber"] for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]]
    assert a in serials and b not in serials


@pytest.mark.parametrize("create", ["user", "group", "policy", "role"])
def test_iam_path_errors_in_aws_text(server, create):
    iam = server.client("iam")
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    calls = {
        "user": lambda p: iam.create_user(UserName=uid("u"), Path=p),
        "group": lambda p: iam.create_group(GroupName=uid("g"), Path=p),
        "policy": lambda p: iam.create_policy(PolicyName=uid("p"), PolicyDocument=doc, Path=p),
        "role": lambda p: iam.create_role(RoleName=uid("r"), AssumeRolePolicyDocument=trust, Path=p),
    }
    for bad in ["team", "/team", "/a b/"]:
        with pytest.raises(ClientError) as e:
            calls[create](bad)
        err = e.value.response["Error"]
        assert err["Code"] == "ValidationError"
        assert err["Message"].startswith(
            f"1 validation error detected: Value '{bad}' at 'path' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: "
        ), err["Message"]
    calls[create]("/team/")


def test_kms_key_id_only_operations_refuse_an_alias(server):
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    alias = uid("alias/fid")
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    alias_arn = key["Arn"].split(":key/")[0] + ":" + alias
    for call in [
        lambda k: kms.enable_key_rotation(KeyId=k),
        lambda k: kms.get_key_rotation_status(KeyId=k),
        lambda k: kms.put_key_policy(KeyId=k, PolicyName="default", Policy=kms.get_key_policy(
            KeyId=key["KeyId"], PolicyName="default")["Policy"]),
        lambda k: kms.disable_key(KeyId=k),
        lambda k: kms.tag_resource(KeyId=k, Tags=[{"TagKey": "a", "TagValue": "b"}]),
    ]:
        for k in (alias, alias_arn):
            with pytest.raises(ClientError) as e:
                call(k)
            err = e.value.response["Error"]
            assert err["Code"] == "NotFoundException", err
            assert err["Message"] == f"Invalid keyId {k}"
        call(key["KeyId"])
    # Operations that take any identifier still follow the alias.
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key["KeyId"]


def test_kms_alias_without_its_prefix(server):
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    for call in [
        lambda: kms.create_alias(AliasName="no-prefix", TargetKeyId=key),
        lambda: kms.update_alias(AliasName="no-prefix", TargetKeyId=key),
        lambda: kms.delete_alias(AliasName="no-prefix"),
    ]:
        with pytest.raises(ClientError) as e:
            call()
        err = e.value.response["Error"]
        assert err["Code"] == "ValidationException"
        assert err["Message"] == (
            'Alias must start with the prefix "alias/". Please see '
            "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
        )
