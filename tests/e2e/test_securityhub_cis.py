"""Security Hub's CIS AWS Foundations Benchmark v3.0.0 standard end to end with boto3:
enabling it, its controls, consolidated control findings associated with every enabled
standard, and the standard's security score (`rampart posture --standards-arn`) moving as a
real resource is fixed."""

import os
import re
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from test_config import ensure_recording
from test_securityhub import fresh_hub, wait_gone, wait_status

FSBP = "aws-foundational-security-best-practices/v/1.0.0"
CIS = "cis-aws-foundations-benchmark/v/3.0.0"
REGION = "us-east-1"
CIS_ARN = f"arn:aws:securityhub:{REGION}::standards/{CIS}"
FSBP_ARN = f"arn:aws:securityhub:{REGION}::standards/{FSBP}"


def score(server, standards_arn):
    """(passed, total) controls of the standard as `rampart posture` reports them."""
    env = dict(os.environ)
    env.pop("AWS_PROFILE", None)
    env.update(AWS_ACCESS_KEY_ID=server.root_key, AWS_SECRET_ACCESS_KEY=server.root_secret)
    out = subprocess.run(
        [os.environ["RAMPART_BIN"], "posture", "--endpoint-url", server.endpoint,
         "--region", REGION, "--standards-arn", standards_arn],
        capture_output=True, text=True, env=env, timeout=10,
    )
    m = re.search(r"Security score: (\d+)% \((\d+) of (\d+) controls passed\)", out.stdout)
    assert m, (out.stdout, out.stderr)
    pct, passed, total = (int(g) for g in m.groups())
    assert pct == passed * 100 // total
    return passed, total


@pytest.fixture
def password_policy(server):
    """Restores the account's password policy after the test."""
    iam = server.client("iam")
    try:
        before = iam.get_account_password_policy()["PasswordPolicy"]
    except ClientError:
        before = None
    yield iam
    if before is None:
        try:
            iam.delete_account_password_policy()
        except ClientError:
            pass
    else:
        keys = ["MinimumPasswordLength", "RequireSymbols", "RequireNumbers",
                "RequireUppercaseCharacters", "RequireLowercaseCharacters",
                "AllowUsersToChangePassword", "MaxPasswordAge", "PasswordReusePrevention",
                "HardExpiry"]
        iam.update_account_password_policy(**{k: before[k] for k in keys if k in before})


def test_cis_standard_controls_and_errors(server):
    sh = fresh_hub(server, REGION, EnableDefaultStandards=False)
    cis = [s for s in sh.describe_standards()["Standards"] if s["StandardsArn"] == CIS_ARN]
    assert cis and cis[0]["Name"] == "CIS AWS Foundations Benchmark v3.0.0"
    assert cis[0]["EnabledByDefault"] is False
    sub = sh.batch_enable_standards(StandardsSubscriptionRequests=[{"StandardsArn": CIS_ARN}])
    sub_arn = sub["StandardsSubscriptions"][0]["StandardsSubscriptionArn"]
    assert sub_arn.endswith(f":subscription/{CIS}")
    enabled = [s["StandardsArn"] for s in sh.get_enabled_standards()["StandardsSubscriptions"]]
    assert enabled == [CIS_ARN]
    controls = {c["ControlId"]: c for c in sh.describe_standards_controls(StandardsSubscriptionArn=sub_arn)["Controls"]}
    for cid in ["IAM.2", "IAM.3", "IAM.4", "IAM.5", "IAM.9", "IAM.15", "IAM.16", "IAM.22",
                "KMS.4", "S3.1", "S3.5", "S3.8", "CloudTrail.1", "CloudTrail.2", "CloudTrail.4"]:
        assert controls[cid]["ControlStatus"] == "ENABLED", cid
    assert "IAM.1" not in controls and "SecretsManager.1" not in controls  # FSBP, not CIS
    assert controls["IAM.4"]["SeverityRating"] == "CRITICAL"
    defs = sh.list_security_control_definitions(StandardsArn=CIS_ARN)["SecurityControlDefinitions"]
    assert "IAM.15" in [d["SecurityControlId"] for d in defs]
    with pytest.raises(ClientError) as e:
        sh.batch_enable_standards(StandardsSubscriptionRequests=[
            {"StandardsArn": f"arn:aws:securityhub:eu-west-1::standards/{CIS}"}])
    assert e.value.response["Error"]["Code"] == "InvalidInputException"
    sh.batch_disable_standards(StandardsSubscriptionArns=[sub_arn])
    with pytest.raises(ClientError) as e:
        sh.describe_standards_controls(StandardsSubscriptionArn=sub_arn)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_cis_findings_and_score_follow_real_resources(server, password_policy):
    iam = password_policy
    sh = fresh_hub(server, REGION, EnableDefaultStandards=False)
    sh.batch_enable_standards(StandardsSubscriptionRequests=[{"StandardsArn": CIS_ARN}, {"StandardsArn": FSBP_ARN}])
    ensure_recording(server)
    account = server.client("sts").get_caller_identity()["Account"]
    account_resource = f"AWS::::Account:{account}"

    # A user with an inline policy fails IAM.2 in both standards, in one consolidated finding.
    user = f"cis-user-{uuid.uuid4().hex[:8]}"
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.put_user_policy(
        UserName=user, PolicyName="inline",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}',
    )
    failed = wait_status(sh, "IAM.2", arn, "FAILED")
    standards = sorted(s["StandardsId"] for s in failed["Compliance"]["AssociatedStandards"])
    assert standards == sorted([f"standards/{FSBP}", f"standards/{CIS}"])

    # A password policy shorter than 14 characters fails IAM.15 (a CIS-only control).
    iam.update_account_password_policy(MinimumPasswordLength=8, PasswordReusePrevention=24)
    f15 = wait_status(sh, "IAM.15", account_resource, "FAILED")
    assert f15["Compliance"]["AssociatedStandards"] == [{"StandardsId": f"standards/{CIS}"}]
    assert f15["Resources"][0]["Type"] == "AwsAccount"
    wait_status(sh, "IAM.16", account_resource, "PASSED")
    passed_before, total_before = score(server, CIS_ARN)

    # Fixing the policy passes IAM.15, and the CIS score moves up by one control.
    iam.update_account_password_policy(MinimumPasswordLength=14, PasswordReusePrevention=24)
    p15 = wait_status(sh, "IAM.15", account_resource, "PASSED")
    assert p15["Id"] == f15["Id"] and p15["Workflow"]["Status"] == "RESOLVED"
    passed_after, total_after = score(server, CIS_ARN)
    assert (passed_after, total_after) == (passed_before + 1, total_before)

    # Removing the inline policy passes IAM.2.
    iam.delete_user_policy(UserName=user, PolicyName="inline")
    wait_status(sh, "IAM.2", arn, "PASSED")

    # Turning CIS off leaves IAM.2 to FSBP alone and archives the CIS-only IAM.15 result.
    sub = f"arn:aws:securityhub:{REGION}:{account}:subscription/{CIS}"
    sh.batch_disable_standards(StandardsSubscriptionArns=[sub])
    wait_gone(sh, "IAM.15", account_resource)
    iam.put_user_policy(
        UserName=user, PolicyName="inline",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}',
    )
    again = wait_status(sh, "IAM.2", arn, "FAILED")
    assert again["Compliance"]["AssociatedStandards"] == [{"StandardsId": f"standards/{FSBP}"}]
    iam.delete_user_policy(UserName=user, PolicyName="inline")
    iam.delete_user(UserName=user)
