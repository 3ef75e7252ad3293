"""CloudTrail trails end to end: the trail API with boto3 (AWS's shapes and errors, the
destination bucket policy check), log files delivered to Rampart's S3 as the service
principal, and digest files that the unmodified `aws cloudtrail validate-logs` verifies and
that reveal tampering."""

import gzip
import json
import os
import subprocess
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

REGION = "us-east-1"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def advance(server, seconds):
    req = urllib.request.Request(
        server.endpoint + "/_rampart/clock",
        data=json.dumps({"advance_seconds": seconds}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


def account_of(server):
    return server.client("sts").get_caller_identity()["Account"]


def trail_policy(bucket, account, prefix=None, trail_arn=None):
    """The bucket policy AWS documents for a trail's bucket."""
    root = f"{prefix}/AWSLogs/{account}/*" if prefix else f"AWSLogs/{account}/*"
    condition = {"StringEquals": {"aws:SourceArn": trail_arn}} if trail_arn else {}
    write_condition = {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}
    if trail_arn:
        write_condition["StringEquals"]["aws:SourceArn"] = trail_arn
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSCloudTrailAclCheck",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:GetBucketAcl",
                    "Resource": f"arn:aws:s3:::{bucket}",
                    **({"Condition": condition} if condition else {}),
                },
                {
                    "Sid": "AWSCloudTrailWrite",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/{root}",
                    "Condition": write_condition,
                },
            ],
        }
    )


def make_bucket(server, bucket, prefix=None, trail_arn=None):
    s3 = server.client("s3")
    s3.create_bucket(Bucket=bucket)
    account = account_of(server)
    s3.put_bucket_policy(
        Bucket=bucket, Policy=trail_policy(bucket, account, prefix, trail_arn)
    )
    return s3


def test_trail_api_shapes_errors_and_the_bucket_policy_check(server):
    ct = server.client("cloudtrail")
    s3 = server.client("s3")
    account = account_of(server)
    s3.create_bucket(Bucket="ct-no-policy")
    with pytest.raises(ClientError) as e:
        ct.create_trail(Name="trail1", S3BucketName="ct-no-policy")
    assert code(e) == "InsufficientS3BucketPolicyException"
    with pytest.raises(ClientError) as e:
        ct.create_trail(Name="trail1", S3BucketName="ct-missing-bucket")
    assert code(e) == "S3BucketDoesNotExistException"
    with pytest.raises(ClientError) as e:
        ct.create_trail(Name="-bad", S3BucketName="ct-no-policy")
    assert code(e) == "InvalidTrailNameException"
    # A policy for another prefix does not let CloudTrail write under this one.
    make_bucket(server, "ct-api", prefix="right")
    with pytest.raises(ClientError) as e:
        ct.create_trail(Name="trail1", S3BucketName="ct-api", S3KeyPrefix="wrong")
    assert code(e) == "InsufficientS3BucketPolicyException"

    out = ct.create_trail(
        Name="trail1",
        S3BucketName="ct-api",
        S3KeyPrefix="right",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        TagsList=[{"Key": "team", "Value": "blue"}],
    )
    arn = f"arn:aws:cloudtrail:{REGION}:{account}:trail/trail1"
    assert out["TrailARN"] == arn
    assert out["LogFileValidationEnabled"] is True and out["IsMultiRegionTrail"] is True
    with pytest.raises(ClientError) as e:
        ct.create_trail(Name="trail1", S3BucketName="ct-api", S3KeyPrefix="right")
    assert code(e) == "TrailAlreadyExistsException"

    trail = ct.get_trail(Name=arn)["Trail"]
    assert trail["HomeRegion"] == REGION and trail["S3KeyPrefix"] == "right"
    assert trail["HasCustomEventSelectors"] is False
    assert [t["TrailARN"] for t in ct.describe_trails()["trailList"]] == [arn]
    # A multi-region trail shows in other regions as a shadow trail.
    west = server.client("cloudtrail", region="eu-west-1")
    assert [t["Name"] for t in west.describe_trails()["trailList"]] == ["trail1"]
    assert west.describe_trails(includeShadowTrails=False)["trailList"] == []
    with pytest.raises(ClientError) as e:
        west.start_logging(Name=arn)
    assert code(e) == "InvalidHomeRegionException"
    assert ct.list_trails()["Trails"] == [{"TrailARN": arn, "Name": "trail1", "HomeRegion": REGION}]

    assert ct.get_trail_status(Name="trail1")["IsLogging"] is False
    ct.start_logging(Name="trail1")
    status = ct.get_trail_status(Name="trail1")
    assert status["IsLogging"] is True and "StartLoggingTime" in status
    ct.stop_logging(Name="trail1")
    assert "StopLoggingTime" in ct.get_trail_status(Name="trail1")

    sel = ct.get_event_selectors(TrailName="trail1")
    assert sel["EventSelectors"][0]["ReadWriteType"] == "All"
    ct.put_event_selectors(
        TrailName="trail1",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::ct-api/"]}],
            }
        ],
    )
    assert ct.get_trail(Name="trail1")["Trail"]["HasCustomEventSelectors"] is True
    with pytest.raises(ClientError) as e:
        ct.put_event_selectors(
            TrailName="trail1",
            EventSelectors=[{"ReadWriteType": "All"}],
            AdvancedEventSelectors=[
                {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}
            ],
        )
    assert code(e) == "InvalidEventSelectorsException"
    adv = ct.put_event_selectors(
        TrailName="trail1",
        AdvancedEventSelectors=[
            {"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
        ],
    )
    assert adv["AdvancedEventSelectors"][0]["Name"] == "mgmt"

    ct.add_tags(ResourceId=arn, TagsList=[{"Key": "env", "Value": "prod"}])
    ct.remove_tags(ResourceId=arn, TagsList=[{"Key": "team"}])
    tags = ct.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]
    assert tags == [{"Key": "env", "Value": "prod"}]

    ct.update_trail(Name="trail1", EnableLogFileValidation=False)
    assert ct.get_trail(Name="trail1")["Trail"]["LogFileValidationEnabled"] is False
    ct.delete_trail(Name=arn)
    with pytest.raises(ClientError) as e:
        ct.get_trail(Name="trail1")
    assert code(e) == "TrailNotFoundException"
