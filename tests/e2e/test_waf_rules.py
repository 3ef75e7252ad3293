"""WAF rule groups of one's own, geo match statements and JSON body inspection end to end with
boto3, each evaluated on real traffic through a load balancer listener in front of a small
local HTTP app: rule groups (capacity fixed at creation, lock tokens, labels in the group's
namespace, ExcludedRules and RuleActionOverrides, an update reaching every web ACL that
references the group, deletion refused while referenced); geo match rules reading a small
MaxMind-format city database the test writes (requests come from chosen loopback addresses,
which the database places in France and the United States); JsonBody fields with JSON
Pointers, scopes and invalid-JSON fallbacks; the addresses rate-based rules (of the web ACL
and of a rule group) are blocking, as GetRateBasedStatementManagedKeys lists them."""

import http.client
import json
import os
import time

import pytest
from botocore.exceptions import ClientError
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from conftest import RUN_DIR, Server, advance
from local_http import request, wait_for
from test_elb_waf import code, load_balancer, visibility

PARIS = "127.0.0.1"
SEATTLE = "127.0.0.9"


@pytest.fixture(scope="module")
def server():
    """A server of this module's own, so its items do not show in other modules' lists."""
    s = Server()
    yield s
    s.stop()


def path_starts(prefix):
    return {"ByteMatchStatement": {
        "SearchString": prefix.encode(), "FieldToMatch": {"UriPath": {}},
        "PositionalConstraint": "STARTS_WITH",
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}


def rule(name, priority, statement, action, labels=None):
    r = {"Name": name, "Priority": priority, "Statement": statement, "Action": action,
         "VisibilityConfig": visibility(name)}
    if labels:
        r["RuleLabels"] = [{"Name": l} for l in labels]
    return r


def group_rules(debug_action):
    return [
        rule("admin", 1, path_starts("/admin"),
             {"Block": {"CustomResponse": {"ResponseCode": 451,
                                           "CustomResponseBodyKey": "why"}}},
             labels=["seen:admin"]),
        rule("debug", 2, path_starts("/debug"), debug_action),
        rule("tag", 3, path_starts("/tagged"), {"Count": {}}, labels=["tagged"]),
    ]


BODIES = {"why": {"ContentType": "TEXT_PLAIN", "Content": "group says no"}}


def reference(arn, priority=0, override="None", **extra):
    return {"Name": "own-group", "Priority": priority, "OverrideAction": {override: {}},
            "VisibilityConfig": visibility("own-group"),
            "Statement": {"RuleGroupReferenceStatement": {"ARN": arn, **extra}}}


def label_tells_app(name, priority, label, header):
    return rule(name, priority, {"LabelMatchStatement": {"Scope": "LABEL", "Key": label}},
                {"Allow": {"CustomRequestHandling": {
                    "InsertHeaders": [{"Name": header, "Value": "yes"}]}}})


def test_rule_group_life_cycle_capacity_and_errors(server):
    waf = server.client("wafv2")
    account = server.client("sts").get_caller_identity()["Account"]
    created = waf.create_rule_group(
        Name="life", Scope="REGIONAL", Capacity=10, Description="mine",
        Rules=group_rules({"Block": {}}), VisibilityConfig=visibility("life"),
        CustomResponseBodies=BODIES, Tags=[{"Key": "team", "Value": "web"}])["Summary"]
    assert created["ARN"].endswith(f":regional/rulegroup/life/{created['Id']}")
    got = waf.get_rule_group(Name="life", Scope="REGIONAL", Id=created["Id"])
    group = got["RuleGroup"]
    assert group["Capacity"] == 10 and group["Description"] == "mine"
    assert group["LabelNamespace"] == f"awswaf:{account}:rulegroup:life:"
    assert sorted(l["Name"] for l in group["AvailableLabels"]) == [
        f"awswaf:{account}:rulegroup:life:seen:admin", f"awswaf:{account}:rulegroup:life:tagged"]
    assert group["CustomResponseBodies"] == BODIES
    assert [r["Name"] for r in group["Rules"]] == ["admin", "debug", "tag"]
    assert waf.get_rule_group(ARN=created["ARN"])["RuleGroup"]["Id"] == created["Id"]
    listed = waf.list_rule_groups(Scope="REGIONAL")["RuleGroups"]
    assert [g["Name"] for g in listed if g["Name"] == "life"] == ["life"]
    tags = waf.list_tags_for_resource(ResourceARN=created["ARN"])["TagInfoForResource"]
    assert tags["TagList"] == [{"Key": "team", "Value": "web"}]
    # In a web ACL the group costs its fixed capacity, whatever its rules cost.
    assert waf.check_capacity(Scope="REGIONAL", Rules=[reference(created["ARN"])])[
        "Capacity"] == 10

    with pytest.raises(ClientError) as e:
        waf.create_rule_group(Name="life", Scope="REGIONAL", Capacity=10,
                              VisibilityConfig=visibility("life"))
    assert code(e) == "WAFDuplicateItemException"
    # Three byte matches cost 6 WCUs: a capacity of 5 is too small.
    with pytest.raises(ClientError) as e:
        waf.create_rule_group(Name="small", Scope="REGIONAL", Capacity=5,
                              Rules=group_rules({"Block": {}}), CustomResponseBodies=BODIES,
                              VisibilityConfig=visibility("small"))
    assert code(e) == "WAFInvalidParameterException"
    assert "capacity" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        waf.create_rule_group(Name="huge", Scope="REGIONAL", Capacity=5001,
                              VisibilityConfig=visibility("huge"))
    assert code(e) == "WAFLimitsExceededException"
    with pytest.raises(ClientError) as e:
        waf.create_rule_group(Name="nested", Scope="REGIONAL", Capacity=100,
                              Rules=[reference(created["ARN"])],
                              VisibilityConfig=visibility("nested"))
    assert code(e) == "WAFInvalidParameterException"
    with pytest.raises(ClientError) as e:
        waf.create_rule_group(Name="bodyless", Scope="REGIONAL", Capacity=10,
                              Rules=group_rules({"Block": {}}),
                              VisibilityConfig=visibility("bodyless"))
    assert code(e) == "WAFInvalidParameterException"

    token = got["LockToken"]
    more = group_rules({"Block": {}}) + [rule("more", 4, path_starts("/more"), {"Block": {}})]
    nxt = waf.update_rule_group(Name="life", Scope="REGIONAL", Id=created["Id"],
                                LockToken=token, Rules=more, CustomResponseBodies=BODIES,
                                VisibilityConfig=visibility("life"))["NextLockToken"]
    assert nxt != token
    with pytest.raises(ClientError) as e:
        waf.update_rule_group(Name="life", Scope="REGIONAL", Id=created["Id"],
                              LockToken=token, Rules=[], VisibilityConfig=visibility("life"))
    assert code(e) == "WAFOptimisticLockException"
    # Ten byte matches need 20 WCUs: the capacity, fixed at 10, refuses them.
    too_many = [rule(f"r{i}", i, path_starts(f"/r{i}"), {"Block": {}}) for i in range(10)]
    with pytest.raises(ClientError) as e:
        waf.update_rule_group(Name="life", Scope="REGIONAL", Id=created["Id"], LockToken=nxt,
                              Rules=too_many, VisibilityConfig=visibility("life"))
    assert code(e) == "WAFInvalidParameterException"
    assert waf.get_rule_group(ARN=created["ARN"])["RuleGroup"]["Capacity"] == 10
    with pytest.raises(ClientError) as e:
        waf.get_rule_group(Name="life", Scope="REGIONAL", Id="00000000-0000-0000-0000-000000000000")
    assert code(e) == "WAFNonexistentItemException"
    waf.delete_rule_group(Name="life", Scope="REGIONAL", Id=created["Id"], LockToken=nxt)
    assert "life" not in [g["Name"] for g in waf.list_rule_groups(Scope="REGIONAL")["RuleGroups"]]


def test_input_off_the_model_is_wafs_invalid_parameter(server):
    """An enum value or a name off its model constraints is WAF's WAFInvalidParameterException
    with its Field, Parameter and Reason, not the generic ValidationException."""
    waf = server.client("wafv2")
    with pytest.raises(ClientError) as e:
        waf.list_web_acls(Scope="EVERYWHERE")
    r = e.value.response
    assert code(e) == "WAFInvalidParameterException"
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (r["Field"], r["Parameter"]) == ("SCOPE_VALUE", "EVERYWHERE")
    assert r["Reason"] == "The parameter contains formatting that is not valid."
    assert r["Error"]["Message"] == (
        "Error reason: The parameter contains formatting that is not valid., "
        "field: SCOPE_VALUE, parameter: EVERYWHERE")
    with pytest.raises(ClientError) as e:
        waf.create_ip_set(Name="no spaces allowed", Scope="REGIONAL", IPAddressVersion="IPV4",
                          Addresses=[])
    assert code(e) == "WAFInvalidParameterException"
    assert (e.value.response["Field"], e.value.response["Parameter"]) == (
        "NAME", "no spaces allowed")
    assert all(s["Name"] != "no spaces allowed"
               for s in waf.list_ip_sets(Scope="REGIONAL")["IPSets"])


def test_a_rule_group_filters_the_traffic_of_every_web_acl_that_references_it(server, app):
    waf = server.client("wafv2")
    account = server.client("sts").get_caller_identity()["Account"]
    namespace = f"awswaf:{account}:rulegroup:shared:"
    group = waf.create_rule_group(
        Name="shared", Scope="REGIONAL", Capacity=50, Rules=group_rules({"Count": {}}),
        CustomResponseBodies=BODIES, VisibilityConfig=visibility("shared"))["Summary"]
    tells = label_tells_app("tell", 1, f"{namespace}tagged", "tagged")
    _, lb1, _, _, port1 = load_balancer(server, "rg-one", app)
    _, lb2, _, _, port2 = load_balancer(server, "rg-two", app)
    plain = waf.create_web_acl(
        Name="rg-plain", Scope="REGIONAL", DefaultAction={"Allow": {}},
        Rules=[reference(group["ARN"]), tells], VisibilityConfig=visibility("plain"))["Summary"]
    overridden = waf.create_web_acl(
        Name="rg-overridden", Scope="REGIONAL", DefaultAction={"Allow": {}},
        Rules=[reference(group["ARN"], ExcludedRules=[{"Name": "admin"}],
                         RuleActionOverrides=[{"Name": "debug", "ActionToUse": {"Block": {
                             "CustomResponse": {"ResponseCode": 429,
                                                "CustomResponseBodyKey": "acl"}}}}]),
               tells],
        CustomResponseBodies={"acl": {"ContentType": "TEXT_PLAIN", "Content": "acl says no"}},
        VisibilityConfig=visibility("overridden"))["Summary"]
    # The web ACL counts the group's capacity (50) plus its label rule (1).
    assert waf.get_web_acl(ARN=plain["ARN"])["WebACL"]["Capacity"] == 51
    waf.associate_web_acl(WebACLArn=plain["ARN"], ResourceArn=lb1["LoadBalancerArn"])
    waf.associate_web_acl(WebACLArn=overridden["ARN"], ResourceArn=lb2["LoadBalancerArn"])

    wait_for(lambda: request(port1, "/admin")[0] == 451, what="the group in force")
    status, _, body = request(port1, "/admin/users")
    assert (status, body) == (451, b"group says no")
    assert request(port1, "/debug")[0] == 200, "debug counts in the group"
    status, _, body = request(port1, "/tagged")
    assert status == 200 and json.loads(body)["headers"].get("x-amzn-waf-tagged") == "yes"
    assert "x-amzn-waf-tagged" not in json.loads(request(port1, "/other")[2])["headers"]

    wait_for(lambda: request(port2, "/debug")[0] == 429, what="the second web ACL in force")
    assert request(port2, "/debug")[2] == b"acl says no"
    assert request(port2, "/admin")[0] == 200, "admin is excluded: it counts"

    # An update of the group reaches both listeners: debug now blocks.
    token = waf.get_rule_group(ARN=group["ARN"])["LockToken"]
    waf.update_rule_group(Name="shared", Scope="REGIONAL", Id=group["Id"], LockToken=token,
                          Rules=group_rules({"Block": {}}), CustomResponseBodies=BODIES,
                          VisibilityConfig=visibility("shared"))
    wait_for(lambda: request(port1, "/debug")[0] == 403, what="the update on the first listener")
    assert request(port2, "/debug")[0] == 429, "the second web ACL's override still applies"

    token = waf.get_rule_group(ARN=group["ARN"])["LockToken"]
    with pytest.raises(ClientError) as e:
        waf.delete_rule_group(Name="shared", Scope="REGIONAL", Id=group["Id"], LockToken=token)
    assert code(e) == "WAFAssociatedItemException"
    for acl, lb in [(plain, lb1), (overridden, lb2)]:
        waf.disassociate_web_acl(ResourceArn=lb["LoadBalancerArn"])
        acl_token = waf.get_web_acl(ARN=acl["ARN"])["LockToken"]
        waf.delete_web_acl(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"], LockToken=acl_token)
    waf.delete_rule_group(Name="shared", Scope="REGIONAL", Id=group["Id"], LockToken=token)
    wait_for(lambda: request(port1, "/admin")[0] == 200, what="the web ACL gone")


def write_city_database(folder):
    """A GeoLite2-City database placing PARIS in France (Île-de-France) and SEATTLE in the
    United States (Washington); 198.51.100.7 in Australia, for forwarded addresses."""
    city = MMDBWriter(ip_version=4, database_type="GeoLite2-City", languages=["en"],
                      description="rampart test")
    places = [(PARIS, "FR", "IDF"), (SEATTLE, "US", "WA"), ("198.51.100.7", "AU", None)]
    for ip, country, region in places:
        record = {"country": {"iso_code": country}}
        if region:
            record["subdivisions"] = [{"iso_code": region}]
        city.insert_network(IPSet([ip + "/32"]), record)
    path = os.path.join(folder, "city.mmdb")
    city.to_db_file(path)
    return path


def request_from(source, port, path="/", headers=None):
    """One request through the listener from the loopback address `source`: (status, body),
    or (None, b"") while nothing listens."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                      source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
        return None, b""
    finally:
        conn.close()


@pytest.fixture(scope="module")
def geo_server():
    folder = os.path.join(RUN_DIR, "waf-geo")
    os.makedirs(folder, exist_ok=True)
    s = Server("--geoip-city-db", write_city_database(folder))
    yield s
    s.stop()


def geo(codes, forwarded=False):
    st = {"CountryCodes": codes}
    if forwarded:
        st["ForwardedIPConfig"] = {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "NO_MATCH"}
    return {"GeoMatchStatement": st}


def test_geo_match_rules_block_by_country_and_label_regions(geo_server, app):
    waf = geo_server.client("wafv2")
    _, lb, _, _, port = load_balancer(geo_server, "geo", app)
    rules = [
        rule("block-us", 1, geo(["US", "CA"]), {"Block": {}}),
        rule("block-forwarded-au", 2, geo(["AU"], forwarded=True),
             {"Block": {"CustomResponse": {"ResponseCode": 429}}}),
        label_tells_app("paris", 3, "awswaf:clientip:geo:region:FR-IDF", "paris"),
    ]
    assert waf.check_capacity(Scope="REGIONAL", Rules=rules)["Capacity"] == 3
    acl = waf.create_web_acl(Name="geo-acl", Scope="REGIONAL", DefaultAction={"Allow": {}},
                             Rules=rules, VisibilityConfig=visibility("geo"))["Summary"]
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb["LoadBalancerArn"])
    wait_for(lambda: request_from(SEATTLE, port)[0] == 403, what="the geo rule in force")
    status, body = request_from(PARIS, port)
    assert status == 200 and json.loads(body)["headers"].get("x-amzn-waf-paris") == "yes"
    status, _ = request_from(PARIS, port, headers={"X-Forwarded-For": "198.51.100.7"})
    assert status == 429
    assert request_from(PARIS, port, headers={"X-Forwarded-For": "192.0.2.1"})[0] == 200
    # An address the database does not know matches no country.
    assert request_from("127.0.0.5", port)[0] == 200
    assert "x-amzn-waf-paris" not in json.loads(request_from("127.0.0.5", port)[1])["headers"]

    # In a rule group too.
    group = waf.create_rule_group(Name="geo-group", Scope="REGIONAL", Capacity=5,
                                  Rules=[rule("us", 1, geo(["US"]), {"Block": {}})],
                                  VisibilityConfig=visibility("geo-group"))["Summary"]
    token = waf.get_web_acl(ARN=acl["ARN"])["LockToken"]
    waf.update_web_acl(Name="geo-acl", Scope="REGIONAL", Id=acl["Id"], LockToken=token,
                       DefaultAction={"Allow": {}}, Rules=[reference(group["ARN"])],
                       VisibilityConfig=visibility("geo"))
    wait_for(lambda: request_from(PARIS, port, headers={"X-Forwarded-For": "198.51.100.7"})[0]
             == 200, what="the update")
    assert request_from(SEATTLE, port)[0] == 403
    with pytest.raises(ClientError) as e:
        waf.check_capacity(Scope="REGIONAL", Rules=[rule("bad", 1, geo(["usa"]), {"Block": {}})])
    assert code(e) == "WAFInvalidParameterException", "the model's CountryCode enum refuses it"


def test_a_web_acl_that_no_longer_compiles_fails_closed(app):
    """A GeoMatch web ACL stored while the geolocation database was configured, after a
    restart without it: its load balancer answers 403 to every request, never unfiltered."""
    folder = os.path.join(RUN_DIR, "waf-geo-closed")
    os.makedirs(folder, exist_ok=True)
    first = Server("--geoip-city-db", write_city_database(folder))
    try:
        waf = first.client("wafv2")
        _, lb, _, _, port = load_balancer(first, "geo-closed", app)
        acl = waf.create_web_acl(Name="geo-closed", Scope="REGIONAL", DefaultAction={"Allow": {}},
                                 Rules=[rule("block-us", 1, geo(["US"]), {"Block": {}})],
                                 VisibilityConfig=visibility("geo-closed"))["Summary"]
        waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb["LoadBalancerArn"])
        wait_for(lambda: request_from(SEATTLE, port)[0] == 403, what="the geo rule in force")
        assert request_from(PARIS, port)[0] == 200
    finally:
        first.stop()
    second = Server(data_dir=first.data_dir)
    try:
        wait_for(lambda: request_from(PARIS, port)[0] == 403, what="the listener failing closed")
        assert request_from(SEATTLE, port)[0] == 403
    finally:
        second.stop()


def test_geo_match_is_refused_without_a_database(server):
    waf = server.client("wafv2")
    for create in [
        lambda: waf.create_web_acl(Name="no-geo", Scope="REGIONAL", DefaultAction={"Allow": {}},
                                   Rules=[rule("g", 1, geo(["US"]), {"Block": {}})],
                                   VisibilityConfig=visibility("no-geo")),
        lambda: waf.create_rule_group(Name="no-geo", Scope="REGIONAL", Capacity=5,
                                      Rules=[rule("g", 1, geo(["US"]), {"Block": {}})],
                                      VisibilityConfig=visibility("no-geo")),
    ]:
        with pytest.raises(ClientError) as e:
            create()
        assert code(e) == "WAFInvalidParameterException"
        assert "--geoip-city-db" in e.value.response["Error"]["Message"]


def json_rule(name, priority, field, search, positional="EXACTLY"):
    return rule(name, priority, {"ByteMatchStatement": {
        "SearchString": search.encode(), "FieldToMatch": {"JsonBody": field},
        "PositionalConstraint": positional,
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}, {"Block": {}})


def test_json_body_rules_inspect_keys_values_and_paths(server, app):
    waf = server.client("wafv2")
    _, lb, _, _, port = load_balancer(server, "json", app)
    rules = [
        json_rule("role", 1, {"MatchPattern": {"IncludedPaths": ["/user/role"]},
                              "MatchScope": "VALUE"}, "admin"),
        json_rule("proto", 2, {"MatchPattern": {"All": {}}, "MatchScope": "KEY",
                               "InvalidFallbackBehavior": "NO_MATCH"}, "__proto__"),
        json_rule("strict", 3, {"MatchPattern": {"IncludedPaths": ["/never"]},
                                "MatchScope": "ALL", "InvalidFallbackBehavior": "MATCH"}, "x"),
    ]
    # EXACTLY costs 2, doubled for the JSON body: 3 x 4.
    assert waf.check_capacity(Scope="REGIONAL", Rules=rules)["Capacity"] == 12
    acl = waf.create_web_acl(Name="json-acl", Scope="REGIONAL", DefaultAction={"Allow": {}},
                             Rules=rules, VisibilityConfig=visibility("json"))["Summary"]
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb["LoadBalancerArn"])

    def post(body):
        return request(port, "/api", method="POST", body=body,
                       headers={"Content-Type": "application/json"})[0]

    wait_for(lambda: post(b'{"user": {"role": "admin"}}') == 403, what="the JSON rules")
    assert post(b'{"user": {"role": "viewer", "name": "admin"}}') == 200
    assert post(b'{"role": "admin"}') == 200
    assert post(b'{"a": [{"__proto__": {"x": 1}}]}') == 403
    assert post(b'{"a": "__proto__"}') == 200
    assert post(b'{"user": ') == 403, "invalid JSON matches the strict rule"
    assert post(b'[1, 2, 3]') == 200
    with pytest.raises(ClientError) as e:
        waf.check_capacity(Scope="REGIONAL", Rules=[json_rule(
            "bad", 1, {"MatchPattern": {"IncludedPaths": ["user"]}, "MatchScope": "ALL"}, "x")])
    assert code(e) == "WAFInvalidParameterException", "the model's JSON Pointer pattern refuses it"
    with pytest.raises(ClientError) as e:
        waf.check_capacity(Scope="REGIONAL", Rules=[json_rule(
            "bad", 1, {"MatchPattern": {"All": {}, "IncludedPaths": ["/a"]},
                       "MatchScope": "ALL"}, "x")])
    assert code(e) == "WAFInvalidParameterException"


def rate_rule(name, priority):
    return rule(name, priority, {"RateBasedStatement": {
        "Limit": 10, "EvaluationWindowSec": 60, "AggregateKeyType": "IP"}}, {"Block": {}})


def test_managed_keys_list_the_addresses_rate_based_rules_block(dev_server, app):
    server = dev_server
    waf = server.client("wafv2")
    _, lb, _, _, port = load_balancer(server, "keys", app)
    group = waf.create_rule_group(Name="rates", Scope="REGIONAL", Capacity=10,
                                  Rules=[rate_rule("group-flood", 1)],
                                  VisibilityConfig=visibility("rates"))["Summary"]
    acl = waf.create_web_acl(
        Name="keys-acl", Scope="REGIONAL", DefaultAction={"Allow": {}},
        Rules=[reference(group["ARN"], priority=0, override="Count"), rate_rule("flood", 1)],
        VisibilityConfig=visibility("keys"))["Summary"]

    def keys(**names):
        got = waf.get_rate_based_statement_managed_keys(
            Scope="REGIONAL", WebACLName="keys-acl", WebACLId=acl["Id"], **names)
        return got["ManagedKeysIPV4"]["Addresses"], got["ManagedKeysIPV6"]["Addresses"]

    assert keys(RuleName="flood") == ([], [])
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb["LoadBalancerArn"])
    time.sleep(1.5)
    statuses = [request(port, "/")[0] for _ in range(15)]
    assert statuses == [200] * 10 + [403] * 5, statuses
    assert keys(RuleName="flood") == (["127.0.0.1/32"], [])
    assert keys(RuleName="group-flood", RuleGroupRuleName="own-group") == (["127.0.0.1/32"], [])
    with pytest.raises(ClientError) as e:
        keys(RuleName="nope")
    assert code(e) == "WAFNonexistentItemException"
    with pytest.raises(ClientError) as e:
        keys(RuleName="flood", RuleGroupRuleName="flood")
    assert code(e) == "WAFInvalidParameterException"
    # Once the window passes on the request clock, nothing is blocked.
    advance(server, 61)
    assert keys(RuleName="flood") == ([], [])
    assert keys(RuleName="group-flood", RuleGroupRuleName="own-group") == ([], [])
