"""AWS Config's delivery end to end with boto3: `DeliverConfigSnapshot` writes a gzipped
snapshot in AWS's layout to the channel's bucket (SSE-KMS with the channel's key, under its
prefix) holding the resources' current items; history files follow every six hours on the dev
clock; `DescribeDeliveryChannelStatus` reports the deliveries; a bucket policy that does not
let Config write is a failed delivery."""

import gzip
import json
import time

import pytest
from botocore.exceptions import ClientError
from conftest import advance

ROLE = "arn:aws:iam::123456789012:role/config-role"


def config_bucket_policy(bucket, account):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/cfg/AWSLogs/{account}/Config/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
                                        "AWS:SourceAccount": account}}}]})


def config_key(server, account):
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
         "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"}]}
    return server.client("kms").create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]


def wait_keys(s3, bucket, prefix, kind, count=1, timeout=10):
    deadline = time.time() + timeout
    keys = []
    while time.time() < deadline:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        keys = [o["Key"] for o in listed if f"/{kind}/" in o["Key"]]
        if len(keys) >= count:
            return keys
        time.sleep(0.3)
    raise AssertionError(f"no {kind} file under {prefix} within {timeout}s: {keys}")


def read_file(s3, bucket, key):
    obj = s3.get_object(Bucket=bucket, Key=key)
    raw = obj["Body"].read()
    body = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    return obj, json.loads(body)


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_snapshots_and_history_are_delivered_in_aws_layout(dev_server):
    server = dev_server
    cfg, s3 = server.client("config"), server.client("s3")
    account = server.client("sts").get_caller_identity()["Account"]
    region = s3.meta.region_name
    bucket = "config-delivery-target"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=config_bucket_policy(bucket, account))
    key = config_key(server, account)
    cfg.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": ROLE,
        "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True}})
    cfg.put_delivery_channel(DeliveryChannel={
        "name": "default", "s3BucketName": bucket, "s3KeyPrefix": "cfg", "s3KmsKeyArn": key})
    with pytest.raises(ClientError) as e:
        cfg.deliver_config_snapshot(deliveryChannelName="default")
    assert code(e) == "NoRunningConfigurationRecorderException"
    with pytest.raises(ClientError) as e:
        cfg.deliver_config_snapshot(deliveryChannelName="other")
    assert code(e) == "NoSuchDeliveryChannelException"
    cfg.start_configuration_recorder(ConfigurationRecorderName="default")

    watched = "config-delivery-watched"
    s3.create_bucket(Bucket=watched)
    s3.put_bucket_versioning(Bucket=watched, VersioningConfiguration={"Status": "Enabled"})
    time.sleep(1.5)  # Config records the change within about a second
    snapshot_id = cfg.deliver_config_snapshot(deliveryChannelName="default")["configSnapshotId"]
    root = f"cfg/AWSLogs/{account}/Config/{region}/"
    keys = wait_keys(s3, bucket, root, "ConfigSnapshot")
    assert keys[0].endswith(f"_{snapshot_id}.json.gz")
    assert f"/ConfigSnapshot/{account}_Config_{region}_ConfigSnapshot_" in keys[0]
    obj, doc = read_file(s3, bucket, keys[0])
    assert obj["ServerSideEncryption"] == "aws:kms"
    assert obj["SSEKMSKeyId"] == key
    assert doc["fileVersion"] == "1.0" and doc["configSnapshotId"] == snapshot_id
    items = {(i["resourceType"], i["resourceId"]): i for i in doc["configurationItems"]}
    item = items[("AWS::S3::Bucket", watched)]
    assert item["awsAccountId"] == account
    assert item["supplementaryConfiguration"]["BucketVersioningConfiguration"]["status"] == "Enabled"
    assert item["configuration"]["name"] == watched

    status = cfg.describe_delivery_channel_status()["DeliveryChannelsStatus"][0]
    assert status["name"] == "default"
    assert status["configSnapshotDeliveryInfo"]["lastStatus"] == "Success"
    assert status["configStreamDeliveryInfo"]["lastStatus"] == "Not_Applicable"
    assert "nextDeliveryTime" in status["configHistoryDeliveryInfo"]

    s3.put_bucket_versioning(Bucket=watched, VersioningConfiguration={"Status": "Suspended"})
    time.sleep(1.5)
    advance(server, 7 * 3600)
    history = wait_keys(s3, bucket, root, "ConfigHistory")
    bucket_files = [k for k in history if "_ConfigHistory_AWS::S3::Bucket_" in k]
    assert bucket_files, history
    _, doc = read_file(s3, bucket, bucket_files[0])
    mine = [i for i in doc["configurationItems"] if i["resourceId"] == watched]
    states = [i["supplementaryConfiguration"]["BucketVersioningConfiguration"]["status"] for i in mine]
    assert states[-2:] == ["Enabled", "Suspended"], states
    status = cfg.describe_delivery_channel_status(DeliveryChannelNames=["default"])
    assert status["DeliveryChannelsStatus"][0]["configHistoryDeliveryInfo"]["lastStatus"] == "Success"


def test_a_bucket_that_refuses_config_is_a_failed_delivery(fresh_server):
    server = fresh_server
    cfg, s3 = server.client("config"), server.client("s3")
    s3.create_bucket(Bucket="config-closed")
    cfg.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": ROLE})
    cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-closed"})
    cfg.start_configuration_recorder(ConfigurationRecorderName="default")
    cfg.deliver_config_snapshot(deliveryChannelName="default")
    deadline = time.time() + 10
    info = {}
    while time.time() < deadline:
        status = cfg.describe_delivery_channel_status()["DeliveryChannelsStatus"][0]
        info = status["configSnapshotDeliveryInfo"]
        if info.get("lastStatus") == "Failure":
            break
        time.sleep(0.3)
    assert info.get("lastStatus") == "Failure", info
    assert info["lastErrorCode"] == "AccessDenied"
    assert s3.list_objects_v2(Bucket="config-closed").get("KeyCount", 0) == 0
