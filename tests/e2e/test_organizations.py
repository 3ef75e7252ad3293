"""AWS Organizations end to end with boto3 and the aws CLI: the organization, nested OUs,
asynchronous account creation, SCPs on OUs (member root users included, management account
exempt), FullAWSAccess detached, invitations, tags, delegated administrators, and AWS's
errors for bad input."""

import json
import subprocess

import pytest
from botocore.exceptions import ClientError

from orgs import create_account, member_root

from conftest import BIN

DENY_IAM = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}
)
ALLOW_STS = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:*", "Resource": "*"}]}
)


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture
def org(fresh_server):
    orgs = fresh_server.client("organizations")
    created = orgs.create_organization(FeatureSet="ALL")["Organization"]
    root_id = orgs.list_roots()["Roots"][0]["Id"]
    return fresh_server, orgs, created, root_id


def test_organization_shapes_and_errors(org):
    server, orgs, created, root_id = org
    assert created["Id"].startswith("o-")
    assert created["FeatureSet"] == "ALL"
    assert created["MasterAccountArn"].endswith("/" + created["MasterAccountId"])
    with pytest.raises(ClientError) as e:
        orgs.create_organization()
    assert code(e) == "AlreadyInOrganizationException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    root = orgs.list_roots()["Roots"][0]
    assert root["Name"] == "Root"
    assert {"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"} in root["PolicyTypes"]

    with pytest.raises(ClientError) as e:
        orgs.create_organizational_unit(ParentId="ou-zzzz-zzzzzzzz", Name="x")
    assert code(e) == "ParentNotFoundException"
    with pytest.raises(ClientError) as e:
        orgs.describe_policy(PolicyId="p-zzzzzzzz")
    assert code(e) == "PolicyNotFoundException"
    with pytest.raises(ClientError) as e:
        orgs.create_policy(
            Name="bad", Description="", Type="SERVICE_CONTROL_POLICY", Content="{not json"
        )
    assert code(e) == "MalformedPolicyDocumentException"
    with pytest.raises(ClientError) as e:
        orgs.create_policy(
            Name="big",
            Description="",
            Type="SERVICE_CONTROL_POLICY",
            Content=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Deny", "Action": f"iam:Op{i}", "Resource": "*"}
                        for i in range(200)
                    ],
                }
            ),
        )
    assert code(e) == "ConstraintViolationException"
    # Nothing was created by the refused calls.
    names = [p["Name"] for p in orgs.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]]
    assert names == ["FullAWSAccess"]

    ou = orgs.create_organizational_unit(ParentId=root_id, Name="team")["OrganizationalUnit"]
    assert ou["Arn"] == f"arn:aws:organizations::{created['MasterAccountId']}:ou/{created['Id']}/{ou['Id']}"
    renamed = orgs.update_organizational_unit(OrganizationalUnitId=ou["Id"], Name="squad")
    assert renamed["OrganizationalUnit"]["Name"] == "squad"
    assert [u["Name"] for u in orgs.list_organizational_units_for_parent(ParentId=root_id)["OrganizationalUnits"]] == ["squad"]


def test_scp_on_ou_binds_member_root_and_moves_take_effect(org):
    server, orgs, created, root_id = org
    ou = orgs.create_organizational_unit(ParentId=root_id, Name="locked")["OrganizationalUnit"]["Id"]
    account = create_account(orgs, "locked", "locked@example.com")
    key, secret = member_root(server, account)
    member_iam = server.client("iam", key=key, secret=secret)
    member_iam.list_users()

    policy = orgs.create_policy(
        Name="DenyIAM", Description="no IAM", Type="SERVICE_CONTROL_POLICY", Content=DENY_IAM
    )["Policy"]["PolicySummary"]
    assert policy["Arn"].endswith(f"/service_control_policy/{policy['Id']}")
    orgs.attach_policy(PolicyId=policy["Id"], TargetId=ou)
    orgs.move_account(AccountId=account, SourceParentId=root_id, DestinationParentId=ou)
    with pytest.raises(ClientError) as e:
        member_iam.list_users()
    assert code(e) == "AccessDenied"
    assert "explicit deny in a service control policy" in e.value.response["Error"]["Message"]
    server.client("iam").list_users()  # the management account is exempt

    with pytest.raises(ClientError) as e:
        orgs.move_account(AccountId=account, SourceParentId=root_id, DestinationParentId=ou)
    assert code(e) == "SourceParentNotFoundException"
    orgs.move_account(AccountId=account, SourceParentId=ou, DestinationParentId=root_id)
    member_iam.list_users()

    # An allow-list instead of FullAWSAccess: only STS remains.
    allow = orgs.create_policy(
        Name="OnlySTS", Description="", Type="SERVICE_CONTROL_POLICY", Content=ALLOW_STS
    )["Policy"]["PolicySummary"]["Id"]
    orgs.attach_policy(PolicyId=allow, TargetId=account)
    orgs.detach_policy(PolicyId="p-FullAWSAccess", TargetId=account)
    with pytest.raises(ClientError) as e:
        member_iam.list_users()
    assert code(e) == "AccessDenied"
    server.client("sts", key=key, secret=secret).get_caller_identity()
    with pytest.raises(ClientError) as e:
        orgs.detach_policy(PolicyId=allow, TargetId=account)
    assert code(e) == "ConstraintViolationException"

    for i in range(4):
        pid = orgs.create_policy(
            Name=f"extra{i}", Description="", Type="SERVICE_CONTROL_POLICY", Content=ALLOW_STS
        )["Policy"]["PolicySummary"]["Id"]
        orgs.attach_policy(PolicyId=pid, TargetId=account)
    sixth = orgs.create_policy(
        Name="sixth", Description="", Type="SERVICE_CONTROL_POLICY", Content=ALLOW_STS
    )["Policy"]["PolicySummary"]["Id"]
    with pytest.raises(ClientError) as e:
        orgs.attach_policy(PolicyId=sixth, TargetId=account)
    assert code(e) == "ConstraintViolationException"
    # AWS's Reason member, which botocore lifts to the top of the parsed error.
    assert e.value.response["Reason"] == "POLICY_NUMBER_LIMIT_EXCEEDED"
    assert "Reason" not in e.value.response["Error"]["Message"]


def test_invitation_handshakes(org):
    server, orgs, created, root_id = org
    account = create_account(orgs, "wanderer", "wanderer@example.com")
    orgs.remove_account_from_organization(AccountId=account)
    key, secret = member_root(server, account)
    member_orgs = server.client("organizations", key=key, secret=secret)
    with pytest.raises(ClientError) as e:
        member_orgs.describe_organization()
    assert code(e) == "AWSOrganizationsNotInUseException"

    first = orgs.invite_account_to_organization(
        Target={"Id": account, "Type": "ACCOUNT"}, Notes="come back"
    )["Handshake"]
    assert first["State"] == "OPEN" and first["Id"].startswith("h-")
    with pytest.raises(ClientError) as e:
        orgs.invite_account_to_organization(Target={"Id": account, "Type": "ACCOUNT"})
    assert code(e) == "DuplicateHandshakeException"
    assert orgs.cancel_handshake(HandshakeId=first["Id"])["Handshake"]["State"] == "CANCELED"
    with pytest.raises(ClientError) as e:
        member_orgs.accept_handshake(HandshakeId=first["Id"])
    assert code(e) == "InvalidHandshakeTransitionException"

    second = orgs.invite_account_to_organization(
        Target={"Id": "wanderer@example.com", "Type": "EMAIL"}
    )["Handshake"]
    listed = member_orgs.list_handshakes_for_account()["Handshakes"]
    assert {h["Id"] for h in listed} == {first["Id"], second["Id"]}
    accepted = member_orgs.accept_handshake(HandshakeId=second["Id"])["Handshake"]
    assert accepted["State"] == "ACCEPTED"
    assert member_orgs.describe_organization()["Organization"]["Id"] == created["Id"]
    described = orgs.describe_account(AccountId=account)["Account"]
    assert described["JoinedMethod"] == "INVITED"
    with pytest.raises(ClientError) as e:
        orgs.remove_account_from_organization(AccountId=created["MasterAccountId"])
    assert code(e) == "MasterCannotLeaveOrganizationException"
    member_orgs.leave_organization()
    with pytest.raises(ClientError) as e:
        orgs.describe_account(AccountId=account)
    assert code(e) == "AccountNotFoundException"


def test_tags_delegated_admins_and_tag_policies(org):
    server, orgs, created, root_id = org
    account = create_account(orgs, "sec", "sec@example.com")
    orgs.tag_resource(ResourceId=account, Tags=[{"Key": "team", "Value": "security"}])
    assert orgs.list_tags_for_resource(ResourceId=account)["Tags"] == [
        {"Key": "team", "Value": "security"}
    ]
    orgs.untag_resource(ResourceId=account, TagKeys=["team"])
    assert orgs.list_tags_for_resource(ResourceId=account)["Tags"] == []

    orgs.register_delegated_administrator(
        AccountId=account, ServicePrincipal="securityhub.amazonaws.com"
    )
    with pytest.raises(ClientError) as e:
        orgs.register_delegated_administrator(
            AccountId=account, ServicePrincipal="securityhub.amazonaws.com"
        )
    assert code(e) == "AccountAlreadyRegisteredException"
    admins = orgs.list_delegated_administrators()["DelegatedAdministrators"]
    assert [a["Id"] for a in admins] == [account]
    key, secret = member_root(server, account)
    delegated = server.client("organizations", key=key, secret=secret)
    # A delegated administrator reads the organization but does not change it.
    assert len(delegated.list_accounts()["Accounts"]) == 2
    with pytest.raises(ClientError) as e:
        delegated.create_organizational_unit(ParentId=root_id, Name="nope")
    assert code(e) == "AccessDeniedException"
    orgs.deregister_delegated_administrator(
        AccountId=account, ServicePrincipal="securityhub.amazonaws.com"
    )
    with pytest.raises(ClientError) as e:
        delegated.list_accounts()
    assert code(e) == "AccessDeniedException"

    tag_policy = orgs.create_policy(
        Name="cost", Description="", Type="TAG_POLICY",
        Content=json.dumps({"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"}}}}),
    )["Policy"]["PolicySummary"]["Id"]
    # A type must be enabled on the root before its policies are attached.
    with pytest.raises(ClientError) as e:
        orgs.attach_policy(PolicyId=tag_policy, TargetId=root_id)
    assert code(e) == "PolicyTypeNotEnabledException"
    orgs.enable_policy_type(RootId=root_id, PolicyType="TAG_POLICY")
    orgs.attach_policy(PolicyId=tag_policy, TargetId=root_id)
    effective = orgs.describe_effective_policy(PolicyType="TAG_POLICY", TargetId=account)
    content = json.loads(effective["EffectivePolicy"]["PolicyContent"])
    assert content["tags"]["costcenter"]["tag_key"]["@@assign"] == "CostCenter"


def test_cli_lists_accounts_and_close_account(org):
    server, orgs, created, root_id = org
    account = create_account(orgs, "closing", "closing@example.com")
    out = json.loads(server.cli("organizations", "list-accounts").stdout)
    assert {a["Id"] for a in out["Accounts"]} == {account, created["MasterAccountId"]}
    key, secret = member_root(server, account)
    server.client("sts", key=key, secret=secret).get_caller_identity()
    orgs.close_account(AccountId=account)
    assert orgs.describe_account(AccountId=account)["Account"]["Status"] == "PENDING_CLOSURE"
    with pytest.raises(ClientError) as e:
        orgs.close_account(AccountId=account)
    assert code(e) == "AccountAlreadyClosedException"
    with pytest.raises(ClientError) as e:
        server.client("iam", key=key, secret=secret).list_users()
    assert code(e) == "AccessDenied"


def test_iam_policies_scope_organizations_by_resource_and_policy_type(org):
    server, orgs, created, root_id = org
    first = create_account(orgs, "first", "first@example.com")
    second = create_account(orgs, "second", "second@example.com")
    mgmt, org_id = created["MasterAccountId"], created["Id"]
    iam = server.client("iam")
    iam.create_user(UserName="auditor")
    iam.put_user_policy(
        UserName="auditor",
        PolicyName="scoped",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "organizations:DescribeAccount",
                        "Resource": f"arn:aws:organizations::{mgmt}:account/{org_id}/{first}",
                    },
                    {
                        "Effect": "Allow",
                        "Action": "organizations:CreatePolicy",
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {"organizations:PolicyType": "TAG_POLICY"}
                        },
                    },
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    auditor = server.client(
        "organizations", key=key["AccessKeyId"], secret=key["SecretAccessKey"]
    )
    assert auditor.describe_account(AccountId=first)["Account"]["Id"] == first
    with pytest.raises(ClientError) as e:
        auditor.describe_account(AccountId=second)
    assert code(e) == "AccessDeniedException"
    assert f"account/{org_id}/{second}" in e.value.response["Error"]["Message"]
    auditor.create_policy(Name="t", Description="", Type="TAG_POLICY", Content='{"tags":{}}')
    with pytest.raises(ClientError) as e:
        auditor.create_policy(
            Name="s", Description="", Type="SERVICE_CONTROL_POLICY", Content=ALLOW_STS
        )
    assert code(e) == "AccessDeniedException"


def test_billing_report_table(org):
    server, orgs, created, root_id = org
    account = create_account(orgs, "billed", "billed@example.com")
    server.stop()  # flushes the request meter
    out = subprocess.run(
        [BIN, "billing", "report", "--data-dir", server.data_dir],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith("Consolidated bill for ")
    assert "organizations" in out
    assert created["MasterAccountId"] in out
    assert out.splitlines()[-1].split()[0] == "all"


def test_trusted_service_access(org):
    server, orgs, created, root_id = org
    assert orgs.list_aws_service_access_for_organization()["EnabledServicePrincipals"] == []
    orgs.enable_aws_service_access(ServicePrincipal="securityhub.amazonaws.com")
    orgs.enable_aws_service_access(ServicePrincipal="securityhub.amazonaws.com")
    listed = orgs.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert [s["ServicePrincipal"] for s in listed] == ["securityhub.amazonaws.com"]
    orgs.disable_aws_service_access(ServicePrincipal="securityhub.amazonaws.com")
    assert orgs.list_aws_service_access_for_organization()["EnabledServicePrincipals"] == []


def test_org_and_account_condition_keys(org):
    server, orgs, created, root_id = org
    org_id = created["Id"]
    ou = orgs.create_organizational_unit(ParentId=root_id, Name="paths")["OrganizationalUnit"]["Id"]
    account = create_account(orgs, "paths", "paths@example.com")
    orgs.move_account(AccountId=account, SourceParentId=root_id, DestinationParentId=ou)
    key, secret = member_root(server, account)
    member_iam = server.client("iam", key=key, secret=secret)
    member_iam.create_user(UserName="pathy")
    member_iam.put_user_policy(
        UserName="pathy",
        PolicyName="p",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "iam:ListUsers",
                        "Resource": "*",
                        "Condition": {
                            "ForAnyValue:StringLike": {
                                "aws:PrincipalOrgPaths": f"{org_id}/{root_id}/{ou}/*"
                            },
                            "StringEquals": {"aws:ResourceAccount": account},
                        },
                    },
                    {
                        "Effect": "Allow",
                        "Action": "iam:ListRoles",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:ResourceAccount": "999999999999"}},
                    },
                ],
            }
        ),
    )
    k = member_iam.create_access_key(UserName="pathy")["AccessKey"]
    pathy = server.client("iam", key=k["AccessKeyId"], secret=k["SecretAccessKey"])
    pathy.list_users()
    with pytest.raises(ClientError) as e:
        pathy.list_roles()
    assert code(e) == "AccessDenied"
    # Out of the OU, the path no longer matches: denied on the next request.
    orgs.move_account(AccountId=account, SourceParentId=ou, DestinationParentId=root_id)
    with pytest.raises(ClientError) as e:
        pathy.list_users()
    assert code(e) == "AccessDenied"
