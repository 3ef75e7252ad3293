"""Application load balancer access logs end to end with boto3 and curl:
`ModifyLoadBalancerAttributes`/`DescribeLoadBalancerAttributes` with AWS's refusals (an empty
or missing bucket, a bucket whose policy does not let Elastic Load Balancing write); real
traffic through HTTP and HTTPS listeners (forwarded, fixed-response, redirect, WAF-blocked,
HTTP/2) arriving after five minutes of the dev clock as one gzipped file under AWS's key
layout, one entry per request in ALB's field order; both bucket policy forms AWS documents
(the `logdelivery.elasticloadbalancing.amazonaws.com` service principal and the regional
ELB account) let the files in, and a bucket whose policy no longer does gets nothing."""

import gzip
import json
import re
import subprocess
import time
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import Server, advance
from test_elb_https import upload
from local_http import free_port, request, wait_for
from test_elb_waf import code, load_balancer

# The Elastic Load Balancing account AWS names for us-east-1 (a region before August 2022).
US_EAST_1_ELB = "127311923021"


@pytest.fixture(scope="module")
def server():
    """A dev-mode server of this module's own (its clock moves; its items stay its own)."""
    s = Server("--dev")
    yield s
    s.stop()


def service_policy(bucket, prefix, account):
    """The bucket policy AWS documents for regions opened since August 2022."""
    root = f"{prefix}/AWSLogs/{account}" if prefix else f"AWSLogs/{account}"
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/{root}/*"}]})


def account_policy(bucket, account):
    """The bucket policy AWS documents for regions opened before August 2022."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{US_EAST_1_ELB}:root"},
        "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{account}/*"}]})


def logs_on(elb, lb, bucket, prefix=""):
    attrs = [{"Key": "access_logs.s3.enabled", "Value": "true"},
             {"Key": "access_logs.s3.bucket", "Value": bucket},
             {"Key": "access_logs.s3.prefix", "Value": prefix}]
    return elb.modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"],
                                               Attributes=attrs)["Attributes"]


def attributes(elb, lb):
    got = elb.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])
    return {a["Key"]: a["Value"] for a in got["Attributes"]}


FIELDS = ["type", "time", "elb", "client", "target", "request_processing_time",
          "target_processing_time", "response_processing_time", "elb_status_code",
          "target_status_code", "received_bytes", "sent_bytes", "request", "user_agent",
          "ssl_cipher", "ssl_protocol", "target_group_arn", "trace_id", "domain_name",
          "chosen_cert_arn", "matched_rule_priority", "request_creation_time",
          "actions_executed", "redirect_url", "error_reason", "target_port_list",
          "target_status_code_list", "classification", "classification_reason", "conn_trace_id"]


def parse(line):
    """One entry by AWS's syntax: space-separated fields, some in double quotes."""
    tokens = re.findall(r'"(?:[^"\\]|\\.)*"|\S+', line)
    assert len(tokens) == len(FIELDS), line
    return {f: (t[1:-1] if t.startswith('"') else t) for f, t in zip(FIELDS, tokens)}


def delivered(s3, bucket, prefix):
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def entries(s3, bucket, keys):
    out = []
    for key in keys:
        raw = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert raw[:2] == b"\x1f\x8b", "a gzipped file"
        out += [parse(line) for line in gzip.decompress(raw).decode().splitlines() if line]
    return out


def test_attributes_and_aws_refusals(server, app):
    elb, s3 = server.client("elbv2"), server.client("s3")
    account = server.client("sts").get_caller_identity()["Account"]
    _, lb, _, _, _ = load_balancer(server, "attrs", app)
    assert attributes(elb, lb) == {
        "access_logs.s3.enabled": "false", "access_logs.s3.bucket": "",
        "access_logs.s3.prefix": "", "routing.http2.enabled": "true"}

    def refused(attrs):
        with pytest.raises(ClientError) as e:
            elb.modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"],
                                                Attributes=attrs)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return code(e), e.value.response["Error"]["Message"]

    on = {"Key": "access_logs.s3.enabled", "Value": "true"}
    assert refused([on]) == ("ValidationError",
                             "The value of 'access_logs.s3.bucket' cannot be empty")
    assert refused([on, {"Key": "access_logs.s3.bucket", "Value": "no-such-bucket-elb"}])[0] \
        == "InvalidConfigurationRequest"
    s3.create_bucket(Bucket="elb-logs-bare")
    assert refused([on, {"Key": "access_logs.s3.bucket", "Value": "elb-logs-bare"}]) == (
        "InvalidConfigurationRequest",
        "Access Denied for bucket: elb-logs-bare. Please check S3bucket permission")
    # A policy for another prefix does not let the logs in either.
    s3.put_bucket_policy(Bucket="elb-logs-bare", Policy=service_policy("elb-logs-bare", "x", account))
    assert refused([on, {"Key": "access_logs.s3.bucket", "Value": "elb-logs-bare"}])[0] \
        == "InvalidConfigurationRequest"
    assert refused([{"Key": "access_logs.s3.prefix", "Value": "a/AWSLogs"}])[0] == "ValidationError"
    assert refused([{"Key": "access_logs.s3.enabled", "Value": "yes"}])[0] == "ValidationError"
    assert refused([{"Key": "no.such.attribute", "Value": "1"}])[0] == "ValidationError"
    assert attributes(elb, lb)["access_logs.s3.enabled"] == "false", "a refusal changes nothing"

    # Both policy forms AWS documents let the logs in.
    s3.create_bucket(Bucket="elb-logs-service")
    s3.put_bucket_policy(Bucket="elb-logs-service",
                         Policy=service_policy("elb-logs-service", "edge/a", account))
    shown = logs_on(elb, lb, "elb-logs-service", "edge/a")
    assert {a["Key"]: a["Value"] for a in shown}["access_logs.s3.prefix"] == "edge/a"
    assert attributes(elb, lb) == {
        "access_logs.s3.enabled": "true", "access_logs.s3.bucket": "elb-logs-service",
        "access_logs.s3.prefix": "edge/a", "routing.http2.enabled": "true"}
    s3.create_bucket(Bucket="elb-logs-account")
    s3.put_bucket_policy(Bucket="elb-logs-account",
                         Policy=account_policy("elb-logs-account", account))
    logs_on(elb, lb, "elb-logs-account")
    assert attributes(elb, lb)["access_logs.s3.bucket"] == "elb-logs-account"
    elb.modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[
        {"Key": "access_logs.s3.enabled", "Value": "false"}])
    assert attributes(elb, lb)["access_logs.s3.enabled"] == "false"

    with pytest.raises(ClientError) as e:
        elb.describe_load_balancer_attributes(
            LoadBalancerArn=lb["LoadBalancerArn"].rsplit("/", 1)[0] + "/0000000000000000")
    assert code(e) == "LoadBalancerNotFound"


def curl(port, host, path, pem_file, *extra):
    """GET over HTTPS with curl (HTTP/2 when offered): (HTTP version, body), or None when
    the listener does not answer yet."""
    done = subprocess.run(
        ["curl", "-s", "--http2", "--cacert", pem_file, "--resolve", f"{host}:{port}:127.0.0.1",
         "-w", "\n%{http_version}", *extra, f"https://{host}:{port}{path}"],
        capture_output=True, text=True, timeout=20, check=False)
    if done.returncode != 0:
        return None
    body, _, version = done.stdout.rpartition("\n")
    return version, body


def test_entries_are_delivered_in_alb_format(server, app, tmp_path):
    elb, s3, waf = server.client("elbv2"), server.client("s3"), server.client("wafv2")
    account = server.client("sts").get_caller_identity()["Account"]
    region = s3.meta.region_name
    bucket, prefix = "elb-logs-traffic", "edge"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=service_policy(bucket, prefix, account))

    _, lb, tg, listener, port = load_balancer(server, "logged-web", app)
    elb.create_rule(ListenerArn=listener["ListenerArn"], Priority=5,
                    Conditions=[{"Field": "path-pattern", "Values": ["/fixed"]}],
                    Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
                        "StatusCode": "418", "ContentType": "text/plain", "MessageBody": "tea"}}])
    elb.create_rule(ListenerArn=listener["ListenerArn"], Priority=7,
                    Conditions=[{"Field": "path-pattern", "Values": ["/go"]}],
                    Actions=[{"Type": "redirect", "RedirectConfig": {
                        "Host": "example.com", "Path": "/landed", "StatusCode": "HTTP_302"}}])
    cert_key = ec.generate_private_key(ec.SECP256R1())
    cert_arn, cert_pem = upload(server.client("iam"), ["secure.example.test"], cert_key)
    pem_file = tmp_path / "ca.pem"
    pem_file.write_text(cert_pem)
    tls_port = free_port()
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=tls_port,
                        Certificates=[{"CertificateArn": cert_arn}],
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    acl = waf.create_web_acl(
        Name="logged-web-acl", Scope="REGIONAL", DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False,
                          "MetricName": "logged"},
        Rules=[{"Name": "no-admin", "Priority": 1, "Action": {"Block": {}},
                "VisibilityConfig": {"SampledRequestsEnabled": False,
                                     "CloudWatchMetricsEnabled": False, "MetricName": "admin"},
                "Statement": {"ByteMatchStatement": {
                    "SearchString": b"/admin", "FieldToMatch": {"UriPath": {}},
                    "PositionalConstraint": "STARTS_WITH",
                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}}])["Summary"]
    # Logs on first: once the web ACL shows on the listener, so do the logs.
    logs_on(elb, lb, bucket, prefix)
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb["LoadBalancerArn"])
    wait_for(lambda: request(port, "/admin/warmup")[0] == 403, what="the web ACL")
    version, _ = wait_for(lambda: curl(tls_port, "secure.example.test", "/warm", str(pem_file)),
                          what="the HTTPS listener")
    assert version == "2"
    # Entries of the warm-up requests fall in this window too; the test's come after it.
    advance(server, 301)
    warm_prefix = f"{prefix}/AWSLogs/{account}/elasticloadbalancing/{region}/"
    wait_for(lambda: delivered(s3, bucket, warm_prefix), what="the warm-up file")
    before = set(delivered(s3, bucket, warm_prefix))

    status, _, body = request(port, "/hello?x=1", headers={"User-Agent": "e2e-agent/1.0"})
    assert status == 200
    trace = json.loads(body)["headers"]["x-amzn-trace-id"]
    assert request(port, "/fixed")[0] == 418
    status, headers, _ = request(port, "/go")
    assert status == 302 and headers["location"] == f"http://example.com:{port}/landed"
    assert request(port, "/admin/x", headers={"User-Agent": 'quote " inside'})[0] == 403
    assert request(port, "/post", method="POST", body=b"x" * 1000)[0] == 200
    assert curl(tls_port, "secure.example.test", "/over-h2", str(pem_file))[0] == "2"
    assert curl(tls_port, "secure.example.test", "/over-h1", str(pem_file),
                "--http1.1")[0] == "1.1"

    advance(server, 301)
    keys = wait_for(lambda: sorted(set(delivered(s3, bucket, warm_prefix)) - before),
                    what="the access log file")
    assert 1 <= len(keys) <= 2, "one file per window (two if the requests straddled one)"
    lb_id = lb["LoadBalancerArn"].split(":loadbalancer/")[1]
    pattern = (rf"{re.escape(warm_prefix)}(\d{{4}})/(\d\d)/(\d\d)/{account}_elasticloadbalancing_"
               rf"{region}_{re.escape(lb_id.replace('/', '.'))}_(\d{{8}})T(\d\d)(\d\d)Z_127\.0\.0\.1_"
               r"[0-9a-z]{8}\.log\.gz")
    for key in keys:
        m = re.fullmatch(pattern, key)
        assert m, key
        assert m.group(4) == "".join(m.group(1, 2, 3)) and int(m.group(6)) % 5 == 0
    head = s3.head_object(Bucket=bucket, Key=keys[0])
    assert head["ContentEncoding"] == "gzip"

    by_path = {}
    for e in entries(s3, bucket, keys):
        url = urlsplit(e["request"].split(" ")[1])
        by_path[url.path + (f"?{url.query}" if url.query else "")] = e
    assert set(by_path) == {"/hello?x=1", "/fixed", "/go", "/admin/x", "/post", "/over-h2",
                            "/over-h1"}, by_path.keys()

    fwd = by_path["/hello?x=1"]
    assert fwd["type"] == "http"
    assert fwd["elb"] == lb_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", fwd["time"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", fwd["request_creation_time"])
    assert fwd["request_creation_time"] <= fwd["time"]
    assert fwd["client"].startswith("127.0.0.1:")
    assert fwd["target"] == f"127.0.0.1:{app}"
    for f in ("request_processing_time", "target_processing_time", "response_processing_time"):
        assert re.fullmatch(r"\d+\.\d{3}", fwd[f]), (f, fwd[f])
    assert (fwd["elb_status_code"], fwd["target_status_code"]) == ("200", "200")
    assert int(fwd["received_bytes"]) > 30 and int(fwd["sent_bytes"]) > len(body)
    assert fwd["request"] == f"GET http://127.0.0.1:{port}/hello?x=1 HTTP/1.1"
    assert fwd["user_agent"] == "e2e-agent/1.0"
    assert (fwd["ssl_cipher"], fwd["ssl_protocol"]) == ("-", "-")
    assert fwd["target_group_arn"] == tg["TargetGroupArn"]
    assert fwd["trace_id"] == trace, "the trace id the target received"
    assert (fwd["domain_name"], fwd["chosen_cert_arn"]) == ("-", "-")
    assert fwd["matched_rule_priority"] == "0"
    assert fwd["actions_executed"] == "waf,forward"
    assert (fwd["redirect_url"], fwd["error_reason"]) == ("-", "-")
    assert fwd["target_port_list"] == fwd["target"]
    assert fwd["target_status_code_list"] == "200"
    assert (fwd["classification"], fwd["classification_reason"]) == ("-", "-")
    assert re.fullmatch(r"TID_[0-9a-f]{32}", fwd["conn_trace_id"])

    fixed = by_path["/fixed"]
    assert (fixed["target"], fixed["elb_status_code"], fixed["target_status_code"]) == ("-", "418", "-")
    assert [fixed[f] for f in ("request_processing_time", "target_processing_time",
                               "response_processing_time")] == ["-1", "-1", "-1"]
    assert (fixed["matched_rule_priority"], fixed["actions_executed"]) == ("5", "waf,fixed-response")
    assert fixed["target_group_arn"] == "-" and fixed["target_port_list"] == "-"

    moved = by_path["/go"]
    assert (moved["elb_status_code"], moved["matched_rule_priority"]) == ("302", "7")
    assert moved["actions_executed"] == "waf,redirect"
    assert moved["redirect_url"] == f"http://example.com:{port}/landed"

    blocked = by_path["/admin/x"]
    assert (blocked["elb_status_code"], blocked["target"]) == ("403", "-")
    assert blocked["actions_executed"] == "waf"
    assert blocked["matched_rule_priority"] == "-"
    assert blocked["user_agent"] == 'quote \\" inside'

    posted = by_path["/post"]
    assert posted["request"].startswith("POST ")
    assert int(posted["received_bytes"]) > 1000

    h2 = by_path["/over-h2"]
    assert h2["type"] == "h2"
    assert h2["request"] == f"GET https://secure.example.test:{tls_port}/over-h2 HTTP/2.0"
    assert h2["ssl_protocol"] == "TLSv1.2" and h2["ssl_cipher"].startswith("ECDHE-ECDSA-")
    assert (h2["domain_name"], h2["chosen_cert_arn"]) == ("secure.example.test", cert_arn)
    assert (h2["elb_status_code"], h2["target_status_code"]) == ("200", "200")
    h1 = by_path["/over-h1"]
    assert h1["type"] == "https"
    assert h1["request"].endswith(" HTTP/1.1")
    assert h1["conn_trace_id"] != h2["conn_trace_id"], "one id per connection"

    # With the bucket policy gone, the next window's file is refused and nothing is written.
    s3.delete_bucket_policy(Bucket=bucket)
    assert request(port, "/lost")[0] == 200
    advance(server, 301)
    time.sleep(2.5)
    assert sorted(set(delivered(s3, bucket, warm_prefix)) - before) == keys


def test_the_regional_account_policy_gets_the_logs(server, app):
    elb, s3 = server.client("elbv2"), server.client("s3")
    account = server.client("sts").get_caller_identity()["Account"]
    bucket = "elb-logs-legacy"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=account_policy(bucket, account))
    _, lb, _, _, port = load_balancer(server, "legacy-web", app)
    logs_on(elb, lb, bucket)
    wait_for(lambda: request(port, "/legacy")[0] == 200, what="the listener")
    advance(server, 301)
    keys = wait_for(lambda: delivered(s3, bucket, f"AWSLogs/{account}/elasticloadbalancing/"),
                    what="the access log file")
    paths = [e["request"].split(" ")[1] for e in entries(s3, bucket, keys)]
    assert f"http://127.0.0.1:{port}/legacy" in paths
