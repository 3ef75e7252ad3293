"""Shield end to end with boto3: the Advanced API's life cycle and AWS's errors; Shield
Standard on a load balancer listener in front of a small local HTTP app, under a Slowloris
client, a slow-POST client, a connection flood and a request flood (each from its own
loopback address, bounded in count and time) while a legitimate client keeps working; the
attack then listed by ListAttacks with its vectors; and the automatic response placing a
rate-based rule in the protected load balancer's web ACL during a request flood and removing
it after."""

import http.client
import multiprocessing
import socket
import time

import pytest
from botocore.exceptions import ClientError
from conftest import Server
from local_http import free_port, wait_for

# Short limits so the attacks trip them within seconds (the defaults are minutes-safe).
SHIELD_FLAGS = (
    "--shield-header-timeout-ms", "1000",
    "--shield-body-timeout-ms", "1500",
    "--shield-max-connections-per-address", "40",
    "--shield-max-requests-per-second", "60",
    "--shield-attack-quiet-secs", "3",
    "--shield-mitigation-limit", "10",
)


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def shield_server():
    s = Server(*SHIELD_FLAGS)
    yield s
    s.stop()


def load_balancer(server, name, app_port):
    """A load balancer forwarding to the app on a free port, serving once it answers."""
    elb = server.client("elbv2")
    lb = elb.create_load_balancer(Name=name, Subnets=["subnet-0a", "subnet-0b"],
                                  Type="application")["LoadBalancers"][0]
    tg = elb.create_target_group(Name=f"{name}-tg", Protocol="HTTP", Port=app_port,
                                 VpcId="vpc-0abc", TargetType="ip")["TargetGroups"][0]
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"],
                         Targets=[{"Id": "127.0.0.1", "Port": app_port}])
    port = free_port()
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                        DefaultActions=[{"Type": "forward",
                                         "TargetGroupArn": tg["TargetGroupArn"]}])

    def answers():
        try:
            return get("127.0.0.1", port)[0] == 200
        except OSError:
            return False
    wait_for(answers, what="the listener")
    return lb, tg, port


def get(source, port, path="/"):
    """One request on a new connection from `source`: (status, seconds)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5,
                                      source_address=(source, 0))
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        return r.status, time.perf_counter() - started
    finally:
        conn.close()


# ---- the attackers: each runs in its own process (so the legitimate client's timings are
# not its GIL waits), from its own loopback address, until its deadline, bounded in count.

def slowloris(port, seconds):
    """Opens connections that send a request's headers one byte at a time, never finishing."""
    deadline = time.time() + seconds
    socks = []
    opened = 0
    while time.time() < deadline and opened < 400:
        while len(socks) < 20:
            s = socket.socket()
            s.settimeout(2)
            try:
                s.bind(("127.0.0.2", 0))
                s.connect(("127.0.0.1", port))
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
                socks.append(s)
            except OSError:
                s.close()
            opened += 1
        for s in list(socks):
            try:
                s.sendall(b"X")
            except OSError:
                socks.remove(s)
                s.close()
        time.sleep(0.25)
    for s in socks:
        s.close()


def slow_post(port, seconds):
    """Sends request bodies one byte at a time."""
    deadline = time.time() + seconds
    socks = []
    opened = 0
    while time.time() < deadline and opened < 200:
        while len(socks) < 10:
            s = socket.socket()
            s.settimeout(2)
            try:
                s.bind(("127.0.0.3", 0))
                s.connect(("127.0.0.1", port))
                s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
                socks.append(s)
            except OSError:
                s.close()
            opened += 1
        for s in list(socks):
            try:
                s.sendall(b"a")
            except OSError:
                socks.remove(s)
                s.close()
        time.sleep(0.25)
    for s in socks:
        s.close()


def connection_flood(port, seconds):
    """Opens many idle connections at once, again and again."""
    deadline = time.time() + seconds
    rounds = 0
    while time.time() < deadline and rounds < 40:
        socks = []
        for _ in range(100):
            s = socket.socket()
            s.settimeout(1)
            try:
                s.bind(("127.0.0.4", 0))
                s.connect(("127.0.0.1", port))
                socks.append(s)
            except OSError:
                s.close()
        time.sleep(0.3)
        for s in socks:
            s.close()
        rounds += 1


def request_flood(port, seconds, source="127.0.0.5", rate=200):
    """Sends requests on one keep-alive connection at about `rate` a second."""
    deadline = time.time() + seconds
    sent = 0
    conn = None
    while time.time() < deadline and sent < rate * seconds:
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2,
                                                  source_address=(source, 0))
            conn.request("GET", "/flood")
            conn.getresponse().read()
        except (OSError, http.client.HTTPException):
            if conn is not None:
                conn.close()
            conn = None
        sent += 1
        time.sleep(1.0 / rate)
    if conn is not None:
        conn.close()


def attackers(port, seconds, kinds):
    procs = [multiprocessing.Process(target=k, args=(port, seconds), daemon=True) for k in kinds]
    for p in procs:
        p.start()
    return procs


# ---- the API.

def test_subscription_protections_groups_and_errors(shield_server, app):
    shield = shield_server.client("shield")
    assert shield.get_subscription_state()["SubscriptionState"] == "INACTIVE"
    with pytest.raises(ClientError) as e:
        shield.describe_subscription()
    assert code(e) == "ResourceNotFoundException"
    lb, tg, _ = load_balancer(shield_server, "api-lb", app)
    lb_arn = lb["LoadBalancerArn"]
    with pytest.raises(ClientError) as e:
        shield.create_protection(Name="p", ResourceArn=lb_arn)
    assert code(e) == "ResourceNotFoundException"

    shield.create_subscription()
    with pytest.raises(ClientError) as e:
        shield.create_subscription()
    assert code(e) == "ResourceAlreadyExistsException"
    assert shield.get_subscription_state()["SubscriptionState"] == "ACTIVE"
    sub = shield.describe_subscription()["Subscription"]
    assert sub["TimeCommitmentInSeconds"] == 31536000 and sub["AutoRenew"] == "ENABLED"
    assert sub["SubscriptionArn"].startswith("arn:aws:shield::")
    assert sub["SubscriptionLimits"]["ProtectionGroupLimits"]["MaxProtectionGroups"] > 0
    shield.update_subscription(AutoRenew="DISABLED")
    assert shield.describe_subscription()["Subscription"]["AutoRenew"] == "DISABLED"
    with pytest.raises(ClientError) as e:
        shield.delete_subscription()
    assert code(e) == "LockedSubscriptionException"

    pid = shield.create_protection(Name="web", ResourceArn=lb_arn,
                                   Tags=[{"Key": "team", "Value": "edge"}])["ProtectionId"]
    assert len(pid) == 36
    with pytest.raises(ClientError) as e:
        shield.create_protection(Name="again", ResourceArn=lb_arn)
    assert code(e) == "ResourceAlreadyExistsException"
    gone = lb_arn.rsplit("/", 2)[0] + "/no-such-lb/0123456789abcdef"
    with pytest.raises(ClientError) as e:
        shield.create_protection(Name="x", ResourceArn=gone)
    assert code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        shield.create_protection(Name="x", ResourceArn=tg["TargetGroupArn"])
    assert code(e) == "InvalidResourceException"

    p = shield.describe_protection(ProtectionId=pid)["Protection"]
    assert (p["Name"], p["ResourceArn"]) == ("web", lb_arn)
    assert shield.describe_protection(ResourceArn=lb_arn)["Protection"]["Id"] == pid
    with pytest.raises(ClientError) as e:
        shield.describe_protection(ProtectionId=pid, ResourceArn=lb_arn)
    assert code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        shield.describe_protection(ProtectionId="0" * 36)
    assert code(e) == "ResourceNotFoundException"

    lb2, _, _ = load_balancer(shield_server, "api-lb2", app)
    pid2 = shield.create_protection(Name="web2", ResourceArn=lb2["LoadBalancerArn"])["ProtectionId"]
    page = shield.list_protections(MaxResults=1)
    assert len(page["Protections"]) == 1 and page["NextToken"]
    rest = shield.list_protections(MaxResults=1, NextToken=page["NextToken"])
    assert {page["Protections"][0]["Id"], rest["Protections"][0]["Id"]} == {pid, pid2}
    only = shield.list_protections(InclusionFilters={"ProtectionNames": ["web2"]})
    assert [x["Id"] for x in only["Protections"]] == [pid2]
    with pytest.raises(ClientError) as e:
        shield.list_protections(NextToken="not-a-token")
    assert code(e) == "InvalidPaginationTokenException"

    parn = p["ProtectionArn"]
    assert shield.list_tags_for_resource(ResourceARN=parn)["Tags"] == [
        {"Key": "team", "Value": "edge"}]
    shield.tag_resource(ResourceARN=parn, Tags=[{"Key": "env", "Value": "prod"}])
    shield.untag_resource(ResourceARN=parn, TagKeys=["team"])
    assert shield.list_tags_for_resource(ResourceARN=parn)["Tags"] == [
        {"Key": "env", "Value": "prod"}]

    shield.create_protection_group(ProtectionGroupId="all", Aggregation="SUM", Pattern="ALL")
    shield.create_protection_group(ProtectionGroupId="some", Aggregation="MAX",
                                   Pattern="ARBITRARY", Members=[lb_arn])
    shield.create_protection_group(ProtectionGroupId="albs", Aggregation="MEAN",
                                   Pattern="BY_RESOURCE_TYPE",
                                   ResourceType="APPLICATION_LOAD_BALANCER")
    with pytest.raises(ClientError) as e:
        shield.create_protection_group(ProtectionGroupId="all", Aggregation="SUM", Pattern="ALL")
    assert code(e) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as e:
        shield.create_protection_group(ProtectionGroupId="bad", Aggregation="SUM",
                                       Pattern="BY_RESOURCE_TYPE")
    assert code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        shield.create_protection_group(ProtectionGroupId="bad", Aggregation="SUM",
                                       Pattern="ALL", Members=[lb_arn])
    assert code(e) == "InvalidParameterException"
    resources = lambda g: sorted(shield.list_resources_in_protection_group(
        ProtectionGroupId=g)["ResourceArns"])
    assert resources("all") == sorted([lb_arn, lb2["LoadBalancerArn"]])
    assert resources("some") == [lb_arn]
    assert resources("albs") == resources("all")
    g = shield.describe_protection_group(ProtectionGroupId="some")["ProtectionGroup"]
    assert g["Pattern"] == "ARBITRARY" and g["ProtectionGroupArn"].endswith(
        ":protection-group/some")
    shield.update_protection_group(ProtectionGroupId="some", Aggregation="SUM",
                                   Pattern="ARBITRARY", Members=[lb2["LoadBalancerArn"]])
    assert resources("some") == [lb2["LoadBalancerArn"]]
    listed = shield.list_protection_groups(InclusionFilters={"Patterns": ["ALL"]})
    assert [x["ProtectionGroupId"] for x in listed["ProtectionGroups"]] == ["all"]
    shield.delete_protection_group(ProtectionGroupId="albs")
    with pytest.raises(ClientError) as e:
        shield.describe_protection_group(ProtectionGroupId="albs")
    assert code(e) == "ResourceNotFoundException"

    # The automatic response needs a web ACL on the resource, and a valid action.
    with pytest.raises(ClientError) as e:
        shield.enable_application_layer_automatic_response(ResourceArn=lb_arn,
                                                            Action={"Block": {}})
    assert code(e) == "InvalidOperationException"
    with pytest.raises(ClientError) as e:
        shield.enable_application_layer_automatic_response(
            ResourceArn=lb_arn, Action={"Block": {}, "Count": {}})
    assert code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        shield.disable_application_layer_automatic_response(ResourceArn=lb_arn)
    assert code(e) == "InvalidOperationException"

    shield.delete_protection(ProtectionId=pid2)
    with pytest.raises(ClientError) as e:
        shield.delete_protection(ProtectionId=pid2)
    assert code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        shield.describe_attack(AttackId="no-such-attack")
    assert code(e) == "ResourceNotFoundException"


# ---- Shield Standard under attack.

def test_attacks_are_stopped_while_legitimate_clients_keep_working(shield_server, app):
    shield = shield_server.client("shield")
    lb, _, port = load_balancer(shield_server, "attacked", app)
    lb_arn = lb["LoadBalancerArn"]
    seconds = 8
    procs = attackers(port, seconds, [slowloris, slow_post, connection_flood, request_flood])

    # The legitimate client: about 20 requests a second, each on a new connection.
    latencies, errors = [], 0
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            status, took = get("127.0.0.1", port)
            if status == 200:
                latencies.append(took)
            else:
                errors += 1
        except OSError:
            errors += 1
        time.sleep(0.05)
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.terminate()
    total = len(latencies) + errors
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"legitimate: {total} requests, {errors} errors, p99 {p99 * 1000:.1f} ms")
    assert total > 50, total
    assert errors / total < 0.01, (errors, total)
    assert p99 < 0.05, f"p99 {p99 * 1000:.1f} ms over {total} requests"

    # The attack, with every vector, listed once it has ended (3 quiet seconds).
    def ended():
        got = shield.list_attacks(ResourceArns=[lb_arn])["AttackSummaries"]
        return got if got and all("EndTime" in a for a in got) else None
    summaries = wait_for(ended, timeout=15, what="the attack to end")
    assert len(summaries) == 1, summaries
    attack = summaries[0]
    vectors = {v["VectorType"] for v in attack["AttackVectors"]}
    assert {"SLOWLORIS", "SLOW_POST", "CONNECTION_FLOOD", "REQUEST_FLOOD"} <= vectors, vectors
    assert attack["StartTime"] < attack["EndTime"]

    detail = shield.describe_attack(AttackId=attack["AttackId"])["Attack"]
    counters = {c["Name"]: c for c in detail["AttackCounters"]}
    assert counters["REQUEST_FLOOD"]["Sum"] > 100
    assert counters["SLOWLORIS"]["Unit"] == "Connections"
    top = {c["Name"] for c in detail["AttackProperties"][0]["TopContributors"]}
    assert {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"} <= top, top
    assert "127.0.0.1" not in top

    stats = shield.describe_attack_statistics()
    assert stats["DataItems"][0]["AttackCount"] >= 1
    assert stats["DataItems"][0]["AttackVolume"]["RequestsPerSecond"]["Max"] > 0


def test_automatic_response_places_and_removes_its_rule(shield_server, app):
    shield = shield_server.client("shield")
    if shield.get_subscription_state()["SubscriptionState"] == "INACTIVE":
        shield.create_subscription()
    waf = shield_server.client("wafv2")
    lb, _, port = load_balancer(shield_server, "auto", app)
    lb_arn = lb["LoadBalancerArn"]
    visibility = {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False,
                  "MetricName": "m"}
    acl = waf.create_web_acl(Name="auto-acl", Scope="REGIONAL", DefaultAction={"Allow": {}},
                             VisibilityConfig=visibility)["Summary"]
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb_arn)
    pid = shield.create_protection(Name="auto", ResourceArn=lb_arn)["ProtectionId"]
    shield.enable_application_layer_automatic_response(ResourceArn=lb_arn,
                                                        Action={"Block": {}})
    with pytest.raises(ClientError) as e:
        shield.enable_application_layer_automatic_response(ResourceArn=lb_arn,
                                                            Action={"Block": {}})
    assert code(e) == "InvalidOperationException"
    p = shield.describe_protection(ProtectionId=pid)["Protection"]
    assert p["ApplicationLayerAutomaticResponseConfiguration"] == {
        "Status": "ENABLED", "Action": {"Block": {}}}

    def rules():
        got = waf.get_web_acl(Name="auto-acl", Scope="REGIONAL", Id=acl["Id"])["WebACL"]
        return [r for r in got.get("Rules", []) if r["Name"].startswith("ShieldMitigationRuleGroup_")]
    assert rules() == []

    flood = multiprocessing.Process(target=request_flood, args=(port, 6, "127.0.0.6", 150),
                                    daemon=True)
    flood.start()
    placed = wait_for(rules, timeout=6, what="the mitigation rule")
    assert placed[0]["Priority"] == 10000000 and "Block" in placed[0]["Action"]
    assert placed[0]["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"

    # The flooding address is blocked by the rule; the legitimate one is not.
    wait_for(lambda: get("127.0.0.6", port)[0] == 403, timeout=6, what="a blocked flood")
    assert get("127.0.0.1", port)[0] == 200
    flood.join(timeout=10)

    # After the attack the rule leaves the web ACL; the attack names its mitigation.
    wait_for(lambda: rules() == [], timeout=15, what="the rule's removal")
    attack = shield.list_attacks(ResourceArns=[lb_arn])["AttackSummaries"][0]
    detail = shield.describe_attack(AttackId=attack["AttackId"])["Attack"]
    assert [m["MitigationName"] for m in detail["Mitigations"]] == [placed[0]["Name"]]

    shield.update_application_layer_automatic_response(ResourceArn=lb_arn,
                                                        Action={"Count": {}})
    p = shield.describe_protection(ProtectionId=pid)["Protection"]
    assert p["ApplicationLayerAutomaticResponseConfiguration"]["Action"] == {"Count": {}}
    shield.disable_application_layer_automatic_response(ResourceArn=lb_arn)
    p = shield.describe_protection(ProtectionId=pid)["Protection"]
    assert "ApplicationLayerAutomaticResponseConfiguration" not in p
