"""Organizations' delegation policy (PutResourcePolicy, DescribeResourcePolicy,
DeleteResourcePolicy) with boto3: management account only, AWS's grammar, and enforced: a
member account the policy names may call the Describe/List operations it grants, and loses
them when the policy goes. The effective-policy validation lists answer AWS's shape (empty:
Rampart knows no service's policy schema)."""

import json

import pytest
from botocore.exceptions import ClientError

from orgs import create_account, member_root
from test_organizations import code, org  # noqa: F401 (fixture)


def _policy(member, actions, resource="*"):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Delegate",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{member}:root"},
                    "Action": actions,
                    "Resource": resource,
                }
            ],
        }
    )


def test_resource_policy_crud_and_grammar(org):
    server, orgs, created, root_id = org
    with pytest.raises(ClientError) as e:
        orgs.describe_resource_policy()
    assert code(e) == "ResourcePolicyNotFoundException"
    with pytest.raises(ClientError) as e:
        orgs.delete_resource_policy()
    assert code(e) == "ResourcePolicyNotFoundException"

    for content, reason in [
        ("not json", "INVALID_RESOURCE_POLICY_JSON"),
        (_policy("111122223333", "s3:GetObject"), "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY"),
        (
            _policy("111122223333", "organizations:ListRoots", "arn:aws:s3:::bucket"),
            "UNSUPPORTED_RESOURCE_IN_RESOURCE_POLICY",
        ),
    ]:
        with pytest.raises(ClientError) as e:
            orgs.put_resource_policy(Content=content)
        assert code(e) == "InvalidInputException", content
        assert e.value.response["Reason"] == reason

    first = orgs.put_resource_policy(Content=_policy("111122223333", "organizations:List*"))[
        "ResourcePolicy"
    ]
    summary = first["ResourcePolicySummary"]
    assert summary["Id"].startswith("rp-")
    assert summary["Arn"] == (
        f"arn:aws:organizations::{created['MasterAccountId']}:resourcepolicy/{created['Id']}/{summary['Id']}"
    )
    second = orgs.put_resource_policy(Content=_policy("111122223333", "organizations:Describe*"))[
        "ResourcePolicy"
    ]
    assert second["ResourcePolicySummary"] == summary
    got = orgs.describe_resource_policy()["ResourcePolicy"]
    assert json.loads(got["Content"])["Statement"][0]["Action"] == "organizations:Describe*"
    orgs.delete_resource_policy()
    with pytest.raises(ClientError) as e:
        orgs.describe_resource_policy()
    assert code(e) == "ResourcePolicyNotFoundException"


def test_delegation_policy_is_enforced_for_members(org):
    server, orgs, created, root_id = org
    member = create_account(orgs, "delegate", "delegate@example.com")
    other = create_account(orgs, "other", "other@example.com")
    key, secret = member_root(server, member)
    m_orgs = server.client("organizations", key=key, secret=secret)
    okey, osecret = member_root(server, other)
    o_orgs = server.client("organizations", key=okey, secret=osecret)
    ou = orgs.create_organizational_unit(ParentId=root_id, Name="Team")["OrganizationalUnit"]

    # Without a delegation policy a member may not read the organization's structure.
    with pytest.raises(ClientError) as e:
        m_orgs.describe_organizational_unit(OrganizationalUnitId=ou["Id"])
    assert code(e) == "AccessDeniedException"
    # Only the management account puts the policy.
    with pytest.raises(ClientError) as e:
        m_orgs.put_resource_policy(Content=_policy(member, "organizations:*"))
    assert code(e) == "AccessDeniedException"

    orgs.put_resource_policy(
        Content=_policy(
            member,
            ["organizations:DescribeOrganizationalUnit", "organizations:ListRoots"],
        )
    )
    assert m_orgs.describe_organizational_unit(OrganizationalUnitId=ou["Id"])[
        "OrganizationalUnit"
    ]["Name"] == "Team"
    assert m_orgs.list_roots()["Roots"][0]["Id"] == root_id
    # Not granted: another action, and another member account.
    with pytest.raises(ClientError) as e:
        m_orgs.list_accounts()
    assert code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        o_orgs.describe_organizational_unit(OrganizationalUnitId=ou["Id"])
    assert code(e) == "AccessDeniedException"
    # Describing the policy is the management account's (and delegated administrators').
    with pytest.raises(ClientError) as e:
        m_orgs.delete_resource_policy()
    assert code(e) == "AccessDeniedException"

    orgs.delete_resource_policy()
    with pytest.raises(ClientError) as e:
        m_orgs.describe_organizational_unit(OrganizationalUnitId=ou["Id"])
    assert code(e) == "AccessDeniedException"


def test_effective_policy_validation_lists(org):
    server, orgs, created, root_id = org
    member = create_account(orgs, "m", "m@example.com")
    out = orgs.list_accounts_with_invalid_effective_policy(PolicyType="TAG_POLICY")
    assert out["Accounts"] == [] and out["PolicyType"] == "TAG_POLICY"
    out = orgs.list_effective_policy_validation_errors(AccountId=member, PolicyType="BACKUP_POLICY")
    assert out["EffectivePolicyValidationErrors"] == []
    assert out["AccountId"] == member
    assert out["Path"] == f"{created['Id']}/{root_id}/{member}/"
    assert "EvaluationTimestamp" in out
    with pytest.raises(ClientError) as e:
        orgs.list_effective_policy_validation_errors(AccountId="999988887777", PolicyType="TAG_POLICY")
    assert code(e) == "AccountNotFoundException"
    with pytest.raises(ClientError) as e:
        orgs.list_accounts_with_invalid_effective_policy(PolicyType="SERVICE_CONTROL_POLICY")
    # The model's EffectivePolicyType has no SCPs: refused as Organizations refuses a value
    # outside an enum.
    assert code(e) == "InvalidInputException"
    assert e.value.response.get("Reason") == "INVALID_ENUM"
