"""GuardDuty organization administration end to end with boto3: the management account
delegates an administrator, which makes the organization's accounts members at once, sees a
member's real finding (a Kali Linux user agent) from its own detector, archives it; AWS's
refusals; auto-enable for an account that joins later; removing a member hides its findings."""

import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from orgs import create_account, member_client, member_root

KALI = "PenTest:IAMUser/KaliLinux"
REGION = "us-east-1"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def detector(gd):
    ids = gd.list_detectors()["DetectorIds"]
    return ids[0] if ids else gd.create_detector(Enable=True)["DetectorId"]


def wait_ids(gd, det, criteria, timeout=5.0):
    deadline = time.time() + timeout
    while True:
        ids = gd.list_findings(DetectorId=det, FindingCriteria=criteria)["FindingIds"]
        if ids or time.time() > deadline:
            return ids
        time.sleep(0.1)


def test_delegated_admin_sees_and_archives_member_findings(security_org):
    server, orgs, admin, member = security_org
    mgmt_gd = server.client("guardduty", region=REGION)
    admin_gd = member_client(server, "guardduty", admin)
    member_gd = member_client(server, "guardduty", member)

    # Only the management account delegates, and only to an account of the organization.
    with pytest.raises(ClientError) as e:
        admin_gd.enable_organization_admin_account(AdminAccountId=member)
    assert code(e) == "BadRequestException"
    with pytest.raises(ClientError) as e:
        mgmt_gd.enable_organization_admin_account(AdminAccountId="999999999999")
    assert code(e) == "BadRequestException"
    mgmt_gd.enable_organization_admin_account(AdminAccountId=admin)
    with pytest.raises(ClientError) as e:
        mgmt_gd.enable_organization_admin_account(AdminAccountId=member)
    assert "already enabled as the GuardDuty delegated administrator" in e.value.response["Error"]["Message"]
    assert mgmt_gd.list_organization_admin_accounts()["AdminAccounts"] == [
        {"AdminAccountId": admin, "AdminStatus": "ENABLED"}
    ]
    # As in AWS, Organizations shows it as GuardDuty's delegated administrator.
    delegated = orgs.list_delegated_administrators(ServicePrincipal="guardduty.amazonaws.com")
    assert [d["Id"] for d in delegated["DelegatedAdministrators"]] == [admin]
    # The same administrator in another region; another account in none.
    mgmt_west = server.client("guardduty", region="eu-west-1")
    with pytest.raises(ClientError) as e:
        mgmt_west.enable_organization_admin_account(AdminAccountId=member)
    assert code(e) == "BadRequestException"
    mgmt_west.enable_organization_admin_account(AdminAccountId=admin)

    # The administrator makes the member a member: GuardDuty is turned on in it at once.
    admin_det = detector(admin_gd)
    # Only the organization's administrator adds organization accounts.
    refused = member_gd.create_members(
        DetectorId=detector(member_gd), AccountDetails=[{"AccountId": admin, "Email": "a@example.com"}]
    )
    assert [u["AccountId"] for u in refused["UnprocessedAccounts"]] == [admin]
    with pytest.raises(ClientError) as e:
        member_gd.update_organization_configuration(
            DetectorId=member_gd.list_detectors()["DetectorIds"][0], AutoEnableOrganizationMembers="NEW"
        )
    assert code(e) == "BadRequestException"
    out = admin_gd.create_members(
        DetectorId=admin_det,
        AccountDetails=[
            {"AccountId": member, "Email": "workload@example.com"},
            {"AccountId": admin, "Email": "security@example.com"},
        ],
    )
    assert [u["AccountId"] for u in out["UnprocessedAccounts"]] == [admin]
    listed = admin_gd.list_members(DetectorId=admin_det)["Members"]
    assert [(m["AccountId"], m["RelationshipStatus"]) for m in listed] == [(member, "Enabled")]
    member_det = member_gd.list_detectors()["DetectorIds"][0]
    assert listed[0]["DetectorId"] == member_det
    assert member_gd.get_detector(DetectorId=member_det)["Status"] == "ENABLED"
    got = admin_gd.get_members(DetectorId=admin_det, AccountIds=[member, "111111111111"])
    assert [m["AccountId"] for m in got["Members"]] == [member]
    assert [u["AccountId"] for u in got["UnprocessedAccounts"]] == ["111111111111"]
    configs = admin_gd.get_member_detectors(DetectorId=admin_det, AccountIds=[member])
    assert [c["AccountId"] for c in configs["MemberDataSourceConfigurations"]] == [member]
    assert {f["Name"] for f in configs["MemberDataSourceConfigurations"][0]["Features"]} >= {"CLOUD_TRAIL"}
    administrator = member_gd.get_administrator_account(DetectorId=member_det)["Administrator"]
    assert (administrator["AccountId"], administrator["RelationshipStatus"]) == (admin, "Enabled")

    # A real finding in the member, seen from the administrator's detector.
    key, secret = member_root(server, member)
    kali = server.client(
        "sts", key=key, secret=secret, region=REGION, config=Config(user_agent_extra="Linux/6.6.9-amd64.kali")
    )
    kali.get_caller_identity()
    criteria = {"Criterion": {"type": {"Eq": [KALI]}}}
    ids = wait_ids(admin_gd, admin_det, criteria)
    assert len(ids) == 1
    finding = admin_gd.get_findings(DetectorId=admin_det, FindingIds=ids)["Findings"][0]
    assert finding["AccountId"] == member
    stats = admin_gd.get_findings_statistics(
        DetectorId=admin_det, FindingCriteria=criteria, GroupBy="ACCOUNT"
    )["FindingStatistics"]["GroupedByAccount"]
    assert [(g["AccountId"], g["TotalFindings"]) for g in stats] == [(member, 1)]

    # The member may not archive what its administrator manages; the administrator archives.
    with pytest.raises(ClientError) as e:
        member_gd.archive_findings(DetectorId=member_det, FindingIds=ids)
    assert code(e) == "BadRequestException"
    admin_gd.archive_findings(DetectorId=admin_det, FindingIds=ids)
    mine = member_gd.get_findings(DetectorId=member_det, FindingIds=ids)["Findings"][0]
    assert mine["Service"]["Archived"] is True

    # An organization member cannot leave; the administrator stops, then removes it.
    with pytest.raises(ClientError) as e:
        member_gd.disassociate_from_administrator_account(DetectorId=member_det)
    assert code(e) == "BadRequestException"
    admin_gd.stop_monitoring_members(DetectorId=admin_det, AccountIds=[member])
    assert admin_gd.list_findings(DetectorId=admin_det, FindingCriteria=criteria)["FindingIds"] == []
    admin_gd.start_monitoring_members(DetectorId=admin_det, AccountIds=[member])
    assert admin_gd.list_findings(DetectorId=admin_det, FindingCriteria=criteria)["FindingIds"] == ids
    admin_gd.disassociate_members(DetectorId=admin_det, AccountIds=[member])
    assert admin_gd.list_members(DetectorId=admin_det)["Members"] == []
    removed = admin_gd.list_members(DetectorId=admin_det, OnlyAssociated="false")["Members"]
    assert [m["RelationshipStatus"] for m in removed] == ["Removed"]
    assert admin_gd.get_findings(DetectorId=admin_det, FindingIds=ids)["Findings"] == []
    admin_gd.delete_members(DetectorId=admin_det, AccountIds=[member])
    assert admin_gd.list_members(DetectorId=admin_det, OnlyAssociated="false")["Members"] == []
    assert "Administrator" not in member_gd.get_administrator_account(DetectorId=member_det)

    admin_gd.create_members(DetectorId=admin_det, AccountDetails=[{"AccountId": member, "Email": "w@example.com"}])
    mgmt_gd.disable_organization_admin_account(AdminAccountId=admin)
    assert mgmt_gd.list_organization_admin_accounts()["AdminAccounts"] == []
    assert admin_gd.list_members(DetectorId=admin_det, OnlyAssociated="false")["Members"] == []
    with pytest.raises(ClientError) as e:
        admin_gd.describe_organization_configuration(DetectorId=admin_det)
    assert code(e) == "BadRequestException"


def test_auto_enable_new_accounts(security_org):
    server, orgs, admin, member = security_org
    mgmt_gd = server.client("guardduty", region=REGION)
    admin_gd = member_client(server, "guardduty", admin)
    mgmt_gd.enable_organization_admin_account(AdminAccountId=admin)
    admin_det = detector(admin_gd)
    assert admin_gd.describe_organization_configuration(DetectorId=admin_det)[
        "AutoEnableOrganizationMembers"
    ] == "NONE"
    with pytest.raises(ClientError) as e:
        admin_gd.update_organization_configuration(
            DetectorId=admin_det, AutoEnable=True, AutoEnableOrganizationMembers="NEW"
        )
    assert code(e) == "BadRequestException"
    admin_gd.update_organization_configuration(DetectorId=admin_det, AutoEnableOrganizationMembers="NEW")
    config = admin_gd.describe_organization_configuration(DetectorId=admin_det)
    assert (config["AutoEnable"], config["AutoEnableOrganizationMembers"]) == (True, "NEW")

    # An account that joins now becomes a member with GuardDuty on; the existing one does not.
    late = create_account(orgs, "late", "late@example.com")
    deadline = time.time() + 5
    while time.time() < deadline:
        members = admin_gd.list_members(DetectorId=admin_det)["Members"]
        if members:
            break
        time.sleep(0.1)
    assert [(m["AccountId"], m["RelationshipStatus"]) for m in members] == [(late, "Enabled")]
    late_gd = member_client(server, "guardduty", late)
    late_det = late_gd.list_detectors()["DetectorIds"]
    assert len(late_det) == 1
    assert late_gd.get_detector(DetectorId=late_det[0])["Status"] == "ENABLED"
    assert member_client(server, "guardduty", member).list_detectors()["DetectorIds"] == []

    # ALL takes in the accounts already there (the management account too).
    admin_gd.update_organization_configuration(DetectorId=admin_det, AutoEnableOrganizationMembers="ALL")
    accounts = sorted(m["AccountId"] for m in admin_gd.list_members(DetectorId=admin_det)["Members"])
    mgmt = server.client("sts").get_caller_identity()["Account"]
    assert accounts == sorted([late, member, mgmt])
    assert len(member_client(server, "guardduty", member).list_detectors()["DetectorIds"]) == 1

    # An account removed from the organization leaves the administrator's members.
    orgs.remove_account_from_organization(AccountId=late)
    deadline = time.time() + 5
    while time.time() < deadline:
        statuses = {
            m["AccountId"]: m["RelationshipStatus"]
            for m in admin_gd.list_members(DetectorId=admin_det, OnlyAssociated="false")["Members"]
        }
        if statuses[late] == "Removed":
            break
        time.sleep(0.1)
    assert statuses[late] == "Removed"


def test_invitations_for_an_account_outside_the_organization(security_org):
    server, orgs, admin, member = security_org
    outsider = create_account(orgs, "outsider", "outsider@example.com")
    orgs.remove_account_from_organization(AccountId=outsider)
    admin_gd = member_client(server, "guardduty", admin)
    admin_det = detector(admin_gd)
    out_gd = member_client(server, "guardduty", outsider)
    out_det = detector(out_gd)

    admin_gd.create_members(DetectorId=admin_det, AccountDetails=[{"AccountId": outsider, "Email": "o@example.com"}])
    assert admin_gd.list_members(DetectorId=admin_det)["Members"] == []
    created = admin_gd.list_members(DetectorId=admin_det, OnlyAssociated="false")["Members"]
    assert [m["RelationshipStatus"] for m in created] == ["Created"]
    assert out_gd.get_invitations_count()["InvitationsCount"] == 0
    # Monitoring cannot start what was never accepted.
    started = admin_gd.start_monitoring_members(DetectorId=admin_det, AccountIds=[outsider])
    assert [u["AccountId"] for u in started["UnprocessedAccounts"]] == [outsider]

    assert admin_gd.invite_members(DetectorId=admin_det, AccountIds=[outsider])["UnprocessedAccounts"] == []
    invitations = out_gd.list_invitations()["Invitations"]
    assert [(i["AccountId"], i["RelationshipStatus"]) for i in invitations] == [(admin, "Invited")]
    assert out_gd.get_invitations_count()["InvitationsCount"] == 1
    with pytest.raises(ClientError) as e:
        out_gd.accept_administrator_invitation(DetectorId=out_det, AdministratorId=admin, InvitationId="0" * 32)
    assert code(e) == "BadRequestException"

    # Declined, invited again, accepted: the administrator sees the outsider's findings.
    out_gd.decline_invitations(AccountIds=[admin])
    assert out_gd.get_invitations_count()["InvitationsCount"] == 0
    admin_gd.invite_members(DetectorId=admin_det, AccountIds=[outsider])
    invitation = out_gd.list_invitations()["Invitations"][0]["InvitationId"]
    out_gd.accept_administrator_invitation(DetectorId=out_det, AdministratorId=admin, InvitationId=invitation)
    listed = admin_gd.list_members(DetectorId=admin_det)["Members"]
    assert [(m["AccountId"], m["RelationshipStatus"]) for m in listed] == [(outsider, "Enabled")]
    assert out_gd.get_administrator_account(DetectorId=out_det)["Administrator"]["AccountId"] == admin

    key, secret = member_root(server, outsider)
    kali = server.client(
        "sts", key=key, secret=secret, region=REGION, config=Config(user_agent_extra="Linux/6.6.9-amd64.kali")
    )
    kali.get_caller_identity()
    criteria = {"Criterion": {"type": {"Eq": [KALI]}}}
    ids = wait_ids(admin_gd, admin_det, criteria)
    assert len(ids) == 1

    # An invited member may leave; its findings leave the administrator's view.
    out_gd.disassociate_from_administrator_account(DetectorId=out_det)
    gone = admin_gd.list_members(DetectorId=admin_det, OnlyAssociated="false")["Members"]
    assert [m["RelationshipStatus"] for m in gone] == ["Resigned"]
    assert admin_gd.list_findings(DetectorId=admin_det, FindingCriteria=criteria)["FindingIds"] == []
