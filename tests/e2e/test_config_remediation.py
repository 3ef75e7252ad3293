"""AWS Config remediation end to end with boto3: an automatic remediation enabling a
non-compliant bucket's versioning as its AutomationAssumeRole (the rule flipping to COMPLIANT
and the trail showing the role session's call), a manual one on a KMS key refused by the role's
policies until they allow it, and AWS's refusals for documents Rampart cannot run."""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from test_config_aggregators import start_recording

SSM_TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ssm.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
})


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def eventually(read, ok, timeout=15):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = read()
        if ok(last):
            return last
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s; last read {last}")


def compliance(cfg, rule):
    rows = cfg.describe_compliance_by_config_rule(ConfigRuleNames=[rule])["ComplianceByConfigRules"]
    return rows[0]["Compliance"]["ComplianceType"] if rows else None


def role_with(iam, name, statements):
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=SSM_TRUST)["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="remediate", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
    return arn


def executions(cfg, rule):
    return cfg.describe_remediation_execution_status(ConfigRuleName=rule)["RemediationExecutionStatuses"]


def test_a_non_compliant_bucket_is_remediated_automatically(fresh_server):
    server = fresh_server
    cfg = start_recording(server, server.root_key, server.root_secret)
    s3 = server.client("s3")
    iam = server.client("iam")
    bucket = unique("unversioned")
    s3.create_bucket(Bucket=bucket)
    eventually(lambda: cfg.list_discovered_resources(resourceType="AWS::S3::Bucket",
                                                     resourceIds=[bucket])["resourceIdentifiers"], bool)
    cfg.put_config_rule(ConfigRule={
        "ConfigRuleName": "versioning",
        "Source": {"Owner": "AWS", "SourceIdentifier": "S3_BUCKET_VERSIONING_ENABLED"},
        "Scope": {"ComplianceResourceTypes": ["AWS::S3::Bucket"], "ComplianceResourceId": bucket}})
    eventually(lambda: compliance(cfg, "versioning"), lambda c: c == "NON_COMPLIANT")

    role = role_with(iam, "remediator", [{"Effect": "Allow", "Action": "s3:PutBucketVersioning",
                                          "Resource": f"arn:aws:s3:::{bucket}"}])
    remediation = {
        "ConfigRuleName": "versioning",
        "TargetType": "SSM_DOCUMENT",
        "TargetId": "AWS-ConfigureS3BucketVersioning",
        "Parameters": {
            "AutomationAssumeRole": {"StaticValue": {"Values": [role]}},
            "BucketName": {"ResourceValue": {"Value": "RESOURCE_ID"}},
        },
        "Automatic": True,
        "MaximumAutomaticAttempts": 3,
        "RetryAttemptSeconds": 60,
    }
    assert cfg.put_remediation_configurations(RemediationConfigurations=[remediation])["FailedBatches"] == []
    described = cfg.describe_remediation_configurations(ConfigRuleNames=["versioning"])["RemediationConfigurations"]
    assert described[0]["TargetId"] == "AWS-ConfigureS3BucketVersioning"
    assert described[0]["Arn"].startswith("arn:aws:config:us-east-1:")

    done = eventually(lambda: executions(cfg, "versioning"),
                      lambda e: e and e[0]["State"] in ("SUCCEEDED", "FAILED"))
    assert done[0]["State"] == "SUCCEEDED", done[0]["StepDetails"]
    assert done[0]["ResourceKey"] == {"resourceType": "AWS::S3::Bucket", "resourceId": bucket}
    assert [s["State"] for s in done[0]["StepDetails"]] == ["SUCCEEDED"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    eventually(lambda: compliance(cfg, "versioning"), lambda c: c == "COMPLIANT")

    # The trail shows the call made as the role session, and the role assumed by the service.
    trail = server.client("cloudtrail")
    events = eventually(lambda: trail.lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "PutBucketVersioning"}])["Events"], bool)
    identity = json.loads(events[0]["CloudTrailEvent"])["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"].startswith(f"arn:aws:sts::{identity['accountId']}:assumed-role/remediator/")
    assumed = trail.lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "AssumeRole"}])["Events"]
    assert any(json.loads(e["CloudTrailEvent"])["userIdentity"].get("invokedBy") == "ssm.amazonaws.com"
               for e in assumed)

    # A compliant resource is not remediated again.
    time.sleep(1.5)
    assert executions(cfg, "versioning")[0]["LastUpdatedTime"] == done[0]["LastUpdatedTime"]
    cfg.delete_remediation_configuration(ConfigRuleName="versioning")
    with pytest.raises(ClientError) as e:
        cfg.describe_remediation_execution_status(ConfigRuleName="versioning")
    assert code(e) == "NoSuchRemediationConfigurationException"
    with pytest.raises(ClientError) as e:
        cfg.delete_remediation_configuration(ConfigRuleName="versioning")
    assert code(e) == "NoSuchRemediationConfigurationException"


def test_a_manual_remediation_runs_only_what_the_role_may_do(fresh_server):
    server = fresh_server
    cfg = start_recording(server, server.root_key, server.root_secret)
    kms = server.client("kms")
    iam = server.client("iam")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    eventually(lambda: cfg.list_discovered_resources(resourceType="AWS::KMS::Key",
                                                     resourceIds=[key])["resourceIdentifiers"], bool)
    cfg.put_config_rule(ConfigRule={
        "ConfigRuleName": "rotation",
        "Source": {"Owner": "AWS", "SourceIdentifier": "CMK_BACKING_KEY_ROTATION_ENABLED"},
        "Scope": {"ComplianceResourceTypes": ["AWS::KMS::Key"], "ComplianceResourceId": key}})
    eventually(lambda: compliance(cfg, "rotation"), lambda c: c == "NON_COMPLIANT")

    role = role_with(iam, "rotator", [])
    cfg.put_remediation_configurations(RemediationConfigurations=[{
        "ConfigRuleName": "rotation", "TargetType": "SSM_DOCUMENT",
        "TargetId": "AWSConfigRemediation-EnableKeyRotation",
        "Parameters": {"AutomationAssumeRole": {"StaticValue": {"Values": [role]}},
                       "KeyId": {"ResourceValue": {"Value": "RESOURCE_ID"}}},
    }])
    resource = {"resourceType": "AWS::KMS::Key", "resourceId": key}
    assert cfg.start_remediation_execution(ConfigRuleName="rotation", ResourceKeys=[resource])["FailedItems"] == []
    failed = eventually(lambda: executions(cfg, "rotation"),
                        lambda e: e and e[0]["State"] in ("SUCCEEDED", "FAILED"))
    assert failed[0]["State"] == "FAILED"
    assert "AccessDenied" in failed[0]["StepDetails"][0]["ErrorMessage"]
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False

    iam.put_role_policy(RoleName="rotator", PolicyName="rotate", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:EnableKeyRotation", "Resource": "*"}]}))
    cfg.start_remediation_execution(ConfigRuleName="rotation", ResourceKeys=[resource])
    done = eventually(lambda: executions(cfg, "rotation"), lambda e: e[0]["State"] == "SUCCEEDED")
    assert done[0]["StepDetails"][0]["Name"] == "EnableKeyRotation"
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True
    eventually(lambda: compliance(cfg, "rotation"), lambda c: c == "COMPLIANT")


def test_remediations_rampart_cannot_run_are_refused(fresh_server):
    server = fresh_server
    cfg = start_recording(server, server.root_key, server.root_secret)
    cfg.put_config_rule(ConfigRule={
        "ConfigRuleName": "versioning",
        "Source": {"Owner": "AWS", "SourceIdentifier": "S3_BUCKET_VERSIONING_ENABLED"}})
    base = {"ConfigRuleName": "versioning", "TargetType": "SSM_DOCUMENT",
            "TargetId": "AWS-ConfigureS3BucketVersioning",
            "Parameters": {"BucketName": {"ResourceValue": {"Value": "RESOURCE_ID"}}}}
    bad = [
        dict(base, TargetId="AWS-RestartEC2Instance"),
        dict(base, ConfigRuleName="no-such-rule"),
        dict(base, Parameters={}),
        dict(base, Parameters={"BucketName": {"ResourceValue": {"Value": "RESOURCE_ID"}},
                               "Nope": {"StaticValue": {"Values": ["x"]}}}),
        dict(base, Automatic=True),
    ]
    failed = cfg.put_remediation_configurations(RemediationConfigurations=bad)["FailedBatches"]
    assert len(failed) == len(bad)
    assert cfg.describe_remediation_configurations(ConfigRuleNames=["versioning"])["RemediationConfigurations"] == []
    with pytest.raises(ClientError) as e:
        cfg.start_remediation_execution(ConfigRuleName="versioning", ResourceKeys=[
            {"resourceType": "AWS::S3::Bucket", "resourceId": "b"}])
    assert code(e) == "NoSuchRemediationConfigurationException"
