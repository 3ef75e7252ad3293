"""Dev mode as a drop-in for suites written for other emulators: any access key acts as the
configured account's root, and moto's `POST /moto-api/reset-auth` switches to full enforcement
after N more calls (so moto's own authorization tests exercise Rampart's authorizer)."""

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import Server

ACCOUNT = "123456789012"


@pytest.fixture
def dev():
    s = Server("--dev", "--dev-account-id", ACCOUNT)
    yield s
    s.stop()


def reset_auth(server, body):
    req = urllib.request.Request(f"{server.endpoint}/moto-api/reset-auth", data=body, method="POST")
    with urllib.request.urlopen(req) as resp:
        return resp.status, json.loads(resp.read())


def test_any_key_is_the_configured_accounts_root(dev):
    sts = dev.client("sts", key="testing", secret="testing")
    who = sts.get_caller_identity()
    assert who["Account"] == ACCOUNT
    assert who["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    # Root may do anything in its account: create a user with a made-up key.
    iam = dev.client("iam", key="AKIAANYTHING", secret="whatever")
    assert iam.create_user(UserName="u1")["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/u1"


def test_reset_auth_enforces_after_n_calls(dev):
    status, body = reset_auth(dev, b"3")
    assert status == 200
    assert body == {"status": "ok", "PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT": "inf"}
    iam = dev.client("iam", key="testing", secret="testing")
    # Three lenient calls: the unknown key is root and sets up a user without permissions.
    iam.create_user(UserName="limited")
    key = iam.create_access_key(UserName="limited")["AccessKey"]
    assert dev.client("sts", key="testing", secret="testing").get_caller_identity()["Account"] == ACCOUNT
    # From now on: unknown keys are refused, a wrong secret is refused, and the user's own
    # key is authorized by its (absent) policies.
    with pytest.raises(ClientError) as e:
        iam.list_users()
    assert e.value.response["Error"]["Code"] == "InvalidClientTokenId"
    with pytest.raises(ClientError) as e:
        dev.client("iam", key=key["AccessKeyId"], secret="wrong" + key["SecretAccessKey"][5:]).list_users()
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    limited = dev.client("iam", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        limited.list_users()
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    # Restoring the previous limit (as moto's decorator does) brings the leniency back.
    status, body = reset_auth(dev, b"inf")
    assert body["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"] == "3.0"
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["limited"]


def test_reset_auth_refuses_a_bad_body_and_production_mode(dev, server):
    with pytest.raises(urllib.error.HTTPError) as e:
        reset_auth(dev, b"many")
    assert e.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as e:
        reset_auth(server, b"0")
    assert e.value.code == 404
    with pytest.raises(ClientError) as e:
        server.client("sts", key="testing", secret="testing").get_caller_identity()
    assert e.value.response["Error"]["Code"] == "InvalidClientTokenId"
