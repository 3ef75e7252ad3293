"""Security Hub organization administration end to end with boto3: the management account
delegates an administrator (registered in Organizations, Security Hub turned on in it), which
makes an organization account a member at once and has accounts that join later auto-enabled;
a control failing in a member (IAM.2 on a real IAM user, from AWS Config's records) is seen by
the administrator, which updates its workflow status; AWS's refusals; invitations for an
account outside the organization, whose findings the administrator's automation rules update."""

import datetime
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from test_config import ROLE
from orgs import create_account, member_client

REGION = "us-east-1"
SERVICE = "securityhub.amazonaws.com"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def eventually(read, ok, timeout=15.0):
    deadline = time.time() + timeout
    while True:
        got = read()
        if ok(got) or time.time() > deadline:
            return got
        time.sleep(0.3)


def record_config(server, account):
    """Config recording in `account` (default recorder, global types, a delivery bucket)."""
    cfg = member_client(server, "config", account)
    bucket = f"config-{uuid.uuid4().hex[:12]}"
    member_client(server, "s3", account).create_bucket(Bucket=bucket)
    cfg.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": ROLE,
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )
    cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": bucket})
    cfg.start_configuration_recorder(ConfigurationRecorderName="default")


def by_account(sh, account, **more):
    filters = {"AwsAccountId": [{"Value": account, "Comparison": "EQUALS"}], **more}
    return sh.get_findings(Filters=filters)["Findings"]


def test_delegated_admin_sees_and_updates_member_control_findings(security_org):
    server, orgs, admin, member = security_org
    mgmt_sh = server.client("securityhub", region=REGION)
    admin_sh = member_client(server, "securityhub", admin)
    member_sh = member_client(server, "securityhub", member)

    # Only the management account delegates, and only to an account of the organization.
    with pytest.raises(ClientError) as e:
        admin_sh.enable_organization_admin_account(AdminAccountId=member)
    assert code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        mgmt_sh.enable_organization_admin_account(AdminAccountId="999999999999")
    assert code(e) == "InvalidInputException"
    out = mgmt_sh.enable_organization_admin_account(AdminAccountId=admin)
    assert (out["AdminAccountId"], out["Feature"]) == (admin, "SecurityHub")
    with pytest.raises(ClientError) as e:
        mgmt_sh.enable_organization_admin_account(AdminAccountId=member)
    assert code(e) == "InvalidInputException"
    assert mgmt_sh.list_organization_admin_accounts()["AdminAccounts"] == [{"AccountId": admin, "Status": "ENABLED"}]
    delegated = orgs.list_delegated_administrators(ServicePrincipal=SERVICE)["DelegatedAdministrators"]
    assert [d["Id"] for d in delegated] == [admin]
    # Security Hub is on in the administrator.
    assert admin_sh.describe_hub()["HubArn"].endswith(f":{admin}:hub/default")

    # Organization configuration: the administrator's, LOCAL only.
    with pytest.raises(ClientError) as e:
        member_sh.describe_organization_configuration()
    assert code(e) == "InvalidAccessException"  # no hub in the member yet
    config = admin_sh.describe_organization_configuration()
    assert (config["AutoEnable"], config["AutoEnableStandards"]) == (False, "DEFAULT")
    assert config["OrganizationConfiguration"]["ConfigurationType"] == "LOCAL"
    with pytest.raises(ClientError) as e:
        admin_sh.update_organization_configuration(
            AutoEnable=True, OrganizationConfiguration={"ConfigurationType": "CENTRAL"}
        )
    assert code(e) == "InvalidInputException"
    admin_sh.update_organization_configuration(AutoEnable=True, AutoEnableStandards="DEFAULT")
    assert admin_sh.describe_organization_configuration()["AutoEnable"] is True

    # The existing account is added by CreateMembers: Security Hub is turned on in it at once.
    out = admin_sh.create_members(
        AccountDetails=[{"AccountId": member, "Email": "workload@example.com"}, {"AccountId": admin}]
    )
    assert [u["AccountId"] for u in out["UnprocessedAccounts"]] == [admin]
    listed = admin_sh.list_members()["Members"]
    assert [(m["AccountId"], m["MemberStatus"], m["AdministratorId"]) for m in listed] == [(member, "ENABLED", admin)]
    assert member_sh.describe_hub()["HubArn"].endswith(f":{member}:hub/default")
    enabled = member_sh.get_enabled_standards()["StandardsSubscriptions"]
    assert any("aws-foundational-security-best-practices" in s["StandardsArn"] for s in enabled)
    got = admin_sh.get_members(AccountIds=[member, "111111111111"])
    assert [m["AccountId"] for m in got["Members"]] == [member]
    assert [u["AccountId"] for u in got["UnprocessedAccounts"]] == ["111111111111"]
    administrator = member_sh.get_administrator_account()["Administrator"]
    assert (administrator["AccountId"], administrator["MemberStatus"]) == (admin, "ENABLED")
    assert member_sh.get_master_account()["Master"]["AccountId"] == admin
    with pytest.raises(ClientError) as e:
        member_sh.describe_organization_configuration()
    assert code(e) == "AccessDeniedException"

    # An account that joins now is auto-enabled.
    late = create_account(orgs, "late", "late@example.com")
    members = eventually(lambda: admin_sh.list_members()["Members"], lambda ms: len(ms) == 2)
    assert sorted((m["AccountId"], m["MemberStatus"]) for m in members) == sorted(
        [(member, "ENABLED"), (late, "ENABLED")]
    )
    assert member_client(server, "securityhub", late).describe_hub()["HubArn"]

    # A control failing in the member (IAM.2: a user with an inline policy), seen by the
    # administrator, which updates its workflow.
    record_config(server, member)
    iam = member_client(server, "iam", member)
    user = f"sh-org-{uuid.uuid4().hex[:8]}"
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.put_user_policy(
        UserName=user,
        PolicyName="inline",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}',
    )
    iam2 = {
        "ComplianceSecurityControlId": [{"Value": "IAM.2", "Comparison": "EQUALS"}],
        "ResourceId": [{"Value": arn, "Comparison": "EQUALS"}],
        "ComplianceStatus": [{"Value": "FAILED", "Comparison": "EQUALS"}],
    }
    seen = eventually(lambda: by_account(admin_sh, member, **iam2), lambda fs: len(fs) == 1)
    assert len(seen) == 1, "the administrator does not see the member's IAM.2 finding"
    finding = seen[0]
    assert finding["AwsAccountId"] == member
    mgmt_sh.enable_security_hub(EnableDefaultStandards=False)
    assert by_account(mgmt_sh, member) == []  # the management account is not the administrator
    ident = {"Id": finding["Id"], "ProductArn": finding["ProductArn"]}
    out = admin_sh.batch_update_findings(FindingIdentifiers=[ident], Workflow={"Status": "NOTIFIED"})
    assert out["UnprocessedFindings"] == []
    mine = member_sh.get_findings(Filters={"Id": [{"Value": finding["Id"], "Comparison": "EQUALS"}]})["Findings"]
    assert mine[0]["Workflow"]["Status"] == "NOTIFIED"
    # The member still updates its own findings.
    member_sh.batch_update_findings(FindingIdentifiers=[ident], Note={"Text": "mine", "UpdatedBy": "member"})
    assert by_account(admin_sh, member, **iam2)[0]["Note"]["Text"] == "mine"

    # Automation rules are the administrator's; an organization member cannot leave.
    with pytest.raises(ClientError) as e:
        member_sh.create_automation_rule(
            RuleName="r", RuleOrder=1, Description="d", Criteria={},
            Actions=[{"Type": "FINDING_FIELDS_UPDATE", "FindingFieldsUpdate": {"Note": {"Text": "x", "UpdatedBy": "y"}}}],
        )
    assert code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        member_sh.disassociate_from_administrator_account()
    assert code(e) == "InvalidInputException"

    # Disassociated, the member's findings leave the administrator's view.
    admin_sh.disassociate_members(AccountIds=[member])
    assert [m["AccountId"] for m in admin_sh.list_members()["Members"]] == [late]
    removed = admin_sh.list_members(OnlyAssociated=False)["Members"]
    assert {m["AccountId"]: m["MemberStatus"] for m in removed}[member] == "REMOVED"
    assert by_account(admin_sh, member) == []
    assert admin_sh.batch_update_findings(FindingIdentifiers=[ident], Workflow={"Status": "RESOLVED"})[
        "UnprocessedFindings"
    ][0]["ErrorCode"] == "FindingNotFound"

    mgmt_sh.disable_organization_admin_account(AdminAccountId=admin)
    assert mgmt_sh.list_organization_admin_accounts()["AdminAccounts"] == []
    assert admin_sh.list_members(OnlyAssociated=False)["Members"] == []
    with pytest.raises(ClientError) as e:
        admin_sh.describe_organization_configuration()
    assert code(e) == "AccessDeniedException"


def asff(account, fid, title):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "SchemaVersion": "2018-10-08",
        "Id": fid,
        "ProductArn": f"arn:aws:securityhub:{REGION}:{account}:product/{account}/default",
        "GeneratorId": "scanner/rule-7",
        "AwsAccountId": account,
        "Types": ["Software and Configuration Checks/Vulnerabilities/CVE"],
        "CreatedAt": now,
        "UpdatedAt": now,
        "Severity": {"Label": "LOW"},
        "Title": title,
        "Description": "d",
        "Resources": [{"Type": "Other", "Id": "thing"}],
    }


def test_invitations_for_an_account_outside_the_organization(security_org):
    server, orgs, admin, _ = security_org
    outsider = create_account(orgs, "outsider", "outsider@example.com")
    orgs.remove_account_from_organization(AccountId=outsider)
    admin_sh = member_client(server, "securityhub", admin)
    admin_sh.enable_security_hub(EnableDefaultStandards=False)
    out_sh = member_client(server, "securityhub", outsider)
    out_sh.enable_security_hub(EnableDefaultStandards=False)

    admin_sh.create_members(AccountDetails=[{"AccountId": outsider, "Email": "o@example.com"}])
    assert admin_sh.list_members()["Members"] == []
    created = admin_sh.list_members(OnlyAssociated=False)["Members"]
    assert [(m["AccountId"], m["MemberStatus"]) for m in created] == [(outsider, "CREATED")]
    assert out_sh.get_invitations_count()["InvitationsCount"] == 0

    assert admin_sh.invite_members(AccountIds=[outsider])["UnprocessedAccounts"] == []
    invitations = out_sh.list_invitations()["Invitations"]
    assert [(i["AccountId"], i["MemberStatus"]) for i in invitations] == [(admin, "INVITED")]
    assert out_sh.get_invitations_count()["InvitationsCount"] == 1
    with pytest.raises(ClientError) as e:
        out_sh.accept_administrator_invitation(AdministratorId=admin, InvitationId="0" * 32)
    assert code(e) == "ResourceNotFoundException"

    # Declined, invited again, accepted (with the older AcceptInvitation).
    assert out_sh.decline_invitations(AccountIds=[admin])["UnprocessedAccounts"] == []
    assert out_sh.get_invitations_count()["InvitationsCount"] == 0
    admin_sh.invite_members(AccountIds=[outsider])
    invitation = out_sh.list_invitations()["Invitations"][0]["InvitationId"]
    out_sh.accept_invitation(MasterId=admin, InvitationId=invitation)
    listed = admin_sh.list_members()["Members"]
    assert [(m["AccountId"], m["MemberStatus"]) for m in listed] == [(outsider, "ENABLED")]
    assert out_sh.get_administrator_account()["Administrator"]["InvitationId"] == invitation

    # The administrator's automation rule runs on the member's findings as they are imported.
    admin_sh.create_automation_rule(
        RuleName="triage", RuleOrder=1, Description="d", RuleStatus="ENABLED",
        Criteria={"Title": [{"Value": "outsider", "Comparison": "PREFIX"}]},
        Actions=[{"Type": "FINDING_FIELDS_UPDATE", "FindingFieldsUpdate": {"Workflow": {"Status": "SUPPRESSED"}}}],
    )
    out = out_sh.batch_import_findings(Findings=[asff(outsider, "f-1", "outsider scan")])
    assert out["FailedCount"] == 0
    seen = by_account(admin_sh, outsider)
    assert [(f["Id"], f["Workflow"]["Status"]) for f in seen] == [("f-1", "SUPPRESSED")]
    # Insights' results count the member's findings too.
    insight = admin_sh.create_insight(
        Name="by account", Filters={"Title": [{"Value": "outsider", "Comparison": "PREFIX"}]},
        GroupByAttribute="AwsAccountId",
    )["InsightArn"]
    results = admin_sh.get_insight_results(InsightArn=insight)["InsightResults"]["ResultValues"]
    assert results == [{"GroupByAttributeValue": outsider, "Count": 1}]

    # An invited member may leave; its findings leave the administrator's view.
    out_sh.disassociate_from_administrator_account()
    gone = admin_sh.list_members(OnlyAssociated=False)["Members"]
    assert [m["MemberStatus"] for m in gone] == ["RESIGNED"]
    assert by_account(admin_sh, outsider) == []
    with pytest.raises(ClientError) as e:
        out_sh.disassociate_from_administrator_account()
    assert code(e) == "ResourceNotFoundException"
    admin_sh.delete_members(AccountIds=[outsider])
    assert admin_sh.list_members(OnlyAssociated=False)["Members"] == []
