"""Operators' Sigma rules end to end with boto3: rules written here into a folder the server
loads with `--sigma-rules`, findings of type `Rampart:Custom/<rule id>` from doing what each
rule describes, nothing for near misses, a count over a timeframe on the dev clock, the
findings in Security Hub, and a server that refuses to start on a rule it cannot load."""

import json
import os
import subprocess
import tempfile
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import BIN, RUN_DIR, Server, advance

REGION = "us-east-1"

RULES = {
    # A selection on eventName and userAgent.
    "redteam.yml": """
title: Bucket listing from a red-team tool
id: redteam-listing
description: A red-team tool listed the account's buckets.
level: high
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventName: ListBuckets
    userAgent|contains: rampart-redteam
  condition: selection
""",
    # `1 of selection*` with a filter.
    "persistence.yaml": """
title: IAM persistence
id: iam-persistence
level: critical
logsource:
  product: aws
  service: cloudtrail
detection:
  selection_key:
    eventSource: iam.amazonaws.com
    eventName: CreateAccessKey
    requestParameters.userName: 'svc-*'
  selection_policy:
    eventName: PutUserPolicy
    requestParameters.policyName|endswith: -backdoor
  failed:
    errorCode|exists: true
  condition: 1 of selection* and not failed
""",
    # A count of denied calls per caller over a timeframe.
    "denied.yml": """
title: Repeated denied calls
id: denied-burst
description: One principal was denied more than three times within five minutes.
level: medium
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    errorCode:
      - AccessDenied
      - '*UnauthorizedOperation'
  timeframe: 5m
  condition: selection | count() by userIdentity.arn > 3
""",
    # Another log source: skipped with a warning, not an error.
    "windows.yml": """
title: Not CloudTrail
id: not-cloudtrail
level: low
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  condition: selection
""",
}

REDTEAM = "Rampart:Custom/redteam-listing"
PERSISTENCE = "Rampart:Custom/iam-persistence"
DENIED = "Rampart:Custom/denied-burst"


def write_rules(rules):
    folder = tempfile.mkdtemp(prefix="sigma-", dir=RUN_DIR)
    for name, text in rules.items():
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)
    return folder


@pytest.fixture(scope="module")
def env():
    """A dev-mode server running the rules above, Security Hub on, an administrator user and
    a user with no permissions, and a detector in the test region."""
    s = Server("--dev", "--sigma-rules", write_rules(RULES))
    s.sh = s.client("securityhub")
    s.sh.enable_security_hub(EnableDefaultStandards=False)
    iam = s.client("iam")
    s.keys = {}
    everything = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    for user in ["admin", "nobody"]:
        iam.create_user(UserName=user)
        if user == "admin":
            iam.put_user_policy(UserName=user, PolicyName="all", PolicyDocument=everything)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        s.keys[user] = (key["AccessKeyId"], key["SecretAccessKey"])
    s.gd = as_user(s, "admin", "guardduty")
    s.detector = s.gd.create_detector(Enable=True)["DetectorId"]
    yield s
    s.stop()


def as_user(env, user, service, config=None):
    key, secret = env.keys[user]
    return env.client(service, key=key, secret=secret, region=REGION, config=config)


def of_type(kind):
    return {"Criterion": {"type": {"Eq": [kind]}}}


def findings(env, kind):
    ids = env.gd.list_findings(DetectorId=env.detector, FindingCriteria=of_type(kind))["FindingIds"]
    return env.gd.get_findings(DetectorId=env.detector, FindingIds=ids)["Findings"] if ids else []


def wait_for(check, timeout=8.0):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value or time.time() > deadline:
            return value
        time.sleep(0.2)


def settle():
    """Long enough for the detection consumer to have looked at every earlier call."""
    time.sleep(2.0)


def test_a_selection_on_event_name_and_user_agent(env):
    redteam = Config(user_agent_extra="rampart-redteam/1.0")
    # Near misses: the right call with an ordinary agent, another call with the tool's agent.
    as_user(env, "admin", "s3").list_buckets()
    as_user(env, "admin", "sts", config=redteam).get_caller_identity()
    settle()
    assert findings(env, REDTEAM) == []
    as_user(env, "admin", "s3", config=redteam).list_buckets()
    [f] = wait_for(lambda: findings(env, REDTEAM))
    assert f["Severity"] == 8.0
    assert f["Title"] == "Bucket listing from a red-team tool"
    assert f["Description"].startswith("A red-team tool listed the account's buckets.")
    assert f["Resource"]["ResourceType"] == "AccessKey"
    assert f["Resource"]["AccessKeyDetails"]["UserName"] == "admin"
    assert f["Resource"]["AccessKeyDetails"]["AccessKeyId"] == env.keys["admin"][0]
    call = f["Service"]["Action"]["AwsApiCallAction"]
    assert call["Api"] == "ListBuckets" and "rampart-redteam" in call["UserAgent"]
    info = json.loads(f["Service"]["AdditionalInfo"]["Value"])
    assert info["sigmaRuleId"] == "redteam-listing"
    # A repeat updates the same finding.
    as_user(env, "admin", "s3", config=redteam).list_buckets()
    again = wait_for(lambda: [x for x in findings(env, REDTEAM) if x["Service"]["Count"] == 2])
    assert len(again) == 1 and again[0]["Id"] == f["Id"]
    assert again[0]["Service"]["EventLastSeen"] >= f["Service"]["EventLastSeen"]
    # The custom finding reaches Security Hub like a built-in one.
    def in_hub():
        return env.sh.get_findings(
            Filters={"ProductName": [{"Value": "GuardDuty", "Comparison": "EQUALS"}],
                     "Title": [{"Value": f["Title"], "Comparison": "EQUALS"}]}
        )["Findings"]
    [hub] = wait_for(in_hub, timeout=10.0)
    assert hub["Severity"]["Label"] == "HIGH"
    assert hub["Types"] == ["TTPs/Rampart:Custom-redteam-listing"]


def test_one_of_the_selections_and_not_the_filter(env):
    iam = as_user(env, "admin", "iam")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})
    for user in ["svc-deploy", "alice"]:
        iam.create_user(UserName=user)
    # Near misses: a key for a user outside `svc-*`, a policy with an ordinary name, a
    # matching call that fails.
    iam.create_access_key(UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="readonly", PolicyDocument=policy)
    with pytest.raises(ClientError):
        iam.create_access_key(UserName="svc-missing")
    settle()
    assert findings(env, PERSISTENCE) == []
    iam.create_access_key(UserName="svc-deploy")
    [f] = wait_for(lambda: findings(env, PERSISTENCE))
    assert f["Severity"] == 9.0
    assert f["Service"]["Action"]["AwsApiCallAction"]["Api"] == "CreateAccessKey"
    # The other selection, by the same principal: the same finding, counted.
    iam.put_user_policy(UserName="alice", PolicyName="x-backdoor", PolicyDocument=policy)
    [again] = wait_for(lambda: [x for x in findings(env, PERSISTENCE) if x["Service"]["Count"] == 2])
    assert again["Id"] == f["Id"]
    assert again["Service"]["Action"]["AwsApiCallAction"]["Api"] == "PutUserPolicy"


def test_a_count_of_denied_calls_within_the_timeframe(env):
    iam = as_user(env, "nobody", "iam")

    def denied(n):
        for _ in range(n):
            with pytest.raises(ClientError) as e:
                iam.list_users()
            assert e.value.response["Error"]["Code"] == "AccessDenied"

    # Three denials are not more than three.
    denied(3)
    settle()
    assert findings(env, DENIED) == []
    # The window slides: after six minutes those three no longer count.
    advance(env, 360)
    denied(3)
    settle()
    assert findings(env, DENIED) == []
    # A fourth within five minutes is.
    denied(1)
    [f] = wait_for(lambda: findings(env, DENIED))
    assert f["Severity"] == 5.0
    assert f["Resource"]["AccessKeyDetails"]["UserName"] == "nobody"
    assert f["Service"]["Action"]["AwsApiCallAction"]["ErrorCode"] == "AccessDenied"
    info = json.loads(f["Service"]["AdditionalInfo"]["Value"])
    assert info["count"] == 4 and info["timeframeSeconds"] == 300
    # The administrator's successful calls never counted.
    assert all("nobody" in x["Resource"]["AccessKeyDetails"]["UserName"] for x in findings(env, DENIED))


def start(rules):
    """Runs `rampart serve` with `rules`; returns (exit code or None if it started, output)."""
    data = tempfile.mkdtemp(prefix="rampart-e2e-", dir=RUN_DIR)
    proc = subprocess.Popen(
        [BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--sigma-rules", write_rules(rules)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        out, _ = proc.communicate(timeout=20)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        proc.kill()
        return None, proc.communicate()[0]


def test_a_rule_that_does_not_load_stops_the_server():
    typo = RULES["redteam.yml"].replace("condition: selection", "condition: selction")
    code, out = start({"ok.yml": RULES["denied.yml"], "typo.yml": typo})
    assert code not in (None, 0), out
    assert "typo.yml" in out and "no selection is named `selction`" in out, out
    unsupported = RULES["redteam.yml"].replace("userAgent|contains", "userAgent|base64offset|contains")
    code, out = start({"b64.yml": unsupported})
    assert code not in (None, 0), out
    assert "b64.yml" in out and "`base64offset` is not supported" in out, out
