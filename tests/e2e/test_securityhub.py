"""AWS Security Hub end to end with boto3: the hub's lifecycle with AWS's errors, importing
ASFF findings (a malformed one refused in FailedFindings), GetFindings with string, date and
number filters, BatchUpdateFindings, and a Foundational Security Best Practices control
(IAM.2) turning FAILED then PASSED as a real IAM user is changed, from AWS Config's records."""

import datetime
import os
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from test_config import ensure_recording

FSBP = "aws-foundational-security-best-practices/v/1.0.0"


def account(server):
    return server.client("sts").get_caller_identity()["Account"]


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def fresh_hub(server, region, **kw):
    """A Security Hub client for `region` with the hub newly enabled."""
    sh = server.client("securityhub", region=region)
    try:
        sh.disable_security_hub()
    except ClientError:
        pass
    sh.enable_security_hub(**kw)
    return sh


def product(region):
    return f"arn:aws:securityhub:{region}:{ACCOUNT}:product/{ACCOUNT}/default"


ACCOUNT = None


@pytest.fixture(autouse=True)
def _account(server):
    global ACCOUNT
    ACCOUNT = account(server)


def finding(region, fid, **over):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    f = {
        "SchemaVersion": "2018-10-08",
        "Id": fid,
        "ProductArn": product(region),
        "GeneratorId": "scanner/rule-7",
        "AwsAccountId": ACCOUNT,
        "Types": ["Software and Configuration Checks/Vulnerabilities/CVE"],
        "CreatedAt": now,
        "UpdatedAt": now,
        "Severity": {"Label": "HIGH"},
        "Title": "Outdated OpenSSL on host-1",
        "Description": "A package with a known CVE is installed.",
        "Resources": [{"Type": "Other", "Id": "host-1"}],
    }
    f.update(over)
    return f


def test_hub_lifecycle_and_errors(server):
    region = "eu-west-3"
    sh = server.client("securityhub", region=region)
    try:
        sh.disable_security_hub()
    except ClientError:
        pass
    with pytest.raises(ClientError) as e:
        sh.describe_hub()
    assert code(e) == "InvalidAccessException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    with pytest.raises(ClientError) as e:
        sh.get_findings()
    assert code(e) == "InvalidAccessException"

    sh.enable_security_hub(EnableDefaultStandards=False)
    hub = sh.describe_hub()
    assert hub["HubArn"] == f"arn:aws:securityhub:{region}:{ACCOUNT}:hub/default"
    assert hub["SubscribedAt"]
    assert sh.get_enabled_standards()["StandardsSubscriptions"] == []
    with pytest.raises(ClientError) as e:
        sh.enable_security_hub()
    assert code(e) == "ResourceConflictException"

    sh.disable_security_hub()
    with pytest.raises(ClientError) as e:
        sh.describe_hub()
    assert code(e) == "InvalidAccessException"
    with pytest.raises(ClientError) as e:
        sh.disable_security_hub()
    assert code(e) == "InvalidAccessException"

    sh.enable_security_hub()  # default standards on
    arns = [s["StandardsArn"] for s in sh.get_enabled_standards()["StandardsSubscriptions"]]
    assert arns == [f"arn:aws:securityhub:{region}::standards/{FSBP}"]
    sh.disable_security_hub()


def test_import_filter_and_update_findings(server):
    region = "eu-west-2"
    sh = fresh_hub(server, region, EnableDefaultStandards=False)
    tag = uuid.uuid4().hex[:8]
    old = "2026-01-10T08:00:00.000Z"
    good = [
        finding(region, f"{tag}/1", Confidence=90),
        finding(
            region,
            f"{tag}/2",
            Title="S3 bucket readable by anyone",
            Severity={"Normalized": 30},
            Confidence=40,
            CreatedAt=old,
            UpdatedAt=old,
            Resources=[{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::open", "Tags": {"env": "prod"}}],
        ),
    ]
    bad = finding(region, f"{tag}/bad", Types=["Not A Namespace/x"])
    out = sh.batch_import_findings(Findings=good + [bad])
    assert out["SuccessCount"] == 2 and out["FailedCount"] == 1
    failed = out["FailedFindings"][0]
    assert failed["Id"] == f"{tag}/bad" and failed["ErrorCode"] == "InvalidInput"
    assert "Types" in failed["ErrorMessage"]
    stale = finding(region, f"{tag}/late", CreatedAt="last tuesday")
    out = sh.batch_import_findings(Findings=[stale])
    assert out["FailedCount"] == 1 and "CreatedAt" in out["FailedFindings"][0]["ErrorMessage"]

    def ids(**filters):
        fs = sh.get_findings(Filters=filters)["Findings"]
        return sorted(f["Id"] for f in fs if f["Id"].startswith(tag))

    mine = {"Id": [{"Value": tag, "Comparison": "PREFIX"}]}
    assert ids(**mine) == [f"{tag}/1", f"{tag}/2"]
    assert ids(**mine, Title=[{"Value": "S3 bucket", "Comparison": "PREFIX"}]) == [f"{tag}/2"]
    assert ids(**mine, Title=[{"Value": "OpenSSL", "Comparison": "CONTAINS"}]) == [f"{tag}/1"]
    assert ids(**mine, Title=[{"Value": "OpenSSL", "Comparison": "NOT_CONTAINS"}]) == [f"{tag}/2"]
    assert ids(**mine, SeverityLabel=[{"Value": "LOW", "Comparison": "EQUALS"}]) == [f"{tag}/2"]
    assert ids(**mine, Confidence=[{"Gte": 50}]) == [f"{tag}/1"]
    assert ids(**mine, SeverityNormalized=[{"Lt": 40}]) == [f"{tag}/2"]
    assert ids(**mine, CreatedAt=[{"DateRange": {"Value": 7, "Unit": "DAYS"}}]) == [f"{tag}/1"]
    assert ids(
        **mine, CreatedAt=[{"Start": "2026-01-01T00:00:00Z", "End": "2026-01-31T00:00:00Z"}]
    ) == [f"{tag}/2"]
    assert ids(**mine, ResourceTags=[{"Key": "env", "Value": "prod", "Comparison": "EQUALS"}]) == [
        f"{tag}/2"
    ]
    page = sh.get_findings(Filters=mine, MaxResults=1, SortCriteria=[{"Field": "Confidence", "SortOrder": "asc"}])
    assert [f["Id"] for f in page["Findings"]] == [f"{tag}/2"] and page["NextToken"]
    nxt = sh.get_findings(Filters=mine, MaxResults=1, NextToken=page["NextToken"], SortCriteria=[{"Field": "Confidence", "SortOrder": "asc"}])
    assert [f["Id"] for f in nxt["Findings"]] == [f"{tag}/1"]
    stored = sh.get_findings(Filters={"Id": [{"Value": f"{tag}/2", "Comparison": "EQUALS"}]})["Findings"][0]
    assert stored["Severity"]["Label"] == "LOW" and stored["Workflow"]["Status"] == "NEW"
    assert stored["Region"] == region

    ident = {"Id": f"{tag}/1", "ProductArn": product(region)}
    missing = {"Id": f"{tag}/nope", "ProductArn": product(region)}
    out = sh.batch_update_findings(
        FindingIdentifiers=[ident, missing],
        Workflow={"Status": "SUPPRESSED"},
        Severity={"Label": "CRITICAL"},
        Note={"Text": "accepted risk", "UpdatedBy": "alice"},
        VerificationState="BENIGN_POSITIVE",
        UserDefinedFields={"ticket": "SEC-1"},
    )
    assert out["ProcessedFindings"] == [ident]
    assert out["UnprocessedFindings"][0]["FindingIdentifier"] == missing
    assert ids(**mine, WorkflowStatus=[{"Value": "SUPPRESSED", "Comparison": "EQUALS"}]) == [f"{tag}/1"]
    f1 = sh.get_findings(Filters={"Id": [{"Value": f"{tag}/1", "Comparison": "EQUALS"}]})["Findings"][0]
    assert f1["Severity"]["Label"] == "CRITICAL" and f1["Severity"]["Normalized"] == 90
    assert f1["Note"]["Text"] == "accepted risk" and f1["UserDefinedFields"] == {"ticket": "SEC-1"}
    assert f1["VerificationState"] == "BENIGN_POSITIVE"
    # A provider's re-import keeps the customer's workflow.
    sh.batch_import_findings(Findings=[finding(region, f"{tag}/1", Title="Outdated OpenSSL (again)")])
    f1 = sh.get_findings(Filters={"Id": [{"Value": f"{tag}/1", "Comparison": "EQUALS"}]})["Findings"][0]
    assert f1["Title"] == "Outdated OpenSSL (again)" and f1["Workflow"]["Status"] == "SUPPRESSED"
    with pytest.raises(ClientError) as e:
        sh.get_findings(Filters={"Title": [{"Value": "a", "Comparison": "EQUALS"}, {"Value": "b", "Comparison": "NOT_EQUALS"}]})
    assert code(e) == "InvalidInputException"
    sh.disable_security_hub()


def control_finding(sh, control, resource_id):
    fs = sh.get_findings(
        Filters={
            "ComplianceSecurityControlId": [{"Value": control, "Comparison": "EQUALS"}],
            "ResourceId": [{"Value": resource_id, "Comparison": "EQUALS"}],
            "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
        }
    )["Findings"]
    return fs[0] if fs else None


def wait_status(sh, control, resource_id, want, timeout=10):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = control_finding(sh, control, resource_id)
        if last and last["Compliance"]["Status"] == want:
            return last
        time.sleep(0.3)
    raise AssertionError(f"{control} on {resource_id}: wanted {want}, last {last}")


def wait_gone(sh, control, resource_id, timeout=10):
    """Polls until the control has no active finding for the resource (archived)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        last = control_finding(sh, control, resource_id)
        if last is None:
            return
        time.sleep(0.3)
    raise AssertionError(f"{control} on {resource_id} still active: {last}")


def posture(server, region):
    env = dict(os.environ)
    env.pop("AWS_PROFILE", None)
    env.update(AWS_ACCESS_KEY_ID=server.root_key, AWS_SECRET_ACCESS_KEY=server.root_secret)
    return subprocess.run(
        [os.environ["RAMPART_BIN"], "posture", "--endpoint-url", server.endpoint, "--region", region],
        capture_output=True,
        text=True,
        env=env,
        timeout=10,
    )


def iam2_failures(report):
    """How many resources `rampart posture` says fail IAM.2 (0 when it is not listed)."""
    for line in report.splitlines():
        if line.strip().startswith("IAM.2 "):
            return int(line.rsplit("(", 1)[1].split()[0])
    return 0


def test_standards_and_controls_follow_config(server):
    region = "us-east-1"
    sh = fresh_hub(server, region, EnableDefaultStandards=False)
    standards = sh.describe_standards()["Standards"]
    fsbp = f"arn:aws:securityhub:{region}::standards/{FSBP}"
    assert fsbp in [s["StandardsArn"] for s in standards]
    with pytest.raises(ClientError) as e:
        sh.batch_enable_standards(StandardsSubscriptionRequests=[{"StandardsArn": "arn:aws:securityhub:us-east-1::standards/none/v/1"}])
    assert code(e) == "InvalidInputException"
    sub = sh.batch_enable_standards(StandardsSubscriptionRequests=[{"StandardsArn": fsbp}])
    sub_arn = sub["StandardsSubscriptions"][0]["StandardsSubscriptionArn"]
    assert sub_arn == f"arn:aws:securityhub:{region}:{ACCOUNT}:subscription/{FSBP}"
    controls = {c["ControlId"]: c for c in sh.describe_standards_controls(StandardsSubscriptionArn=sub_arn)["Controls"]}
    assert controls["IAM.2"]["SeverityRating"] == "LOW" and controls["IAM.2"]["ControlStatus"] == "ENABLED"
    assert controls["IAM.1"]["SeverityRating"] == "HIGH"
    assert "KMS.4" not in controls  # not part of FSBP
    d = sh.get_security_control_definition(SecurityControlId="KMS.4")["SecurityControlDefinition"]
    assert d["SeverityRating"] == "MEDIUM" and d["Title"] == "AWS KMS key rotation should be enabled"
    with pytest.raises(ClientError) as e:
        sh.get_security_control_definition(SecurityControlId="NOPE.1")
    assert code(e) == "ResourceNotFoundException"
    defs = sh.list_security_control_definitions(StandardsArn=fsbp)["SecurityControlDefinitions"]
    assert "IAM.2" in [x["SecurityControlId"] for x in defs]

    # A user with an inline policy fails IAM.2 once Config records it; removing it passes.
    iam = server.client("iam")
    ensure_recording(server)
    user = f"sh-user-{uuid.uuid4().hex[:8]}"
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.put_user_policy(
        UserName=user,
        PolicyName="inline",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}',
    )
    failed = wait_status(sh, "IAM.2", arn, "FAILED")
    assert failed["ProductArn"] == f"arn:aws:securityhub:{region}::product/aws/securityhub"
    assert failed["GeneratorId"] == "security-control/IAM.2"
    assert failed["Severity"]["Label"] == "LOW"
    assert failed["Resources"][0]["Type"] == "AwsIamUser"
    assert failed["Workflow"]["Status"] == "NEW"
    assert failed["Compliance"]["AssociatedStandards"] == [{"StandardsId": f"standards/{FSBP}"}]
    out = posture(server, region)
    assert out.returncode == 1 and "Security score: " in out.stdout, out.stderr
    assert "LOW" in out.stdout.splitlines()
    failing_before = iam2_failures(out.stdout)
    assert failing_before >= 1
    iam.delete_user_policy(UserName=user, PolicyName="inline")
    passed = wait_status(sh, "IAM.2", arn, "PASSED")
    assert passed["Id"] == failed["Id"] and passed["Workflow"]["Status"] == "RESOLVED"
    # Other tests' users may fail IAM.2 too: this user no longer counts.
    assert iam2_failures(posture(server, region).stdout) == failing_before - 1

    # Turning the control off archives its findings; on again brings them back.
    ctl = controls["IAM.2"]["StandardsControlArn"]
    with pytest.raises(ClientError) as e:
        sh.update_standards_control(StandardsControlArn=ctl, ControlStatus="DISABLED")
    assert code(e) == "InvalidInputException"
    sh.update_standards_control(StandardsControlArn=ctl, ControlStatus="DISABLED", DisabledReason="not used here")
    wait_gone(sh, "IAM.2", arn)
    status = {c["ControlId"]: c for c in sh.describe_standards_controls(StandardsSubscriptionArn=sub_arn)["Controls"]}
    assert status["IAM.2"]["ControlStatus"] == "DISABLED" and status["IAM.2"]["DisabledReason"] == "not used here"
    sh.update_standards_control(StandardsControlArn=ctl, ControlStatus="ENABLED")
    assert wait_status(sh, "IAM.2", arn, "PASSED")["Id"] == failed["Id"]

    sh.batch_disable_standards(StandardsSubscriptionArns=[sub_arn])
    assert sh.get_enabled_standards()["StandardsSubscriptions"] == []
    wait_gone(sh, "IAM.2", arn)
    iam.delete_user(UserName=user)
    sh.disable_security_hub()
