"""Organizations management policies end to end with boto3: enabling the types on the root,
the inheritance-operator grammar, attachments, the effective policy an account inherits from
its root and OUs, and AWS's errors."""

import json

import pytest
from botocore.exceptions import ClientError

from orgs import create_account
from test_organizations import code

MANAGEMENT_TYPES = [
    "TAG_POLICY",
    "BACKUP_POLICY",
    "AISERVICES_OPT_OUT_POLICY",
    "CHATBOT_POLICY",
    "DECLARATIVE_POLICY_EC2",
]


@pytest.fixture
def org(fresh_server):
    orgs = fresh_server.client("organizations")
    created = orgs.create_organization(FeatureSet="ALL")["Organization"]
    root_id = orgs.list_roots()["Roots"][0]["Id"]
    return fresh_server, orgs, created, root_id


def policy(orgs, name, policy_type, content):
    return orgs.create_policy(
        Name=name, Description="", Type=policy_type, Content=json.dumps(content)
    )["Policy"]["PolicySummary"]["Id"]


def test_enable_and_disable_management_policy_types(org):
    server, orgs, created, root_id = org
    for t in MANAGEMENT_TYPES:
        root = orgs.enable_policy_type(RootId=root_id, PolicyType=t)["Root"]
        assert {"Type": t, "Status": "ENABLED"} in root["PolicyTypes"]
    with pytest.raises(ClientError) as e:
        orgs.enable_policy_type(RootId=root_id, PolicyType="BACKUP_POLICY")
    assert code(e) == "PolicyTypeAlreadyEnabledException"
    types = {p["Type"] for p in orgs.list_roots()["Roots"][0]["PolicyTypes"]}
    assert set(MANAGEMENT_TYPES) <= types

    backup = policy(orgs, "plans", "BACKUP_POLICY", {"plans": {"daily": {"regions": {"@@assign": ["us-east-1"]}}}})
    orgs.attach_policy(PolicyId=backup, TargetId=root_id)
    targets = orgs.list_targets_for_policy(PolicyId=backup)["Targets"]
    assert [(t["TargetId"], t["Type"]) for t in targets] == [(root_id, "ROOT")]
    listed = orgs.list_policies_for_target(TargetId=root_id, Filter="BACKUP_POLICY")["Policies"]
    assert [p["Id"] for p in listed] == [backup]
    assert listed[0]["Type"] == "BACKUP_POLICY" and listed[0]["AwsManaged"] is False
    # A management policy can be detached down to none (unlike SCPs).
    orgs.detach_policy(PolicyId=backup, TargetId=root_id)
    orgs.attach_policy(PolicyId=backup, TargetId=root_id)

    # Disabling a type detaches its policies.
    root = orgs.disable_policy_type(RootId=root_id, PolicyType="BACKUP_POLICY")["Root"]
    assert "BACKUP_POLICY" not in {p["Type"] for p in root["PolicyTypes"]}
    assert orgs.list_targets_for_policy(PolicyId=backup)["Targets"] == []
    with pytest.raises(ClientError) as e:
        orgs.attach_policy(PolicyId=backup, TargetId=root_id)
    assert code(e) == "PolicyTypeNotEnabledException"
    with pytest.raises(ClientError) as e:
        orgs.disable_policy_type(RootId=root_id, PolicyType="BACKUP_POLICY")
    assert code(e) == "PolicyTypeNotEnabledException"
    with pytest.raises(ClientError) as e:
        orgs.enable_policy_type(RootId="r-zzzz", PolicyType="TAG_POLICY")
    assert code(e) == "RootNotFoundException"


def test_documents_are_validated(org):
    server, orgs, created, root_id = org
    bad_documents = [
        ("TAG_POLICY", "[1]"),
        ("TAG_POLICY", '{"tags": {"cc": {"tag_key": {"@@assign": ["x"]}}}}'),
        ("TAG_POLICY", '{"tags": {"costcenter": {"tag_key": {"@@assign": "Project"}}}}'),
        ("TAG_POLICY", '{"backup": {}}'),
        ("BACKUP_POLICY", '{"plans": {"p": {"regions": {"@@append": "us-east-1"}}}}'),
        ("CHATBOT_POLICY", '{"chatbot": {"@@bogus": 1}}'),
        ("DECLARATIVE_POLICY_EC2", '{"ec2_attributes": {"@@assign": "x", "other": {}}}'),
        ("AISERVICES_OPT_OUT_POLICY",
         '{"services": {"@@operators_allowed_for_child_policies": ["@@none", "@@assign"]}}'),
    ]
    for policy_type, content in bad_documents:
        with pytest.raises(ClientError) as e:
            orgs.create_policy(Name="bad", Description="", Type=policy_type, Content=content)
        assert code(e) == "MalformedPolicyDocumentException", content
    too_big = {"services": {"default": {"opt_out_policy": {"@@assign": "x" * 2500}}}}
    with pytest.raises(ClientError) as e:
        policy(orgs, "big", "AISERVICES_OPT_OUT_POLICY", too_big)
    assert code(e) == "ConstraintViolationException"
    assert e.value.response["Reason"] == "POLICY_CONTENT_LIMIT_EXCEEDED"

    ok = policy(orgs, "ok", "CHATBOT_POLICY", {"chatbot": {"platforms": {"slack": {"client": {"@@assign": "enabled"}}}}})
    with pytest.raises(ClientError) as e:
        orgs.update_policy(PolicyId=ok, Content='{"chatbot": {"@@append": "x"}}')
    assert code(e) == "MalformedPolicyDocumentException"
    updated = orgs.update_policy(PolicyId=ok, Name="renamed")["Policy"]["PolicySummary"]
    assert updated["Name"] == "renamed"
    names = [p["Name"] for p in orgs.list_policies(Filter="CHATBOT_POLICY")["Policies"]]
    assert names == ["renamed"]


def test_effective_policy_follows_the_inheritance_operators(org):
    server, orgs, created, root_id = org
    ou = orgs.create_organizational_unit(ParentId=root_id, Name="eng")["OrganizationalUnit"]["Id"]
    account = create_account(orgs, "dev", "dev@example.com")
    orgs.move_account(AccountId=account, SourceParentId=root_id, DestinationParentId=ou)
    orgs.enable_policy_type(RootId=root_id, PolicyType="TAG_POLICY")

    with pytest.raises(ClientError) as e:
        orgs.describe_effective_policy(PolicyType="TAG_POLICY", TargetId=account)
    assert code(e) == "EffectivePolicyNotFoundException"

    root_policy = policy(orgs, "root", "TAG_POLICY", {"tags": {
        "costcenter": {
            "tag_key": {"@@assign": "CostCenter", "@@operators_allowed_for_child_policies": ["@@none"]},
            "tag_value": {"@@assign": ["100", "200"]},
        },
        "project": {"tag_key": {"@@assign": "Project"}},
    }})
    ou_policy = policy(orgs, "ou", "TAG_POLICY", {"tags": {
        "costcenter": {
            "tag_key": {"@@assign": "costcenter"},
            "tag_value": {"@@append": ["300"]},
        },
    }})
    # Policy keys compare ignoring case.
    account_policy = policy(orgs, "acct", "TAG_POLICY", {"tags": {
        "CostCenter": {"tag_value": {"@@remove": ["100"]}},
    }})
    orgs.attach_policy(PolicyId=root_policy, TargetId=root_id)
    orgs.attach_policy(PolicyId=ou_policy, TargetId=ou)
    orgs.attach_policy(PolicyId=account_policy, TargetId=account)

    got = orgs.describe_effective_policy(PolicyType="TAG_POLICY", TargetId=account)["EffectivePolicy"]
    assert got["TargetId"] == account and got["PolicyType"] == "TAG_POLICY"
    assert "LastUpdatedTimestamp" in got
    # The OU's @@assign of the locked tag_key is ignored; @@append and @@remove apply in order.
    assert json.loads(got["PolicyContent"]) == {"tags": {
        "costcenter": {
            "tag_key": {"@@assign": "CostCenter"},
            "tag_value": {"@@assign": ["200", "300"]},
        },
        "project": {"tag_key": {"@@assign": "Project"}},
    }}

    # The management account's own effective policy comes from the root alone.
    mine = orgs.describe_effective_policy(PolicyType="TAG_POLICY")["EffectivePolicy"]
    assert mine["TargetId"] == created["MasterAccountId"]
    assert json.loads(mine["PolicyContent"])["tags"]["costcenter"]["tag_value"] == {"@@assign": ["100", "200"]}

    for target, expected in [(ou, "InvalidInputException"), ("111111111111", "TargetNotFoundException")]:
        with pytest.raises(ClientError) as e:
            orgs.describe_effective_policy(PolicyType="TAG_POLICY", TargetId=target)
        assert code(e) == expected
    with pytest.raises(ClientError) as e:
        orgs.describe_effective_policy(PolicyType="SERVICE_CONTROL_POLICY", TargetId=account)
    # Not a value of EffectivePolicyType: refused by the model's enum check, which
    # Organizations answers as InvalidInputException (INVALID_ENUM).
    assert code(e) == "InvalidInputException"
    assert e.value.response["Reason"] == "INVALID_ENUM"
    with pytest.raises(ClientError) as e:
        orgs.describe_effective_policy(PolicyType="BACKUP_POLICY", TargetId=account)
    assert code(e) == "EffectivePolicyNotFoundException"


def test_management_policies_need_all_features(fresh_server):
    orgs = fresh_server.client("organizations")
    orgs.create_organization(FeatureSet="CONSOLIDATED_BILLING")
    root_id = orgs.list_roots()["Roots"][0]["Id"]
    with pytest.raises(ClientError) as e:
        orgs.enable_policy_type(RootId=root_id, PolicyType="TAG_POLICY")
    assert code(e) == "PolicyTypeNotAvailableForOrganizationException"
    with pytest.raises(ClientError) as e:
        orgs.create_policy(Name="t", Description="", Type="TAG_POLICY", Content='{"tags": {}}')
    assert code(e) == "PolicyTypeNotAvailableForOrganizationException"
