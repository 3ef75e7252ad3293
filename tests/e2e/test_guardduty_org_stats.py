"""GuardDuty's delegated administrator managing its members' protection plans
(`UpdateMemberDetectors`) and reading the organization's statistics
(`GetOrganizationStatistics`), end to end with boto3; AWS's refusals."""

import datetime

import pytest
from botocore.exceptions import ClientError

from orgs import create_account, member_client, member_root
from test_guardduty_org import REGION, code, detector


def features(gd, det):
    return {f["Name"]: f["Status"] for f in gd.get_detector(DetectorId=det)["Features"]}


def by_feature(stats):
    return {f["Name"]: f["EnabledAccountsCount"] for f in stats["CountByFeature"]}


@pytest.fixture
def admin_org(fresh_server):
    """An organization (management, a security administrator, two workloads) with the
    administrator delegated and both workloads enabled members."""
    server = fresh_server
    orgs = server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    admin = create_account(orgs, "security", "security@example.com")
    one = create_account(orgs, "one", "one@example.com")
    two = create_account(orgs, "two", "two@example.com")
    server.client("guardduty", region=REGION).enable_organization_admin_account(AdminAccountId=admin)
    admin_gd = member_client(server, "guardduty", admin)
    admin_det = detector(admin_gd)
    out = admin_gd.create_members(
        DetectorId=admin_det,
        AccountDetails=[{"AccountId": a, "Email": f"{a}@example.com"} for a in (one, two)],
    )
    assert out["UnprocessedAccounts"] == []
    return server, orgs, admin, admin_gd, admin_det, one, two


def test_update_member_detectors(admin_org):
    server, orgs, admin, admin_gd, admin_det, one, two = admin_org
    one_gd, two_gd = member_client(server, "guardduty", one), member_client(server, "guardduty", two)
    one_det, two_det = detector(one_gd), detector(two_gd)
    assert features(one_gd, one_det)["RDS_LOGIN_EVENTS"] == "ENABLED"
    assert features(one_gd, one_det)["RUNTIME_MONITORING"] == "DISABLED"

    # Features, with an account that is not a member unprocessed and the others changed.
    out = admin_gd.update_member_detectors(
        DetectorId=admin_det,
        AccountIds=[one, two, "999999999999"],
        Features=[
            {"Name": "RDS_LOGIN_EVENTS", "Status": "DISABLED"},
            {
                "Name": "RUNTIME_MONITORING",
                "Status": "ENABLED",
                "AdditionalConfiguration": [{"Name": "EKS_ADDON_MANAGEMENT", "Status": "ENABLED"}],
            },
        ],
    )
    assert [u["AccountId"] for u in out["UnprocessedAccounts"]] == ["999999999999"]
    assert out["UnprocessedAccounts"][0]["Result"]
    for gd, det in ((one_gd, one_det), (two_gd, two_det)):
        now = features(gd, det)
        assert (now["RDS_LOGIN_EVENTS"], now["RUNTIME_MONITORING"]) == ("DISABLED", "ENABLED")
    runtime = [f for f in one_gd.get_detector(DetectorId=one_det)["Features"] if f["Name"] == "RUNTIME_MONITORING"]
    assert runtime[0]["AdditionalConfiguration"][0]["Name"] == "EKS_ADDON_MANAGEMENT"
    assert runtime[0]["AdditionalConfiguration"][0]["Status"] == "ENABLED"
    # The administrator's own detector is not a member's.
    assert features(admin_gd, admin_det)["RDS_LOGIN_EVENTS"] == "ENABLED"

    # The older DataSources, read back through GetMemberDetectors and GetDetector.
    admin_gd.update_member_detectors(
        DetectorId=admin_det, AccountIds=[one], DataSources={"S3Logs": {"Enable": False}}
    )
    configs = admin_gd.get_member_detectors(DetectorId=admin_det, AccountIds=[one, two])
    seen = {c["AccountId"]: c for c in configs["MemberDataSourceConfigurations"]}
    assert seen[one]["DataSources"]["S3Logs"]["Status"] == "DISABLED"
    assert seen[two]["DataSources"]["S3Logs"]["Status"] == "ENABLED"
    assert {f["Name"]: f["Status"] for f in seen[one]["Features"]}["S3_DATA_EVENTS"] == "DISABLED"
    assert one_gd.get_detector(DetectorId=one_det)["DataSources"]["S3Logs"]["Status"] == "DISABLED"

    # UpdateDetector's rule: not both runtime plans; nothing changes.
    with pytest.raises(ClientError) as e:
        admin_gd.update_member_detectors(
            DetectorId=admin_det,
            AccountIds=[one],
            Features=[
                {"Name": "EKS_RUNTIME_MONITORING", "Status": "ENABLED"},
                {"Name": "RUNTIME_MONITORING", "Status": "DISABLED"},
            ],
        )
    assert code(e) == "BadRequestException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert features(one_gd, one_det)["RUNTIME_MONITORING"] == "ENABLED"
    # A plan that is not an organization feature is refused by the model's enum.
    with pytest.raises(ClientError) as e:
        admin_gd.update_member_detectors(
            DetectorId=admin_det, AccountIds=[one], Features=[{"Name": "CLOUD_TRAIL", "Status": "DISABLED"}]
        )
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    # A stopped member is not enabled: unprocessed, unchanged.
    admin_gd.stop_monitoring_members(DetectorId=admin_det, AccountIds=[two])
    out = admin_gd.update_member_detectors(
        DetectorId=admin_det, AccountIds=[two], Features=[{"Name": "RDS_LOGIN_EVENTS", "Status": "ENABLED"}]
    )
    assert [u["AccountId"] for u in out["UnprocessedAccounts"]] == [two]
    assert features(two_gd, two_det)["RDS_LOGIN_EVENTS"] == "DISABLED"

    # A member cannot manage its administrator, nor another's detector id be used.
    out = one_gd.update_member_detectors(
        DetectorId=one_det, AccountIds=[admin], Features=[{"Name": "RDS_LOGIN_EVENTS", "Status": "DISABLED"}]
    )
    assert [u["AccountId"] for u in out["UnprocessedAccounts"]] == [admin]
    assert features(admin_gd, admin_det)["RDS_LOGIN_EVENTS"] == "ENABLED"
    with pytest.raises(ClientError) as e:
        one_gd.update_member_detectors(
            DetectorId=admin_det, AccountIds=[two], Features=[{"Name": "RDS_LOGIN_EVENTS", "Status": "ENABLED"}]
        )
    assert code(e) == "BadRequestException"


def test_get_organization_statistics(admin_org):
    server, orgs, admin, admin_gd, admin_det, one, two = admin_org
    mgmt_gd = server.client("guardduty", region=REGION)
    one_gd = member_client(server, "guardduty", one)

    details = admin_gd.get_organization_statistics()["OrganizationDetails"]
    assert isinstance(details["UpdatedAt"], datetime.datetime)
    stats = details["OrganizationStatistics"]
    # Management, administrator and two workloads; the two workloads are members.
    assert stats["TotalAccountsCount"] == 4
    assert (stats["MemberAccountsCount"], stats["ActiveAccountsCount"], stats["EnabledAccountsCount"]) == (2, 2, 2)
    counts = by_feature(stats)
    assert set(counts) == {
        "S3_DATA_EVENTS",
        "EKS_AUDIT_LOGS",
        "EBS_MALWARE_PROTECTION",
        "RDS_LOGIN_EVENTS",
        "LAMBDA_NETWORK_LOGS",
        "EKS_RUNTIME_MONITORING",
        "RUNTIME_MONITORING",
    }
    assert (counts["S3_DATA_EVENTS"], counts["RUNTIME_MONITORING"]) == (2, 0)

    # The counts follow the members' detectors and relations.
    admin_gd.update_member_detectors(
        DetectorId=admin_det,
        AccountIds=[one],
        Features=[
            {"Name": "S3_DATA_EVENTS", "Status": "DISABLED"},
            {
                "Name": "RUNTIME_MONITORING",
                "Status": "ENABLED",
                "AdditionalConfiguration": [{"Name": "EC2_AGENT_MANAGEMENT", "Status": "ENABLED"}],
            },
        ],
    )
    stats = admin_gd.get_organization_statistics()["OrganizationDetails"]["OrganizationStatistics"]
    counts = by_feature(stats)
    assert (counts["S3_DATA_EVENTS"], counts["RUNTIME_MONITORING"]) == (1, 1)
    runtime = [f for f in stats["CountByFeature"] if f["Name"] == "RUNTIME_MONITORING"][0]
    assert runtime["AdditionalConfiguration"] == [{"Name": "EC2_AGENT_MANAGEMENT", "EnabledAccountsCount": 1}]

    # One turns GuardDuty off (still associated and monitored, no longer enabled); two is
    # stopped (associated and enabled, no longer monitored).
    one_gd.update_detector(DetectorId=detector(one_gd), Enable=False)
    admin_gd.stop_monitoring_members(DetectorId=admin_det, AccountIds=[two])
    stats = admin_gd.get_organization_statistics()["OrganizationDetails"]["OrganizationStatistics"]
    assert (stats["MemberAccountsCount"], stats["ActiveAccountsCount"], stats["EnabledAccountsCount"]) == (2, 1, 1)
    # Monitored with GuardDuty on: none now, so no account counts for any plan.
    assert set(by_feature(stats).values()) == {0}

    # A new account counts in the organization's total, not as a member.
    create_account(orgs, "three", "three@example.com")
    stats = admin_gd.get_organization_statistics()["OrganizationDetails"]["OrganizationStatistics"]
    assert (stats["TotalAccountsCount"], stats["MemberAccountsCount"]) == (5, 2)

    # Only the delegated administrator may ask: the management account, a member, an account
    # outside any organization, and the administrator in a region where it is not one.
    outsider = create_account(orgs, "outsider", "outsider@example.com")
    orgs.remove_account_from_organization(AccountId=outsider)
    key, secret = member_root(server, admin)
    admin_west = server.client("guardduty", key=key, secret=secret, region="eu-west-1")
    for gd in (mgmt_gd, one_gd, member_client(server, "guardduty", outsider), admin_west):
        with pytest.raises(ClientError) as e:
            gd.get_organization_statistics()
        assert code(e) == "BadRequestException"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Once the administrator is disabled, it is refused too.
    mgmt_gd.disable_organization_admin_account(AdminAccountId=admin)
    with pytest.raises(ClientError) as e:
        admin_gd.get_organization_statistics()
    assert code(e) == "BadRequestException"
