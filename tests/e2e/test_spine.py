"""The server spine as a new user meets it: start, sign in as root, call, audit."""

import json
import os
import socket
import subprocess
import time
import urllib.request

import botocore.exceptions
import pytest


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_root_credentials_file_works_with_the_aws_cli(server):
    env = dict(os.environ)
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        env.pop(var, None)
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(server.data_dir, "root-credentials")
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    import subprocess

    out = subprocess.run(
        ["aws", "--endpoint-url", server.endpoint, "sts", "get-caller-identity"],
        capture_output=True, text=True, env=env, check=True,
    )
    ident = json.loads(out.stdout)
    assert ident["Arn"] == f"arn:aws:iam::{ident['Account']}:root"
    assert ident["UserId"] == ident["Account"]
    assert len(ident["Account"]) == 12 and ident["Account"].isdigit()
    mode = os.stat(env["AWS_SHARED_CREDENTIALS_FILE"]).st_mode & 0o777
    assert mode == 0o600


def test_boto3_get_caller_identity_in_any_region(server):
    for region in ("us-east-1", "eu-west-3", "ap-southeast-2"):
        ident = server.client("sts", region=region).get_caller_identity()
        assert ident["Arn"].endswith(":root")


def test_wrong_secret_is_signature_does_not_match(server):
    sts = server.client("sts", secret="x" * 40)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts.get_caller_identity()
    assert error_code(e) == "SignatureDoesNotMatch"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_key_is_invalid_client_token_id(server):
    sts = server.client("sts", key="AKIAZZZZZZZZZZZZZZZZ", secret="y" * 40)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts.get_caller_identity()
    assert error_code(e) == "InvalidClientTokenId"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unsigned_request_is_missing_authentication_token(server):
    req = urllib.request.Request(
        server.endpoint + "/",
        data=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    body = e.value.read().decode()
    assert e.value.code == 403
    assert "<Code>MissingAuthenticationToken</Code>" in body
    assert e.value.headers["x-amzn-RequestId"]


def test_presigned_url_works(server):
    sts = server.client("sts")
    # As `aws eks get-token` does: a presigned GET that a third party can replay to prove identity.
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    with urllib.request.urlopen(url) as resp:
        body = resp.read().decode()
    assert "<GetCallerIdentityResult>" in body
    assert ":root</Arn>" in body


def test_modelled_but_unbuilt_operations_answer_a_named_error(server):
    # Both protocols: the client must parse a well-formed AWS error naming the operation.
    iam = server.client("iam")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_human_readable_summary(EntityArn="arn:aws:iam::111111111111:user/x")  # not built
    assert "GetHumanReadableSummary" in e.value.response["Error"]["Message"]


def test_unknown_action_is_invalid_action(server):
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    creds = botocore.credentials.Credentials(server.root_key, server.root_secret)
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=server.endpoint + "/",
        data="Action=NoSuchThing&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    botocore.auth.SigV4Auth(creds, "sts", "us-east-1").add_auth(req)
    body = req.body if isinstance(req.body, bytes) else req.body.encode()
    prepared = urllib.request.Request(req.url, data=body, headers=dict(req.headers))
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(prepared)
    assert e.value.code == 400
    assert "<Code>InvalidAction</Code>" in e.value.read().decode()


def test_every_call_is_audited_and_lookup_events_finds_it(fresh_server):
    sts = fresh_server.client("sts")
    request_id = sts.get_caller_identity()["ResponseMetadata"]["RequestId"]
    bad = fresh_server.client("sts", secret="z" * 40)
    with pytest.raises(botocore.exceptions.ClientError):
        bad.get_caller_identity()
    trail = fresh_server.client("cloudtrail")
    deadline = time.time() + 5
    while True:
        events = trail.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}]
        )["Events"]
        if len(events) >= 2 or time.time() > deadline:
            break
        time.sleep(0.1)
    records = [json.loads(e["CloudTrailEvent"]) for e in events]
    ok = [r for r in records if r["requestID"] == request_id]
    assert len(ok) == 1
    assert ok[0]["userIdentity"]["type"] == "Root"
    assert ok[0]["eventSource"] == "sts.amazonaws.com"
    assert ok[0]["readOnly"] is True
    refused = [r for r in records if r.get("errorCode") == "SignatureDoesNotMatch"]
    assert len(refused) == 1


def test_audit_trail_survives_a_restart_and_verifies():
    from conftest import BIN, Server

    s = Server()
    sts = s.client("sts")
    ids = {sts.get_caller_identity()["ResponseMetadata"]["RequestId"] for _ in range(5)}
    s.stop()  # SIGTERM: a graceful shutdown flushes the audit trail
    again = Server(data_dir=s.data_dir)
    try:
        events = again.client("cloudtrail").lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}]
        )["Events"]
        found = {json.loads(e["CloudTrailEvent"])["requestID"] for e in events}
        assert ids <= found
        verify = subprocess.run(
            [BIN, "audit", "verify", "--data-dir", s.data_dir], capture_output=True, text=True
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "Intact" in verify.stdout
    finally:
        again.stop()
    # One byte of a read call's record changed on disk: the chain shows it.
    journal = os.path.join(s.data_dir, "rampart.db-audit")
    segment = sorted(f for f in os.listdir(journal) if f.endswith(".log"))[-1]
    path = os.path.join(journal, segment)
    data = bytearray(open(path, "rb").read())
    data[len(data) - 40] ^= 1
    open(path, "wb").write(bytes(data))
    verify = subprocess.run(
        [BIN, "audit", "verify", "--data-dir", s.data_dir], capture_output=True, text=True
    )
    assert verify.returncode == 1
    assert "BROKEN" in verify.stdout


def test_a_second_server_on_the_same_data_dir_is_refused(fresh_server):
    from conftest import BIN

    proc = subprocess.run(
        [BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", fresh_server.data_dir],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "one data directory serves one server" in proc.stdout + proc.stderr
    # The first server is unaffected.
    assert fresh_server.client("sts").get_caller_identity()["Arn"].endswith(":root")


def test_lookup_events_paginates(fresh_server):
    sts = fresh_server.client("sts")
    for _ in range(7):
        sts.get_caller_identity()
    trail = fresh_server.client("cloudtrail")
    time.sleep(0.5)
    pages = trail.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}],
        PaginationConfig={"PageSize": 3},
    )
    ids = [e["EventId"] for page in pages for e in page["Events"]]
    assert len(ids) == 7
    assert len(set(ids)) == 7


def test_dev_mode_accepts_any_credentials_as_default_account(dev_server):
    sts = dev_server.client("sts", key="test", secret="test")
    ident = sts.get_caller_identity()
    assert ident["Account"] == "000000000000"
    # The real root key keeps its real identity.
    real = dev_server.client("sts").get_caller_identity()
    assert real["Account"] != "000000000000"


def test_dev_account_stores_what_its_callers_create(dev_server):
    # The dev account is a real account: users and their keys are stored like anywhere else,
    # and the new key keeps its own identity.
    iam = dev_server.client("iam", key="anything", secret="anything")
    iam.create_user(UserName="dev-user")
    key = iam.create_access_key(UserName="dev-user")["AccessKey"]
    sts = dev_server.client("sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::000000000000:user/dev-user"


def test_reset_only_in_dev_mode(server, dev_server):
    req = urllib.request.Request(server.endpoint + "/_rampart/reset", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 404
    req = urllib.request.Request(dev_server.endpoint + "/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 200


def test_health_and_metrics(server):
    with urllib.request.urlopen(server.endpoint + "/_rampart/health") as resp:
        assert json.loads(resp.read())["status"] == "ok"
    server.client("sts").get_caller_identity()
    with urllib.request.urlopen(server.endpoint + "/metrics") as resp:
        text = resp.read().decode()
    assert 'operation="GetCallerIdentity"' in text
    assert "rampart_request_duration_seconds_bucket" in text


def test_oversized_body_is_refused(server):
    req = urllib.request.Request(
        server.endpoint + "/",
        data=b"Action=GetCallerIdentity&Pad=" + b"a" * (2 * 1024 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 413


def test_slow_client_is_disconnected():
    from conftest import Server

    s = Server("--request-timeout-secs", "1")
    try:
        host, port = s.endpoint.removeprefix("http://").split(":")
        sock = socket.create_connection((host, int(port)))
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # never finishes the headers
        sock.settimeout(10)
        started = time.time()
        data = sock.recv(4096)  # the server gives up: a 408 or a closed socket
        assert time.time() - started < 8
        assert data == b"" or data.startswith(b"HTTP/1.1 408")
        # The server still serves others.
        assert s.client("sts").get_caller_identity()["Arn"].endswith(":root")
    finally:
        s.stop()
