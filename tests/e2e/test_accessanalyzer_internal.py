"""IAM Access Analyzer internal access analyzers end to end with boto3: an
ACCOUNT_INTERNAL_ACCESS analyzer finds which IAM roles and users of the account can act on the
S3 buckets of its analysis rule, decided by the authorizer's policy engine over identity
policies and bucket policies; findings resolve when the access goes away (the audit-stream
consumer re-analyses within seconds) and come back with it. An ORGANIZATION_INTERNAL_ACCESS
analyzer evaluates the member accounts' SCPs (APPLIED: a denied action is left out) where an
account analyzer only flags them (APPLICABLE)."""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import Server
from orgs import create_account, member_root


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def wait_for(check, timeout=15.0):
    """Polls `check` until it returns a truthy value; returns it."""
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.2)


def allow(actions, resources):
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]}
    )


def trust(account):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def findings(aa, arn, **criteria):
    return aa.list_findings_v2(analyzerArn=arn, filter=criteria)["findings"]


def of_principal(aa, arn, principal, resource=None):
    """The analyzer's findings naming `principal` (on `resource`), with their details."""
    flt = {"principal.AWS": {"eq": [principal]}}
    if resource:
        flt["resource"] = {"eq": [resource]}
    out = []
    for f in findings(aa, arn, **flt):
        got = aa.get_finding_v2(analyzerArn=arn, id=f["id"])
        assert got["findingType"] == "InternalAccess"
        (detail,) = got["findingDetails"]
        out.append((f, detail["internalAccessDetails"]))
    return out


@pytest.fixture(scope="module")
def world():
    """A role reading one critical bucket's objects, a bystander role, a bucket outside the
    analysis rule the reader can also read, and an account internal access analyzer."""
    s = Server()
    iam, s3, aa = s.client("iam"), s.client("s3"), s.client("accessanalyzer")
    account = s.client("sts").get_caller_identity()["Account"]
    critical, other = name("critical"), name("other")
    for b in (critical, other):
        s3.create_bucket(Bucket=b)
    reader = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=trust(account))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="reader",
        PolicyName="read",
        PolicyDocument=allow(["s3:GetObject"], [f"arn:aws:s3:::{critical}/*", f"arn:aws:s3:::{other}/*"]),
    )
    bystander = iam.create_role(RoleName="bystander", AssumeRolePolicyDocument=trust(account))["Role"]["Arn"]
    arn = aa.create_analyzer(
        analyzerName="internal",
        type="ACCOUNT_INTERNAL_ACCESS",
        configuration={
            "internalAccess": {"analysisRule": {"inclusions": [{"resourceArns": [f"arn:aws:s3:::{critical}"]}]}}
        },
    )["arn"]
    yield s, account, aa, arn, critical, other, reader, bystander
    s.stop()


def test_a_role_reading_a_critical_bucket_gives_a_finding_naming_it_and_its_action(world):
    s, account, aa, arn, critical, other, reader, bystander = world
    got = aa.get_analyzer(analyzerName="internal")["analyzer"]
    assert got["type"] == "ACCOUNT_INTERNAL_ACCESS"
    assert got["configuration"]["internalAccess"]["analysisRule"]["inclusions"] == [
        {"resourceArns": [f"arn:aws:s3:::{critical}"]}
    ]
    ((summary, details),) = of_principal(aa, arn, reader)
    assert summary["resource"] == f"arn:aws:s3:::{critical}"
    assert summary["resourceType"] == "AWS::S3::Bucket"
    assert summary["resourceOwnerAccount"] == account
    assert summary["status"] == "ACTIVE"
    assert details["principal"] == {"AWS": reader}
    assert details["action"] == ["s3:GetObject"]
    assert details["principalType"] == "IAM_ROLE"
    assert details["principalOwnerAccount"] == account
    assert details["accessType"] == "INTRA_ACCOUNT"
    assert details["serviceControlPolicyRestriction"] == "NOT_APPLICABLE"
    assert details["resourceControlPolicyRestriction"] == "NOT_APPLICABLE"
    # The bucket outside the analysis rule, and a role with no access, give nothing.
    assert findings(aa, arn, resource={"eq": [f"arn:aws:s3:::{other}"]}) == []
    assert of_principal(aa, arn, bystander) == []
    # The V1 operations serve external access analyzers only.
    with pytest.raises(ClientError) as e:
        aa.list_findings(analyzerArn=arn)
    assert code(e) == "ValidationException"


def test_detaching_the_policy_resolves_the_finding_and_attaching_brings_it_back(world):
    s, account, aa, arn, critical, other, reader, bystander = world
    iam = s.client("iam")
    iam.delete_role_policy(RoleName="reader", PolicyName="read")
    wait_for(lambda: [f for f, _ in of_principal(aa, arn, reader) if f["status"] == "RESOLVED"])
    policy = iam.create_policy(
        PolicyName="read-critical", PolicyDocument=allow(["s3:GetObject", "s3:ListBucket"], "*")
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="reader", PolicyArn=policy)
    back = wait_for(
        lambda: [d for f, d in of_principal(aa, arn, reader) if f["status"] == "ACTIVE" and len(d["action"]) == 2]
    )
    assert back[0]["action"] == ["s3:GetObject", "s3:ListBucket"]
    stats = aa.get_findings_statistics(analyzerArn=arn)["findingsStatistics"][0]
    internal = stats["internalAccessFindingsStatistics"]
    assert internal["totalActiveFindings"] >= 1
    assert internal["resourceTypeStatistics"]["AWS::S3::Bucket"]["totalActiveFindings"] >= 1


def test_a_bucket_policy_grant_is_a_finding_with_its_source(world):
    s, account, aa, arn, critical, other, reader, bystander = world
    s3 = s.client("s3")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": bystander}, "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{critical}/*"}
        ],
    }
    s3.put_bucket_policy(Bucket=critical, Policy=json.dumps(policy))
    (details,) = wait_for(lambda: [d for f, d in of_principal(aa, arn, bystander) if f["status"] == "ACTIVE"])
    assert details["action"] == ["s3:PutObject"]
    assert details["sources"] == [{"type": "POLICY"}]
    s3.delete_bucket_policy(Bucket=critical)
    wait_for(lambda: [f for f, _ in of_principal(aa, arn, bystander) if f["status"] == "RESOLVED"])


def test_archive_rules_update_findings_and_update_analyzer(world):
    s, account, aa, arn, critical, other, reader, bystander = world
    wait_for(lambda: [f for f, _ in of_principal(aa, arn, reader) if f["status"] == "ACTIVE"])
    (finding,) = [f for f, _ in of_principal(aa, arn, reader)]
    aa.update_findings(analyzerArn=arn, ids=[finding["id"]], status="ARCHIVED")
    assert of_principal(aa, arn, reader)[0][0]["status"] == "ARCHIVED"
    aa.update_findings(analyzerArn=arn, ids=[finding["id"]], status="ACTIVE")
    # Widening the analysis rule analyses the other bucket at once; an archive rule archives
    # its finding.
    aa.create_archive_rule(
        analyzerName="internal", ruleName="other", filter={"resource": {"eq": [f"arn:aws:s3:::{other}"]}}
    )
    aa.update_analyzer(
        analyzerName="internal",
        configuration={"internalAccess": {"analysisRule": {"inclusions": [{"resourceTypes": ["AWS::S3::Bucket"]}]}}},
    )
    (on_other,) = of_principal(aa, arn, reader, f"arn:aws:s3:::{other}")
    assert on_other[0]["status"] == "ARCHIVED"
    assert of_principal(aa, arn, reader, f"arn:aws:s3:::{critical}")[0][0]["status"] == "ACTIVE"


def test_configuration_errors(world):
    s, account, aa, arn, critical, other, reader, bystander = world
    with pytest.raises(ClientError) as e:
        aa.create_analyzer(
            analyzerName="by-account",
            type="ACCOUNT_INTERNAL_ACCESS",
            configuration={"internalAccess": {"analysisRule": {"inclusions": [{"accountIds": [account]}]}}},
        )
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        aa.create_analyzer(
            analyzerName="keys",
            type="ACCOUNT_INTERNAL_ACCESS",
            configuration={"internalAccess": {"analysisRule": {"inclusions": [{"resourceTypes": ["AWS::KMS::Key"]}]}}},
        )
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        aa.create_analyzer(analyzerName="second", type="ACCOUNT_INTERNAL_ACCESS")
    assert code(e) == "ServiceQuotaExceededException"


def test_organization_analyzer_applies_scps_and_account_analyzer_flags_them():
    s = Server()
    try:
        orgs = s.client("organizations")
        orgs.create_organization(FeatureSet="ALL")
        root = orgs.list_roots()["Roots"][0]
        if not any(t["Type"] == "SERVICE_CONTROL_POLICY" for t in root["PolicyTypes"]):
            orgs.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")
        member = create_account(orgs, "member", "member@example.com")
        key, secret = member_root(s, member)
        m_iam, m_s3 = s.client("iam", key=key, secret=secret), s.client("s3", key=key, secret=secret)
        bucket = name("member-data")
        m_s3.create_bucket(Bucket=bucket)
        writer = m_iam.create_role(RoleName="writer", AssumeRolePolicyDocument=trust(member))["Role"]["Arn"]
        m_iam.put_role_policy(
            RoleName="writer", PolicyName="rw", PolicyDocument=allow(["s3:GetObject", "s3:PutObject"], "*")
        )
        # A role of the management account the member's bucket policy lets read.
        iam = s.client("iam")
        mgmt = s.client("sts").get_caller_identity()["Account"]
        auditor = iam.create_role(RoleName="auditor", AssumeRolePolicyDocument=trust(mgmt))["Role"]["Arn"]
        iam.put_role_policy(RoleName="auditor", PolicyName="read", PolicyDocument=allow(["s3:GetObject"], "*"))
        m_s3.put_bucket_policy(
            Bucket=bucket,
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"AWS": auditor}, "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
                    ],
                }
            ),
        )
        scp = orgs.create_policy(
            Name="no-put",
            Description="",
            Type="SERVICE_CONTROL_POLICY",
            Content=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}]}
            ),
        )["Policy"]["PolicySummary"]["Id"]
        orgs.attach_policy(PolicyId=scp, TargetId=member)
        rule = {"internalAccess": {"analysisRule": {"inclusions": [{"resourceArns": [f"arn:aws:s3:::{bucket}"]}]}}}
        aa = s.client("accessanalyzer")
        org_arn = aa.create_analyzer(analyzerName="org", type="ORGANIZATION_INTERNAL_ACCESS", configuration=rule)[
            "arn"
        ]
        ((_, d),) = of_principal(aa, org_arn, writer)
        assert d["action"] == ["s3:GetObject"]
        assert d["serviceControlPolicyRestriction"] == "APPLIED"
        assert d["principalOwnerAccount"] == member
        assert d["accessType"] == "INTRA_ACCOUNT"
        ((_, cross),) = of_principal(aa, org_arn, auditor)
        assert cross["action"] == ["s3:GetObject"]
        assert cross["accessType"] == "INTRA_ORG"
        assert cross["sources"] == [{"type": "POLICY"}]
        # The member's account analyzer does not evaluate the SCP: it only flags it.
        m_aa = s.client("accessanalyzer", key=key, secret=secret)
        acct_arn = m_aa.create_analyzer(analyzerName="acct", type="ACCOUNT_INTERNAL_ACCESS")["arn"]
        ((_, flagged),) = of_principal(m_aa, acct_arn, writer)
        assert flagged["action"] == ["s3:GetObject", "s3:PutObject"]
        assert flagged["serviceControlPolicyRestriction"] == "APPLICABLE"
        # Detaching the SCP gives the organization analyzer PutObject back.
        orgs.detach_policy(PolicyId=scp, TargetId=member)
        wait_for(lambda: of_principal(aa, org_arn, writer)[0][1]["action"] == ["s3:GetObject", "s3:PutObject"])
    finally:
        s.stop()
