"""IAM's organizations access reports end to end with boto3: service last-accessed data for a
root, an OU and an account of an organization, from real requests of IAM users in the
management and a member account, limited to the services the SCPs allow; AWS's filters
(`OrganizationsPolicyId`), sorting, paging, failed jobs and refusals."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from orgs import create_account, member_root

SERVICES = {"cloudtrail", "iam", "kms", "organizations", "secretsmanager", "sts"}


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def user_with(server, iam, name, actions):
    """An IAM user allowed `actions`, and its access key."""
    iam.create_user(UserName=name)
    policy = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def report(iam, **kwargs):
    sort = kwargs.pop("SortKey", None)
    job = iam.generate_organizations_access_report(**kwargs)["JobId"]
    assert len(job) == 36
    extra = {"SortKey": sort} if sort else {}
    return iam.get_organizations_access_report(JobId=job, **extra), job


def details(out):
    return {d["ServiceNamespace"]: d for d in out["AccessDetails"]}


@pytest.fixture(scope="module")
def org(server_module):
    server = server_module
    orgs = server.client("organizations")
    iam = server.client("iam")
    mgmt = server.client("sts").get_caller_identity()["Account"]
    org_id = orgs.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root = orgs.list_roots()["Roots"][0]
    root_id = root["Id"]
    if any(t["Type"] == "SERVICE_CONTROL_POLICY" for t in root.get("PolicyTypes", [])):
        orgs.disable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    # Without SCPs enabled a report fails, as AWS documents.
    out, _ = report(iam, EntityPath=f"{org_id}/{root_id}")
    assert out["JobStatus"] == "FAILED" and out["ErrorDetails"]["Code"]
    orgs.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    ou = orgs.create_organizational_unit(ParentId=root_id, Name="eng")["OrganizationalUnit"]["Id"]
    member = create_account(orgs, "reports-member")
    # A member user, made before the member's SCPs keep its root from IAM.
    mkey, msecret = member_root(server, member)
    member_iam = server.client("iam", key=mkey, secret=msecret)
    key, secret = user_with(server, member_iam, "worker", ["kms:ListKeys"])
    orgs.move_account(AccountId=member, SourceParentId=root_id, DestinationParentId=ou)
    # The OU allows only KMS and STS.
    scp = orgs.create_policy(
        Name="kms-sts", Description="", Type="SERVICE_CONTROL_POLICY",
        Content=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["kms:*", "sts:*"], "Resource": "*"}]}),
    )["Policy"]["PolicySummary"]["Id"]
    orgs.attach_policy(PolicyId=scp, TargetId=ou)
    orgs.detach_policy(PolicyId="p-FullAWSAccess", TargetId=ou)

    # Real use: the member user calls KMS, a management user calls IAM.
    server.client("kms", key=key, secret=secret, region="eu-west-1").list_keys()
    key, secret = user_with(server, iam, "auditor", ["iam:ListUsers"])
    server.client("iam", key=key, secret=secret).list_users()
    paths = {
        "root": f"{org_id}/{root_id}",
        "ou": f"{org_id}/{root_id}/{ou}",
        "member": f"{org_id}/{root_id}/{ou}/{member}",
        "mgmt": f"{org_id}/{root_id}/{mgmt}",
    }
    # Last access is recorded in the background: wait until both uses show.
    for _ in range(100):
        got = details(report(iam, EntityPath=paths["root"])[0])
        if "LastAuthenticatedTime" in got["kms"] and "LastAuthenticatedTime" in got["iam"]:
            break
        time.sleep(0.1)
    return server, iam, paths, scp, member, (mkey, msecret)


@pytest.fixture(scope="module")
def server_module(request):
    from conftest import Server

    server = Server()
    request.addfinalizer(server.stop)
    return server


def test_root_report_lists_every_allowed_service_with_its_last_use(org):
    _, iam, paths, _, _, _ = org
    out, _ = report(iam, EntityPath=paths["root"])
    assert out["JobStatus"] == "COMPLETED"
    assert "JobCompletionDate" in out and "JobCreationDate" in out
    got = details(out)
    assert set(got) == SERVICES
    assert got["kms"]["EntityPath"] == paths["member"]
    assert got["kms"]["Region"] == "eu-west-1"
    assert got["kms"]["TotalAuthenticatedEntities"] == 1
    assert got["kms"]["ServiceName"] == "AWS Key Management Service"
    assert got["iam"]["EntityPath"] == paths["mgmt"]
    assert "LastAuthenticatedTime" not in got["secretsmanager"]
    assert got["secretsmanager"]["TotalAuthenticatedEntities"] == 0
    assert out["NumberOfServicesAccessible"] == len(SERVICES)
    never = [ns for ns, d in got.items() if "LastAuthenticatedTime" not in d]
    assert out["NumberOfServicesNotAccessed"] == len(never)
    assert out["IsTruncated"] is False


def test_ou_and_account_reports_are_limited_by_their_scps(org):
    _, iam, paths, _, _, _ = org
    for path in (paths["ou"], paths["member"]):
        out, _ = report(iam, EntityPath=path)
        got = details(out)
        assert set(got) == {"kms", "sts"}, path
        assert got["kms"]["EntityPath"] == paths["member"]
        assert out["NumberOfServicesAccessible"] == 2
    # The management account's report sees only its own use.
    got = details(report(iam, EntityPath=paths["mgmt"])[0])
    assert set(got) == SERVICES
    assert "LastAuthenticatedTime" not in got["kms"]
    assert got["iam"]["EntityPath"] == paths["mgmt"]


def test_a_policy_id_reports_the_services_that_scp_allows(org):
    _, iam, paths, scp, _, _ = org
    out, _ = report(iam, EntityPath=paths["root"], OrganizationsPolicyId=scp)
    got = details(out)
    assert set(got) == {"kms", "sts"}
    assert got["kms"]["EntityPath"] == paths["member"]
    out, _ = report(iam, EntityPath=paths["root"], OrganizationsPolicyId="p-nosuchpolicy1")
    assert out["JobStatus"] == "FAILED" and out["ErrorDetails"]["Message"]
    assert "AccessDetails" not in out


def test_sort_keys_and_paging(org):
    _, iam, paths, _, _, _ = org
    out, job = report(iam, EntityPath=paths["root"])
    names = [d["ServiceNamespace"] for d in out["AccessDetails"]]
    assert names == sorted(SERVICES)
    desc = iam.get_organizations_access_report(JobId=job, SortKey="SERVICE_NAMESPACE_DESCENDING")
    assert [d["ServiceNamespace"] for d in desc["AccessDetails"]] == sorted(SERVICES, reverse=True)
    recent = iam.get_organizations_access_report(
        JobId=job, SortKey="LAST_AUTHENTICATED_TIME_DESCENDING"
    )["AccessDetails"]
    used = [d for d in recent if "LastAuthenticatedTime" in d]
    assert used == sorted(used, key=lambda d: d["LastAuthenticatedTime"], reverse=True)
    assert recent[: len(used)] == used
    oldest = iam.get_organizations_access_report(
        JobId=job, SortKey="LAST_AUTHENTICATED_TIME_ASCENDING"
    )["AccessDetails"]
    assert "LastAuthenticatedTime" not in oldest[0]
    assert oldest[-1] == recent[0]
    first = iam.get_organizations_access_report(JobId=job, MaxItems=4)
    assert first["IsTruncated"] is True and len(first["AccessDetails"]) == 4
    rest = iam.get_organizations_access_report(JobId=job, MaxItems=4, Marker=first["Marker"])
    assert rest["IsTruncated"] is False
    paged = [d["ServiceNamespace"] for d in first["AccessDetails"] + rest["AccessDetails"]]
    assert paged == sorted(SERVICES)
    # Paging follows the sort.
    top = iam.get_organizations_access_report(
        JobId=job, SortKey="SERVICE_NAMESPACE_DESCENDING", MaxItems=1
    )
    nxt = iam.get_organizations_access_report(
        JobId=job, SortKey="SERVICE_NAMESPACE_DESCENDING", MaxItems=1, Marker=top["Marker"]
    )
    assert [top["AccessDetails"][0]["ServiceNamespace"], nxt["AccessDetails"][0]["ServiceNamespace"]] \
        == sorted(SERVICES, reverse=True)[:2]
    with pytest.raises(ClientError) as e:
        iam.get_organizations_access_report(JobId=job, SortKey="NAME")
    assert code(e) == "ValidationError"


def test_failures_and_refusals(org):
    server, iam, paths, _, member, (mkey, msecret) = org
    # A path that names nothing in the organization: the job fails with its reason.
    out, _ = report(iam, EntityPath=paths["root"] + "/ou-zzzz-zzzzzzzz")
    assert out["JobStatus"] == "FAILED" and out["ErrorDetails"]["Code"]
    out, _ = report(iam, EntityPath=paths["mgmt"].replace(paths["root"], paths["ou"]))
    assert out["JobStatus"] == "FAILED"
    with pytest.raises(ClientError) as e:
        iam.get_organizations_access_report(JobId="00000000-0000-0000-0000-000000000000")
    assert code(e) == "NoSuchEntity"
    # Only the management account may generate or read reports.
    member_iam = server.client("iam", key=mkey, secret=msecret)
    with pytest.raises(ClientError) as e:
        member_iam.generate_organizations_access_report(EntityPath=paths["member"])
    assert code(e) == "AccessDenied"
    _, job = report(iam, EntityPath=paths["root"])
    with pytest.raises(ClientError) as e:
        member_iam.get_organizations_access_report(JobId=job)
    assert code(e) == "AccessDenied"
    # An IAM user of the management account needs the IAM permission.
    key, secret = user_with(server, iam, "nobody", ["iam:GetUser"])
    with pytest.raises(ClientError) as e:
        server.client("iam", key=key, secret=secret).generate_organizations_access_report(
            EntityPath=paths["root"]
        )
    assert code(e) == "AccessDenied"
