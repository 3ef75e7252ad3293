"""EventBridge end to end with boto3: rules and targets with AWS's shapes and errors, event
patterns through TestEventPattern, connections whose secrets never come back, API
destinations, PutEvents delivered to a local HTTP receiver (with the connection's auth),
retried while the receiver is down, kept across a restart, and "AWS API Call via CloudTrail"
events for Rampart's own API calls."""

import base64
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError

from conftest import Server
from conftest import advance


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def message(excinfo):
    return excinfo.value.response["Error"]["Message"]




def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A local HTTP endpoint recording what it receives; `/token` answers an OAuth token."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.received = []
        self.times = []
        self.httpd = None

    def start(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/token"):
                    outer.received.append(("token", dict(self.headers), body))
                    payload = json.dumps({"access_token": "tok-123", "expires_in": 3600}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                outer.received.append((self.path, dict(self.headers), body))
                outer.times.append(time.monotonic())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Listener(ThreadingHTTPServer):
            # Rampart delivers up to 16 at once: a backlog of 5 would drop connections.
            request_queue_size = 64

        self.httpd = Listener(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def events(self, path="/hook"):
        return [json.loads(b) for p, _, b in self.received if p == path]

    def wait(self, count, path="/hook", timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.events(path)) >= count:
                return self.events(path)
            time.sleep(0.2)
        return self.events(path)


@pytest.fixture(scope="module")
def server():
    s = Server("--dev")
    yield s
    s.stop()


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def api_key_destination(events, name, url, key_value="s3cr3t-key"):
    conn = events.create_connection(
        Name=f"{name}-conn",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": key_value}},
    )
    dest = events.create_api_destination(
        Name=f"{name}-dest",
        ConnectionArn=conn["ConnectionArn"],
        InvocationEndpoint=url,
        HttpMethod="POST",
        InvocationRateLimitPerSecond=10,
    )
    return conn["ConnectionArn"], dest["ApiDestinationArn"]


def test_rules_targets_and_tags(server):
    events = server.client("events")
    bus = events.describe_event_bus()
    assert bus["Name"] == "default"
    assert bus["Arn"].endswith(":event-bus/default")
    pattern = json.dumps({"source": ["com.example.orders"]})
    arn = events.put_rule(Name="orders-a", EventPattern=pattern, Description="orders",
                          Tags=[{"Key": "team", "Value": "blue"}])["RuleArn"]
    assert arn.endswith(":rule/orders-a")
    events.put_rule(Name="orders-b", EventPattern=pattern, State="DISABLED")
    events.put_rule(Name="other", EventPattern=pattern)
    d = events.describe_rule(Name="orders-a")
    assert (d["Name"], d["State"], d["EventPattern"], d["Description"], d["EventBusName"]) == (
        "orders-a", "ENABLED", pattern, "orders", "default")
    names = [r["Name"] for r in events.list_rules(NamePrefix="orders")["Rules"]]
    assert names == ["orders-a", "orders-b"]
    page = events.list_rules(NamePrefix="orders", Limit=1)
    assert [r["Name"] for r in page["Rules"]] == ["orders-a"]
    rest = events.list_rules(NamePrefix="orders", Limit=1, NextToken=page["NextToken"])
    assert [r["Name"] for r in rest["Rules"]] == ["orders-b"] and "NextToken" not in rest
    events.enable_rule(Name="orders-b")
    assert events.describe_rule(Name="orders-b")["State"] == "ENABLED"
    events.disable_rule(Name="orders-b")
    assert events.describe_rule(Name="orders-b")["State"] == "DISABLED"

    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "blue"}]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "prod"}])
    events.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]

    _, dest = api_key_destination(events, "rules", "http://127.0.0.1:9/hook")
    out = events.put_targets(Rule="orders-a", Targets=[
        {"Id": "t1", "Arn": dest},
        {"Id": "t2", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f"},
    ])
    assert out["FailedEntryCount"] == 1
    assert out["FailedEntries"][0]["TargetId"] == "t2"
    targets = events.list_targets_by_rule(Rule="orders-a")["Targets"]
    assert [(t["Id"], t["Arn"]) for t in targets] == [("t1", dest)]
    assert events.list_rule_names_by_target(TargetArn=dest)["RuleNames"] == ["orders-a"]
    with pytest.raises(ClientError) as e:
        events.delete_rule(Name="orders-a")
    assert code(e) == "ValidationException"
    assert message(e) == "Rule can't be deleted since it has targets."
    assert events.describe_rule(Name="orders-a")["Name"] == "orders-a"
    events.remove_targets(Rule="orders-a", Ids=["t1"])
    events.delete_rule(Name="orders-a")
    with pytest.raises(ClientError) as e:
        events.describe_rule(Name="orders-a")
    assert code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        events.put_rule(Name="x", EventPattern=pattern, EventBusName="custom")
    assert code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        events.put_rule(Name="x")
    assert code(e) == "ValidationException"


@pytest.mark.parametrize("pattern,reason", [
    ("[]", "Filter is not an object"),
    ('{"source": "aws.ec2"}', '"source" must be an object or an array'),
    ('{"detail": {}}', "Empty objects are not allowed"),
    ('{"a": [{"numeric": [">", 5, "<", 1]}]}', "Bottom must be less than top"),
    ('{"a": [{"wildcard": "a**b"}]}', "Consecutive wildcard characters at pos 1"),
    ('{"a": [{"anything-but": ["x", 1]}]}',
     "Inside anything but list, either all values are number or string, mixed type is not supported"),
    ('{"a": [{"bogus": 1}]}', "Unrecognized match type bogus"),
])
def test_invalid_patterns_are_refused_with_aws_reasons(server, pattern, reason):
    events = server.client("events")
    with pytest.raises(ClientError) as e:
        events.put_rule(Name="bad", EventPattern=pattern)
    assert code(e) == "InvalidEventPatternException"
    assert message(e) == f"Event pattern is not valid. Reason: {reason}"
    with pytest.raises(ClientError):
        events.describe_rule(Name="bad")


EVENT = {
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-abcd1111", "state": "pending", "count": 7,
               "ip": "10.1.2.3", "file": "photo.PNG"},
}


@pytest.mark.parametrize("pattern,expected", [
    ({"source": ["aws.ec2"]}, True),
    ({"source": ["aws.s3", "aws.ec2"], "detail": {"state": ["pending"]}}, True),
    ({"detail": {"state": ["running"]}}, False),
    ({"detail": {"state": [{"prefix": "pen"}]}}, True),
    ({"detail": {"file": [{"suffix": {"equals-ignore-case": ".png"}}]}}, True),
    ({"detail": {"state": [{"equals-ignore-case": "PENDING"}]}}, True),
    ({"detail": {"state": [{"anything-but": ["pending", "running"]}]}}, False),
    ({"detail": {"state": [{"anything-but": {"prefix": "run"}}]}}, True),
    ({"detail": {"count": [{"numeric": [">", 5, "<=", 7]}]}}, True),
    ({"detail": {"count": [{"numeric": ["<", 7]}]}}, False),
    ({"detail": {"missing": [{"exists": False}]}}, True),
    ({"detail": {"state": [{"exists": False}]}}, False),
    ({"detail": {"file": [{"wildcard": "photo.*"}]}}, True),
    ({"detail": {"ip": [{"cidr": "10.1.0.0/16"}]}}, True),
    ({"detail": {"ip": [{"cidr": "10.2.0.0/16"}]}}, False),
    ({"$or": [{"source": ["aws.s3"]}, {"detail": {"count": [7]}}]}, True),
])
def test_test_event_pattern(server, pattern, expected):
    events = server.client("events")
    out = events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(EVENT))
    assert out["Result"] is expected


def test_test_event_pattern_refuses_an_incomplete_event(server):
    events = server.client("events")
    with pytest.raises(ClientError) as e:
        events.test_event_pattern(EventPattern='{"source": ["x"]}', Event='{"source": "x"}')
    assert code(e) == "ValidationException"


def test_connections_keep_their_secrets(server):
    events = server.client("events")
    arn = events.create_connection(
        Name="basic-conn",
        AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "alice", "Password": "hunter2"},
                        "InvocationHttpParameters": {"HeaderParameters": [
                            {"Key": "x-plain", "Value": "visible", "IsValueSecret": False},
                            {"Key": "x-hidden", "Value": "invisible", "IsValueSecret": True}]}},
    )["ConnectionArn"]
    d = events.describe_connection(Name="basic-conn")
    assert d["ConnectionArn"] == arn and d["ConnectionState"] == "AUTHORIZED"
    assert d["AuthParameters"]["BasicAuthParameters"] == {"Username": "alice"}
    text = json.dumps(d, default=str)
    assert "hunter2" not in text and "invisible" not in text and "visible" in text
    # Sealed at rest too: no file of the data dir (store, journal, audit) holds the secrets.
    for root, _, files in os.walk(server.data_dir):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                data = fh.read()
            assert b"hunter2" not in data and b"invisible" not in data, f
    with pytest.raises(ClientError) as e:
        events.create_connection(Name="basic-conn", AuthorizationType="BASIC",
                                 AuthParameters={"BasicAuthParameters": {"Username": "a", "Password": "b"}})
    assert code(e) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as e:
        events.create_connection(Name="no-params", AuthorizationType="API_KEY",
                                 AuthParameters={"BasicAuthParameters": {"Username": "a", "Password": "b"}})
    assert code(e) == "ValidationException"
    names = [c["Name"] for c in events.list_connections(NamePrefix="basic")["Connections"]]
    assert names == ["basic-conn"]
    events.update_connection(Name="basic-conn", Description="updated",
                             AuthParameters={"BasicAuthParameters": {"Password": "new-pass"}})
    d = events.describe_connection(Name="basic-conn")
    assert d["Description"] == "updated"
    assert d["AuthParameters"]["BasicAuthParameters"] == {"Username": "alice"}

    dest = events.create_api_destination(Name="basic-dest", ConnectionArn=arn,
                                         InvocationEndpoint="https://example.com/hook",
                                         HttpMethod="PUT")
    d = events.describe_api_destination(Name="basic-dest")
    assert (d["ApiDestinationArn"], d["InvocationEndpoint"], d["HttpMethod"],
            d["InvocationRateLimitPerSecond"], d["ApiDestinationState"]) == (
        dest["ApiDestinationArn"], "https://example.com/hook", "PUT", 300, "ACTIVE")
    events.update_api_destination(Name="basic-dest", InvocationRateLimitPerSecond=5)
    assert events.describe_api_destination(Name="basic-dest")["InvocationRateLimitPerSecond"] == 5
    listed = events.list_api_destinations(ConnectionArn=arn)["ApiDestinations"]
    assert [x["Name"] for x in listed] == ["basic-dest"]
    with pytest.raises(ClientError) as e:
        events.delete_connection(Name="basic-conn")
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        events.create_api_destination(Name="bad-dest", ConnectionArn=arn,
                                      InvocationEndpoint="ftp://example.com", HttpMethod="POST")
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        events.create_api_destination(Name="bad-dest", ConnectionArn=arn + "x",
                                      InvocationEndpoint="https://example.com", HttpMethod="POST")
    assert code(e) == "ResourceNotFoundException"
    events.delete_api_destination(Name="basic-dest")
    events.delete_connection(Name="basic-conn")
    with pytest.raises(ClientError) as e:
        events.describe_connection(Name="basic-conn")
    assert code(e) == "ResourceNotFoundException"


def test_put_events_are_delivered_to_the_api_destination(server, receiver):
    events = server.client("events")
    _, dest = api_key_destination(events, "deliver", receiver.url())
    events.put_rule(Name="big-orders", EventPattern=json.dumps(
        {"source": ["com.example.orders"], "detail": {"amount": [{"numeric": [">", 100]}]}}))
    events.put_targets(Rule="big-orders", Targets=[{"Id": "hook", "Arn": dest}])
    out = events.put_events(Entries=[
        {"Source": "com.example.orders", "DetailType": "Order Placed",
         "Detail": json.dumps({"amount": 250, "id": "o-1"}), "Resources": ["arn:aws:x:::o-1"]},
        {"Source": "com.example.orders", "DetailType": "Order Placed",
         "Detail": json.dumps({"amount": 5, "id": "o-2"})},
        {"Source": "com.example.orders", "DetailType": "Order Placed", "Detail": "not json"},
        {"Source": "aws.ec2", "DetailType": "x", "Detail": "{}"},
    ])
    assert out["FailedEntryCount"] == 2
    assert "EventId" in out["Entries"][0] and "EventId" in out["Entries"][1]
    assert out["Entries"][2]["ErrorCode"] == "MalformedDetail"
    assert out["Entries"][3]["ErrorCode"] == "NotAuthorizedForSourceException"
    got = receiver.wait(1)
    assert len(got) == 1
    event = got[0]
    assert event["id"] == out["Entries"][0]["EventId"]
    assert (event["version"], event["source"], event["detail-type"], event["region"]) == (
        "0", "com.example.orders", "Order Placed", "us-east-1")
    assert event["detail"] == {"amount": 250, "id": "o-1"}
    assert event["resources"] == ["arn:aws:x:::o-1"]
    assert event["account"] == server.client("sts").get_caller_identity()["Account"]
    headers = {k.lower(): v for k, v in receiver.received[0][1].items()}
    assert headers["x-api-key"] == "s3cr3t-key"
    time.sleep(1.5)
    assert len(receiver.events()) == 1, "the non-matching event is not delivered"
    events.remove_targets(Rule="big-orders", Ids=["hook"])
    events.delete_rule(Name="big-orders")


def test_put_events_limits(server):
    events = server.client("events")
    entry = {"Source": "com.example", "DetailType": "t", "Detail": "{}"}
    with pytest.raises(ClientError) as e:
        events.put_events(Entries=[entry] * 11)
    assert code(e) == "ValidationException"
    big = dict(entry, Detail=json.dumps({"pad": "x" * (130 * 1024)}))
    with pytest.raises(ClientError) as e:
        events.put_events(Entries=[big, big])
    assert code(e) == "ValidationException"


def test_basic_and_oauth_connections_authenticate(server, receiver):
    events = server.client("events")
    basic = events.create_connection(
        Name="b-conn", AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "bob", "Password": "pw"}})["ConnectionArn"]
    oauth = events.create_connection(
        Name="o-conn", AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters={"OAuthParameters": {
            "ClientParameters": {"ClientID": "cid", "ClientSecret": "csecret"},
            "AuthorizationEndpoint": receiver.url("/token"), "HttpMethod": "POST"}})["ConnectionArn"]
    d1 = events.create_api_destination(Name="b-dest", ConnectionArn=basic,
                                       InvocationEndpoint=receiver.url("/basic"), HttpMethod="POST")
    d2 = events.create_api_destination(Name="o-dest", ConnectionArn=oauth,
                                       InvocationEndpoint=receiver.url("/oauth"), HttpMethod="POST")
    events.put_rule(Name="auth", EventPattern=json.dumps({"source": ["com.example.auth"]}))
    events.put_targets(Rule="auth", Targets=[
        {"Id": "b", "Arn": d1["ApiDestinationArn"]},
        {"Id": "o", "Arn": d2["ApiDestinationArn"], "InputPath": "$.detail"},
    ])
    events.put_events(Entries=[{"Source": "com.example.auth", "DetailType": "t", "Detail": '{"k": 1}'}])
    assert len(receiver.wait(1, "/basic")) == 1
    assert receiver.wait(1, "/oauth") == [{"k": 1}]
    by_path = {p: {k.lower(): v for k, v in h.items()} for p, h, _ in receiver.received}
    assert by_path["/basic"]["authorization"] == "Basic " + base64.b64encode(b"bob:pw").decode()
    assert by_path["/oauth"]["authorization"] == "Bearer tok-123"
    assert by_path["token"]["authorization"] == "Basic " + base64.b64encode(b"cid:csecret").decode()
    events.remove_targets(Rule="auth", Ids=["b", "o"])
    events.delete_rule(Name="auth")


def test_delivery_retries_while_the_receiver_is_down(server):
    events = server.client("events")
    down = Receiver()  # its port is free: nothing listens yet
    _, dest = api_key_destination(events, "retry", down.url())
    events.put_rule(Name="retry", EventPattern=json.dumps({"source": ["com.example.retry"]}))
    events.put_targets(Rule="retry", Targets=[{"Id": "t", "Arn": dest,
                                               "RetryPolicy": {"MaximumRetryAttempts": 50}}])
    events.put_events(Entries=[{"Source": "com.example.retry", "DetailType": "t", "Detail": "{}"}])
    time.sleep(3)  # a few attempts fail: nothing listens
    down.start()
    try:
        advance(server, 600)  # past any backoff; the outbox runs at once
        got = down.wait(1)
        assert len(got) == 1 and got[0]["source"] == "com.example.retry"
    finally:
        down.stop()
        events.remove_targets(Rule="retry", Ids=["t"])
        events.delete_rule(Name="retry")


def test_the_invocation_rate_limit_spreads_deliveries(server, receiver):
    events = server.client("events")
    conn, _ = api_key_destination(events, "rate", receiver.url("/unused"))
    dest = events.create_api_destination(Name="slow-dest", ConnectionArn=conn,
                                         InvocationEndpoint=receiver.url(), HttpMethod="POST",
                                         InvocationRateLimitPerSecond=1)["ApiDestinationArn"]
    events.put_rule(Name="rate", EventPattern=json.dumps({"source": ["com.example.rate"]}))
    events.put_targets(Rule="rate", Targets=[{"Id": "t", "Arn": dest}])
    entry = {"Source": "com.example.rate", "DetailType": "t", "Detail": "{}"}
    out = events.put_events(Entries=[entry] * 4)
    assert out["FailedEntryCount"] == 0
    got = receiver.wait(4, timeout=20)
    assert sorted(e["id"] for e in got) == sorted(e["EventId"] for e in out["Entries"])
    # One per second: four take at least about three seconds, none is dropped.
    assert receiver.times[-1] - receiver.times[0] >= 2.5
    events.remove_targets(Rule="rate", Ids=["t"])
    events.delete_rule(Name="rate")


def test_deliveries_survive_a_restart(tmp_path):
    first = Server("--dev")
    receiver = Receiver()
    try:
        events = first.client("events")
        _, dest = api_key_destination(events, "restart", receiver.url())
        events.put_rule(Name="restart", EventPattern=json.dumps({"source": ["com.example.restart"]}))
        events.put_targets(Rule="restart", Targets=[{"Id": "t", "Arn": dest}])
        events.put_events(Entries=[{"Source": "com.example.restart", "DetailType": "t", "Detail": "{}"}])
        time.sleep(1.5)
    finally:
        first.stop()
    receiver.start()
    second = Server("--dev", data_dir=first.data_dir)
    try:
        advance(second, 600)
        got = receiver.wait(1)
        assert [e["source"] for e in got] == ["com.example.restart"]
    finally:
        second.stop()
        receiver.stop()


def test_api_calls_become_events(server, receiver):
    events = server.client("events")
    _, dest = api_key_destination(events, "calls", receiver.url())
    events.put_rule(Name="new-users", EventPattern=json.dumps({
        "source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventName": ["CreateUser"]}}))
    events.put_targets(Rule="new-users", Targets=[{"Id": "t", "Arn": dest}])
    iam = server.client("iam")
    iam.create_user(UserName="watched-user")
    iam.list_users()
    got = receiver.wait(1)
    assert len(got) == 1
    assert got[0]["detail-type"] == "AWS API Call via CloudTrail"
    assert got[0]["source"] == "aws.iam"
    assert got[0]["detail"]["eventName"] == "CreateUser"
    assert got[0]["detail"]["requestParameters"]["userName"] == "watched-user"
    events.remove_targets(Rule="new-users", Ids=["t"])
    events.delete_rule(Name="new-users")


def test_read_calls_reach_only_rules_enabled_for_all_management_events(server, receiver):
    events = server.client("events")
    _, dest = api_key_destination(events, "reads", receiver.url("/unused"))
    _, all_dest = api_key_destination(events, "reads-all", receiver.url("/all"))
    pattern = json.dumps({"source": ["aws.iam"], "detail": {"eventName": ["ListUsers"]}})
    events.put_rule(Name="reads-plain", EventPattern=pattern)
    events.put_rule(Name="reads-all", EventPattern=pattern,
                    State="ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
    events.put_targets(Rule="reads-plain", Targets=[{"Id": "t", "Arn": dest}])
    events.put_targets(Rule="reads-all", Targets=[{"Id": "t", "Arn": all_dest}])
    server.client("iam").list_users()
    got = receiver.wait(1, "/all")
    assert [e["detail"]["eventName"] for e in got] == ["ListUsers"]
    assert got[0]["detail"]["readOnly"] is True
    time.sleep(1.5)
    assert receiver.events("/unused") == []
    for name in ("reads-plain", "reads-all"):
        events.remove_targets(Rule=name, Ids=["t"])
        events.delete_rule(Name=name)


def test_scheduled_rules_are_refused_rather_than_stored_and_never_run(server):
    ev = server.client("events")
    for schedule in ("rate(5 minutes)", "cron(0 12 * * ? *)"):
        with pytest.raises(ClientError) as e:
            ev.put_rule(Name="nightly", ScheduleExpression=schedule)
        assert code(e) == "ValidationException" and "ScheduleExpression" in message(e)
    assert "nightly" not in [r["Name"] for r in ev.list_rules()["Rules"]]
