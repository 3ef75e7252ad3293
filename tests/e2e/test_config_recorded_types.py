"""AWS Config's last recorded types end to end with boto3: the S3 account-level public access
block (`AWS::S3::AccountPublicAccessBlock`, written by S3 Control) and the compliance items of
evaluated resources (`AWS::Config::ResourceCompliance`), each in the history, the inventory,
batch reads and advanced queries."""

import json
import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from test_config import ensure_recording, statuses, wait_compliance, wait_history

BLOCK_TYPE = "AWS::S3::AccountPublicAccessBlock"
COMPLIANCE_TYPE = "AWS::Config::ResourceCompliance"
ALL_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True,
          "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def account_of(server):
    return server.client("sts").get_caller_identity()["Account"]


def control(server):
    # The account id goes in the host name: route it to the server.
    return server.client("s3control", config=Config(proxies={"http": server.endpoint}))


def configuration(item):
    return json.loads(item["configuration"])


def select(cfg, query):
    return [json.loads(r) for r in cfg.select_resource_config(Expression=query)["Results"]]


def test_account_public_access_block_is_recorded(fresh_server):
    account = account_of(fresh_server)
    s3control = control(fresh_server)
    # Set before the recorder starts: the first start discovers it.
    s3control.put_public_access_block(AccountId=account, PublicAccessBlockConfiguration=ALL_ON)
    cfg = ensure_recording(fresh_server)
    items = wait_history(cfg, BLOCK_TYPE, account, lambda items: len(items) >= 1)
    first = items[0]
    assert first["configurationItemStatus"] == "ResourceDiscovered"
    assert first["resourceId"] == account
    assert first["accountId"] == account
    assert first["awsRegion"] == "us-east-1"
    assert configuration(first) == {"blockPublicAcls": True, "ignorePublicAcls": True,
                                    "blockPublicPolicy": True, "restrictPublicBuckets": True}

    s3control.put_public_access_block(
        AccountId=account,
        PublicAccessBlockConfiguration={**ALL_ON, "RestrictPublicBuckets": False})
    items = wait_history(cfg, BLOCK_TYPE, account, lambda items: len(items) >= 2)
    assert statuses(items) == ["OK", "ResourceDiscovered"]
    assert configuration(items[0])["restrictPublicBuckets"] is False
    assert configuration(items[1])["restrictPublicBuckets"] is True

    listed = cfg.list_discovered_resources(resourceType=BLOCK_TYPE)["resourceIdentifiers"]
    assert [r["resourceId"] for r in listed] == [account]
    got = cfg.batch_get_resource_config(
        resourceKeys=[{"resourceType": BLOCK_TYPE, "resourceId": account}])
    assert [configuration(i)["restrictPublicBuckets"] for i in got["baseConfigurationItems"]] \
        == [False]
    rows = select(cfg, "SELECT resourceId, configuration.restrictPublicBuckets "
                       f"WHERE resourceType = '{BLOCK_TYPE}'")
    assert rows == [{"resourceId": account, "configuration": {"restrictPublicBuckets": False}}]
    counts = cfg.get_discovered_resource_counts(resourceTypes=[BLOCK_TYPE])["resourceCounts"]
    assert counts == [{"resourceType": BLOCK_TYPE, "count": 1}]

    s3control.delete_public_access_block(AccountId=account)
    items = wait_history(cfg, BLOCK_TYPE, account, lambda items: len(items) >= 3)
    assert statuses(items)[0] == "ResourceDeleted"
    assert select(cfg, f"SELECT resourceId WHERE resourceType = '{BLOCK_TYPE}'") == []


def rule_of(cfg, name):
    return cfg.describe_config_rules(ConfigRuleNames=[name])["ConfigRules"][0]


def test_resource_compliance_items_follow_the_results(fresh_server):
    cfg = ensure_recording(fresh_server)
    iam = fresh_server.client("iam")
    cfg.put_config_rule(ConfigRule={"ConfigRuleName": "no-policies", "Source": {
        "Owner": "AWS", "SourceIdentifier": "IAM_USER_NO_POLICIES_CHECK"}})
    cfg.put_config_rule(ConfigRule={"ConfigRuleName": "no-inline", "Source": {
        "Owner": "AWS", "SourceIdentifier": "IAM_NO_INLINE_POLICY_CHECK"}})
    no_policies = rule_of(cfg, "no-policies")
    name = unique("compliance-user")
    uid = iam.create_user(UserName=name)["User"]["UserId"]
    wait_compliance(cfg, "no-policies", "AWS::IAM::User", uid, "COMPLIANT")
    wait_compliance(cfg, "no-inline", "AWS::IAM::User", uid, "COMPLIANT")
    rid = f"AWS::IAM::User/{uid}"

    items = wait_history(cfg, COMPLIANCE_TYPE, rid, lambda items: len(items) >= 1)
    item = items[0]
    assert item["configurationItemStatus"] == "ResourceDiscovered"
    assert item["resourceType"] == COMPLIANCE_TYPE
    assert item["relationships"] == [{"resourceType": "AWS::IAM::User", "resourceId": uid,
                                      "relationshipName": "Is associated with "}]
    conf = configuration(item)
    assert conf["complianceType"] == "COMPLIANT"
    assert conf["targetResourceId"] == uid
    assert conf["targetResourceType"] == "AWS::IAM::User"
    by_rule = {r["configRuleName"]: r for r in conf["configRuleList"]}
    assert set(by_rule) == {"no-policies", "no-inline"}
    assert by_rule["no-policies"] == {
        "configRuleArn": no_policies["ConfigRuleArn"],
        "configRuleId": no_policies["ConfigRuleId"],
        "configRuleName": "no-policies",
        "complianceType": "COMPLIANT",
    }

    # One rule finding it non-compliant makes the resource non-compliant.
    iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))
    items = wait_history(cfg, COMPLIANCE_TYPE, rid, lambda items: len(items) >= 2)
    assert statuses(items) == ["OK", "ResourceDiscovered"]
    conf = configuration(items[0])
    assert conf["complianceType"] == "NON_COMPLIANT"
    assert {r["configRuleName"]: r["complianceType"] for r in conf["configRuleList"]} == {
        "no-policies": "NON_COMPLIANT", "no-inline": "NON_COMPLIANT"}

    listed = cfg.list_discovered_resources(resourceType=COMPLIANCE_TYPE)["resourceIdentifiers"]
    assert rid in [r["resourceId"] for r in listed]
    rows = select(cfg, "SELECT resourceId WHERE resourceType = 'AWS::Config::ResourceCompliance'"
                       " AND configuration.complianceType = 'NON_COMPLIANT'")
    assert {"resourceId": rid} in rows
    got = cfg.batch_get_resource_config(
        resourceKeys=[{"resourceType": COMPLIANCE_TYPE, "resourceId": rid}])
    assert configuration(got["baseConfigurationItems"][0])["complianceType"] == "NON_COMPLIANT"

    # A deleted rule leaves the list; a deleted resource ends its compliance item.
    cfg.delete_config_rule(ConfigRuleName="no-inline")
    items = wait_history(cfg, COMPLIANCE_TYPE, rid, lambda items: len(items) >= 3)
    assert [r["configRuleName"] for r in configuration(items[0])["configRuleList"]] \
        == ["no-policies"]
    iam.delete_user_policy(UserName=name, PolicyName="inline")
    iam.delete_user(UserName=name)
    items = wait_history(cfg, COMPLIANCE_TYPE, rid,
                         lambda items: statuses(items)[0] == "ResourceDeleted")
    assert statuses(items)[1] == "OK"


def test_resource_compliance_is_recorded_only_when_its_type_is(fresh_server):
    cfg = fresh_server.client("config")
    bucket = unique("config-delivery")
    fresh_server.client("s3").create_bucket(Bucket=bucket)
    cfg.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": "arn:aws:iam::123456789012:role/config-role",
        "recordingGroup": {"allSupported": False, "includeGlobalResourceTypes": False,
                           "resourceTypes": ["AWS::IAM::User"]}})
    cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": bucket})
    cfg.start_configuration_recorder(ConfigurationRecorderName="default")
    cfg.put_config_rule(ConfigRule={"ConfigRuleName": "no-policies", "Source": {
        "Owner": "AWS", "SourceIdentifier": "IAM_USER_NO_POLICIES_CHECK"}})
    uid = fresh_server.client("iam").create_user(UserName=unique("untracked"))["User"]["UserId"]
    # The result and a compliance item would commit together: with the result there, the
    # item is known to be absent.
    wait_compliance(cfg, "no-policies", "AWS::IAM::User", uid, "COMPLIANT")
    with pytest.raises(ClientError) as e:
        cfg.get_resource_config_history(resourceType=COMPLIANCE_TYPE,
                                        resourceId=f"AWS::IAM::User/{uid}")
    assert e.value.response["Error"]["Code"] == "ResourceNotDiscoveredException"
