"""Security Hub automation rules end to end with boto3: rules created, read, listed, updated
and deleted with AWS's errors; on import the matching enabled rules update findings in
RuleOrder (suppressing, raising or lowering severity, adding notes), a terminal rule ends the
run, findings that match no rule are untouched, and a customer's BatchUpdateFindings does not
run rules; a rule also applies to a finding GuardDuty delivers through the integration and
to Security Hub's own control findings."""

import json
import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Server
import test_securityhub
from test_config import ensure_recording
from test_securityhub import code, finding, fresh_hub, wait_status
from test_securityhub_integrations import wait_for

REGION = "sa-east-1"


@pytest.fixture(autouse=True)
def _account(server):
    """`finding` builds findings for the caller's account."""
    test_securityhub.ACCOUNT = server.client("sts").get_caller_identity()["Account"]


def clear_rules(sh):
    arns = [r["RuleArn"] for r in sh.list_automation_rules()["AutomationRulesMetadata"]]
    if arns:
        sh.batch_delete_automation_rules(AutomationRulesArns=arns)


def update(**fields):
    return [{"Type": "FINDING_FIELDS_UPDATE", "FindingFieldsUpdate": fields}]


def prefix(value):
    return [{"Value": value, "Comparison": "PREFIX"}]


def eq(value):
    return [{"Value": value, "Comparison": "EQUALS"}]


def rule(sh, name, order, criteria, actions, **kw):
    return sh.create_automation_rule(
        RuleName=name, Description=f"{name} rule", RuleOrder=order, Criteria=criteria, Actions=actions, **kw
    )["RuleArn"]


def get(sh, fid):
    [f] = sh.get_findings(Filters={"Id": eq(fid)})["Findings"]
    return f


def test_rules_update_imported_findings_in_order(server):
    sh = fresh_hub(server, REGION, EnableDefaultStandards=False)
    clear_rules(sh)
    tag = uuid.uuid4().hex[:8]
    # Order 1, terminal: the production database's findings become CRITICAL, nothing else.
    critical = rule(
        sh, "prod-db", 1, {"ResourceId": eq(f"{tag}-prod-db")},
        update(Severity={"Label": "CRITICAL"}, UserDefinedFields={"owner": "dba"}), IsTerminal=True,
    )
    # Order 2: test hosts' findings are suppressed with a note.
    suppress = rule(
        sh, "test-hosts", 2, {"Title": prefix("[test]"), "Id": prefix(tag)},
        update(Workflow={"Status": "SUPPRESSED"}, Note={"Text": "test host", "UpdatedBy": "automation"}),
    )
    # Order 3: every finding of this run is lowered to LOW.
    lower = rule(sh, "lower", 3, {"Id": prefix(tag)}, update(Severity={"Label": "LOW"}, Confidence=10))

    provider_time = "2026-12-01T08:00:00.000Z"
    sh.batch_import_findings(
        Findings=[
            finding(REGION, f"{tag}/test", Title="[test] debug port open", UpdatedAt=provider_time),
            finding(REGION, f"{tag}/db", Resources=[{"Type": "Other", "Id": f"{tag}-prod-db"}]),
            finding(REGION, f"x{tag}/other", Title="[test] not ours"),
        ]
    )
    test = get(sh, f"{tag}/test")
    assert test["Workflow"]["Status"] == "SUPPRESSED"
    assert test["Note"]["Text"] == "test host" and test["Note"]["UpdatedBy"] == "automation"
    assert test["Severity"]["Label"] == "LOW" and test["Severity"]["Normalized"] == 1
    assert test["Confidence"] == 10
    assert test["UpdatedAt"] == provider_time and test["ProcessedAt"] > provider_time
    db = get(sh, f"{tag}/db")
    assert db["Severity"]["Label"] == "CRITICAL" and db["Severity"]["Normalized"] == 90
    assert db["UserDefinedFields"] == {"owner": "dba"}
    assert db["Workflow"]["Status"] == "NEW" and "Confidence" not in db
    other = get(sh, f"x{tag}/other")
    assert other["Severity"]["Label"] == "HIGH" and other["Workflow"]["Status"] == "NEW"
    assert "Note" not in other and "Confidence" not in other

    # A customer's update does not run rules.
    ident = {"Id": f"{tag}/db", "ProductArn": db["ProductArn"]}
    sh.batch_update_findings(FindingIdentifiers=[ident], Severity={"Label": "MEDIUM"})
    assert get(sh, f"{tag}/db")["Severity"]["Label"] == "MEDIUM"

    # A provider's update runs them again; a disabled rule no longer applies, and making the
    # first rule non-terminal lets the later ones apply to its findings.
    out = sh.batch_update_automation_rules(
        UpdateAutomationRulesRequestItems=[
            {"RuleArn": lower, "RuleStatus": "DISABLED"},
            {"RuleArn": critical, "IsTerminal": False},
        ]
    )
    assert sorted(out["ProcessedAutomationRules"]) == sorted([lower, critical])
    sh.batch_import_findings(
        Findings=[
            finding(REGION, f"{tag}/test", Title="[test] debug port open"),
            finding(REGION, f"{tag}/db", Title="[test] db", Resources=[{"Type": "Other", "Id": f"{tag}-prod-db"}]),
        ]
    )
    test = get(sh, f"{tag}/test")
    assert test["Severity"]["Label"] == "HIGH" and test["Workflow"]["Status"] == "SUPPRESSED"
    db = get(sh, f"{tag}/db")
    assert db["Severity"]["Label"] == "CRITICAL" and db["Workflow"]["Status"] == "SUPPRESSED"

    # Reading, listing in rule order, deleting.
    got = sh.batch_get_automation_rules(AutomationRulesArns=[suppress, f"{suppress}-gone"])
    [r] = got["Rules"]
    assert r["RuleName"] == "test-hosts" and r["RuleOrder"] == 2 and r["RuleStatus"] == "ENABLED"
    assert r["Criteria"]["Title"] == prefix("[test]") and r["IsTerminal"] is False
    assert r["Actions"][0]["FindingFieldsUpdate"]["Workflow"] == {"Status": "SUPPRESSED"}
    assert r["CreatedBy"].startswith("arn:aws:") and r["CreatedAt"] and r["UpdatedAt"]
    assert [u["RuleArn"] for u in got["UnprocessedAutomationRules"]] == [f"{suppress}-gone"]
    listed = sh.list_automation_rules()["AutomationRulesMetadata"]
    assert [x["RuleArn"] for x in listed] == [critical, suppress, lower]
    assert [x["RuleStatus"] for x in listed] == ["ENABLED", "ENABLED", "DISABLED"]
    page = sh.list_automation_rules(MaxResults=2)
    assert len(page["AutomationRulesMetadata"]) == 2 and page["NextToken"]
    sh.batch_update_automation_rules(UpdateAutomationRulesRequestItems=[{"RuleArn": lower, "RuleOrder": 1}])
    listed = sh.list_automation_rules()["AutomationRulesMetadata"]
    assert [x["RuleArn"] for x in listed] == [critical, lower, suppress]
    out = sh.batch_delete_automation_rules(AutomationRulesArns=[lower, f"{lower}-gone"])
    assert out["ProcessedAutomationRules"] == [lower]
    assert [u["RuleArn"] for u in out["UnprocessedAutomationRules"]] == [f"{lower}-gone"]
    clear_rules(sh)
    assert sh.list_automation_rules()["AutomationRulesMetadata"] == []


def test_rule_errors_and_quota(server):
    sh = fresh_hub(server, REGION, EnableDefaultStandards=False)
    clear_rules(sh)
    good = update(Workflow={"Status": "SUPPRESSED"})
    # The model's own bounds (RuleOrder 1-1000, one action) are checked by the wire layer.
    for bad in (dict(RuleOrder=1001, Actions=good), dict(RuleOrder=1, Actions=good + good)):
        args = {"RuleName": "bad", "Description": "bad", "Criteria": {}, **bad}
        with pytest.raises(ClientError) as e:
            sh.create_automation_rule(**args)
        assert code(e) == "ValidationException"
    for bad in (
        dict(RuleOrder=1, Actions=update()),
        dict(RuleOrder=1, Actions=[{"Type": "FINDING_FIELDS_UPDATE"}]),
        dict(RuleOrder=1, Actions=good, Criteria={"Title": [eq("a")[0], {"Value": "b", "Comparison": "NOT_EQUALS"}]}),
    ):
        args = {"RuleName": "bad", "Description": "bad", "Criteria": {}, **bad}
        with pytest.raises(ClientError) as e:
            sh.create_automation_rule(**args)
        assert code(e) == "InvalidInputException"
    assert sh.list_automation_rules()["AutomationRulesMetadata"] == []

    arn = rule(sh, "ok", 5, {}, good)
    with pytest.raises(ClientError) as e:
        sh.batch_update_automation_rules(
            UpdateAutomationRulesRequestItems=[
                {"RuleArn": arn, "RuleName": "renamed"},
                {"RuleArn": arn, "Actions": update()},
            ]
        )
    assert code(e) == "InvalidInputException"
    assert sh.batch_get_automation_rules(AutomationRulesArns=[arn])["Rules"][0]["RuleName"] == "ok"

    for n in range(99):
        rule(sh, f"rule {n}", 10 + n, {}, good, RuleStatus="DISABLED")
    with pytest.raises(ClientError) as e:
        rule(sh, "one too many", 500, {}, good)
    assert code(e) == "LimitExceededException"
    page = sh.list_automation_rules(MaxResults=100)
    assert len(page["AutomationRulesMetadata"]) == 100
    clear_rules(sh)


@pytest.fixture(scope="module")
def gd_env():
    """A server of its own with Security Hub on and a user whose calls GuardDuty sees."""
    s = Server("--dev")
    s.sh = s.client("securityhub")
    s.sh.enable_security_hub(EnableDefaultStandards=False)
    iam = s.client("iam")
    everything = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    iam.create_user(UserName="pentester")
    iam.put_user_policy(UserName="pentester", PolicyName="all", PolicyDocument=everything)
    key = iam.create_access_key(UserName="pentester")["AccessKey"]
    s.key = (key["AccessKeyId"], key["SecretAccessKey"])
    yield s
    s.stop()


def test_rules_apply_to_findings_guardduty_delivers(gd_env):
    sh = gd_env.sh
    lowered = rule(
        sh, "gd-pentest", 1,
        {"ProductName": eq("GuardDuty"), "Type": prefix("TTPs/PenTest")},
        update(Severity={"Label": "LOW"}, Workflow={"Status": "NOTIFIED"}, Note={"Text": "known red team", "UpdatedBy": "soc"}),
    )
    gd = gd_env.client("guardduty")
    detector = gd.create_detector(Enable=True)["DetectorId"]
    agent = Config(user_agent_extra="Linux/6.6.9-amd64.kali")
    gd_env.client("sts", key=gd_env.key[0], secret=gd_env.key[1], config=agent).get_caller_identity()

    def delivered():
        fs = sh.get_findings(Filters={"ProductName": eq("GuardDuty")})["Findings"]
        kali = [f for f in fs if f["Types"][0].startswith("TTPs/PenTest")]
        return (kali[0], [f for f in fs if f not in kali]) if kali else None

    f, others = wait_for(delivered)
    assert f["GeneratorId"].endswith(f"detector/{detector}")
    assert f["Severity"]["Label"] == "LOW" and f["Severity"]["Original"] == "5"
    assert f["Workflow"]["Status"] == "NOTIFIED" and f["Note"]["Text"] == "known red team"
    assert f["FindingProviderFields"]["Severity"]["Label"] == "MEDIUM"
    # GuardDuty's other findings (the root user's calls that set this test up) match no rule.
    for other in others:
        assert other["Workflow"]["Status"] == "NEW" and "Note" not in other
    sh.batch_delete_automation_rules(AutomationRulesArns=[lowered])


def test_rules_apply_to_control_findings(gd_env):
    """A rule suppressing IAM.2's finding for one user: that user's control finding is
    written SUPPRESSED when the control fails, another user's stays NEW."""
    sh = gd_env.sh
    region = "us-east-1"
    fsbp = f"arn:aws:securityhub:{region}::standards/aws-foundational-security-best-practices/v/1.0.0"
    sh.batch_enable_standards(StandardsSubscriptionRequests=[{"StandardsArn": fsbp}])
    ensure_recording(gd_env)
    iam = gd_env.client("iam")
    policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}'
    accepted, other = (f"sh-{name}-{uuid.uuid4().hex[:6]}" for name in ("accepted", "other"))
    arns = {}
    for user in (accepted, other):
        arns[user] = iam.create_user(UserName=user)["User"]["Arn"]
    rule(
        sh, "accepted-iam2", 1,
        {"ComplianceSecurityControlId": eq("IAM.2"), "ResourceId": eq(arns[accepted])},
        update(Workflow={"Status": "SUPPRESSED"}, Note={"Text": "risk accepted", "UpdatedBy": "ciso"}),
    )
    for user in (accepted, other):
        iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=policy)
    suppressed = wait_status(sh, "IAM.2", arns[accepted], "FAILED")
    assert suppressed["Workflow"]["Status"] == "SUPPRESSED"
    assert suppressed["Note"]["Text"] == "risk accepted"
    failing = wait_status(sh, "IAM.2", arns[other], "FAILED")
    assert failing["Workflow"]["Status"] == "NEW" and "Note" not in failing
