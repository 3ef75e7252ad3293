"""Action-level unused access end to end with boto3: Rampart records which actions each IAM
user used; IAM's GenerateServiceLastAccessedDetails(Granularity=ACTION_LEVEL) reports them as
TrackedActionsLastAccessed, an unused access analyzer lists a service's granted actions not
used in its window (each with its lastAccessed), and the finding's recommendation keeps the
used actions only."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import Server, advance

DAY = 86400
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["kms:ListKeys", "kms:ListAliases", "kms:DescribeKey", "sts:GetCallerIdentity"],
            "Resource": "*",
        }
    ],
}


@pytest.fixture(scope="module")
def world():
    """A dev server with user `dev`, its access key and its ARN, and an unused access
    analyzer with a one-day window."""
    s = Server("--dev")
    try:
        iam = s.client("iam")
        user_arn = iam.create_user(UserName="dev")["User"]["Arn"]
        iam.put_user_policy(UserName="dev", PolicyName="p", PolicyDocument=json.dumps(POLICY))
        k = iam.create_access_key(UserName="dev")["AccessKey"]
        key = (k["AccessKeyId"], k["SecretAccessKey"])
        # ListAliases is used once now, two days before the others.
        s.client("kms", key=key[0], secret=key[1]).list_aliases()
        time.sleep(1.5)
        aa = s.client("accessanalyzer")
        arn = aa.create_analyzer(
            analyzerName="unused",
            type="ACCOUNT_UNUSED_ACCESS",
            configuration={"unusedAccess": {"unusedAccessAge": 1}},
        )["arn"]
        advance(s, 2 * DAY)
        s.client("kms", key=key[0], secret=key[1]).list_keys()
        s.client("sts", key=key[0], secret=key[1]).get_caller_identity()
        time.sleep(1.5)
        advance(s, 60)
        yield s, user_arn, arn
    finally:
        s.stop()


def kms_finding(aa, arn):
    """The active UnusedPermission findings of `dev`, keyed by service namespace."""
    out = {}
    for f in aa.list_findings_v2(
        analyzerArn=arn, filter={"findingType": {"eq": ["UnusedPermission"]}, "status": {"eq": ["ACTIVE"]}}
    )["findings"]:
        got = aa.get_finding_v2(analyzerArn=arn, id=f["id"])
        d = got["findingDetails"][0]["unusedPermissionDetails"]
        out[d["serviceNamespace"]] = (f["id"], d)
    return out


def test_the_finding_lists_unused_actions_and_not_used_ones(world):
    s, _, arn = world
    aa = s.client("accessanalyzer")
    found = kms_finding(aa, arn)
    # STS's one granted action was used in the window: no finding for STS.
    assert set(found) == {"kms"}
    _, d = found["kms"]
    # KMS was used in the window (ListKeys); ListAliases was last used before it, DescribeKey never.
    assert "lastAccessed" in d
    actions = {a["action"]: a for a in d["actions"]}
    assert set(actions) == {"kms:ListAliases", "kms:DescribeKey"}
    assert "lastAccessed" in actions["kms:ListAliases"]
    assert "lastAccessed" not in actions["kms:DescribeKey"]
    assert actions["kms:ListAliases"]["lastAccessed"] < d["lastAccessed"]


def test_the_recommendation_keeps_the_used_actions(world):
    s, _, arn = world
    aa = s.client("accessanalyzer")
    finding_id, _ = kms_finding(aa, arn)["kms"]
    aa.generate_finding_recommendation(analyzerArn=arn, id=finding_id)
    rec = aa.get_finding_recommendation(analyzerArn=arn, id=finding_id)
    assert rec["status"] == "SUCCEEDED"
    [step] = [x["unusedPermissionsRecommendedStep"] for x in rec["recommendedSteps"]]
    assert step["recommendedAction"] == "CREATE_POLICY" and step["existingPolicyId"] == "p"
    policy = json.loads(step["recommendedPolicy"])
    assert policy["Statement"][0]["Action"] == ["kms:ListKeys", "sts:GetCallerIdentity"]


def test_iam_reports_action_level_last_access(world):
    s, user_arn, _ = world
    iam = s.client("iam")
    job = iam.generate_service_last_accessed_details(Arn=user_arn, Granularity="ACTION_LEVEL")["JobId"]
    got = iam.get_service_last_accessed_details(JobId=job)
    assert got["JobStatus"] == "COMPLETED" and got["JobType"] == "ACTION_LEVEL"
    services = {x["ServiceNamespace"]: x for x in got["ServicesLastAccessed"]}
    kms = {a["ActionName"]: a for a in services["kms"]["TrackedActionsLastAccessed"]}
    assert set(kms) == {"ListAliases", "ListKeys"}
    assert kms["ListKeys"]["LastAccessedEntity"] == user_arn
    assert kms["ListKeys"]["LastAccessedRegion"] == "us-east-1"
    assert kms["ListAliases"]["LastAccessedTime"] < kms["ListKeys"]["LastAccessedTime"]
    assert [a["ActionName"] for a in services["sts"]["TrackedActionsLastAccessed"]] == ["GetCallerIdentity"]
    # A service-level job has no action details.
    job = iam.generate_service_last_accessed_details(Arn=user_arn)["JobId"]
    got = iam.get_service_last_accessed_details(JobId=job)
    assert got["JobType"] == "SERVICE_LEVEL"
    assert all("TrackedActionsLastAccessed" not in x for x in got["ServicesLastAccessed"])
    with pytest.raises(ClientError) as e:
        iam.generate_service_last_accessed_details(Arn=user_arn, Granularity="OPERATION_LEVEL")
    assert e.value.response["Error"]["Code"] in ("InvalidInput", "ValidationError")
