"""AWS Config custom Lambda rules end to end with boto3: a small HTTP server stands in for the
rule's Lambda function (registered with `--lambda-hook`), reads AWS's rule invocation event,
judges the bucket in the configuration item and answers with PutEvaluations, signed with its
own IAM user's credentials. A real change flips the bucket NON_COMPLIANT and the fix flips it
back; forged, expired and misused result tokens are refused; a function that is down or fails
shows in DescribeConfigRuleEvaluationStatus."""

import json
import socket
import time
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError
from conftest import Server, advance
from local_http import LambdaHook
from test_config import code, ensure_recording, unique, wait_compliance

FN = "arn:aws:lambda:us-east-1:123456789012:function:bucket-versioning"
FAILING = "arn:aws:lambda:us-east-1:123456789012:function:throws"
DOWN = "arn:aws:lambda:us-east-1:123456789012:function:down"
UNREGISTERED = "arn:aws:lambda:us-east-1:123456789012:function:nobody"


class Function(LambdaHook):
    """A Config rule Lambda behind HTTP: judges versioning of the bucket in the event and
    calls PutEvaluations back with `client` (its own credentials); `/throws` fails."""

    def invoke(self, path, event):
        if path == "/throws":
            raise KeyError("configurationItem")
        self.handle(event)

    def handle(self, event):
        invoking = json.loads(event["invokingEvent"])
        if invoking["messageType"] == "ScheduledNotification":
            evaluation = {
                "ComplianceResourceType": "AWS::::Account",
                "ComplianceResourceId": event["accountId"],
                "ComplianceType": "COMPLIANT",
                "OrderingTimestamp": datetime.now(timezone.utc),
            }
        else:
            item = invoking["configurationItem"]
            if item["configurationItemStatus"] == "ResourceDeleted" or event["eventLeftScope"]:
                compliance, note = "NOT_APPLICABLE", "gone"
            else:
                status = item["supplementaryConfiguration"].get("BucketVersioningConfiguration", {}).get("status")
                compliance = "COMPLIANT" if status == "Enabled" else "NON_COMPLIANT"
                note = f"versioning is {status}"
            evaluation = {
                "ComplianceResourceType": item["resourceType"],
                "ComplianceResourceId": item["resourceId"],
                "ComplianceType": compliance,
                "Annotation": note,
                "OrderingTimestamp": item["configurationItemCaptureTime"],
            }
        self.client.put_evaluations(Evaluations=[evaluation], ResultToken=event["resultToken"])


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def rig():
    fn = Function()
    server = Server(
        "--dev",
        "--lambda-hook", f"{FN}={fn.url}/check",
        "--lambda-hook", f"{FAILING}={fn.url}/throws",
        "--lambda-hook", f"{DOWN}=http://127.0.0.1:{closed_port()}/",
    )
    iam = server.client("iam")
    iam.create_user(UserName="rule-function")
    iam.put_user_policy(
        UserName="rule-function",
        PolicyName="put-evaluations",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "config:PutEvaluations", "Resource": "*"}]}),
    )
    key = iam.create_access_key(UserName="rule-function")["AccessKey"]
    fn.client = server.client("config", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    yield server, fn
    server.stop()
    fn.stop()


def lambda_rule(name, arn, details=None, bucket=None, params=None):
    rule = {
        "ConfigRuleName": name,
        "Source": {
            "Owner": "CUSTOM_LAMBDA",
            "SourceIdentifier": arn,
            "SourceDetails": details
            or [{"EventSource": "aws.config", "MessageType": "ConfigurationItemChangeNotification"}],
        },
    }
    if bucket:
        rule["Scope"] = {"ComplianceResourceTypes": ["AWS::S3::Bucket"], "ComplianceResourceId": bucket}
    if params is not None:
        rule["InputParameters"] = json.dumps(params)
    return rule


def wait_event(fn, rule, ok=lambda e: True, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        mine = [e for _, e in fn.events if e["configRuleName"] == rule and ok(e)]
        if mine:
            return mine[-1]
        time.sleep(0.2)
    raise AssertionError(f"no invocation of {rule}")


def wait_status(cfg, rule, ok, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = cfg.describe_config_rule_evaluation_status(ConfigRuleNames=[rule])["ConfigRulesEvaluationStatus"][0]
        if ok(status):
            return status
        time.sleep(0.2)
    raise AssertionError(f"{rule}: last status {status}")


def test_a_lambda_rule_flips_a_bucket_on_real_changes(rig):
    server, fn = rig
    cfg = ensure_recording(server)
    s3 = server.client("s3")
    bucket = unique("cfg-lambda")
    s3.create_bucket(Bucket=bucket)
    rule = unique("lambda-versioning")
    cfg.put_config_rule(ConfigRule=lambda_rule(rule, FN, bucket=bucket, params={"wanted": "Enabled"}))
    first = wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "NON_COMPLIANT")
    assert first["Annotation"] == "versioning is Off"

    # AWS's event shape.
    event = wait_event(fn, rule)
    described = cfg.describe_config_rules(ConfigRuleNames=[rule])["ConfigRules"][0]
    assert described["Source"] == lambda_rule(rule, FN)["Source"]
    assert event["configRuleName"] == rule
    assert event["configRuleArn"] == described["ConfigRuleArn"]
    assert event["configRuleId"] == described["ConfigRuleId"]
    assert event["accountId"] == server.client("sts").get_caller_identity()["Account"]
    assert event["executionRoleArn"] == "arn:aws:iam::123456789012:role/config-role"
    assert event["evaluationMode"] == "DETECTIVE"
    assert event["eventLeftScope"] is False
    assert json.loads(event["ruleParameters"]) == {"wanted": "Enabled"}
    invoking = json.loads(event["invokingEvent"])
    assert invoking["messageType"] == "ConfigurationItemChangeNotification"
    assert invoking["recordVersion"] == "1.3"
    assert invoking["notificationCreationTime"].endswith("Z")
    item = invoking["configurationItem"]
    assert (item["resourceType"], item["resourceId"], item["awsAccountId"]) == (
        "AWS::S3::Bucket", bucket, event["accountId"])
    assert item["configuration"]["name"] == bucket

    # The fix is a real change: the function is invoked with the new item.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    fixed = wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "COMPLIANT")
    assert fixed["Annotation"] == "versioning is Enabled"
    by_rule = cfg.describe_compliance_by_config_rule(ConfigRuleNames=[rule])["ComplianceByConfigRules"]
    assert by_rule[0]["Compliance"]["ComplianceType"] == "COMPLIANT"
    status = wait_status(cfg, rule, lambda s: "LastSuccessfulEvaluationTime" in s)
    assert "LastSuccessfulInvocationTime" in status
    assert "LastErrorCode" not in status

    # A deleted bucket: the function sees ResourceDeleted and reports NOT_APPLICABLE.
    s3.delete_bucket(Bucket=bucket)
    gone = wait_event(fn, rule, lambda e: json.loads(e["invokingEvent"])["configurationItem"][
        "configurationItemStatus"] == "ResourceDeleted")
    assert gone["eventLeftScope"] is True
    cfg.delete_config_rule(ConfigRuleName=rule)


def test_put_evaluations_checks_its_token_and_evaluations(rig):
    server, fn = rig
    cfg = ensure_recording(server)
    s3 = server.client("s3")
    bucket = unique("cfg-lambda-token")
    s3.create_bucket(Bucket=bucket)
    rule = unique("lambda-token")
    cfg.put_config_rule(ConfigRule=lambda_rule(rule, FN, bucket=bucket))
    wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "NON_COMPLIANT")
    token = wait_event(fn, rule)["resultToken"]
    now = datetime.now(timezone.utc)

    def put(evaluations, token=token, **kw):
        return fn.client.put_evaluations(Evaluations=evaluations, ResultToken=token, **kw)

    good = {"ComplianceResourceType": "AWS::S3::Bucket", "ComplianceResourceId": bucket,
            "ComplianceType": "COMPLIANT", "OrderingTimestamp": now}
    # TestMode checks and stores nothing.
    assert put([good], TestMode=True)["FailedEvaluations"] == []
    time.sleep(1)
    wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "NON_COMPLIANT", timeout=1)
    # Forged and altered tokens.
    for bad in ("forged", token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")):
        with pytest.raises(ClientError) as err:
            put([good], token=bad)
        assert code(err) == "InvalidResultTokenException"
    # Config supports only COMPLIANT, NON_COMPLIANT and NOT_APPLICABLE here; 100 at most.
    with pytest.raises(ClientError) as err:
        put([dict(good, ComplianceType="INSUFFICIENT_DATA")])
    assert code(err) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as err:
        put([dict(good, Annotation="x" * 257)])
    assert code(err) in ("InvalidParameterValueException", "ValidationException")
    with pytest.raises(ClientError) as err:
        put([good] * 101)
    assert code(err) in ("InvalidParameterValueException", "ValidationException")
    # A caller without config:PutEvaluations is refused before the token is looked at.
    with pytest.raises(ClientError) as err:
        iam = server.client("iam")
        iam.create_user(UserName="no-put")
        k = iam.create_access_key(UserName="no-put")["AccessKey"]
        server.client("config", key=k["AccessKeyId"], secret=k["SecretAccessKey"]).put_evaluations(
            Evaluations=[good], ResultToken=token)
    assert code(err) == "AccessDeniedException"
    # The real token stores the result.
    put([good])
    wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "COMPLIANT")
    # A token outlives neither its rule nor its hour.
    cfg.delete_config_rule(ConfigRuleName=rule)
    cfg.put_config_rule(ConfigRule=lambda_rule(rule, FN, bucket=bucket))
    with pytest.raises(ClientError) as err:
        put([good])
    assert code(err) == "NoSuchConfigRuleException"
    fresh = wait_event(fn, rule, lambda e: e["resultToken"] != token)["resultToken"]
    put([good], token=fresh)
    advance(server, 3700)
    with pytest.raises(ClientError) as err:
        put([good], token=fresh)
    assert code(err) == "InvalidResultTokenException"
    cfg.delete_config_rule(ConfigRuleName=rule)


def test_failed_invocations_show_in_the_status(rig):
    server, fn = rig
    cfg = ensure_recording(server)
    s3 = server.client("s3")
    bucket = unique("cfg-lambda-down")
    s3.create_bucket(Bucket=bucket)
    expected = {DOWN: "ServiceException", FAILING: "KeyError", UNREGISTERED: "ResourceNotFoundException"}
    rules = {}
    for arn, error in expected.items():
        rule = unique("lambda-fails")
        rules[rule] = error
        cfg.put_config_rule(ConfigRule=lambda_rule(rule, arn, bucket=bucket))
    for rule, error in rules.items():
        status = wait_status(cfg, rule, lambda s: "LastErrorCode" in s)
        assert status["LastErrorCode"] == error
        assert "LastFailedInvocationTime" in status
        assert "LastSuccessfulInvocationTime" not in status
        if error == "KeyError":  # the function's own errorMessage
            assert "configurationItem" in status["LastErrorMessage"]
        elif error == "ResourceNotFoundException":
            assert UNREGISTERED in status["LastErrorMessage"]
        else:
            assert "could not be reached" in status["LastErrorMessage"]
    # Nothing was evaluated.
    results = cfg.get_compliance_details_by_resource(
        ResourceType="AWS::S3::Bucket", ResourceId=bucket)["EvaluationResults"]
    assert not [r for r in results if r["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ConfigRuleName"] in rules]
    for rule in rules:
        cfg.delete_config_rule(ConfigRuleName=rule)


def test_a_periodic_lambda_rule_is_invoked_on_schedule(rig):
    server, fn = rig
    cfg = ensure_recording(server)
    rule = unique("lambda-periodic")
    details = [{"EventSource": "aws.config", "MessageType": "ScheduledNotification",
                "MaximumExecutionFrequency": "One_Hour"}]
    cfg.put_config_rule(ConfigRule=lambda_rule(rule, FN, details=details))
    assert cfg.describe_config_rules(ConfigRuleNames=[rule])["ConfigRules"][0]["MaximumExecutionFrequency"] == "One_Hour"
    account = server.client("sts").get_caller_identity()["Account"]
    wait_compliance(cfg, rule, "AWS::::Account", account, "COMPLIANT")
    first = [e for _, e in fn.events if e["configRuleName"] == rule]
    assert json.loads(first[0]["invokingEvent"])["messageType"] == "ScheduledNotification"
    advance(server, 3700)
    wait_event(fn, rule, lambda e: e not in first)
    cfg.delete_config_rule(ConfigRuleName=rule)


def test_lambda_rules_refuse_bad_sources(rig):
    server, _ = rig
    cfg = ensure_recording(server)
    bad = [
        lambda_rule("bad-arn", "arn:aws:s3:::bucket"),
        lambda_rule("bad-type", FN, details=[{"EventSource": "aws.config", "MessageType": "Sometimes"}]),
        lambda_rule("bad-freq", FN, details=[{"EventSource": "aws.config",
                                              "MessageType": "ConfigurationItemChangeNotification",
                                              "MaximumExecutionFrequency": "One_Hour"}]),
        lambda_rule("bad-params", FN, params=None) | {"InputParameters": "[1]"},
    ]
    no_details = lambda_rule("no-details", FN)
    del no_details["Source"]["SourceDetails"]
    for rule in bad + [no_details]:
        with pytest.raises(ClientError) as err:
            cfg.put_config_rule(ConfigRule=rule)
        # A message type outside the model's enum is refused by the model's validation.
        want = "ValidationException" if rule["ConfigRuleName"] == "bad-type" else "InvalidParameterValueException"
        assert code(err) == want, rule["ConfigRuleName"]
    names = [r["ConfigRuleName"] for r in cfg.describe_config_rules()["ConfigRules"]]
    assert not {"bad-arn", "bad-type", "bad-freq", "bad-params", "no-details"} & set(names)
