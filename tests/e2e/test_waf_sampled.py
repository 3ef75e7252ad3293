"""WAF sampled requests end to end with boto3: real traffic through a load balancer listener
whose web ACL samples what its rules (and its default action) decide, read back with
GetSampledRequests per rule metric, with AWS's shape (request, action, rule of a rule group,
inserted headers, response code, labels, weight, population, time window) and errors."""

import datetime

import pytest
from botocore.exceptions import ClientError

from conftest import Server
from local_http import request, wait_for
from test_elb_waf import code, load_balancer


@pytest.fixture(scope="module")
def server():
    """A server of this module's own, so its items do not show in other modules' lists."""
    s = Server()
    yield s
    s.stop()


def seen(metric, sampled=True):
    return {"SampledRequestsEnabled": sampled, "CloudWatchMetricsEnabled": False,
            "MetricName": metric}


def starts(prefix):
    return {"ByteMatchStatement": {
        "SearchString": prefix.encode(), "FieldToMatch": {"UriPath": {}},
        "PositionalConstraint": "STARTS_WITH",
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}


def rule(name, priority, prefix, action, metric, sampled=True, labels=()):
    return {"Name": name, "Priority": priority, "Statement": starts(prefix), "Action": action,
            "VisibilityConfig": seen(metric, sampled),
            "RuleLabels": [{"Name": l} for l in labels]}


def window(hours_back=1):
    now = datetime.datetime.now(datetime.timezone.utc)
    return {"StartTime": now - datetime.timedelta(hours=hours_back),
            "EndTime": now + datetime.timedelta(minutes=1)}


def test_sampled_requests_follow_the_traffic_each_rule_decides(server, app):
    elb, lb, tg, listener, port = load_balancer(server, "sampled", app)
    waf = server.client("wafv2")
    group = waf.create_rule_group(
        Name="debugging", Scope="REGIONAL", Capacity=10,
        Rules=[rule("deny-debug", 1, "/debug", {"Block": {}}, "denyDebug")],
        VisibilityConfig=seen("debugging"))["Summary"]
    rules = [
        rule("block-admin", 1, "/admin", {"Block": {}}, "adminMetric", labels=["seen:admin"]),
        rule("greet", 2, "/hello", {"Allow": {"CustomRequestHandling": {
            "InsertHeaders": [{"Name": "greet", "Value": "hi"}]}}}, "helloMetric"),
        rule("quiet", 3, "/quiet", {"Block": {}}, "quietMetric", sampled=False),
        {"Name": "own", "Priority": 4, "OverrideAction": {"None": {}},
         "VisibilityConfig": seen("groupMetric"),
         "Statement": {"RuleGroupReferenceStatement": {"ARN": group["ARN"]}}},
    ]
    acl = waf.create_web_acl(Name="sampled-acl", Scope="REGIONAL", DefaultAction={"Allow": {}},
                             Rules=rules, VisibilityConfig=seen("aclMetric"))["Summary"]
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb["LoadBalancerArn"])
    wait_for(lambda: request(port, "/admin/probe")[0] == 403, what="web ACL on the listener")

    for _ in range(3):
        assert request(port, "/admin/x", headers={"X-Test": "one"})[0] == 403
    for _ in range(2):
        assert request(port, "/hello")[0] == 200
        assert request(port, "/quiet")[0] == 403
    assert request(port, "/debug/on", method="POST", body=b"x")[0] == 403
    assert request(port, "/other?q=1")[0] == 200

    def sampled(metric, max_items=100, **kw):
        return waf.get_sampled_requests(WebAclArn=acl["ARN"], RuleMetricName=metric,
                                        Scope="REGIONAL", TimeWindow=kw.get("tw", window()),
                                        MaxItems=max_items)

    admin = sampled("adminMetric")
    mine = [s for s in admin["SampledRequests"] if s["Request"]["URI"] == "/admin/x"]
    assert len(mine) == 3
    assert admin["PopulationSize"] == len(admin["SampledRequests"]) >= 4
    one = mine[0]
    assert one["Action"] == "BLOCK" and one["ResponseCodeSent"] == 403
    assert one["Weight"] == 1
    assert one["Request"]["ClientIP"] == "127.0.0.1"
    assert one["Request"]["Method"] == "GET" and one["Request"]["HTTPVersion"] == "HTTP/1.1"
    headers = {h["Name"].lower(): h["Value"] for h in one["Request"]["Headers"]}
    assert headers["x-test"] == "one"
    account = server.client("sts").get_caller_identity()["Account"]
    assert f"awswaf:{account}:webacl:sampled-acl:seen:admin" in [
        l["Name"] for l in one["Labels"]]
    assert "RuleNameWithinRuleGroup" not in one
    age = datetime.datetime.now(datetime.timezone.utc) - one["Timestamp"]
    assert abs(age.total_seconds()) < 120

    hello = sampled("helloMetric")["SampledRequests"]
    assert len(hello) == 2
    assert hello[0]["Action"] == "ALLOW" and "ResponseCodeSent" not in hello[0]
    assert hello[0]["RequestHeadersInserted"] == [{"Name": "x-amzn-waf-greet", "Value": "hi"}]

    # Sampling off for the rule: nothing kept.
    quiet = sampled("quietMetric")
    assert quiet["SampledRequests"] == [] and quiet["PopulationSize"] == 0

    debug = sampled("groupMetric")["SampledRequests"]
    assert len(debug) == 1
    assert debug[0]["RuleNameWithinRuleGroup"] == "deny-debug"
    assert debug[0]["Request"]["Method"] == "POST" and debug[0]["Request"]["URI"] == "/debug/on"

    # The default action samples under the web ACL's metric.
    default = sampled("aclMetric")["SampledRequests"]
    assert [s["Request"]["URI"] for s in default] == ["/other"]
    assert default[0]["Action"] == "ALLOW"

    # MaxItems caps the samples; each then stands for more of the population.
    capped = sampled("adminMetric", max_items=2)
    assert len(capped["SampledRequests"]) == 2
    assert capped["PopulationSize"] == admin["PopulationSize"]
    assert capped["SampledRequests"][0]["Weight"] >= 2

    # A window reaching back more than three hours starts three hours ago, as in AWS.
    far = sampled("adminMetric", tw=window(hours_back=5))
    start = far["TimeWindow"]["StartTime"]
    back = datetime.datetime.now(datetime.timezone.utc) - start
    assert datetime.timedelta(hours=2, minutes=58) < back <= datetime.timedelta(hours=3, minutes=1)
    # A window before the traffic holds none of it.
    before = sampled("adminMetric", tw={"StartTime": start, "EndTime": start})
    assert before["SampledRequests"] == [] and before["PopulationSize"] == 0


def test_sampled_requests_errors(server):
    waf = server.client("wafv2")
    acl = waf.create_web_acl(Name="errors-acl", Scope="REGIONAL", DefaultAction={"Allow": {}},
                             Rules=[], VisibilityConfig=seen("errorsAcl"))["Summary"]
    with pytest.raises(ClientError) as e:
        waf.get_sampled_requests(WebAclArn=acl["ARN"], RuleMetricName="errorsAcl",
                                 Scope="REGIONAL", TimeWindow=window(), MaxItems=501)
    # The request path checks the model's range before the handler, answering as WAF does.
    assert code(e) == "WAFInvalidParameterException"
    now = datetime.datetime.now(datetime.timezone.utc)
    with pytest.raises(ClientError) as e:
        waf.get_sampled_requests(WebAclArn=acl["ARN"], RuleMetricName="errorsAcl",
                                 Scope="REGIONAL", MaxItems=10, TimeWindow={
                                     "StartTime": now, "EndTime": now - datetime.timedelta(hours=1)})
    assert code(e) == "WAFInvalidParameterException"
    gone = acl["ARN"].replace(acl["Id"], "00000000-0000-0000-0000-000000000000")
    with pytest.raises(ClientError) as e:
        waf.get_sampled_requests(WebAclArn=gone, RuleMetricName="errorsAcl",
                                 Scope="REGIONAL", TimeWindow=window(), MaxItems=10)
    assert code(e) == "WAFNonexistentItemException"
    empty = waf.get_sampled_requests(WebAclArn=acl["ARN"], RuleMetricName="errorsAcl",
                                     Scope="REGIONAL", TimeWindow=window(), MaxItems=10)
    assert empty["SampledRequests"] == [] and empty["PopulationSize"] == 0
