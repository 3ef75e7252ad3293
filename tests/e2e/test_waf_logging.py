"""AWS WAF logging end to end with boto3: the logging configuration operations with AWS's
shapes and errors, then real traffic through a load balancer listener whose web ACL logs to
an `aws-waf-logs-*` bucket: after five minutes of the dev clock the records arrive as one
gzipped file of JSON lines under AWS's key layout, written as `delivery.logs.amazonaws.com`
(so the bucket policy AWS documents decides), with the redacted header replaced and the
filter's dropped records absent; a bucket without that policy gets nothing."""

import gzip
import json
import re
import time

import pytest
from botocore.exceptions import ClientError

from conftest import Server, advance
from local_http import request, wait_for
from test_elb_waf import code, load_balancer


@pytest.fixture(scope="module")
def server():
    """A dev-mode server of this module's own (its clock moves; its items stay its own)."""
    s = Server("--dev")
    yield s
    s.stop()


def seen(metric):
    return {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False,
            "MetricName": metric}


def starts(prefix):
    return {"ByteMatchStatement": {
        "SearchString": prefix.encode(), "FieldToMatch": {"UriPath": {}},
        "PositionalConstraint": "STARTS_WITH",
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}


def web_acl(waf, name):
    rules = [
        {"Name": "block-admin", "Priority": 1, "Statement": starts("/admin"),
         "Action": {"Block": {}}, "VisibilityConfig": seen("admin"),
         "RuleLabels": [{"Name": "seen:admin"}]},
        {"Name": "count-hello", "Priority": 2, "Statement": starts("/hello"),
         "Action": {"Count": {}}, "VisibilityConfig": seen("hello")},
    ]
    return waf.create_web_acl(Name=name, Scope="REGIONAL", DefaultAction={"Allow": {}},
                              Rules=rules, VisibilityConfig=seen(name))["Summary"]


def delivery_policy(bucket, account, region):
    """The bucket policy AWS's WAF guide documents for log delivery to S3."""
    source = {"StringEquals": {"aws:SourceAccount": [account]},
              "ArnLike": {"aws:SourceArn": [f"arn:aws:logs:{region}:{account}:*"]}}
    write = {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
                              "aws:SourceAccount": [account]},
             "ArnLike": source["ArnLike"]}
    return json.dumps({"Version": "2012-10-17", "Id": "AWSLogDeliveryWrite20150319", "Statement": [
        {"Sid": "AWSLogDeliveryWrite", "Effect": "Allow",
         "Principal": {"Service": "delivery.logs.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{account}/*", "Condition": write},
        {"Sid": "AWSLogDeliveryAclCheck", "Effect": "Allow",
         "Principal": {"Service": "delivery.logs.amazonaws.com"}, "Action": "s3:GetBucketAcl",
         "Resource": f"arn:aws:s3:::{bucket}", "Condition": source}]})


def test_logging_configuration_operations(server):
    waf = server.client("wafv2")
    acl = web_acl(waf, "logged-api")
    other = web_acl(waf, "logged-api-2")
    arn = acl["ARN"]

    with pytest.raises(ClientError) as e:
        waf.get_logging_configuration(ResourceArn=arn)
    assert code(e) == "WAFNonexistentItemException"

    def put(**config):
        return waf.put_logging_configuration(LoggingConfiguration={"ResourceArn": arn, **config})

    for bad in [
        {"LogDestinationConfigs": ["arn:aws:s3:::my-logs"]},
        {"LogDestinationConfigs": ["arn:aws:firehose:us-east-1:123456789012:deliverystream/aws-waf-logs-x"]},
        {"LogDestinationConfigs": ["arn:aws:s3:::aws-waf-logs-a", "arn:aws:s3:::aws-waf-logs-b"]},
        {"LogDestinationConfigs": ["arn:aws:s3:::aws-waf-logs-a"], "RedactedFields": [{"Body": {}}]},
        {"LogDestinationConfigs": ["arn:aws:s3:::aws-waf-logs-a"],
         "RedactedFields": [{"SingleHeader": {"Name": "a"}, "Method": {}}]},
        {"LogDestinationConfigs": ["arn:aws:s3:::aws-waf-logs-a"], "ManagedByFirewallManager": True},
    ]:
        with pytest.raises(ClientError) as e:
            put(**bad)
        assert code(e) == "WAFInvalidParameterException", bad

    missing = arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    with pytest.raises(ClientError) as e:
        waf.put_logging_configuration(LoggingConfiguration={
            "ResourceArn": missing, "LogDestinationConfigs": ["arn:aws:s3:::aws-waf-logs-a"]})
    assert code(e) == "WAFNonexistentItemException"

    filt = {"DefaultBehavior": "KEEP", "Filters": [
        {"Behavior": "DROP", "Requirement": "MEETS_ANY",
         "Conditions": [{"ActionCondition": {"Action": "ALLOW"}}]}]}
    got = put(LogDestinationConfigs=["arn:aws:s3:::aws-waf-logs-api"],
              RedactedFields=[{"SingleHeader": {"Name": "authorization"}}],
              LoggingFilter=filt)["LoggingConfiguration"]
    assert got == {"ResourceArn": arn, "LogDestinationConfigs": ["arn:aws:s3:::aws-waf-logs-api"],
                   "RedactedFields": [{"SingleHeader": {"Name": "authorization"}}],
                   "ManagedByFirewallManager": False, "LoggingFilter": filt,
                   "LogType": "WAF_LOGS", "LogScope": "CUSTOMER"}
    assert waf.get_logging_configuration(ResourceArn=arn)["LoggingConfiguration"] == got
    waf.put_logging_configuration(LoggingConfiguration={
        "ResourceArn": other["ARN"], "LogDestinationConfigs": ["arn:aws:s3:::aws-waf-logs-api"]})

    listed = waf.list_logging_configurations(Scope="REGIONAL")["LoggingConfigurations"]
    assert [c["ResourceArn"] for c in listed] == [arn, other["ARN"]]
    first = waf.list_logging_configurations(Scope="REGIONAL", Limit=1)
    assert [c["ResourceArn"] for c in first["LoggingConfigurations"]] == [arn]
    rest = waf.list_logging_configurations(Scope="REGIONAL", Limit=1,
                                           NextMarker=first["NextMarker"])
    assert [c["ResourceArn"] for c in rest["LoggingConfigurations"]] == [other["ARN"]]
    assert "NextMarker" not in rest

    # Updating the web ACL keeps its logging configuration.
    token = waf.get_web_acl(Name="logged-api", Scope="REGIONAL", Id=acl["Id"])["LockToken"]
    waf.update_web_acl(Name="logged-api", Scope="REGIONAL", Id=acl["Id"], LockToken=token,
                       DefaultAction={"Block": {}}, Rules=[], VisibilityConfig=seen("x"))
    assert waf.get_logging_configuration(ResourceArn=arn)["LoggingConfiguration"] == got

    waf.delete_logging_configuration(ResourceArn=arn)
    with pytest.raises(ClientError) as e:
        waf.get_logging_configuration(ResourceArn=arn)
    assert code(e) == "WAFNonexistentItemException"
    listed = waf.list_logging_configurations(Scope="REGIONAL")["LoggingConfigurations"]
    assert [c["ResourceArn"] for c in listed] == [other["ARN"]]
    waf.delete_logging_configuration(ResourceArn=other["ARN"])


def read_log(s3, bucket, key):
    raw = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert raw[:2] == b"\x1f\x8b", "a gzipped file"
    return [json.loads(line) for line in gzip.decompress(raw).decode().splitlines() if line]


def test_records_are_delivered_to_s3_in_aws_format(server, app):
    waf, s3 = server.client("wafv2"), server.client("s3")
    account = server.client("sts").get_caller_identity()["Account"]
    region = s3.meta.region_name
    good, bare = "aws-waf-logs-rampart-good", "aws-waf-logs-rampart-bare"
    for b in (good, bare):
        s3.create_bucket(Bucket=b)
    s3.put_bucket_policy(Bucket=good, Policy=delivery_policy(good, account, region))

    _, lb, _, _, port = load_balancer(server, "logged", app)
    _, lb2, _, _, port2 = load_balancer(server, "unlogged", app)
    acl = web_acl(waf, "logged-acl")
    acl2 = web_acl(waf, "bare-acl")
    waf.put_logging_configuration(LoggingConfiguration={
        "ResourceArn": acl["ARN"], "LogDestinationConfigs": [f"arn:aws:s3:::{good}"],
        "RedactedFields": [{"SingleHeader": {"Name": "Authorization"}}, {"QueryString": {}}],
        "LoggingFilter": {"DefaultBehavior": "KEEP", "Filters": [
            {"Behavior": "KEEP", "Requirement": "MEETS_ANY",
             "Conditions": [{"ActionCondition": {"Action": "COUNT"}}]},
            {"Behavior": "DROP", "Requirement": "MEETS_ANY",
             "Conditions": [{"ActionCondition": {"Action": "ALLOW"}}]}]}})
    waf.put_logging_configuration(LoggingConfiguration={
        "ResourceArn": acl2["ARN"], "LogDestinationConfigs": [f"arn:aws:s3:::{bare}"]})
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb["LoadBalancerArn"])
    waf.associate_web_acl(WebACLArn=acl2["ARN"], ResourceArn=lb2["LoadBalancerArn"])
    wait_for(lambda: request(port, "/admin/probe")[0] == 403, what="web ACL on the listener")
    wait_for(lambda: request(port2, "/admin/probe")[0] == 403, what="second web ACL")

    secret = {"Authorization": "Bearer s3cr3t", "X-Test": "one"}
    assert request(port, "/admin/x?token=abc", headers=secret)[0] == 403
    status, _, body = request(port, "/hello?name=a")
    assert status == 200
    trace = json.loads(body)["headers"]["x-amzn-trace-id"]
    assert request(port, "/plain")[0] == 200
    assert request(port2, "/plain")[0] == 200

    prefix = f"AWSLogs/{account}/WAFLogs/{region}/logged-acl/"
    assert s3.list_objects_v2(Bucket=good, Prefix="AWSLogs/").get("KeyCount") == 0
    advance(server, 301)

    def files():
        return [o["Key"] for o in s3.list_objects_v2(Bucket=good, Prefix=prefix).get("Contents", [])]
    keys = wait_for(files, what="a WAF log file")
    # One file per five-minute window (two if the requests straddled a boundary).
    assert 1 <= len(keys) <= 2
    pattern = (rf"{re.escape(prefix)}(\d{{4}})/(\d\d)/(\d\d)/(\d\d)/(\d\d)/"
               rf"{account}_waflogs_{region}_logged-acl_(\d{{8}})T(\d{{4}})Z_[0-9a-f]{{8}}\.log\.gz")
    for key in keys:
        m = re.fullmatch(pattern, key)
        assert m, key
        assert m.group(6) == "".join(m.group(1, 2, 3)) and m.group(7) == "".join(m.group(4, 5))
        assert int(m.group(5)) % 5 == 0

    records = [r for key in keys for r in read_log(s3, good, key)]
    by_uri = {r["httpRequest"]["uri"]: r for r in records}
    assert set(by_uri) == {"/admin/probe", "/admin/x", "/hello"}, "the filter drops ALLOW records"
    blocked = by_uri["/admin/x"]
    lb_tail = lb["LoadBalancerArn"].split(":loadbalancer/")[1]
    assert blocked["formatVersion"] == 1
    assert blocked["webaclId"] == acl["ARN"]
    assert blocked["terminatingRuleId"] == "block-admin"
    assert blocked["terminatingRuleType"] == "REGULAR"
    assert blocked["action"] == "BLOCK"
    assert blocked["responseCodeSent"] == 403
    assert blocked["httpSourceName"] == "ALB"
    assert blocked["httpSourceId"] == f"{account}-{lb_tail}"
    assert blocked["ruleGroupList"] == [] and blocked["rateBasedRuleList"] == []
    assert blocked["nonTerminatingMatchingRules"] == []
    assert {"name": f"awswaf:{account}:webacl:logged-acl:seen:admin"} in blocked["labels"]
    req = blocked["httpRequest"]
    assert req["clientIp"] == "127.0.0.1" and req["country"] == "-"
    assert req["httpMethod"] == "GET" and req["httpVersion"] == "HTTP/1.1"
    assert req["args"] == "REDACTED"
    headers = {h["name"].lower(): h["value"] for h in req["headers"]}
    assert headers["authorization"] == "REDACTED"
    assert headers["x-test"] == "one"
    assert req["requestId"].startswith("Root=1-")
    assert abs(blocked["timestamp"] / 1000 - time.time()) < 120

    counted = by_uri["/hello"]
    assert counted["action"] == "ALLOW"
    assert counted["terminatingRuleId"] == "Default_Action"
    assert counted["responseCodeSent"] is None
    assert counted["nonTerminatingMatchingRules"] == [
        {"ruleId": "count-hello", "action": "COUNT", "ruleMatchDetails": []}]
    assert counted["httpRequest"]["requestId"] == trace, "the trace id the target received"

    # The bucket without the delivery policy refuses the service: nothing is written.
    time.sleep(2)
    assert s3.list_objects_v2(Bucket=bare).get("KeyCount") == 0

    # With logging deleted, the next window writes nothing new.
    waf.delete_logging_configuration(ResourceArn=acl["ARN"])
    time.sleep(1.5)
    assert request(port, "/admin/again")[0] == 403
    advance(server, 301)
    time.sleep(2.5)
    assert files() == keys
