"""IAM users, groups, managed and inline policies and access keys, as a new user meets them:
everything through the unmodified boto3 and aws CLI, every call authorized."""

import json
import time
import uuid

import botocore.exceptions
import pytest


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def status(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def allow(actions, resource="*", effect="Allow"):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": effect, "Action": actions, "Resource": resource}],
        }
    )


def eventually(fn, attempts=20):
    """Retries briefly: the first request with a brand-new key may race its own creation."""
    for i in range(attempts):
        try:
            return fn()
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] != "InvalidClientTokenId" or i == attempts - 1:
                raise
            time.sleep(0.1)


@pytest.fixture
def iam(server):
    return server.client("iam")


def new_user(server, iam, name=None):
    """Creates a user with an access key; returns (name, iam client as that user, sts client)."""
    name = name or uid("user")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    as_user = server.client("iam", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    sts = server.client("sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    return name, as_user, sts, key


def test_new_user_can_do_nothing_but_get_caller_identity(server, iam):
    name, as_user, sts, _ = new_user(server, iam)
    ident = eventually(sts.get_caller_identity)
    assert ident["Arn"].endswith(f":user/{name}")
    assert ident["UserId"].startswith("AIDA")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_user.list_users()
    assert error_code(e) == "AccessDenied"
    assert status(e) == 403
    msg = e.value.response["Error"]["Message"]
    assert f"User: {ident['Arn']} is not authorized to perform: iam:ListUsers" in msg
    assert "because no identity-based policy allows the iam:ListUsers action" in msg


def test_group_grants_and_removal_revokes_at_once(server, iam):
    name, as_user, _, _ = new_user(server, iam)
    group = uid("readers")
    iam.create_group(GroupName=group)
    iam.put_group_policy(
        GroupName=group, PolicyName="list", PolicyDocument=allow(["iam:ListUsers", "iam:GetUser"])
    )
    iam.add_user_to_group(GroupName=group, UserName=name)
    users = eventually(as_user.list_users)["Users"]
    assert name in [u["UserName"] for u in users]
    got = iam.get_group(GroupName=group)
    assert [u["UserName"] for u in got["Users"]] == [name]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]] == [group]
    iam.remove_user_from_group(GroupName=group, UserName=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_user.list_users()
    assert error_code(e) == "AccessDenied"


def test_explicit_deny_wins(server, iam):
    name, as_user, _, _ = new_user(server, iam)
    iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=allow("iam:*"))
    eventually(as_user.list_groups)
    iam.put_user_policy(
        UserName=name, PolicyName="deny", PolicyDocument=allow("iam:ListGroups", effect="Deny")
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_user.list_groups()
    assert error_code(e) == "AccessDenied"
    assert "with an explicit deny in an identity-based policy" in e.value.response["Error"]["Message"]
    as_user.list_users()  # the rest still works
    names = iam.list_user_policies(UserName=name)["PolicyNames"]
    assert names == ["all", "deny"]
    doc = iam.get_user_policy(UserName=name, PolicyName="deny")["PolicyDocument"]
    assert doc["Statement"][0]["Effect"] == "Deny"  # boto3 decodes the URL-encoded document


def test_permissions_boundary_caps_a_user(server, iam):
    name, as_user, _, _ = new_user(server, iam)
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    eventually(as_user.list_groups)
    iam.put_user_permissions_boundary(
        UserName=name, PermissionsBoundary="arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    )
    assert (
        iam.get_user(UserName=name)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
        == "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    )
    as_user.list_groups()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_user.create_group(GroupName=uid("g"))
    assert error_code(e) == "AccessDenied"
    assert "permissions boundary" in e.value.response["Error"]["Message"]
    iam.delete_user_permissions_boundary(UserName=name)
    g = uid("g")
    as_user.create_group(GroupName=g)
    iam.delete_group(GroupName=g)


def test_aws_managed_policies_are_listed_and_not_changeable(server, iam):
    listed = iam.list_policies(Scope="AWS", MaxItems=1000)["Policies"]
    names = {p["PolicyName"] for p in listed}
    for expected in (
        "AdministratorAccess",
        "ReadOnlyAccess",
        "IAMFullAccess",
        "IAMReadOnlyAccess",
        "PowerUserAccess",
        "AWSKeyManagementServicePowerUser",
        "SecretsManagerReadWrite",
        "AWSOrganizationsFullAccess",
        "AWSOrganizationsReadOnlyAccess",
    ):
        assert expected in names
    arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    pol = iam.get_policy(PolicyArn=arn)["Policy"]
    assert pol["DefaultVersionId"] == "v1" and pol["IsAttachable"]
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert version["IsDefaultVersion"] and "Statement" in version["Document"]
    for call in (
        lambda: iam.delete_policy(PolicyArn=arn),
        lambda: iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("s3:*")),
        lambda: iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "a", "Value": "b"}]),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert error_code(e) == "AccessDenied"


def test_managed_policy_attach_detach_and_quota(server, iam):
    name, as_user, _, _ = new_user(server, iam)
    arn = iam.create_policy(PolicyName=uid("list-users"), PolicyDocument=allow("iam:ListUsers"))[
        "Policy"
    ]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    eventually(as_user.list_users)
    attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    assert [a["PolicyArn"] for a in attached] == [arn]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    ents = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in ents["PolicyUsers"]] == [name]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_policy(PolicyArn=arn)
    assert error_code(e) == "DeleteConflict" and status(e) == 409
    iam.detach_user_policy(UserName=name, PolicyArn=arn)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_user.list_users()
    assert error_code(e) == "AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.detach_user_policy(UserName=name, PolicyArn=arn)
    assert error_code(e) == "NoSuchEntity"
    # Quota: 10 managed policies per user.
    arns = [
        iam.create_policy(PolicyName=uid("q"), PolicyDocument=allow("s3:GetObject"))["Policy"]["Arn"]
        for _ in range(11)
    ]
    for a in arns[:10]:
        iam.attach_user_policy(UserName=name, PolicyArn=a)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.attach_user_policy(UserName=name, PolicyArn=arns[10])
    assert error_code(e) == "LimitExceeded"
    assert "PoliciesPerUser: 10" in e.value.response["Error"]["Message"]
    for a in arns[:10]:
        iam.detach_user_policy(UserName=name, PolicyArn=a)
    for a in arns:
        iam.delete_policy(PolicyArn=a)
    iam.delete_policy(PolicyArn=arn)


def test_policy_versions_lifecycle_and_limit(server, iam):
    arn = iam.create_policy(PolicyName=uid("versioned"), PolicyDocument=allow("s3:GetObject"))[
        "Policy"
    ]["Arn"]
    for i in range(2, 6):
        v = iam.create_policy_version(
            PolicyArn=arn, PolicyDocument=allow(f"s3:Get{i}"), SetAsDefault=(i == 3)
        )["PolicyVersion"]
        assert v["VersionId"] == f"v{i}"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("s3:x"))
    assert error_code(e) == "LimitExceeded"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v3"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert error_code(e) == "DeleteConflict"
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v5")
    doc = iam.get_policy_version(PolicyArn=arn, VersionId="v5")["PolicyVersion"]["Document"]
    assert doc["Statement"][0]["Action"] == "s3:Get5"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_policy(PolicyArn=arn)
    assert error_code(e) == "DeleteConflict"
    for v in ("v1", "v2", "v3", "v4"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=v)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_policy_version(PolicyArn=arn, VersionId="v1")
    assert error_code(e) == "NoSuchEntity"
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_policy(PolicyArn=arn)
    assert error_code(e) == "NoSuchEntity" and status(e) == 404


def test_access_keys_limit_inactive_and_last_used(server, iam):
    name, as_user, sts, key = new_user(server, iam)
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    second = iam.create_access_key(UserName=name)["AccessKey"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_access_key(UserName=name)
    assert error_code(e) == "LimitExceeded"
    assert "AccessKeysPerUser: 2" in e.value.response["Error"]["Message"]
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert sorted(k["AccessKeyId"] for k in listed) == sorted(
        [key["AccessKeyId"], second["AccessKeyId"]]
    )
    never = iam.get_access_key_last_used(AccessKeyId=second["AccessKeyId"])
    assert never["AccessKeyLastUsed"]["ServiceName"] == "N/A"
    eventually(as_user.list_users)
    deadline = time.time() + 5
    while True:
        used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
        if "LastUsedDate" in used["AccessKeyLastUsed"] or time.time() > deadline:
            break
        time.sleep(0.1)
    assert used["UserName"] == name
    assert used["AccessKeyLastUsed"]["ServiceName"] == "iam"
    assert used["AccessKeyLastUsed"]["Region"] == "us-east-1"
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts.get_caller_identity()
    assert error_code(e) == "InvalidClientTokenId"
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Active")
    sts.get_caller_identity()
    # A user manages its own keys without naming itself.
    own = as_user.list_access_keys()["AccessKeyMetadata"]
    assert len(own) == 2 and all(k["UserName"] == name for k in own)
    iam.delete_access_key(UserName=name, AccessKeyId=second["AccessKeyId"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_access_key(UserName=name, AccessKeyId=second["AccessKeyId"])
    assert error_code(e) == "NoSuchEntity"


def test_get_user_without_name_is_the_caller(server, iam):
    root = iam.get_user()["User"]
    assert root["Arn"].endswith(":root")
    name, as_user, _, _ = new_user(server, iam)
    iam.put_user_policy(UserName=name, PolicyName="self", PolicyDocument=allow("iam:GetUser"))
    me = eventually(as_user.get_user)["User"]
    assert me["UserName"] == name and me["UserId"].startswith("AIDA")


def test_delete_conflicts_and_errors(server, iam):
    name = uid("busy")
    iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "blue"}])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_user(UserName=name.upper())
    assert error_code(e) == "EntityAlreadyExists" and status(e) == 409
    key = iam.create_access_key(UserName=name)["AccessKey"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_user(UserName=name)
    assert error_code(e) == "DeleteConflict"
    assert "access keys" in e.value.response["Error"]["Message"]
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    group = uid("grp")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_user(UserName=name)
    assert error_code(e) == "DeleteConflict"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_group(GroupName=group)
    assert error_code(e) == "DeleteConflict"
    iam.remove_user_from_group(GroupName=group, UserName=name)
    iam.delete_group(GroupName=group)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=allow("s3:*"))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_user(UserName=name)
    assert error_code(e) == "DeleteConflict"
    iam.delete_user_policy(UserName=name, PolicyName="p")
    assert iam.list_user_tags(UserName=name)["Tags"] == [{"Key": "team", "Value": "blue"}]
    iam.delete_user(UserName=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_user(UserName=name)
    assert error_code(e) == "NoSuchEntity" and status(e) == 404
    assert e.value.response["Error"]["Message"] == f"The user with name {name} cannot be found."
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_group(GroupName=uid("nope"))
    assert error_code(e) == "NoSuchEntity"


def test_pagination_and_path_prefix(server, iam):
    path = f"/{uid('page')}/"
    names = sorted(uid("p") for _ in range(5))
    for n in names:
        iam.create_user(UserName=n, Path=path)
    first = iam.list_users(PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] and len(first["Users"]) == 2
    seen = [u["UserName"] for u in first["Users"]]
    marker = first["Marker"]
    while marker:
        page = iam.list_users(PathPrefix=path, MaxItems=2, Marker=marker)
        seen += [u["UserName"] for u in page["Users"]]
        marker = page.get("Marker") if page["IsTruncated"] else None
    assert seen == names
    # boto3's paginator and the CLI walk the same pages.
    paged = [
        u["UserName"]
        for p in iam.get_paginator("list_users").paginate(
            PathPrefix=path, PaginationConfig={"PageSize": 2}
        )
        for u in p["Users"]
    ]
    assert paged == names
    out = server.cli("iam", "list-users", "--path-prefix", path, "--page-size", "2")
    assert [u["UserName"] for u in json.loads(out.stdout)["Users"]] == names
    assert all(u["Path"] == path for u in json.loads(out.stdout)["Users"])


def test_malformed_documents_and_size_limits(server, iam):
    name = uid("docs")
    iam.create_user(UserName=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.put_user_policy(UserName=name, PolicyName="bad", PolicyDocument='{"Statement": 3}')
    assert error_code(e) == "MalformedPolicyDocument" and status(e) == 400
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_policy(PolicyName=uid("bad"), PolicyDocument="not json")
    assert error_code(e) == "MalformedPolicyDocument"
    big = [f"s3:GetObjectVersion{i:04d}" for i in range(100)]  # > 2,048 without whitespace
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.put_user_policy(UserName=name, PolicyName="big", PolicyDocument=allow(big))
    assert error_code(e) == "LimitExceeded"
    assert "UserPolicySize: 2048" in e.value.response["Error"]["Message"]
    group = uid("docs")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="big", PolicyDocument=allow(big))  # < 5,120
    # Whitespace does not count toward the limit.
    padded = json.dumps(json.loads(allow(big[:60])), indent=40)
    assert len(padded) > 2048
    iam.put_user_policy(UserName=name, PolicyName="padded", PolicyDocument=padded)
    huge = [f"s3:GetObjectVersion{i:04d}" for i in range(300)]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_policy(PolicyName=uid("huge"), PolicyDocument=allow(huge))
    assert error_code(e) == "LimitExceeded"


def test_account_alias_summary_and_details_with_the_cli(server, iam):
    alias = uid("acme")
    server.cli("iam", "create-account-alias", "--account-alias", alias)
    out = json.loads(server.cli("iam", "list-account-aliases").stdout)
    assert out["AccountAliases"] == [alias]
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["Users"] >= 1 and summary["AccessKeysPerUserQuota"] == 2
    server.cli("iam", "delete-account-alias", "--account-alias", alias)
    assert iam.list_account_aliases()["AccountAliases"] == []
    name = uid("detail")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=allow("s3:*"))
    details = iam.get_account_authorization_details(Filter=["User"])
    mine = [u for u in details["UserDetailList"] if u["UserName"] == name]
    assert mine and mine[0]["UserPolicyList"][0]["PolicyName"] == "p"
    created = json.loads(
        server.cli("iam", "create-user", "--user-name", uid("cli"), "--path", "/cli/").stdout
    )
    assert created["User"]["Arn"].endswith(f":user/cli/{created['User']['UserName']}")


def test_principal_and_resource_tags_in_conditions(server, iam):
    name, as_user, _, _ = new_user(server, iam)
    other = uid("peer")
    iam.create_user(UserName=other, Tags=[{"Key": "team", "Value": "blue"}])
    stranger = uid("stranger")
    iam.create_user(UserName=stranger, Tags=[{"Key": "team", "Value": "red"}])
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iam:ListGroups",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}},
            },
            {
                "Effect": "Allow",
                "Action": "iam:GetUser",
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:ResourceTag/team": "${aws:PrincipalTag/team}"}},
            },
        ],
    }
    iam.put_user_policy(UserName=name, PolicyName="tags", PolicyDocument=json.dumps(policy))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        eventually(as_user.list_groups)
    assert error_code(e) == "AccessDenied"
    iam.tag_user(UserName=name, Tags=[{"Key": "team", "Value": "blue"}])
    as_user.list_groups()
    assert as_user.get_user(UserName=other)["User"]["UserName"] == other
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_user.get_user(UserName=stranger)
    assert error_code(e) == "AccessDenied"
    iam.untag_user(UserName=name, TagKeys=["team"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_user.list_groups()
    assert error_code(e) == "AccessDenied"


def test_request_tags_and_boundary_condition_keys(server, iam):
    name, as_user, _, _ = new_user(server, iam)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iam:CreateUser", "iam:TagUser"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/owner": "${aws:username}",
                        "iam:PermissionsBoundary": "arn:aws:iam::aws:policy/ReadOnlyAccess",
                    }
                },
            }
        ],
    }
    iam.put_user_policy(UserName=name, PolicyName="delegate", PolicyDocument=json.dumps(policy))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        eventually(lambda: as_user.create_user(UserName=uid("child")))
    assert error_code(e) == "AccessDenied"
    child = uid("child")
    as_user.create_user(
        UserName=child,
        Tags=[{"Key": "owner", "Value": name}],
        PermissionsBoundary="arn:aws:iam::aws:policy/ReadOnlyAccess",
    )
    got = iam.get_user(UserName=child)["User"]
    assert got["Tags"] == [{"Key": "owner", "Value": name}]
    ents = iam.list_entities_for_policy(
        PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess", PolicyUsageFilter="PermissionsBoundary"
    )
    assert child in [u["UserName"] for u in ents["PolicyUsers"]]
