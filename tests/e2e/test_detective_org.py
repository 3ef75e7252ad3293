"""Detective's organization integration, data source packages and finding groups end to end
with boto3: the management account designates an account of the organization as Detective's
administrator (registered in Organizations, given the organization behavior graph), which
enables organization accounts without invitations and has accounts that join later
auto-enabled; removing the administrator deletes that graph. Data source packages start and
read back for the graph and its members; with Security Hub findings ingested, a finding
imported into Security Hub on a user counts in its investigation; two real GuardDuty findings
on one user (a Kali Linux user agent, a password policy change) make a related finding group.

The server is this module's own: the tests create an organization and account-wide items."""

import datetime
import json
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Server
from orgs import create_account, member_client

REGION = "us-east-1"
SERVICE = "detective.amazonaws.com"
KALI = "Linux/6.6.9-amd64.kali"
ADMIN_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def eventually(read, ok, timeout=15.0):
    deadline = time.time() + timeout
    while True:
        got = read()
        if ok(got) or time.time() > deadline:
            return got
        time.sleep(0.3)


@pytest.fixture(scope="module")
def env():
    s = Server()
    orgs = s.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    s.management = s.client("sts").get_caller_identity()["Account"]
    s.admin = create_account(orgs, "security", "security@example.com")
    s.member = create_account(orgs, "workload", "workload@example.com")
    yield s
    s.stop()


def test_the_delegated_administrator_gets_the_organization_as_members(env):
    orgs = env.client("organizations")
    mgmt = env.client("detective")
    admin = member_client(env, "detective", env.admin)
    member = member_client(env, "detective", env.member)

    # Only the management account designates, and only an account of the organization.
    with pytest.raises(ClientError) as e:
        admin.enable_organization_admin_account(AccountId=env.admin)
    assert code(e) == "AccessDeniedException"
    assert e.value.response["ErrorCode"] == "INVALID_REQUEST_BODY"
    with pytest.raises(ClientError) as e:
        mgmt.enable_organization_admin_account(AccountId="999999999999")
    assert code(e) == "ValidationException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    mgmt.enable_organization_admin_account(AccountId=env.admin)
    mgmt.enable_organization_admin_account(AccountId=env.admin)  # the same again is no change
    admins = mgmt.list_organization_admin_accounts()["Administrators"]
    assert [a["AccountId"] for a in admins] == [env.admin]
    graph = admins[0]["GraphArn"]
    assert isinstance(admins[0]["DelegationTime"], datetime.datetime)
    # Detective is on in the administrator: its graph is the organization behavior graph.
    assert [g["Arn"] for g in admin.list_graphs()["GraphList"]] == [graph]
    delegated = orgs.list_delegated_administrators(ServicePrincipal=SERVICE)["DelegatedAdministrators"]
    assert [d["Id"] for d in delegated] == [env.admin]
    # Another account is not the delegated administrator for Detective in Organizations; the
    # management account may be, but the organization has its administrator in this region.
    with pytest.raises(ClientError) as e:
        mgmt.enable_organization_admin_account(AccountId=env.member)
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        mgmt.enable_organization_admin_account(AccountId=env.management)
    assert code(e) == "ConflictException"

    # An organization account is enabled at once, without an invitation or an email.
    created = admin.create_members(GraphArn=graph, Accounts=[{"AccountId": env.member, "EmailAddress": "workload@example.com"}])
    assert created["UnprocessedAccounts"] == []
    [m] = created["Members"]
    assert (m["AccountId"], m["Status"], m["InvitationType"]) == (env.member, "ENABLED", "ORGANIZATION")
    assert m["EmailAddress"] == "workload@example.com"
    assert member.list_invitations()["Invitations"] == []
    again = admin.create_members(GraphArn=graph, Accounts=[{"AccountId": env.member, "EmailAddress": "workload@example.com"}])
    assert [u["AccountId"] for u in again["UnprocessedAccounts"]] == [env.member]

    # Only the administrator reads and sets the organization configuration.
    assert admin.describe_organization_configuration(GraphArn=graph)["AutoEnable"] is False
    with pytest.raises(ClientError) as e:
        member.describe_organization_configuration(GraphArn=graph)
    assert code(e) == "ResourceNotFoundException"
    admin.update_organization_configuration(GraphArn=graph, AutoEnable=True)
    assert admin.describe_organization_configuration(GraphArn=graph)["AutoEnable"] is True

    # An account that joins now is enabled by itself.
    newcomer = create_account(orgs, "newcomer", "newcomer@example.com")

    def members():
        return {m["AccountId"]: m for m in admin.list_members(GraphArn=graph)["MemberDetails"]}

    got = eventually(members, lambda ms: newcomer in ms)
    assert got[newcomer]["Status"] == "ENABLED"
    assert got[newcomer]["InvitationType"] == "ORGANIZATION"
    assert set(got) == {env.member, newcomer}
    # Its graph's data sources are the organization's.
    ds = member_client(env, "detective", newcomer).batch_get_membership_datasources(GraphArns=[graph])
    assert [d["AccountId"] for d in ds["MembershipDatasources"]] == [newcomer]

    # Removing the administrator deletes the organization behavior graph; the delegation in
    # Organizations stays.
    with pytest.raises(ClientError) as e:
        admin.disable_organization_admin_account()
    assert code(e) == "AccessDeniedException"
    mgmt.disable_organization_admin_account()
    assert mgmt.list_organization_admin_accounts()["Administrators"] == []
    assert admin.list_graphs()["GraphList"] == []
    with pytest.raises(ClientError) as e:
        admin.list_members(GraphArn=graph)
    assert code(e) == "ResourceNotFoundException"
    delegated = orgs.list_delegated_administrators(ServicePrincipal=SERVICE)["DelegatedAdministrators"]
    assert [d["Id"] for d in delegated] == [env.admin]
    with pytest.raises(ClientError) as e:
        mgmt.disable_organization_admin_account()
    assert code(e) == "ValidationException"


def test_data_source_packages_of_a_graph_and_its_members(env):
    region = "eu-west-1"
    dt = env.client("detective", region=region)
    graph = dt.create_graph()["GraphArn"]
    packages = dt.list_datasource_packages(GraphArn=graph)["DatasourcePackages"]
    states = {p: d["DatasourcePackageIngestState"] for p, d in packages.items()}
    assert states == {"DETECTIVE_CORE": "STARTED", "EKS_AUDIT": "DISABLED", "ASFF_SECURITYHUB_FINDING": "DISABLED"}
    assert "STARTED" in packages["DETECTIVE_CORE"]["LastIngestStateChange"]

    dt.update_datasource_packages(GraphArn=graph, DatasourcePackages=["EKS_AUDIT"])
    packages = dt.list_datasource_packages(GraphArn=graph)["DatasourcePackages"]
    assert packages["EKS_AUDIT"]["DatasourcePackageIngestState"] == "STARTED"
    started = packages["EKS_AUDIT"]["LastIngestStateChange"]["STARTED"]["Timestamp"]
    assert isinstance(started, datetime.datetime)
    assert packages["ASFF_SECURITYHUB_FINDING"]["DatasourcePackageIngestState"] == "DISABLED"
    with pytest.raises(ClientError) as e:
        dt.update_datasource_packages(GraphArn=graph, DatasourcePackages=["CLOUDTRAIL"])
    assert code(e) == "ValidationException"
    assert "CLOUDTRAIL" in e.value.response["Error"]["Message"]

    # An invited member (this region has no organization administrator) that accepts.
    dt.create_members(GraphArn=graph, Accounts=[{"AccountId": env.member, "EmailAddress": "workload@example.com"}])
    member = member_client(env, "detective", env.member, region=region)
    [inv] = member.list_invitations()["Invitations"]
    assert inv["InvitationType"] == "INVITATION"
    member.accept_invitation(GraphArn=graph)

    got = dt.batch_get_graph_member_datasources(GraphArn=graph, AccountIds=[env.member, "123456789012"])
    [d] = got["MemberDatasources"]
    assert d["AccountId"] == env.member and d["GraphArn"] == graph
    assert set(d["DatasourcePackageIngestHistory"]) == {"DETECTIVE_CORE", "EKS_AUDIT"}
    assert "STARTED" in d["DatasourcePackageIngestHistory"]["EKS_AUDIT"]
    assert [u["AccountId"] for u in got["UnprocessedAccounts"]] == ["123456789012"]

    other = f"arn:aws:detective:{region}:123456789012:graph:" + "a" * 32
    mine = member.batch_get_membership_datasources(GraphArns=[graph, other])
    assert [d["GraphArn"] for d in mine["MembershipDatasources"]] == [graph]
    assert [u["GraphArn"] for u in mine["UnprocessedGraphs"]] == [other]


def wait_investigation(dt, graph, investigation, timeout=15.0):
    got = eventually(
        lambda: dt.get_investigation(GraphArn=graph, InvestigationId=investigation),
        lambda g: g["Status"] != "RUNNING",
        timeout,
    )
    assert got["Status"] == "SUCCESSFUL", got
    return got


def indicators(dt, graph, investigation):
    return dt.list_indicators(GraphArn=graph, InvestigationId=investigation)["Indicators"]


def test_related_findings_group_and_security_hub_findings_count(env):
    region = "us-west-2"
    iam = env.client("iam")
    iam.create_user(UserName="pentester")
    iam.put_user_policy(UserName="pentester", PolicyName="all", PolicyDocument=ADMIN_POLICY)
    key = iam.create_access_key(UserName="pentester")["AccessKey"]
    user_arn = f"arn:aws:iam::{env.management}:user/pentester"
    start = int(time.time()) - 60

    # Two real GuardDuty findings on the user: a Kali Linux user agent, then a password
    # policy change from the same tool.
    gd = env.client("guardduty", region=region)
    detector = gd.create_detector(Enable=True)["DetectorId"]
    kali = Config(user_agent_extra=KALI)
    as_user = dict(key=key["AccessKeyId"], secret=key["SecretAccessKey"], region=region, config=kali)
    env.client("sts", **as_user).get_caller_identity()
    env.client("iam", **as_user).update_account_password_policy(MinimumPasswordLength=8)

    def types():
        ids = gd.list_findings(DetectorId=detector)["FindingIds"]
        return {f["Type"] for f in gd.get_findings(DetectorId=detector, FindingIds=ids)["Findings"]} if ids else set()

    wanted = {"PenTest:IAMUser/KaliLinux", "Stealth:IAMUser/PasswordPolicyChange"}
    found = eventually(types, lambda t: t >= wanted)
    assert found >= wanted, found

    # A Security Hub finding on the same user, from a custom product.
    sh = env.client("securityhub", region=region)
    sh.enable_security_hub(EnableDefaultStandards=False)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    asff = {
        "SchemaVersion": "2018-10-08",
        "Id": "scanner/pentester-1",
        "ProductArn": f"arn:aws:securityhub:{region}:{env.management}:product/{env.management}/default",
        "GeneratorId": "scanner/rule-1",
        "AwsAccountId": env.management,
        "Types": ["TTPs/Credential Access"],
        "CreatedAt": now,
        "UpdatedAt": now,
        "Severity": {"Label": "HIGH"},
        "Title": "Credential access by pentester",
        "Description": "A scanner saw the user's keys used from a pentest tool.",
        "Resources": [{"Type": "AwsIamUser", "Id": user_arn}],
    }
    assert sh.batch_import_findings(Findings=[asff])["SuccessCount"] == 1

    dt = env.client("detective", region=region)
    graph = dt.create_graph()["GraphArn"]
    window = {"ScopeStartTime": start, "ScopeEndTime": int(time.time()) + 60}

    def investigate():
        started = dt.start_investigation(GraphArn=graph, EntityArn=user_arn, **window)
        wait_investigation(dt, graph, started["InvestigationId"])
        return indicators(dt, graph, started["InvestigationId"])

    found = investigate()
    related = [i["IndicatorDetail"]["RelatedFindingDetail"] for i in found if i["IndicatorType"] == "RELATED_FINDING"]
    assert {r["Type"] for r in related} >= {"PenTest:IAMUser/KaliLinux", "Stealth:IAMUser/PasswordPolicyChange"}
    assert "scanner/pentester-1" not in {r["Arn"] for r in related}
    groups = [i["IndicatorDetail"]["RelatedFindingGroupDetail"] for i in found if i["IndicatorType"] == "RELATED_FINDING_GROUP"]
    assert len(groups) == 1 and len(groups[0]["Id"]) == 36
    # The same findings make the same group in another investigation.
    assert [
        i["IndicatorDetail"]["RelatedFindingGroupDetail"]
        for i in investigate()
        if i["IndicatorType"] == "RELATED_FINDING_GROUP"
    ] == groups

    # With Security Hub findings ingested, the imported finding is related too.
    dt.update_datasource_packages(GraphArn=graph, DatasourcePackages=["ASFF_SECURITYHUB_FINDING"])
    found = investigate()
    related = [i["IndicatorDetail"]["RelatedFindingDetail"] for i in found if i["IndicatorType"] == "RELATED_FINDING"]
    assert "scanner/pentester-1" in {r["Arn"] for r in related}
    assert [r["Type"] for r in related if r["Arn"] == "scanner/pentester-1"] == ["TTPs/Credential Access"]
