"""AWS Config end to end with boto3: the recorder and delivery channel with AWS's errors,
configuration items written for every change (history with before/after, discovered
resources, batch reads, counts), and managed rules flipping between NON_COMPLIANT and
COMPLIANT as the real resources are changed and fixed (ACCESS_KEYS_ROTATED on the dev clock)."""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError
from conftest import advance


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"




ROLE = "arn:aws:iam::123456789012:role/config-role"


def ensure_recording(server):
    """Puts the default recorder (global types included) and channel and starts recording."""
    cfg = server.client("config")
    s3 = server.client("s3")
    if not cfg.describe_delivery_channels()["DeliveryChannels"]:
        bucket = unique("config-delivery")
        s3.create_bucket(Bucket=bucket)
        cfg.put_configuration_recorder(
            ConfigurationRecorder={
                "name": "default",
                "roleARN": ROLE,
                "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
            }
        )
        cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": bucket})
    cfg.start_configuration_recorder(ConfigurationRecorderName="default")
    return cfg


def history(cfg, rtype, rid, **kw):
    return cfg.get_resource_config_history(resourceType=rtype, resourceId=rid, **kw)[
        "configurationItems"
    ]


def eventually(read, ok, timeout=10):
    """Config records asynchronously, as AWS does: polls `read()` until `ok` holds of its
    result (a ResourceNotDiscoveredException counts as not yet) and returns that result."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = read()
            if ok(last):
                return last
        except ClientError as e:
            if code_of(e) != "ResourceNotDiscoveredException":
                raise
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s; last read {last}")


def code_of(error):
    return error.response["Error"]["Code"]


def wait_history(cfg, rtype, rid, ok):
    return eventually(lambda: history(cfg, rtype, rid), ok)


def statuses(items):
    return [i["configurationItemStatus"] for i in items]


def discovered_ids(cfg, rtype, **kw):
    listed = cfg.list_discovered_resources(resourceType=rtype, **kw)["resourceIdentifiers"]
    return [r["resourceId"] for r in listed]


def wait_compliance(cfg, rule, rtype, rid, want, timeout=10):
    """Polls the rule's result for one resource until it is `want`; returns the result."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        results = cfg.get_compliance_details_by_resource(
            ResourceType=rtype,
            ResourceId=rid,
            ComplianceTypes=["COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE"],
        )["EvaluationResults"]
        mine = [
            r
            for r in results
            if r["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ConfigRuleName"] == rule
        ]
        last = mine[0] if mine else None
        if last and last["ComplianceType"] == want:
            return last
        time.sleep(0.3)
    raise AssertionError(f"{rule} on {rid}: wanted {want}, last result {last}")


def test_recorder_lifecycle_and_errors(fresh_server):
    cfg = fresh_server.client("config")
    s3 = fresh_server.client("s3")
    assert cfg.describe_configuration_recorders()["ConfigurationRecorders"] == []
    assert cfg.describe_configuration_recorder_status()["ConfigurationRecordersStatus"] == []
    with pytest.raises(ClientError) as e:
        cfg.start_configuration_recorder(ConfigurationRecorderName="default")
    assert code(e) == "NoSuchConfigurationRecorderException"
    with pytest.raises(ClientError) as e:
        cfg.put_configuration_recorder(
            ConfigurationRecorder={
                "name": "default",
                "roleARN": ROLE,
                "recordingGroup": {"allSupported": True, "resourceTypes": ["AWS::S3::Bucket"]},
            }
        )
    assert code(e) == "InvalidRecordingGroupException"
    cfg.put_configuration_recorder(
        ConfigurationRecorder={"name": "default", "roleARN": ROLE, "recordingGroup": {"allSupported": True}}
    )
    with pytest.raises(ClientError) as e:
        cfg.put_configuration_recorder(ConfigurationRecorder={"name": "second", "roleARN": ROLE})
    assert code(e) == "MaxNumberOfConfigurationRecordersExceededException"
    with pytest.raises(ClientError) as e:
        cfg.start_configuration_recorder(ConfigurationRecorderName="default")
    assert code(e) == "NoAvailableDeliveryChannelException"
    with pytest.raises(ClientError) as e:
        cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "no-such-bucket-x"})
    assert code(e) == "NoSuchBucketException"
    s3.create_bucket(Bucket="config-lifecycle")
    cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-lifecycle"})
    channels = cfg.describe_delivery_channels()["DeliveryChannels"]
    assert [c["s3BucketName"] for c in channels] == ["config-lifecycle"]

    cfg.start_configuration_recorder(ConfigurationRecorderName="default")
    status = cfg.describe_configuration_recorder_status()["ConfigurationRecordersStatus"][0]
    assert status["name"] == "default" and status["recording"] is True
    assert status["lastStatus"] == "SUCCESS" and "lastStartTime" in status
    recorders = cfg.describe_configuration_recorders()["ConfigurationRecorders"]
    assert recorders[0]["roleARN"] == ROLE
    # The bucket existing before the start is recorded once recording begins.
    eventually(lambda: discovered_ids(cfg, "AWS::S3::Bucket"), lambda ids: "config-lifecycle" in ids)
    with pytest.raises(ClientError) as e:
        cfg.delete_delivery_channel(DeliveryChannelName="default")
    assert code(e) == "LastDeliveryChannelDeleteFailedException"

    cfg.stop_configuration_recorder(ConfigurationRecorderName="default")
    status = cfg.describe_configuration_recorder_status()["ConfigurationRecordersStatus"][0]
    assert status["recording"] is False and "lastStopTime" in status
    # Nothing is recorded while stopped (the recording job runs every second).
    s3.create_bucket(Bucket="config-unrecorded")
    time.sleep(1.5)
    assert "config-unrecorded" not in discovered_ids(cfg, "AWS::S3::Bucket")

    cfg.delete_delivery_channel(DeliveryChannelName="default")
    with pytest.raises(ClientError) as e:
        cfg.delete_delivery_channel(DeliveryChannelName="default")
    assert code(e) == "NoSuchDeliveryChannelException"
    cfg.delete_configuration_recorder(ConfigurationRecorderName="default")
    assert cfg.describe_configuration_recorders()["ConfigurationRecorders"] == []
    with pytest.raises(ClientError) as e:
        cfg.describe_configuration_recorders(ConfigurationRecorderNames=["default"])
    assert code(e) == "NoSuchConfigurationRecorderException"


def test_a_change_shows_in_history_with_before_and_after(server):
    cfg = ensure_recording(server)
    iam = server.client("iam")
    s3 = server.client("s3")
    name = unique("cfg-user")
    user = iam.create_user(UserName=name)["User"]
    uid = user["UserId"]
    items = wait_history(cfg, "AWS::IAM::User", uid, lambda items: len(items) >= 1)
    assert statuses(items) == ["ResourceDiscovered"]
    assert items[0]["resourceName"] == name and items[0]["arn"] == user["Arn"]
    assert items[0]["awsRegion"] == "global"
    before = json.loads(items[0]["configuration"])
    assert before["userName"] == name and before["attachedManagedPolicies"] == []

    policy = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    iam.attach_user_policy(UserName=name, PolicyArn=policy)
    items = wait_history(cfg, "AWS::IAM::User", uid, lambda items: len(items) >= 2)
    assert statuses(items) == ["OK", "ResourceDiscovered"]
    after = json.loads(items[0]["configuration"])
    assert after["attachedManagedPolicies"] == [{"policyName": "ReadOnlyAccess", "policyArn": policy}]
    assert json.loads(items[1]["configuration"])["attachedManagedPolicies"] == []
    assert items[0]["configurationItemCaptureTime"] >= items[1]["configurationItemCaptureTime"]
    assert any(r["relationshipName"] == "Is attached to AWSManagedPolicy" for r in items[0]["relationships"])

    # Forward order, one per page.
    page1 = cfg.get_resource_config_history(
        resourceType="AWS::IAM::User", resourceId=uid, chronologicalOrder="Forward", limit=1
    )
    assert page1["configurationItems"][0]["configurationItemStatus"] == "ResourceDiscovered"
    page2 = cfg.get_resource_config_history(
        resourceType="AWS::IAM::User", resourceId=uid, chronologicalOrder="Forward", limit=1,
        nextToken=page1["nextToken"],
    )
    assert page2["configurationItems"][0]["configurationItemStatus"] == "OK"
    assert "nextToken" not in page2

    bucket = unique("cfg-bucket")
    s3.create_bucket(Bucket=bucket)
    assert len(wait_history(cfg, "AWS::S3::Bucket", bucket, lambda items: len(items) >= 1)) == 1
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    items = wait_history(cfg, "AWS::S3::Bucket", bucket, lambda items: len(items) >= 2)
    states = [json.loads(i["supplementaryConfiguration"]["BucketVersioningConfiguration"])["status"] for i in items]
    assert states == ["Enabled", "Off"]

    iam.detach_user_policy(UserName=name, PolicyArn=policy)
    iam.delete_user(UserName=name)
    items = wait_history(cfg, "AWS::IAM::User", uid, lambda items: statuses(items)[0] == "ResourceDeleted")
    # The detach and the delete may land in one recording pass, as in AWS: one item or two.
    assert statuses(items)[-1] == "ResourceDiscovered" and statuses(items).count("ResourceDeleted") == 1
    assert "configuration" not in items[0]
    listed = cfg.list_discovered_resources(resourceType="AWS::IAM::User")["resourceIdentifiers"]
    assert uid not in [r["resourceId"] for r in listed]
    listed = cfg.list_discovered_resources(resourceType="AWS::IAM::User", includeDeletedResources=True)["resourceIdentifiers"]
    gone = [r for r in listed if r["resourceId"] == uid]
    assert gone and "resourceDeletionTime" in gone[0]

    with pytest.raises(ClientError) as e:
        history(cfg, "AWS::IAM::User", "AIDANOSUCHUSER0000000")
    assert code(e) == "ResourceNotDiscoveredException"
    with pytest.raises(ClientError) as e:
        cfg.get_resource_config_history(
            resourceType="AWS::S3::Bucket", resourceId=bucket, earlierTime=2_000_000_000, laterTime=1_000_000_000
        )
    assert code(e) == "InvalidTimeRangeException"


def test_inventory_lists_batch_reads_and_counts(server):
    cfg = ensure_recording(server)
    kms = server.client("kms")
    sm = server.client("secretsmanager")
    key = kms.create_key(Description="config inventory")["KeyMetadata"]
    secret = sm.create_secret(Name=unique("cfg-secret"), SecretString="s3cr3t")
    eventually(lambda: discovered_ids(cfg, "AWS::KMS::Key"), lambda ids: key["KeyId"] in ids)
    eventually(
        lambda: discovered_ids(cfg, "AWS::SecretsManager::Secret"), lambda ids: secret["ARN"] in ids
    )
    secrets = cfg.list_discovered_resources(resourceType="AWS::SecretsManager::Secret", resourceIds=[secret["ARN"]])
    assert [s["resourceName"] for s in secrets["resourceIdentifiers"]] == [secret["Name"]]

    got = cfg.batch_get_resource_config(
        resourceKeys=[
            {"resourceType": "AWS::KMS::Key", "resourceId": key["KeyId"]},
            {"resourceType": "AWS::KMS::Key", "resourceId": "no-such-key"},
        ]
    )
    assert [i["resourceId"] for i in got["baseConfigurationItems"]] == [key["KeyId"]]
    conf = json.loads(got["baseConfigurationItems"][0]["configuration"])
    assert conf["keyState"] == "Enabled" and conf["description"] == "config inventory"
    assert got["unprocessedResourceKeys"] == [{"resourceType": "AWS::KMS::Key", "resourceId": "no-such-key"}]
    # No secret value or key material enters an item.
    assert "s3cr3t" not in json.dumps(history(cfg, "AWS::SecretsManager::Secret", secret["ARN"]), default=str)

    counts = cfg.get_discovered_resource_counts()
    by_type = {c["resourceType"]: c["count"] for c in counts["resourceCounts"]}
    assert by_type["AWS::KMS::Key"] >= 1 and by_type["AWS::SecretsManager::Secret"] >= 1
    assert counts["totalDiscoveredResources"] == sum(by_type.values())
    only = cfg.get_discovered_resource_counts(resourceTypes=["AWS::KMS::Key"])
    assert [c["resourceType"] for c in only["resourceCounts"]] == ["AWS::KMS::Key"]


def put_rule(cfg, name, identifier, params=None, scope=None, **extra):
    rule = {"ConfigRuleName": name, "Source": {"Owner": "AWS", "SourceIdentifier": identifier}, **extra}
    if params is not None:
        rule["InputParameters"] = json.dumps(params)
    if scope is not None:
        rule["Scope"] = scope
    cfg.put_config_rule(ConfigRule=rule)


def test_managed_rules_flip_when_resources_are_fixed(server):
    cfg = ensure_recording(server)
    iam = server.client("iam")
    s3 = server.client("s3")
    kms = server.client("kms")

    bucket = unique("cfg-rules")
    s3.create_bucket(Bucket=bucket)
    rule = unique("versioning")
    put_rule(cfg, rule, "S3_BUCKET_VERSIONING_ENABLED",
             scope={"ComplianceResourceTypes": ["AWS::S3::Bucket"], "ComplianceResourceId": bucket})
    first = wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "NON_COMPLIANT")
    assert "Versioning" in first["Annotation"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "COMPLIANT")

    name = unique("cfg-policied")
    uid = iam.create_user(UserName=name)["User"]["UserId"]
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    no_policies = unique("no-policies")
    put_rule(cfg, no_policies, "IAM_USER_NO_POLICIES_CHECK", scope={"ComplianceResourceId": uid})
    wait_compliance(cfg, no_policies, "AWS::IAM::User", uid, "NON_COMPLIANT")
    by_rule = cfg.describe_compliance_by_config_rule(ConfigRuleNames=[no_policies])["ComplianceByConfigRules"]
    assert by_rule[0]["Compliance"]["ComplianceType"] == "NON_COMPLIANT"
    assert by_rule[0]["Compliance"]["ComplianceContributorCount"]["CappedCount"] == 1
    iam.detach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    wait_compliance(cfg, no_policies, "AWS::IAM::User", uid, "COMPLIANT")
    by_rule = cfg.describe_compliance_by_config_rule(ConfigRuleNames=[no_policies])["ComplianceByConfigRules"]
    assert by_rule[0]["Compliance"]["ComplianceType"] == "COMPLIANT"
    details = cfg.get_compliance_details_by_config_rule(ConfigRuleName=no_policies)["EvaluationResults"]
    assert [d["ComplianceType"] for d in details] == ["COMPLIANT"]
    q = details[0]["EvaluationResultIdentifier"]["EvaluationResultQualifier"]
    assert q["ResourceType"] == "AWS::IAM::User" and q["ResourceId"] == uid

    key = kms.create_key()["KeyMetadata"]["KeyId"]
    rotation = unique("rotation")
    put_rule(cfg, rotation, "CMK_BACKING_KEY_ROTATION_ENABLED", scope={"ComplianceResourceId": key})
    wait_compliance(cfg, rotation, "AWS::KMS::Key", key, "NON_COMPLIANT")
    kms.enable_key_rotation(KeyId=key)
    wait_compliance(cfg, rotation, "AWS::KMS::Key", key, "COMPLIANT")

    account = server.client("sts").get_caller_identity()["Account"]
    passwords = unique("passwords")
    put_rule(cfg, passwords, "IAM_PASSWORD_POLICY", params={"MinimumPasswordLength": "16"})
    try:
        iam.delete_account_password_policy()
    except ClientError:
        pass
    wait_compliance(cfg, passwords, "AWS::::Account", account, "NON_COMPLIANT")
    iam.update_account_password_policy(
        MinimumPasswordLength=16, RequireSymbols=True, RequireNumbers=True,
        RequireUppercaseCharacters=True, RequireLowercaseCharacters=True,
        MaxPasswordAge=90, PasswordReusePrevention=24,
    )
    wait_compliance(cfg, passwords, "AWS::::Account", account, "COMPLIANT")

    described = cfg.describe_config_rules(ConfigRuleNames=[rule, passwords])["ConfigRules"]
    assert [r["Source"]["SourceIdentifier"] for r in described] == ["S3_BUCKET_VERSIONING_ENABLED", "IAM_PASSWORD_POLICY"]
    assert described[0]["ConfigRuleArn"].startswith("arn:aws:config:us-east-1:")
    assert described[0]["ConfigRuleState"] == "ACTIVE"
    status = cfg.describe_config_rule_evaluation_status(ConfigRuleNames=[rule])["ConfigRulesEvaluationStatus"]
    assert status[0]["ConfigRuleName"] == rule and "LastSuccessfulEvaluationTime" in status[0]
    cfg.start_config_rules_evaluation(ConfigRuleNames=[rule])
    summary = cfg.get_compliance_summary_by_config_rule()["ComplianceSummary"]
    assert summary["CompliantResourceCount"]["CappedCount"] >= 3
    by_resource = cfg.describe_compliance_by_resource(ResourceType="AWS::S3::Bucket", ResourceId=bucket)
    assert by_resource["ComplianceByResources"][0]["Compliance"]["ComplianceType"] == "COMPLIANT"

    cfg.delete_config_rule(ConfigRuleName=rule)
    with pytest.raises(ClientError) as e:
        cfg.describe_config_rules(ConfigRuleNames=[rule])
    assert code(e) == "NoSuchConfigRuleException"


def test_bad_rules_get_aws_errors(server):
    cfg = ensure_recording(server)
    cases = [
        ({"ConfigRuleName": "r1", "Source": {"Owner": "AWS", "SourceIdentifier": "NO_SUCH_RULE"}}, "InvalidParameterValueException"),
        ({"ConfigRuleName": "r2", "Source": {"Owner": "AWS", "SourceIdentifier": "ACCESS_KEYS_ROTATED"},
          "InputParameters": json.dumps({"maxAccessKeyAge": "soon"})}, "InvalidParameterValueException"),
        ({"ConfigRuleName": "r3", "Source": {"Owner": "AWS", "SourceIdentifier": "ACCESS_KEYS_ROTATED"},
          "InputParameters": json.dumps({"maxAge": "30"})}, "InvalidParameterValueException"),
        ({"ConfigRuleName": "r4", "Source": {"Owner": "AWS", "SourceIdentifier": "IAM_USER_NO_POLICIES_CHECK"},
          "MaximumExecutionFrequency": "One_Hour"}, "InvalidParameterValueException"),
        ({"ConfigRuleName": "r5", "Source": {"Owner": "AWS", "SourceIdentifier": "S3_BUCKET_VERSIONING_ENABLED"},
          "InputParameters": "{not json"}, "InvalidParameterValueException"),
    ]
    for rule, want in cases:
        with pytest.raises(ClientError) as e:
            cfg.put_config_rule(ConfigRule=rule)
        assert code(e) == want, rule
    with pytest.raises(ClientError) as e:
        cfg.delete_config_rule(ConfigRuleName="no-such-rule")
    assert code(e) == "NoSuchConfigRuleException"
    with pytest.raises(ClientError) as e:
        cfg.get_compliance_details_by_config_rule(ConfigRuleName="no-such-rule")
    assert code(e) == "NoSuchConfigRuleException"
    with pytest.raises(ClientError) as e:
        cfg.start_config_rules_evaluation(ConfigRuleNames=["no-such-rule"])
    assert code(e) == "NoSuchConfigRuleException"


def test_no_recorder_refuses_change_triggered_rules(fresh_server):
    cfg = fresh_server.client("config")
    with pytest.raises(ClientError) as e:
        put_rule(cfg, "versioning", "S3_BUCKET_VERSIONING_ENABLED")
    assert code(e) == "NoAvailableConfigurationRecorderException"


def test_access_keys_rotated_follows_the_dev_clock(dev_server):
    cfg = ensure_recording(dev_server)
    iam = dev_server.client("iam")
    name = unique("cfg-keys")
    uid = iam.create_user(UserName=name)["User"]["UserId"]
    old = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    rule = unique("rotated")
    put_rule(cfg, rule, "ACCESS_KEYS_ROTATED", params={"maxAccessKeyAge": "1"},
             scope={"ComplianceResourceId": uid}, MaximumExecutionFrequency="One_Hour")
    wait_compliance(cfg, rule, "AWS::IAM::User", uid, "COMPLIANT")
    advance(dev_server, 2 * 86400)
    failed = wait_compliance(cfg, rule, "AWS::IAM::User", uid, "NON_COMPLIANT")
    assert old in failed["Annotation"]
    iam.delete_access_key(UserName=name, AccessKeyId=old)
    iam.create_access_key(UserName=name)
    wait_compliance(cfg, rule, "AWS::IAM::User", uid, "COMPLIANT")


def test_public_bucket_policy_is_judged_by_the_policy_engine(server):
    cfg = ensure_recording(server)
    s3 = server.client("s3")
    bucket = unique("cfg-public")
    s3.create_bucket(Bucket=bucket)
    try:
        s3.delete_public_access_block(Bucket=bucket)
    except ClientError:
        pass
    rule = unique("public-read")
    put_rule(cfg, rule, "S3_BUCKET_PUBLIC_READ_PROHIBITED", scope={"ComplianceResourceId": bucket})
    wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "COMPLIANT")
    public = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{bucket}/*"}],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public))
    failed = wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "NON_COMPLIANT")
    assert "policy" in failed["Annotation"]
    s3.delete_bucket_policy(Bucket=bucket)
    wait_compliance(cfg, rule, "AWS::S3::Bucket", bucket, "COMPLIANT")
