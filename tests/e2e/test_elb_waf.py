"""Load balancers and web ACLs end to end with boto3: an application load balancer in front
of a small local HTTP app really proxies (X-Forwarded-* added), health checks mark a dead
target unhealthy, rules answer fixed responses and redirects; a web ACL associated with it
blocks requests that match its byte, IP set, size and regex rules and passes ordinary ones;
a rate-based rule blocks a bounded flood (loopback only) and releases it after its window
(on the dev clock);
AWS's errors for duplicates, stale lock tokens, bad rules and items in use."""

import json
import time

import pytest
from botocore.exceptions import ClientError
from conftest import advance
from local_http import EchoApp, free_port, request, serve, wait_for


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def load_balancer(server, name, app_port, dead_port=None):
    """A load balancer forwarding to the app (and to a dead port when given) on a free port."""
    elb = server.client("elbv2")
    lb = elb.create_load_balancer(Name=name, Subnets=["subnet-0a", "subnet-0b"],
                                  SecurityGroups=["sg-01"], Type="application")
    lb = lb["LoadBalancers"][0]
    tg = elb.create_target_group(
        Name=f"{name}-tg", Protocol="HTTP", Port=app_port, VpcId="vpc-0abc", TargetType="ip",
        HealthCheckPath="/health", HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2,
        HealthyThresholdCount=2, UnhealthyThresholdCount=2)["TargetGroups"][0]
    targets = [{"Id": "127.0.0.1", "Port": app_port}]
    if dead_port:
        targets.append({"Id": "127.0.0.1", "Port": dead_port})
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=targets)
    port = free_port()
    listener = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
    )["Listeners"][0]
    return elb, lb, tg, listener, port


def healthy_states(elb, tg):
    got = elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
    return {d["Target"]["Port"]: d["TargetHealth"]["State"]
            for d in got["TargetHealthDescriptions"]}


def test_listener_proxies_with_health_checks_rules_and_errors(server, app):
    dead = free_port()
    elb, lb, tg, listener, port = load_balancer(server, "web-a", app, dead)
    assert lb["Type"] == "application" and lb["State"]["Code"] == "active"
    assert lb["SecurityGroups"] == ["sg-01"]
    assert [z["SubnetId"] for z in lb["AvailabilityZones"]] == ["subnet-0a", "subnet-0b"]
    assert lb["DNSName"].endswith(".elb.localhost")

    # AWS's errors.
    with pytest.raises(ClientError) as e:
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                            DefaultActions=[{"Type": "forward",
                                             "TargetGroupArn": tg["TargetGroupArn"]}])
    assert code(e) == "DuplicateListener"
    with pytest.raises(ClientError) as e:
        elb.describe_load_balancers(Names=["no-such-lb"])
    assert code(e) == "LoadBalancerNotFound"
    with pytest.raises(ClientError) as e:
        elb.create_target_group(Name="web-a-tg", Protocol="HTTP", Port=80, VpcId="vpc-0abc")
    assert code(e) == "DuplicateTargetGroupName"
    bogus_tg = tg["TargetGroupArn"].rsplit("/", 1)[0] + "/0000000000000000"
    with pytest.raises(ClientError) as e:
        elb.register_targets(TargetGroupArn=bogus_tg, Targets=[{"Id": "127.0.0.1"}])
    assert code(e) == "TargetGroupNotFound"
    with pytest.raises(ClientError) as e:
        elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])
    assert code(e) == "ResourceInUse"

    # Health checks: the live target becomes healthy, the dead one unhealthy.
    wait_for(lambda: healthy_states(elb, tg) == {app: "healthy", dead: "unhealthy"}
             and healthy_states(elb, tg), timeout=30, what="health verdicts")
    got = elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
    dead_desc = [d for d in got["TargetHealthDescriptions"] if d["Target"]["Port"] == dead][0]
    assert dead_desc["TargetHealth"]["Reason"] == "Target.FailedHealthChecks"

    # Proxying: only the healthy target answers, with ALB's forwarding headers.
    for _ in range(6):
        status, _, body = request(port, "/hello?x=1", headers={"X-Forwarded-For": "198.51.100.7"})
        assert status == 200, body
        echoed = json.loads(body)
        assert echoed["path"] == "/hello?x=1"
        h = echoed["headers"]
        assert h["x-forwarded-for"] == "198.51.100.7, 127.0.0.1"
        assert h["x-forwarded-proto"] == "http"
        assert h["x-forwarded-port"] == str(port)
        assert h["x-amzn-trace-id"].startswith("Root=1-")

    # Rules: a fixed response by path, a redirect by host.
    rule = elb.create_rule(
        ListenerArn=listener["ListenerArn"], Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": ["/static/*"]}],
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
            "StatusCode": "200", "ContentType": "text/plain", "MessageBody": "static!"}}],
    )["Rules"][0]
    elb.create_rule(
        ListenerArn=listener["ListenerArn"], Priority=20,
        Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["old.example.com"]}}],
        Actions=[{"Type": "redirect", "RedirectConfig": {
            "Host": "new.example.com", "StatusCode": "HTTP_301"}}])
    with pytest.raises(ClientError) as e:
        elb.create_rule(ListenerArn=listener["ListenerArn"], Priority=10,
                        Conditions=[{"Field": "path-pattern", "Values": ["/x"]}],
                        Actions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    assert code(e) == "PriorityInUse"
    rules = elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    assert [r["Priority"] for r in rules] == ["10", "20", "default"]
    assert rules[-1]["IsDefault"] is True

    wait_for(lambda: request(port, "/static/app.js")[2] == b"static!", what="fixed response")
    status, headers, _ = request(port, "/static/app.js")
    assert status == 200 and headers["content-type"] == "text/plain"
    status, headers, _ = request(port, "/page?a=b", headers={"Host": "old.example.com"})
    assert status == 301
    assert headers["location"] == f"http://new.example.com:{port}/page?a=b"

    elb.delete_rule(RuleArn=rule["RuleArn"])
    wait_for(lambda: request(port, "/static/app.js")[0] == 200
             and b"/static/app.js" in request(port, "/static/app.js")[2], what="rule deleted")

    # ModifyListener applies within a second; DeleteListener stops listening.
    elb.modify_listener(ListenerArn=listener["ListenerArn"], DefaultActions=[
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503",
                                                           "MessageBody": "down"}}])
    wait_for(lambda: request(port, "/")[0] == 503, timeout=3, what="modified listener")
    elb.add_tags(ResourceArns=[lb["LoadBalancerArn"]], Tags=[{"Key": "team", "Value": "web"}])
    tags = elb.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
    assert tags == [{"Key": "team", "Value": "web"}]
    elb.delete_listener(ListenerArn=listener["ListenerArn"])
    wait_for(lambda: request(port, "/")[0] is None, timeout=3, what="listener closed")
    elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])


def visibility(name):
    return {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": name}


def test_web_acl_filters_proxied_traffic(server, app):
    elb, lb, tg, listener, port = load_balancer(server, "web-b", app)
    waf = server.client("wafv2")
    ipset = waf.create_ip_set(Name="blocked", Scope="REGIONAL", IPAddressVersion="IPV4",
                              Addresses=["203.0.113.0/24"])["Summary"]
    regexes = waf.create_regex_pattern_set(
        Name="admin", Scope="REGIONAL",
        RegularExpressionList=[{"RegexString": "^/admin"}])["Summary"]
    rules = [
        {"Name": "xss-query", "Priority": 1, "Action": {"Block": {}},
         "VisibilityConfig": visibility("xss"),
         "Statement": {"ByteMatchStatement": {
             "SearchString": b"<script>", "FieldToMatch": {"QueryString": {}},
             "PositionalConstraint": "CONTAINS",
             "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"},
                                     {"Priority": 1, "Type": "LOWERCASE"}]}}},
        {"Name": "bad-ips", "Priority": 2, "VisibilityConfig": visibility("ips"),
         "Action": {"Block": {"CustomResponse": {
             "ResponseCode": 418, "CustomResponseBodyKey": "nope",
             "ResponseHeaders": [{"Name": "reason", "Value": "ip"}]}}},
         "Statement": {"IPSetReferenceStatement": {
             "ARN": ipset["ARN"], "IPSetForwardedIPConfig": {
                 "HeaderName": "X-Forwarded-For", "FallbackBehavior": "NO_MATCH",
                 "Position": "FIRST"}}}},
        {"Name": "big-body", "Priority": 3, "Action": {"Block": {}},
         "VisibilityConfig": visibility("size"),
         "Statement": {"SizeConstraintStatement": {
             "FieldToMatch": {"Body": {"OversizeHandling": "MATCH"}},
             "ComparisonOperator": "GT", "Size": 1024,
             "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}},
        {"Name": "admin", "Priority": 4, "Action": {"Block": {}},
         "VisibilityConfig": visibility("admin"),
         "Statement": {"RegexPatternSetReferenceStatement": {
             "ARN": regexes["ARN"], "FieldToMatch": {"UriPath": {}},
             "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}},
    ]
    assert waf.check_capacity(Scope="REGIONAL", Rules=rules)["Capacity"] == 30 + 1 + 1 + 25
    acl = waf.create_web_acl(
        Name="app-acl", Scope="REGIONAL", DefaultAction={"Allow": {}}, Rules=rules,
        VisibilityConfig=visibility("acl"),
        CustomResponseBodies={"nope": {"ContentType": "TEXT_PLAIN", "Content": "go away"}},
    )["Summary"]
    got = waf.get_web_acl(Name="app-acl", Scope="REGIONAL", Id=acl["Id"])
    assert got["WebACL"]["Capacity"] == 57
    assert [r["Name"] for r in got["WebACL"]["Rules"]] == ["xss-query", "bad-ips", "big-body",
                                                           "admin"]
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb["LoadBalancerArn"])
    assert waf.get_web_acl_for_resource(
        ResourceArn=lb["LoadBalancerArn"])["WebACL"]["ARN"] == acl["ARN"]
    assert waf.list_resources_for_web_acl(WebACLArn=acl["ARN"])["ResourceArns"] == [
        lb["LoadBalancerArn"]]

    wait_for(lambda: request(port, "/search?q=%3CSCRIPT%3Ealert(1)")[0] == 403,
             what="web ACL in force")
    status, _, body = request(port, "/search?q=shoes")
    assert status == 200 and json.loads(body)["path"] == "/search?q=shoes"
    status, headers, body = request(port, "/", headers={"X-Forwarded-For": "203.0.113.9"})
    assert (status, body, headers["x-amzn-waf-reason"]) == (418, b"go away", "ip")
    assert request(port, "/", headers={"X-Forwarded-For": "198.51.100.1"})[0] == 200
    assert request(port, "/upload", method="POST", body=b"x" * 2000)[0] == 403
    status, _, body = request(port, "/upload", method="POST", body=b"x" * 100)
    assert status == 200 and json.loads(body)["body_length"] == 100
    assert request(port, "/admin/users")[0] == 403
    assert request(port, "/users/admin")[0] == 200

    # Stale lock tokens, items in use, bad rules, scope.
    token = got["LockToken"]
    nxt = waf.update_web_acl(Name="app-acl", Scope="REGIONAL", Id=acl["Id"], LockToken=token,
                             DefaultAction={"Allow": {}}, Rules=rules,
                             VisibilityConfig=visibility("acl"),
                             CustomResponseBodies={"nope": {"ContentType": "TEXT_PLAIN",
                                                            "Content": "go away"}})
    assert nxt["NextLockToken"] != token
    with pytest.raises(ClientError) as e:
        waf.update_web_acl(Name="app-acl", Scope="REGIONAL", Id=acl["Id"], LockToken=token,
                           DefaultAction={"Block": {}}, Rules=[],
                           VisibilityConfig=visibility("acl"))
    assert code(e) == "WAFOptimisticLockException"
    with pytest.raises(ClientError) as e:
        waf.delete_web_acl(Name="app-acl", Scope="REGIONAL", Id=acl["Id"],
                           LockToken=nxt["NextLockToken"])
    assert code(e) == "WAFAssociatedItemException"
    ip_token = waf.get_ip_set(Name="blocked", Scope="REGIONAL", Id=ipset["Id"])["LockToken"]
    with pytest.raises(ClientError) as e:
        waf.delete_ip_set(Name="blocked", Scope="REGIONAL", Id=ipset["Id"], LockToken=ip_token)
    assert code(e) == "WAFAssociatedItemException"
    with pytest.raises(ClientError) as e:
        waf.check_capacity(Scope="REGIONAL", Rules=[{
            "Name": "r", "Priority": 1, "Action": {"Block": {}},
            "VisibilityConfig": visibility("r"),
            "Statement": {"ByteMatchStatement": {
                "SearchString": b"two words", "FieldToMatch": {"UriPath": {}},
                "PositionalConstraint": "CONTAINS_WORD",
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}}])
    assert code(e) == "WAFInvalidParameterException"
    with pytest.raises(ClientError) as e:
        server.client("wafv2", region="eu-west-1").list_web_acls(Scope="CLOUDFRONT")
    assert code(e) == "WAFInvalidParameterException"
    with pytest.raises(ClientError) as e:
        waf.get_web_acl(Name="app-acl", Scope="REGIONAL", Id="00000000-0000-0000-0000-000000000000")
    assert code(e) == "WAFNonexistentItemException"

    # Updating the IP set changes enforcement; disassociating lifts it.
    waf.update_ip_set(Name="blocked", Scope="REGIONAL", Id=ipset["Id"], LockToken=ip_token,
                      Addresses=["198.51.100.0/24"])
    wait_for(lambda: request(port, "/", headers={"X-Forwarded-For": "198.51.100.1"})[0] == 418,
             what="updated IP set")
    assert request(port, "/", headers={"X-Forwarded-For": "203.0.113.9"})[0] == 200
    waf.disassociate_web_acl(ResourceArn=lb["LoadBalancerArn"])
    wait_for(lambda: request(port, "/search?q=%3Cscript%3E")[0] == 200, what="web ACL lifted")
    assert waf.get_web_acl_for_resource(ResourceArn=lb["LoadBalancerArn"]).get("WebACL") is None
    listed = waf.list_web_acls(Scope="REGIONAL")["WebACLs"]
    assert [a["Name"] for a in listed] == ["app-acl"]
    waf.delete_web_acl(Name="app-acl", Scope="REGIONAL", Id=acl["Id"],
                       LockToken=nxt["NextLockToken"])
    assert waf.list_web_acls(Scope="REGIONAL")["WebACLs"] == []


def test_sql_injection_and_xss_rules_block_attacks_and_pass_ordinary_requests(server, app):
    elb, lb, tg, listener, port = load_balancer(server, "web-e", app)
    waf = server.client("wafv2")
    decode = [{"Priority": 0, "Type": "URL_DECODE"}, {"Priority": 1, "Type": "HTML_ENTITY_DECODE"}]
    rules = [
        {"Name": "sqli", "Priority": 1, "Action": {"Block": {}}, "VisibilityConfig": visibility("sqli"),
         "Statement": {"SqliMatchStatement": {"FieldToMatch": {"AllQueryArguments": {}},
                                              "TextTransformations": decode, "SensitivityLevel": "HIGH"}}},
        {"Name": "xss", "Priority": 2, "Action": {"Block": {}}, "VisibilityConfig": visibility("xss-body"),
         "Statement": {"XssMatchStatement": {"FieldToMatch": {"Body": {"OversizeHandling": "CONTINUE"}},
                                             "TextTransformations": decode}}},
    ]
    # AWS's capacity units: SQLi HIGH 30 + 10 for all query arguments, XSS 40, +10 per
    # transformation.
    assert waf.check_capacity(Scope="REGIONAL", Rules=rules)["Capacity"] == (30 + 10 + 20) + (40 + 20)
    bad = dict(rules[0], Statement={"SqliMatchStatement": {
        "FieldToMatch": {"UriPath": {}}, "TextTransformations": decode, "SensitivityLevel": "MEDIUM"}})
    with pytest.raises(ClientError) as e:
        waf.check_capacity(Scope="REGIONAL", Rules=[bad])
    # Outside the model's enum: WAF's answer to any constraint the model states.
    assert e.value.response["Error"]["Code"] == "WAFInvalidParameterException"
    assert e.value.response["Field"] == "SENSITIVITY_LEVEL"
    acl = waf.create_web_acl(Name="inject-acl", Scope="REGIONAL", DefaultAction={"Allow": {}},
                             Rules=rules, VisibilityConfig=visibility("inject"))["Summary"]
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb["LoadBalancerArn"])
    wait_for(lambda: request(port, "/item?id=1%27%20OR%20%271%27%3D%271")[0] == 403,
             what="web ACL in force")
    assert request(port, "/item?id=1%20UNION%20SELECT%20password%20FROM%20users")[0] == 403
    assert request(port, "/item?id=1%20AND%20SLEEP(5)")[0] == 403
    assert request(port, "/item?id=42&name=John%20O%27Brien%20Smith")[0] == 200
    assert request(port, "/comment", method="POST",
                   body=b"text=%3Cscript%3Ealert(document.cookie)%3C/script%3E")[0] == 403
    assert request(port, "/comment", method="POST", body=b"<img src=x onerror=alert(1)>")[0] == 403
    assert request(port, "/comment", method="POST", body=b"text=a nice cup of tea")[0] == 200


def test_rate_based_rule_blocks_a_flood_then_releases_it(dev_server, app):
    server = dev_server
    elb, lb, tg, listener, port = load_balancer(server, "web-c", app)
    waf = server.client("wafv2")
    acl = waf.create_web_acl(
        Name="rate-acl", Scope="REGIONAL", DefaultAction={"Allow": {}},
        VisibilityConfig=visibility("rate"),
        Rules=[{"Name": "flood", "Priority": 0, "Action": {"Block": {}},
                "VisibilityConfig": visibility("flood"),
                "Statement": {"RateBasedStatement": {
                    "Limit": 10, "EvaluationWindowSec": 60, "AggregateKeyType": "IP"}}}],
    )["Summary"]
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb["LoadBalancerArn"])
    # The association applies within a second; until then requests are not counted.
    time.sleep(1.5)
    statuses = [request(port, "/")[0] for _ in range(40)]
    assert statuses[:10] == [200] * 10, statuses
    assert statuses[10:] == [403] * 30, statuses
    # The window runs on the request clock: the dev clock moves it past the flood.
    advance(server, 30)
    assert request(port, "/")[0] == 403
    advance(server, 31)
    assert request(port, "/")[0] == 200


def test_listeners_and_web_acls_come_back_after_a_restart(app):
    from conftest import Server

    first = Server()
    try:
        elb, lb, tg, listener, port = load_balancer(first, "web-d", app)
        waf = first.client("wafv2")
        acl = waf.create_web_acl(
            Name="restart-acl", Scope="REGIONAL", DefaultAction={"Allow": {}},
            VisibilityConfig=visibility("restart"),
            Rules=[{"Name": "no-admin", "Priority": 0, "Action": {"Block": {}},
                    "VisibilityConfig": visibility("no-admin"),
                    "Statement": {"ByteMatchStatement": {
                        "SearchString": b"/admin", "FieldToMatch": {"UriPath": {}},
                        "PositionalConstraint": "STARTS_WITH",
                        "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}]}}}],
        )["Summary"]
        waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb["LoadBalancerArn"])
        wait_for(lambda: request(port, "/ADMIN")[0] == 403, what="web ACL in force")
    finally:
        first.stop()
    assert request(port, "/")[0] is None, "the listener stops with the server"
    second = Server(data_dir=first.data_dir)
    try:
        wait_for(lambda: request(port, "/hello")[0] == 200, what="listener back")
        assert request(port, "/admin/x")[0] == 403
    finally:
        second.stop()


class KeepAliveApp(EchoApp):
    """The app over HTTP/1.1 keep-alive, noting the port each request came from."""

    protocol_version = "HTTP/1.1"
    peers = []

    def _answer(self):
        if not self.path.startswith("/health"):
            KeepAliveApp.peers.append(self.client_address[1])
        super()._answer()

    do_GET = _answer
    do_POST = _answer


def test_listener_keeps_connections_to_targets_open(server):
    httpd = serve(KeepAliveApp)
    try:
        elb, _, tg, _, port = load_balancer(server, "web-keep", httpd.server_address[1])
        wait_for(lambda: healthy_states(elb, tg) == {httpd.server_address[1]: "healthy"},
                 what="a healthy target")
        for i in range(10):
            status, _, body = request(port, f"/item/{i}")
            assert status == 200 and json.loads(body)["path"] == f"/item/{i}"
        # One after another, the ten requests share the proxy's kept connection.
        assert len(KeepAliveApp.peers) == 10
        assert len(set(KeepAliveApp.peers)) == 1, KeepAliveApp.peers
    finally:
        httpd.shutdown()
