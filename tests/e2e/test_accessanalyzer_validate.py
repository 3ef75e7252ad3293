"""IAM Access Analyzer's ValidatePolicy end to end with boto3: AWS's response shape, issue
codes per policy type, locations whose paths and spans point into the text sent, paging,
ValidationException for a bad policy type, authorization of access-analyzer:ValidatePolicy,
and `rampart policy validate --access-analyzer` printing the same findings offline."""

import json
import os
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import BIN

PASS_ROLE = """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["iam:PassRole", "s3:*", "s3:GetObject"],
      "Resource": "*"
    }
  ]
}"""


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def covered(text, location):
    span = location["span"]
    return text[span["start"]["offset"]:span["end"]["offset"]]


def codes(findings):
    return sorted(f["issueCode"] for f in findings)


def test_shape_codes_and_spans(server):
    aa = server.client("accessanalyzer")
    out = aa.validate_policy(policyDocument=PASS_ROLE, policyType="IDENTITY_POLICY")
    found = {f["issueCode"]: f for f in out["findings"]}
    assert sorted(found) == ["PASS_ROLE_WITH_STAR_IN_RESOURCE", "REDUNDANT_ACTION"]
    assert "nextToken" not in out
    warning = found["PASS_ROLE_WITH_STAR_IN_RESOURCE"]
    assert warning["findingType"] == "SECURITY_WARNING"
    assert warning["learnMoreLink"].startswith("https://docs.aws.amazon.com/IAM/latest/UserGuide/")
    assert "iam:PassRole" in warning["findingDetails"]
    [loc] = warning["locations"]
    assert loc["path"] == [{"value": "Statement"}, {"index": 0}, {"value": "Resource"}]
    assert covered(PASS_ROLE, loc) == '"*"'
    assert loc["span"]["start"] == {"line": 7, "column": 18, "offset": PASS_ROLE.index('"*"')}
    assert loc["span"]["end"]["column"] == 21
    redundant = found["REDUNDANT_ACTION"]
    assert redundant["findingType"] == "SUGGESTION"
    [loc] = redundant["locations"]
    assert loc["path"] == [{"value": "Statement"}, {"index": 0}, {"value": "Action"}, {"index": 2}]
    assert covered(PASS_ROLE, loc) == '"s3:GetObject"'


def test_errors_point_at_keys_and_values(server):
    aa = server.client("accessanalyzer")
    text = json.dumps({
        "Statement": [{"Effect": "allow", "Action": "iam:CreateUsers", "Resource": "bucket",
                       "Principal": "*", "Condition": {"StringEqualz": {"aws:username": "x"}}}],
    }, indent=1)
    findings = aa.validate_policy(policyDocument=text, policyType="IDENTITY_POLICY")["findings"]
    assert codes(findings) == [
        "INVALID_ACTION", "INVALID_ARN_PREFIX", "INVALID_CONDITION_OPERATOR", "INVALID_EFFECT",
        "MISSING_VERSION", "UNSUPPORTED_PRINCIPAL",
    ]
    spans = {f["issueCode"]: covered(text, f["locations"][0]) for f in findings}
    assert spans["INVALID_EFFECT"] == '"allow"'
    assert spans["INVALID_ACTION"] == '"iam:CreateUsers"'
    assert spans["INVALID_ARN_PREFIX"] == '"bucket"'
    assert spans["UNSUPPORTED_PRINCIPAL"] == '"Principal"'
    assert spans["INVALID_CONDITION_OPERATOR"] == '"StringEqualz"'
    assert spans["MISSING_VERSION"] == text
    by = {f["issueCode"]: f for f in findings}
    assert by["UNSUPPORTED_PRINCIPAL"]["locations"][0]["path"][-1] == {"key": "Principal"}
    assert by["MISSING_VERSION"]["findingType"] == "WARNING"
    assert all(f["findingType"] == "ERROR" for f in findings if f["issueCode"] != "MISSING_VERSION")


def test_policy_types(server):
    aa = server.client("accessanalyzer")

    def check(doc, policy_type, resource_type=None):
        kwargs = {"validatePolicyResourceType": resource_type} if resource_type else {}
        out = aa.validate_policy(policyDocument=json.dumps(doc), policyType=policy_type, **kwargs)
        return codes(out["findings"])

    stmt = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    doc = {"Version": "2012-10-17", "Statement": [stmt]}
    assert check(doc, "IDENTITY_POLICY") == []
    assert check(doc, "RESOURCE_POLICY") == ["MISSING_PRINCIPAL"]
    scp = {"Version": "2012-10-17", "Statement": [dict(stmt, Effect="Deny", Principal="*")]}
    assert check(scp, "SERVICE_CONTROL_POLICY") == ["SCP_SYNTAX_ERROR_PRINCIPAL"]
    rcp = {"Version": "2012-10-17", "Statement": [dict(stmt, Effect="Deny", Principal="*", NotAction="s3:PutObject")]}
    del rcp["Statement"][0]["Action"]
    assert check(rcp, "RESOURCE_CONTROL_POLICY") == ["RCP_SYNTAX_ERROR_NOTACTION"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "sts:AssumeRole", "Resource": "*"}]}
    assert check(trust, "RESOURCE_POLICY", "AWS::IAM::AssumeRolePolicyDocument") == [
        "ROLE_TRUST_POLICY_SYNTAX_ERROR_RESOURCE"]
    bucket = {"Version": "2012-10-17", "Statement": [dict(stmt, Principal={"AWS": "111122223333"},
                                                           Action=["s3:GetObject", "kms:Decrypt"])]}
    assert check(bucket, "RESOURCE_POLICY", "AWS::S3::Bucket") == ["UNSUPPORTED_ACTION_IN_POLICY"]
    assert check(bucket, "RESOURCE_POLICY") == []


def test_json_syntax_error_and_paging(server):
    aa = server.client("accessanalyzer")
    text = '{\n  "Version": "2012-10-17",\n  "Statement": [\n}'
    [f] = aa.validate_policy(policyDocument=text, policyType="IDENTITY_POLICY")["findings"]
    assert f["issueCode"] == "JSON_SYNTAX_ERROR" and f["findingType"] == "ERROR"
    assert f["locations"][0]["path"] == []
    assert f["locations"][0]["span"]["start"] == {"line": 4, "column": 0, "offset": text.index("}")}

    doc = json.dumps({"Statement": [{"Effect": "Allow", "Action": ["s3:*", "s3:GetObject", "s3:PutObject"],
                                     "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b/x"]}]})
    full = aa.validate_policy(policyDocument=doc, policyType="IDENTITY_POLICY")["findings"]
    assert len(full) == 4
    pages, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {}
        out = aa.validate_policy(policyDocument=doc, policyType="IDENTITY_POLICY", maxResults=3, **kwargs)
        pages.append(out["findings"])
        token = out.get("nextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [3, 1]
    assert sum(pages, []) == full
    with pytest.raises(ClientError) as e:
        aa.validate_policy(policyDocument=doc, policyType="IDENTITY_POLICY", nextToken="zz")
    assert code(e) == "ValidationException"


def test_bad_policy_type_is_a_validation_exception(server):
    aa = server.client("accessanalyzer")
    with pytest.raises(ClientError) as e:
        aa.validate_policy(policyDocument=PASS_ROLE, policyType="TRUST_POLICY")
    assert code(e) == "ValidationException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as e:
        aa.validate_policy(policyDocument=PASS_ROLE, policyType="IDENTITY_POLICY",
                           validatePolicyResourceType="AWS::S3::Bucket")
    assert code(e) == "ValidationException"


def test_authorized_as_validate_policy_on_star(server):
    iam = server.client("iam")
    name = f"validator-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    aa = server.client("accessanalyzer", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        aa.validate_policy(policyDocument=PASS_ROLE, policyType="IDENTITY_POLICY")
    assert code(e) == "AccessDeniedException"
    iam.put_user_policy(UserName=name, PolicyName="validate", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "access-analyzer:ValidatePolicy", "Resource": "*"}]}))
    out = aa.validate_policy(policyDocument=PASS_ROLE, policyType="IDENTITY_POLICY")
    assert len(out["findings"]) == 2


def test_cli_prints_the_same_findings_offline(server, tmp_path):
    risky = tmp_path / "risky.json"
    risky.write_text(PASS_ROLE)
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}))
    run = subprocess.run([BIN, "policy", "validate", "--access-analyzer", str(risky), str(clean)],
                         capture_output=True, text=True)
    assert run.returncode == 1, run.stdout + run.stderr
    api = server.client("accessanalyzer").validate_policy(policyDocument=PASS_ROLE, policyType="IDENTITY_POLICY")
    for f in api["findings"]:
        start = f["locations"][0]["span"]["start"]
        line = f"{risky}:{start['line']}:{start['column']}: {f['findingType']} {f['issueCode']}: {f['findingDetails']}"
        assert line in run.stdout.splitlines(), run.stdout
    assert f"{clean}: OK (no findings)" in run.stdout
    ok = subprocess.run([BIN, "policy", "validate", "--access-analyzer", str(clean)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    warn_only = tmp_path / "warn.json"
    warn_only.write_text(json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    run = subprocess.run([BIN, "policy", "validate", "--access-analyzer", str(warn_only)], capture_output=True, text=True)
    assert run.returncode == 0 and "MISSING_VERSION" in run.stdout
    run = subprocess.run([BIN, "policy", "validate", "--access-analyzer", "--kind", "resource", str(clean)],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "MISSING_PRINCIPAL" in run.stdout
