"""GuardDuty's publishing destinations end to end with boto3: a destination with AWS's
shapes and errors (one per detector), and real export: a finding produced by root
credential use is written, about five minutes (on the dev clock) after the destination is
set, to the bucket as a gzipped JSON-lines object in AWS's layout, encrypted with the
destination's KMS key through S3's own PutObject as guardduty.amazonaws.com; updated
findings follow at the detector's publishing frequency; a bucket whose policy does not let
GuardDuty write leaves the destination UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY."""

import gzip
import json
import re
import time

import pytest
from botocore.exceptions import ClientError
from conftest import advance

ROOT_USAGE = "Policy:IAMUser/RootCredentialUsage"
UNABLE = "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def guardduty_bucket_policy(bucket, prefix, account, detector_arn, key_arn):
    """The bucket policy AWS documents for exporting findings (less its non-HTTPS deny,
    as the test talks plain HTTP to the server)."""
    source = {"aws:SourceAccount": account, "aws:SourceArn": detector_arn}
    gd = {"Service": "guardduty.amazonaws.com"}
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Allow GetBucketLocation", "Effect": "Allow", "Principal": gd,
         "Action": "s3:GetBucketLocation", "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringEquals": source}},
        {"Sid": "Allow PutObject", "Effect": "Allow", "Principal": gd,
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/{prefix}/*",
         "Condition": {"StringEquals": source}},
        {"Sid": "Deny unencrypted object uploads", "Effect": "Deny", "Principal": gd,
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
        {"Sid": "Deny incorrect encryption header", "Effect": "Deny", "Principal": gd,
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringNotEquals": {
             "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}}}]})


def guardduty_key(server, account, region, detector_arn):
    """A KMS key whose policy lets GuardDuty encrypt exports, as AWS documents: only for the
    account's own detector (`aws:SourceAccount`, `aws:SourceArn`)."""
    kms = server.client("kms", region=region)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "AllowGuardDutyKey", "Effect": "Allow",
         "Principal": {"Service": "guardduty.amazonaws.com"},
         "Action": "kms:GenerateDataKey", "Resource": key,
         "Condition": {"StringEquals": {"aws:SourceAccount": account,
                                        "aws:SourceArn": detector_arn}}}]}
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
    return key


def wait_root_finding(gd, detector, timeout=5.0):
    deadline = time.time() + timeout
    criteria = {"Criterion": {"type": {"Eq": [ROOT_USAGE]}}}
    while time.time() < deadline:
        ids = gd.list_findings(DetectorId=detector, FindingCriteria=criteria)["FindingIds"]
        if ids:
            return gd.get_findings(DetectorId=detector, FindingIds=ids)["Findings"][0]
        time.sleep(0.1)
    raise AssertionError("no root credential finding")


def exported(s3, bucket, prefix, count, timeout=10.0):
    """The keys of the exported objects once there are `count` of them."""
    deadline = time.time() + timeout
    keys = []
    while time.time() < deadline:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        keys = sorted((o["Key"] for o in listed), key=lambda k: k)
        if len(keys) >= count:
            return keys
        time.sleep(0.2)
    raise AssertionError(f"{len(keys)} exported objects, expected {count}: {keys}")


def read_findings(s3, bucket, key):
    obj = s3.get_object(Bucket=bucket, Key=key)
    lines = gzip.decompress(obj["Body"].read()).decode().splitlines()
    return obj, [json.loads(line) for line in lines if line]


def setup(server, bucket, region, with_policy=True, prefix="gd"):
    gd, s3 = server.client("guardduty", region=region), server.client("s3", region=region)
    account = server.client("sts").get_caller_identity()["Account"]
    detector = gd.create_detector(Enable=True)["DetectorId"]
    detector_arn = f"arn:aws:guardduty:{region}:{account}:detector/{detector}"
    key = guardduty_key(server, account, region, detector_arn)
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket,
                         CreateBucketConfiguration={"LocationConstraint": region})
    if with_policy:
        s3.put_bucket_policy(Bucket=bucket, Policy=guardduty_bucket_policy(
            bucket, prefix, account, detector_arn, key))
    dest = gd.create_publishing_destination(
        DetectorId=detector, DestinationType="S3",
        DestinationProperties={"DestinationArn": f"arn:aws:s3:::{bucket}/{prefix}",
                               "KmsKeyArn": key})["DestinationId"]
    return gd, s3, account, detector, key, dest


def test_findings_are_exported_in_aws_layout(dev_server):
    region = "us-west-2"
    gd, s3, account, detector, key, dest = setup(dev_server, "gd-exports", region)
    got = gd.describe_publishing_destination(DetectorId=detector, DestinationId=dest)
    assert got["Status"] == "PENDING_VERIFICATION"
    assert got["DestinationType"] == "S3"
    assert got["DestinationProperties"] == {
        "DestinationArn": "arn:aws:s3:::gd-exports/gd", "KmsKeyArn": key}
    listed = gd.list_publishing_destinations(DetectorId=detector)["Destinations"]
    assert listed == [{"DestinationId": dest, "DestinationType": "S3",
                       "Status": "PENDING_VERIFICATION"}]

    # Every call here is the root user's: the detector sees root credential use.
    finding = wait_root_finding(gd, detector)
    assert s3.list_objects_v2(Bucket="gd-exports").get("KeyCount", 0) == 0
    advance(dev_server, 60)
    time.sleep(1.5)
    assert s3.list_objects_v2(Bucket="gd-exports").get("KeyCount", 0) == 0, "exported early"
    advance(dev_server, 250)
    keys = exported(s3, "gd-exports", "gd/", 1)
    assert re.fullmatch(
        rf"gd/AWSLogs/{account}/GuardDuty/{region}/\d{{4}}/\d{{2}}/\d{{2}}/[0-9a-f-]{{36}}\.jsonl\.gz",
        keys[0]), keys
    obj, findings = read_findings(s3, "gd-exports", keys[0])
    assert obj["ServerSideEncryption"] == "aws:kms"
    assert obj["SSEKMSKeyId"] == key
    mine = [f for f in findings if f["id"] == finding["Id"]]
    assert len(mine) == 1, findings
    assert mine[0]["type"] == ROOT_USAGE
    assert mine[0]["accountId"] == account
    assert mine[0]["region"] == region
    assert mine[0]["schemaVersion"] == "2.0"
    assert mine[0]["service"]["detectorId"] == detector
    first_count = mine[0]["service"]["count"]
    got = gd.describe_publishing_destination(DetectorId=detector, DestinationId=dest)
    assert got["Status"] == "PUBLISHING"
    assert got["PublishingFailureStartTimestamp"] == 0

    # The finding is updated by the calls since; it goes out at the next period (SIX_HOURS).
    advance(dev_server, 600)
    time.sleep(1.5)
    assert len(exported(s3, "gd-exports", "gd/", 1)) == 1
    advance(dev_server, 6 * 3600)
    first = keys[0]
    keys = exported(s3, "gd-exports", "gd/", 2)
    assert len(keys) == 2, keys
    _, findings = read_findings(s3, "gd-exports", next(k for k in keys if k != first))
    later = [f for f in findings if f["id"] == finding["Id"]]
    assert later and later[0]["service"]["count"] > first_count


def test_a_bucket_that_refuses_guardduty_is_reported(dev_server):
    region = "eu-west-1"
    gd, s3, _, detector, key, dest = setup(dev_server, "gd-refusing", region, with_policy=False)
    wait_root_finding(gd, detector)
    advance(dev_server, 301)
    deadline = time.time() + 10
    while time.time() < deadline:
        got = gd.describe_publishing_destination(DetectorId=detector, DestinationId=dest)
        if got["Status"] == UNABLE:
            break
        time.sleep(0.2)
    assert got["Status"] == UNABLE
    assert got["PublishingFailureStartTimestamp"] > 0
    assert s3.list_objects_v2(Bucket="gd-refusing").get("KeyCount", 0) == 0

    # New properties are verified again.
    gd.update_publishing_destination(
        DetectorId=detector, DestinationId=dest,
        DestinationProperties={"DestinationArn": "arn:aws:s3:::gd-refusing", "KmsKeyArn": key})
    got = gd.describe_publishing_destination(DetectorId=detector, DestinationId=dest)
    assert got["Status"] == "PENDING_VERIFICATION"
    assert got["DestinationProperties"]["DestinationArn"] == "arn:aws:s3:::gd-refusing"

    # A disabled detector's destination is stopped.
    gd.update_detector(DetectorId=detector, Enable=False)
    got = gd.describe_publishing_destination(DetectorId=detector, DestinationId=dest)
    assert got["Status"] == "STOPPED"


def test_errors_follow_aws(dev_server):
    region = "ap-southeast-2"
    gd, _, _, detector, key, dest = setup(dev_server, "gd-errors", region)
    props = {"DestinationArn": "arn:aws:s3:::gd-errors", "KmsKeyArn": key}
    with pytest.raises(ClientError) as e:
        gd.create_publishing_destination(
            DetectorId=detector, DestinationType="S3", DestinationProperties=props)
    assert code(e) == "BadRequestException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    for bad in [{"DestinationArn": "arn:aws:sqs:us-east-1:1:q", "KmsKeyArn": key},
                {"DestinationArn": "arn:aws:s3:::gd-errors"}]:
        with pytest.raises(ClientError) as e:
            gd.update_publishing_destination(
                DetectorId=detector, DestinationId=dest, DestinationProperties=bad)
        assert code(e) == "BadRequestException"
    for call in [
        lambda: gd.describe_publishing_destination(DetectorId=detector, DestinationId="0" * 32),
        lambda: gd.delete_publishing_destination(DetectorId=detector, DestinationId="0" * 32),
        lambda: gd.list_publishing_destinations(DetectorId="0" * 32),
    ]:
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "BadRequestException"

    gd.delete_publishing_destination(DetectorId=detector, DestinationId=dest)
    assert gd.list_publishing_destinations(DetectorId=detector)["Destinations"] == []
    with pytest.raises(ClientError) as e:
        gd.create_publishing_destination(
            DetectorId=detector, DestinationType="SQS", DestinationProperties=props)
    # The model's enum is checked by the common input validation first, answering as GuardDuty
    # does (docs/GUARDDUTY.md).
    assert code(e) == "BadRequestException"
    again = gd.create_publishing_destination(
        DetectorId=detector, DestinationType="S3", DestinationProperties=props)["DestinationId"]
    assert again != dest
